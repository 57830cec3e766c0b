//! Audit events for service accounts and keys: recorded, listed for admins, secret-free.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[actix_web::test]
async fn key_lifecycle_and_failed_authentication_are_audited_without_secrets() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let key = app.create_key(&admin, "default", "ci", "main").await;
    app.json(
        Method::POST,
        "/api/v1/login",
        json!({"api_key": key.plaintext}),
        None,
    )
    .await;
    app.post_as(
        &admin,
        "/api/v1/service-accounts/ci/api-keys/main/rotate",
        json!({}),
    )
    .await;
    app.patch_as(
        &admin,
        "/api/v1/service-accounts/ci/api-keys/main",
        json!({"active": false}),
    )
    .await;
    app.get_bearer("/api/v1/whoami", &key.plaintext).await;
    app.delete_as(&admin, "/api/v1/service-accounts/ci/api-keys/main")
        .await;
    app.delete_as(&admin, "/api/v1/service-accounts/ci").await;
    let res = app
        .get_bearer("/api/v1/audit-events?limit=100", &admin)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let actions: Vec<String> = res.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
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
        .get_bearer("/api/v1/audit-events?action=api_key.authenticate", &admin)
        .await
        .json();
    let event = &failed["items"][0];
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["target"], format!("key_id:{}", &key.plaintext[4..16]));
    let filtered = app
        .get_bearer("/api/v1/audit-events?action=api_key.create&limit=1", &admin)
        .await
        .json();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
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
