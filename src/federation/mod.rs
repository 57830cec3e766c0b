//! Workload identity federation: a workload that already holds an OpenID Connect token
//! from its platform (a GitHub Actions or GitLab CI job, a Kubernetes pod) trades it for
//! a short-lived Portcullis token of a service account that trusts that platform, so no
//! long-lived key sits on the runner. This kernel module checks a token against an
//! account's [`TrustPolicy`] list; storing the policies and issuing the token belong to
//! the areas above (`service_accounts`, `identity`).

pub mod jwks;
pub mod jwt;
pub mod policy;

use serde_json::{Map, Value};

pub use jwks::JwksCache;
pub use policy::{TrustPolicies, TrustPolicy};

use crate::outbound::Outbound;

/// A token a policy accepted.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The policy that matched (index in the account's list).
    pub policy: usize,
    /// How long the token to issue may live, in seconds.
    pub token_seconds: i64,
    /// `iss`, `sub`, `aud` and the claims the policy's conditions read, for the audit
    /// log (`claim=value, …`).
    pub matched: String,
}

/// Checks `token` against `policies`: issuer trusted by one of them, signature by the
/// issuer's current keys, time claims, then audience and conditions of each policy of
/// that issuer in order. The reason of a refusal is for the audit log only.
pub async fn accept(
    token: &str,
    policies: &[TrustPolicy],
    cache: &JwksCache,
    outbound: &Outbound,
    now_secs: u64,
) -> Result<Accepted, String> {
    let seen = jwt::inspect(token).map_err(|e| e.to_string())?;
    let candidates: Vec<(usize, &TrustPolicy)> = policies
        .iter()
        .enumerate()
        .filter(|(_, p)| p.issuer == seen.issuer)
        .collect();
    if candidates.is_empty() {
        return Err(format!("issuer {:?} is not trusted", seen.issuer));
    }
    let issuer = seen.issuer.as_str();
    let keys = cache
        .keys(outbound, issuer, jwks::Refresh::IfStale)
        .await
        .map_err(|e| format!("the keys of {issuer} are not available: {e}"))?;
    let claims = match jwt::verify(token, &seen, &keys, now_secs) {
        Err(jwt::Refusal::UnknownKey(_)) => {
            let keys = cache
                .keys(outbound, issuer, jwks::Refresh::UnknownKey)
                .await
                .map_err(|e| format!("the keys of {issuer} are not available: {e}"))?;
            jwt::verify(token, &seen, &keys, now_secs)
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    let mut first_miss = None;
    for (index, policy) in candidates {
        let miss = if !policy.audience_matches(&claims) {
            Some(format!(
                "audience {} is not {:?}",
                claims
                    .get("aud")
                    .map_or_else(|| "(none)".into(), Value::to_string),
                policy.audience
            ))
        } else {
            policy.first_unmet(&claims).map(|(claim, said)| {
                format!(
                    "claim {claim} = {said} does not match {:?}",
                    policy.claims[&claim]
                )
            })
        };
        match miss {
            None => {
                return Ok(Accepted {
                    policy: index,
                    token_seconds: policy.token_seconds(),
                    matched: matched(&claims, policy),
                });
            }
            Some(why) => {
                first_miss.get_or_insert(format!("policy {}: {why}", index + 1));
            }
        }
    }
    Err(first_miss.unwrap_or_default())
}

/// `iss=…, sub=…, aud=…, <condition claims>=…`: what the audit log keeps of a token.
fn matched(claims: &Map<String, Value>, policy: &TrustPolicy) -> String {
    let shown = ["iss", "sub", "aud"].into_iter().chain(
        policy
            .claims
            .keys()
            .map(String::as_str)
            .filter(|c| *c != "sub"),
    );
    shown
        .filter_map(|name| claims.get(name).map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join(", ")
}
