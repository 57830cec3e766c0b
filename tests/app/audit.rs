//! Audit events for service accounts and keys: recorded, listed for admins, secret-free.

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, item_strings, items};

#[actix_web::test]
async fn key_lifecycle_and_failed_authentication_are_audited_without_secrets() {
    let (mut app, admin, key) = TestApp::with_key("ci", "main").await;
    app.key_token(&key.plaintext).await;
    const MAIN: &str = "/api/v1/service-accounts/ci/api-keys/main";
    let lifecycle = [
        (
            Method::POST,
            "/api/v1/service-accounts/ci/api-keys/main/rotate",
            json!({}),
            200,
        ),
        (Method::PATCH, MAIN, json!({"active": false}), 200),
    ];
    app.assert_statuses("the admin", &admin, &lifecycle).await;
    // The deactivated key fails to authenticate (audited as a failure).
    let refused = app.whoami_status(&key.plaintext).await;
    assert_eq!(refused, StatusCode::UNAUTHORIZED);
    let deletions = [
        (Method::DELETE, MAIN, Value::Null, 204),
        (
            Method::DELETE,
            "/api/v1/service-accounts/ci",
            Value::Null,
            204,
        ),
    ];
    app.assert_statuses("the admin", &admin, &deletions).await;
    let res = app
        .get_bearer("/api/v1/audit-events?limit=100", &admin)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let actions = item_strings(&res.json(), "action");
    for expected in [
        "service_account.create",
        "api_key.create",
        "login",
        "api_key.rotate",
        "api_key.deactivate",
        "api_key.authenticate",
        "api_key.delete",
        "service_account.delete",
    ] {
        assert!(
            actions.contains(&expected.to_owned()),
            "{expected} missing from {actions:?}"
        );
    }
    assert!(
        !res.body.contains(&key.plaintext[16..48]),
        "no secret in the audit log"
    );
    let failed = app
        .read_as(&admin, "/api/v1/audit-events?action=api_key.authenticate")
        .await;
    let event = &failed["items"][0];
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["target"], format!("key_id:{}", &key.plaintext[4..16]));
    let one = "/api/v1/audit-events?action=api_key.create&limit=1";
    let filtered = app.read_as(&admin, one).await;
    assert_eq!(items(&filtered).len(), 1);
}

#[actix_web::test]
async fn the_audit_log_is_for_global_admins_only() {
    let mut app = TestApp::new()
        .await
        .with_user("alice", &[("team-a/*", "admin")]);
    let alice = app.access_token("alice", PASSWORD).await;
    assert_eq!(
        app.get_bearer("/api/v1/audit-events", &alice).await.status,
        StatusCode::FORBIDDEN
    );
    app.login("alice", PASSWORD).await;
    assert_eq!(app.get("/audit").await.status, StatusCode::FORBIDDEN);
    let mut admin = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    admin.login("root", PASSWORD).await;
    let page = admin.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.texts("#events .event").len() >= 2,
        "user.create and login at least"
    );
}
