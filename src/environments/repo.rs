//! Queries of namespaces and environments.

use diesel::prelude::*;

use super::models::{Namespace, NewEnvironment};
use crate::access::sql::{Columns, permission_filter};
use crate::access::{Grants, Permission};
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

/// Inserts a namespace and returns its id.
pub fn insert_namespace(
    conn: &mut DbConnection,
    name: &str,
    description: &str,
    now: i64,
) -> QueryResult<i64> {
    diesel::insert_into(namespaces::table)
        .values((
            namespaces::name.eq(name),
            namespaces::description.eq(description),
            namespaces::created_at.eq(now),
        ))
        .returning(namespaces::id)
        .get_result(conn)
}

/// Inserts an environment and returns its id.
pub fn insert_environment(conn: &mut DbConnection, env: &NewEnvironment<'_>) -> QueryResult<i64> {
    diesel::insert_into(environments::table)
        .values(env)
        .returning(environments::id)
        .get_result(conn)
}

/// How many environments the grants allow reading.
pub fn count_readable_environments(conn: &mut DbConnection, grants: &Grants) -> QueryResult<i64> {
    let filter = permission_filter(
        grants,
        Permission::EnvironmentRead,
        Columns {
            namespace: "namespaces.name",
            environment: Some("environments.name"),
        },
        conn.dialect(),
    );
    environments::table
        .inner_join(namespaces::table)
        .filter(filter)
        .count()
        .get_result(conn)
}

/// How many namespaces the grants allow reading.
pub fn count_readable_namespaces(conn: &mut DbConnection, grants: &Grants) -> QueryResult<i64> {
    let filter = permission_filter(
        grants,
        Permission::NamespaceRead,
        Columns {
            namespace: "namespaces.name",
            environment: None,
        },
        conn.dialect(),
    );
    namespaces::table.filter(filter).count().get_result(conn)
}

/// Whether any environment exists (the demo seeds only an empty database).
pub fn any_environment(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        environments::table.select(environments::id),
    ))
    .get_result(conn)
}

/// Names of the namespaces the grants allow reading, sorted.
pub fn list_readable_namespace_names(
    conn: &mut DbConnection,
    grants: &Grants,
) -> QueryResult<Vec<String>> {
    let filter = permission_filter(
        grants,
        Permission::NamespaceRead,
        Columns {
            namespace: "namespaces.name",
            environment: None,
        },
        conn.dialect(),
    );
    namespaces::table
        .filter(filter)
        .order(namespaces::name.asc())
        .select(namespaces::name)
        .limit(1000)
        .load(conn)
}
