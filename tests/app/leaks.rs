//! Leaked keys: reported by anyone holding them (`POST /api/v1/leaks`, the dashboard's
//! report page) or by GitHub's secret scanning (`POST /api/v1/leaks/github`, signed with
//! an ECDSA key from a key list served here on 127.0.0.1, generated per test). A
//! reported key stops at once, with its tokens; a bad signature changes nothing.

use std::net::TcpListener;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine as _;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

/// An app with `root`, namespace `ml`, account `ml/etl` and a webhook queue for
/// `api_key.leaked`; the leak keys served at `keys_url` when given.
async fn app(keys_url: Option<String>) -> (TestApp, String) {
    let adjust = |c: &mut portcullis::config::Config| {
        c.outbound.allow_private = true;
        c.webhooks.allow_private = true;
        c.leak_keys_url = keys_url.map(|u| u.parse().unwrap());
    };
    let (mut app, root) = TestApp::with_account(adjust, "ml", "etl").await;
    app.create_as(
        &root,
        "/api/v1/namespaces/ml/webhooks",
        json!({"url": "http://127.0.0.1:9/hook", "events": ["api_key.leaked"]}),
    )
    .await;
    (app, root)
}

async fn new_key(app: &mut TestApp, root: &str, name: &str) -> String {
    app.create_as(
        root,
        "/api/v1/namespaces/ml/service-accounts/etl/api-keys",
        json!({"name": name}),
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn queued_leak_alerts(app: &mut TestApp, root: &str) -> usize {
    let hooks = app.read_as(root, "/api/v1/namespaces/ml/webhooks").await;
    let id = &hooks["items"][0]["id"];
    let log = app
        .read_as(
            root,
            &format!("/api/v1/namespaces/ml/webhooks/{id}/deliveries"),
        )
        .await;
    log["items"].as_array().unwrap().len()
}

#[actix_web::test]
async fn anyone_holding_a_key_reports_it_and_it_stops_at_once() {
    let (mut app, root) = app(None).await;
    // A secret rotated out for good opens nothing: reporting it changes nothing.
    let old = new_key(&mut app, &root, "rotated").await;
    app.post_as(
        &root,
        "/api/v1/namespaces/ml/service-accounts/etl/api-keys/rotated/rotate",
        json!({"retain_period_minutes": 0}),
    )
    .await
    .assert_status(StatusCode::OK);
    let res = app
        .json(
            actix_web::http::Method::POST,
            "/api/v1/leaks",
            json!({"key": old}),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let rotated = app
        .read_as(
            &root,
            "/api/v1/namespaces/ml/service-accounts/etl/api-keys/rotated",
        )
        .await;
    assert_eq!(rotated["active"], true);

    let key = new_key(&mut app, &root, "exposed").await;
    let token = app
        .api_login(json!({"api_key": key}))
        .await
        .json_str("access_token");
    let res = app
        .json(
            actix_web::http::Method::POST,
            "/api/v1/leaks",
            json!({"key": key}),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let body = res.json();
    assert_eq!(
        body,
        json!({"deactivated": true, "service_account": "ml/etl", "key": "exposed"})
    );
    app.assert_whoami(&[&key, &token], StatusCode::UNAUTHORIZED)
        .await;
    let k = app
        .read_as(
            &root,
            "/api/v1/namespaces/ml/service-accounts/etl/api-keys/exposed",
        )
        .await;
    assert_eq!(k["active"], false);
    let log = app
        .read_as(&root, "/api/v1/audit-events?action=api_key.leaked")
        .await;
    assert_eq!(log["items"][0]["actor"], "leak-report:self-service");
    assert_eq!(queued_leak_alerts(&mut app, &root).await, 1);
    let mut altered = key.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'x' { 'y' } else { 'x' });
    for unknown in ["pck_nothing", "", &altered] {
        let res = app
            .json(
                actix_web::http::Method::POST,
                "/api/v1/leaks",
                json!({"key": unknown}),
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{unknown}");
    }
}

#[actix_web::test]
async fn the_report_page_deactivates_a_pasted_key() {
    let (mut app, root) = app(None).await;
    let key = new_key(&mut app, &root, "pasted").await;
    app.create_user("someone", &[]);
    app.login("someone", PASSWORD).await;
    let page = app.get("/report-leak").await.assert_status(StatusCode::OK);
    assert_eq!(page.fragment_count("#leak-form"), 1);
    let done = app.post_form("/report-leak", &[("key", &key)]).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(
        done.text("#leak-done")
            .contains("pasted of ml/etl is deactivated")
    );
    assert!(!done.body.contains(&key), "the key is not shown back");
    let none = app.post_form("/report-leak", &[("key", "not a key")]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.text("#leak-error").contains("nothing changed"));
    assert_eq!(app.whoami_status(&key).await, StatusCode::UNAUTHORIZED);
}

/// A P-256 key pair, and GitHub's key list naming its public half `key_id`.
fn github_keys(key_id: &str) -> (EcdsaKeyPair, String) {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // SubjectPublicKeyInfo of a P-256 key: a fixed header, then the point.
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.extend_from_slice(pair.public_key().as_ref());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    let list = json!({"public_keys": [{"key_identifier": key_id, "key": pem, "is_current": true}]});
    (pair, list.to_string())
}

fn sign(pair: &EcdsaKeyPair, body: &[u8]) -> String {
    let sig = pair.sign(&ring::rand::SystemRandom::new(), body).unwrap();
    base64::engine::general_purpose::STANDARD.encode(sig.as_ref())
}

async fn post_github(
    app: &mut TestApp,
    body: &str,
    key_id: &str,
    signature: &str,
) -> (StatusCode, Value) {
    let res = app
        .send(
            TestRequest::post()
                .uri("/api/v1/leaks/github")
                .insert_header(("content-type", "application/json"))
                .insert_header(("Github-Public-Key-Identifier", key_id))
                .insert_header(("Github-Public-Key-Signature", signature))
                .set_payload(body.to_owned()),
        )
        .await;
    let json = serde_json::from_str(&res.body).unwrap_or(Value::Null);
    (res.status, json)
}

#[actix_web::test]
async fn github_reports_are_verified_by_signature_and_deactivate_the_key() {
    let key_id = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a";
    let (pair, list) = github_keys(key_id);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let keys_url = format!(
        "http://{}/meta/public_keys/secret_scanning",
        listener.local_addr().unwrap()
    );
    let server = HttpServer::new(move || {
        let list = list.clone();
        App::new().default_service(web::to(move || {
            let list = list.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(list)
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let (mut app, root) = app(Some(keys_url)).await;
    let leaked = new_key(&mut app, &root, "leaked").await;
    let safe = new_key(&mut app, &root, "safe").await;
    let body = json!([
        {"token": leaked, "type": "portcullis_api_key",
         "url": "https://github.com/org/repo/blob/abc/config.yml", "source": "content"},
        {"token": "pck_notours", "type": "portcullis_api_key", "url": "", "source": "commit"}
    ])
    .to_string();

    // A signature over another body, an unknown key id, no headers: nothing changes.
    let forged_body = json!([{"token": safe, "type": "portcullis_api_key"}]).to_string();
    let (status, _) = post_github(
        &mut app,
        &forged_body,
        key_id,
        &sign(&pair, body.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post_github(
        &mut app,
        &body,
        "another-key",
        &sign(&pair, body.as_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post_github(&mut app, &body, "", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.assert_whoami(&[&leaked, &safe], StatusCode::OK).await;

    let (status, verdicts) =
        post_github(&mut app, &body, key_id, &sign(&pair, body.as_bytes())).await;
    assert_eq!(status, StatusCode::OK, "{verdicts}");
    assert_eq!(verdicts[0]["label"], "true_positive");
    assert_eq!(verdicts[1]["label"], "false_positive");
    assert!(
        !verdicts.to_string().contains(&leaked),
        "the token is not echoed"
    );
    assert_eq!(app.whoami_status(&leaked).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&safe).await, StatusCode::OK);
    let log = app
        .read_as(&root, "/api/v1/audit-events?action=api_key.leaked")
        .await;
    let event = &log["items"][0];
    assert_eq!(event["actor"], "leak-report:github");
    let detail = event["detail"].as_str().unwrap();
    assert!(
        detail.contains("https://github.com/org/repo/blob/abc/config.yml (content)"),
        "{detail}"
    );
    assert_eq!(queued_leak_alerts(&mut app, &root).await, 1);
    handle.stop(true).await;
}

#[actix_web::test]
async fn without_a_key_list_github_reports_are_not_taken() {
    let (mut app, _) = app(None).await;
    let (status, _) = post_github(&mut app, "[]", "k", "s").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
