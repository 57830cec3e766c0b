//! One-time reveal of a new key's plaintext on `/reveal/{id}` (POST → 303 → GET). The
//! plaintext is sealed with a server-derived key (row id as associated data), bound to
//! the creating session through a random per-session nonce, taken atomically by the
//! first GET of that session, and worthless after ten minutes.

use actix_session::Session;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::repo;
use crate::crypto::Sealer;
use crate::db::DbConnection;
use crate::errors::AppError;

/// How long an unviewed reveal lives.
pub const REVEAL_TTL_MS: i64 = 10 * 60 * 1000;
const SESSION_KEY: &str = "reveal_nonce";

/// The shown key.
pub struct Revealed {
    /// The plaintext key.
    pub key: String,
    /// Key name.
    pub label: String,
    /// Its service account.
    pub account: String,
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The hash binding reveals to this session (the nonce itself stays in the session).
pub fn session_binding(session: &Session) -> Result<String, AppError> {
    let nonce = match session.get::<String>(SESSION_KEY) {
        Ok(Some(n)) => n,
        _ => {
            let n = random_token();
            session
                .insert(SESSION_KEY, &n)
                .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))?;
            n
        }
    };
    Ok(hex::encode(Sha256::digest(nonce.as_bytes())))
}

/// Seals and stores `plaintext`; returns the reveal id for the URL.
pub fn store(
    conn: &mut DbConnection,
    sealer: &Sealer,
    binding: &str,
    plaintext: &str,
    label: &str,
    account: &str,
    now: i64,
) -> diesel::QueryResult<String> {
    let id = random_token();
    let sealed = sealer.seal(plaintext.as_bytes(), id.as_bytes());
    repo::insert_reveal(
        conn,
        &repo::NewReveal {
            id: &id,
            session_binding: binding,
            ciphertext: &sealed,
            label,
            service_account: account,
            created_at: now,
            expires_at: now + REVEAL_TTL_MS,
        },
    )?;
    Ok(id)
}

/// Takes the reveal if this session created it and nobody took it yet.
pub fn take(
    conn: &mut DbConnection,
    sealer: &Sealer,
    id: &str,
    binding: &str,
    now: i64,
) -> Result<Option<Revealed>, AppError> {
    let Some((sealed, label, account)) = repo::take_reveal(conn, id, binding, now)? else {
        return Ok(None);
    };
    let key = sealer
        .open(&sealed, id.as_bytes())
        .map_err(AppError::internal)
        .and_then(|bytes| String::from_utf8(bytes).map_err(AppError::internal))?;
    Ok(Some(Revealed {
        key,
        label,
        account,
    }))
}
