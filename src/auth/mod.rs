//! Authentication: local accounts (argon2id), server-side sessions, bearer access
//! tokens, sign-in throttling, and the [`Principal`] every handler receives.

pub mod federated;
pub mod models;
pub mod oidc;
mod oidc_signin;
pub mod password;
pub mod ratelimit;
mod repo;
pub mod session_store;
mod signin;
pub mod tokens;
mod views;

use actix_web::web;
use rand::RngCore;

use crate::access::{self, Pattern, Role};
use crate::config::validate_password;
use crate::db::{DbConnection, now_ms};
use crate::names::validate_name;
use crate::{audit, environments};

pub use models::{AccessTokenRow, User};
pub use signin::{Checked, audit_throttled, check_password, check_password_as, safe_return_to};

/// Keys of the values a signed-in session holds.
pub mod session_keys {
    /// Signed-in user's row id.
    pub const USER_ID: &str = "uid";
    /// Sign-in time (ms), for the absolute timeout.
    pub const AUTH_AT: &str = "auth_at";
    /// Last request time (ms, coarse), for the idle timeout.
    pub const SEEN_AT: &str = "seen_at";
    /// A started OpenID Connect sign-in ([`crate::auth::oidc::PendingSignIn`]).
    pub const OIDC_PENDING: &str = "oidc_pending";
}

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    <tokens::Doc as utoipa::OpenApi>::openapi()
}

/// Routes of the area.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/login")
            .get(signin::login_page)
            .post(signin::login),
    )
    .service(web::resource("/logout").post(signin::logout))
    .service(web::resource("/auth/oidc/login").get(oidc_signin::oidc_login))
    .service(web::resource("/auth/oidc/callback").get(oidc_signin::oidc_callback));
    tokens::configure(cfg);
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Bad name or password.
    #[error("{0}")]
    Invalid(String),
    /// The name is taken.
    #[error("user {0:?} already exists")]
    Exists(String),
    /// Database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Creates a local user with an already computed password hash, its primary namespace
/// (the user's name) if missing, and `*/*: admin` when `admin`; all in one transaction.
pub fn create_local_user(
    conn: &mut DbConnection,
    name: &str,
    password_hash: Option<&str>,
    admin: bool,
    actor: &str,
) -> Result<i64, CreateUserError> {
    create_user(conn, name, password_hash, name, true, admin, actor)
}

/// Creates a user with a chosen primary namespace (created if missing) and active flag.
pub fn create_user(
    conn: &mut DbConnection,
    name: &str,
    password_hash: Option<&str>,
    primary_namespace: &str,
    active: bool,
    admin: bool,
    actor: &str,
) -> Result<i64, CreateUserError> {
    validate_name(name).map_err(|e| CreateUserError::Invalid(format!("user name {e}")))?;
    validate_name(primary_namespace)
        .map_err(|e| CreateUserError::Invalid(format!("primary namespace {e}")))?;
    crate::db::write_transaction(conn, |conn| {
        if repo::find_user_by_name(conn, name)?.is_some() {
            return Err(CreateUserError::Exists(name.to_owned()));
        }
        // A user administers their primary namespace: an existing one would hand them
        // someone else's (a user named `team-a` becoming team-a's admin).
        if environments::find_namespace(conn, primary_namespace)?.is_some() {
            return Err(CreateUserError::Invalid(format!(
                "primary namespace {primary_namespace:?} already exists, and a user \
                 administers their primary namespace: choose another"
            )));
        }
        environments::ensure_namespace(conn, primary_namespace, "")?;
        let id = repo::insert_user(
            conn,
            &models::NewUser {
                name,
                password_hash,
                primary_namespace,
                active,
                created_at: now_ms(),
            },
        )?;
        if admin {
            let all = Pattern::parse("*/*").map_err(CreateUserError::Invalid)?;
            access::bind_user(conn, id, &all, Role::Admin)?;
        }
        let target = format!("user:{name}");
        let event = audit::Event::new(actor, "user.create", &target, audit::Outcome::Success);
        audit::record(conn, &event.detail(admin.then_some("global admin")))?;
        Ok(id)
    })
}

/// Hashes `password` after checking its length.
pub fn hash_new_password(password: &str) -> Result<String, CreateUserError> {
    validate_password(password).map_err(|e| CreateUserError::Invalid(format!("password {e}")))?;
    password::hash(password).map_err(|e| CreateUserError::Invalid(e.to_string()))
}

/// A random password of 24 URL-safe characters (144 bits).
pub fn random_password() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The effective grants of `user`: every source, as [`access::load_user_grants`] unions
/// them, with this area telling which namespaces are users' own.
pub fn user_grants(
    conn: &mut DbConnection,
    user: &User,
    rules: &access::GrantRules,
) -> diesel::QueryResult<access::Grants> {
    access::load_user_grants(
        conn,
        user.id,
        &user.primary_namespace,
        rules,
        repo::personal_namespaces_among,
    )
}

/// Deletes every token of principal `(kind, id)` and every token minted with one of
/// the API keys `key_ids` (the principal is being deleted).
pub fn delete_tokens_of(
    conn: &mut DbConnection,
    kind: &str,
    id: i64,
    key_ids: &[i64],
) -> diesel::QueryResult<()> {
    repo::delete_tokens_of(conn, kind, id, key_ids)
}

/// Stores a token issued at sign-in (`POST /api/v1/login`).
pub fn insert_access_token(
    conn: &mut DbConnection,
    row: &AccessTokenRow,
) -> diesel::QueryResult<()> {
    repo::insert_access_token(conn, row)
}

/// Deletes every token minted with one of the API keys `key_ids`.
pub fn delete_key_tokens(conn: &mut DbConnection, key_ids: &[i64]) -> diesel::QueryResult<()> {
    repo::delete_key_tokens(conn, key_ids)
}

/// A page of users by name after `after` (one more than `limit` when there is more).
pub fn list_users_after(
    conn: &mut DbConnection,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> diesel::QueryResult<Vec<User>> {
    repo::list_users(conn, search, after, limit)
}

/// Changes a user's active flag and/or password hash.
pub fn update_user(
    conn: &mut DbConnection,
    id: i64,
    active: Option<bool>,
    password_hash: Option<&str>,
) -> diesel::QueryResult<()> {
    repo::update_user(conn, id, active, password_hash)
}

/// The active user with row id `id`, if any.
pub fn find_active_user(conn: &mut DbConnection, id: i64) -> diesel::QueryResult<Option<User>> {
    Ok(repo::find_user(conn, id)?.filter(|u| u.active))
}

/// The stored access token with public id `id` (never its secret), if any.
pub fn find_access_token(
    conn: &mut DbConnection,
    id: &str,
) -> diesel::QueryResult<Option<models::AccessTokenRow>> {
    repo::find_access_token(conn, id)
}

/// Number of users (start-up decides whether to create `admin`).
pub fn count_users(conn: &mut DbConnection) -> diesel::QueryResult<i64> {
    repo::count_users(conn)
}

/// The user called `name`.
pub fn find_user_by_name(conn: &mut DbConnection, name: &str) -> diesel::QueryResult<Option<User>> {
    repo::find_user_by_name(conn, name)
}

/// Deletes expired sessions and access tokens (periodic housekeeping). Tokens go in
/// batches of [`PURGE_BATCH`], each a write transaction of its own, so requests that
/// write queue behind one short batch, not behind millions of rows.
pub fn purge_expired(conn: &mut DbConnection) -> diesel::QueryResult<(usize, usize)> {
    let now = now_ms();
    let sessions =
        crate::db::write_transaction(conn, |conn| repo::delete_expired_sessions(conn, now))?;
    // Keep expired tokens a day so their ids stay listable for a while.
    let before = now - 24 * 3600 * 1000;
    let mut tokens = 0;
    loop {
        let deleted = crate::db::write_transaction(conn, |conn| {
            repo::delete_expired_access_tokens_batch(conn, before, PURGE_BATCH)
        })?;
        tokens += deleted;
        if deleted < PURGE_BATCH as usize {
            return Ok((sessions, tokens));
        }
    }
}

/// Expired access tokens deleted per write transaction.
pub const PURGE_BATCH: i64 = 1000;

/// `(issuer, subject, email)` of the OpenID identities linked to user `id`.
pub fn list_identities(
    conn: &mut DbConnection,
    user_id: i64,
) -> diesel::QueryResult<Vec<(String, String, Option<String>)>> {
    repo::list_identities(conn, user_id)
}

/// The name of user `id`.
pub fn user_name_of(conn: &mut DbConnection, id: i64) -> diesel::QueryResult<Option<String>> {
    Ok(repo::find_user(conn, id)?.map(|u| u.name))
}

/// Users by name, first `limit` (admin pages).
pub fn list_users(
    conn: &mut DbConnection,
    search: Option<&str>,
    limit: i64,
) -> diesel::QueryResult<Vec<User>> {
    repo::list_users(conn, search, None, limit)
}

/// Ends every session of user `user_id` (a changed or reset password); the caller's
/// own session, if it should live on, is renewed under a new key afterwards.
pub fn end_sessions(conn: &mut DbConnection, user_id: i64) -> diesel::QueryResult<usize> {
    repo::delete_user_sessions(conn, user_id)
}

/// `(id, name)` of the users among `ids` ("who has access").
pub fn user_names(conn: &mut DbConnection, ids: &[i64]) -> diesel::QueryResult<Vec<(i64, String)>> {
    repo::user_names(conn, ids)
}

/// Ids of the users whose own (primary) namespace is `namespace`.
pub fn users_owning(conn: &mut DbConnection, namespace: &str) -> diesel::QueryResult<Vec<i64>> {
    repo::users_owning(conn, namespace)
}

/// How many live (unexpired, unrevoked) access tokens each principal of `kind` among
/// `ids` holds: `(id, count)`, principals without any left out.
pub fn live_token_counts(
    conn: &mut DbConnection,
    kind: &str,
    ids: &[i64],
) -> diesel::QueryResult<Vec<(i64, i64)>> {
    repo::live_token_counts(conn, kind, ids, now_ms())
}
