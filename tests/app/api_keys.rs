//! API keys: authentication, identical refusals, rotation with grace, token exchange,
//! concurrency, last-use bookkeeping.

use std::time::Duration;

use actix_web::http::StatusCode;
use diesel::prelude::*;
use portcullis::db::schema::api_keys;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

async fn exchange(app: &mut TestApp, key: &str) -> TestResponse {
    app.api_login(json!({"api_key": key})).await
}

/// Rotates key `main` of account `ci` as `admin` with `body`.
async fn rotate(app: &mut TestApp, admin: &str, key: &str, body: Value) -> TestResponse {
    let path = format!("/api/v1/service-accounts/ci/api-keys/{key}/rotate");
    app.post_as(admin, &path, body).await
}

/// A well-formed API key that was never issued.
fn unknown_key() -> String {
    let kind = portcullis::credential::CredentialKind::ApiKey;
    portcullis::credential::generate(kind, &[0; 32]).plaintext
}

/// `PATCH path` with `{"active": active}` as `admin`; asserts the 200.
async fn set_active(app: &mut TestApp, admin: &str, path: &str, active: bool) {
    app.patch_as(admin, path, json!({ "active": active }))
        .await
        .assert_status(StatusCode::OK);
}

#[actix_web::test]
async fn a_key_authenticates_its_service_account_directly_and_by_token() {
    let (mut app, admin, key) = TestApp::with_key("ci", "main").await;
    assert!(key.plaintext.starts_with("pck_"));
    let me = app.get_bearer("/api/v1/whoami", &key.plaintext).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["kind"], "service_account");
    assert_eq!(me.json()["name"], "ci");
    assert_eq!(me.json()["namespace"], "default");
    let res = exchange(&mut app, &key.plaintext).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let token = res.json()["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("pct_"));
    assert_eq!(
        app.get_bearer("/api/v1/whoami", &token).await.json()["name"],
        "ci"
    );
    // The key object never carries the plaintext again.
    let shown = app
        .get_bearer("/api/v1/service-accounts/ci/api-keys/main", &admin)
        .await;
    assert!(shown.json().get("key").is_none());
    assert!(!shown.body.contains(&key.plaintext[16..48]));
    assert!(
        shown.json()["display"]
            .as_str()
            .unwrap()
            .starts_with("pck_")
    );
    let listed = app
        .get_bearer("/api/v1/service-accounts/ci/api-keys", &admin)
        .await;
    assert!(!listed.body.contains(&key.plaintext[16..48]));
}

#[actix_web::test]
async fn every_bad_key_gets_the_identical_401() {
    let (mut app, admin, good) = TestApp::with_key("ci", "good").await;
    let inactive = app.create_key(&admin, "default", "ci", "inactive").await;
    let expired = app.create_key(&admin, "default", "ci", "expired").await;
    let owner_off = app.create_key(&admin, "default", "sleepy", "k").await;
    let inactive_key = "/api/v1/service-accounts/ci/api-keys/inactive";
    set_active(&mut app, &admin, inactive_key, false).await;
    set_active(&mut app, &admin, "/api/v1/service-accounts/sleepy", false).await;
    app.conn(|c| {
        diesel::update(api_keys::table.filter(api_keys::name.eq("expired")))
            .set(api_keys::expires_at.eq(Some(1i64)))
            .execute(c)
            .unwrap();
    });
    app.state.key_cache.clear();
    let mut wrong = good.plaintext.clone().into_bytes();
    // Same id, another secret with a valid checksum: regenerate for this id.
    let forged = {
        let parsed_id = &good.plaintext[4..16];
        portcullis::credential::regenerate(
            portcullis::credential::CredentialKind::ApiKey,
            parsed_id,
            &[0; 32],
        )
        .plaintext
    };
    wrong[30] = if wrong[30] == b'a' { b'b' } else { b'a' };
    let malformed = String::from_utf8(wrong).unwrap();
    let unknown = unknown_key();
    let mut bodies = Vec::new();
    for (what, key) in [
        ("inactive", inactive.plaintext.as_str()),
        ("expired", &expired.plaintext),
        ("deactivated owner", &owner_off.plaintext),
        ("malformed", &malformed),
        ("wrong secret", &forged),
        ("unknown", &unknown),
    ] {
        let res = app.get_bearer("/api/v1/whoami", key).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"), "{what}");
        bodies.push(res.body.clone());
        let ex = exchange(&mut app, key).await;
        assert_eq!(ex.status, StatusCode::UNAUTHORIZED, "{what}");
        bodies.push(ex.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(app.whoami_status(&good.plaintext).await, StatusCode::OK);
}

#[actix_web::test]
async fn a_malformed_key_is_refused_without_touching_the_database() {
    let mut app = TestApp::over_unreachable_database().await;
    let mut bad = unknown_key().into_bytes();
    bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
    let res = app
        .get_bearer("/api/v1/whoami", &String::from_utf8(bad).unwrap())
        .await;
    // A database access would have failed with 503; the checksum answered first.
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn rotation_keeps_the_old_secret_for_the_grace_window_then_refuses_it() {
    let (mut app, admin, old) = TestApp::with_key("ci", "main").await;
    let old_token = app.key_token(&old.plaintext).await;
    let res = rotate(
        &mut app,
        &admin,
        "main",
        json!({"retain_period_minutes": 60}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let new = res.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        &new[..16],
        &old.plaintext[..16],
        "the key id survives rotation"
    );
    assert_ne!(new, old.plaintext);
    assert!(res.json()["retain_until"].is_string());
    assert!(res.json()["last_rotated_at"].is_string());
    app.assert_whoami(&[&old.plaintext, &new, &old_token], StatusCode::OK)
        .await;
    let page_key = app
        .read_as(&admin, "/api/v1/service-accounts/ci/api-keys/main")
        .await;
    assert_eq!(page_key["retain_until"], res.json()["retain_until"]);
    // The window ends (moved into the past); the old secret and its tokens stop.
    app.conn(|c| {
        diesel::update(api_keys::table)
            .set(api_keys::retain_until.eq(Some(portcullis::db::now_ms() - 1)))
            .execute(c)
            .unwrap();
    });
    app.state.key_cache.clear();
    app.assert_whoami(&[&old.plaintext, &old_token], StatusCode::UNAUTHORIZED)
        .await;
    assert_eq!(app.whoami_status(&new).await, StatusCode::OK);
}

#[actix_web::test]
async fn rotation_without_grace_stops_the_old_secret_at_once() {
    let (mut app, admin, old) = TestApp::with_key("ci", "main").await;
    let res = rotate(&mut app, &admin, "main", json!({})).await;
    let new = res.assert_status(StatusCode::OK).json_str("key");
    let old_status = app.whoami_status(&old.plaintext).await;
    assert_eq!(old_status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&new).await, StatusCode::OK);
    let negative = json!({"retain_period_minutes": -1});
    let bad = rotate(&mut app, &admin, "main", negative).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn the_grace_window_never_outlives_the_key() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    app.create_key(&admin, "default", "ci", "placeholder").await;
    let expires = chrono::Utc::now() + chrono::Duration::minutes(30);
    let keys = "/api/v1/service-accounts/ci/api-keys";
    let short = json!({"name": "short", "expires_at": expires.to_rfc3339()});
    let created = app.post_as(&admin, keys, short).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let long_grace = json!({"retain_period_minutes": 600});
    let res = rotate(&mut app, &admin, "short", long_grace).await;
    let res = res.assert_status(StatusCode::OK).json();
    assert_eq!(res["retain_until"], res["expires_at"]);
    for expires_at in ["2001-01-01T00:00:00Z", "tomorrow"] {
        let key = json!({"name": "x", "expires_at": expires_at});
        let refused = app.post_as(&admin, keys, key).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{expires_at}"
        );
    }
}

#[actix_web::test]
async fn twenty_concurrent_rotations_leave_one_current_and_one_consistent_previous_secret() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    app.create_key(&admin, "default", "ci", "main").await;
    let token = admin.clone();
    let requests = (0..20).map(|_| {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/service-accounts/ci/api-keys/main/rotate")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(json!({"retain_period_minutes": 30}))
    });
    let mut results = Vec::new();
    let mut futures = Vec::new();
    for req in requests {
        futures.push(app.send_detached(req));
    }
    for res in futures_util::future::join_all(futures).await {
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        results.push(res.json()["key"].as_str().unwrap().to_owned());
    }
    app.state.key_cache.clear();
    let mut working = 0;
    for key in &results {
        if app.whoami_status(key).await == StatusCode::OK {
            working += 1;
        }
    }
    assert_eq!(
        working, 2,
        "exactly the current and the previous secret work"
    );
    let generation: i64 = app.conn(|c| {
        api_keys::table
            .select(api_keys::generation)
            .first(c)
            .unwrap()
    });
    assert_eq!(generation, 20, "no rotation was lost");
}

#[actix_web::test]
async fn last_used_is_recorded_off_the_request_path_at_most_once_a_minute() {
    let (mut app, admin, key) = TestApp::with_key("ci", "main").await;
    let last_used = |app: &TestApp| -> Option<i64> {
        app.conn(|c| {
            api_keys::table
                .select(api_keys::last_used_at)
                .first(c)
                .unwrap()
        })
    };
    assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
    assert_eq!(
        last_used(&app),
        None,
        "nothing is written on the request path"
    );
    app.flush_usage().await;
    let first = last_used(&app).expect("written by the flush");
    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    for _ in 0..5 {
        assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
    }
    app.flush_usage().await;
    assert_eq!(last_used(&app), Some(first), "coalesced within the minute");
    let listed = app.read_as(&admin, "/api/v1/service-accounts/ci").await;
    assert!(listed["last_used_at"].is_string());
}

#[actix_web::test]
async fn deactivating_an_account_rejects_its_keys_and_tokens_on_the_next_request() {
    let (mut app, admin, key) = TestApp::with_key("ci", "main").await;
    let token = app.key_token(&key.plaintext).await;
    assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
    set_active(&mut app, &admin, "/api/v1/service-accounts/ci", false).await;
    app.assert_whoami(&[&key.plaintext, &token], StatusCode::UNAUTHORIZED)
        .await;
    set_active(&mut app, &admin, "/api/v1/service-accounts/ci", true).await;
    assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
    // The key comes back with the account; a token minted before never does.
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
    // The same for a key: deactivating it ends its tokens for good.
    let token = app.key_token(&key.plaintext).await;
    let one = "/api/v1/service-accounts/ci/api-keys/main";
    set_active(&mut app, &admin, one, false).await;
    set_active(&mut app, &admin, one, true).await;
    assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
    let del = app
        .delete_as(&admin, "/api/v1/service-accounts/ci/api-keys/main")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.whoami_status(&key.plaintext).await,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn failed_key_attempts_are_throttled_per_client() {
    let mut app = TestApp::with_login_limits(2, Duration::from_secs(3600)).await;
    let admin = app.admin_token().await;
    let good = app.create_key(&admin, "default", "ci", "main").await;
    let unknown = unknown_key();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.whoami_status(&unknown).await);
    }
    assert!(
        statuses[..6].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS);
    // A valid key from the same client still works: successes never count.
    assert_eq!(app.whoami_status(&good.plaintext).await, StatusCode::OK);
}
