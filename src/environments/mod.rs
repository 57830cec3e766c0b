//! Namespaces and environments: readable-only lists filtered in SQL, creation and
//! changes authorized by role bindings, and namespace sharing.

pub mod api;
pub mod envs;
mod handlers;
pub mod models;
pub mod namespaces;
mod repo;
pub mod totals;
mod views;

use actix_web::web;

use crate::access::Grants;
use crate::db::{DbConnection, now_ms};

pub use models::{Environment, Namespace, NewEnvironment};
pub use repo::{
    EnvFilter, any_environment, count_readable_environments, count_readable_namespaces,
    find_namespace, list_readable_namespace_names,
};

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
        None => repo::insert_namespace(conn, name, description, now_ms()),
    }
}

/// Whether namespace `name` exists.
pub fn namespace_exists(conn: &mut DbConnection, name: &str) -> diesel::QueryResult<bool> {
    Ok(repo::find_namespace(conn, name)?.is_some())
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

/// Readable environments of `grants` under `filter`, with the exact total.
pub fn list_environments(
    conn: &mut DbConnection,
    grants: &Grants,
    filter: &EnvFilter,
    totals: &totals::TotalsCache,
) -> crate::errors::AppResult<(Vec<(Environment, String)>, i64)> {
    envs::list(conn, grants, filter, totals)
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
