//! Rows of the auth area: users and access tokens.

use diesel::prelude::*;

use crate::db::schema::{access_tokens, users};

/// A user row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// argon2id PHC string; `None` for users without a local password.
    pub password_hash: Option<String>,
    /// The namespace the user administers.
    pub primary_namespace: String,
    /// Inactive users cannot sign in.
    pub active: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last successful sign-in (ms).
    pub last_login_at: Option<i64>,
}

/// A user to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Unique name.
    pub name: &'a str,
    /// argon2id PHC string.
    pub password_hash: Option<&'a str>,
    /// Primary namespace.
    pub primary_namespace: &'a str,
    /// Active flag.
    pub active: bool,
    /// Creation time (ms).
    pub created_at: i64,
}

impl AccessTokenRow {
    /// The row of a token just issued to principal `(kind, id)`, living from `now` to
    /// `expires_at`: not down-scoped, not tied to a key or a parent token (callers set
    /// those).
    pub fn issued(
        issued: &crate::credential::NewCredential,
        principal: (&str, i64),
        now: i64,
        expires_at: i64,
        key: Option<(i64, i64)>,
    ) -> Self {
        Self {
            id: issued.id.clone(),
            principal_kind: principal.0.to_owned(),
            principal_id: principal.1,
            secret_hash: issued.secret_hash.clone(),
            role_bindings: None,
            created_at: now,
            expires_at,
            revoked_at: None,
            api_key_id: key.map(|(k, _)| k),
            key_generation: key.map(|(_, g)| g),
            parent_id: None,
        }
    }
}

/// A stored access token (never its secret).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_tokens)]
pub struct AccessTokenRow {
    /// Public id (part of the token).
    pub id: String,
    /// `user` or `service_account`.
    pub principal_kind: String,
    /// The principal's row id.
    pub principal_id: i64,
    /// HMAC-SHA-256 of the secret.
    pub secret_hash: String,
    /// Down-scoping bindings as JSON, `None` for the issuer's.
    pub role_bindings: Option<String>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Expiry (ms).
    pub expires_at: i64,
    /// Revocation time (ms).
    pub revoked_at: Option<i64>,
    /// The API key whose secret minted this token, if any.
    pub api_key_id: Option<i64>,
    /// That key's secret generation at minting: the token dies with the secret.
    pub key_generation: Option<i64>,
    /// The token this one was minted with (revoking it revokes this one).
    pub parent_id: Option<String>,
}
