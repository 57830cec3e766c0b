//! Authenticated encryption of small secrets at rest (one-time key reveals, connector
//! secrets): XChaCha20-Poly1305 under a key derived from the server secret, a random
//! 192-bit nonce per message, and associated data binding each ciphertext to its row.
//! And the one keyed hash ([`mac`]) the rest of the code signs and fingerprints with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// HMAC-SHA-256 under `key` of `parts`, one after the other.
pub fn mac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Encrypts and decrypts with one purpose-bound key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// Decryption failed: wrong key, wrong associated data, or tampered text.
#[derive(Debug, thiserror::Error)]
#[error("ciphertext could not be decrypted")]
pub struct OpenError;

impl Sealer {
    /// A sealer over a 256-bit key.
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Encrypts `plaintext` bound to `aad`; returns URL-safe base64 of nonce ‖ ciphertext.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key cannot fail for in-memory sizes.
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Decrypts what [`Sealer::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| OpenError)?;
        if bytes.len() < 24 + 16 {
            return Err(OpenError);
        }
        let (nonce, ct) = bytes.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_with_the_same_key_and_associated_data() {
        let s = Sealer::new(&[1; 32]);
        let sealed = s.seal(b"pck_secret", b"row-1");
        assert!(!sealed.contains("pck_secret"));
        assert_eq!(s.open(&sealed, b"row-1").unwrap(), b"pck_secret");
        assert!(s.open(&sealed, b"row-2").is_err());
        assert!(Sealer::new(&[2; 32]).open(&sealed, b"row-1").is_err());
        assert!(s.open("AAAA", b"row-1").is_err());
        assert_ne!(
            s.seal(b"x", b"a"),
            s.seal(b"x", b"a"),
            "fresh nonce each time"
        );
    }
}
