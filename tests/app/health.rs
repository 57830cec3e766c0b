//! Liveness, readiness, metrics and static assets.

use actix_web::http::StatusCode;
use portcullis::app::AppState;
use portcullis::config::{Config, DatabaseUrl};
use portcullis::db::Db;
use portcullis::secrets::ServerSecret;

use crate::helpers::{TestApp, TestDb};

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
    let db = TestDb::new();
    let unreachable = DatabaseUrl::Sqlite(db.dir.path().join("missing-dir/never/p.db"));
    let config = Config::for_tests(db.dir.path(), unreachable.clone());
    let secret = ServerSecret::load_or_create(
        config.secret_key.as_ref().map(|s| s.expose()),
        db.dir.path(),
    )
    .unwrap();
    let state = AppState::new(config, Db::connect_lazily(&unreachable, 1), &secret).unwrap();
    let mut app = TestApp::mount(state, db).await;
    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(
        app.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let mut app = TestApp::new().await;
    app.get("/healthz").await;
    app.get("/healthz").await;
    app.get("/no/such/page").await;
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
    assert_eq!(
        app.get("/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/static/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
}
