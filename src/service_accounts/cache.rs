//! What an API-key lookup caches: hashes and flags, never secrets. Every check
//! (active, expiry, grace window, secret) is re-evaluated on each request; the cache
//! itself is the shared identity cache of [`crate::access::cache`].

use super::models::{ApiKey, ServiceAccount};
use crate::access::Grants;
use crate::access::cache::TtlCache;

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

/// Recent key lookups by public key id.
pub type KeyCache = TtlCache<String, CachedKey>;
