//! The stored Google credentials: a service account key (and the JWT-bearer assertion
//! signed with it, RFC 7523 as Google describes it for server-to-server OAuth) and an
//! authorized_user file. Nothing here ever puts a key, a refresh token or an assertion
//! into a message.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::super::{ProviderError, Target};

/// Google's token endpoint, where a file names none.
pub(super) const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The one scope asked for: every Google Cloud API (IAM decides what it allows).
pub(super) const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Longest validity Google accepts for an assertion (exp − iat).
pub(super) const ASSERTION_SECONDS: i64 = 3600;

/// The fields of a service account key (`type: service_account`) that are used.
#[derive(Clone, Deserialize)]
pub(super) struct ServiceAccountKey {
    pub client_email: String,
    pub private_key: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    #[serde(default)]
    pub token_uri: Option<String>,
}

/// The fields of a user account file (`type: authorized_user`) that are used.
#[derive(Clone, Deserialize)]
pub(super) struct AuthorizedUser {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    #[serde(default)]
    pub token_uri: Option<String>,
}

/// The claims Google's token endpoint expects in a JWT-bearer assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Claims {
    pub iss: String,
    pub scope: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// Parses the JSON document in attribute `key`, which must be of `kind`.
fn document<T: for<'de> Deserialize<'de>>(
    t: &Target,
    key: &str,
    kind: &str,
) -> Result<T, ProviderError> {
    let text = t.required(key)?;
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| ProviderError::Invalid(format!("the attribute {key} is not JSON")))?;
    if v["type"].as_str() != Some(kind) {
        return Err(ProviderError::Invalid(format!(
            "the attribute {key} is not a {kind} credentials file"
        )));
    }
    let missing = |_| {
        ProviderError::Invalid(format!(
            "the attribute {key} lacks a field a {kind} credentials file has"
        ))
    };
    serde_json::from_value(v).map_err(missing)
}

impl ServiceAccountKey {
    /// The key in `service_account_json`.
    pub fn from_target(t: &Target) -> Result<Self, ProviderError> {
        let key: Self = document(t, "service_account_json", "service_account")?;
        if key.client_email.trim().is_empty() || key.private_key.trim().is_empty() {
            return Err(ProviderError::Invalid(
                "the attribute service_account_json has no client_email or private_key".into(),
            ));
        }
        Ok(key)
    }

    /// Where tokens are asked for.
    pub fn token_uri(&self) -> &str {
        token_uri(self.token_uri.as_deref())
    }

    /// The claims of an assertion made at `now` (seconds since the epoch).
    pub fn claims(&self, now: i64) -> Claims {
        Claims {
            iss: self.client_email.clone(),
            scope: CLOUD_PLATFORM.to_owned(),
            aud: self.token_uri().to_owned(),
            iat: now,
            exp: now + ASSERTION_SECONDS,
        }
    }

    /// A signed (RS256) JWT-bearer assertion made at `now`.
    pub fn assertion(&self, now: i64) -> Result<String, ProviderError> {
        let key = EncodingKey::from_rsa_pem(self.private_key.as_bytes()).map_err(|_| {
            ProviderError::Invalid(
                "the private_key of service_account_json is not an RSA private key in PEM".into(),
            )
        })?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.private_key_id.clone().filter(|k| !k.is_empty());
        jsonwebtoken::encode(&header, &self.claims(now), &key).map_err(|_| {
            ProviderError::Invalid(
                "the private_key of service_account_json cannot sign (RS256)".into(),
            )
        })
    }
}

impl AuthorizedUser {
    /// The credentials in `user_account_json`.
    pub fn from_target(t: &Target) -> Result<Self, ProviderError> {
        document(t, "user_account_json", "authorized_user")
    }

    /// Where tokens are asked for.
    pub fn token_uri(&self) -> &str {
        token_uri(self.token_uri.as_deref())
    }
}

fn token_uri(named: Option<&str>) -> &str {
    named
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(DEFAULT_TOKEN_URI)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};
    use serde_json::json;

    use super::super::tests::{TEST_KEY, TEST_PUBLIC_KEY, key_json, target};
    use super::*;

    #[test]
    fn assertions_are_signed_rs256_with_googles_claims() {
        let t = target(
            "service-account",
            json!({"service_account_json": key_json(TEST_KEY, "https://token.example/t")}),
        );
        let key = ServiceAccountKey::from_target(&t).unwrap();
        let now = chrono::Utc::now().timestamp();
        let jwt = key.assertion(now).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some("test-key-id"));
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["https://token.example/t"]);
        v.set_issuer(&["sa@test-project.iam.gserviceaccount.com"]);
        let public = DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap();
        let claims = jsonwebtoken::decode::<Claims>(&jwt, &public, &v)
            .unwrap()
            .claims;
        assert_eq!(
            claims,
            Claims {
                iss: "sa@test-project.iam.gserviceaccount.com".into(),
                scope: CLOUD_PLATFORM.into(),
                aud: "https://token.example/t".into(),
                iat: now,
                exp: now + 3600,
            }
        );
        assert!(claims.exp > claims.iat && claims.exp - claims.iat <= 3600);

        // Another key's signature does not verify.
        let other = include_str!("../../../../tests/fixtures/gcp-other-key.pem");
        let t = target(
            "service-account",
            json!({"service_account_json": key_json(other, "https://token.example/t")}),
        );
        let forged = ServiceAccountKey::from_target(&t)
            .unwrap()
            .assertion(now)
            .unwrap();
        assert!(jsonwebtoken::decode::<Claims>(&forged, &public, &v).is_err());
    }

    #[test]
    fn the_token_uri_defaults_to_googles() {
        let mut doc: serde_json::Value =
            serde_json::from_str(&key_json(TEST_KEY, "https://t.example/")).unwrap();
        doc.as_object_mut().unwrap().remove("token_uri");
        let t = target(
            "service-account",
            json!({"service_account_json": doc.to_string()}),
        );
        let key = ServiceAccountKey::from_target(&t).unwrap();
        assert_eq!(key.token_uri(), DEFAULT_TOKEN_URI);
        assert_eq!(key.claims(0).aud, DEFAULT_TOKEN_URI);
        let user = json!({"type": "authorized_user", "client_id": "c", "client_secret": "s",
            "refresh_token": "r"});
        let t = target(
            "user-account",
            json!({"user_account_json": user.to_string()}),
        );
        assert_eq!(
            AuthorizedUser::from_target(&t).unwrap().token_uri(),
            DEFAULT_TOKEN_URI
        );
    }

    #[test]
    fn broken_files_are_refused_without_echoing_them() {
        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n";
        let cases = [
            ("{not json".to_owned(), "is not JSON"),
            (
                json!({"type": "authorized_user"}).to_string(),
                "is not a service_account credentials file",
            ),
            (
                json!({"type": "service_account", "private_key": secret}).to_string(),
                "lacks a field",
            ),
        ];
        for (doc, want) in cases {
            let t = target("service-account", json!({"service_account_json": doc}));
            let err = ServiceAccountKey::from_target(&t)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("c2VjcmV0"), "{err}");
        }
        let doc = json!({"type": "service_account", "client_email": "a@b", "private_key": secret});
        let t = target(
            "service-account",
            json!({"service_account_json": doc.to_string()}),
        );
        let err = ServiceAccountKey::from_target(&t)
            .unwrap()
            .assertion(0)
            .unwrap_err();
        assert!(matches!(err, ProviderError::Invalid(_)), "{err:?}");
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
    }
}
