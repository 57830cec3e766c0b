//! Kubernetes API servers: the credentials are proven with a `SelfSubjectReview` (the
//! API's "who am I"), after `/version` shows that the server is one. Issuing hands the
//! configured credentials out, shaped for a kubeconfig or an `ExecCredential`.

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Map, Value, json};
use url::Url;

use super::{Issued, ProviderError, Single, Target};
use crate::outbound::{Outbound, Tls};

/// The only resource type.
const RESOURCE_TYPE: &str = "kubernetes-cluster";

/// The one resource a kubernetes connector reaches.
pub(super) const SINGLE: Single = Single {
    resource_type: RESOURCE_TYPE,
    noun: "cluster",
    reached: resource_id,
};
/// Where the API answers "who am I" (Kubernetes 1.28 and later).
const SELF_SUBJECT_REVIEWS: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

/// How requests authenticate.
enum Credentials<'a> {
    Basic {
        username: &'a str,
        password: &'a str,
    },
    Bearer(&'a str),
    /// Only the client certificate (in the TLS settings).
    Certificate,
}

/// The connector's TLS settings: `insecure`, the CA, the client certificate and key.
fn tls(t: &Target) -> Result<Tls, ProviderError> {
    let identity_pem = match (t.text("client_certificate"), t.text("client_key")) {
        (Some(cert), Some(key)) => Some(format!("{cert}\n{key}\n")),
        (None, None) => None,
        _ => {
            return Err(ProviderError::Invalid(
                "client_certificate and client_key must be set together".into(),
            ));
        }
    };
    Ok(Tls {
        insecure: t.flag("insecure", false),
        ca_pem: t.text("certificate_authority").map(str::to_owned),
        identity_pem,
    })
}

fn auth_of(t: &Target) -> Result<Credentials<'_>, ProviderError> {
    match t.auth_method.as_str() {
        "password" => {
            t.required("password")?;
            Ok(Credentials::Basic {
                username: t.required("username")?,
                password: as_configured(t, "password").unwrap_or_default(),
            })
        }
        "token" => match t.text("token") {
            Some(token) => Ok(Credentials::Bearer(token)),
            None if t.text("client_certificate").is_some() => Ok(Credentials::Certificate),
            None => Err(ProviderError::Invalid(
                "the token method needs a token, or a client certificate and key".into(),
            )),
        },
        other => Err(ProviderError::Unsupported(format!(
            "kubernetes connectors have no auth method {other}"
        ))),
    }
}

/// The API server's URL joined with `path` (the server URL may have a path of its own,
/// e.g. behind a proxy).
pub(super) fn endpoint(server: &str, path: &str) -> Result<Url, ProviderError> {
    let invalid = || ProviderError::Invalid("the server must be an https URL".into());
    let base = Url::parse(server.trim()).map_err(|_| invalid())?;
    if !matches!(base.scheme(), "http" | "https")
        || base.host_str().is_none_or(str::is_empty)
        || !base.username().is_empty()
        || base.password().is_some()
        || base.query().is_some()
    {
        return Err(invalid());
    }
    let joined = format!("{}{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&joined).map_err(|_| invalid())
}

struct Api<'a> {
    out: &'a Outbound,
    client: Client,
    server: &'a str,
    credentials: Credentials<'a>,
}

impl<'a> Api<'a> {
    fn new(out: &'a Outbound, t: &'a Target) -> Result<Self, ProviderError> {
        let server = t.required("server")?;
        endpoint(server, "/")?;
        let credentials = auth_of(t)?;
        let client = out.client(&tls(t)?)?;
        Ok(Self {
            out,
            client,
            server,
            credentials,
        })
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        let request = request.header(ACCEPT, "application/json");
        match self.credentials {
            Credentials::Basic { username, password } => {
                request.basic_auth(username, Some(password))
            }
            Credentials::Bearer(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            Credentials::Certificate => request,
        }
    }

    /// Answers with the status and the body (read only on success).
    async fn call(&self, request: RequestBuilder) -> Result<(StatusCode, Value), ProviderError> {
        let resp = self.out.send(self.authorized(request)).await?;
        let status = resp.status();
        if !status.is_success() {
            return Ok((status, Value::Null));
        }
        let body = self.out.read(resp).await?;
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// Who the API server takes the credentials for.
    async fn whoami(&self) -> Result<Option<String>, ProviderError> {
        let (status, version) = self
            .call(self.client.get(endpoint(self.server, "/version")?))
            .await?;
        check(status, "/version")?;
        if version["gitVersion"].as_str().is_none() {
            return Err(ProviderError::Protocol(
                "the server does not answer /version like a Kubernetes API server".into(),
            ));
        }
        let review = json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "SelfSubjectReview",
        });
        let (status, body) = self
            .call(
                self.client
                    .post(endpoint(self.server, SELF_SUBJECT_REVIEWS)?)
                    .header(CONTENT_TYPE, "application/json")
                    .body(review.to_string()),
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            // Before 1.28: no v1 reviews; any authenticated user may read /api.
            let (status, _) = self
                .call(self.client.get(endpoint(self.server, "/api")?))
                .await?;
            check(status, "/api")?;
            return Ok(None);
        }
        check(status, "the SelfSubjectReview")?;
        Ok(body["status"]["userInfo"]["username"]
            .as_str()
            .map(str::to_owned))
    }
}

fn check(status: StatusCode, what: &str) -> Result<(), ProviderError> {
    match status {
        s if s.is_success() => Ok(()),
        StatusCode::UNAUTHORIZED => Err(ProviderError::Denied(
            "the API server refused the credentials (HTTP 401)".into(),
        )),
        StatusCode::FORBIDDEN => Err(ProviderError::Forbidden(format!(
            "the API server does not allow {what} to these credentials (HTTP 403)"
        ))),
        s => Err(ProviderError::Protocol(format!(
            "the API server answered HTTP {} to {what}",
            s.as_u16()
        ))),
    }
}

/// Proves the credentials with a `SelfSubjectReview`.
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    let user = Api::new(out, t)?.whoami().await?;
    tracing::debug!(connector = %t.name, user = user.as_deref().unwrap_or("?"), "kubernetes credentials verified");
    Ok(())
}

/// The cluster name, the one resource of a Kubernetes connector.
fn resource_id(t: &Target) -> Result<String, ProviderError> {
    Ok(t.required("cluster_name")?.to_owned())
}

/// The configured credentials, ready for a kubeconfig or an `ExecCredential`:
/// `server`, `cluster_name`, `insecure`, and those of `certificate_authority`, `token`,
/// `username`/`password`, `client_certificate`/`client_key` that are set. They do not
/// expire by themselves.
pub(super) async fn issue(_out: &Outbound, t: &Target) -> Result<Issued, ProviderError> {
    let cluster_name = t.required("cluster_name")?;
    let server = t.required("server")?;
    endpoint(server, "/")?;
    tls(t)?;
    let mut credentials = Map::new();
    credentials.insert("server".into(), json!(server));
    credentials.insert("cluster_name".into(), json!(cluster_name));
    credentials.insert("insecure".into(), json!(t.flag("insecure", false)));
    let mut keys = vec!["certificate_authority"];
    match auth_of(t)? {
        Credentials::Basic { .. } => keys.extend(["username", "password"]),
        Credentials::Bearer(_) => keys.extend(["token", "client_certificate", "client_key"]),
        Credentials::Certificate => keys.extend(["client_certificate", "client_key"]),
    }
    for key in keys {
        if let Some(v) = as_configured(t, key) {
            credentials.insert(key.into(), json!(v));
        }
    }
    Ok(Issued {
        credentials,
        expires_at: None,
    })
}

/// A text attribute exactly as configured (a PEM keeps its final newline, a password
/// its spaces), if it is not blank.
fn as_configured<'a>(t: &'a Target, key: &str) -> Option<&'a str> {
    t.config
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(method: &str, config: Value) -> Target {
        Target::new(
            "kubernetes",
            method,
            &[RESOURCE_TYPE],
            config.as_object().cloned().unwrap_or_default(),
        )
    }

    #[test]
    fn endpoints_keep_the_servers_path() {
        let cases = [
            (
                "https://k8s.example.com:6443",
                "https://k8s.example.com:6443/version",
            ),
            (
                "https://k8s.example.com:6443/",
                "https://k8s.example.com:6443/version",
            ),
            (
                "https://rancher.example/k8s/clusters/c-1/",
                "https://rancher.example/k8s/clusters/c-1/version",
            ),
        ];
        for (server, want) in cases {
            assert_eq!(endpoint(server, "/version").unwrap().as_str(), want);
        }
        for bad in [
            "k8s.example.com",
            "ftp://k8s",
            "https://u:p@k8s",
            "https://k8s/?a=b",
        ] {
            assert!(
                matches!(endpoint(bad, "/version"), Err(ProviderError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_client_certificate_needs_its_key_and_the_token_method_needs_something() {
        let half = target(
            "token",
            json!({"server": "https://k", "cluster_name": "c", "client_certificate": "x"}),
        );
        assert!(matches!(tls(&half), Err(ProviderError::Invalid(_))));
        let nothing = target("token", json!({"server": "https://k", "cluster_name": "c"}));
        assert!(matches!(auth_of(&nothing), Err(ProviderError::Invalid(_))));
    }

    #[tokio::test]
    async fn issued_credentials_are_the_configured_ones_for_the_cluster() {
        let out = Outbound::new(crate::outbound::Policy::default()).unwrap();
        let t = target(
            "token",
            json!({"server": "https://k8s.example.com", "cluster_name": "prod", "token": "t0k",
                   "certificate_authority": "PEM", "insecure": false}),
        );
        let issued = super::super::issue(&out, &t, super::super::ask(RESOURCE_TYPE, "prod"))
            .await
            .unwrap();
        assert_eq!(
            Value::Object(issued.credentials),
            json!({"server": "https://k8s.example.com", "cluster_name": "prod", "insecure": false,
                   "certificate_authority": "PEM", "token": "t0k"})
        );
        assert_eq!(issued.expires_at, None);
        assert!(matches!(
            super::super::issue(&out, &t, super::super::ask(RESOURCE_TYPE, "other")).await,
            Err(ProviderError::NotReached(_))
        ));
        let p = target(
            "password",
            json!({"server": "https://k", "cluster_name": "c", "username": "u", "password": "p",
                   "token": "ignored"}),
        );
        let issued = super::super::issue(&out, &p, super::super::ask(RESOURCE_TYPE, "c"))
            .await
            .unwrap();
        assert_eq!(issued.credentials["username"], "u");
        assert_eq!(issued.credentials["password"], "p");
        assert!(!issued.credentials.contains_key("token"));
    }
}
