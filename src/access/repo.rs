//! Queries of stored role bindings.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::role_bindings;

/// `(pattern, role)` rows bound to a principal, oldest first.
pub fn list_bindings(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<Vec<(String, String)>> {
    role_bindings::table
        .filter(role_bindings::principal_kind.eq(principal_kind))
        .filter(role_bindings::principal_id.eq(principal_id))
        .order(role_bindings::id)
        .select((role_bindings::pattern, role_bindings::role))
        .load(conn)
}

/// Adds a binding (idempotent: an identical binding is kept once).
pub fn insert_binding(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
    pattern: &str,
    role: &str,
    now: i64,
) -> QueryResult<()> {
    let exists = role_bindings::table
        .filter(role_bindings::principal_kind.eq(principal_kind))
        .filter(role_bindings::principal_id.eq(principal_id))
        .filter(role_bindings::pattern.eq(pattern))
        .filter(role_bindings::role.eq(role))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(role_bindings::table)
            .values((
                role_bindings::principal_kind.eq(principal_kind),
                role_bindings::principal_id.eq(principal_id),
                role_bindings::pattern.eq(pattern),
                role_bindings::role.eq(role),
                role_bindings::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes every stored binding of a principal.
pub fn delete_bindings(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<()> {
    diesel::delete(
        role_bindings::table
            .filter(role_bindings::principal_kind.eq(principal_kind))
            .filter(role_bindings::principal_id.eq(principal_id)),
    )
    .execute(conn)
    .map(|_| ())
}
