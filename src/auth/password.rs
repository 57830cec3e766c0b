//! Password hashing with argon2id (m = 19 MiB, t = 2, p = 1, the OWASP minimum).
//! Hashing takes tens of milliseconds of CPU, so callers run it on the blocking pool.

use std::sync::LazyLock;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// A hash of a random password, verified against when the user does not exist so
/// that unknown users take as long as wrong passwords.
static DUMMY_HASH: LazyLock<Option<String>> =
    LazyLock::new(|| hash("dummy password for timing").ok());

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Verifies `password` against a stored PHC hash; `None` (unknown user, no local
/// password) burns the same time against a dummy hash and returns false.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(hash) => Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok(),
        None => {
            if let Some(dummy) = DUMMY_HASH.as_deref() {
                let _ = Argon2::default().verify_password(password.as_bytes(), dummy);
            }
            false
        }
    }
}

/// Computes the dummy hash ahead of the first login.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("wrong", Some(&h)));
        assert!(!verify("anything", None));
        assert!(!verify("x", Some("not a phc string")));
    }
}
