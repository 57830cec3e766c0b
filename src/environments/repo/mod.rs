//! The one writer of the `namespaces` and `environments` tables: row lookups, inserts,
//! changes and deletes. Readable lists and counts filtered by grants are in [`lists`].

mod lists;

use diesel::prelude::*;

pub use lists::{
    EnvFilter, count_readable_environments, count_readable_namespaces, list_environments,
    list_namespaces, list_readable_namespace_names,
};

use super::models::{Environment, Namespace, NewEnvironment};
use crate::db::DbConnection;
use crate::db::schema::{environments, namespaces};

/// The namespace called `name`.
pub fn find_namespace(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Namespace>> {
    namespaces::table
        .filter(namespaces::name.eq(name))
        .select(Namespace::as_select())
        .first(conn)
        .optional()
}

/// Inserts a namespace with its metadata (a JSON object's text); returns its id.
pub fn insert_namespace(
    conn: &mut DbConnection,
    name: &str,
    description: &str,
    metadata: &str,
    now: i64,
) -> QueryResult<i64> {
    diesel::insert_into(namespaces::table)
        .values((
            namespaces::name.eq(name),
            namespaces::description.eq(description),
            namespaces::metadata.eq(metadata),
            namespaces::created_at.eq(now),
        ))
        .returning(namespaces::id)
        .get_result(conn)
}

/// Deletes a namespace (environments and shares cascade).
pub fn delete_namespace(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(namespaces::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Inserts an environment and returns its id.
pub fn insert_environment(conn: &mut DbConnection, env: &NewEnvironment<'_>) -> QueryResult<i64> {
    diesel::insert_into(environments::table)
        .values(env)
        .returning(environments::id)
        .get_result(conn)
}

/// Environment `name` of namespace `namespace_id`.
pub fn find_environment(
    conn: &mut DbConnection,
    namespace_id: i64,
    name: &str,
) -> QueryResult<Option<Environment>> {
    environments::table
        .filter(environments::namespace_id.eq(namespace_id))
        .filter(environments::name.eq(name))
        .select(Environment::as_select())
        .first(conn)
        .optional()
}

/// Changes to an environment.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = environments)]
pub struct EnvironmentChanges {
    /// New description.
    pub description: Option<String>,
    /// New specification.
    pub specification: Option<String>,
    /// New build status.
    pub build_status: Option<String>,
    /// Build queue time.
    pub build_scheduled_at: Option<Option<i64>>,
    /// Build start time.
    pub build_started_at: Option<Option<i64>>,
    /// Build end time.
    pub build_ended_at: Option<Option<i64>>,
    /// Change time (always set).
    pub updated_at: i64,
}

/// Applies changes.
pub fn update_environment(
    conn: &mut DbConnection,
    id: i64,
    changes: &EnvironmentChanges,
) -> QueryResult<()> {
    diesel::update(environments::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

/// Deletes an environment.
pub fn delete_environment(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(environments::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Environments in a namespace.
pub fn count_environments_in(conn: &mut DbConnection, namespace_id: i64) -> QueryResult<i64> {
    environments::table
        .filter(environments::namespace_id.eq(namespace_id))
        .count()
        .get_result(conn)
}

/// Whether any environment exists (the demo seeds only an empty database).
pub fn any_environment(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        environments::table.select(environments::id),
    ))
    .get_result(conn)
}
