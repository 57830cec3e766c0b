//! The published signing keys of trusted issuers, fetched by OpenID discovery
//! (`<issuer>/.well-known/openid-configuration` → `jwks_uri`) and kept for a while, so a
//! token exchange costs no outbound call. A token signed with a key id the cached set
//! lacks (the issuer rotated) fetches the set again, at most once a second per issuer;
//! when a fetch fails, the last set fetched is used until a fetch succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde_json::Value;

use crate::outbound::{Outbound, Tls};

/// How long a fetched key set answers without asking the issuer again.
pub const FRESH_FOR: Duration = Duration::from_secs(600);
/// The least time between two fetches of one issuer's keys.
pub const REFETCH_AFTER: Duration = Duration::from_secs(1);

/// Why an issuer's keys are not available.
pub type FetchError = String;

/// When to fetch the keys again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Only when the cached set is older than [`FRESH_FOR`].
    IfStale,
    /// A token names a key the set lacks: fetch unless the set is very recent.
    UnknownKey,
}

/// What is known of one issuer's keys.
#[derive(Default)]
struct Slot {
    /// The last set fetched, and when.
    keys: Option<(Arc<JwkSet>, Instant)>,
    /// When a fetch was last tried (successful or not).
    tried: Option<Instant>,
}

/// Key sets by issuer. Each issuer's slot is behind an async lock held across its
/// fetch, so concurrent exchanges wait for one fetch instead of each making their own;
/// and a fetch is tried at most once per [`REFETCH_AFTER`], failed or not, so tokens
/// naming unknown keys (or an issuer that is down) cannot make the server call out
/// more often than that.
#[derive(Default)]
pub struct JwksCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl JwksCache {
    /// The key set of `issuer` (an issuer some trust policy names), from the cache or
    /// the issuer as `refresh` says.
    pub async fn keys(
        &self,
        outbound: &Outbound,
        issuer: &str,
        refresh: Refresh,
    ) -> Result<Arc<JwkSet>, FetchError> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| "the key cache is unavailable".to_owned())?;
            slots.entry(issuer.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some((keys, fetched)) = &slot.keys {
            let fresh = match refresh {
                Refresh::IfStale => fetched.elapsed() < FRESH_FOR,
                Refresh::UnknownKey => fetched.elapsed() < REFETCH_AFTER,
            };
            if fresh {
                return Ok(keys.clone());
            }
        }
        if slot.tried.is_some_and(|t| t.elapsed() < REFETCH_AFTER) {
            return slot
                .keys
                .as_ref()
                .map(|(k, _)| k.clone())
                .ok_or_else(|| "the last fetch failed a moment ago".to_owned());
        }
        slot.tried = Some(Instant::now());
        match fetch(outbound, issuer).await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                slot.keys = Some((keys.clone(), Instant::now()));
                Ok(keys)
            }
            Err(e) => match &slot.keys {
                Some((keys, _)) => {
                    tracing::warn!(issuer, error = %e, "could not refresh an issuer's keys; using the last ones");
                    Ok(keys.clone())
                }
                None => Err(e),
            },
        }
    }
}

/// GETs `url` and reads a JSON answer.
async fn get_json(outbound: &Outbound, url: &str) -> Result<Value, FetchError> {
    let client = outbound
        .client(&Tls::default())
        .map_err(|e| e.to_string())?;
    let response = outbound
        .send(client.get(url).header("accept", "application/json"))
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let body = outbound.read(response).await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&body).map_err(|_| format!("{url} did not answer JSON"))
}

/// Discovery, then the key set. The discovery document must name this issuer exactly;
/// keys of types this server does not verify with are left out.
async fn fetch(outbound: &Outbound, issuer: &str) -> Result<JwkSet, FetchError> {
    let discovery = get_json(
        outbound,
        &format!("{issuer}/.well-known/openid-configuration"),
    )
    .await?;
    if discovery.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(format!(
            "the discovery document of {issuer} names another issuer"
        ));
    }
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the discovery document of {issuer} has no jwks_uri"))?;
    let set = get_json(outbound, jwks_uri).await?;
    let keys: Vec<Jwk> = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{jwks_uri} has no keys"))?
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter(|k| {
            !matches!(
                k.algorithm,
                jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_)
            )
        })
        .collect();
    Ok(JwkSet { keys })
}
