//! Registered connectors as other areas and the handlers see them: reading (one, a
//! page, a count) under the caller's grants, and the operations that change them
//! (re-exported from `changes`), the draft they take and the secrets at rest.

use super::catalog::Catalog;
use super::models::{Connector, ResourceRow};
use super::repo::{self, ListFilter};
use crate::access::sql::{Columns, Condition, permission_filter};
use crate::access::{Actor, Grants, Permission, Principal};
use crate::db::DbConnection;
use crate::errors::{AppError, AppResult};
use crate::names::Address;
use crate::web::attention::Attention;
use crate::web::format::when;

pub use super::changes::{create, create_unchecked, delete, update};
pub use super::patch::Patch;
pub use super::resolve::Draft;
pub use super::sealing::{open_secrets, rekey, seal_secrets, unseal_plain_attributes};

/// A connector with what it reaches.
pub type Listed = (Connector, Vec<ResourceRow>);

/// Filters of a list; empty strings filter nothing.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Namespace.
    pub namespace: Option<String>,
    /// Type.
    pub connector_type: Option<String>,
    /// Resource type.
    pub resource_type: Option<String>,
    /// `key` or `key=value`.
    pub label: Option<String>,
    /// Name substring.
    pub search: Option<String>,
}

/// Whether the connector's resource id is a pin the user chose: one resource type that
/// supports several instances.
pub fn pinnable(catalog: &Catalog, c: &Connector) -> bool {
    catalog
        .get(&c.row.connector_type)
        .and_then(|t| match c.resource_types.as_slice() {
            [one] => t.resource_type(one),
            _ => None,
        })
        .is_some_and(|rt| rt.supports_instances)
}

/// The connector at `at` if the caller may read it; 404 otherwise, 409
/// `ambiguous_name` for a bare name readable in several namespaces.
pub fn readable(conn: &mut DbConnection, actor: &Actor, at: &Address) -> AppResult<Connector> {
    if !at.is_valid() {
        return Err(AppError::NotFound);
    }
    let mut found = repo::find(conn, at)?;
    let grants = actor.grants();
    found.retain(|(_, ns)| grants.can_namespace(Permission::ConnectorRead, ns));
    let (row, namespace) = at.resolve("connector", found)?;
    Ok(Connector::from_row(row, namespace))
}

/// The connector at `at` if the caller may read it and has `permission` on its
/// namespace: 404 if unreadable, 403 without the permission.
pub fn readable_with(
    conn: &mut DbConnection,
    actor: &Actor,
    permission: Permission,
    at: &Address,
) -> AppResult<Connector> {
    let c = readable(conn, actor, at)?;
    actor.require_namespace(permission, &c.namespace)?;
    Ok(c)
}

/// A readable connector with its resources.
pub fn get(conn: &mut DbConnection, actor: &Actor, at: &Address) -> AppResult<Listed> {
    let c = readable(conn, actor, at)?;
    with_resources(conn, c)
}

/// A connector with its resources.
pub fn with_resources(conn: &mut DbConnection, c: Connector) -> AppResult<Listed> {
    let resources = repo::verified_resources_of(conn, &[c.row.id])?;
    Ok((c, resources))
}

/// The SQL condition "the caller may read this connector" (over `namespaces.name`).
fn readable_filter(conn: &DbConnection, grants: &Grants) -> Condition {
    permission_filter(
        grants,
        Permission::ConnectorRead,
        Columns {
            namespace: "namespaces.name",
            environment: None,
        },
        conn.dialect(),
    )
}

/// How many connectors `principal` may read.
pub fn count_readable(conn: &mut DbConnection, principal: &Principal) -> AppResult<i64> {
    let readable = readable_filter(conn, &principal.grants);
    Ok(repo::count(conn, readable)?)
}

/// Readable connectors whose credentials expire (or expired) within `soon_ms`.
pub fn needing_attention(
    conn: &mut DbConnection,
    grants: &Grants,
    now: i64,
    soon_ms: i64,
) -> AppResult<Vec<Attention>> {
    let readable = readable_filter(conn, grants);
    let rows = repo::expiring(conn, readable, now.saturating_add(soon_ms), 20)?;
    Ok(rows
        .into_iter()
        .map(|(namespace, name, at)| Attention {
            what: format!(
                "Connector {namespace}/{name}: its credentials {} {}",
                if at.is_some_and(|t| t <= now) {
                    "expired"
                } else {
                    "expire"
                },
                when(at)
            ),
            href: format!("{}/edit", super::connector_url(&namespace, &name)),
        })
        .collect())
}

/// A page of connectors the caller may read, with their resources; and the name of
/// the last one when more follow (the key of the next page).
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    q: &ListQuery,
    after: Option<&str>,
    limit: i64,
) -> AppResult<(Vec<Listed>, Option<String>)> {
    let readable = readable_filter(conn, actor.grants());
    let given = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let label = given(&q.label);
    let label = label.as_deref().map(|l| match l.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (l, None),
    });
    let (namespace, connector_type, resource_type) = (
        given(&q.namespace),
        given(&q.connector_type),
        given(&q.resource_type),
    );
    let rows = repo::list(
        conn,
        ListFilter {
            readable,
            namespace: namespace.as_deref(),
            connector_type: connector_type.as_deref(),
            resource_type: resource_type.as_deref(),
            label,
            search: q.search.as_deref(),
            after,
            limit,
        },
    )?;
    let (rows, next) =
        crate::web::pagination::split_page(rows, limit, |(r, ns)| format!("{}/{ns}", r.name));
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let resources = repo::verified_resources_of(conn, &ids)?;
    let items = rows
        .into_iter()
        .map(|(row, ns)| {
            let mine: Vec<ResourceRow> = resources
                .iter()
                .filter(|r| r.connector_id == row.id)
                .cloned()
                .collect();
            (Connector::from_row(row, ns), mine)
        })
        .collect();
    Ok((items, next))
}

/// The resource rows of `items` of `resource_type` (all when `None`), each with its
/// connector: the resources list of the page and of the API.
pub fn resources_of<'a>(
    items: &'a [Listed],
    resource_type: Option<&'a str>,
) -> impl Iterator<Item = (&'a Connector, &'a ResourceRow)> + 'a {
    items.iter().flat_map(move |(c, resources)| {
        resources
            .iter()
            .filter(move |r| resource_type.is_none_or(|t| r.resource_type == t))
            .map(move |r| (c, r))
    })
}
