//! Key policies: limits on the API keys and tokens of a namespace's service accounts —
//! longest key lifetime (keys without expiry refused), longest token lifetime, most
//! active keys per account, the client networks their requests may come from, and how
//! often keys must be rotated. The server's policy (configuration) applies everywhere;
//! a namespace's own may only tighten it. The effective policy of a namespace is the
//! tightest of both ([`KeyPolicy::tightest`]).
//!
//! This kernel module reads a namespace's stored policy (table `namespace_key_policies`,
//! written by the `service_accounts` area) and keeps effective policies in a per-instance
//! cache for the per-request network check.

use std::net::IpAddr;
use std::sync::Arc;

use diesel::prelude::*;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::access::cache::{Epoch, TtlCache};
use crate::db::schema::{namespace_key_policies, namespaces};
use crate::db::{Db, DbConnection};
use crate::errors::{AppResult, FieldErrors};

/// Upper bounds of the settings themselves.
const MAX_DAYS: i64 = 3650;
const MAX_MINUTES: i64 = 60 * 24 * 365;
const MAX_KEYS: i64 = 1000;
const MAX_NETWORKS: usize = 100;
/// A day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// A key policy: every setting optional (`None`: no limit from this level).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyPolicy {
    /// Keys must expire within this many days of their creation.
    #[schema(minimum = 1, maximum = 3650)]
    pub max_key_lifetime_days: Option<i64>,
    /// Access tokens of the accounts live at most this many minutes.
    #[schema(minimum = 1)]
    pub max_token_lifetime_minutes: Option<i64>,
    /// Most active keys one account may hold.
    #[schema(minimum = 1, maximum = 1000)]
    pub max_active_keys_per_account: Option<i64>,
    /// Requests authenticated by the accounts' keys or tokens must come from one of
    /// these networks (CIDR, or a single address).
    pub allowed_networks: Option<Vec<String>>,
    /// Keys must be rotated this often (warnings as the day nears).
    #[schema(minimum = 1, maximum = 3650)]
    pub rotate_every_days: Option<i64>,
    /// Deactivate keys once their rotation is overdue (needs `rotate_every_days`).
    pub deactivate_unrotated: Option<bool>,
}

/// `min` of two optional limits, `None` meaning no limit.
fn tighter(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Parses one network: `10.0.0.0/8`, `2001:db8::/32`, or an address (`/32`, `/128`).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    crate::web::client::parse_network(text.trim()).map(|n| n.trunc())
}

impl KeyPolicy {
    /// Adds a message per setting out of its range, or looser than `bound` (the
    /// server's policy, which a namespace may only tighten), to `fields`.
    pub fn check(&self, bound: &KeyPolicy) -> FieldErrors {
        let mut fields = FieldErrors::new();
        let limits = [
            (
                "max_key_lifetime_days",
                self.max_key_lifetime_days,
                bound.max_key_lifetime_days,
                MAX_DAYS,
            ),
            (
                "max_token_lifetime_minutes",
                self.max_token_lifetime_minutes,
                bound.max_token_lifetime_minutes,
                MAX_MINUTES,
            ),
            (
                "max_active_keys_per_account",
                self.max_active_keys_per_account,
                bound.max_active_keys_per_account,
                MAX_KEYS,
            ),
            (
                "rotate_every_days",
                self.rotate_every_days,
                bound.rotate_every_days,
                MAX_DAYS,
            ),
        ];
        for (field, value, server, max) in limits {
            let Some(v) = value else { continue };
            let top = server.unwrap_or(max).min(max);
            if !(1..=top).contains(&v) {
                let why = match server {
                    Some(s) if s <= max => {
                        format!("must be between 1 and {s} (the server's limit)")
                    }
                    _ => format!("must be between 1 and {max}"),
                };
                fields.insert(field.into(), why);
            }
        }
        if self.deactivate_unrotated == Some(true)
            && self.rotate_every_days.or(bound.rotate_every_days).is_none()
        {
            fields.insert(
                "deactivate_unrotated".into(),
                "needs rotate_every_days".into(),
            );
        }
        if let Some(list) = &self.allowed_networks {
            let server = bound.networks();
            if list.len() > MAX_NETWORKS {
                fields.insert("allowed_networks".into(), format!("at most {MAX_NETWORKS}"));
            }
            for text in list {
                match parse_network(text) {
                    Err(e) => {
                        fields.insert("allowed_networks".into(), e);
                    }
                    Ok(net)
                        if server
                            .as_ref()
                            .is_some_and(|s| !s.iter().any(|o| o.contains(&net))) =>
                    {
                        fields.insert(
                            "allowed_networks".into(),
                            format!("{net} is outside the server's allowed networks"),
                        );
                    }
                    Ok(_) => {}
                }
            }
        }
        fields
    }

    /// The tightest of two policies: each limit the smaller, rotation on if either
    /// says so, and networks only those of `self` within `other`'s (`other`'s when
    /// `self` has none).
    pub fn tightest(&self, other: &KeyPolicy) -> KeyPolicy {
        let allowed_networks = match (self.networks(), other.networks()) {
            (Some(mine), Some(theirs)) => Some(
                mine.iter()
                    .filter(|n| theirs.iter().any(|o| o.contains(*n)))
                    .map(ToString::to_string)
                    .collect(),
            ),
            (Some(mine), None) => Some(mine.iter().map(ToString::to_string).collect()),
            (None, Some(theirs)) => Some(theirs.iter().map(ToString::to_string).collect()),
            (None, None) => None,
        };
        KeyPolicy {
            max_key_lifetime_days: tighter(self.max_key_lifetime_days, other.max_key_lifetime_days),
            max_token_lifetime_minutes: tighter(
                self.max_token_lifetime_minutes,
                other.max_token_lifetime_minutes,
            ),
            max_active_keys_per_account: tighter(
                self.max_active_keys_per_account,
                other.max_active_keys_per_account,
            ),
            allowed_networks,
            rotate_every_days: tighter(self.rotate_every_days, other.rotate_every_days),
            deactivate_unrotated: match (self.deactivate_unrotated, other.deactivate_unrotated) {
                (None, None) => None,
                (a, b) => Some(a == Some(true) || b == Some(true)),
            },
        }
    }

    /// The allowed networks, parsed (unparsable entries, which `check` refuses, are
    /// left out); `None` when any network may call.
    pub fn networks(&self) -> Option<Vec<IpNet>> {
        self.allowed_networks
            .as_ref()
            .map(|l| l.iter().filter_map(|t| parse_network(t).ok()).collect())
    }

    /// Whether a request from `client` (an address, as `web::client_addr` gives it)
    /// may use the accounts' credentials.
    pub fn admits(&self, client: &str) -> bool {
        match self.networks() {
            None => true,
            Some(nets) => client
                .parse::<IpAddr>()
                .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip))),
        }
    }

    /// The longest token lifetime in seconds, if limited.
    pub fn max_token_seconds(&self) -> Option<i64> {
        self.max_token_lifetime_minutes.map(|m| m * 60)
    }

    /// Whether no setting is given.
    pub fn is_empty(&self) -> bool {
        *self == KeyPolicy::default()
    }
}

/// The policy stored for namespace `namespace` (its own, without the server's).
pub fn stored(conn: &mut DbConnection, namespace: &str) -> AppResult<KeyPolicy> {
    let json: Option<String> = namespace_key_policies::table
        .inner_join(namespaces::table)
        .filter(namespaces::name.eq(namespace))
        .select(namespace_key_policies::policy)
        .first(conn)
        .optional()?;
    match json {
        None => Ok(KeyPolicy::default()),
        Some(text) => serde_json::from_str(&text).map_err(crate::errors::AppError::internal),
    }
}

/// The effective policy of `namespace`: its own tightened by the server's `default`.
pub fn effective(
    conn: &mut DbConnection,
    default: &KeyPolicy,
    namespace: &str,
) -> AppResult<KeyPolicy> {
    Ok(stored(conn, namespace)?.tightest(default))
}

/// An effective policy with its networks parsed once, for the per-request check.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The policy.
    pub policy: KeyPolicy,
    networks: Option<Vec<IpNet>>,
}

impl Effective {
    /// Wraps `policy`, parsing its networks.
    pub fn new(policy: KeyPolicy) -> Self {
        let networks = policy.networks();
        Self { policy, networks }
    }

    /// As [`KeyPolicy::admits`], without parsing anything but `client`.
    pub fn admits(&self, client: &str) -> bool {
        match &self.networks {
            None => true,
            Some(nets) => client
                .parse::<IpAddr>()
                .is_ok_and(|ip| nets.iter().any(|n| n.contains(&ip))),
        }
    }

    /// The longest token lifetime in seconds, if limited.
    pub fn max_token_seconds(&self) -> Option<i64> {
        self.policy.max_token_seconds()
    }
}

/// Effective policies by namespace name, for the per-request network check: a change
/// on this instance clears them through the identity epoch; other instances see it
/// within the cache's lifetime.
pub struct PolicyCache {
    cache: TtlCache<String, Arc<Effective>>,
    default: KeyPolicy,
}

impl PolicyCache {
    /// A cache over the server's `default`, living `ttl`, cleared with `epoch`.
    pub fn new(default: KeyPolicy, ttl: std::time::Duration, epoch: Arc<Epoch>) -> Self {
        Self {
            cache: TtlCache::new(ttl, epoch),
            default,
        }
    }

    /// The server's policy.
    pub fn default_policy(&self) -> &KeyPolicy {
        &self.default
    }

    /// The effective policy of `namespace`.
    pub async fn get(&self, db: &Db, namespace: &str) -> AppResult<Arc<Effective>> {
        if let Some(hit) = self.cache.get(&namespace.to_owned()) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let (default, ns) = (self.default.clone(), namespace.to_owned());
        let policy = db.read(move |conn| effective(conn, &default, &ns)).await?;
        let policy = Arc::new(Effective::new(policy));
        self.cache
            .put(namespace.to_owned(), policy.clone(), generation);
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn the_effective_policy_is_the_tightest_of_both() {
        let server = KeyPolicy {
            max_key_lifetime_days: Some(90),
            allowed_networks: nets(&["10.0.0.0/8"]),
            ..KeyPolicy::default()
        };
        let ns = KeyPolicy {
            max_key_lifetime_days: Some(30),
            max_active_keys_per_account: Some(2),
            allowed_networks: nets(&["10.1.0.0/16", "192.168.0.0/16"]),
            deactivate_unrotated: Some(false),
            ..KeyPolicy::default()
        };
        let e = ns.tightest(&server);
        assert_eq!(e.max_key_lifetime_days, Some(30));
        assert_eq!(e.max_active_keys_per_account, Some(2));
        assert_eq!(e.allowed_networks, nets(&["10.1.0.0/16"]));
        assert!(e.admits("10.1.2.3") && !e.admits("10.2.0.1") && !e.admits("192.168.1.1"));
        assert!(!e.admits("unknown"));
        assert!(KeyPolicy::default().admits("unknown"));
        assert_eq!(KeyPolicy::default().tightest(&server), server);
        assert_eq!(e.deactivate_unrotated, Some(false));
    }

    #[test]
    fn a_namespace_may_tighten_never_loosen() {
        let server = KeyPolicy {
            max_key_lifetime_days: Some(90),
            allowed_networks: nets(&["10.0.0.0/8"]),
            ..KeyPolicy::default()
        };
        let ok = KeyPolicy {
            max_key_lifetime_days: Some(90),
            allowed_networks: nets(&["10.3.0.0/16", "10.9.9.9"]),
            rotate_every_days: Some(30),
            deactivate_unrotated: Some(true),
            ..KeyPolicy::default()
        };
        assert!(ok.check(&server).is_empty(), "{:?}", ok.check(&server));
        let loose = KeyPolicy {
            max_key_lifetime_days: Some(91),
            max_token_lifetime_minutes: Some(0),
            allowed_networks: nets(&["0.0.0.0/0", "nonsense"]),
            deactivate_unrotated: Some(true),
            ..KeyPolicy::default()
        };
        let fields = loose.check(&server);
        for f in [
            "max_key_lifetime_days",
            "max_token_lifetime_minutes",
            "allowed_networks",
            "deactivate_unrotated",
        ] {
            assert!(fields.contains_key(f), "{f}: {fields:?}");
        }
        assert!(fields["max_key_lifetime_days"].contains("server"));
    }

    #[test]
    fn networks_read_as_cidr_or_single_addresses() {
        assert_eq!(
            parse_network("10.1.2.3").unwrap().to_string(),
            "10.1.2.3/32"
        );
        assert_eq!(
            parse_network(" 10.1.2.3/8 ").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_network("::1").unwrap().to_string(), "::1/128");
        assert!(parse_network("10.0.0.0/33").is_err());
    }
}
