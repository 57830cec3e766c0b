//! Changing registered connectors: register, edit, delete. Each authorizes, checks the
//! draft against the catalog, seals the secrets and writes the row, its resources and
//! the audit event in one transaction.

use std::collections::BTreeMap;

use serde_json::Value;

use super::catalog::Catalog;
use super::models::{Connector, ResourceRow, audit_name};
use super::patch::{Patch, change_summary};
use super::registry::{pinnable, readable, readable_with};
use super::repo::{self, ConnectorState, NewConnector};
use super::resolve::{Draft, Previous, Resolved, resolve};
use super::sealing::{open_secrets, seal_secrets};
use crate::access::{Actor, Permission};
use crate::audit;
use crate::crypto::Sealer;
use crate::db::{DbConnection, now_ms, write_transaction};
use crate::environments;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::{Address, validate_name};

fn invalid(message: &str, fields: FieldErrors) -> AppError {
    AppError::Validation {
        message: message.into(),
        fields,
    }
}

/// The id of namespace `name`; a 422 on `namespace` if there is none.
fn namespace_id(conn: &mut DbConnection, name: &str) -> AppResult<i64> {
    let ns = environments::find_namespace(conn, name)?.ok_or_else(|| {
        AppError::invalid("namespace", format!("namespace {name:?} does not exist"))
    })?;
    Ok(ns.id)
}

/// Registers a connector.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    catalog: &Catalog,
    sealer: &Sealer,
    d: &Draft,
) -> AppResult<Connector> {
    // Who may register there is answered first; then every problem of the draft at once.
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(&d.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    let mut namespace_id = None;
    if let Err(e) = validate_name(&d.namespace) {
        fields.insert("namespace".into(), format!("namespace {e}"));
    } else {
        actor.require_namespace(Permission::ConnectorCreate, &d.namespace)?;
        namespace_id = environments::find_namespace(conn, &d.namespace)?.map(|ns| ns.id);
        if namespace_id.is_none() {
            let missing = format!("namespace {:?} does not exist", d.namespace);
            fields.insert("namespace".into(), missing);
        }
    }
    let now = now_ms();
    let resolved = resolve(catalog, d, None, now);
    let (Some(namespace_id), Ok(r), true) = (namespace_id, &resolved, fields.is_empty()) else {
        fields.extend(resolved.err().unwrap_or_default());
        return Err(invalid("the connector is not valid", fields));
    };
    let created_by = actor.name();
    write_transaction(conn, |conn| -> AppResult<()> {
        insert(conn, sealer, namespace_id, d, r, &created_by, now)?;
        audit::success_in(
            conn,
            actor,
            Some(&d.namespace),
            "connector.create",
            &audit_name(&d.namespace, &d.name),
            Some(&created_detail(d)),
        )
    })?;
    readable(conn, actor, &Address::qualified(&d.namespace, &d.name))
}

/// Registers a connector without an authorization check (demo data), audited as
/// `actor`; the namespace must exist.
pub fn create_unchecked(
    conn: &mut DbConnection,
    catalog: &Catalog,
    sealer: &Sealer,
    d: &Draft,
    actor: &str,
) -> AppResult<()> {
    let namespace_id = namespace_id(conn, &d.namespace)?;
    let (r, now) = resolve_new(catalog, d)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        insert(conn, sealer, namespace_id, d, &r, actor, now)?;
        audit::record(
            conn,
            &audit::Event {
                actor,
                action: "connector.create",
                target: &audit_name(&d.namespace, &d.name),
                outcome: audit::Outcome::Success,
                client_addr: Some("local"),
                detail: Some(&created_detail(d)),
                namespace: Some(&d.namespace),
            },
        )?;
        Ok(())
    })
}

pub(super) fn resolve_new(catalog: &Catalog, d: &Draft) -> AppResult<(Resolved, i64)> {
    let now = now_ms();
    let r = resolve(catalog, d, None, now).map_err(|f| invalid("the connector is not valid", f))?;
    Ok((r, now))
}

fn created_detail(d: &Draft) -> String {
    format!(
        "{}/{} in namespace {}",
        d.connector_type, d.auth_method, d.namespace
    )
}

/// Stores a new connector, its sealed secrets and resources, inside the caller's
/// transaction; a taken name is a 409.
fn insert(
    conn: &mut DbConnection,
    sealer: &Sealer,
    namespace_id: i64,
    d: &Draft,
    r: &Resolved,
    created_by: &str,
    now: i64,
) -> AppResult<()> {
    if !repo::find(conn, &Address::qualified(&d.namespace, &d.name))?.is_empty() {
        return Err(AppError::Conflict(format!(
            "a connector named {:?} already exists in {}",
            d.name, d.namespace
        )));
    }
    let columns = Encoded::of(r, &d.labels);
    let id = repo::insert(
        conn,
        &NewConnector {
            name: &d.name,
            namespace_id,
            connector_type: &d.connector_type,
            created_by,
            state: columns.state(d, r, now),
        },
    )?;
    // The row and its sealed secrets commit together (no orphaned secret).
    repo::set_secrets(conn, id, &seal_secrets(sealer, id, &r.secrets))?;
    repo::replace_resources(conn, id, &r.resource_rows(id, now))?;
    Ok(())
}

/// The JSON columns of a checked connector.
struct Encoded {
    shown: String,
    resource_types: String,
    labels: String,
}

impl Encoded {
    fn of(r: &Resolved, labels: &BTreeMap<String, String>) -> Self {
        Self {
            shown: Value::Object(r.shown.clone()).to_string(),
            resource_types: Value::from(r.resource_types.clone()).to_string(),
            labels: serde_json::to_string(labels).unwrap_or_else(|_| "{}".into()),
        }
    }

    /// The changeable columns of draft `d` checked as `r`, written at `now`.
    fn state<'a>(&'a self, d: &'a Draft, r: &'a Resolved, now: i64) -> ConnectorState<'a> {
        ConnectorState {
            auth_method: &d.auth_method,
            resource_types: &self.resource_types,
            resource_id: r.resource_id.as_deref(),
            configuration: &self.shown,
            labels: &self.labels,
            description: &d.description,
            expires_at: r.expires_at,
            expiration_seconds: r.expiration_seconds,
            updated_at: now,
        }
    }
}

/// Applies a patch to a connector.
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    catalog: &Catalog,
    sealer: &Sealer,
    at: &Address,
    p: &Patch,
) -> AppResult<Connector> {
    let c = readable_with(conn, actor, Permission::ConnectorUpdate, at)?;
    if p.expected_version.is_some_and(|v| v != c.row.updated_at) {
        return Err(stale_edit());
    }
    let stored = open_secrets(sealer, c.row.id, &c.row.secrets)?;
    let (draft, kept) = p.draft(&c, &stored, pinnable(catalog, &c));
    let previous_plain = c.plain_configuration();
    let previous = Previous {
        plain: &previous_plain,
        secrets: &kept,
        expires_at: c.row.expires_at,
    };
    let clock = now_ms();
    let r = resolve(catalog, &draft, Some(&previous), clock)
        .map_err(|f| invalid("the change is not valid", f))?;
    let detail = change_summary(&c, &draft, &r, &stored);
    // Strictly after the version read, so the next edit's check sees this one.
    let now = clock.max(c.row.updated_at + 1);
    let id = c.row.id;
    write_transaction(conn, |conn| -> AppResult<()> {
        let columns = Encoded::of(&r, &draft.labels);
        // Optimistic concurrency: an edit based on an older read (whose secrets it
        // would write back) is refused instead of undoing the other change.
        if repo::update(conn, id, c.row.updated_at, &columns.state(&draft, &r, now))? == 0 {
            return Err(stale_edit());
        }
        repo::set_secrets(conn, id, &seal_secrets(sealer, id, &r.secrets))?;
        // What the connector reaches follows its types, pin, declared ids and
        // configuration (a new region, cluster or host list): rewrite the rows when any
        // of that moved.
        let wanted = r.resource_rows(id, now);
        if resource_keys(&wanted) != resource_keys(&repo::resources_of(conn, &[id])?) {
            repo::replace_resources(conn, id, &wanted)?;
        }
        // Earlier verifications described the previous configuration.
        repo::clear_discoveries(conn, id)?;
        audit::success_in(
            conn,
            actor,
            Some(&c.namespace),
            "connector.update",
            &c.audit_name(),
            Some(&detail),
        )
    })?;
    readable(conn, actor, &Address::qualified(&c.namespace, &c.row.name))
}

/// What a set of resource rows says, in a comparable order (times aside).
fn resource_keys(rows: &[ResourceRow]) -> Vec<(String, Option<String>, String)> {
    let mut keys: Vec<_> = rows
        .iter()
        .map(|x| {
            (
                x.resource_type.clone(),
                x.resource_ids.clone(),
                x.origin.clone(),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// The 409 of an edit based on an older version.
fn stale_edit() -> AppError {
    AppError::Conflict(
        "someone changed this connector after your copy was read; reload it and try again".into(),
    )
}

/// Deletes a connector (and its sealed secrets with it).
pub fn delete(conn: &mut DbConnection, actor: &Actor, at: &Address) -> AppResult<()> {
    let c = readable_with(conn, actor, Permission::ConnectorDelete, at)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        repo::delete(conn, c.row.id)?;
        audit::success_in(
            conn,
            actor,
            Some(&c.namespace),
            "connector.delete",
            &c.audit_name(),
            Some(&format!("namespace {}", c.namespace)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_rows_compare_without_their_order_or_times() {
        let row = |rt: &str, at: i64| ResourceRow {
            connector_id: 1,
            resource_type: rt.into(),
            resource_ids: None,
            error: None,
            origin: "declared".into(),
            checked_at: at,
        };
        assert_eq!(
            resource_keys(&[row("a", 1), row("b", 2)]),
            resource_keys(&[row("b", 3), row("a", 4)])
        );
    }
}
