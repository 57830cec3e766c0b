//! CSRF: token on every unsafe cookie request, Fetch-Metadata and Origin checks.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[actix_web::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    let res = app
        .send(TestRequest::post().uri("/logout").set_form([("x", "y")]))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let wrong = app
        .send(
            TestRequest::post()
                .uri("/logout")
                .set_form([("csrf_token", "wrong")]),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // Still signed in: nothing happened.
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn the_login_form_itself_needs_the_token() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.get("/login").await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/login")
                .set_form([("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(!res.text("#error .message").is_empty());
}

#[actix_web::test]
async fn cross_site_fetch_metadata_is_refused_even_with_a_token() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    let token = app.csrf_token().await;
    for site in ["cross-site", "same-site"] {
        let res = app
            .send(
                TestRequest::post()
                    .uri("/logout")
                    .insert_header(("Sec-Fetch-Site", site))
                    .set_form([("csrf_token", token.as_str())]),
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{site}");
    }
}

#[actix_web::test]
async fn a_foreign_origin_is_refused() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    let token = app.csrf_token().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/logout")
                .insert_header(("Origin", "https://evil.example"))
                .set_form([("csrf_token", token.as_str())]),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let same = app
        .send(
            TestRequest::post()
                .uri("/logout")
                .insert_header(("Origin", "http://localhost"))
                .insert_header(("Sec-Fetch-Site", "same-origin"))
                .set_form([("csrf_token", token.as_str())]),
        )
        .await;
    assert_eq!(same.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn htmx_requests_carry_the_token_in_a_header() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    let token = app.csrf_token().await;
    let res = app
        .send(
            TestRequest::post()
                .uri("/logout")
                .insert_header(("HX-Request", "true"))
                .insert_header(("X-CSRF-Token", token.as_str())),
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn api_calls_with_a_session_cookie_need_the_token_but_bearer_calls_do_not() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    let with_cookie = app
        .json(
            Method::POST,
            "/api/v1/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(with_cookie.status, StatusCode::FORBIDDEN);
    assert_eq!(with_cookie.json()["error"]["code"], "forbidden");
    app.cookies.clear();
    let bare = app
        .json(
            Method::POST,
            "/api/v1/login",
            json!({"username": "alice", "password": PASSWORD}),
            None,
        )
        .await;
    assert_eq!(bare.status, StatusCode::OK);
}

#[actix_web::test]
async fn get_requests_change_nothing() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    assert!(app.get("/logout").await.status.is_client_error());
    assert_eq!(app.get("/").await.status, StatusCode::OK);
}
