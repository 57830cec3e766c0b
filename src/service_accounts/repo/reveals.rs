//! One-time reveal rows: stored sealed, taken at most once, purged when stale.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::key_reveals;

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
