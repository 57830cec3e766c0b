//! API-key rows: lookups (also for authentication), inserts, rotation, changes and
//! the coalesced `last_used_at` writes.

use diesel::prelude::*;

use super::super::models::{ApiKey, ServiceAccount};
use diesel::dsl::AsSelect;

use crate::db::schema::{api_keys, namespaces, service_accounts};
use crate::db::{DbBackend, DbConnection};

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

/// What authentication reads: a key, its account and the account's namespace name.
pub type AuthRow = (ApiKey, ServiceAccount, String);

/// The columns of an [`AuthRow`], read from keys joined with accounts and namespaces.
fn auth_columns() -> (
    AsSelect<ApiKey, DbBackend>,
    AsSelect<ServiceAccount, DbBackend>,
    namespaces::name,
) {
    (
        ApiKey::as_select(),
        ServiceAccount::as_select(),
        namespaces::name,
    )
}

/// How authentication names a key: by the public id in a presented key, or by row id
/// (tokens minted from keys point at the row).
#[derive(Debug, Clone, Copy)]
pub enum KeyRef<'a> {
    /// The public key id.
    Public(&'a str),
    /// The row id.
    Row(i64),
}

/// What authentication needs about the key `key`.
pub fn find_key_for_auth(conn: &mut DbConnection, key: KeyRef<'_>) -> QueryResult<Option<AuthRow>> {
    let query = api_keys::table
        .inner_join(service_accounts::table.inner_join(namespaces::table))
        .select(auth_columns())
        .into_boxed();
    let query = match key {
        KeyRef::Public(key_id) => query.filter(api_keys::key_id.eq(key_id)),
        KeyRef::Row(id) => query.filter(api_keys::id.eq(id)),
    };
    query.first(conn).optional()
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

/// Changes to a key: what is `Some` changes.
#[derive(AsChangeset)]
#[diesel(table_name = api_keys)]
pub struct KeyChanges<'a> {
    /// New description.
    pub description: Option<&'a str>,
    /// New active flag.
    pub active: Option<bool>,
}

/// Applies changes to key `id` (none at all is no statement).
pub fn update_key(conn: &mut DbConnection, id: i64, changes: &KeyChanges<'_>) -> QueryResult<()> {
    if changes.description.is_none() && changes.active.is_none() {
        return Ok(());
    }
    diesel::update(api_keys::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
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
