//! Security headers, bad input and error pages.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;

use crate::helpers::{PASSWORD, TestApp, TestResponse};

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// `POST path` with a raw body of `content_type`.
async fn post_raw(
    app: &mut TestApp,
    path: &str,
    content_type: &str,
    payload: impl Into<String>,
) -> TestResponse {
    let req = TestRequest::post()
        .uri(path)
        .insert_header(("content-type", content_type))
        .set_payload(payload.into());
    app.send(req).await
}

#[actix_web::test]
async fn html_responses_carry_the_security_headers() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    for path in ["/", "/login", "/no-such-page"] {
        let res = app.get(path).await;
        let csp = res.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
        assert_eq!(res.header("referrer-policy"), Some("same-origin"));
        assert_eq!(res.header("cache-control"), Some("no-store"), "{path}");
    }
}

#[actix_web::test]
async fn pages_have_no_inline_script() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    let page = app.get("/").await;
    let html = page.html();
    let scripts = scraper::Selector::parse("script").unwrap();
    for s in html.select(&scripts) {
        assert!(
            s.value().attr("src").is_some(),
            "inline script: {}",
            s.html()
        );
        assert!(s.text().collect::<String>().trim().is_empty());
    }
    assert!(!page.body.contains(" onclick="));
}

#[actix_web::test]
async fn unrouted_requests_are_full_error_pages_or_json() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    app.login("alice", PASSWORD).await;
    // An unknown path is 404; a known one asked with a method it does not take, 405.
    for (path, status, allow) in [
        ("/nope", StatusCode::NOT_FOUND, None),
        (
            "/service-accounts/ci/delete",
            StatusCode::METHOD_NOT_ALLOWED,
            Some("POST"),
        ),
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, status, "{path}");
        assert_eq!(page.header("allow"), allow, "{path}");
        let code = status.as_u16().to_string();
        assert_eq!(page.attr("#error", "data-status"), Some(code), "{path}");
        assert!(page.body.contains("<html"), "{path}");
    }
    // A signed-in user keeps the navigation, and the way back to the list.
    for (path, status) in [
        ("/service-accounts/nobody", StatusCode::NOT_FOUND),
        ("/users", StatusCode::FORBIDDEN),
        ("/nope", StatusCode::NOT_FOUND),
    ] {
        let page = app.get(path).await;
        assert_eq!(page.status, status, "{path}");
        assert!(page.text("#user-menu summary").contains("alice"), "{path}");
    }
    let page = app.get("/service-accounts/nobody").await;
    assert_eq!(page.text("#back-to-list"), "Back to Service accounts");
    assert_eq!(
        page.attr("#back-to-list", "href").as_deref(),
        Some("/service-accounts")
    );
    let fragment = app.htmx_get("/nope").await;
    assert_eq!(fragment.status, StatusCode::NOT_FOUND);
    assert!(!fragment.body.contains("<html"), "{}", fragment.body);
    assert_eq!(fragment.texts("#error").len(), 1);
    let api = app.get("/api/v1/nope").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json()["error"]["code"], "not_found");
}

#[actix_web::test]
async fn htmx_requests_of_expired_sessions_are_redirected_by_header() {
    let mut app = TestApp::new().await;
    let res = app.htmx_get("/").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header("hx-redirect"), Some("/login?return_to=%2F"));
}

#[actix_web::test]
async fn malformed_json_is_a_400_json_error_that_echoes_nothing() {
    let mut app = TestApp::new().await;
    let res = post_raw(
        &mut app,
        "/api/v1/login",
        JSON,
        "{\"username\": \"a\", \"password\": ",
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["error"]["code"], "bad_request");
    let typed = app
        .json(
            Method::POST,
            "/api/v1/login",
            serde_json::json!({"username": "a", "password": ["hunter2-secret"]}),
            None,
        )
        .await;
    assert_eq!(typed.status, StatusCode::BAD_REQUEST);
    assert!(!typed.body.contains("hunter2-secret"), "{}", typed.body);
    let unknown = app
        .json(
            Method::POST,
            "/api/v1/login",
            serde_json::json!({"user": "a"}),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn huge_bodies_are_413_not_500() {
    let mut app = TestApp::with_config(|c| c.max_body_bytes = 1024).await;
    let big = "x".repeat(4096);
    let payload = format!("{{\"username\":\"{big}\",\"password\":\"x\"}}");
    let json = post_raw(&mut app, "/api/v1/login", JSON, payload).await;
    assert_eq!(json.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", json.body);
    app.get("/login").await.assert_status(StatusCode::OK);
    let payload = format!("username={big}&password=x");
    let form = post_raw(&mut app, "/login", FORM, payload).await;
    assert_eq!(form.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", form.body);
}

#[actix_web::test]
async fn absurd_login_input_is_refused_cleanly() {
    let mut app = TestApp::new().await.with_user("alice", &[]);
    let long = "a".repeat(5000);
    for (user, pass) in [
        (long.as_str(), "x"),
        ("alice", long.as_str()),
        ("", ""),
        ("ä\u{0}", "x"),
    ] {
        let res = app
            .post_form("/login", &[("username", user), ("password", pass)])
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{user:?}");
    }
    let missing = app.post_form("/login", &[("username", "alice")]).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
}
