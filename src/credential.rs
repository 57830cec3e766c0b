//! Bearer credential format shared by access tokens (`pct_`) and API keys (`pck_`):
//! `<prefix><id:12><secret:32><checksum:8>`, all URL-safe base64 without padding.
//! 192 random bits of secret from the OS CSPRNG; the checksum (SHA-256 over the rest)
//! lets scanners and the server reject mistyped or truncated credentials without a
//! database query. Only HMAC-SHA-256(pepper, secret) is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The kind of credential, told by its prefix. The prefixes are a compatibility
/// promise: never change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A short-lived access token (`pct_`).
    AccessToken,
    /// A service-account API key (`pck_`).
    ApiKey,
}

impl CredentialKind {
    /// The fixed prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::AccessToken => "pct_",
            Self::ApiKey => "pck_",
        }
    }
}

const ID_BYTES: usize = 9;
const SECRET_BYTES: usize = 24;
const CHECK_BYTES: usize = 6;
const ID_LEN: usize = 12;
const SECRET_LEN: usize = 32;
const CHECK_LEN: usize = 8;
/// Total length of a credential.
pub const CREDENTIAL_LEN: usize = 4 + ID_LEN + SECRET_LEN + CHECK_LEN;

/// A freshly generated credential. `plaintext` must be shown once and dropped.
pub struct NewCredential {
    /// Public id, stored and indexed.
    pub id: String,
    /// The full credential to hand to the client.
    pub plaintext: String,
    /// HMAC of the secret part, the only thing stored.
    pub secret_hash: String,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A syntactically valid credential presented by a client.
pub struct Presented<'a> {
    /// Its kind.
    pub kind: CredentialKind,
    /// Its public id.
    pub id: &'a str,
    secret: &'a str,
}

impl Presented<'_> {
    /// Whether the secret matches `stored_hash` (constant time).
    pub fn verify(&self, pepper: &[u8; 32], stored_hash: &str) -> bool {
        let computed = hash_secret(pepper, self.secret);
        computed.as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }

    /// The HMAC of the presented secret (for comparing against several stored ones).
    pub fn secret_hash(&self, pepper: &[u8; 32]) -> String {
        hash_secret(pepper, self.secret)
    }
}

/// Generates a credential of `kind`.
pub fn generate(kind: CredentialKind, pepper: &[u8; 32]) -> NewCredential {
    let mut rng = rand::rng();
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id = URL_SAFE_NO_PAD.encode(id);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let body = format!("{}{id}{secret}", kind.prefix());
    let plaintext = format!("{body}{}", checksum(&body));
    NewCredential {
        secret_hash: hash_secret(pepper, &secret),
        id,
        plaintext,
    }
}

/// Generates a new secret for an existing id (rotation).
pub fn regenerate(kind: CredentialKind, id: &str, pepper: &[u8; 32]) -> NewCredential {
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let body = format!("{}{id}{secret}", kind.prefix());
    let plaintext = format!("{body}{}", checksum(&body));
    NewCredential {
        secret_hash: hash_secret(pepper, &secret),
        id: id.to_owned(),
        plaintext,
    }
}

/// Parses and checksums a presented credential; `None` for anything malformed.
pub fn parse(text: &str) -> Option<Presented<'_>> {
    if text.len() != CREDENTIAL_LEN || !text.is_ascii() {
        return None;
    }
    let kind = [CredentialKind::AccessToken, CredentialKind::ApiKey]
        .into_iter()
        .find(|k| text.starts_with(k.prefix()))?;
    let (body, check) = text.split_at(CREDENTIAL_LEN - CHECK_LEN);
    if !bool::from(checksum(body).as_bytes().ct_eq(check.as_bytes())) {
        return None;
    }
    let rest = &body[4..];
    let (id, secret) = rest.split_at(ID_LEN);
    let alphabet_ok = rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    alphabet_ok.then_some(Presented { kind, id, secret })
}

fn checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..CHECK_BYTES])
}

fn hash_secret(pepper: &[u8; 32], secret: &str) -> String {
    hex::encode(crate::crypto::mac(pepper, &[secret.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PEPPER: [u8; 32] = [7; 32];

    #[test]
    fn generated_credentials_parse_and_verify() {
        for kind in [CredentialKind::AccessToken, CredentialKind::ApiKey] {
            let c = generate(kind, &PEPPER);
            assert_eq!(c.plaintext.len(), CREDENTIAL_LEN);
            assert!(c.plaintext.starts_with(kind.prefix()));
            let p = parse(&c.plaintext).unwrap();
            assert_eq!(p.kind, kind);
            assert_eq!(p.id, c.id);
            assert!(p.verify(&PEPPER, &c.secret_hash));
            assert!(!p.verify(&[8; 32], &c.secret_hash));
            assert!(!c.secret_hash.contains(&c.plaintext[16..48]));
        }
    }

    #[test]
    fn rotation_keeps_the_id_and_changes_the_secret() {
        let a = generate(CredentialKind::ApiKey, &PEPPER);
        let b = regenerate(CredentialKind::ApiKey, &a.id, &PEPPER);
        assert_eq!(a.id, b.id);
        assert_ne!(a.secret_hash, b.secret_hash);
        assert!(parse(&b.plaintext).is_some());
    }

    proptest! {
        #[test]
        fn any_single_character_change_is_rejected(pos in 4usize..CREDENTIAL_LEN, c in "[A-Za-z0-9_-]") {
            let cred = generate(CredentialKind::ApiKey, &PEPPER);
            let mut bytes = cred.plaintext.clone().into_bytes();
            let replacement = c.as_bytes()[0];
            prop_assume!(bytes[pos] != replacement);
            bytes[pos] = replacement;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert!(parse(&mutated).is_none());
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,80}") {
            let _ = parse(&s);
        }
    }
}
