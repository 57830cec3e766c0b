//! API keys: authentication, identical refusals, rotation with grace, token exchange,
//! concurrency, last-use bookkeeping.

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use diesel::prelude::*;
use portcullis::app::AppState;
use portcullis::config::{Config, DatabaseUrl};
use portcullis::db::Db;
use portcullis::db::schema::api_keys;
use portcullis::secrets::ServerSecret;
use serde_json::json;

use crate::helpers::{TestApp, TestDb};

async fn exchange(app: &mut TestApp, key: &str) -> crate::helpers::TestResponse {
    app.json(Method::POST, "/api/v1/login", json!({"api_key": key}), None)
        .await
}

#[actix_web::test]
async fn a_key_authenticates_its_service_account_directly_and_by_token() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let key = app.create_key(&admin, "default", "ci", "main").await;
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
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let good = app.create_key(&admin, "default", "ci", "good").await;
    let inactive = app.create_key(&admin, "default", "ci", "inactive").await;
    let expired = app.create_key(&admin, "default", "ci", "expired").await;
    let owner_off = app.create_key(&admin, "default", "sleepy", "k").await;
    app.patch_as(
        &admin,
        "/api/v1/service-accounts/ci/api-keys/inactive",
        json!({"active": false}),
    )
    .await;
    app.patch_as(
        &admin,
        "/api/v1/service-accounts/sleepy",
        json!({"active": false}),
    )
    .await;
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
        portcullis::auth::credential::regenerate(
            portcullis::auth::credential::CredentialKind::ApiKey,
            parsed_id,
            &[0; 32],
        )
        .plaintext
    };
    wrong[30] = if wrong[30] == b'a' { b'b' } else { b'a' };
    let malformed = String::from_utf8(wrong).unwrap();
    let unknown = portcullis::auth::credential::generate(
        portcullis::auth::credential::CredentialKind::ApiKey,
        &[0; 32],
    )
    .plaintext;
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
    let db = TestDb::new();
    let unreachable = DatabaseUrl::Sqlite(db.dir.path().join("missing/never.db"));
    let config = Config::for_tests(db.dir.path(), unreachable.clone());
    let secret = ServerSecret::load_or_create(config.secret_key.as_deref(), db.dir.path()).unwrap();
    let state = AppState::new(config, Db::connect_lazily(&unreachable, 1), &secret).unwrap();
    let mut app = TestApp::mount(state, db).await;
    let good = portcullis::auth::credential::generate(
        portcullis::auth::credential::CredentialKind::ApiKey,
        &[0; 32],
    );
    let mut bad = good.plaintext.into_bytes();
    bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
    let res = app
        .get_bearer("/api/v1/whoami", &String::from_utf8(bad).unwrap())
        .await;
    // A database access would have failed with 503; the checksum answered first.
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn rotation_keeps_the_old_secret_for_the_grace_window_then_refuses_it() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let old = app.create_key(&admin, "default", "ci", "main").await;
    let old_token = exchange(&mut app, &old.plaintext).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys/main/rotate",
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
    for key in [&old.plaintext, &new, &old_token] {
        assert_eq!(app.whoami_status(key).await, StatusCode::OK);
    }
    let page_key = app
        .get_bearer("/api/v1/service-accounts/ci/api-keys/main", &admin)
        .await
        .json();
    assert_eq!(page_key["retain_until"], res.json()["retain_until"]);
    // The window ends (moved into the past); the old secret and its tokens stop.
    app.conn(|c| {
        diesel::update(api_keys::table)
            .set(api_keys::retain_until.eq(Some(portcullis::db::now_ms() - 1)))
            .execute(c)
            .unwrap();
    });
    app.state.key_cache.clear();
    assert_eq!(
        app.whoami_status(&old.plaintext).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.whoami_status(&old_token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.whoami_status(&new).await, StatusCode::OK);
}

#[actix_web::test]
async fn rotation_without_grace_stops_the_old_secret_at_once() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let old = app.create_key(&admin, "default", "ci", "main").await;
    let res = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys/main/rotate",
            json!({}),
        )
        .await;
    let new = res.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(
        app.whoami_status(&old.plaintext).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.whoami_status(&new).await, StatusCode::OK);
    let bad = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys/main/rotate",
            json!({"retain_period_minutes": -1}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn the_grace_window_never_outlives_the_key() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    app.create_key(&admin, "default", "ci", "placeholder").await;
    let expires = chrono::Utc::now() + chrono::Duration::minutes(30);
    let created = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys",
            json!({"name": "short", "expires_at": expires.to_rfc3339()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let res = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys/short/rotate",
            json!({"retain_period_minutes": 600}),
        )
        .await;
    assert_eq!(res.json()["retain_until"], res.json()["expires_at"]);
    let past = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys",
            json!({"name": "past", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    let garbage = app
        .post_as(
            &admin,
            "/api/v1/service-accounts/ci/api-keys",
            json!({"name": "x", "expires_at": "tomorrow"}),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
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
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let key = app.create_key(&admin, "default", "ci", "main").await;
    let last_used = |app: &TestApp| -> Option<i64> {
        app.conn(|c| {
            api_keys::table
                .select(api_keys::last_used_at)
                .first(c)
                .unwrap()
        })
    };
    app.get_bearer("/api/v1/whoami", &key.plaintext).await;
    assert_eq!(
        last_used(&app),
        None,
        "nothing is written on the request path"
    );
    app.flush_usage().await;
    let first = last_used(&app).expect("written by the flush");
    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    for _ in 0..5 {
        app.get_bearer("/api/v1/whoami", &key.plaintext).await;
    }
    app.flush_usage().await;
    assert_eq!(last_used(&app), Some(first), "coalesced within the minute");
    let listed = app
        .get_bearer("/api/v1/service-accounts/ci", &admin)
        .await
        .json();
    assert!(listed["last_used_at"].is_string());
}

#[actix_web::test]
async fn deactivating_an_account_rejects_its_keys_and_tokens_on_the_next_request() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let key = app.create_key(&admin, "default", "ci", "main").await;
    let token = exchange(&mut app, &key.plaintext).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
    app.patch_as(
        &admin,
        "/api/v1/service-accounts/ci",
        json!({"active": false}),
    )
    .await;
    assert_eq!(
        app.whoami_status(&key.plaintext).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
    app.patch_as(
        &admin,
        "/api/v1/service-accounts/ci",
        json!({"active": true}),
    )
    .await;
    assert_eq!(app.whoami_status(&key.plaintext).await, StatusCode::OK);
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
    let unknown = portcullis::auth::credential::generate(
        portcullis::auth::credential::CredentialKind::ApiKey,
        &[0; 32],
    )
    .plaintext;
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
