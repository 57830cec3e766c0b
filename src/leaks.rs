//! Leaked-credential reports from GitHub's secret-scanning partner programme.
//!
//! When GitHub finds one of our tokens in a public repository it POSTs a JSON array of
//! [`LeakReport`]s, signed with ECDSA P-256 / SHA-256: the `Github-Public-Key-Identifier`
//! header names the key, `Github-Public-Key-Signature` carries the base64 of the ASN.1
//! (DER) signature over the raw body. GitHub publishes its keys as JSON
//! (`{"public_keys":[{"key_identifier", "key" (SPKI PEM), "is_current"}]}`); [`LeakKeys`]
//! fetches and caches them, and refetches when a request names a key it does not know.
//!
//! Error texts never repeat a reported token.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use spki::der::DecodePem;
use spki::der::referenced::OwnedToRef;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};

/// Most reports accepted in one request.
pub const MAX_REPORTS: usize = 1000;

/// How long fetched keys are used before they are fetched again.
pub const KEYS_TTL: Duration = Duration::from_secs(60 * 60);

/// Shortest time between two fetches of the keys.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// `id-ecPublicKey`.
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `prime256v1` (NIST P-256).
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Public keys by key identifier: each the uncompressed P-256 point (65 bytes).
pub type PublicKeys = HashMap<String, Vec<u8>>;

/// One leaked token as GitHub reports it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LeakReport {
    /// The token found.
    pub token: String,
    /// The token type, as registered with GitHub.
    #[serde(rename = "type", default)]
    pub r#type: String,
    /// Where the token was found.
    #[serde(default)]
    pub url: String,
    /// What the token was found in (`content`, `commit`, `issue`, ...).
    #[serde(default)]
    pub source: String,
}

/// Parses a report body: a JSON array of at most [`MAX_REPORTS`] reports.
pub fn parse_reports(body: &[u8]) -> Result<Vec<LeakReport>, String> {
    // serde_json's messages may quote values (tokens), so only the position is told.
    let reports: Vec<LeakReport> = serde_json::from_slice(body).map_err(|e| {
        format!(
            "the body is not a JSON array of reports with a token each (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if reports.len() > MAX_REPORTS {
        return Err(format!(
            "{} reports in one request, at most {MAX_REPORTS} are accepted",
            reports.len()
        ));
    }
    Ok(reports)
}

#[derive(Deserialize)]
struct KeysDocument {
    public_keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
struct KeyEntry {
    key_identifier: String,
    key: String,
}

/// Parses GitHub's public-keys document into key identifier → uncompressed P-256 point.
/// Keys that are not P-256 EC keys are skipped; malformed PEM is an error.
pub fn parse_public_keys(json: &[u8]) -> Result<PublicKeys, String> {
    let document: KeysDocument = serde_json::from_slice(json)
        .map_err(|e| format!("the public keys are not in GitHub's format: {e}"))?;
    let mut keys = HashMap::new();
    for entry in document.public_keys {
        let spki = SubjectPublicKeyInfoOwned::from_pem(entry.key.trim())
            .map_err(|e| format!("key {:?} is not an SPKI PEM: {e}", entry.key_identifier))?;
        let oids = spki
            .algorithm
            .owned_to_ref()
            .oids()
            .map_err(|e| format!("key {:?} has bad parameters: {e}", entry.key_identifier))?;
        if oids != (EC_PUBLIC_KEY, Some(PRIME256V1)) {
            continue;
        }
        match spki.subject_public_key.as_bytes() {
            Some(point) if point.len() == 65 && point[0] == 0x04 => {
                keys.insert(entry.key_identifier, point.to_vec());
            }
            _ => {
                return Err(format!(
                    "key {:?} is not an uncompressed P-256 point",
                    entry.key_identifier
                ));
            }
        }
    }
    Ok(keys)
}

/// Checks `signature_b64` (base64 of an ASN.1 ECDSA P-256 SHA-256 signature) over `body`
/// with the key named `key_id`.
pub fn verify_signature(
    keys: &PublicKeys,
    key_id: &str,
    signature_b64: &str,
    body: &[u8],
) -> Result<(), String> {
    let point = keys.get(key_id).ok_or_else(|| {
        format!(
            "unknown key identifier {:?}",
            key_id.chars().take(80).collect::<String>()
        )
    })?;
    let signature = STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| "the signature is not valid base64".to_owned())?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point)
        .verify(body, &signature)
        .map_err(|_| "the signature does not match the body".to_owned())
}

/// GitHub's public keys, fetched on demand and cached for [`KEYS_TTL`]; an unknown key
/// identifier triggers a refetch, at most once every [`REFETCH_INTERVAL`]. The last good
/// keys stay in use while a refetch fails.
#[derive(Debug, Default)]
pub struct LeakKeys {
    keys: Mutex<Option<(Arc<PublicKeys>, Instant)>>,
    last_fetch: Mutex<Option<Instant>>,
}

impl LeakKeys {
    /// Verifies a request's signature with the keys published at `url`, fetching them
    /// through `outbound` when the cache is empty, stale or lacks `key_id`.
    pub async fn verify(
        &self,
        outbound: &crate::outbound::Outbound,
        url: &str,
        key_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let fetch = || async {
            let client = outbound
                .client(&crate::outbound::Tls::default())
                .map_err(|e| e.to_string())?;
            let response = outbound
                .send(client.get(url))
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("the key server answered {}", response.status()));
            }
            outbound.read(response).await.map_err(|e| e.to_string())
        };
        self.verify_with(fetch, key_id, signature, body).await
    }

    /// [`LeakKeys::verify`] with the fetch passed in (tests fetch without a network).
    async fn verify_with<F, Fut>(
        &self,
        fetch: F,
        key_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<u8>, String>>,
    {
        let cached = lock(&self.keys).clone();
        let usable = cached
            .as_ref()
            .is_some_and(|(keys, at)| at.elapsed() < KEYS_TTL && keys.contains_key(key_id));
        let keys = if usable || !self.claim_fetch() {
            cached.map(|(keys, _)| keys)
        } else {
            match fetch().await.and_then(|json| parse_public_keys(&json)) {
                Ok(fresh) => {
                    let fresh = Arc::new(fresh);
                    *lock(&self.keys) = Some((Arc::clone(&fresh), Instant::now()));
                    Some(fresh)
                }
                Err(e) => match cached {
                    Some((keys, _)) => {
                        tracing::warn!(error = %e, "refetching GitHub's public keys failed, keeping the last ones");
                        Some(keys)
                    }
                    None => return Err(format!("GitHub's public keys are unavailable: {e}")),
                },
            }
        };
        let keys =
            keys.ok_or_else(|| "GitHub's public keys are not fetched yet, retry later".to_owned())?;
        verify_signature(&keys, key_id, signature, body)
    }

    /// Whether a fetch may start now (none in the last [`REFETCH_INTERVAL`]); if so,
    /// records it.
    fn claim_fetch(&self) -> bool {
        let mut last = lock(&self.last_fetch);
        if last.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

/// Locks `mutex`, also after a panic elsewhere (the data stays consistent: plain values).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    const SPKI_PREFIX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
    const BODY: &[u8] = br#"[{"token":"pck_x","type":"portcullis_api_key","url":"https://github.com/o/r/blob/x/f","source":"content"}]"#;

    struct Signer {
        pair: EcdsaKeyPair,
        rng: SystemRandom,
    }

    impl Signer {
        fn new() -> Self {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                    .unwrap();
            Self { pair, rng }
        }

        fn pem(&self) -> String {
            let mut der = hex::decode(SPKI_PREFIX).unwrap();
            der.extend_from_slice(self.pair.public_key().as_ref());
            let b64 = STANDARD.encode(der);
            let lines: Vec<_> = b64
                .as_bytes()
                .chunks(64)
                .map(String::from_utf8_lossy)
                .collect();
            let body = lines.join("\n");
            format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n")
        }

        fn sign(&self, body: &[u8]) -> String {
            STANDARD.encode(self.pair.sign(&self.rng, body).unwrap().as_ref())
        }
    }

    fn document(entries: &[(&str, String)]) -> Vec<u8> {
        let keys: Vec<_> = entries
            .iter()
            .map(|(id, pem)| serde_json::json!({"key_identifier": id, "key": pem, "is_current": true}))
            .collect();
        serde_json::to_vec(&serde_json::json!({ "public_keys": keys })).unwrap()
    }

    fn keys_of(signer: &Signer) -> PublicKeys {
        parse_public_keys(&document(&[("k1", signer.pem())])).unwrap()
    }

    #[test]
    fn a_valid_signature_verifies() {
        let signer = Signer::new();
        let keys = keys_of(&signer);
        assert_eq!(keys["k1"].len(), 65);
        verify_signature(&keys, "k1", &signer.sign(BODY), BODY).unwrap();
    }

    #[test]
    fn a_changed_body_fails() {
        let signer = Signer::new();
        let signature = signer.sign(BODY);
        let err = verify_signature(&keys_of(&signer), "k1", &signature, b"[]").unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn an_unknown_key_id_fails() {
        let signer = Signer::new();
        let err = verify_signature(&keys_of(&signer), "k2", &signer.sign(BODY), BODY).unwrap_err();
        assert!(err.contains("unknown key"), "{err}");
    }

    #[test]
    fn garbage_base64_fails() {
        let signer = Signer::new();
        let err = verify_signature(&keys_of(&signer), "k1", "%%%not base64", BODY).unwrap_err();
        assert!(err.contains("base64"), "{err}");
        let err = verify_signature(&keys_of(&signer), "k1", "AAAA", BODY).unwrap_err();
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn non_ec_keys_are_skipped() {
        let signer = Signer::new();
        let rsa = std::fs::read_to_string("tests/fixtures/gcp-test-key.pub.pem").unwrap();
        let keys = parse_public_keys(&document(&[("rsa", rsa), ("k1", signer.pem())])).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["k1"]);
        assert!(parse_public_keys(&document(&[("bad", "not pem".into())])).is_err());
        assert!(parse_public_keys(b"[]").is_err());
    }

    #[test]
    fn reports_parse_and_non_arrays_are_refused() {
        let reports = parse_reports(BODY).unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].token, "pck_x");
        assert_eq!(reports[0].r#type, "portcullis_api_key");
        assert_eq!(reports[0].source, "content");
        let minimal = parse_reports(br#"[{"token":"pck_y"}]"#).unwrap();
        assert_eq!(minimal[0].url, "");
        let err = parse_reports(br#"{"token":"pck_secret"}"#).unwrap_err();
        assert!(!err.contains("pck_secret"), "{err}");
        assert!(parse_reports(br#"[{"type":"x"}]"#).is_err());
        let many = format!("[{}]", vec![r#"{"token":"t"}"#; MAX_REPORTS + 1].join(","));
        assert!(parse_reports(many.as_bytes()).is_err());
    }

    #[tokio::test]
    async fn the_cache_refetches_for_unknown_keys_and_keeps_good_keys() {
        let (old, new) = (Signer::new(), Signer::new());
        let cache = LeakKeys::default();
        let old_doc = document(&[("old", old.pem())]);
        let both = document(&[("old", old.pem()), ("new", new.pem())]);
        let fetched = |doc: Vec<u8>| move || async move { Ok::<_, String>(doc) };
        let unreachable = || async { Err::<Vec<u8>, _>("down".to_owned()) };

        // Nothing cached and the fetch fails: an error, no keys.
        let err = cache
            .verify_with(unreachable, "old", &old.sign(BODY), BODY)
            .await
            .unwrap_err();
        assert!(err.contains("unavailable"), "{err}");
        *lock(&cache.last_fetch) = None;

        cache
            .verify_with(fetched(old_doc.clone()), "old", &old.sign(BODY), BODY)
            .await
            .unwrap();
        // Cached and known: no fetch.
        let panics = || async { panic!("fetched although cached") };
        cache
            .verify_with(panics, "old", &old.sign(BODY), BODY)
            .await
            .unwrap();
        // Unknown key within the refetch interval: no fetch, refused.
        let err = cache
            .verify_with(fetched(both.clone()), "new", &new.sign(BODY), BODY)
            .await
            .unwrap_err();
        assert!(err.contains("unknown key"), "{err}");
        // After the interval the unknown key triggers a refetch.
        *lock(&cache.last_fetch) = None;
        cache
            .verify_with(fetched(both), "new", &new.sign(BODY), BODY)
            .await
            .unwrap();
        // Stale keys and a failing refetch: the last good keys stay in use.
        let stale = Instant::now().checked_sub(KEYS_TTL * 2).unwrap();
        if let Some((_, at)) = lock(&cache.keys).as_mut() {
            *at = stale;
        }
        *lock(&cache.last_fetch) = None;
        cache
            .verify_with(unreachable, "new", &new.sign(BODY), BODY)
            .await
            .unwrap();
    }
}
