//! Server-side sessions: renewal, logout, timeouts, cookie flags, multi-instance.

use std::time::Duration;

use actix_web::http::StatusCode;
use diesel::prelude::*;
use portcullis::db::schema::sessions;

use crate::helpers::{PASSWORD, TestApp};

fn session_rows(app: &TestApp) -> i64 {
    app.conn(|c| sessions::table.count().get_result(c).unwrap())
}

/// alice, signed in to an app whose configuration `adjust` changed.
async fn alice_signed_in(adjust: impl FnOnce(&mut portcullis::config::Config)) -> TestApp {
    let mut app = TestApp::with_config(adjust).await;
    app.create_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    app
}

#[actix_web::test]
async fn the_session_id_changes_at_sign_in() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    // An anonymous visit stores no session, so the only way to fixate one is to plant a
    // cookie: sign-in never keeps it.
    let before = "planted-by-someone-else".to_owned();
    app.cookies.insert("portcullis".into(), before.clone());
    app.login("alice", PASSWORD).await;
    let after = app.cookies.get("portcullis").cloned().unwrap();
    assert_ne!(before, after);
    // The pre-login session key is dead: replaying it is anonymous.
    let mut replay = app.sibling().await;
    replay.cookies.insert("portcullis".into(), before);
    replay.assert_signed_out().await;
}

#[actix_web::test]
async fn logout_destroys_the_server_side_session() {
    let mut app = alice_signed_in(|_| {}).await;
    let cookie = app.cookies.get("portcullis").cloned().unwrap();
    assert_eq!(session_rows(&app), 1);
    app.logout().await;
    assert_eq!(
        session_rows(&app),
        0,
        "the row is gone, not just the cookie"
    );
    // A copy of the old cookie no longer works.
    app.cookies.insert("portcullis".into(), cookie);
    app.assert_signed_out().await;
}

#[actix_web::test]
async fn sessions_end_after_the_idle_timeout() {
    let mut app = alice_signed_in(|c| c.session.idle = Duration::from_millis(500)).await;
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    actix_web::rt::time::sleep(Duration::from_millis(700)).await;
    app.assert_signed_out().await;
}

#[actix_web::test]
async fn sessions_end_after_the_absolute_timeout_even_when_active() {
    let mut app = alice_signed_in(|c| c.session.absolute = Duration::from_millis(900)).await;
    for _ in 0..3 {
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(app.get("/").await.status, StatusCode::OK);
    }
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    app.assert_signed_out().await;
}

/// The `Set-Cookie` of `name` when `app` signs alice in through the form.
async fn cookie_at_sign_in(app: &mut TestApp, name: &str) -> String {
    app.create_user("alice", &[]);
    let res = app.post_login("alice", PASSWORD, None).await;
    res.set_cookie(name)
        .unwrap_or_else(|| panic!("{name}: {:?}", res.headers))
        .to_owned()
}

#[actix_web::test]
async fn an_anonymous_visit_stores_no_session() {
    let mut app = TestApp::new().await;
    let page = app.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.set_cookie("portcullis").is_none());
    // The form's token is signed from a nonce cookie instead; the sign-in works.
    let nonce = page.set_cookie("portcullis_form").unwrap();
    assert!(
        nonce.contains("HttpOnly") && nonce.contains("SameSite=Lax"),
        "{nonce}"
    );
    assert_eq!(session_rows(&app), 0);
    app.create_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    assert_eq!(session_rows(&app), 1);
    // Without the nonce cookie, or with another browser's, the token is refused.
    let token = app.csrf_token().await;
    let mut other = app.new_browser();
    other.get("/login").await;
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("csrf_token", &token),
    ];
    let req = actix_web::test::TestRequest::post()
        .uri("/login")
        .set_form(fields);
    assert_eq!(other.send(req).await.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_session_cookie_is_httponly_and_samesite_lax() {
    let mut app = TestApp::new().await;
    let cookie = cookie_at_sign_in(&mut app, "portcullis").await;
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: no Secure"
    );
}

#[actix_web::test]
async fn over_https_the_cookie_is_secure_with_the_host_prefix() {
    let mut app = TestApp::with_config(|c| {
        c.public_url = url::Url::parse("https://portcullis.example").unwrap();
    })
    .await;
    let cookie = cookie_at_sign_in(&mut app, "__Host-portcullis").await;
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"));
}

#[actix_web::test]
async fn any_instance_sharing_the_database_serves_a_session() {
    let mut first = TestApp::new().await.with_user("alice", &[]);
    first.login("alice", PASSWORD).await;
    let mut second = first.sibling().await;
    second.cookies = first.cookies.clone();
    let page = second.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text("#whoami"), "alice");
    // Sign out on the second instance; the first no longer accepts the cookie.
    second.logout().await;
    first.assert_signed_out().await;
}

#[actix_web::test]
async fn a_forged_session_cookie_is_anonymous() {
    let mut app = TestApp::new().await;
    app.cookies
        .insert("portcullis".into(), "forged-value".into());
    app.assert_signed_out().await;
}
