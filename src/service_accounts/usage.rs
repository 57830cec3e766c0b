//! `last_used_at` bookkeeping off the request path: a use is remembered in memory and
//! written by a background flush, at most once a minute per key, so verifying a key
//! writes nothing to the database per request.

use std::collections::HashMap;
use std::sync::Mutex;

use super::keys::MINUTE_MS;

/// Pending and recently written uses.
#[derive(Default)]
pub struct UsageTracker {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Key row id → last time written (or queued).
    written: HashMap<i64, i64>,
    /// Key row id → use time waiting for the next flush.
    pending: HashMap<i64, i64>,
}

impl UsageTracker {
    /// Notes a use of key `id` at `now`; queues a write if the last one is a minute old.
    pub fn touch(&self, id: i64, now: i64) {
        if let Ok(mut s) = self.state.lock() {
            let due = s
                .written
                .get(&id)
                .is_none_or(|last| now - last >= MINUTE_MS);
            if due {
                s.written.insert(id, now);
                s.pending.insert(id, now);
            }
        }
    }

    /// Takes the queued writes.
    pub fn drain(&self) -> Vec<(i64, i64)> {
        match self.state.lock() {
            Ok(mut s) => {
                if s.written.len() > 100_000 {
                    s.written.clear();
                }
                s.pending.drain().collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_written_at_most_once_a_minute_per_key() {
        let t = UsageTracker::default();
        t.touch(1, 0);
        t.touch(1, 10);
        t.touch(2, 20);
        let mut first = t.drain();
        first.sort();
        assert_eq!(first, [(1, 0), (2, 20)]);
        t.touch(1, MINUTE_MS - 1);
        assert!(t.drain().is_empty());
        t.touch(1, MINUTE_MS);
        assert_eq!(t.drain(), [(1, MINUTE_MS)]);
    }
}
