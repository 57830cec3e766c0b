//! The GCP provider against a fixture token endpoint and the GCS emulator, called
//! directly (no app, no database).
//!
//! No Google token endpoint can be installed here, so each test runs a plain-HTTP fixture
//! on 127.0.0.1 that checks what Google's checks: the grant type; for a JWT-bearer
//! assertion its RS256 signature against the service account's public key
//! (tests/fixtures/gcp-test-key.pub.pem), `kid`, `iss`, `aud` equal to the fixture's own
//! URL, `exp` in the future and at most one hour after `iat`, and the cloud-platform
//! scope; for a refresh-token grant the client and the refresh token. Anything else is
//! answered `400 invalid_grant`.
//!
//! Bucket discovery goes to gcp-storage-emulator (`TEST_GCS_URL`, started by tests/run.sh
//! with the buckets `alpha-bucket` and `beta-bucket`) through `endpoint_url`; those tests
//! are `#[ignore]`d and run with `--include-ignored`. The emulator does not check the
//! Authorization header at all: that the token is accepted is shown by the fixture alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portcullis::connectors::providers::{Scope, Target, verify};
use portcullis::outbound::Outbound;
use rand::RngCore;
use serde_json::{Value, json};

use crate::fixtures::{self, issue, scope, sorted};
use crate::helpers::emulator_env;

const TEST_KEY: &str = include_str!("../fixtures/gcp-test-key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../fixtures/gcp-test-key.pub.pem");
const OTHER_KEY: &str = include_str!("../fixtures/gcp-other-key.pem");
const EMAIL: &str = "portcullis-test@test-project.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const REFRESH_TOKEN: &str = "1//fixture-refresh-token";

/// `TEST_GCS_URL` (asserted set).
fn gcs_url() -> String {
    emulator_env("TEST_GCS_URL")
}

fn outbound() -> Outbound {
    fixtures::outbound(true)
}

#[derive(Debug, serde::Deserialize)]
struct Claims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// The fixture token endpoint's state: its URL and the tokens it issued.
struct Endpoint {
    url: String,
    issued: Mutex<Vec<String>>,
}

/// A running fixture token endpoint.
struct TokenEndpoint {
    url: String,
    state: Arc<Endpoint>,
}

impl TokenEndpoint {
    async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let state = Arc::new(Endpoint {
            url: url.clone(),
            issued: Mutex::new(Vec::new()),
        });
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/token", web::post().to(token_endpoint))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self { url, state }
    }

    fn issued(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }
}

fn invalid_grant() -> HttpResponse {
    HttpResponse::BadRequest()
        .json(json!({"error": "invalid_grant", "error_description": "refused by the fixture"}))
}

/// Google's checks of a JWT-bearer assertion, or why it is refused.
fn check_assertion(assertion: &str, own_url: &str) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| e.to_string())?;
    if header.kid.as_deref() != Some("test-key-id") {
        return Err("unknown kid".into());
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[own_url]);
    v.set_issuer(&[EMAIL]);
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    v.leeway = 0;
    let public = DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap();
    let c = jsonwebtoken::decode::<Claims>(assertion, &public, &v)
        .map_err(|e| e.to_string())?
        .claims;
    let now = chrono::Utc::now().timestamp();
    if c.exp <= now || c.exp - c.iat > 3600 || c.iat > now + 60 {
        return Err(format!("bad times {c:?}"));
    }
    if c.aud != own_url || c.iss != EMAIL || c.scope.split(' ').all(|s| s != SCOPE) {
        return Err(format!("bad claims {c:?}"));
    }
    Ok(())
}

async fn token_endpoint(
    state: web::Data<Endpoint>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let ok = match field("grant_type") {
        JWT_BEARER => check_assertion(field("assertion"), &state.url).is_ok(),
        "refresh_token" => {
            field("client_id") == "fixture-client.apps.googleusercontent.com"
                && field("client_secret") == "fixture-client-secret"
                && field("refresh_token") == REFRESH_TOKEN
        }
        _ => false,
    };
    if !ok {
        return invalid_grant();
    }
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("ya29.fixture-{}", hex::encode(bytes));
    state.issued.lock().unwrap().push(token.clone());
    HttpResponse::Ok()
        .json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}))
}

/// A service account key file signed with `private_key`, its tokens at `token_uri`.
fn key_json(private_key: &str, token_uri: &str) -> String {
    json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "test-key-id",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A GCP connector with `config` (project `test-project`) reaching `resource_type`.
fn target(method: &str, resource_type: &str, config: Value) -> Target {
    let mut c = json!({"project_id": "test-project"});
    if let (Value::Object(c), Value::Object(more)) = (&mut c, config) {
        c.extend(more);
    }
    fixtures::target("gcp", method, &[resource_type], c)
}

/// A service account connector signing with `private_key`, its tokens from `endpoint`.
fn service_account(endpoint: &TokenEndpoint, private_key: &str, resource_type: &str) -> Target {
    target(
        "service-account",
        resource_type,
        json!({"service_account_json": key_json(private_key, &endpoint.url)}),
    )
}

/// The same, its buckets listed at the emulator (`endpoint_url`).
fn on_emulator(endpoint: &TokenEndpoint) -> Target {
    let mut t = service_account(endpoint, TEST_KEY, "gcs-bucket");
    t.config.insert("endpoint_url".into(), json!(gcs_url()));
    t
}

/// The emulator's buckets, listed without the code under test, as `gs://` ids.
async fn emulator_buckets() -> Vec<String> {
    let url = format!("{}/storage/v1/b?project=test-project", gcs_url());
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    sorted(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| format!("gs://{}", b["name"].as_str().unwrap())),
    )
}

fn buckets() -> Scope {
    scope("gcs-bucket")
}

#[actix_web::test]
#[ignore = "needs gcp-storage-emulator (tests/run.sh starts it)"]
async fn verification_lists_exactly_the_emulators_buckets() {
    let endpoint = TokenEndpoint::start().await;
    let t = on_emulator(&endpoint);
    let v = verify(&outbound(), &t, &buckets()).await;
    assert_eq!(v.error, None, "{v:?}");
    assert_eq!(v.resources.len(), 1);
    assert_eq!(v.resources[0].error, None, "{v:?}");
    let ids = v.resources[0].resource_ids.clone().unwrap();
    assert_eq!(ids, emulator_buckets().await);
    for seeded in ["gs://alpha-bucket", "gs://beta-bucket"] {
        assert!(ids.iter().any(|id| id == seeded), "{seeded} in {ids:?}");
    }
    assert!(
        endpoint.issued().len() >= 2,
        "authentication and discovery each got a token from the fixture"
    );
}

#[actix_web::test]
#[ignore = "needs gcp-storage-emulator (tests/run.sh starts it)"]
async fn a_pinned_bucket_that_does_not_exist_is_not_reached() {
    let endpoint = TokenEndpoint::start().await;
    let mut t = on_emulator(&endpoint);
    t.resource_id = Some("gs://no-such-bucket".into());
    let v = verify(&outbound(), &t, &Scope::default()).await;
    assert_eq!(v.error, None, "authentication works");
    let error = v.resources[0].error.clone().expect("not reached");
    assert!(
        error.contains("gs://no-such-bucket") && error.contains("not among"),
        "{error}"
    );

    t.resource_id = Some("gs://alpha-bucket".into());
    let v = verify(&outbound(), &t, &Scope::default()).await;
    assert_eq!(v.resources[0].error, None, "{v:?}");
}

#[actix_web::test]
async fn a_key_whose_signature_is_refused_fails_authentication_without_showing_it() {
    let endpoint = TokenEndpoint::start().await;
    let t = service_account(&endpoint, OTHER_KEY, "gcp-generic");
    let v = verify(&outbound(), &t, &Scope::default()).await;
    let error = v.error.clone().expect("verification fails");
    assert_eq!(
        error,
        "authentication failed: the token endpoint answered invalid_grant (HTTP 400)"
    );
    assert!(v.resources.iter().all(|r| r.resource_ids.is_none()));
    assert!(endpoint.issued().is_empty());
    let err = issue(&outbound(), &t, "gcp-generic", "test-project", 3600)
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("authentication failed"),
        "{err}"
    );

    // The same key with the right signature passes: the refusal was the signature.
    let t = service_account(&endpoint, TEST_KEY, "gcp-generic");
    let v = verify(&outbound(), &t, &Scope::default()).await;
    assert_eq!(v.error, None, "{v:?}");
    assert_eq!(
        v.resources[0].resource_ids.as_deref(),
        Some(&["test-project".to_owned()][..])
    );
}

/// Asserts a Bearer token from the fixture for `test-project`, expiring in about an hour.
fn assert_fixture_token(
    endpoint: &TokenEndpoint,
    issued: &portcullis::connectors::providers::Issued,
) {
    let keys: Vec<&str> = issued.credentials.keys().map(String::as_str).collect();
    assert_eq!(keys, ["access_token", "token_type", "project_id"]);
    assert_eq!(issued.credentials["token_type"], "Bearer");
    assert_eq!(issued.credentials["project_id"], "test-project");
    let token = issued.credentials["access_token"].as_str().unwrap();
    assert!(endpoint.issued().iter().any(|t| t == token));
    let now = chrono::Utc::now().timestamp_millis();
    let expires_at = issued.expires_at.expect("an expiry");
    assert!(
        (now + 3_590_000..=now + 3_600_000).contains(&expires_at),
        "{expires_at} vs {now}"
    );
}

#[actix_web::test]
async fn issued_tokens_come_from_the_token_endpoint_with_their_expiry() {
    let endpoint = TokenEndpoint::start().await;
    let t = service_account(&endpoint, TEST_KEY, "gcs-bucket");
    let issued = issue(&outbound(), &t, "gcs-bucket", "gs://alpha-bucket", 3600)
        .await
        .unwrap();
    assert_fixture_token(&endpoint, &issued);

    let mut off = t.clone();
    off.config
        .insert("generate_temporary_tokens".into(), json!(false));
    let err = issue(&outbound(), &off, "gcs-bucket", "gs://alpha-bucket", 3600)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("configured not to issue temporary tokens"),
        "{err}"
    );
}

#[actix_web::test]
async fn user_accounts_exchange_their_refresh_token() {
    let endpoint = TokenEndpoint::start().await;
    let user = |refresh_token: &str| {
        let file = json!({
            "type": "authorized_user",
            "client_id": "fixture-client.apps.googleusercontent.com",
            "client_secret": "fixture-client-secret",
            "refresh_token": refresh_token,
            "token_uri": endpoint.url,
        });
        target(
            "user-account",
            "gcp-generic",
            json!({"user_account_json": file.to_string()}),
        )
    };
    let issued = issue(
        &outbound(),
        &user(REFRESH_TOKEN),
        "gcp-generic",
        "test-project",
        3600,
    )
    .await
    .unwrap();
    assert_fixture_token(&endpoint, &issued);

    let wrong = "1//revoked-refresh-token";
    let v = verify(&outbound(), &user(wrong), &Scope::default()).await;
    let error = v.error.expect("verification fails");
    assert!(error.contains("authentication failed"), "{error}");
    assert!(!error.contains(wrong) && !error.contains("fixture-client-secret"));
}
