//! A short-lived, per-instance cache of API-key lookups so that verifying a key costs a
//! hash and a compare, not a database round trip. Entries hold hashes and flags, never
//! secrets, and every check (active, expiry, grace window, secret) is re-evaluated on
//! each request. Changes made through this instance clear the cache at once; other
//! instances see them within the TTL (`PORTCULLIS_KEY_CACHE_SECONDS`, 0 disables).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::models::{ApiKey, ServiceAccount};
use crate::access::Grants;

/// Beyond this many entries the cache starts over (bounded memory).
const MAX_ENTRIES: usize = 50_000;

/// What a lookup found.
#[derive(Debug, Clone)]
pub struct CachedKey {
    /// The key row.
    pub key: ApiKey,
    /// Its account.
    pub account: ServiceAccount,
    /// The account's namespace name.
    pub namespace: String,
    /// The account's grants.
    pub grants: Grants,
}

/// The cache.
pub struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, CachedKey)>>,
}

impl KeyCache {
    /// A cache keeping entries for `ttl` (zero: never cache).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh entry for public key id `key_id`.
    pub fn get(&self, key_id: &str) -> Option<CachedKey> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(key_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, entry)| entry.clone())
    }

    /// Stores an entry.
    pub fn put(&self, entry: CachedKey) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(entry.key.key_id.clone(), (Instant::now(), entry));
        }
    }

    /// Forgets everything (after any change to accounts, keys or bindings).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
