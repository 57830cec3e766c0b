//! Sign-in throttling. Two refilling token buckets (governor's GCRA): one per client
//! address and one per account. Buckets always refill, so nobody is locked out for good;
//! and a browser that has signed in to an account before carries a signed
//! "known device" cookie that exempts it from that account's bucket, so an attacker
//! hammering an account cannot keep its owner out (OWASP "device cookies").

use std::num::NonZeroU32;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::LoginLimits;

/// Name of the known-device cookie.
pub const DEVICE_COOKIE: &str = "portcullis_device";
/// How long a device stays known.
pub const DEVICE_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);

/// The sign-in limiter of one instance.
pub struct LoginLimiter {
    per_client: DefaultKeyedRateLimiter<String>,
    bearer_failures: DefaultKeyedRateLimiter<String>,
    per_account: DefaultKeyedRateLimiter<String>,
    throttle_audits: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    device_key: [u8; 32],
}

impl LoginLimiter {
    /// Builds the limiter; clients get three times the account burst (shared NAT).
    pub fn new(limits: LoginLimits, device_key: [u8; 32]) -> Self {
        let burst = NonZeroU32::new(limits.burst).unwrap_or(NonZeroU32::MIN);
        let client_burst = burst.saturating_mul(NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN));
        let period = limits.refill.max(Duration::from_millis(1));
        let quota = |b| Quota::with_period(period).map(|q| q.allow_burst(b));
        let fallback = Quota::per_second(NonZeroU32::MIN);
        Self {
            per_client: DefaultKeyedRateLimiter::keyed(quota(client_burst).unwrap_or(fallback)),
            bearer_failures: DefaultKeyedRateLimiter::keyed(
                quota(client_burst).unwrap_or(fallback),
            ),
            per_account: DefaultKeyedRateLimiter::keyed(quota(burst).unwrap_or(fallback)),
            throttle_audits: DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            clock: DefaultClock::default(),
            device_key,
        }
    }

    /// Takes one attempt from the client's and the account's bucket; `Err(seconds)`
    /// when either is empty. A device known for the account passes both: neither
    /// someone hammering the account nor others behind the same address (a shared NAT,
    /// a proxy) keep its owner out.
    pub fn check(&self, client: &str, account: &str, known_device: bool) -> Result<(), u64> {
        if known_device {
            return Ok(());
        }
        let wait = |outcome: governor::NotUntil<_>| {
            outcome.wait_time_from(self.clock.now()).as_secs().max(1)
        };
        self.per_client
            .check_key(&client.to_owned())
            .map_err(wait)?;
        self.per_account
            .check_key(&account.to_owned())
            .map_err(wait)?;
        Ok(())
    }

    /// Takes one failed bearer attempt (bad API key or token) from the client's bucket;
    /// `Err(seconds)` when it is empty. Successful requests never count.
    pub fn bearer_failure(&self, client: &str) -> Result<(), u64> {
        self.bearer_failures
            .check_key(&client.to_owned())
            .map_err(|o| o.wait_time_from(self.clock.now()).as_secs().max(1))
    }

    /// Whether a throttled attempt of `client` is audited: the first one, then at most
    /// one a minute, so a flood of refused attempts does not become a flood of writes.
    pub fn should_audit_throttle(&self, client: &str) -> bool {
        self.throttle_audits.check_key(&client.to_owned()).is_ok()
    }

    /// Drops idle buckets (called periodically).
    pub fn shrink(&self) {
        self.throttle_audits.retain_recent();
        self.per_client.retain_recent();
        self.bearer_failures.retain_recent();
        self.per_account.retain_recent();
    }

    /// A known-device cookie value for `account`, valid until `expires_at` (Unix s).
    pub fn device_token(&self, account: &str, expires_at: i64) -> String {
        let body = format!("{}.{expires_at}", URL_SAFE_NO_PAD.encode(account));
        format!("{body}.{}", self.sign(&body))
    }

    /// Whether `cookie` proves this browser signed in to `account` before.
    pub fn is_known_device(&self, cookie: Option<&str>, account: &str, now: i64) -> bool {
        let Some((body, sig)) = cookie.and_then(|c| c.rsplit_once('.')) else {
            return false;
        };
        let signed: bool =
            subtle::ConstantTimeEq::ct_eq(self.sign(body).as_bytes(), sig.as_bytes()).into();
        let Some((name, expires)) = body.split_once('.') else {
            return false;
        };
        signed
            && URL_SAFE_NO_PAD
                .decode(name)
                .is_ok_and(|n| n == account.as_bytes())
            && expires.parse::<i64>().is_ok_and(|e| e > now)
    }

    fn sign(&self, body: &str) -> String {
        URL_SAFE_NO_PAD.encode(crate::crypto::mac(&self.device_key, &[body.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32) -> LoginLimiter {
        LoginLimiter::new(
            LoginLimits {
                burst,
                refill: Duration::from_secs(60),
            },
            [1; 32],
        )
    }

    #[test]
    fn an_account_bucket_empties_and_reports_a_wait() {
        let l = limiter(2);
        assert!(l.check("1.1.1.1", "alice", false).is_ok());
        assert!(l.check("2.2.2.2", "alice", false).is_ok());
        let wait = l.check("3.3.3.3", "alice", false).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        // Another account is unaffected; a known device of alice is exempt.
        assert!(l.check("3.3.3.3", "bob", false).is_ok());
        assert!(l.check("4.4.4.4", "alice", true).is_ok());
    }

    #[test]
    fn a_known_device_passes_an_exhausted_client_bucket_too() {
        let l = limiter(1);
        // One address fails until its bucket (3 × burst) is empty: everyone behind it
        // without a known device waits; alice's own browser does not.
        for user in ["x", "y", "z"] {
            assert!(l.check("9.9.9.9", user, false).is_ok());
        }
        assert!(l.check("9.9.9.9", "bob", false).is_err());
        assert!(l.check("9.9.9.9", "alice", true).is_ok());
    }

    #[test]
    fn device_cookies_are_bound_to_account_and_expiry() {
        let l = limiter(1);
        let t = l.device_token("alice", 2_000);
        assert!(l.is_known_device(Some(&t), "alice", 1_000));
        assert!(!l.is_known_device(Some(&t), "alice", 3_000));
        assert!(!l.is_known_device(Some(&t), "bob", 1_000));
        assert!(!l.is_known_device(Some(&t.replace(".2000.", ".9000.")), "alice", 1_000));
        assert!(!l.is_known_device(None, "alice", 1_000));
        assert!(!l.is_known_device(Some("garbage"), "alice", 1_000));
    }
}
