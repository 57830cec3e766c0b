//! Queries of connectors and their resources.

use diesel::prelude::*;

use super::models::{ConnectorRow, ResourceRow};
use super::providers::Reached;
use crate::access::sql::Condition;
use crate::db::schema::{connector_resources, connectors, namespaces};
use crate::db::{DbBackend, DbConnection};
use crate::names::Address;

diesel::define_sql_function! {
    /// SQL `LOWER(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Filters of a connector list.
pub struct ListFilter<'a> {
    /// Only connectors the caller may read.
    pub readable: Condition,
    /// Only this namespace.
    pub namespace: Option<&'a str>,
    /// Only this type.
    pub connector_type: Option<&'a str>,
    /// Only connectors reaching this resource type.
    pub resource_type: Option<&'a str>,
    /// Only connectors with this label (`key` or `key=value`).
    pub label: Option<(&'a str, Option<&'a str>)>,
    /// Case-insensitive substring of the name.
    pub search: Option<&'a str>,
    /// Keyset cursor: rows after this `name/namespace` (or bare name).
    pub after: Option<&'a str>,
    /// Page size.
    pub limit: i64,
}

/// `column` contains `needle`, case-sensitively on both backends (`GLOB` with the
/// meta-characters bracketed on SQLite, where `LIKE` ignores case; escaped `LIKE` on
/// PostgreSQL).
fn contains(column: &'static str, needle: &str, dialect: crate::db::Dialect) -> Condition {
    match dialect {
        crate::db::Dialect::Sqlite => {
            let mut glob = String::from("*");
            for c in needle.chars() {
                match c {
                    '*' | '?' | '[' => {
                        glob.push('[');
                        glob.push(c);
                        glob.push(']');
                    }
                    other => glob.push(other),
                }
            }
            glob.push('*');
            Condition::Match {
                column,
                op: " GLOB ",
                value: glob,
                escape: false,
            }
        }
        crate::db::Dialect::Postgres => Condition::Match {
            column,
            op: " LIKE ",
            value: format!("%{}%", crate::db::escape_like(needle)),
            escape: true,
        },
    }
}

/// Connectors with their namespace name, for the callers to narrow.
type WithNamespace<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::InnerJoin<connectors::table, namespaces::table>,
        (
            diesel::dsl::AsSelect<ConnectorRow, DbBackend>,
            namespaces::name,
        ),
    >,
    DbBackend,
>;

/// Every connector with its namespace name.
fn with_namespace<'a>() -> WithNamespace<'a> {
    connectors::table
        .inner_join(namespaces::table)
        .select((ConnectorRow::as_select(), namespaces::name))
        .into_boxed()
}

/// The connectors at `at` (every namespace's for a bare name), each with its
/// namespace name.
pub fn find(conn: &mut DbConnection, at: &Address) -> QueryResult<Vec<(ConnectorRow, String)>> {
    let mut query = with_namespace().filter(connectors::name.eq(&at.name));
    if let Some(ns) = &at.namespace {
        query = query.filter(namespaces::name.eq(ns));
    }
    query.load(conn)
}

/// Connector `id`'s version (`updated_at`), if it still exists.
pub fn version_of(conn: &mut DbConnection, id: i64) -> QueryResult<Option<i64>> {
    connectors::table
        .find(id)
        .select(connectors::updated_at)
        .first(conn)
        .optional()
}

/// A page of connectors (one more than `limit` when there is a next page).
pub fn list(
    conn: &mut DbConnection,
    f: ListFilter<'_>,
) -> QueryResult<Vec<(ConnectorRow, String)>> {
    let mut query = with_namespace()
        .filter(f.readable)
        .order((connectors::name.asc(), namespaces::name.asc()))
        .limit(f.limit + 1);
    if let Some(ns) = f.namespace {
        query = query.filter(namespaces::name.eq(ns.to_owned()));
    }
    if let Some(t) = f.connector_type {
        query = query.filter(connectors::connector_type.eq(t.to_owned()));
    }
    if let Some(rt) = f.resource_type {
        // A primary-key probe per connector, walked in name order: the page stops after
        // `limit + 1` matches instead of collecting every connector of the type first.
        query = query.filter(diesel::dsl::exists(
            connector_resources::table
                .filter(connector_resources::connector_id.eq(connectors::id))
                .filter(connector_resources::resource_type.eq(rt.to_owned())),
        ));
    }
    if let Some((key, value)) = f.label {
        // Labels are stored as compact JSON with sorted keys: match the serialized pair.
        let needle = match value {
            Some(v) => format!(
                "{}:{}",
                serde_json::Value::from(key),
                serde_json::Value::from(v)
            ),
            None => format!("{}:", serde_json::Value::from(key)),
        };
        query = query.filter(contains("connectors.labels", &needle, conn.dialect()));
    }
    if let Some(q) = f.search.filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", crate::db::escape_like(&q.to_lowercase()));
        query = query.filter(lower(connectors::name).like(pattern).escape('\\'));
    }
    // The cursor is `name/namespace` of the last row (names repeat across namespaces).
    match f.after.map(|a| a.split_once('/').unwrap_or((a, ""))) {
        Some((name, "")) => query = query.filter(connectors::name.gt(name.to_owned())),
        Some((name, ns)) => {
            query = query.filter(
                connectors::name.gt(name.to_owned()).or(connectors::name
                    .eq(name.to_owned())
                    .and(namespaces::name.gt(ns.to_owned()))),
            );
        }
        None => {}
    }
    query.load(conn)
}

/// How many connectors match `readable`.
pub fn count(conn: &mut DbConnection, readable: Condition) -> QueryResult<i64> {
    connectors::table
        .inner_join(namespaces::table)
        .filter(readable)
        .count()
        .get_result(conn)
}

/// `(namespace, name, expires_at)` of readable connectors whose credentials expire
/// before `before` (soonest first, at most `limit`).
pub fn expiring(
    conn: &mut DbConnection,
    readable: Condition,
    before: i64,
    limit: i64,
) -> QueryResult<Vec<(String, String, Option<i64>)>> {
    connectors::table
        .inner_join(namespaces::table)
        .filter(readable)
        .filter(connectors::expires_at.lt(before))
        .order(connectors::expires_at.asc())
        .limit(limit)
        .select((namespaces::name, connectors::name, connectors::expires_at))
        .load(conn)
}

/// The columns of a connector row that an edit may change (everything but identity
/// and secrets); `None` writes `NULL`.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = connectors, treat_none_as_null = true)]
pub struct ConnectorState<'a> {
    /// Auth method.
    pub auth_method: &'a str,
    /// JSON array.
    pub resource_types: &'a str,
    /// Pinned resource.
    pub resource_id: Option<&'a str>,
    /// JSON object of plain attributes (`"[HIDDEN]"` for secrets set).
    pub configuration: &'a str,
    /// JSON object.
    pub labels: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Credential expiry.
    pub expires_at: Option<i64>,
    /// Session length.
    pub expiration_seconds: Option<i64>,
    /// Now.
    pub updated_at: i64,
}

/// A new connector row; secrets are written by [`set_secrets`] once the id is known.
pub struct NewConnector<'a> {
    /// Name.
    pub name: &'a str,
    /// Namespace.
    pub namespace_id: i64,
    /// Type.
    pub connector_type: &'a str,
    /// Creator.
    pub created_by: &'a str,
    /// Everything else (its `updated_at` is also the creation time).
    pub state: ConnectorState<'a>,
}

/// Inserts a connector with empty secrets; returns its id.
pub fn insert(conn: &mut DbConnection, c: &NewConnector<'_>) -> QueryResult<i64> {
    diesel::insert_into(connectors::table)
        .values((
            connectors::name.eq(c.name),
            connectors::namespace_id.eq(c.namespace_id),
            connectors::connector_type.eq(c.connector_type),
            connectors::secrets.eq(""),
            connectors::created_by.eq(c.created_by),
            connectors::created_at.eq(c.state.updated_at),
            &c.state,
        ))
        .returning(connectors::id)
        .get_result(conn)
}

/// Writes the sealed secrets.
pub fn set_secrets(conn: &mut DbConnection, id: i64, sealed: &str) -> QueryResult<()> {
    diesel::update(connectors::table.find(id))
        .set(connectors::secrets.eq(sealed))
        .execute(conn)
        .map(|_| ())
}

/// Replaces everything but identity and secrets, if nobody changed the row since it
/// was read (its `updated_at` is still `read_at`); returns the rows changed (0 or 1).
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    read_at: i64,
    state: &ConnectorState<'_>,
) -> QueryResult<usize> {
    diesel::update(
        connectors::table
            .find(id)
            .filter(connectors::updated_at.eq(read_at)),
    )
    .set(state)
    .execute(conn)
}

/// Deletes a connector (its resources go with it).
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(connector_resources::table.filter(connector_resources::connector_id.eq(id)))
        .execute(conn)?;
    diesel::delete(connectors::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Names of the connectors of a namespace.
pub fn names_in(conn: &mut DbConnection, namespace_id: i64) -> QueryResult<Vec<String>> {
    connectors::table
        .filter(connectors::namespace_id.eq(namespace_id))
        .order(connectors::name)
        .select(connectors::name)
        .load(conn)
}

/// Deletes connector `name` of namespace `namespace_id` (its resources go with it).
pub fn delete_in(conn: &mut DbConnection, namespace_id: i64, name: &str) -> QueryResult<()> {
    let id: Option<i64> = connectors::table
        .filter(connectors::namespace_id.eq(namespace_id))
        .filter(connectors::name.eq(name))
        .select(connectors::id)
        .first(conn)
        .optional()?;
    match id {
        Some(id) => delete(conn, id),
        None => Ok(()),
    }
}

/// Replaces a connector's resource rows.
pub fn replace_resources(
    conn: &mut DbConnection,
    id: i64,
    rows: &[ResourceRow],
) -> QueryResult<()> {
    diesel::delete(connector_resources::table.filter(connector_resources::connector_id.eq(id)))
        .execute(conn)?;
    for r in rows {
        diesel::insert_into(connector_resources::table)
            .values(r)
            .execute(conn)?;
    }
    Ok(())
}

/// Resource rows of connectors `ids`.
pub fn resources_of(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<ResourceRow>> {
    let dialect = conn.dialect();
    connector_resources::table
        .filter(crate::access::sql::ids_in(
            "connector_resources.connector_id",
            ids,
            dialect,
        ))
        .order((
            connector_resources::connector_id,
            connector_resources::resource_type,
        ))
        .select(ResourceRow::as_select())
        .load(conn)
}

/// Records what a verification of connector `id` found at `now`, replacing earlier
/// findings for the same resource types.
pub fn record_discoveries(
    conn: &mut DbConnection,
    id: i64,
    found: &[Reached],
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::connector_discoveries as d;
    for f in found {
        let this = d::connector_id
            .eq(id)
            .and(d::resource_type.eq(&f.resource_type));
        diesel::delete(d::table.filter(this)).execute(conn)?;
        let ids = f
            .resource_ids
            .as_ref()
            .map(|ids| serde_json::Value::from(ids.clone()).to_string());
        diesel::insert_into(d::table)
            .values((
                d::connector_id.eq(id),
                d::resource_type.eq(&f.resource_type),
                d::resource_ids.eq(ids),
                d::error.eq(&f.error),
                d::checked_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets what verifications of connector `id` found (its configuration changed).
pub fn clear_discoveries(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    use crate::db::schema::connector_discoveries as d;
    diesel::delete(d::table.filter(d::connector_id.eq(id)))
        .execute(conn)
        .map(|_| ())
}

/// Resource rows of connectors `ids` as last verified: each declared row replaced by
/// what verification found for its type, if anything.
pub fn verified_resources_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<Vec<ResourceRow>> {
    use crate::db::schema::connector_discoveries as d;
    type Found = (i64, String, Option<String>, Option<String>, i64);
    let found: Vec<Found> = d::table
        .filter(crate::access::sql::ids_in(
            "connector_discoveries.connector_id",
            ids,
            conn.dialect(),
        ))
        .select((
            d::connector_id,
            d::resource_type,
            d::resource_ids,
            d::error,
            d::checked_at,
        ))
        .load(conn)?;
    let mut rows = resources_of(conn, ids)?;
    for row in &mut rows {
        let this = |f: &&Found| f.0 == row.connector_id && f.1 == row.resource_type;
        if let Some((_, _, resource_ids, error, checked_at)) = found.iter().find(this) {
            row.resource_ids = resource_ids.clone();
            row.error = error.clone();
            row.origin = "verified".into();
            row.checked_at = *checked_at;
        }
    }
    Ok(rows)
}

/// Every connector's id, type, method and plain configuration.
pub fn all_classified(conn: &mut DbConnection) -> QueryResult<Vec<Classified>> {
    connectors::table
        .order(connectors::id)
        .select((
            connectors::id,
            (connectors::connector_type, connectors::auth_method),
            connectors::configuration,
        ))
        .load(conn)
}

/// `(id, (type, method), configuration)` of a connector: what decides which of its
/// attributes are secret.
pub type Classified = (i64, (String, String), String);

/// Connector `id`'s sealed secrets.
pub fn sealed_of(conn: &mut DbConnection, id: i64) -> QueryResult<String> {
    connectors::table
        .find(id)
        .select(connectors::secrets)
        .first(conn)
}

/// Stores a connector's plain configuration and sealed secrets together.
pub fn set_attributes(
    conn: &mut DbConnection,
    id: i64,
    configuration: &str,
    sealed: &str,
) -> QueryResult<()> {
    diesel::update(connectors::table.find(id))
        .set((
            connectors::configuration.eq(configuration),
            connectors::secrets.eq(sealed),
        ))
        .execute(conn)
        .map(|_| ())
}

/// `(id, sealed secrets)` of every connector (re-encryption).
pub fn all_sealed(conn: &mut DbConnection) -> QueryResult<Vec<(i64, String)>> {
    connectors::table
        .order(connectors::id)
        .select((connectors::id, connectors::secrets))
        .load(conn)
}
