//! Connector providers against real servers: verifying, discovering and issuing through
//! `portcullis::connectors::providers` directly (no app, no database).
//!
//! - Kubernetes: a TLS fixture API server in the test (its own CA from rcgen) that checks
//!   what a real one checks: TLS, the bearer token, `/version` and the SelfSubjectReview.
//! - Docker: Debian's docker-registry with htpasswd auth, and OAuth2: the test OpenID
//!   provider's `portcullis-machine` client; both are `#[ignore]`d and started by
//!   tests/run.sh (`TEST_REGISTRY_*`, `TEST_OIDC_ISSUER`).

use std::sync::{Arc, Mutex};

use portcullis::connectors::providers::{self, Scope, Target, Verification, verify};
use portcullis::outbound::{Outbound, OutboundError, Policy, Tls};
use serde_json::{Value, json};

use crate::fixtures::{self, Answer, ca, failure, header, issue, listen, serve, serve_on};
use crate::helpers::emulator_env;

fn outbound() -> Outbound {
    fixtures::outbound(true)
}

fn target(connector_type: &str, auth_method: &str, resource_type: &str, config: Value) -> Target {
    fixtures::target(connector_type, auth_method, &[resource_type], config)
}

/// Asserts that verification succeeded and reached exactly `id`.
fn assert_reached(v: &Verification, id: &str) {
    fixtures::assert_reached(v, &[id.to_owned()]);
}

// --- Extra certificate authorities ---------------------------------------------------

#[tokio::test]
async fn the_extra_authorities_are_what_makes_tls_succeed() {
    let authority = ca("portcullis test CA");
    let origin = serve(Some(authority.acceptor("127.0.0.1")), |_, _| {
        ("200 OK", String::new(), "{}".into())
    })
    .await;
    let outbound = |extra_ca_pem: Option<String>| {
        Outbound::new(Policy {
            allow_private: true,
            extra_ca_pem,
            ..Policy::default()
        })
        .unwrap()
    };
    let plain = outbound(None);
    let client = plain.client(&Tls::default()).unwrap();
    let err = plain.send(client.get(&origin)).await.unwrap_err();
    assert!(matches!(err, OutboundError::Tls { .. }), "{err:?}");

    let trusting = outbound(Some(authority.pem.clone()));
    let client = trusting.client(&Tls::default()).unwrap();
    let resp = trusting.send(client.get(&origin)).await.unwrap();
    assert_eq!(resp.status(), 200);
    // A call pinned to its own authority trusts only that one.
    let pinned = Tls {
        ca_pem: Some(ca("another CA").pem),
        ..Tls::default()
    };
    let client = trusting.client(&pinned).unwrap();
    let err = trusting.send(client.get(&origin)).await.unwrap_err();
    assert!(matches!(err, OutboundError::Tls { .. }), "{err:?}");
}

// --- Kubernetes: a TLS fixture API server ---------------------------------------------

/// A fixture API server on 127.0.0.1 with a certificate from its own CA, accepting one
/// bearer token.
struct K8s {
    server: String,
    ca_pem: String,
    /// `METHOD path` of every request that carried the right token.
    seen: Arc<Mutex<Vec<String>>>,
}

async fn k8s(token: &str) -> K8s {
    let ca = ca("portcullis test cluster CA");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (token, log) = (token.to_owned(), seen.clone());
    let server = serve(Some(ca.acceptor("kube-apiserver")), move |head, body| {
        let (status, answer) = api_answer(head, body, &token, &log);
        (status, String::new(), answer)
    })
    .await;
    K8s {
        server,
        ca_pem: ca.pem,
        seen,
    }
}

/// What the API server answers: 401 without the token, `/version`, and the review.
fn api_answer(
    head: &str,
    body: &[u8],
    token: &str,
    seen: &Mutex<Vec<String>>,
) -> (&'static str, String) {
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let status = |code: u16, reason: &str| {
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code})
            .to_string()
    };
    if header(head, "authorization") != Some(&format!("Bearer {token}")) {
        return ("401 Unauthorized", status(401, "Unauthorized"));
    }
    seen.lock().unwrap().push(format!("{method} {path}"));
    match (method, path) {
        ("GET", "/version") => (
            "200 OK",
            json!({"major": "1", "minor": "31", "gitVersion": "v1.31.0"}).to_string(),
        ),
        ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews") => {
            let review: Value = serde_json::from_slice(body).unwrap_or_default();
            let json_body = header(head, "content-type") == Some("application/json");
            if !json_body
                || review["kind"] != "SelfSubjectReview"
                || review["apiVersion"] != "authentication.k8s.io/v1"
            {
                return ("400 Bad Request", status(400, "BadRequest"));
            }
            (
                "201 Created",
                json!({
                    "kind": "SelfSubjectReview",
                    "apiVersion": "authentication.k8s.io/v1",
                    "status": {"userInfo": {"username": "system:serviceaccount:default:portcullis"}},
                })
                .to_string(),
            )
        }
        _ => ("404 Not Found", status(404, "NotFound")),
    }
}

fn k8s_target(server: &str, config: Value) -> Target {
    let mut t = target(
        "kubernetes",
        "token",
        "kubernetes-cluster",
        json!({"server": server, "cluster_name": "fixture"}),
    );
    t.config.extend(config.as_object().cloned().unwrap());
    t.resource_id = Some("fixture".into());
    t
}

/// The fixture API server accepting `right-token`, and a connector to it that trusts
/// its CA and presents that token.
async fn k8s_with_the_right_token() -> (K8s, Target) {
    let api = k8s("right-token").await;
    let t = k8s_target(
        &api.server,
        json!({"certificate_authority": api.ca_pem, "token": "right-token"}),
    );
    (api, t)
}

#[tokio::test]
async fn kubernetes_tokens_are_verified_over_tls_pinned_to_the_clusters_ca() {
    let (api, good) = k8s_with_the_right_token().await;
    let out = outbound();
    let v = verify(&out, &good, &Scope::default()).await;
    assert_reached(&v, "fixture");
    assert_eq!(
        *api.seen.lock().unwrap(),
        [
            "GET /version",
            "POST /apis/authentication.k8s.io/v1/selfsubjectreviews"
        ]
    );

    let wrong = k8s_target(
        &api.server,
        json!({"certificate_authority": api.ca_pem, "token": "wrong-token"}),
    );
    let err = failure(&verify(&out, &wrong, &Scope::default()).await);
    assert!(err.starts_with("authentication failed"), "{err}");
    assert!(!err.contains("wrong-token"), "{err}");

    let other_ca = k8s_target(
        &api.server,
        json!({"certificate_authority": ca("another CA").pem, "token": "right-token"}),
    );
    let err = failure(&verify(&out, &other_ca, &Scope::default()).await);
    assert!(err.contains("TLS with 127.0.0.1 failed"), "{err}");

    // Without the CA the system roots do not know the fixture's: refused, unless insecure.
    let no_ca = k8s_target(&api.server, json!({"token": "right-token"}));
    let err = failure(&verify(&out, &no_ca, &Scope::default()).await);
    assert!(err.contains("TLS"), "{err}");
    let insecure = k8s_target(
        &api.server,
        json!({"insecure": true, "token": "right-token"}),
    );
    assert_reached(&verify(&out, &insecure, &Scope::default()).await, "fixture");
}

#[tokio::test]
async fn kubernetes_credentials_are_issued_as_configured_for_the_cluster() {
    let (api, t) = k8s_with_the_right_token().await;
    let out = outbound();
    let issued = issue(&out, &t, "kubernetes-cluster", "fixture", 3600)
        .await
        .unwrap();
    assert_eq!(issued.expires_at, None);
    assert_eq!(
        Value::Object(issued.credentials),
        json!({
            "server": api.server,
            "cluster_name": "fixture",
            "insecure": false,
            "certificate_authority": api.ca_pem,
            "token": "right-token",
        })
    );
    let err = issue(&out, &t, "kubernetes-cluster", "elsewhere", 3600)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not the cluster"), "{err}");

    // Refused by the outbound policy unless private targets are allowed.
    let strict = Outbound::new(Policy::default()).unwrap();
    let err = failure(&verify(&strict, &t, &Scope::default()).await);
    assert!(err.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"), "{err}");
}

// --- Docker registry: docker-registry with htpasswd auth ------------------------------

fn registry_target(password: &str) -> Target {
    let url = emulator_env("TEST_REGISTRY_URL");
    let mut t = target(
        "docker",
        "password",
        "docker-registry",
        json!({
            "registry": url,
            "username": emulator_env("TEST_REGISTRY_USER"),
            "password": password,
        }),
    );
    t.resource_id = Some(url);
    t
}

/// The emulator registry: an outbound client, its URL, and a connector with the right
/// password.
fn registry() -> (Outbound, String, Target) {
    let url = emulator_env("TEST_REGISTRY_URL");
    let t = registry_target(&emulator_env("TEST_REGISTRY_PASSWORD"));
    (outbound(), url, t)
}

#[tokio::test]
#[ignore = "needs the docker-registry emulator (tests/run.sh starts it)"]
async fn docker_registries_verify_list_repositories_and_refuse_wrong_passwords() {
    let (out, url, good) = registry();
    assert_reached(&verify(&out, &good, &Scope::default()).await, &url);

    let repositories = providers::repositories(&out, &good).await.unwrap();
    for pushed in emulator_env("TEST_REGISTRY_REPOSITORIES").split_whitespace() {
        assert!(
            repositories.iter().any(|r| r == pushed),
            "{pushed} not in {repositories:?}"
        );
    }

    let bad = registry_target("not-the-password");
    let err = failure(&verify(&out, &bad, &Scope::default()).await);
    assert!(err.starts_with("authentication failed"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
    let err = providers::repositories(&out, &bad).await.unwrap_err();
    assert!(
        err.to_string().starts_with("authentication failed"),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "needs the docker-registry emulator (tests/run.sh starts it)"]
async fn docker_credentials_are_issued_and_work_against_the_registry() {
    let (out, url, t) = registry();
    let issued = issue(&out, &t, "docker-registry", &url, 3600)
        .await
        .unwrap();
    assert_eq!(
        issued.expires_at, None,
        "htpasswd registries take the password"
    );
    let c = &issued.credentials;
    assert_eq!(c["registry"], url.as_str());
    let (user, password) = (
        c["username"].as_str().unwrap(),
        c["password"].as_str().unwrap(),
    );
    let status = reqwest::Client::new()
        .get(format!("{url}/v2/"))
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let err = issue(&out, &t, "docker-registry", "docker.io", 3600)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not the registry"), "{err}");
}

// --- OAuth2: the test OpenID provider's machine client --------------------------------

/// The provider's discovery document.
async fn discovery() -> Value {
    let issuer = crate::provider::issuer();
    reqwest::Client::new()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn machine_target(secret: &str) -> Target {
    let d = discovery().await;
    let api_url = d["userinfo_endpoint"].as_str().unwrap();
    let mut t = target(
        "oauth2",
        "client-credentials",
        "oauth2-api",
        json!({
            "api_url": api_url,
            "token_url": d["token_endpoint"],
            "client_id": "portcullis-machine",
            "client_secret": secret,
        }),
    );
    t.resource_id = Some(api_url.to_owned());
    t
}

#[tokio::test]
#[ignore = "needs the test OpenID provider (tests/run.sh starts it)"]
async fn oauth2_client_credentials_issue_expiring_tokens_the_server_knows() {
    let out = outbound();
    let t = machine_target("machine-secret").await;
    let api_url = t.resource_id.clone().unwrap();
    assert_reached(&verify(&out, &t, &Scope::default()).await, &api_url);

    let before = chrono::Utc::now().timestamp_millis();
    let issued = issue(&out, &t, "oauth2-api", &api_url, 3600).await.unwrap();
    let expires_at = issued.expires_at.expect("the provider says expires_in");
    assert!(
        (before + 500_000..=before + 700_000).contains(&expires_at),
        "about 600 s from now: {expires_at} vs {before}"
    );
    assert_eq!(issued.credentials["token_type"], "Bearer");
    let token = issued.credentials["access_token"].as_str().unwrap();

    // The provider itself vouches for the token.
    let introspection = discovery().await["introspection_endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer: Value = reqwest::Client::new()
        .post(introspection)
        .basic_auth("portcullis-machine", Some("machine-secret"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], "portcullis-machine", "{answer}");
}

#[tokio::test]
#[ignore = "needs the test OpenID provider (tests/run.sh starts it)"]
async fn oauth2_wrong_secrets_and_unknown_tokens_fail_authentication() {
    let out = outbound();
    let t = machine_target("not-the-secret").await;
    let err = failure(&verify(&out, &t, &Scope::default()).await);
    assert!(err.starts_with("authentication failed"), "{err}");
    assert!(err.contains("invalid_client"), "{err}");
    assert!(!err.contains("not-the-secret"), "{err}");
    let api_url = t.resource_id.clone().unwrap();
    let err = issue(&out, &t, "oauth2-api", &api_url, 3600)
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("authentication failed"),
        "{err}"
    );

    // A stored token the API does not accept.
    let stored = target(
        "oauth2",
        "token",
        "oauth2-api",
        json!({"api_url": api_url, "access_token": "made-up-token"}),
    );
    let err = failure(&verify(&out, &stored, &Scope::default()).await);
    assert!(err.starts_with("authentication failed"), "{err}");
    assert!(!err.contains("made-up-token"), "{err}");
}

// --- Docker registry with the token flow: a plain-http fixture on 127.0.0.1 ------------

/// A registry that sends clients to its token service (`/token`, Basic `user`/`pw`) and
/// wants the `registry:catalog:*` scope for the catalog, which comes in two pages.
async fn token_registry() -> String {
    let (listener, origin) = listen(false).await;
    let base = origin.clone();
    serve_on(listener, None, move |head, _| registry_answer(&base, head));
    origin
}

fn registry_answer(base: &str, head: &str) -> Answer {
    let target = head.split(' ').nth(1).unwrap_or("/");
    let url = url::Url::parse(&format!("{base}{target}")).unwrap();
    let query = |k: &str| {
        url.query_pairs()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.into_owned())
    };
    let auth = header(head, "authorization").unwrap_or_default();
    let challenge = |scope: &str| {
        format!("WWW-Authenticate: Bearer realm=\"{base}/token\",service=\"fixture\"{scope}\r\n")
    };
    let unauthorized = |h: String| {
        (
            "401 Unauthorized",
            h,
            r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_owned(),
        )
    };
    match url.path() {
        "/token" => {
            // base64("user:pw")
            if auth != "Basic dXNlcjpwdw==" || query("service").as_deref() != Some("fixture") {
                return unauthorized(String::new());
            }
            let scope = query("scope").unwrap_or_default();
            let body = json!({"token": format!("tok:{scope}"), "expires_in": 300});
            ("200 OK", String::new(), body.to_string())
        }
        "/v2/" if auth.starts_with("Bearer tok:") => ("200 OK", String::new(), "{}".into()),
        "/v2/" => unauthorized(challenge("")),
        "/v2/_catalog" if auth == "Bearer tok:registry:catalog:*" => {
            if query("last").is_none() {
                let link = format!(
                    "Link: </v2/_catalog?last=a&n={}>; rel=\"next\"\r\n",
                    query("n").unwrap_or_default()
                );
                ("200 OK", link, json!({"repositories": ["a"]}).to_string())
            } else {
                (
                    "200 OK",
                    String::new(),
                    json!({"repositories": ["b"]}).to_string(),
                )
            }
        }
        "/v2/_catalog" => unauthorized(challenge(
            ",scope=\"registry:catalog:*\",error=\"insufficient_scope\"",
        )),
        _ => ("404 Not Found", String::new(), "{}".into()),
    }
}

#[tokio::test]
async fn docker_registries_with_the_token_flow_issue_registry_tokens() {
    let url = token_registry().await;
    let out = outbound();
    let t = |password: &str| {
        let mut t = target(
            "docker",
            "password",
            "docker-registry",
            json!({"registry": url, "username": "user", "password": password}),
        );
        t.resource_id = Some(url.clone());
        t
    };
    assert_reached(&verify(&out, &t("pw"), &Scope::default()).await, &url);
    assert_eq!(
        providers::repositories(&out, &t("pw")).await.unwrap(),
        ["a", "b"],
        "a token with the catalog scope, both pages"
    );
    let before = chrono::Utc::now().timestamp_millis();
    let issued = issue(&out, &t("pw"), "docker-registry", &url, 3600)
        .await
        .unwrap();
    assert_eq!(
        Value::Object(issued.credentials),
        json!({"registry": url, "token": "tok:"})
    );
    let expires_at = issued.expires_at.unwrap();
    assert!((before + 299_000..=before + 305_000).contains(&expires_at));

    let err = failure(&verify(&out, &t("wrong"), &Scope::default()).await);
    assert!(err.starts_with("authentication failed"), "{err}");
}
