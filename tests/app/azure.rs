//! The Azure provider against azurite's blob service over https (bearer tokens) and a
//! token endpoint fixture, called directly (no app, no database).
//!
//! The fixture stands in for Microsoft Entra ID: `POST /{tenant}/oauth2/v2.0/token` checks
//! the client id, secret, grant type and scope as Entra ID does and answers a JWT with
//! the claims azurite checks (`iss` https://sts.windows.net/…, `aud`, `nbf`/`iat`/`exp`;
//! it does not check signatures). The connector reaches it through `authority_host`, and
//! azurite through `blob_endpoint`, trusting the emulator's test CA the way
//! `PORTCULLIS_CONNECTOR_CA_FILE` does. The tests are `#[ignore]`d: tests/run.sh starts
//! azurite (`TEST_AZURITE_HTTPS_BLOB_URL`, `TEST_AZURITE_CA_PEM_FILE`).

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis::connectors::providers::{Scope, Target, Verification, verify};
use portcullis::outbound::{Outbound, Policy};
use serde_json::{Value, json};

use crate::fixtures::{self, issue, serve};
use crate::helpers::emulator_env;

const TENANT: &str = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
const CLIENT_ID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const SECRET: &str = "fixture-client-secret-4f7e";

/// An outbound client allowed to reach 127.0.0.1, trusting the emulator's CA or not.
fn outbound(trust_emulator_ca: bool) -> Outbound {
    let extra_ca_pem = trust_emulator_ca.then(|| {
        std::fs::read_to_string(emulator_env("TEST_AZURITE_CA_PEM_FILE"))
            .unwrap_or_else(|e| panic!("TEST_AZURITE_CA_PEM_FILE: {e}"))
    });
    Outbound::new(Policy {
        allow_private: true,
        extra_ca_pem,
        ..Policy::default()
    })
    .unwrap()
}

/// The token endpoint fixture: its URL, and the scopes of the tokens it issued.
struct Entra {
    url: String,
    scopes: Arc<Mutex<Vec<String>>>,
}

async fn entra() -> Entra {
    let scopes = Arc::new(Mutex::new(Vec::new()));
    let log = scopes.clone();
    let url = serve(None, move |head, body| {
        let (status, answer) = token_answer(head, body, &log);
        (status, String::new(), answer)
    })
    .await;
    Entra { url, scopes }
}

/// What Entra ID answers a client-credentials request (its error shapes included).
fn token_answer(head: &str, body: &[u8], scopes: &Mutex<Vec<String>>) -> (&'static str, String) {
    let error = |status, code: &str, aadsts: u64| {
        let answer = json!({
            "error": code,
            "error_description": format!("AADSTS{aadsts}: fixture says no. Trace ID: x"),
            "error_codes": [aadsts],
        });
        (status, answer.to_string())
    };
    let request_line = head.lines().next().unwrap_or_default();
    if request_line != format!("POST /{TENANT}/oauth2/v2.0/token HTTP/1.1") {
        return error("400 Bad Request", "invalid_request", 90002);
    }
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    let field = |k: &str| form.get(k).map_or("", String::as_str);
    if field("grant_type") != "client_credentials" {
        return error("400 Bad Request", "unsupported_grant_type", 70003);
    }
    if field("client_id") != CLIENT_ID {
        return error("400 Bad Request", "unauthorized_client", 700_016);
    }
    if field("client_secret") != SECRET {
        return error("401 Unauthorized", "invalid_client", 7_000_215);
    }
    let Some(audience) = field("scope").strip_suffix("/.default") else {
        return error("400 Bad Request", "invalid_scope", 1_002_012);
    };
    scopes.lock().unwrap().push(field("scope").to_owned());
    let now = chrono::Utc::now().timestamp();
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let jwt = format!(
        "{}.{}.{}",
        part(json!({"typ": "JWT", "alg": "RS256", "kid": "fixture"})),
        part(json!({
            "aud": audience,
            "iss": format!("https://sts.windows.net/{TENANT}/"),
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3599,
            "appid": CLIENT_ID,
            "tid": TENANT,
        })),
        URL_SAFE_NO_PAD.encode(b"fixture signature, never checked")
    );
    let answer = json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": jwt});
    ("200 OK", answer.to_string())
}

/// A service-principal connector for the emulator's blob containers.
fn target(entra: &Entra, secret: &str) -> Target {
    let config = json!({
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "authority_host": entra.url,
        "blob_endpoint": emulator_env("TEST_AZURITE_HTTPS_BLOB_URL"),
    });
    fixtures::target("azure", "service-principal", &["blob-container"], config)
}

fn blob_error(v: &Verification) -> String {
    assert_eq!(v.resources.len(), 1, "{v:?}");
    v.resources[0].error.clone().unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs azurite over https (tests/run.sh starts it)"]
async fn service_principals_verify_and_list_exactly_the_containers() {
    let entra = entra().await;
    let v = verify(&outbound(true), &target(&entra, SECRET), &Scope::default()).await;
    fixtures::assert_reached(&v, &["alpha".to_owned(), "beta".to_owned()]);
    assert_eq!(
        *entra.scopes.lock().unwrap(),
        [
            "https://management.azure.com/.default",
            "https://storage.azure.com/.default"
        ]
    );
}

#[tokio::test]
#[ignore = "needs azurite over https (tests/run.sh starts it)"]
async fn a_wrong_client_secret_fails_authentication_without_showing_it() {
    let entra = entra().await;
    let wrong = "wrong-secret-value-9c1d";
    let v = verify(&outbound(true), &target(&entra, wrong), &Scope::default()).await;
    let error = v.error.clone().unwrap_or_default();
    assert_eq!(
        error,
        "authentication failed: Microsoft Entra ID answered invalid_client (AADSTS7000215, HTTP 401)"
    );
    assert_eq!(blob_error(&v), error);
    assert!(!format!("{v:?}").contains(wrong));
}

#[tokio::test]
#[ignore = "needs azurite over https (tests/run.sh starts it)"]
async fn blob_tokens_are_issued_with_an_expiry_and_reach_the_containers() {
    let entra = entra().await;
    let before = chrono::Utc::now().timestamp_millis();
    let issued = issue(
        &outbound(true),
        &target(&entra, SECRET),
        "blob-container",
        "alpha",
        3600,
    )
    .await
    .unwrap();
    assert_eq!(issued.credentials["token_type"], "Bearer");
    let at = issued.expires_at.unwrap();
    assert!(
        (before + 3_590_000..=before + 3_610_000).contains(&at),
        "{at}"
    );
    assert_eq!(
        *entra.scopes.lock().unwrap(),
        ["https://storage.azure.com/.default"]
    );
    // The token itself opens the container, as a client would use it.
    let ca = std::fs::read(emulator_env("TEST_AZURITE_CA_PEM_FILE")).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let token = issued.credentials["access_token"].as_str().unwrap();
    let url = format!(
        "{}/alpha?restype=container&comp=list",
        emulator_env("TEST_AZURITE_HTTPS_BLOB_URL")
    );
    let resp = client
        .get(&url)
        .bearer_auth(token)
        .header("x-ms-version", "2021-08-06")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}

#[tokio::test]
#[ignore = "needs azurite over https (tests/run.sh starts it)"]
async fn a_pinned_container_that_does_not_exist_is_not_reached() {
    let entra = entra().await;
    let mut t = target(&entra, SECRET);
    t.resource_id = Some("gamma".into());
    let v = verify(&outbound(true), &t, &Scope::default()).await;
    assert_eq!(v.error, None, "{v:?}");
    assert_eq!(
        blob_error(&v),
        "blob-container gamma is not among the 2 the credentials reach"
    );
}

#[tokio::test]
#[ignore = "needs azurite over https (tests/run.sh starts it)"]
async fn the_emulators_ca_is_what_makes_tls_succeed() {
    let entra = entra().await;
    let v = verify(&outbound(false), &target(&entra, SECRET), &Scope::default()).await;
    assert_eq!(v.error, None, "signing in needs no TLS here: {v:?}");
    let error = blob_error(&v);
    assert!(error.starts_with("TLS with 127.0.0.1 failed"), "{error}");
}
