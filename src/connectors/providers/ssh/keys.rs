//! The connector's private key: decoded from base64 (an OpenSSH or PEM private key
//! file), decrypted with the passphrase, and checked against the auth method.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use russh::keys::{Algorithm, PrivateKey};

use crate::connectors::providers::ProviderError;

/// A decoded private key and the key file it came from.
pub(crate) struct Key {
    /// The key, decrypted.
    pub(crate) private: Arc<PrivateKey>,
    /// The key file as configured (still encrypted if it was).
    pub(crate) file: String,
}

/// Refuses the auth methods this provider cannot log in with.
pub(crate) fn check_method(method: &str) -> Result<(), ProviderError> {
    match method {
        "rsa-key" | "ecdsa-key" | "ed25519-key" => Ok(()),
        "dsa-key" => Err(ProviderError::Unsupported(
            "DSA keys are refused by current OpenSSH servers; use ed25519 or ecdsa".into(),
        )),
        other => Err(ProviderError::Unsupported(format!(
            "{other} is not an SSH key auth method"
        ))),
    }
}

/// Decodes `base64` (the key file, base64-encoded), decrypting it with `passphrase`
/// when the key is encrypted.
pub(crate) fn decode(base64: &str, passphrase: Option<&str>) -> Result<Key, ProviderError> {
    let compact: String = base64.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| ProviderError::Invalid("base64_ssh_key is not base64".into()))?;
    let file = String::from_utf8(bytes).map_err(|_| not_a_key())?;
    let private = if file
        .trim_start()
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
    {
        let key = PrivateKey::from_openssh(file.trim()).map_err(|_| not_a_key())?;
        if key.is_encrypted() {
            let passphrase = passphrase.ok_or_else(encrypted)?;
            key.decrypt(passphrase).map_err(|_| undecryptable())?
        } else {
            key
        }
    } else {
        let pem_encrypted = file.contains("ENCRYPTED");
        if pem_encrypted && passphrase.is_none() {
            return Err(encrypted());
        }
        russh::keys::decode_secret_key(&file, passphrase).map_err(|_| {
            if pem_encrypted {
                undecryptable()
            } else {
                not_a_key()
            }
        })?
    };
    Ok(Key {
        private: Arc::new(private),
        file,
    })
}

/// The key must be of the type the auth method names.
pub(crate) fn check_type(method: &str, key: &PrivateKey) -> Result<(), ProviderError> {
    check_method(method)?;
    let algorithm = key.algorithm();
    let fits = match method {
        "rsa-key" => matches!(algorithm, Algorithm::Rsa { .. }),
        "ecdsa-key" => matches!(algorithm, Algorithm::Ecdsa { .. }),
        _ => algorithm == Algorithm::Ed25519,
    };
    if fits {
        Ok(())
    } else {
        Err(ProviderError::Invalid(format!(
            "the key is {} key, but the auth method {method} needs {} key",
            kind(&algorithm),
            match method {
                "rsa-key" => "an RSA",
                "ecdsa-key" => "an ECDSA",
                _ => "an Ed25519",
            }
        )))
    }
}

/// "an Ed25519", "an RSA"… for messages.
fn kind(algorithm: &Algorithm) -> String {
    match algorithm {
        Algorithm::Ed25519 => "an Ed25519".into(),
        Algorithm::Rsa { .. } => "an RSA".into(),
        Algorithm::Ecdsa { .. } => "an ECDSA".into(),
        Algorithm::Dsa => "a DSA".into(),
        other => format!("a {}", other.as_str()),
    }
}

fn not_a_key() -> ProviderError {
    ProviderError::Invalid(
        "base64_ssh_key is not an SSH private key file (OpenSSH or PEM format)".into(),
    )
}

fn encrypted() -> ProviderError {
    ProviderError::Invalid("the key is encrypted; set ssh_passphrase".into())
}

fn undecryptable() -> ProviderError {
    ProviderError::Invalid("the key could not be decrypted".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TEST key from tests/fixtures/ssh/, base64-encoded as the attribute holds it.
    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/ssh/{name}", env!("CARGO_MANIFEST_DIR"));
        STANDARD.encode(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    fn message(r: Result<Key, ProviderError>) -> String {
        match r {
            Ok(_) => panic!("the key should not decode"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn openssh_and_pem_keys_decode_and_match_their_method() {
        let ed = decode(&fixture("id_ed25519"), None).unwrap();
        assert_eq!(ed.private.algorithm(), Algorithm::Ed25519);
        assert!(ed.file.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        check_type("ed25519-key", &ed.private).unwrap();
        // A passphrase given for a key without one is ignored.
        decode(&fixture("id_ed25519"), Some("unused")).unwrap();

        let rsa = decode(&fixture("id_rsa"), None).unwrap();
        assert!(rsa.private.algorithm().is_rsa());
        check_type("rsa-key", &rsa.private).unwrap();

        let pem = decode(&fixture("id_rsa_pem"), None).unwrap();
        assert!(pem.file.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        check_type("rsa-key", &pem.private).unwrap();

        let ec = decode(&fixture("id_ecdsa"), None).unwrap();
        check_type("ecdsa-key", &ec.private).unwrap();

        // Line breaks in the base64 (as `base64` without -w0 writes it) are fine.
        let wrapped: String = fixture("id_ed25519")
            .as_bytes()
            .chunks(76)
            .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
            .collect();
        decode(&wrapped, None).unwrap();
    }

    #[test]
    fn encrypted_keys_need_the_right_passphrase() {
        let b64 = fixture("id_ed25519_passphrase");
        let key = decode(&b64, Some("correct horse battery staple")).unwrap();
        assert_eq!(key.private.algorithm(), Algorithm::Ed25519);
        assert!(!key.private.is_encrypted());
        assert!(
            key.file.contains("OPENSSH PRIVATE KEY"),
            "the file is kept as given"
        );
        assert_eq!(
            message(decode(&b64, Some("wrong"))),
            "the key could not be decrypted"
        );
        assert_eq!(
            message(decode(&b64, None)),
            "the key is encrypted; set ssh_passphrase"
        );
    }

    #[test]
    fn what_is_not_a_key_is_invalid_without_echoing_it() {
        assert_eq!(message(decode("!!!", None)), "base64_ssh_key is not base64");
        let text = STANDARD.encode("TOPSECRET but no key");
        let m = message(decode(&text, None));
        assert!(m.contains("not an SSH private key file"), "{m}");
        assert!(!m.contains("TOPSECRET"));
        let public = STANDARD.encode(
            std::fs::read_to_string(format!(
                "{}/tests/fixtures/ssh/id_ed25519.pub",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        );
        assert!(message(decode(&public, None)).contains("not an SSH private key file"));
    }

    #[test]
    fn the_key_type_must_match_the_method() {
        let ed = decode(&fixture("id_ed25519"), None).unwrap();
        let rsa = decode(&fixture("id_rsa"), None).unwrap();
        let err = check_type("rsa-key", &ed.private).unwrap_err();
        assert_eq!(
            err,
            ProviderError::Invalid(
                "the key is an Ed25519 key, but the auth method rsa-key needs an RSA key".into()
            )
        );
        assert!(check_type("ed25519-key", &rsa.private).is_err());
        assert!(check_type("ecdsa-key", &rsa.private).is_err());
        assert_eq!(
            check_type("dsa-key", &ed.private).unwrap_err(),
            ProviderError::Unsupported(
                "DSA keys are refused by current OpenSSH servers; use ed25519 or ecdsa".into()
            )
        );
        assert!(matches!(
            check_method("password"),
            Err(ProviderError::Unsupported(_))
        ));
    }
}
