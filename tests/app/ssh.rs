//! The SSH provider (connector type `hyperai`) against Debian's openssh-server, which
//! tests/run.sh starts (tests/emulators.sh: `TEST_SSH_*`, key auth only, an Ed25519 and
//! an RSA key authorized); those tests are `#[ignore]`d without it. The policy, timeout
//! and issuing tests need no server.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis::connectors::providers::{ProviderError, Scope, Target, Verification, verify};
use portcullis::outbound::{Outbound, Policy};
use serde_json::{Value, json};

use crate::fixtures::{self, assert_reached, failure, issue};
use crate::helpers::emulator_env;

const RT: &str = "hyperai-instance";

fn outbound(allow_private: bool) -> Outbound {
    Outbound::new(Policy {
        allow_private,
        timeout: Duration::from_secs(5),
        ..Policy::default()
    })
    .unwrap()
}

fn target(method: &str, config: Value) -> Target {
    fixtures::target("hyperai", method, &[RT], config)
}

/// The test sshd as a `hostnames` entry.
fn sshd() -> String {
    format!(
        "{}:{}",
        emulator_env("TEST_SSH_HOST"),
        emulator_env("TEST_SSH_PORT")
    )
}

/// A connector for the test sshd with `key_b64`, reaching `hostnames`.
fn sshd_target(method: &str, key_b64: &str, hostnames: &[String]) -> Target {
    target(
        method,
        json!({"base64_ssh_key": key_b64, "hostnames": hostnames,
               "username": emulator_env("TEST_SSH_USER")}),
    )
}

/// A TEST key from tests/fixtures/ssh/, base64-encoded.
fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/ssh/{name}", env!("CARGO_MANIFEST_DIR"));
    STANDARD.encode(std::fs::read(&path).unwrap())
}

/// Log lines written while the guard lives (this thread's tasks only).
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let logs = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || logs.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
#[ignore = "needs the sshd emulator (tests/run.sh starts it)"]
async fn ed25519_keys_log_in_and_discovery_lists_the_hosts_that_accept_them() {
    let logs = Logs::default();
    let _guard = logs.capture();
    let out = outbound(true);
    let key = emulator_env("TEST_SSH_ED25519_KEY_B64");
    let t = sshd_target("ed25519-key", &key, &[sshd()]);
    assert_reached(&verify(&out, &t, &Scope::default()).await, &[sshd()]);
    // The host key is not pinned, but its fingerprint is logged.
    let fingerprint = emulator_env("TEST_SSH_HOST_KEY_FINGERPRINT");
    assert!(logs.text().contains(&fingerprint), "{}", logs.text());

    // A host that fails while another answers is left out (and logged). Verification
    // logs in to the first host, then discovery tries them all.
    let closed = "127.0.0.1:1".to_owned();
    let t = sshd_target("ed25519-key", &key, &[sshd(), closed]);
    assert_reached(&discovered(&out, &t).await, &[sshd()]);
    assert!(logs.text().contains("127.0.0.1:1"), "{}", logs.text());

    // The issued credentials are the configured ones, for that host, without expiry.
    let issued = issue(&out, &t, RT, &sshd(), 0).await.unwrap();
    assert_eq!(issued.expires_at, None);
    let key_file = String::from_utf8(STANDARD.decode(&key).unwrap()).unwrap();
    assert_eq!(
        Value::Object(issued.credentials),
        json!({"username": emulator_env("TEST_SSH_USER"), "hostname": sshd(),
               "private_key": key_file})
    );
}

/// Discovery alone, as a verification scoped to the resource type.
async fn discovered(out: &Outbound, t: &Target) -> Verification {
    let scope = Scope {
        resource_type: Some(RT.into()),
        resource_id: None,
    };
    verify(out, t, &scope).await
}

#[tokio::test]
#[ignore = "needs the sshd emulator (tests/run.sh starts it)"]
async fn rsa_keys_log_in_with_rsa_sha2_signatures() {
    // OpenSSH 8.8+ refuses SHA-1 `ssh-rsa` signatures: logging in proves rsa-sha2.
    let out = outbound(true);
    let t = sshd_target("rsa-key", &emulator_env("TEST_SSH_RSA_KEY_B64"), &[sshd()]);
    assert_reached(&verify(&out, &t, &Scope::default()).await, &[sshd()]);
}

#[tokio::test]
#[ignore = "needs the sshd emulator (tests/run.sh starts it)"]
async fn a_key_the_host_does_not_trust_fails_authentication() {
    let out = outbound(true);
    let t = sshd_target("ed25519-key", &fixture("id_unauthorized"), &[sshd()]);
    let err = failure(&verify(&out, &t, &Scope::default()).await);
    let user = emulator_env("TEST_SSH_USER");
    assert_eq!(
        err,
        format!(
            "authentication failed: {}: the server refused the key for {user}",
            sshd()
        )
    );
    // With no host reached, the first host's error.
    let t = sshd_target(
        "ed25519-key",
        &fixture("id_unauthorized"),
        &[sshd(), "127.0.0.1:1".into()],
    );
    let v = discovered(&out, &t).await;
    let err = v.resources[0].error.clone().unwrap();
    assert!(err.contains("refused the key"), "{v:?}");
}

#[tokio::test]
async fn a_strict_policy_refuses_private_hosts_before_connecting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let strict = outbound(false);
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let t = target(
            "ed25519-key",
            json!({"base64_ssh_key": fixture("id_ed25519"), "hostnames": [host], "username": "u"}),
        );
        let err = failure(&verify(&strict, &t, &Scope::default()).await);
        assert!(err.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"), "{err}");
    }
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "nothing connected to the private host");
}

#[tokio::test]
async fn a_host_that_never_speaks_ssh_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            open.push(tcp); // accepted, never answered
        }
    });
    let out = Outbound::new(Policy {
        allow_private: true,
        timeout: Duration::from_secs(1),
        ..Policy::default()
    })
    .unwrap();
    let t = target(
        "ed25519-key",
        json!({"base64_ssh_key": fixture("id_ed25519"), "hostnames": [format!("127.0.0.1:{port}")], "username": "u"}),
    );
    let started = std::time::Instant::now();
    let err = failure(&verify(&out, &t, &Scope::default()).await);
    assert!(err.contains("did not answer within 1 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn keys_are_checked_and_issued_without_contacting_the_host() {
    let out = outbound(false);
    let config = json!({"base64_ssh_key": fixture("id_ed25519_passphrase"),
                        "ssh_passphrase": "correct horse battery staple",
                        "hostnames": ["gpu-01.example.com", "203.0.113.10:2222"], "username": "ubuntu"});
    let t = target("ed25519-key", config.clone());
    let issued = issue(&out, &t, RT, "203.0.113.10:2222", 0).await.unwrap();
    assert_eq!(issued.expires_at, None);
    assert_eq!(issued.credentials["hostname"], "203.0.113.10:2222");
    assert_eq!(issued.credentials["username"], "ubuntu");
    assert_eq!(
        issued.credentials["passphrase"],
        "correct horse battery staple"
    );
    assert!(
        issued.credentials["private_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
    );
    let err = issue(&out, &t, RT, "gpu-02.example.com", 0)
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::NotReached(_)), "{err:?}");

    let mut wrong = config.clone();
    wrong["ssh_passphrase"] = json!("wrong");
    let err = issue(
        &out,
        &target("ed25519-key", wrong),
        RT,
        "gpu-01.example.com",
        0,
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "the key could not be decrypted");
    let err = issue(
        &out,
        &target("rsa-key", config.clone()),
        RT,
        "gpu-01.example.com",
        0,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("needs an RSA key"), "{err}");
    let err = failure(&verify(&out, &target("dsa-key", config), &Scope::default()).await);
    assert!(err.contains("DSA keys are refused"), "{err}");
}
