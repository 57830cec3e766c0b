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

/// `(namespace name, role)` of every share made to a principal.
pub fn list_shares_of(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::{namespace_shares, namespaces};
    namespace_shares::table
        .inner_join(namespaces::table)
        .filter(namespace_shares::principal_kind.eq(principal_kind))
        .filter(namespace_shares::principal_id.eq(principal_id))
        .order(namespaces::name)
        .select((namespaces::name, namespace_shares::role))
        .load(conn)
}

/// A share row with who it names.
#[derive(Debug, Clone, Queryable)]
pub struct ShareRow {
    /// `user` or `service_account`.
    pub principal_kind: String,
    /// Principal row id.
    pub principal_id: i64,
    /// Role granted.
    pub role: String,
    /// Who shared.
    pub created_by: String,
    /// When (ms).
    pub created_at: i64,
}

/// Shares of a namespace.
pub fn list_shares_in(conn: &mut DbConnection, namespace_id: i64) -> QueryResult<Vec<ShareRow>> {
    use crate::db::schema::namespace_shares;
    namespace_shares::table
        .filter(namespace_shares::namespace_id.eq(namespace_id))
        .order(namespace_shares::id)
        .select((
            namespace_shares::principal_kind,
            namespace_shares::principal_id,
            namespace_shares::role,
            namespace_shares::created_by,
            namespace_shares::created_at,
        ))
        .load(conn)
}

/// Creates or changes a share.
pub fn upsert_share(
    conn: &mut DbConnection,
    namespace_id: i64,
    principal_kind: &str,
    principal_id: i64,
    role: &str,
    created_by: &str,
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::namespace_shares as s;
    let updated = diesel::update(
        s::table
            .filter(s::namespace_id.eq(namespace_id))
            .filter(s::principal_kind.eq(principal_kind))
            .filter(s::principal_id.eq(principal_id)),
    )
    .set((
        s::role.eq(role),
        s::created_by.eq(created_by),
        s::created_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(s::table)
            .values((
                s::namespace_id.eq(namespace_id),
                s::principal_kind.eq(principal_kind),
                s::principal_id.eq(principal_id),
                s::role.eq(role),
                s::created_by.eq(created_by),
                s::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a share; false when there was none.
pub fn delete_share(
    conn: &mut DbConnection,
    namespace_id: i64,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<bool> {
    use crate::db::schema::namespace_shares as s;
    diesel::delete(
        s::table
            .filter(s::namespace_id.eq(namespace_id))
            .filter(s::principal_kind.eq(principal_kind))
            .filter(s::principal_id.eq(principal_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Removes every share made to a principal (when it is deleted).
pub fn delete_shares_of(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<()> {
    use crate::db::schema::namespace_shares as s;
    diesel::delete(
        s::table
            .filter(s::principal_kind.eq(principal_kind))
            .filter(s::principal_id.eq(principal_id)),
    )
    .execute(conn)
    .map(|_| ())
}
