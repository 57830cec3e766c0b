//! Namespaces and environments. This foundation holds the tables, the filtered counts
//! the overview shows, and what seeding needs; pages and API follow with role bindings.

pub mod models;
mod repo;

use crate::access::Grants;
use crate::db::{DbConnection, now_ms};

pub use models::{Namespace, NewEnvironment};
pub use repo::{
    any_environment, count_readable_environments, count_readable_namespaces, find_namespace,
    list_readable_namespace_names,
};

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

/// Creates environment `name` in namespace `namespace_id`.
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
        },
    )
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
