//! A short-lived, per-instance cache of API-key lookups so that verifying a key costs a
//! hash and a compare, not a database round trip. Entries hold hashes and flags, never
//! secrets, and every check (active, expiry, grace window, secret) is re-evaluated on
//! each request. Changes made through this instance clear the cache at once; other
//! instances see them within the TTL (`PORTCULLIS_KEY_CACHE_SECONDS`, 0 disables).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// Bumped by every `clear`: a lookup that started before a change must not store
    /// what it read (it may be the state the change just revoked).
    generation: AtomicU64,
}

impl KeyCache {
    /// A cache keeping entries for `ttl` (zero: never cache).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
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

    /// The current generation; read it before the database lookup whose result is
    /// then [`put`](Self::put).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Stores an entry read at `generation`, unless the cache was cleared since.
    pub fn put(&self, entry: CachedKey, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            // Checked under the lock: `clear` bumps the generation under it too.
            if self.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(entry.key.key_id.clone(), (Instant::now(), entry));
        }
    }

    /// Forgets everything (after any change to accounts, keys or bindings).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearing_the_cache_moves_its_generation() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.clear();
        assert_ne!(before, cache.generation());
    }
}
