//! Queries of stored role bindings.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::namespace_shares as s;
use crate::db::schema::role_bindings;

/// `role_bindings` rows of principal `(kind, id)`.
type BindingsOf<'a> = diesel::dsl::And<
    diesel::dsl::Eq<role_bindings::principal_kind, &'a str>,
    diesel::dsl::Eq<role_bindings::principal_id, i64>,
>;

fn bindings_of(kind: &str, id: i64) -> BindingsOf<'_> {
    role_bindings::principal_kind
        .eq(kind)
        .and(role_bindings::principal_id.eq(id))
}

/// `namespace_shares` rows made to principal `(kind, id)`.
type SharesTo<'a> = diesel::dsl::And<
    diesel::dsl::Eq<s::principal_kind, &'a str>,
    diesel::dsl::Eq<s::principal_id, i64>,
>;

fn shares_to(kind: &str, id: i64) -> SharesTo<'_> {
    s::principal_kind.eq(kind).and(s::principal_id.eq(id))
}

/// `(pattern, role)` rows bound to a principal, oldest first.
pub fn list_bindings(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<Vec<(String, String)>> {
    role_bindings::table
        .filter(bindings_of(principal_kind, principal_id))
        .order(role_bindings::id)
        .select((role_bindings::pattern, role_bindings::role))
        .load(conn)
}

/// Ids of the principals of `kind` that hold a stored binding or a share.
pub fn principals_holding(conn: &mut DbConnection, kind: &str) -> QueryResult<Vec<i64>> {
    let mut ids: Vec<i64> = role_bindings::table
        .filter(role_bindings::principal_kind.eq(kind))
        .select(role_bindings::principal_id)
        .distinct()
        .load(conn)?;
    let shared: Vec<i64> = s::table
        .filter(s::principal_kind.eq(kind))
        .select(s::principal_id)
        .distinct()
        .load(conn)?;
    ids.extend(shared);
    Ok(ids)
}

/// Every stored binding: `(principal kind, principal id, pattern, role)`.
pub fn list_all_bindings(
    conn: &mut DbConnection,
) -> QueryResult<Vec<(String, i64, String, String)>> {
    role_bindings::table
        .order(role_bindings::id)
        .select((
            role_bindings::principal_kind,
            role_bindings::principal_id,
            role_bindings::pattern,
            role_bindings::role,
        ))
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
        .filter(bindings_of(principal_kind, principal_id))
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
    diesel::delete(role_bindings::table.filter(bindings_of(principal_kind, principal_id)))
        .execute(conn)
        .map(|_| ())
}

/// `(namespace name, role)` of every share made to a principal.
pub fn list_shares_of(
    conn: &mut DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::namespaces;
    s::table
        .inner_join(namespaces::table)
        .filter(shares_to(principal_kind, principal_id))
        .order(namespaces::name)
        .select((namespaces::name, s::role))
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
    s::table
        .filter(s::namespace_id.eq(namespace_id))
        .order(s::id)
        .select((
            s::principal_kind,
            s::principal_id,
            s::role,
            s::created_by,
            s::created_at,
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
    let updated = diesel::update(
        s::table
            .filter(s::namespace_id.eq(namespace_id))
            .filter(shares_to(principal_kind, principal_id)),
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
    diesel::delete(
        s::table
            .filter(s::namespace_id.eq(namespace_id))
            .filter(shares_to(principal_kind, principal_id)),
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
    diesel::delete(s::table.filter(shares_to(principal_kind, principal_id)))
        .execute(conn)
        .map(|_| ())
}

/// Membership set through the API (kept until changed there).
pub const GROUP_SOURCE_ADMIN: &str = "admin";
/// Membership reported by the OpenID provider at a sign-in.
pub const GROUP_SOURCE_OIDC: &str = "oidc";

/// Memberships that count: set by an administrator, or reported by the provider at a
/// sign-in at or after `since`.
fn counting_since(since: i64) -> CountingSince {
    use crate::db::schema::user_groups;
    user_groups::source
        .eq(GROUP_SOURCE_ADMIN)
        .or(user_groups::synced_at.ge(since))
}

type CountingSince = diesel::dsl::Or<
    diesel::dsl::Eq<crate::db::schema::user_groups::source, &'static str>,
    diesel::dsl::GtEq<crate::db::schema::user_groups::synced_at, i64>,
>;

/// `(pattern, role)` granted to a user through the groups that count: those set by an
/// administrator, and those the provider reported at a sign-in at or after `since`.
pub fn list_group_bindings_of(
    conn: &mut DbConnection,
    user_id: i64,
    since: i64,
) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::{group_bindings, user_groups};
    group_bindings::table
        .inner_join(user_groups::table.on(user_groups::group_name.eq(group_bindings::group_name)))
        .filter(user_groups::user_id.eq(user_id))
        .filter(counting_since(since))
        .order(group_bindings::id)
        .select((group_bindings::pattern, group_bindings::role))
        .load(conn)
}

/// A group's bindings as `(pattern, role)`.
pub fn list_group_bindings(
    conn: &mut DbConnection,
    group: &str,
) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::group_bindings;
    group_bindings::table
        .filter(group_bindings::group_name.eq(group))
        .order(group_bindings::id)
        .select((group_bindings::pattern, group_bindings::role))
        .load(conn)
}

/// Every group that has bindings, with them.
pub fn list_all_group_bindings(
    conn: &mut DbConnection,
) -> QueryResult<Vec<(String, String, String)>> {
    use crate::db::schema::group_bindings;
    group_bindings::table
        .order((group_bindings::group_name, group_bindings::id))
        .select((
            group_bindings::group_name,
            group_bindings::pattern,
            group_bindings::role,
        ))
        .load(conn)
}

/// Replaces a group's bindings.
pub fn replace_group_bindings(
    conn: &mut DbConnection,
    group: &str,
    bindings: &[(String, String)],
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::group_bindings;
    diesel::delete(group_bindings::table.filter(group_bindings::group_name.eq(group)))
        .execute(conn)?;
    for (pattern, role) in bindings {
        diesel::insert_into(group_bindings::table)
            .values((
                group_bindings::group_name.eq(group),
                group_bindings::pattern.eq(pattern),
                group_bindings::role.eq(role),
                group_bindings::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A user's groups, sorted.
pub fn list_user_groups(conn: &mut DbConnection, user_id: i64) -> QueryResult<Vec<String>> {
    use crate::db::schema::user_groups;
    user_groups::table
        .filter(user_groups::user_id.eq(user_id))
        .order(user_groups::group_name)
        .select(user_groups::group_name)
        .load(conn)
}

/// Group names set by an administrator, and those the provider reported that count.
pub type GroupsBySource = (Vec<String>, Vec<String>);

/// A user's memberships by source: set by an administrator, and reported by the
/// provider at a sign-in at or after `since` (those that still count).
pub fn user_groups_by_source(
    conn: &mut DbConnection,
    user_id: i64,
    since: i64,
) -> QueryResult<GroupsBySource> {
    Ok(groups_by_source_of(conn, &[user_id], since)?
        .remove(&user_id)
        .unwrap_or_default())
}

/// [`user_groups_by_source`] of several users in one query (a page of users).
pub fn groups_by_source_of(
    conn: &mut DbConnection,
    user_ids: &[i64],
    since: i64,
) -> QueryResult<std::collections::HashMap<i64, GroupsBySource>> {
    use crate::db::schema::user_groups as ug;
    let rows: Vec<(i64, String, String, Option<i64>)> = ug::table
        .filter(ug::user_id.eq_any(user_ids))
        .order((ug::user_id, ug::group_name))
        .select((ug::user_id, ug::group_name, ug::source, ug::synced_at))
        .load(conn)?;
    let mut out: std::collections::HashMap<i64, GroupsBySource> = Default::default();
    for (user, group, source, synced_at) in rows {
        let (admin, provider) = out.entry(user).or_default();
        if source == GROUP_SOURCE_ADMIN {
            admin.push(group);
        } else if source == GROUP_SOURCE_OIDC && synced_at.is_some_and(|t| t >= since) {
            provider.push(group);
        }
    }
    Ok(out)
}

/// A user's groups that count now: set by an administrator, or reported by the
/// provider at a sign-in at or after `since`; sorted.
pub fn list_user_groups_since(
    conn: &mut DbConnection,
    user_id: i64,
    since: i64,
) -> QueryResult<Vec<String>> {
    use crate::db::schema::user_groups;
    user_groups::table
        .filter(user_groups::user_id.eq(user_id))
        .filter(counting_since(since))
        .order(user_groups::group_name)
        .select(user_groups::group_name)
        .load(conn)
}

/// Replaces the memberships an administrator set (a group the provider also reports
/// becomes administrator-set).
pub fn replace_user_groups(
    conn: &mut DbConnection,
    user_id: i64,
    groups: &[String],
) -> QueryResult<()> {
    use crate::db::schema::user_groups as ug;
    diesel::delete(
        ug::table
            .filter(ug::user_id.eq(user_id))
            .filter(ug::source.eq(GROUP_SOURCE_ADMIN)),
    )
    .execute(conn)?;
    for g in groups {
        diesel::delete(
            ug::table
                .filter(ug::user_id.eq(user_id))
                .filter(ug::group_name.eq(g)),
        )
        .execute(conn)?;
        diesel::insert_into(ug::table)
            .values((
                ug::user_id.eq(user_id),
                ug::group_name.eq(g),
                ug::source.eq(GROUP_SOURCE_ADMIN),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces the memberships the provider reported, as of `now` (administrator-set
/// memberships stay as they are).
pub fn replace_provider_groups(
    conn: &mut DbConnection,
    user_id: i64,
    groups: &[String],
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::user_groups as ug;
    diesel::delete(
        ug::table
            .filter(ug::user_id.eq(user_id))
            .filter(ug::source.eq(GROUP_SOURCE_OIDC)),
    )
    .execute(conn)?;
    let admin_set: Vec<String> = ug::table
        .filter(ug::user_id.eq(user_id))
        .select(ug::group_name)
        .load(conn)?;
    for g in groups.iter().filter(|g| !admin_set.contains(g)) {
        diesel::insert_into(ug::table)
            .values((
                ug::user_id.eq(user_id),
                ug::group_name.eq(g),
                ug::source.eq(GROUP_SOURCE_OIDC),
                ug::synced_at.eq(Some(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
