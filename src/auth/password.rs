//! Password hashing with argon2id (m = 19 MiB, t = 2, p = 1, the OWASP minimum).
//! Hashing takes tens of milliseconds of CPU, so callers run it on the blocking pool.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// The hash of a discarded random password with the parameters [`hash`] uses. Unknown
/// users are verified against it so that they take as long as wrong passwords. A
/// constant rather than a start-up computation: hashing costs 19 MiB that the
/// allocator would then keep (see BENCHMARKS.md).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$eC6owE0fsdzs4k9x8B+jqw$Crqc8oNe+g1t9Mazv52bwyVlXglK3gk7FRkkXFXjPXc";

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
            let _ = Argon2::default().verify_password(password.as_bytes(), DUMMY_HASH);
            false
        }
    }
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

    #[test]
    fn the_dummy_hash_costs_what_a_real_hash_costs() {
        let real = hash("anything").unwrap();
        let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(DUMMY_HASH.starts_with("$argon2id$v=19$"));
    }
}
