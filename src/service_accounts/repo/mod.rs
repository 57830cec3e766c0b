//! The one writer of the `service_accounts`, `api_keys` and `key_reveals` tables:
//! accounts here, keys in [`keys`], one-time reveals in [`reveals`].

mod keys;
mod reveals;

use diesel::dsl::{count, max};
use diesel::prelude::*;

pub use keys::*;
pub use reveals::*;

use super::models::{AccountSummary, ServiceAccount};
use crate::access::sql::{Columns, Condition, permission_filter};
use crate::access::{Grants, Permission};
use crate::db::DbConnection;
use crate::db::schema::{api_keys, namespaces, service_accounts};
use crate::names::Address;

diesel::define_sql_function! {
    /// SQL `LOWER(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Filters of an account list.
#[derive(Debug, Default)]
pub struct ListFilter<'a> {
    /// Only this namespace.
    pub namespace: Option<&'a str>,
    /// Case-insensitive substring of the name.
    pub search: Option<&'a str>,
    /// Keyset cursor: rows after this `name/namespace` (or bare name).
    pub after: Option<&'a str>,
    /// Page size.
    pub limit: i64,
}

/// Active keys of readable accounts that need attention — expiring before `soon`,
/// never used though created before `stale`, or last used before `stale` — as
/// `((namespace, account), key)`, at most `limit`.
pub fn keys_needing_attention(
    conn: &mut DbConnection,
    grants: &Grants,
    (soon, stale): (i64, i64),
    limit: i64,
) -> QueryResult<Vec<((String, String), super::models::ApiKey)>> {
    let unused = api_keys::last_used_at
        .is_null()
        .and(api_keys::created_at.lt(stale))
        .or(api_keys::last_used_at.lt(stale));
    api_keys::table
        .inner_join(service_accounts::table.inner_join(namespaces::table))
        .filter(readable(grants, conn))
        .filter(api_keys::active.eq(true))
        .filter(api_keys::expires_at.lt(soon).or(unused))
        .order((service_accounts::name, api_keys::name))
        .limit(limit)
        .select((
            (namespaces::name, service_accounts::name),
            super::models::ApiKey::as_select(),
        ))
        .load(conn)
}

/// `(namespace, name)` of readable accounts other than those in `holding` (the
/// accounts that hold a binding or a share), at most `limit`.
pub fn accounts_holding_nothing(
    conn: &mut DbConnection,
    grants: &Grants,
    holding: &[i64],
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    let readable = readable(grants, conn);
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(readable.and(service_accounts::id.ne_all(holding.to_vec())))
        .order((service_accounts::name, namespaces::name))
        .limit(limit)
        .select((namespaces::name, service_accounts::name))
        .load(conn)
}

/// "`grants` may read accounts of this row's namespace", over `namespaces.name`.
fn readable(grants: &Grants, conn: &DbConnection) -> Condition {
    let columns = Columns {
        namespace: "namespaces.name",
        environment: None,
    };
    permission_filter(
        grants,
        Permission::ServiceAccountRead,
        columns,
        conn.dialect(),
    )
}

/// The accounts at `at` (every namespace's for a bare name), each with its namespace
/// name.
pub fn find_accounts(
    conn: &mut DbConnection,
    at: &Address,
) -> QueryResult<Vec<(ServiceAccount, String)>> {
    let mut query = service_accounts::table
        .inner_join(namespaces::table)
        .filter(service_accounts::name.eq(&at.name))
        .select((ServiceAccount::as_select(), namespaces::name))
        .into_boxed();
    if let Some(ns) = &at.namespace {
        query = query.filter(namespaces::name.eq(ns));
    }
    query.load(conn)
}

/// A page of the accounts `grants` may read (one more than `limit` when there is a
/// next page), by name.
pub fn list_accounts(
    conn: &mut DbConnection,
    grants: &Grants,
    filter: &ListFilter<'_>,
) -> QueryResult<Vec<AccountSummary>> {
    let mut query = service_accounts::table
        .inner_join(namespaces::table)
        .filter(readable(grants, conn))
        .select((ServiceAccount::as_select(), namespaces::name))
        .order((service_accounts::name.asc(), namespaces::name.asc()))
        .limit(filter.limit + 1)
        .into_boxed();
    if let Some(ns) = filter.namespace {
        query = query.filter(namespaces::name.eq(ns.to_owned()));
    }
    if let Some(q) = filter.search.filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", crate::db::escape_like(&q.to_lowercase()));
        query = query.filter(lower(service_accounts::name).like(pattern).escape('\\'));
    }
    // The cursor is `name/namespace` of the last row (names repeat across namespaces).
    match filter.after.map(|a| a.split_once('/').unwrap_or((a, ""))) {
        Some((name, "")) => query = query.filter(service_accounts::name.gt(name.to_owned())),
        Some((name, ns)) => {
            query = query.filter(
                service_accounts::name
                    .gt(name.to_owned())
                    .or(service_accounts::name
                        .eq(name.to_owned())
                        .and(namespaces::name.gt(ns.to_owned()))),
            );
        }
        None => {}
    }
    let rows: Vec<(ServiceAccount, String)> = query.load(conn)?;
    // Key statistics in a second query, prepared once: the ids go in as one value.
    let ids: Vec<i64> = rows.iter().map(|(a, _)| a.id).collect();
    let stats: Vec<(i64, i64, Option<i64>)> = api_keys::table
        .filter(crate::access::sql::ids_in(
            "api_keys.service_account_id",
            &ids,
            conn.dialect(),
        ))
        .group_by(api_keys::service_account_id)
        .select((
            api_keys::service_account_id,
            count(api_keys::id),
            max(api_keys::last_used_at),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(account, namespace)| {
            let (key_count, last_used_at) = stats
                .iter()
                .find(|(id, _, _)| *id == account.id)
                .map_or((0, None), |(_, n, last)| (*n, *last));
            AccountSummary {
                account,
                namespace,
                key_count,
                last_used_at,
            }
        })
        .collect())
}

/// How many accounts `grants` may read.
pub fn count_readable(conn: &mut DbConnection, grants: &Grants) -> QueryResult<i64> {
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(readable(grants, conn))
        .count()
        .get_result(conn)
}

/// Key statistics of one account: how many keys, and the latest use of any.
pub fn key_stats(conn: &mut DbConnection, account_id: i64) -> QueryResult<(i64, Option<i64>)> {
    api_keys::table
        .filter(api_keys::service_account_id.eq(account_id))
        .select((count(api_keys::id), max(api_keys::last_used_at)))
        .first(conn)
}

/// A new account's columns.
#[derive(Insertable)]
#[diesel(table_name = service_accounts)]
pub struct NewAccountRow<'a> {
    /// Name.
    pub name: &'a str,
    /// Owning namespace.
    pub namespace_id: i64,
    /// Free text.
    pub description: &'a str,
    /// Active flag.
    pub active: bool,
    /// `user:alice` …
    pub created_by: &'a str,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms), the creation time.
    pub updated_at: i64,
}

/// Inserts an account; returns its id.
pub fn insert_account(conn: &mut DbConnection, row: &NewAccountRow<'_>) -> QueryResult<i64> {
    diesel::insert_into(service_accounts::table)
        .values(row)
        .returning(service_accounts::id)
        .get_result(conn)
}

/// Changes to an account: what is `Some` changes, the change time always.
#[derive(AsChangeset)]
#[diesel(table_name = service_accounts)]
pub struct AccountChanges<'a> {
    /// New description.
    pub description: Option<&'a str>,
    /// New active flag.
    pub active: Option<bool>,
    /// Change time (ms).
    pub updated_at: i64,
}

/// Applies changes to account `id`.
pub fn update_account(
    conn: &mut DbConnection,
    id: i64,
    changes: &AccountChanges<'_>,
) -> QueryResult<()> {
    diesel::update(service_accounts::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

/// Deletes an account and its keys (tokens and bindings are the caller's to delete
/// first, through their areas).
pub fn delete_account(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(api_keys::table.filter(api_keys::service_account_id.eq(id))).execute(conn)?;
    diesel::delete(service_accounts::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Account `id` with its namespace's name.
pub fn find_account_by_id(
    conn: &mut DbConnection,
    id: i64,
) -> QueryResult<Option<(ServiceAccount, String)>> {
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(service_accounts::id.eq(id))
        .select((ServiceAccount::as_select(), namespaces::name))
        .first(conn)
        .optional()
}

/// Name of account `id`.
pub fn account_name(conn: &mut DbConnection, id: i64) -> QueryResult<Option<(String, String)>> {
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(service_accounts::id.eq(id))
        .select((namespaces::name, service_accounts::name))
        .first(conn)
        .optional()
}

/// `(id, namespace, name)` of the accounts among `ids`.
pub fn account_names(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<Vec<(i64, String, String)>> {
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(service_accounts::id.eq_any(ids))
        .select((
            service_accounts::id,
            namespaces::name,
            service_accounts::name,
        ))
        .load(conn)
}

/// Ids of the accounts of a namespace.
pub fn account_ids_in(conn: &mut DbConnection, namespace_id: i64) -> QueryResult<Vec<i64>> {
    service_accounts::table
        .filter(service_accounts::namespace_id.eq(namespace_id))
        .select(service_accounts::id)
        .load(conn)
}

/// `(name, active)` of the accounts of a namespace.
pub fn accounts_in(conn: &mut DbConnection, namespace_id: i64) -> QueryResult<Vec<(String, bool)>> {
    service_accounts::table
        .filter(service_accounts::namespace_id.eq(namespace_id))
        .order(service_accounts::name.asc())
        .select((service_accounts::name, service_accounts::active))
        .limit(200)
        .load(conn)
}
