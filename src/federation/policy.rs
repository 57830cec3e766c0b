//! Trust policies: which external OpenID Connect tokens a service account accepts in
//! exchange for its own short-lived token. A policy names the issuer, the audience, and
//! conditions on the token's claims (`repository` = `org/repo`, `ref` like
//! `refs/heads/*`), each a glob where `*` is any run of characters and `?` one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wildmatch::WildMatch;

use crate::errors::FieldErrors;

/// Most policies an account holds.
pub const MAX_POLICIES: usize = 20;
/// Most claim conditions in one policy.
pub const MAX_CONDITIONS: usize = 32;
/// Longest issuer URL, audience or glob.
const MAX_TEXT: usize = 512;
/// Longest token an exchange can hand out, in seconds (one hour).
pub const MAX_TOKEN_SECONDS: i64 = 3600;
/// Shortest lifetime a policy may set.
pub const MIN_TOKEN_SECONDS: i64 = 60;
/// Claims the policy's own fields check; a condition on them would be misleading.
const RESERVED: [&str; 5] = ["iss", "aud", "exp", "nbf", "iat"];

/// One trusted issuer, audience and set of claim conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// The issuer exactly as its tokens state it (`iss`): https, or http on a loopback
    /// host.
    #[schema(example = "https://token.actions.githubusercontent.com")]
    pub issuer: String,
    /// The audience the token must carry (`aud`).
    #[schema(example = "https://portcullis.example.com")]
    pub audience: String,
    /// Claim → glob (`*` any run of characters, `?` one); every one must match. A claim
    /// that is a list matches when one of its items does. At least one condition that
    /// is not only `*`: an issuer such as GitHub signs tokens for every repository on it.
    #[schema(example = json!({"repository": "org/repo", "ref": "refs/heads/main"}))]
    pub claims: BTreeMap<String, String>,
    /// Longest token this policy hands out, in seconds (60–3600, default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 60, maximum = 3600)]
    pub max_token_seconds: Option<i64>,
}

/// An account's trust policies (the body and answer of `…/trust`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicies {
    /// Tried in order; the first that matches the token issues it.
    pub policies: Vec<TrustPolicy>,
}

impl TrustPolicy {
    /// Trims the text fields in place, then adds a message per bad field to `fields`,
    /// named `policies[i].field`.
    pub fn check(&mut self, index: usize, fields: &mut FieldErrors) {
        let mut bad = |field: &str, message: String| {
            fields.insert(format!("policies[{index}].{field}"), message);
        };
        // Kept as typed (a trailing slash too): tokens must state it exactly.
        self.issuer = self.issuer.trim().to_owned();
        self.audience = self.audience.trim().to_owned();
        match url::Url::parse(&self.issuer) {
            Ok(url) if crate::config::issuer_is_secure(&url) && self.issuer.len() <= MAX_TEXT => {}
            _ => bad(
                "issuer",
                "must be an https URL (http only on a loopback host) without query or fragment"
                    .into(),
            ),
        }
        if self.audience.is_empty() || self.audience.len() > MAX_TEXT {
            bad("audience", format!("must be 1 to {MAX_TEXT} characters"));
        }
        if self.claims.len() > MAX_CONDITIONS {
            bad("claims", format!("at most {MAX_CONDITIONS} conditions"));
        }
        let mut trimmed = BTreeMap::new();
        for (claim, glob) in std::mem::take(&mut self.claims) {
            let (claim, glob) = (claim.trim().to_owned(), glob.trim().to_owned());
            if !valid_claim_name(&claim) {
                bad(
                    "claims",
                    format!("{claim:?} is not a claim name (letters, digits, _ - . :)"),
                );
            } else if RESERVED.contains(&claim.as_str()) {
                bad(
                    "claims",
                    format!("{claim} is checked by the policy itself, not by a condition"),
                );
            } else if glob.is_empty() || glob.len() > MAX_TEXT || glob.contains('\0') {
                bad(
                    "claims",
                    format!("the condition on {claim} must be 1 to {MAX_TEXT} characters"),
                );
            }
            trimmed.insert(claim, glob);
        }
        self.claims = trimmed;
        if !self
            .claims
            .values()
            .any(|g| g.chars().any(|c| c != '*' && c != '?'))
        {
            bad(
                "claims",
                "name at least one claim that must match something narrower than `*` \
                 (e.g. sub or repository): the issuer signs tokens for others too"
                    .into(),
            );
        }
        if let Some(s) = self.max_token_seconds
            && !(MIN_TOKEN_SECONDS..=MAX_TOKEN_SECONDS).contains(&s)
        {
            bad(
                "max_token_seconds",
                format!("must be between {MIN_TOKEN_SECONDS} and {MAX_TOKEN_SECONDS}"),
            );
        }
    }

    /// Whether `claims` (a verified token's) carry this policy's audience; the
    /// audience of a token is a string or a list of them.
    pub fn audience_matches(&self, claims: &serde_json::Map<String, Value>) -> bool {
        match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        }
    }

    /// The first condition `claims` fail, as `(claim, what the token says)`; `None`
    /// when every condition holds.
    pub fn first_unmet(&self, claims: &serde_json::Map<String, Value>) -> Option<(String, String)> {
        self.claims.iter().find_map(|(name, glob)| {
            let value = claims.get(name);
            (!claim_matches(value, glob)).then(|| {
                let said = value.map_or_else(|| "nothing".to_owned(), Value::to_string);
                (name.clone(), said)
            })
        })
    }

    /// The lifetime of a token this policy issues.
    pub fn token_seconds(&self) -> i64 {
        self.max_token_seconds.unwrap_or(MAX_TOKEN_SECONDS)
    }
}

impl TrustPolicies {
    /// [`TrustPolicy::check`] on each, and the number of policies.
    pub fn check(&mut self) -> Result<(), FieldErrors> {
        let mut fields = FieldErrors::new();
        if self.policies.len() > MAX_POLICIES {
            fields.insert("policies".into(), format!("at most {MAX_POLICIES}"));
        }
        for (i, p) in self.policies.iter_mut().enumerate() {
            p.check(i, &mut fields);
        }
        if fields.is_empty() {
            Ok(())
        } else {
            Err(fields)
        }
    }
}

fn valid_claim_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Whether a claim's value matches `glob`: a string, number or boolean as written; a
/// list when one of its items does; a missing claim, `null` or an object never.
fn claim_matches(value: Option<&Value>, glob: &str) -> bool {
    let pattern = WildMatch::new(glob);
    let one = |v: &Value| match v {
        Value::String(s) => pattern.matches(s),
        Value::Number(n) => pattern.matches(&n.to_string()),
        Value::Bool(b) => pattern.matches(if *b { "true" } else { "false" }),
        _ => false,
    };
    match value {
        Some(Value::Array(items)) => items.iter().any(one),
        Some(v) => one(v),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(claims: Value) -> TrustPolicy {
        TrustPolicy {
            issuer: " https://token.actions.githubusercontent.com/ ".into(),
            audience: "https://portcullis.example.com".into(),
            claims: serde_json::from_value(claims).unwrap(),
            max_token_seconds: None,
        }
    }

    fn map(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn conditions_are_globs_over_strings_numbers_and_lists() {
        let p = policy(json!({"repository": "org/*", "ref": "refs/heads/main", "run": "1?"}));
        let token = map(json!({
            "repository": "org/api", "ref": "refs/heads/main", "run": 12,
            "aud": ["x", "https://portcullis.example.com"]
        }));
        assert_eq!(p.first_unmet(&token), None);
        assert!(p.audience_matches(&token));
        let other = map(json!({"repository": "evil/api", "ref": "refs/heads/main", "run": 12}));
        assert_eq!(
            p.first_unmet(&other),
            Some(("repository".into(), "\"evil/api\"".into()))
        );
        assert!(!p.audience_matches(&other), "no aud at all");
        let groups = policy(json!({"groups": "ml-*"}));
        assert_eq!(
            groups.first_unmet(&map(json!({"groups": ["a", "ml-team"]}))),
            None
        );
        assert!(
            groups
                .first_unmet(&map(json!({"groups": {"ml-x": 1}})))
                .is_some()
        );
        assert!(groups.first_unmet(&map(json!({"groups": null}))).is_some());
    }

    #[test]
    fn a_policy_must_narrow_the_issuer_and_stay_in_bounds() {
        let mut ok = policy(json!({" sub ": " repo:org/api:* "}));
        let mut fields = FieldErrors::new();
        ok.check(0, &mut fields);
        assert!(fields.is_empty(), "{fields:?}");
        assert_eq!(
            ok.issuer, "https://token.actions.githubusercontent.com/",
            "as typed"
        );
        assert_eq!(ok.claims["sub"], "repo:org/api:*");

        for (claims, max, issuer, field) in [
            (json!({}), None, "https://a.example", "policies[3].claims"),
            (
                json!({"sub": "?*"}),
                None,
                "https://a.example",
                "policies[3].claims",
            ),
            (
                json!({"aud": "x"}),
                None,
                "https://a.example",
                "policies[3].claims",
            ),
            (
                json!({"bad name": "x"}),
                None,
                "https://a.example",
                "policies[3].claims",
            ),
            (
                json!({"sub": "x"}),
                Some(59),
                "https://a.example",
                "policies[3].max_token_seconds",
            ),
            (
                json!({"sub": "x"}),
                Some(3601),
                "https://a.example",
                "policies[3].max_token_seconds",
            ),
            (
                json!({"sub": "x"}),
                None,
                "http://issuer.example",
                "policies[3].issuer",
            ),
            (
                json!({"sub": "x"}),
                None,
                "https://a.example/?x=1",
                "policies[3].issuer",
            ),
        ] {
            let mut p = policy(claims);
            p.issuer = issuer.into();
            p.max_token_seconds = max;
            let mut fields = FieldErrors::new();
            p.check(3, &mut fields);
            assert!(fields.contains_key(field), "{p:?}: {fields:?}");
        }
        let mut loopback = policy(json!({"sub": "x"}));
        loopback.issuer = "http://127.0.0.1:4444".into();
        let mut fields = FieldErrors::new();
        loopback.check(0, &mut fields);
        assert!(fields.is_empty(), "{fields:?}");
    }

    #[test]
    fn too_many_policies_are_refused() {
        let mut many = TrustPolicies {
            policies: vec![policy(json!({"sub": "x"})); MAX_POLICIES + 1],
        };
        assert!(many.check().unwrap_err().contains_key("policies"));
    }
}
