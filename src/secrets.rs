//! The server secret and the keys derived from it (cookie signing, credential pepper,
//! encryption). One secret, many purpose-bound keys: HMAC-SHA-256(secret, label).

use std::fs;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::validate_secret;

/// The server secret; never logged (no `Debug` with content).
#[derive(Clone)]
pub struct ServerSecret(Vec<u8>);

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

impl ServerSecret {
    /// Uses the configured secret, or reads `<data dir>/secret.key`, creating it with
    /// 256 random bits (mode 0600) on first use.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            validate_secret(secret).map_err(anyhow::Error::msg)?;
            return Ok(Self(secret.trim().as_bytes().to_vec()));
        }
        let path = data_dir.join("secret.key");
        match fs::read_to_string(&path) {
            Ok(text) => {
                validate_secret(&text).map_err(|_| {
                    anyhow::anyhow!("{} is too short to be a server secret", path.display())
                })?;
                Ok(Self(text.trim().as_bytes().to_vec()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                crate::files::private_dir(data_dir)?;
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let text = hex::encode(bytes);
                // Written whole to a file of its own, then linked into place (which
                // fails if the name exists): instances starting together on one data
                // directory never read a half-written secret, and all use the first.
                let partial = data_dir.join(format!("secret.key.{}", std::process::id()));
                let mut options = fs::OpenOptions::new();
                options.write(true).create(true).truncate(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(&partial)
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", partial.display()))?;
                file.write_all(text.as_bytes())?;
                file.sync_all()?;
                let linked = fs::hard_link(&partial, &path);
                let _ = fs::remove_file(&partial);
                match linked {
                    Ok(()) => Ok(Self(text.into_bytes())),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::load_or_create(None, data_dir)
                    }
                    Err(e) => Err(anyhow::anyhow!("cannot create {}: {e}", path.display())),
                }
            }
            Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        }
    }

    /// A secret given as text (e.g. the previous one, for `secrets rekey`).
    pub fn from_text(text: &str) -> anyhow::Result<Self> {
        validate_secret(text).map_err(anyhow::Error::msg)?;
        Ok(Self(text.trim().as_bytes().to_vec()))
    }

    /// Whether two secrets are the same (compared in constant time).
    pub fn same_as(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.0.as_slice(), other.0.as_slice()).into()
    }

    /// A 32-byte key bound to `label`, e.g. `"session-cookie"`.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"portcullis/");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = ServerSecret::load_or_create(None, dir.path()).unwrap();
        let b = ServerSecret::load_or_create(None, dir.path()).unwrap();
        assert_eq!(a.derive("x"), b.derive("x"));
        assert_ne!(a.derive("x"), a.derive("y"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn short_configured_secrets_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ServerSecret::load_or_create(Some("short"), dir.path()).is_err());
    }
}
