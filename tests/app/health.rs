//! Liveness, readiness, metrics and static assets.

use actix_web::http::StatusCode;

use crate::helpers::TestApp;

#[actix_web::test]
async fn healthz_answers_ok() {
    let mut app = TestApp::new().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");
}

#[actix_web::test]
async fn readyz_answers_200_when_the_database_answers() {
    let mut app = TestApp::new().await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
}

#[actix_web::test]
async fn readyz_answers_503_when_the_database_does_not() {
    let mut app = TestApp::over_unreachable_database().await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let mut app = TestApp::new().await;
    for (path, expected) in [
        ("/healthz", StatusCode::OK),
        ("/healthz", StatusCode::OK),
        ("/no/such/page", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(app.get(path).await.status, expected, "{path}");
    }
    let res = app.get("/metrics").await;
    assert_eq!(res.status, StatusCode::OK);
    let line = res
        .body
        .lines()
        .find(|l| {
            l.starts_with("portcullis_http_requests_total{") && l.contains("route=\"/healthz\"")
        })
        .unwrap_or_else(|| panic!("no healthz counter in\n{}", res.body));
    assert!(line.contains("status=\"200\""), "{line}");
    assert!(line.ends_with(" 2"), "{line}");
    assert!(res.body.contains("route=\"unmatched\""), "{}", res.body);
    assert!(
        res.body
            .contains("portcullis_http_request_duration_seconds_bucket")
    );
}

#[actix_web::test]
async fn static_assets_are_embedded_with_long_cache_lifetimes_and_mime_types() {
    let mut app = TestApp::new().await;
    let js = app.get("/static/htmx-2.0.11.min.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").unwrap().contains("javascript"));
    assert_eq!(
        js.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let css = app.get("/static/pico-2.1.1.min.css").await;
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    for missing in ["/static/nope.js", "/static/../Cargo.toml"] {
        let status = app.get(missing).await.status;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}
