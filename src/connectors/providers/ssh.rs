//! SSH hosts (connector type `hyperai`): log in with the configured private key, list the
//! hosts that accept it, hand out the key.
//!
//! A login resolves the host with [`resolve_checked`] (the outbound policy: no private
//! address unless allowed), connects to exactly those addresses, runs the SSH handshake
//! (russh, ring crypto) and public-key authentication as `username`, all within the
//! policy's timeout. RSA keys sign with rsa-sha2-512 or -256, never SHA-1 `ssh-rsa`.
//!
//! Host keys: the catalog has no known_hosts attribute, so the host key is accepted and
//! its SHA256 fingerprint logged (not pinned).

mod hosts;
mod keys;

use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, stream};
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use serde_json::{Map, Value, json};
use tokio::net::TcpStream;

use super::{Ask, Issued, ProviderError, Target};
use crate::outbound::{Outbound, OutboundError, Policy, resolve_checked};

/// The only resource type.
const RESOURCE_TYPE: &str = "hyperai-instance";
/// Hosts tried at once by discovery.
const PARALLEL: usize = 8;

/// What logging in needs: the user, the key, and the hosts.
struct Login {
    user: String,
    key: keys::Key,
    passphrase: Option<String>,
    hosts: Vec<String>,
}

impl Login {
    /// Reads and checks the configuration: method, key (decoded, decrypted, of the
    /// method's type), user and hosts. Nothing is contacted.
    fn of(t: &Target) -> Result<Login, ProviderError> {
        keys::check_method(&t.auth_method)?;
        let user = t.required("username")?.to_owned();
        let hosts = hosts::entries(t.list("hostnames"))?;
        // The passphrase as configured: spaces at its ends are part of it.
        let passphrase = t
            .config
            .get("ssh_passphrase")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        let key = keys::decode(t.required("base64_ssh_key")?, passphrase.as_deref())?;
        keys::check_type(&t.auth_method, &key.private)?;
        Ok(Login {
            user,
            key,
            passphrase,
            hosts,
        })
    }

    /// Logs in to `entry` (a `hostnames` entry) and disconnects; the host key's SHA256
    /// fingerprint on success.
    async fn to(&self, policy: &Policy, entry: &str) -> Result<String, ProviderError> {
        let host = hosts::parse(entry)?;
        let addrs = resolve_checked(&host.name, host.port, policy).await?;
        let seen = Arc::new(Mutex::new(None));
        let attempt = async {
            let stream = connect(entry, &addrs).await?;
            let config = Arc::new(client::Config {
                inactivity_timeout: Some(policy.timeout),
                nodelay: true,
                ..client::Config::default()
            });
            let handler = HostKey {
                host: entry.to_owned(),
                seen: Arc::clone(&seen),
            };
            let mut handle = client::connect_stream(config, stream, handler)
                .await
                .map_err(|e| failed(entry, e))?;
            let result = self.authenticate(entry, &mut handle).await;
            let _ = handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
            result
        };
        tokio::time::timeout(policy.timeout, attempt)
            .await
            .map_err(|_| OutboundError::Timeout {
                host: entry.to_owned(),
                seconds: policy.timeout.as_secs(),
            })??;
        let fingerprint = seen.lock().ok().and_then(|s| s.clone()).unwrap_or_default();
        tracing::info!(
            host = entry,
            user = %self.user,
            host_key = %fingerprint,
            "SSH login succeeded; host key accepted, not pinned"
        );
        Ok(fingerprint)
    }

    /// Public-key authentication on an established session.
    async fn authenticate(
        &self,
        entry: &str,
        handle: &mut Handle<HostKey>,
    ) -> Result<(), ProviderError> {
        let hash = if self.key.private.algorithm().is_rsa() {
            // The best of rsa-sha2-512/256 the server names; rsa-sha2-256 when it names
            // none (or only SHA-1 `ssh-rsa`, which OpenSSH 8.8+ refuses anyway).
            match handle.best_supported_rsa_hash().await {
                Ok(Some(Some(hash))) => Some(hash),
                _ => Some(HashAlg::Sha256),
            }
        } else {
            None
        };
        let key = PrivateKeyWithHashAlg::new(Arc::clone(&self.key.private), hash);
        let auth = handle
            .authenticate_publickey(self.user.as_str(), key)
            .await
            .map_err(|e| failed(entry, e))?;
        if auth.success() {
            Ok(())
        } else {
            Err(ProviderError::Denied(format!(
                "{entry}: the server refused the key for {}",
                self.user
            )))
        }
    }
}

/// Accepts the host key (there is nothing to pin it to) and keeps its fingerprint.
struct HostKey {
    host: String,
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.fingerprint(HashAlg::Sha256),
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256)
            }
        }
        .to_string();
        tracing::debug!(host = %self.host, host_key = %fingerprint, "SSH host key");
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint);
        }
        Ok(true)
    }
}

/// A TCP connection to the first of `addrs` that answers.
async fn connect(entry: &str, addrs: &[std::net::SocketAddr]) -> Result<TcpStream, ProviderError> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(OutboundError::Unreachable {
        host: entry.to_owned(),
        detail: last.map_or_else(|| "no address".into(), |e| e.to_string()),
    }
    .into())
}

/// A failed handshake or authentication exchange.
fn failed(entry: &str, e: russh::Error) -> ProviderError {
    match e {
        russh::Error::IO(io) => OutboundError::Unreachable {
            host: entry.to_owned(),
            detail: io.to_string(),
        }
        .into(),
        other => ProviderError::Protocol(format!("{entry}: the SSH handshake failed ({other})")),
    }
}

/// Logs in to the first host.
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    let login = Login::of(t)?;
    let first = login.hosts.first().cloned().unwrap_or_default();
    login.to(out.policy(), &first).await.map(|_| ())
}

/// The hosts that accept the key (tried in parallel). When none does, the first host's
/// error; hosts that failed while others succeeded are logged, not reported.
pub(super) async fn discover(
    out: &Outbound,
    t: &Target,
    resource_type: &str,
) -> Result<Option<Vec<String>>, ProviderError> {
    if resource_type != RESOURCE_TYPE {
        return Err(not_a_type(resource_type));
    }
    let login = Login::of(t)?;
    let policy = out.policy();
    let results: Vec<(String, Result<String, ProviderError>)> = stream::iter(login.hosts.clone())
        .map(|entry| {
            let login = &login;
            async move {
                let result = login.to(policy, &entry).await;
                (entry, result)
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let mut reached = Vec::new();
    let mut first_error = None;
    for (entry, result) in results {
        match result {
            Ok(_) => reached.push(entry),
            Err(e) => {
                tracing::warn!(connector = %t.name, host = %entry, error = %e, "SSH host not reached");
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if reached.is_empty() => Err(e),
        _ => Ok(Some(reached)),
    }
}

/// The configured user and key for one of the hosts (long-lived: no expiry). The host
/// is not contacted.
pub(super) async fn issue(
    _out: &Outbound,
    t: &Target,
    ask: Ask<'_>,
) -> Result<Issued, ProviderError> {
    if ask.resource_type != RESOURCE_TYPE {
        return Err(not_a_type(ask.resource_type));
    }
    let login = Login::of(t)?;
    let host = ask.resource_id.trim();
    if !login.hosts.iter().any(|h| h == host) {
        return Err(ProviderError::NotReached(format!(
            "{RESOURCE_TYPE} {host} is not among the connector's hostnames"
        )));
    }
    let mut credentials = Map::new();
    credentials.insert("username".into(), json!(login.user));
    credentials.insert("hostname".into(), json!(host));
    credentials.insert("private_key".into(), json!(login.key.file));
    if let Some(passphrase) = &login.passphrase {
        credentials.insert("passphrase".into(), json!(passphrase));
    }
    Ok(Issued {
        credentials,
        expires_at: None,
    })
}

fn not_a_type(resource_type: &str) -> ProviderError {
    ProviderError::Unsupported(format!(
        "HyperAI connectors reach {RESOURCE_TYPE} resources, not {resource_type}"
    ))
}
