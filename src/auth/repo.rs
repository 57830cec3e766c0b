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
    state: &str,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::state.eq(state),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Replaces a live session's state; false when it no longer exists.
pub fn update_session(
    conn: &mut DbConnection,
    id: &str,
    state: &str,
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
pub fn delete_expired_access_tokens(conn: &mut DbConnection, before: i64) -> QueryResult<usize> {
    diesel::delete(access_tokens::table.filter(access_tokens::expires_at.le(before))).execute(conn)
}
