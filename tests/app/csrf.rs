//! CSRF: token on every unsafe cookie request, Fetch-Metadata and Origin checks.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, TestResponse};

/// alice, signed in.
async fn signed_in() -> TestApp {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    app
}

/// `POST /logout` with `headers` and, when given, `csrf_token` as a form field.
async fn logout_with(
    app: &mut TestApp,
    headers: &[(&'static str, &str)],
    csrf_token: Option<&str>,
) -> TestResponse {
    let mut req = TestRequest::post().uri("/logout");
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    if let Some(token) = csrf_token {
        req = req.set_form([("csrf_token", token)]);
    }
    app.send(req).await
}

/// Asserts that `POST /logout` with `headers` (and the token as a form field, when
/// given) signs out: the redirect to the sign-in page, and the session is over.
async fn assert_logs_out(
    app: &mut TestApp,
    headers: &[(&'static str, &str)],
    csrf_token: Option<&str>,
) {
    logout_with(app, headers, csrf_token)
        .await
        .assert_redirect("/login");
    app.assert_signed_out().await;
}

/// Asserts that the session survived a refused request.
async fn assert_still_signed_in(app: &mut TestApp) {
    let page = app.get("/").await.assert_status(StatusCode::OK);
    assert_eq!(page.text("#whoami"), "alice");
}

#[actix_web::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let mut app = signed_in().await;
    let res = app
        .send(TestRequest::post().uri("/logout").set_form([("x", "y")]))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let wrong = logout_with(&mut app, &[], Some("wrong")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Still signed in: nothing happened.
    assert_still_signed_in(&mut app).await;
}

#[actix_web::test]
async fn the_login_form_itself_needs_the_token() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.get("/login").await.assert_status(StatusCode::OK);
    let res = app
        .send(
            TestRequest::post()
                .uri("/login")
                .set_form([("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!res.text("#error .message").is_empty());
    app.assert_signed_out().await;
}

#[actix_web::test]
async fn cross_site_fetch_metadata_is_refused_even_with_a_token() {
    let mut app = signed_in().await;
    let token = app.csrf_token().await;
    for site in ["cross-site", "same-site", "Cross-Site", "SAME-SITE"] {
        let res = logout_with(&mut app, &[("Sec-Fetch-Site", site)], Some(&token)).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{site}");
    }
    assert_still_signed_in(&mut app).await;
}

#[actix_web::test]
async fn api_calls_with_a_session_cookie_need_the_token_but_bearer_calls_do_not() {
    let mut app = signed_in().await;
    let login = json!({"username": "alice", "password": PASSWORD});
    let with_cookie = app
        .json(Method::POST, "/api/v1/login", login.clone(), None)
        .await;
    assert_eq!(with_cookie.status, StatusCode::FORBIDDEN);
    assert_eq!(with_cookie.json()["error"]["code"], "forbidden");
    app.cookies.clear();
    let bare = app.json(Method::POST, "/api/v1/login", login, None).await;
    assert_eq!(bare.status, StatusCode::OK);
}

#[actix_web::test]
async fn only_a_bearer_credential_exempts_a_cookie_request_from_the_token() {
    let mut app = signed_in().await;
    // Any other scheme rides on the session cookie: the token is still needed (this was
    // a CSRF bypass: `Authorization: Basic …` on a forged form post).
    for scheme in ["Basic YWxpY2U6eA==", "Token x", "Bearer", "Bearerx y"] {
        let res = logout_with(&mut app, &[("Authorization", scheme)], None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{scheme}");
        assert_still_signed_in(&mut app).await;
    }
    // A bearer credential replaces the cookie (and is checked itself: a bad one is 401).
    let bad = logout_with(&mut app, &[("Authorization", "bearer nope")], None).await;
    assert_ne!(bad.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_foreign_origin_is_refused() {
    let mut app = signed_in().await;
    let token = app.csrf_token().await;
    let evil = [("Origin", "https://evil.example")];
    let res = logout_with(&mut app, &evil, Some(&token)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_still_signed_in(&mut app).await;
    let same = [
        ("Origin", "http://localhost"),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    assert_logs_out(&mut app, &same, Some(&token)).await;
}

#[actix_web::test]
async fn htmx_requests_carry_the_token_in_a_header() {
    let mut app = signed_in().await;
    let token = app.csrf_token().await;
    let headers = [("HX-Request", "true"), ("X-CSRF-Token", token.as_str())];
    assert_logs_out(&mut app, &headers, None).await;
}

#[actix_web::test]
async fn get_requests_change_nothing() {
    let mut app = signed_in().await;
    assert!(app.get("/logout").await.status.is_client_error());
    assert_still_signed_in(&mut app).await;
}
