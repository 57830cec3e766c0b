//! Issued credentials per connector version and resource, shared by every caller allowed
//! to use the connector, until a minute before they expire; one upstream call however
//! many callers wait for the same key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::providers::{Issued, ProviderError};
use crate::db::now_ms;

/// What issued credentials are cached under: the connector at one version (an edit
/// starts afresh) and one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CacheKey {
    /// Connector row.
    pub connector_id: i64,
    /// Its version (`updated_at`): an edit starts afresh.
    pub version: i64,
    /// Resource type.
    pub resource_type: String,
    /// Resource id (canonical).
    pub resource_id: String,
}

type Slot = Arc<OnceCell<Result<Issued, ProviderError>>>;

/// Issued credentials per connector and resource, shared by every caller allowed to
/// use the connector, until shortly before they expire.
#[derive(Default)]
pub struct CredentialCache {
    slots: Mutex<HashMap<CacheKey, Slot>>,
}

/// Most cached entries before expired ones are pruned.
const PRUNE_AT: usize = 10_000;

impl CredentialCache {
    /// The credentials cached under `key`, if they may still be served.
    pub(super) fn peek(&self, key: &CacheKey) -> Option<Issued> {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        match slots.get(key)?.get()? {
            Ok(issued) if still_fresh(issued, now_ms()) => Some(issued.clone()),
            _ => None,
        }
    }

    /// The credentials under `key`, issued by `issue` when none are cached or they are
    /// about to expire; `true` when this call issued them. Concurrent callers for one
    /// key wait for the same single call.
    pub(super) async fn get_or_issue<F, Fut>(
        &self,
        key: CacheKey,
        issue: F,
    ) -> (Result<Issued, ProviderError>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Issued, ProviderError>>,
    {
        let now = now_ms();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() > PRUNE_AT {
                slots.retain(|_, s| s.get().is_some_and(|r| usable(r, now)));
            }
            let slot = slots.entry(key.clone()).or_default();
            if slot.get().is_some_and(|r| !usable(r, now)) {
                *slot = Slot::default();
            }
            slot.clone()
        };
        let mut fresh = false;
        let result = slot
            .get_or_init(|| {
                fresh = true;
                issue()
            })
            .await;
        (result.clone(), fresh)
    }
}

/// Whether a cached result may still be served at `now`: a success until a tenth of its
/// lifetime (at least a minute) is left; a failure never (the next call tries again).
fn usable(result: &Result<Issued, ProviderError>, now: i64) -> bool {
    result.as_ref().is_ok_and(|issued| still_fresh(issued, now))
}

/// Whether issued credentials have more than a minute left (or do not expire).
fn still_fresh(issued: &Issued, now: i64) -> bool {
    issued.expires_at.is_none_or(|at| at - now > 60_000)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::Map;

    use super::*;

    fn key(version: i64) -> CacheKey {
        CacheKey {
            connector_id: 1,
            version,
            resource_type: "s3-bucket".into(),
            resource_id: "s3://b".into(),
        }
    }

    fn issued(expires_in_ms: Option<i64>) -> Issued {
        Issued {
            credentials: Map::new(),
            expires_at: expires_in_ms.map(|ms| now_ms() + ms),
        }
    }

    #[tokio::test]
    async fn concurrent_callers_for_one_resource_share_one_upstream_call() {
        let cache = Arc::new(CredentialCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..200 {
            let (cache, calls) = (cache.clone(), calls.clone());
            waiting.push(tokio::spawn(async move {
                cache
                    .get_or_issue(key(1), || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(issued(Some(3_600_000)))
                    })
                    .await
            }));
        }
        let mut fresh = 0;
        for w in waiting {
            let (result, was_fresh) = w.await.unwrap();
            assert!(result.is_ok());
            fresh += usize::from(was_fresh);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one upstream call");
        assert_eq!(fresh, 1, "one caller issued, 199 were served");
    }

    #[tokio::test]
    async fn failures_expiring_credentials_and_edits_are_issued_again() {
        let cache = CredentialCache::default();
        let count = AtomicUsize::new(0);
        let call = |result: Result<Issued, ProviderError>| {
            count.fetch_add(1, Ordering::SeqCst);
            async move { result }
        };
        let denied = Err(ProviderError::Denied("no".into()));
        assert!(
            cache
                .get_or_issue(key(1), || call(denied.clone()))
                .await
                .0
                .is_err()
        );
        // A failure is not kept: the next call tries again.
        assert!(
            cache
                .get_or_issue(key(1), || call(Ok(issued(Some(30_000)))))
                .await
                .0
                .is_ok()
        );
        // Credentials with less than a minute left are issued again.
        let (_, fresh) = cache
            .get_or_issue(key(1), || call(Ok(issued(Some(3_600_000)))))
            .await;
        assert!(fresh);
        let (_, fresh) = cache
            .get_or_issue(key(1), || call(Ok(issued(Some(3_600_000)))))
            .await;
        assert!(!fresh, "served from the cache");
        // An edited connector (new version) starts afresh.
        let (_, fresh) = cache.get_or_issue(key(2), || call(Ok(issued(None)))).await;
        assert!(fresh);
        assert_eq!(count.load(Ordering::SeqCst), 4);
    }
}
