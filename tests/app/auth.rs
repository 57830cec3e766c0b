//! Sign-in, sign-out, access tokens and throttling.

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[actix_web::test]
async fn an_anonymous_dashboard_get_redirects_to_login_with_return_to() {
    let mut app = TestApp::new().await;
    app.get("/?tab=x")
        .await
        .assert_redirect("/login?return_to=%2F%3Ftab%3Dx");
}

#[actix_web::test]
async fn the_login_page_is_a_form_with_a_csrf_field() {
    let mut app = TestApp::new().await;
    let res = app.get("/login?return_to=/somewhere").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.attr("form#login-form", "method").as_deref(),
        Some("post")
    );
    assert_eq!(
        res.attr("form#login-form", "action").as_deref(),
        Some("/login")
    );
    assert!(res.attr("input[name=username]", "name").is_some());
    assert_eq!(
        res.attr("input[name=password]", "type").as_deref(),
        Some("password")
    );
    let csrf = res.value("input[type=hidden][name^=csrf]").unwrap();
    assert!(csrf.len() >= 32);
    assert_eq!(
        res.value("input[name=return_to]").as_deref(),
        Some("/somewhere")
    );
}

#[actix_web::test]
async fn signing_in_redirects_to_return_to_and_shows_the_overview() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.post_login("alice", PASSWORD, Some("/?x=1"))
        .await
        .assert_redirect("/?x=1");
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("#whoami"), "alice");
}

#[actix_web::test]
async fn unknown_users_and_wrong_passwords_get_the_same_answer() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let wrong = app.post_login("alice", "not the password", None).await;
    let unknown = app.post_login("mallory", "not the password", None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(wrong.text("#login-error"), "Invalid user name or password.");
    assert_eq!(unknown.text("#login-error"), wrong.text("#login-error"));
    // The form comes back with the name, never the password.
    assert_eq!(
        wrong.value("input[name=username]").as_deref(),
        Some("alice")
    );
    assert!(!wrong.body.contains("not the password"));
}

#[actix_web::test]
async fn off_site_return_to_targets_are_ignored() {
    for target in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/%5Cevil",
    ] {
        let mut app = TestApp::new().await.with_user("alice", &[]);
        let res = app.post_login("alice", PASSWORD, Some(target)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{target}: {}", res.body);
        let location = res.location().to_owned();
        assert!(
            location == "/" || location == "/%5Cevil",
            "{target} → {location}"
        );
    }
}

#[actix_web::test]
async fn api_login_returns_a_bearer_token_that_whoami_accepts() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let res = app
        .api_login(json!({"username": "alice", "password": PASSWORD}))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("pct_"));
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));
    let me = app.get_bearer("/api/v1/whoami", token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["name"], "alice");
    assert_eq!(me.json()["kind"], "user");
    assert_eq!(me.json()["namespace"], "alice");
    // Stored hashed: the token's secret is not in the database.
    let stored: Vec<String> = app.conn(|c| {
        use diesel::prelude::*;
        portcullis::db::schema::access_tokens::table
            .select(portcullis::db::schema::access_tokens::secret_hash)
            .load(c)
            .unwrap()
    });
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&token[16..48]));
}

#[actix_web::test]
async fn bad_credentials_are_401_with_www_authenticate() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let wrong = app
        .api_login(json!({"username": "alice", "password": "nope"}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.header("www-authenticate"), Some("Bearer"));
    assert_eq!(wrong.json()["error"]["code"], "unauthenticated");
    let neither = app.api_login(json!({"username": "alice"})).await;
    assert_eq!(neither.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn invalid_bearer_credentials_are_401_never_anonymous() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let token = app.access_token("alice", PASSWORD).await;
    let mut tampered = token.clone().into_bytes();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in ["", "garbage", tampered.as_str(), &token[..token.len() - 1]] {
        let res = app.get_bearer("/api/v1/whoami", bad).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    }
    let basic = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/api/v1/whoami")
                .insert_header(("Authorization", "Basic YWxpY2U6eA==")),
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn tokens_are_never_accepted_from_a_query_string() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let token = app.access_token("alice", PASSWORD).await;
    for q in ["access_token", "token", "api_key"] {
        let res = app.get(&format!("/api/v1/whoami?{q}={token}")).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
}

#[actix_web::test]
async fn expired_access_tokens_are_refused() {
    let mut app = TestApp::with_config(|c| c.access_token_ttl = Duration::from_millis(300)).await;
    app.create_user("alice", &[]);
    let token = app.access_token("alice", PASSWORD).await;
    assert_eq!(app.whoami_status(&token).await, StatusCode::OK);
    actix_web::rt::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn failed_sign_ins_are_throttled_with_retry_after() {
    let mut app = TestApp::with_login_limits(3, Duration::from_secs(60)).await;
    app.create_user("alice", &[]);
    for _ in 0..3 {
        let res = app.post_login("alice", "wrong password", None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = app.post_login("alice", PASSWORD, None).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    app.cookies.clear();
    let api = app
        .api_login(json!({"username": "alice", "password": PASSWORD}))
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(api.header("retry-after").is_some());
}

#[actix_web::test]
async fn throttling_refills_so_nobody_is_locked_out_for_good() {
    let mut app = TestApp::with_login_limits(1, Duration::from_millis(500)).await;
    app.create_user("alice", &[]);
    app.post_login("alice", "wrong password", None)
        .await
        .assert_status(StatusCode::UNAUTHORIZED);
    let blocked = app.post_login("alice", PASSWORD, None).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    actix_web::rt::time::sleep(Duration::from_millis(600)).await;
    app.login("alice", PASSWORD).await;
}

#[actix_web::test]
async fn an_attacker_cannot_lock_the_owner_out_of_a_known_device() {
    let mut owner = TestApp::with_login_limits(2, Duration::from_secs(3600)).await;
    owner.create_user("alice", &[]);
    owner.login("alice", PASSWORD).await;
    assert!(owner.cookies.contains_key("portcullis_device"));
    owner.logout().await;
    // The attacker (no device cookie) exhausts alice's bucket.
    let device = owner.cookies.remove("portcullis_device").unwrap();
    for _ in 0..2 {
        let guess = owner.post_login("alice", "guess", None).await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&guess.status),
            "a guess got {}",
            guess.status
        );
    }
    let attacker = owner.post_login("alice", PASSWORD, None).await;
    assert_eq!(attacker.status, StatusCode::TOO_MANY_REQUESTS);
    // The owner's browser still signs in.
    owner.cookies.insert("portcullis_device".into(), device);
    owner.login("alice", PASSWORD).await;
}

/// `POST /api/v1/login` as `name` with `password`, from TCP peer `peer`, with
/// `X-Forwarded-For: forwarded` when given.
async fn login_from(
    app: &mut TestApp,
    (peer, forwarded): (&str, Option<&str>),
    (name, password): (&str, &str),
) -> StatusCode {
    let body = json!({"username": name, "password": password});
    let mut req = actix_web::test::TestRequest::post()
        .uri("/api/v1/login")
        .peer_addr(peer.parse().unwrap())
        .set_json(body);
    if let Some(client) = forwarded {
        req = req.insert_header(("X-Forwarded-For", client));
    }
    app.send(req).await.status
}

#[actix_web::test]
async fn clients_behind_a_trusted_proxy_are_told_apart_and_known_devices_pass() {
    let mut app = TestApp::with_config(|c| {
        c.login_limits.burst = 1;
        c.login_limits.refill = Duration::from_secs(3600);
        c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    for user in ["alice", "bob", "carol"] {
        app.create_user(user, &[]);
    }
    let proxy = "10.0.0.1:443";
    let noisy = (proxy, Some("6.6.6.6, 203.0.113.9"));
    // One client behind the proxy fails until its bucket (3 × burst) is empty…
    for name in ["x", "y", "z"] {
        let failed = login_from(&mut app, noisy, (name, "wrong")).await;
        assert_eq!(failed, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        login_from(&mut app, noisy, ("bob", PASSWORD)).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // …and another client behind the same proxy is not held back by it.
    let other = (proxy, Some("198.51.100.7"));
    assert_eq!(
        login_from(&mut app, other, ("bob", PASSWORD)).await,
        StatusCode::OK
    );
    // From outside the proxy list the header names nobody: the forged client's
    // bucket stays full, the peer's own empties.
    let forged = ("192.0.2.50:1234", Some("198.51.100.8"));
    for name in ["u", "v", "w"] {
        let failed = login_from(&mut app, forged, (name, "wrong")).await;
        assert_eq!(failed, StatusCode::UNAUTHORIZED);
    }
    let fourth = login_from(&mut app, forged, ("t", "wrong")).await;
    assert_eq!(fourth, StatusCode::TOO_MANY_REQUESTS);
    let via_proxy = (proxy, Some("198.51.100.8"));
    assert_eq!(
        login_from(&mut app, via_proxy, ("carol", PASSWORD)).await,
        StatusCode::OK
    );
    // alice's browser is known: it signs in even from the exhausted address.
    app.login("alice", PASSWORD).await;
    app.logout().await;
    let device = app.cookies["portcullis_device"].clone();
    app.cookies.clear();
    app.cookies.insert("portcullis_device".into(), device);
    assert_eq!(
        login_from(&mut app, noisy, ("alice", PASSWORD)).await,
        StatusCode::OK
    );
    // The audit log names the client, not the proxy.
    let root = app.admin_token().await;
    let events = app
        .read_as(&root, "/api/v1/audit-events?action=login&outcome=failure")
        .await;
    let clients: Vec<&str> = crate::helpers::items(&events)
        .iter()
        .filter_map(|e| e["client_addr"].as_str())
        .collect();
    assert!(
        clients.contains(&"203.0.113.9") && clients.contains(&"192.0.2.50"),
        "{clients:?}"
    );
    assert!(!clients.contains(&"10.0.0.1"), "{clients:?}");
}

#[actix_web::test]
async fn housekeeping_deletes_tokens_a_day_past_expiry_in_batches() {
    use diesel::prelude::*;
    use portcullis::db::schema::{access_tokens as t, users};
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let live = app.access_token("alice", PASSWORD).await;
    let day = 24 * 3600 * 1000;
    let now = portcullis::db::now_ms();
    // More than two batches of tokens past the day's grace, and one still within it.
    let old = 2 * portcullis::auth::PURGE_BATCH as usize + 345;
    app.conn(|c| {
        let alice: i64 = users::table
            .filter(users::name.eq("alice"))
            .select(users::id)
            .first(c)
            .unwrap();
        for (i, expires_at) in (0..old)
            .map(|i| now - day - 1000 - i as i64)
            .chain([now - 3600 * 1000])
            .enumerate()
        {
            diesel::insert_into(t::table)
                .values((
                    t::id.eq(format!("old{i:05}")),
                    t::principal_kind.eq("user"),
                    t::principal_id.eq(alice),
                    t::secret_hash.eq("x"),
                    t::created_at.eq(expires_at - 3600 * 1000),
                    t::expires_at.eq(expires_at),
                ))
                .execute(c)
                .unwrap();
        }
    });
    let (_, deleted) = app.conn(|c| portcullis::auth::purge_expired(c).unwrap());
    assert_eq!(deleted, old);
    let left: Vec<String> = app.conn(|c| t::table.select(t::id).load(c).unwrap());
    assert_eq!(
        left.len(),
        2,
        "the live token and the one within its day: {left:?}"
    );
    assert!(left.contains(&format!("old{old:05}")));
    assert_eq!(app.whoami_status(&live).await, StatusCode::OK);
}
