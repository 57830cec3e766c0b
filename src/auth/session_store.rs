//! Server-side sessions in the database (either backend), behind actix-session's
//! `SessionStore` trait, so any instance sharing the database serves any request.
//! The cookie carries a random 256-bit key; the table is keyed by its SHA-256, so
//! reading the table does not yield usable cookies.

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::repo;
use crate::db::{Db, DbError, now_ms};

/// Session state as actix-session hands it over.
type SessionState = std::collections::HashMap<String, String>;

/// Database-backed session store.
#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn new_key() -> Result<SessionKey, anyhow::Error> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SessionKey::try_from(URL_SAFE_NO_PAD.encode(bytes)).map_err(anyhow::Error::from)
}

fn storage_id(key: &SessionKey) -> String {
    hex::encode(Sha256::digest(key.as_ref().as_bytes()))
}

/// The signed-in user a session state names, if any.
fn user_of(state: &SessionState) -> Option<i64> {
    state
        .get(super::session_keys::USER_ID)
        .and_then(|v| serde_json::from_str::<i64>(v).ok())
}

fn expiry(ttl: &Duration) -> i64 {
    now_ms().saturating_add(ttl.whole_milliseconds().clamp(0, i64::MAX as i128) as i64)
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let id = storage_id(session_key);
        let state = self
            .db
            .run(move |conn| repo::find_session(conn, &id, now_ms()).map_err(DbError::from))
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        match state {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
        }
    }

    async fn save(&self, state: SessionState, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let text = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let user = user_of(&state);
        let key = new_key().map_err(SaveError::Other)?;
        let id = storage_id(&key);
        let expires_at = expiry(ttl);
        self.db
            .run(move |conn| {
                let row = (text.as_str(), user);
                repo::insert_session(conn, &id, row, expires_at).map_err(DbError::from)
            })
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        Ok(key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: SessionState,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let text =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let user = user_of(&state);
        let id = storage_id(&session_key);
        let expires_at = expiry(ttl);
        let updated = self
            .db
            .run(move |conn| {
                let row = (text.as_str(), user);
                repo::update_session(conn, &id, row, expires_at, now_ms()).map_err(DbError::from)
            })
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            Ok(session_key)
        } else {
            // The row expired or was deleted meanwhile: never resurrect it under the
            // old key; store the state under a fresh one.
            self.save(state, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        ttl: &Duration,
    ) -> Result<(), anyhow::Error> {
        let id = storage_id(session_key);
        let expires_at = expiry(ttl);
        self.db
            .run(move |conn| repo::touch_session(conn, &id, expires_at).map_err(DbError::from))
            .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = storage_id(session_key);
        self.db
            .run(move |conn| repo::delete_session(conn, &id).map_err(DbError::from))
            .await?;
        Ok(())
    }
}
