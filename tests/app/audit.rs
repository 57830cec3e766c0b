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
async fn namespace_admins_read_their_namespaces_trail_and_their_own_actions() {
    let mut app = TestApp::new()
        .await
        .with_user("alice", &[("team-a/*", "admin")]);
    app.ensure_namespaces(&["team-a", "team-b"]);
    let root = app.admin_token().await;
    for (account, ns) in [("a-bot", "team-a"), ("b-bot", "team-b")] {
        let body = json!({"name": account, "namespace": ns});
        app.post_as(&root, "/api/v1/service-accounts", body)
            .await
            .assert_status(StatusCode::CREATED);
        let key = format!("/api/v1/service-accounts/{account}/api-keys");
        app.post_as(&root, &key, json!({"name": "k"}))
            .await
            .assert_status(StatusCode::CREATED);
    }
    let alice = app.access_token("alice", PASSWORD).await;
    let seen = app.read_as(&alice, "/api/v1/audit-events").await;
    let targets: Vec<&str> = items(&seen)
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert_eq!(
        targets,
        [
            "user:alice",
            "api_key:team-a/a-bot/k",
            "service_account:team-a/a-bot"
        ],
        "her own sign-in and team-a's events, not team-b's: {seen}"
    );
    assert_eq!(items(&seen)[1]["actor"], "user:root");
    // Their own actions too, wherever they are.
    let minted = app.post_as(&alice, "/api/v1/tokens", json!({})).await;
    minted.assert_status(StatusCode::CREATED);
    let own = app
        .read_as(&alice, "/api/v1/audit-events?action=token")
        .await;
    assert_eq!(items(&own)[0]["action"], "token.mint");
    // The global admin sees everything, filtered by action prefix and outcome.
    let keys = app
        .read_as(&root, "/api/v1/audit-events?action=api_key")
        .await;
    assert_eq!(items(&keys).len(), 2);
    let none = app
        .read_as(&root, "/api/v1/audit-events?action=api_key&outcome=failure")
        .await;
    assert!(items(&none).is_empty());
    let later = app
        .read_as(&root, "/api/v1/audit-events?since=2999-01-01")
        .await;
    assert!(items(&later).is_empty());
    let bad = app.get_as(&root, "/api/v1/audit-events?until=soon").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    app.login("alice", PASSWORD).await;
    let page = app.get("/audit?action=service_account").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("#events .event td:nth-child(4)");
    assert_eq!(rows, ["service_account:team-a/a-bot"]);
    assert_eq!(
        page.value("#audit-filters select[name=action] option[selected]")
            .as_deref(),
        Some("service_account")
    );
    assert_eq!(
        page.attr("#audit-filters", "hx-push-url").as_deref(),
        Some("true")
    );
}
