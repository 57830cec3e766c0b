//! Queries of the auth area: users, sessions and access tokens.

use diesel::prelude::*;

use super::models::{AccessTokenRow, NewUser, User};
use crate::db::DbConnection;
use crate::db::schema::{access_tokens, sessions, users};

/// The user called `name`.
pub fn find_user_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::name.eq(name))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The user with row id `id`.
pub fn find_user(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Which of `names` are some user's primary namespace (groups never get those).
pub fn personal_namespaces_among(
    conn: &mut DbConnection,
    names: &[String],
) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::primary_namespace.eq_any(names))
        .select(users::primary_namespace)
        .distinct()
        .load(conn)
}

/// Inserts a user and returns its id.
pub fn insert_user(conn: &mut DbConnection, user: &NewUser<'_>) -> QueryResult<i64> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(users::id)
        .get_result(conn)
}

/// How many users exist.
pub fn count_users(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Records a successful sign-in.
pub fn update_last_login(conn: &mut DbConnection, id: i64, at: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// Session state by storage id, if not expired.
pub fn find_session(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<Option<String>> {
    sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::expires_at.gt(now))
        .select(sessions::state)
        .first(conn)
        .optional()
}

/// Stores a new session.
pub fn insert_session(
    conn: &mut DbConnection,
    id: &str,
    (state, user_id): (&str, Option<i64>),
    expires_at: i64,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::state.eq(state),
            sessions::user_id.eq(user_id),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Replaces a live session's state; false when it no longer exists.
pub fn update_session(
    conn: &mut DbConnection,
    id: &str,
    (state, user_id): (&str, Option<i64>),
    expires_at: i64,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::expires_at.gt(now)),
    )
    .set((
        sessions::state.eq(state),
        sessions::user_id.eq(user_id),
        sessions::expires_at.eq(expires_at),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Extends a session's lifetime.
pub fn touch_session(conn: &mut DbConnection, id: &str, expires_at: i64) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::id.eq(id)))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .map(|_| ())
}

/// Deletes a session.
pub fn delete_session(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::id.eq(id)))
        .execute(conn)
        .map(|_| ())
}

/// Deletes every session of user `user_id`; returns how many.
pub fn delete_user_sessions(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Deletes expired sessions; returns how many.
pub fn delete_expired_sessions(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)
}

/// Stores an access token.
pub fn insert_access_token(conn: &mut DbConnection, row: &AccessTokenRow) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// An access token by public id.
pub fn find_access_token(conn: &mut DbConnection, id: &str) -> QueryResult<Option<AccessTokenRow>> {
    access_tokens::table
        .find(id)
        .select(AccessTokenRow::as_select())
        .first(conn)
        .optional()
}

/// Deletes tokens that expired before `before`; returns how many.
/// Deletes at most `limit` access tokens that expired by `before` (oldest first): one
/// batch of housekeeping, short enough not to hold the write lock for long.
pub fn delete_expired_access_tokens_batch(
    conn: &mut DbConnection,
    before: i64,
    limit: i64,
) -> QueryResult<usize> {
    let batch: Vec<String> = access_tokens::table
        .filter(access_tokens::expires_at.le(before))
        .order(access_tokens::expires_at.asc())
        .select(access_tokens::id)
        .limit(limit)
        .load(conn)?;
    if batch.is_empty() {
        return Ok(0);
    }
    diesel::delete(access_tokens::table.filter(access_tokens::id.eq_any(&batch))).execute(conn)
}

/// Deletes every token of principal `(kind, id)` and every token minted with one of
/// the API keys `key_ids`.
pub fn delete_tokens_of(
    conn: &mut DbConnection,
    kind: &str,
    id: i64,
    key_ids: &[i64],
) -> QueryResult<()> {
    delete_key_tokens(conn, key_ids)?;
    diesel::delete(
        access_tokens::table
            .filter(access_tokens::principal_kind.eq(kind))
            .filter(access_tokens::principal_id.eq(id)),
    )
    .execute(conn)
    .map(|_| ())
}

/// Deletes every token minted with one of the API keys `key_ids`.
pub fn delete_key_tokens(conn: &mut DbConnection, key_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(access_tokens::table.filter(access_tokens::api_key_id.eq_any(key_ids)))
        .execute(conn)
        .map(|_| ())
}

/// A page of users by name (one more than `limit` when there is more).
pub fn list_users(
    conn: &mut DbConnection,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let mut q = users::table
        .select(User::as_select())
        .order(users::name.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        let escaped = crate::db::escape_like(s);
        q = q.filter(users::name.like(format!("%{escaped}%")).escape('\\'));
    }
    if let Some(a) = after {
        q = q.filter(users::name.gt(a.to_owned()));
    }
    q.load(conn)
}

/// Changes a user's active flag and/or password hash.
pub fn update_user(
    conn: &mut DbConnection,
    id: i64,
    active: Option<bool>,
    password_hash: Option<&str>,
) -> QueryResult<()> {
    if let Some(a) = active {
        diesel::update(users::table.find(id))
            .set(users::active.eq(a))
            .execute(conn)?;
    }
    if let Some(h) = password_hash {
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(Some(h)))
            .execute(conn)?;
    }
    Ok(())
}

/// Tokens issued to a principal, newest first.
pub fn list_tokens(
    conn: &mut DbConnection,
    kind: &str,
    id: i64,
    limit: i64,
) -> QueryResult<Vec<AccessTokenRow>> {
    access_tokens::table
        .filter(access_tokens::principal_kind.eq(kind))
        .filter(access_tokens::principal_id.eq(id))
        .order(access_tokens::created_at.desc())
        .limit(limit)
        .select(AccessTokenRow::as_select())
        .load(conn)
}

/// Marks a token revoked; false when it was not found (or already revoked).
pub fn revoke_token(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        access_tokens::table
            .filter(access_tokens::id.eq(id))
            .filter(access_tokens::revoked_at.is_null()),
    )
    .set(access_tokens::revoked_at.eq(now))
    .execute(conn)
    .map(|n| n > 0)
}

/// Ids of the tokens minted with token `parent`.
pub fn child_tokens(conn: &mut DbConnection, parent: &str) -> QueryResult<Vec<String>> {
    access_tokens::table
        .filter(access_tokens::parent_id.eq(parent))
        .select(access_tokens::id)
        .load(conn)
}

/// The user linked to `(issuer, subject)`.
pub fn find_identity_user(
    conn: &mut DbConnection,
    issuer: &str,
    subject: &str,
) -> QueryResult<Option<i64>> {
    use crate::db::schema::user_identities as ui;
    ui::table
        .filter(ui::issuer.eq(issuer))
        .filter(ui::subject.eq(subject))
        .select(ui::user_id)
        .first(conn)
        .optional()
}

/// Links `(issuer, subject)` to a user.
pub fn insert_identity(
    conn: &mut DbConnection,
    user_id: i64,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::user_identities as ui;
    diesel::insert_into(ui::table)
        .values((
            ui::user_id.eq(user_id),
            ui::issuer.eq(issuer),
            ui::subject.eq(subject),
            ui::email.eq(email),
            ui::created_at.eq(now),
            ui::last_login_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records a sign-in through an identity.
pub fn touch_identity(
    conn: &mut DbConnection,
    issuer: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::user_identities as ui;
    diesel::update(
        ui::table
            .filter(ui::issuer.eq(issuer))
            .filter(ui::subject.eq(subject)),
    )
    .set((ui::email.eq(email), ui::last_login_at.eq(now)))
    .execute(conn)
    .map(|_| ())
}

/// `(issuer, subject, email)` of a user's identities.
pub fn list_identities(
    conn: &mut DbConnection,
    user_id: i64,
) -> QueryResult<Vec<(String, String, Option<String>)>> {
    use crate::db::schema::user_identities as ui;
    ui::table
        .filter(ui::user_id.eq(user_id))
        .order(ui::id)
        .select((ui::issuer, ui::subject, ui::email))
        .load(conn)
}

/// `(id, name)` of the users among `ids`.
pub fn user_names(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::name))
        .load(conn)
}

/// Ids of the users whose own namespace is `namespace`.
pub fn users_owning(conn: &mut DbConnection, namespace: &str) -> QueryResult<Vec<i64>> {
    let owning = users::primary_namespace.eq(namespace);
    users::table.filter(owning).select(users::id).load(conn)
}

/// `(principal id, live tokens)` of the principals of `kind` among `ids`.
pub fn live_token_counts(
    conn: &mut DbConnection,
    kind: &str,
    ids: &[i64],
    now: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    use diesel::dsl::count_star;
    access_tokens::table
        .filter(access_tokens::principal_kind.eq(kind))
        .filter(access_tokens::principal_id.eq_any(ids))
        .filter(access_tokens::revoked_at.is_null())
        .filter(access_tokens::expires_at.gt(now))
        .group_by(access_tokens::principal_id)
        .select((access_tokens::principal_id, count_star()))
        .load(conn)
}
