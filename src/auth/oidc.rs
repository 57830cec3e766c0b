//! Sign-in with OpenID Connect: discovery, the authorization-code flow with PKCE S256,
//! and ID-token verification (signature through the provider's JWKS, `iss`, `aud`,
//! `exp`, `nonce`) with the `openidconnect` crate (built on `oauth2`).
//!
//! The flow's secrets (`state`, `nonce`, PKCE verifier) live in the server-side session
//! and are taken out of it at the callback, so each is good for one answer only.

use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::reqwest;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::config::OidcConfig;

/// How long discovery metadata (and the provider's keys) are reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Keys are fetched again on an unknown signature at most this often.
const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How long a started sign-in may take.
pub const FLOW_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Timeout of each request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Most groups taken from one ID token.
const MAX_GROUPS: usize = 256;
/// Longest group name kept.
const MAX_GROUP_LEN: usize = 256;

/// A sign-in in progress, kept in the session until the provider answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// `state` sent to the provider (compared in constant time at the callback).
    pub state: String,
    /// `nonce` the ID token must carry.
    pub nonce: String,
    /// PKCE code verifier.
    pub verifier: String,
    /// Where to go after signing in (a same-origin path).
    pub return_to: String,
    /// When the flow started (Unix ms).
    pub started_at: i64,
}

/// Who the provider says signed in.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Issuer, as verified in the ID token.
    pub issuer: String,
    /// Subject: the provider's stable id for the user.
    pub subject: String,
    /// The configured username claim, if present.
    pub username: Option<String>,
    /// E-mail, kept for display only (never used to match accounts).
    pub email: Option<String>,
    /// Groups from the configured claim (empty when absent).
    pub groups: Vec<String>,
}

/// Why the flow failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense (discovery, token call).
    #[error("the identity provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider refused (bad code, replayed code, wrong verifier …).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce).
    #[error("the ID token was not valid: {0}")]
    InvalidToken(String),
}

/// The configured OpenID provider.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    redirect: RedirectUrl,
    metadata: std::sync::Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

impl Oidc {
    /// Prepares the client; nothing is fetched until the first sign-in.
    pub fn new(config: OidcConfig, public_url: &url::Url) -> anyhow::Result<Self> {
        let redirect = public_url.join("/auth/oidc/callback")?;
        let http = reqwest::Client::builder()
            // The token endpoint must not be able to bounce us anywhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()?;
        Ok(Self {
            config,
            http,
            redirect: RedirectUrl::new(redirect.to_string())?,
            metadata: std::sync::Mutex::new(None),
        })
    }

    /// The name on the sign-in button.
    pub fn display_name(&self) -> &str {
        &self.config.display_name
    }

    /// The configuration.
    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Discovery metadata, cached; `refresh` forces a new fetch unless the cached copy
    /// is younger than [`KEY_REFRESH_INTERVAL`].
    /// The lock is never held across the network call, so a slow provider does not
    /// queue every sign-in behind one fetch.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        {
            let cached = self.metadata.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((meta, at)) = cached.as_ref() {
                let age = at.elapsed();
                if (!refresh && age < METADATA_TTL) || (refresh && age < KEY_REFRESH_INTERVAL) {
                    return Ok(meta.clone());
                }
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Unreachable(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Unreachable(error_chain(&e)))?;
        *self.metadata.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((meta.clone(), Instant::now()));
        Ok(meta)
    }

    fn client(
        &self,
        meta: CoreProviderMetadata,
    ) -> openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            self.config
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose().to_owned())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Starts a sign-in: the provider URL to send the browser to, and what to keep.
    pub async fn start(
        &self,
        return_to: String,
        now_ms: i64,
    ) -> Result<(url::Url, PendingSignIn), OidcError> {
        let client = self.client(self.metadata(false).await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url,
            PendingSignIn {
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                return_to,
                started_at: now_ms,
            },
        ))
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token.
    pub async fn finish(&self, pending: &PendingSignIn, code: &str) -> Result<Identity, OidcError> {
        let client = self.client(self.metadata(false).await?);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                openidconnect::RequestTokenError::ServerResponse(r) => {
                    OidcError::Refused(r.to_string())
                }
                other => OidcError::Unreachable(error_chain(&other)),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::InvalidToken("the answer has no ID token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let verified = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => Ok(claims.clone()),
            Err(openidconnect::ClaimsVerificationError::SignatureVerification(first)) => {
                // The provider may have rotated its keys: fetch them once more.
                let fresh = self.client(self.metadata(true).await?);
                id_token
                    .claims(&fresh.id_token_verifier(), &nonce)
                    .cloned()
                    .inspect_err(|_| {
                        tracing::debug!(%first, "signature failed with cached keys too");
                    })
            }
            Err(e) => Err(e),
        }
        .map_err(|e| OidcError::InvalidToken(e.to_string()))?;
        // Claims beyond the standard ones (groups, custom username claims) are read from
        // the payload that was just verified.
        let payload = jwt_payload(&id_token.to_string())
            .ok_or_else(|| OidcError::InvalidToken("unreadable payload".into()))?;
        let username = match self.config.username_claim.as_str() {
            "preferred_username" => verified.preferred_username().map(|u| u.as_str().to_owned()),
            "email" => verified.email().map(|e| e.as_str().to_owned()),
            "sub" => Some(verified.subject().as_str().to_owned()),
            other => payload
                .get(other)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        };
        Ok(Identity {
            issuer: verified.issuer().as_str().to_owned(),
            subject: verified.subject().as_str().to_owned(),
            username,
            email: verified.email().map(|e| e.as_str().to_owned()),
            groups: groups_from(payload.get(&self.config.groups_claim)),
        })
    }
}

/// The payload of a compact JWS, parsed.
fn jwt_payload(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Groups from a claim: a list of strings, or one string of comma-separated names
/// (never split on spaces: "Domain Admins" is one group).
/// Blank, overlong and duplicate entries are dropped; at most [`MAX_GROUPS`] are kept.
pub fn groups_from(value: Option<&serde_json::Value>) -> Vec<String> {
    let raw: Vec<String> = match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(s)) => s.split(',').map(str::to_owned).collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for g in raw {
        let g = g.trim();
        if g.is_empty() || g.len() > MAX_GROUP_LEN || g.chars().any(char::is_control) {
            continue;
        }
        if !out.iter().any(|x| x == g) {
            out.push(g.to_owned());
        }
        if out.len() == MAX_GROUPS {
            break;
        }
    }
    out.sort();
    out
}

/// An error with its sources, for logs (never shown with secrets: none are in them).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A username from a claim: the name alphabet only (other characters become `-`),
/// starting with a letter or digit, at most 56 characters (room for a suffix).
pub fn username_base(claim: Option<&str>, subject: &str) -> String {
    let source = claim
        .map(|c| c.split('@').next().unwrap_or(c))
        .filter(|c| c.chars().any(|ch| ch.is_ascii_alphanumeric()))
        .unwrap_or(subject);
    let mut name: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+') {
                c
            } else {
                '-'
            }
        })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(56)
        .collect();
    if name.is_empty() {
        name = "user".into();
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_keep_to_the_name_alphabet() {
        assert_eq!(username_base(Some("alice"), "s"), "alice");
        assert_eq!(username_base(Some("Alice Smith"), "s"), "Alice-Smith");
        assert_eq!(username_base(Some("bob@example.com"), "s"), "bob");
        assert_eq!(username_base(Some("__x"), "s"), "x");
        assert_eq!(username_base(Some("???"), "sub-1"), "sub-1");
        assert_eq!(username_base(None, "||"), "user");
        assert_eq!(username_base(Some(&"a".repeat(100)), "s").len(), 56);
        for name in ["alice", "Alice-Smith", "x", "sub-1", "user"] {
            assert!(crate::names::validate_name(name).is_ok());
        }
    }

    #[test]
    fn groups_are_cleaned() {
        let v = serde_json::json!(["b", "a", "", "a", 3, "x\ny"]);
        assert_eq!(groups_from(Some(&v)), vec!["a", "b"]);
        let s = serde_json::json!("ml, data");
        assert_eq!(groups_from(Some(&s)), vec!["data", "ml"]);
        let s = serde_json::json!("ops admins");
        assert_eq!(groups_from(Some(&s)), vec!["ops admins"]);
        assert!(groups_from(None).is_empty());
        let many: Vec<String> = (0..1000).map(|i| format!("g{i}")).collect();
        assert_eq!(
            groups_from(Some(&serde_json::json!(many))).len(),
            MAX_GROUPS
        );
    }
}
