//! Short-lived, per-instance caches of who a credential or session belongs to and what
//! it may do, so that identifying a caller costs no database round trip. All of them
//! share one [`Epoch`]: any change to accounts, keys, users, groups, bindings or shares
//! made through this instance bumps it, and every entry read before the bump is stale
//! at once. Other instances see a change within the TTL (`PORTCULLIS_KEY_CACHE_SECONDS`,
//! 0 disables caching).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Beyond this many entries a cache starts over (bounded memory).
const MAX_ENTRIES: usize = 50_000;

/// The generation shared by every identity cache of an instance.
#[derive(Debug, Default)]
pub struct Epoch(AtomicU64);

impl Epoch {
    /// The current generation; read it before the database lookup whose result is
    /// then [`TtlCache::put`].
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Invalidates every entry of every cache sharing this epoch.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A TTL cache whose entries also die with their [`Epoch`] generation.
pub struct TtlCache<K, V> {
    ttl: Duration,
    epoch: Arc<Epoch>,
    entries: Mutex<HashMap<K, (Instant, u64, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// A cache keeping entries for `ttl` (zero: never cache), invalidated by `epoch`.
    pub fn new(ttl: Duration, epoch: Arc<Epoch>) -> Self {
        Self {
            ttl,
            epoch,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh entry for `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let current = self.epoch.current();
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(at, generation, _)| *generation == current && at.elapsed() < self.ttl)
            .map(|(_, _, value)| value.clone())
    }

    /// The current generation (see [`Epoch::current`]).
    pub fn generation(&self) -> u64 {
        self.epoch.current()
    }

    /// Stores `value` read at `generation`, unless anything changed since: a lookup
    /// that raced a change must not store what may be the state the change revoked.
    pub fn put(&self, key: K, value: V, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if self.epoch.current() != generation {
                return;
            }
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (Instant::now(), generation, value));
        }
    }

    /// Forgets everything, in this cache and every other one sharing the epoch
    /// (after any change to accounts, keys, users, groups or bindings).
    pub fn clear(&self) {
        self.epoch.bump();
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(epoch: &Arc<Epoch>) -> TtlCache<String, i32> {
        TtlCache::new(Duration::from_secs(60), epoch.clone())
    }

    #[test]
    fn clearing_one_cache_invalidates_every_cache_of_the_epoch() {
        let epoch = Arc::new(Epoch::default());
        let (keys, users) = (cache(&epoch), cache(&epoch));
        keys.put("k".into(), 1, keys.generation());
        users.put("u".into(), 2, users.generation());
        assert_eq!(users.get(&"u".into()), Some(2));
        keys.clear();
        assert_eq!(keys.get(&"k".into()), None);
        assert_eq!(
            users.get(&"u".into()),
            None,
            "the other cache's entry is stale too"
        );
    }

    #[test]
    fn a_lookup_that_raced_a_change_is_not_stored() {
        let epoch = Arc::new(Epoch::default());
        let c = cache(&epoch);
        let before = c.generation();
        epoch.bump();
        c.put("k".into(), 1, before);
        assert_eq!(c.get(&"k".into()), None);
    }

    #[test]
    fn a_zero_ttl_never_caches() {
        let c = TtlCache::new(Duration::ZERO, Arc::new(Epoch::default()));
        c.put("k".to_owned(), 1, c.generation());
        assert_eq!(c.get(&"k".to_owned()), None);
    }
}
