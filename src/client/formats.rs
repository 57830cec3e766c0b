//! The formats standard tools read credentials in, built from a `client-credentials`
//! answer (`{"resource_type","resource_id","credentials":{…},"expires_at"}`).

use anyhow::{anyhow, bail};
use serde_json::{Map, Value, json};

/// The AWS CLI/SDK `credential_process` output (Version 1).
pub fn aws_process(issued: &Value) -> anyhow::Result<Value> {
    let c = &issued["credentials"];
    let field = |k: &str| {
        c[k].as_str()
            .ok_or_else(|| anyhow!("the connector issued no {k}: is it an AWS connector?"))
    };
    let mut out = Map::new();
    out.insert("Version".into(), json!(1));
    out.insert("AccessKeyId".into(), json!(field("aws_access_key_id")?));
    out.insert(
        "SecretAccessKey".into(),
        json!(field("aws_secret_access_key")?),
    );
    if let Some(token) = c["aws_session_token"].as_str() {
        out.insert("SessionToken".into(), json!(token));
    }
    if let Some(at) = issued["expires_at"].as_str() {
        out.insert("Expiration".into(), json!(at));
    }
    Ok(Value::Object(out))
}

/// A `client.authentication.k8s.io/v1` ExecCredential: a bearer token, or a client
/// certificate and key.
pub fn exec_credential(issued: &Value) -> anyhow::Result<Value> {
    let c = &issued["credentials"];
    let mut status = Map::new();
    if let Some(token) = c["token"].as_str().or(c["access_token"].as_str()) {
        status.insert("token".into(), json!(token));
    } else if let (Some(cert), Some(key)) =
        (c["client_certificate"].as_str(), c["client_key"].as_str())
    {
        status.insert("clientCertificateData".into(), json!(cert));
        status.insert("clientKeyData".into(), json!(key));
    } else if c["password"].is_string() {
        bail!(
            "this connector signs in with a password, which an ExecCredential cannot carry; use a token or a client certificate"
        );
    } else {
        bail!("the connector issued neither a token nor a client certificate");
    }
    if let Some(at) = issued["expires_at"].as_str() {
        status.insert("expirationTimestamp".into(), json!(at));
    }
    Ok(json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": status,
    }))
}

/// The access token of an answer (`access_token` or `token`).
pub fn first_token(issued: &Value) -> anyhow::Result<String> {
    let c = &issued["credentials"];
    c["access_token"]
        .as_str()
        .or(c["token"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the connector issued no token (it issues {})", keys(c)))
}

fn keys(c: &Value) -> String {
    c.as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// The registry a Docker client names (`https://index.docker.io/v1/`, `host:port`,
/// `https://host/`), as connectors name it: `docker.io` for Docker Hub, else
/// `host[:port]`.
pub fn docker_registry_host(server_url: &str) -> String {
    let rest = server_url
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = rest.split('/').next().unwrap_or(rest).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_credential_process_has_version_keys_and_expiry_when_temporary() {
        let issued = json!({"credentials": {"aws_access_key_id": "ASIA1", "aws_secret_access_key": "s",
                             "aws_session_token": "t", "region": "us-east-1"},
                            "expires_at": "2026-11-30T12:00:00Z"});
        assert_eq!(
            aws_process(&issued).unwrap(),
            json!({"Version": 1, "AccessKeyId": "ASIA1", "SecretAccessKey": "s",
                   "SessionToken": "t", "Expiration": "2026-11-30T12:00:00Z"})
        );
        let long_lived = json!({"credentials": {"aws_access_key_id": "AKIA1", "aws_secret_access_key": "s"},
                                "expires_at": null});
        assert_eq!(
            aws_process(&long_lived).unwrap(),
            json!({"Version": 1, "AccessKeyId": "AKIA1", "SecretAccessKey": "s"})
        );
        let docker = json!({"credentials": {"username": "u", "password": "p"}});
        assert!(
            aws_process(&docker)
                .unwrap_err()
                .to_string()
                .contains("aws_access_key_id")
        );
    }

    #[test]
    fn exec_credentials_carry_a_token_or_a_certificate_never_a_password() {
        let token = json!({"credentials": {"token": "abc"}, "expires_at": "2026-11-30T12:00:00Z"});
        assert_eq!(
            exec_credential(&token).unwrap()["status"],
            json!({"token": "abc", "expirationTimestamp": "2026-11-30T12:00:00Z"})
        );
        let cert = json!({"credentials": {"client_certificate": "C", "client_key": "K"}});
        assert_eq!(
            exec_credential(&cert).unwrap()["status"],
            json!({"clientCertificateData": "C", "clientKeyData": "K"})
        );
        let password = json!({"credentials": {"username": "u", "password": "p"}});
        let err = exec_credential(&password).unwrap_err().to_string();
        assert!(err.contains("password") && !err.contains("\"p\""), "{err}");
    }

    #[test]
    fn tokens_and_registry_names() {
        assert_eq!(
            first_token(&json!({"credentials": {"access_token": "a"}})).unwrap(),
            "a"
        );
        assert_eq!(
            first_token(&json!({"credentials": {"token": "t"}})).unwrap(),
            "t"
        );
        assert!(first_token(&json!({"credentials": {"username": "u"}})).is_err());
        for (given, expected) in [
            ("https://index.docker.io/v1/", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("https://Registry.Example.com/", "registry.example.com"),
            ("http://localhost:5000/v2/", "localhost:5000"),
        ] {
            assert_eq!(docker_registry_host(given), expected, "{given}");
        }
    }
}
