//! The one-time reveal page (POST → 303 → GET), in the dashboard.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use portcullis::db::schema::key_reveals;

use crate::helpers::{PASSWORD, TestApp};

const KEYS: &str = "/service-accounts/ci/api-keys";
const ROTATE: &str = "/service-accounts/ci/api-keys/deploy/rotate";

/// root signed in to the dashboard, with account `ci` made there.
async fn dashboard_with_account() -> TestApp {
    let mut app = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    app.login("root", PASSWORD).await;
    let fields = [("name", "ci"), ("namespace", "default")];
    app.post_form("/service-accounts", &fields)
        .await
        .assert_redirect("/namespaces/default/service-accounts/ci");
    app
}

/// Posts the form `fields` at `path`; asserts the redirect to a reveal page, whose
/// address it returns.
async fn reveal_after(app: &mut TestApp, path: &str, fields: &[(&str, &str)]) -> String {
    let res = app.post_form(path, fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let location = res.location().to_owned();
    assert!(location.starts_with("/reveal/"), "{location}");
    location
}

#[actix_web::test]
async fn api_key_plaintext_is_shown_only_once() {
    let mut app = dashboard_with_account().await;
    let fields = [("name", "deploy"), ("description", "d"), ("expires", "30")];
    let location = reveal_after(&mut app, KEYS, &fields).await;
    assert!(!location.contains("pck_"), "never in a URL");
    let first = app.get(&location).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let key = first.text("#api-key");
    assert!(key.starts_with("pck_") && key.len() == 56, "{key}");
    assert!(first.body.contains("Authorization: Bearer"));
    assert!(first.attr("#copy-key", "data-copy").is_some());
    for c in app.cookies.values() {
        assert!(!c.contains(&key[16..48]), "never in a cookie");
    }
    let second = app.get(&location).await;
    assert_eq!(second.status, StatusCode::GONE);
    assert!(!second.body.contains(&key), "a reload never shows the key");
    assert!(!second.body.contains(&key[16..48]));
    // The key works.
    assert_eq!(app.whoami_status(&key).await, StatusCode::OK);
}

#[actix_web::test]
async fn signing_in_as_someone_else_in_the_same_browser_drops_pending_reveals() {
    let mut app = dashboard_with_account().await;
    let location = reveal_after(&mut app, KEYS, &[("name", "deploy")]).await;
    app.create_user("bob", &[("*/*", "admin")]);
    app.login("bob", PASSWORD).await;
    let res = app.get(&location).await;
    assert_eq!(res.status, StatusCode::GONE);
    assert!(!res.body.contains("pck_"));
}

#[actix_web::test]
async fn another_session_never_sees_the_key_and_does_not_burn_it() {
    let mut app = dashboard_with_account().await;
    let location = reveal_after(&mut app, KEYS, &[("name", "deploy")]).await;
    let mut other = app.sibling().await;
    other.cookies.clear();
    other.create_user("root2", &[("*/*", "admin")]);
    other.login("root2", PASSWORD).await;
    let stolen = other.get(&location).await;
    assert_eq!(stolen.status, StatusCode::GONE);
    assert!(!stolen.body.contains("pck_"));
    // The creating session still gets it once.
    let mine = app.get(&location).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.text("#api-key").starts_with("pck_"));
}

#[actix_web::test]
async fn an_unviewed_reveal_expires_and_its_plaintext_is_never_stored() {
    let mut app = dashboard_with_account().await;
    let location = reveal_after(&mut app, KEYS, &[("name", "deploy")]).await;
    let stored: Vec<String> = app.conn(|c| {
        key_reveals::table
            .select(key_reveals::ciphertext)
            .load(c)
            .unwrap()
    });
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("pck_"), "sealed at rest");
    app.conn(|c| {
        diesel::update(key_reveals::table)
            .set(key_reveals::expires_at.eq(portcullis::db::now_ms() - 1))
            .execute(c)
            .unwrap()
    });
    assert_eq!(app.get(&location).await.status, StatusCode::GONE);
}

#[actix_web::test]
async fn rotating_in_the_dashboard_reveals_the_new_secret_once() {
    let mut app = dashboard_with_account().await;
    let location = reveal_after(&mut app, KEYS, &[("name", "deploy")]).await;
    let old = app.get(&location).await.text("#api-key");
    let form = app.get(ROTATE).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(
        form.value("input[name=retain_period_minutes]").as_deref(),
        Some("0")
    );
    let grace = [("retain_period_minutes", "15")];
    let location = reveal_after(&mut app, ROTATE, &grace).await;
    let new = app.get(&location).await.text("#api-key");
    assert_ne!(old, new);
    let page = app.get("/service-accounts/ci").await;
    assert!(
        page.text(".key-row .grace")
            .starts_with("both keys valid until")
    );
    assert_eq!(app.whoami_status(&old).await, StatusCode::OK);
    let many = [("retain_period_minutes", "many")];
    let bad = app.post_form(ROTATE, &many).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.text("#retain-error").is_empty());
}

#[actix_web::test]
async fn key_form_errors_come_back_with_messages() {
    let mut app = dashboard_with_account().await;
    reveal_after(&mut app, KEYS, &[("name", "a")]).await;
    let again = app.post_form(KEYS, &[("name", "a")]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text("#form-error").contains("already has a key"));
    let no_date = [("name", "b"), ("expires", "date"), ("expires_on", "")];
    let bad = app.post_form(KEYS, &no_date).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn the_keys_table_warns_about_expiry_and_old_rotations() {
    let mut app = dashboard_with_account().await;
    for name in ["soon", "old"] {
        reveal_after(&mut app, KEYS, &[("name", name)]).await;
    }
    let now = portcullis::db::now_ms();
    app.conn(|c| {
        use portcullis::db::schema::api_keys;
        diesel::update(api_keys::table.filter(api_keys::name.eq("soon")))
            .set(api_keys::expires_at.eq(Some(now + 2 * 24 * 3600 * 1000)))
            .execute(c)
            .unwrap();
        diesel::update(api_keys::table.filter(api_keys::name.eq("old")))
            .set(api_keys::created_at.eq(now - 100 * 24 * 3600 * 1000))
            .execute(c)
            .unwrap();
    });
    let page = app.get("/service-accounts/ci").await;
    assert!(
        page.text("tr[data-key=soon] .expires.warn")
            .starts_with("in 2 days")
    );
    assert_eq!(page.texts("tr[data-key=old] .rotation-warning").len(), 1);
    assert!(page.texts("tr[data-key=soon] .rotation-warning").is_empty());
}
