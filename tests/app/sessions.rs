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
    app.csrf_token().await;
    let before = app.cookies.get("portcullis").cloned().unwrap();
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

#[actix_web::test]
async fn the_session_cookie_is_httponly_and_samesite_lax() {
    let mut app = TestApp::new().await;
    let res = app.get("/login").await;
    let cookie = res.header("set-cookie").unwrap();
    assert!(cookie.starts_with("portcullis="), "{cookie}");
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
    let res = app.get("/login").await;
    let cookie = res.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-portcullis="), "{cookie}");
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
