//! Namespaces and environments: the one owner of both tables and of the namespace
//! lookups every area needs; readable-only environment lists filtered in SQL; the
//! environment pages and JSON API. Namespace pages, deletion and sharing reach into
//! higher areas and live in `crate::namespaces`.

pub mod api;
mod envs;
mod handlers;
pub mod models;
mod repo;
mod spec;
pub mod totals;
mod views;

use actix_web::web;

use crate::access::{Grants, Permission};
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult};
use crate::names::validate_name;

pub use api::{EnvQuery, env_page};
pub use models::{Environment, EnvironmentJson, Namespace, NamespaceJson, NewEnvironment};
pub use repo::{
    EnvFilter, any_environment, count_environments_in, find_namespace, list_namespaces,
    list_readable_namespace_names,
};
pub use views::EnvRow;

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    <api::Doc as utoipa::OpenApi>::openapi()
}

/// Routes of the area.
pub fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    handlers::configure(cfg);
}

/// Returns the id of namespace `name`, creating it if missing.
pub fn ensure_namespace(
    conn: &mut DbConnection,
    name: &str,
    description: &str,
) -> diesel::QueryResult<i64> {
    match repo::find_namespace(conn, name)? {
        Some(ns) => Ok(ns.id),
        None => insert_namespace(conn, name, description, "{}"),
    }
}

/// Inserts namespace `name` with `metadata` (a JSON object's text); returns its id.
/// Checking and auditing a creation is the caller's (`crate::namespaces`).
pub fn insert_namespace(
    conn: &mut DbConnection,
    name: &str,
    description: &str,
    metadata: &str,
) -> diesel::QueryResult<i64> {
    repo::insert_namespace(conn, name, description, metadata, now_ms())
}

/// Deletes namespace row `id`; its environments and shares cascade. Deleting what
/// other areas keep in it first is the caller's (`crate::namespaces`).
pub fn delete_namespace(conn: &mut DbConnection, id: i64) -> diesel::QueryResult<()> {
    repo::delete_namespace(conn, id)
}

/// Whether namespace `name` exists.
pub fn namespace_exists(conn: &mut DbConnection, name: &str) -> diesel::QueryResult<bool> {
    Ok(repo::find_namespace(conn, name)?.is_some())
}

/// Namespace `name` if `grants` may read it; 404 otherwise (existence does not leak).
pub fn readable_namespace(
    conn: &mut DbConnection,
    grants: &Grants,
    name: &str,
) -> AppResult<Namespace> {
    if validate_name(name).is_err() || !grants.can_namespace(Permission::NamespaceRead, name) {
        return Err(AppError::NotFound);
    }
    repo::find_namespace(conn, name)?.ok_or(AppError::NotFound)
}

/// Creates environment `name` in namespace `namespace_id` (seeding, fixtures).
pub fn create_environment(
    conn: &mut DbConnection,
    namespace_id: i64,
    name: &str,
    description: &str,
    specification: &str,
) -> diesel::QueryResult<i64> {
    let now = now_ms();
    repo::insert_environment(
        conn,
        &NewEnvironment {
            namespace_id,
            name,
            description,
            specification,
            created_at: now,
            updated_at: now,
            build_status: None,
            build_scheduled_at: None,
        },
    )
}

/// Readable environments of `grants` under `filter` (one more than its limit when more
/// follow), with the exact total.
pub fn list_environments(
    conn: &mut DbConnection,
    grants: &Grants,
    filter: &EnvFilter,
    totals: &totals::TotalsCache,
) -> AppResult<(Vec<(Environment, String)>, i64)> {
    envs::list(conn, grants, filter, totals)
}

/// "View as": what a principal can read, seen from within a cap.
pub struct ViewAs {
    /// The principal's own grants (what the "because" column explains).
    pub grants: Grants,
    /// The first environments it can read within the cap.
    pub environments: Vec<(Environment, String)>,
    /// How many those are, exactly.
    pub total: i64,
}

/// What `grants` can read within `cap` (and in `namespace`, if given): the first
/// `limit` environments and the exact total. The cap is what the one looking may see,
/// so "view as" discloses nothing beyond it.
pub fn view_as(
    conn: &mut DbConnection,
    grants: &Grants,
    cap: Grants,
    namespace: Option<&str>,
    limit: i64,
    totals: &totals::TotalsCache,
) -> AppResult<ViewAs> {
    let within = Grants::capped_by(grants.bindings().to_vec(), cap);
    let filter = EnvFilter {
        namespace: namespace.map(str::to_owned),
        limit,
        ..Default::default()
    };
    let (mut environments, total) = envs::list(conn, &within, &filter, totals)?;
    environments.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(ViewAs {
        grants: grants.clone(),
        environments,
        total,
    })
}

/// What the overview shows: counts of what the viewer may read.
#[derive(Debug, Clone, Copy, Default)]
pub struct VisibleCounts {
    /// Readable namespaces.
    pub namespaces: i64,
    /// Readable environments.
    pub environments: i64,
}

/// Counts what `grants` may read.
pub fn visible_counts(
    conn: &mut DbConnection,
    grants: &Grants,
) -> diesel::QueryResult<VisibleCounts> {
    Ok(VisibleCounts {
        namespaces: repo::count_readable_namespaces(conn, grants)?,
        environments: repo::count_readable_environments(conn, grants)?,
    })
}
