//! Queries of service accounts, API keys and one-time reveals.

use diesel::dsl::{count, max};
use diesel::prelude::*;

use super::models::{AccountSummary, ApiKey, ServiceAccount};
use crate::access::sql::Condition;

diesel::define_sql_function! {
    /// SQL `LOWER(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
use crate::db::DbConnection;
use crate::db::schema::{api_keys, key_reveals, namespaces, service_accounts};

/// Filters of an account list.
pub struct ListFilter<'a> {
    /// Only accounts the caller may read.
    pub readable: Condition,
    /// Only this namespace.
    pub namespace: Option<&'a str>,
    /// Case-insensitive substring of the name.
    pub search: Option<&'a str>,
    /// Keyset cursor: names after this one.
    pub after: Option<&'a str>,
    /// Page size.
    pub limit: i64,
}

/// The account called `name`, with its namespace name.
pub fn find_account(
    conn: &mut DbConnection,
    name: &str,
) -> QueryResult<Option<(ServiceAccount, String)>> {
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(service_accounts::name.eq(name))
        .select((ServiceAccount::as_select(), namespaces::name))
        .first(conn)
        .optional()
}

/// A page of accounts (one more than `limit` when there is a next page).
pub fn list_accounts(
    conn: &mut DbConnection,
    filter: ListFilter<'_>,
) -> QueryResult<Vec<AccountSummary>> {
    let mut query = service_accounts::table
        .inner_join(namespaces::table)
        .filter(filter.readable)
        .select((ServiceAccount::as_select(), namespaces::name))
        .order(service_accounts::name.asc())
        .limit(filter.limit + 1)
        .into_boxed();
    if let Some(ns) = filter.namespace {
        query = query.filter(namespaces::name.eq(ns.to_owned()));
    }
    if let Some(q) = filter.search.filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", crate::db::escape_like(&q.to_lowercase()));
        query = query.filter(lower(service_accounts::name).like(pattern).escape('\\'));
    }
    if let Some(after) = filter.after {
        query = query.filter(service_accounts::name.gt(after.to_owned()));
    }
    let rows: Vec<(ServiceAccount, String)> = query.load(conn)?;
    // Key statistics in a second, fully static (prepared once) query.
    let ids: Vec<i64> = rows.iter().map(|(a, _)| a.id).collect();
    let stats: Vec<(i64, i64, Option<i64>)> = api_keys::table
        .filter(api_keys::service_account_id.eq_any(&ids))
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

/// Key statistics of one account.
pub fn key_stats(conn: &mut DbConnection, account_id: i64) -> QueryResult<(i64, Option<i64>)> {
    api_keys::table
        .filter(api_keys::service_account_id.eq(account_id))
        .select((count(api_keys::id), max(api_keys::last_used_at)))
        .first(conn)
}

/// Inserts an account; returns its id.
pub fn insert_account(
    conn: &mut DbConnection,
    name: &str,
    namespace_id: i64,
    description: &str,
    active: bool,
    created_by: &str,
    now: i64,
) -> QueryResult<i64> {
    diesel::insert_into(service_accounts::table)
        .values((
            service_accounts::name.eq(name),
            service_accounts::namespace_id.eq(namespace_id),
            service_accounts::description.eq(description),
            service_accounts::active.eq(active),
            service_accounts::created_by.eq(created_by),
            service_accounts::created_at.eq(now),
            service_accounts::updated_at.eq(now),
        ))
        .returning(service_accounts::id)
        .get_result(conn)
}

/// Changes description and/or active flag.
pub fn update_account(
    conn: &mut DbConnection,
    id: i64,
    description: Option<&str>,
    active: Option<bool>,
    now: i64,
) -> QueryResult<()> {
    if let Some(d) = description {
        diesel::update(service_accounts::table.find(id))
            .set(service_accounts::description.eq(d))
            .execute(conn)?;
    }
    if let Some(a) = active {
        diesel::update(service_accounts::table.find(id))
            .set(service_accounts::active.eq(a))
            .execute(conn)?;
    }
    diesel::update(service_accounts::table.find(id))
        .set(service_accounts::updated_at.eq(now))
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

/// Row ids of an account's keys.
pub fn key_ids_of(conn: &mut DbConnection, account_id: i64) -> QueryResult<Vec<i64>> {
    api_keys::table
        .filter(api_keys::service_account_id.eq(account_id))
        .select(api_keys::id)
        .load(conn)
}

/// An account's keys, by name.
pub fn list_keys(conn: &mut DbConnection, account_id: i64) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::service_account_id.eq(account_id))
        .order(api_keys::name.asc())
        .select(ApiKey::as_select())
        .load(conn)
}

/// One key of an account, by name.
pub fn find_key(
    conn: &mut DbConnection,
    account_id: i64,
    name: &str,
) -> QueryResult<Option<ApiKey>> {
    api_keys::table
        .filter(api_keys::service_account_id.eq(account_id))
        .filter(api_keys::name.eq(name))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
}

/// A key by row id.
pub fn get_key(conn: &mut DbConnection, id: i64) -> QueryResult<ApiKey> {
    api_keys::table
        .find(id)
        .select(ApiKey::as_select())
        .first(conn)
}

/// What authentication needs: the key, its account and the account's namespace.
pub fn find_key_for_auth(
    conn: &mut DbConnection,
    key_id: &str,
) -> QueryResult<Option<(ApiKey, ServiceAccount, String)>> {
    api_keys::table
        .inner_join(service_accounts::table.inner_join(namespaces::table))
        .filter(api_keys::key_id.eq(key_id))
        .select((
            ApiKey::as_select(),
            ServiceAccount::as_select(),
            namespaces::name,
        ))
        .first(conn)
        .optional()
}

/// The same, by key row id (tokens minted from keys point at the row).
pub fn find_key_by_row_for_auth(
    conn: &mut DbConnection,
    id: i64,
) -> QueryResult<Option<(ApiKey, ServiceAccount, String)>> {
    api_keys::table
        .inner_join(service_accounts::table.inner_join(namespaces::table))
        .filter(api_keys::id.eq(id))
        .select((
            ApiKey::as_select(),
            ServiceAccount::as_select(),
            namespaces::name,
        ))
        .first(conn)
        .optional()
}

/// A new key's columns.
pub struct NewKey<'a> {
    /// Owner.
    pub account_id: i64,
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Public id.
    pub key_id: &'a str,
    /// HMAC of the secret.
    pub secret_hash: &'a str,
    /// Display fragment.
    pub display: &'a str,
    /// Expiry.
    pub expires_at: Option<i64>,
}

/// Inserts a key; returns its row id.
pub fn insert_key(conn: &mut DbConnection, key: &NewKey<'_>, now: i64) -> QueryResult<i64> {
    diesel::insert_into(api_keys::table)
        .values((
            api_keys::service_account_id.eq(key.account_id),
            api_keys::name.eq(key.name),
            api_keys::description.eq(key.description),
            api_keys::key_id.eq(key.key_id),
            api_keys::secret_hash.eq(key.secret_hash),
            api_keys::display.eq(key.display),
            api_keys::expires_at.eq(key.expires_at),
            api_keys::active.eq(true),
            api_keys::generation.eq(0i64),
            api_keys::created_at.eq(now),
        ))
        .returning(api_keys::id)
        .get_result(conn)
}

/// Changes a key's description and/or active flag.
pub fn update_key(
    conn: &mut DbConnection,
    id: i64,
    description: Option<&str>,
    active: Option<bool>,
) -> QueryResult<()> {
    if let Some(d) = description {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::description.eq(d))
            .execute(conn)?;
    }
    if let Some(a) = active {
        diesel::update(api_keys::table.find(id))
            .set(api_keys::active.eq(a))
            .execute(conn)?;
    }
    Ok(())
}

/// Rotates in one statement: the current hash becomes the previous one (read and
/// written under the row lock, so concurrent rotations never lose an update).
pub fn rotate_key(
    conn: &mut DbConnection,
    id: i64,
    new_hash: &str,
    display: &str,
    retain_until: Option<i64>,
    now: i64,
) -> QueryResult<i64> {
    diesel::update(api_keys::table.find(id))
        .set((
            api_keys::previous_secret_hash.eq(api_keys::secret_hash.nullable()),
            api_keys::secret_hash.eq(new_hash),
            api_keys::display.eq(display),
            api_keys::retain_until.eq(retain_until),
            api_keys::generation.eq(api_keys::generation + 1i64),
            api_keys::last_rotated_at.eq(now),
        ))
        .returning(api_keys::generation)
        .get_result(conn)
}

/// Deletes a key (the caller deletes the tokens minted from it, through `auth`).
pub fn delete_key(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
    diesel::delete(api_keys::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Records last use of several keys (the coalesced batch).
pub fn record_key_use(conn: &mut DbConnection, uses: &[(i64, i64)]) -> QueryResult<()> {
    crate::db::write_transaction(conn, |conn| {
        for (id, at) in uses {
            diesel::update(api_keys::table.find(*id))
                .set(api_keys::last_used_at.eq(*at))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// A one-time reveal to store.
#[derive(Insertable)]
#[diesel(table_name = key_reveals)]
pub struct NewReveal<'a> {
    /// Random id (in the URL).
    pub id: &'a str,
    /// Hash binding it to the creating session.
    pub session_binding: &'a str,
    /// Sealed plaintext.
    pub ciphertext: &'a str,
    /// Key name.
    pub label: &'a str,
    /// Account name.
    pub service_account: &'a str,
    /// Creation time (ms).
    pub created_at: i64,
    /// Expiry (ms).
    pub expires_at: i64,
}

/// Stores a one-time reveal.
pub fn insert_reveal(conn: &mut DbConnection, reveal: &NewReveal<'_>) -> QueryResult<()> {
    diesel::insert_into(key_reveals::table)
        .values(reveal)
        .execute(conn)
        .map(|_| ())
}

/// Takes a reveal atomically (`DELETE … RETURNING`): at most one caller ever gets it,
/// and only the session that created it.
pub fn take_reveal(
    conn: &mut DbConnection,
    id: &str,
    binding: &str,
    now: i64,
) -> QueryResult<Option<(String, String, String)>> {
    diesel::delete(
        key_reveals::table
            .filter(key_reveals::id.eq(id))
            .filter(key_reveals::session_binding.eq(binding))
            .filter(key_reveals::expires_at.gt(now)),
    )
    .returning((
        key_reveals::ciphertext,
        key_reveals::label,
        key_reveals::service_account,
    ))
    .get_result(conn)
    .optional()
}

/// Deletes reveals nobody viewed in time.
pub fn delete_expired_reveals(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(key_reveals::table.filter(key_reveals::expires_at.le(now))).execute(conn)
}

/// How many accounts `principal` may read.
pub fn count_readable(
    conn: &mut DbConnection,
    principal: &crate::access::Principal,
) -> QueryResult<i64> {
    let readable = crate::access::sql::permission_filter(
        &principal.grants,
        crate::access::Permission::ServiceAccountRead,
        crate::access::sql::Columns {
            namespace: "namespaces.name",
            environment: None,
        },
        conn.dialect(),
    );
    service_accounts::table
        .inner_join(namespaces::table)
        .filter(readable)
        .count()
        .get_result(conn)
}

/// Name of account `id`.
pub fn account_name(conn: &mut DbConnection, id: i64) -> QueryResult<Option<String>> {
    service_accounts::table
        .find(id)
        .select(service_accounts::name)
        .first(conn)
        .optional()
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
