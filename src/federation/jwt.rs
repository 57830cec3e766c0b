//! Verifying a workload's JWT: the algorithm from an allow-list of public-key
//! signatures (never `none`, never HMAC: a verifier holding only a public key must not
//! accept a token "signed" with that key as an HMAC secret), the key from the issuer's
//! published set by key id, then `iss`, `exp`, `nbf` and `iat` with a small clock skew.
//! The audience and the claim conditions are the trust policy's to check.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 10;

/// The signature algorithms accepted: RSA, RSA-PSS, ECDSA and Ed25519.
pub const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Why a token was not accepted: for the audit log, never for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No key of the issuer's set has the token's key id (yet: the set may have
    /// rotated since it was fetched).
    #[error("key {0:?} is not among the issuer's published keys")]
    UnknownKey(String),
    /// Anything else, said plainly.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::Invalid(message.into())
}

/// What a token says about itself before any check: its header and issuer.
#[derive(Debug, Clone)]
pub struct Unverified {
    /// The header (algorithm allowed).
    pub header: Header,
    /// `iss`.
    pub issuer: String,
    /// `sub`, if a string (for messages only).
    pub subject: Option<String>,
}

/// Reads a token's header and issuer without trusting them; refuses algorithms off
/// the allow-list at once.
pub fn inspect(token: &str) -> Result<Unverified, Refusal> {
    let mut parts = token.split('.');
    let (Some(head), Some(payload)) = (parts.next(), parts.next()) else {
        return Err(invalid("the subject token is not a JWT (JWS compact form)"));
    };
    // The algorithm first, by name: `none` is not even a value of `Algorithm`.
    let alg = json_part(head, "header")?
        .get("alg")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| invalid("the subject token's header names no algorithm"))?;
    if !ALLOWED.iter().any(|a| format!("{a:?}") == alg) {
        return Err(invalid(format!(
            "algorithm {alg:?} is not accepted (only public-key signatures)"
        )));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("the subject token is not a JWT (JWS compact form)"))?;
    let claims = json_part(payload, "payload")?;
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("the subject token has no issuer (iss)"))?
        .to_owned();
    let subject = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
    Ok(Unverified {
        header,
        issuer,
        subject,
    })
}

/// A base64url JSON object part of a token (`what` names it in the refusal).
fn json_part(part: &str, what: &str) -> Result<Map<String, Value>, Refusal> {
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part)
        .map_err(|_| invalid(format!("the subject token's {what} is not base64url")))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| invalid(format!("the subject token's {what} is not a JSON object")))
}

/// The key of `keys` that may verify a token with `header`: the one with its key id
/// (or, without one, the only key fit for its algorithm), for signatures, of the
/// algorithm's family and, where the key names one, of the same algorithm.
fn select<'k>(keys: &'k JwkSet, header: &Header) -> Result<&'k Jwk, Refusal> {
    let fits = |k: &&Jwk| {
        let family = match (&k.algorithm, header.alg) {
            (AlgorithmParameters::RSA(_), alg) => format!("{alg:?}").starts_with(['R', 'P']),
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
                ec.curve == EllipticCurve::P256
            }
            (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES384) => {
                ec.curve == EllipticCurve::P384
            }
            (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
                okp.curve == EllipticCurve::Ed25519
            }
            _ => false,
        };
        let for_signing = matches!(
            k.common.public_key_use,
            None | Some(PublicKeyUse::Signature)
        );
        let same_alg = k
            .common
            .key_algorithm
            .is_none_or(|a| a.to_string() == format!("{:?}", header.alg));
        family && for_signing && same_alg
    };
    match &header.kid {
        Some(kid) => {
            let key = keys
                .find(kid)
                .ok_or_else(|| Refusal::UnknownKey(kid.clone()))?;
            if fits(&key) {
                Ok(key)
            } else {
                Err(invalid(format!(
                    "key {kid:?} is not a signing key for {:?}",
                    header.alg
                )))
            }
        }
        None => {
            let mut fit = keys.keys.iter().filter(fits);
            match (fit.next(), fit.next()) {
                (Some(key), None) => Ok(key),
                (None, _) => Err(Refusal::UnknownKey(String::new())),
                (Some(_), Some(_)) => Err(invalid(
                    "the token names no key id and the issuer publishes several keys",
                )),
            }
        }
    }
}

/// Verifies `token` (already [`inspect`]ed) with the issuer's `keys` at `now`
/// (seconds): signature, `iss`, `exp`, `nbf` and `iat`; its claims when all hold.
pub fn verify(
    token: &str,
    seen: &Unverified,
    keys: &JwkSet,
    now: u64,
) -> Result<Map<String, Value>, Refusal> {
    let jwk = select(keys, &seen.header)?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|e| invalid(format!("the issuer's key is not usable: {e}")))?;
    let mut validation = Validation::new(seen.header.alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[&seen.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "iat"]);
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            invalid(match e.kind() {
                K::InvalidSignature => "the signature does not verify with the issuer's key".into(),
                K::ExpiredSignature => "the token has expired (exp)".into(),
                K::ImmatureSignature => "the token is not valid yet (nbf)".into(),
                K::InvalidIssuer => "the issuer (iss) does not match".into(),
                K::MissingRequiredClaim(c) => format!("the token has no {c} claim"),
                K::InvalidAlgorithm => "the algorithm does not fit the issuer's key".into(),
                other => format!("the token is not valid: {other:?}"),
            })
        })?;
    let claims = data.claims;
    // exp and nbf are checked above; a token "issued" in the future is refused too.
    let iat = claims
        .get("iat")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MAX);
    if iat > (now + LEEWAY_SECONDS) as f64 {
        return Err(invalid("the token was issued in the future (iat)"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, encode};
    use serde_json::json;

    use super::*;

    /// The RSA test key of the fixtures, and its public half as a JWK set.
    fn rsa() -> (EncodingKey, JwkSet) {
        let root = env!("CARGO_MANIFEST_DIR");
        let pem = std::fs::read(format!("{root}/tests/fixtures/gcp-test-key.pem")).unwrap();
        let public =
            std::fs::read_to_string(format!("{root}/tests/fixtures/gcp-test-key.jwk.json"))
                .unwrap();
        (
            EncodingKey::from_rsa_pem(&pem).unwrap(),
            serde_json::from_str(&public).unwrap(),
        )
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn sign(claims: Value, alg: Algorithm, kid: Option<&str>) -> String {
        let (key, _) = rsa();
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, &claims, &key).unwrap()
    }

    fn claims(exp_in: i64) -> Value {
        let now = now() as i64;
        json!({"iss": "https://ci.example", "sub": "repo:org/api", "aud": "pc",
               "iat": now, "exp": now + exp_in})
    }

    fn check(token: &str) -> Result<Map<String, Value>, Refusal> {
        let (_, keys) = rsa();
        let seen = inspect(token)?;
        verify(token, &seen, &keys, now())
    }

    #[test]
    fn a_well_signed_token_verifies_and_says_who_it_is() {
        let token = sign(claims(300), Algorithm::RS256, Some("test-1"));
        let seen = inspect(&token).unwrap();
        assert_eq!(seen.issuer, "https://ci.example");
        assert_eq!(seen.subject.as_deref(), Some("repo:org/api"));
        let verified = check(&token).unwrap();
        assert_eq!(verified["sub"], "repo:org/api");
        // PSS with the same RSA key is fine too.
        check(&sign(claims(300), Algorithm::PS256, Some("test-1"))).unwrap();
    }

    #[test]
    fn time_claims_hold_with_a_small_skew_only() {
        let skew = LEEWAY_SECONDS as i64;
        check(&sign(claims(-skew + 2), Algorithm::RS256, Some("test-1"))).unwrap();
        let expired = check(&sign(claims(-skew - 2), Algorithm::RS256, Some("test-1")));
        assert_eq!(expired.unwrap_err(), invalid("the token has expired (exp)"));
        let mut early = claims(300);
        early["nbf"] = json!(now() + 60);
        let early = check(&sign(early, Algorithm::RS256, Some("test-1")));
        assert_eq!(
            early.unwrap_err(),
            invalid("the token is not valid yet (nbf)")
        );
        let mut future = claims(600);
        future["iat"] = json!(now() + 60);
        let future = check(&sign(future, Algorithm::RS256, Some("test-1")));
        assert!(future.unwrap_err().to_string().contains("iat"));
        let mut no_exp = claims(0);
        no_exp.as_object_mut().unwrap().remove("exp");
        let no_exp = check(&sign(no_exp, Algorithm::RS256, Some("test-1")));
        assert!(no_exp.unwrap_err().to_string().contains("exp"));
    }

    #[test]
    fn none_hmac_and_foreign_keys_are_refused() {
        use base64::Engine as _;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        let unsigned = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims(300)));
        assert!(
            check(&unsigned)
                .unwrap_err()
                .to_string()
                .contains("\"none\"")
        );
        // HMAC "signed" with the public key's modulus as the secret.
        let (_, keys) = rsa();
        let AlgorithmParameters::RSA(rsa_params) = &keys.keys[0].algorithm else {
            panic!("the fixture is an RSA key")
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-1".into());
        let secret = EncodingKey::from_secret(rsa_params.n.as_bytes());
        let hmac = encode(&header, &claims(300), &secret).unwrap();
        assert!(check(&hmac).unwrap_err().to_string().contains("HS256"));
        // Signed by another key under the same key id.
        let other = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gcp-other-key.pem"
        ))
        .unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-1".into());
        let forged = encode(
            &header,
            &claims(300),
            &EncodingKey::from_rsa_pem(&other).unwrap(),
        );
        let refused = check(&forged.unwrap()).unwrap_err();
        assert!(refused.to_string().contains("signature"), "{refused}");
        // ES256 against an RSA key.
        let mixed = sign(claims(300), Algorithm::RS256, Some("test-1"));
        let (_, mut keys) = rsa();
        keys.keys[0].common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::RS384);
        let seen = inspect(&mixed).unwrap();
        assert!(verify(&mixed, &seen, &keys, now()).is_err());
    }

    #[test]
    fn an_unknown_key_id_asks_for_the_keys_again() {
        let token = sign(claims(300), Algorithm::RS256, Some("rotated-2"));
        assert_eq!(
            check(&token).unwrap_err(),
            Refusal::UnknownKey("rotated-2".into())
        );
        // Without a key id, the only RSA key is the one.
        check(&sign(claims(300), Algorithm::RS256, None)).unwrap();
        for garbage in ["", "a.b", "not a token", "e30.e30.e30"] {
            assert!(check(garbage).is_err(), "{garbage}");
        }
    }
}
