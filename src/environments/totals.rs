//! Exact list totals without recounting: a total is cached per (grant filter, list
//! filters) together with the environments version it was computed at, and reused while
//! `counters.environments` — bumped by triggers on every write to environments, by any
//! instance — has not moved.

use std::collections::HashMap;
use std::sync::Mutex;

/// Beyond this many entries the cache starts over (bounded memory).
const MAX_ENTRIES: usize = 10_000;

/// Cached totals of this instance.
#[derive(Default)]
pub struct TotalsCache {
    entries: Mutex<HashMap<String, (i64, i64)>>,
}

impl TotalsCache {
    /// The total for `key` if it was computed at `version`.
    pub fn get(&self, key: &str, version: i64) -> Option<i64> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, total)| *total)
    }

    /// Remembers `total` for `key` at `version`.
    pub fn put(&self, key: String, version: i64, total: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (version, total));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_total_is_reused_only_at_its_version() {
        let c = TotalsCache::default();
        c.put("k".into(), 3, 42);
        assert_eq!(c.get("k", 3), Some(42));
        assert_eq!(c.get("k", 4), None);
        assert_eq!(c.get("other", 3), None);
    }
}
