//! Regression tests for the findings of the live security review (issue 13, section
//! 3) that are not next to the feature they fix.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// root, the admin of team-a (`lead`) and a user who reads default (`rita`, like every
/// user), with tokens; account `ci` in default and `bot` in team-a.
async fn world() -> (TestApp, [String; 3]) {
    let mut app = TestApp::new().await;
    app.ensure_namespaces(&["team-a", "secret"]);
    app.create_user("lead", &[("team-a/*", "admin")]);
    app.create_user("rita", &[]);
    let root = app.admin_token().await;
    for (ns, name) in [("default", "ci"), ("team-a", "bot")] {
        let path = format!("/api/v1/namespaces/{ns}/service-accounts");
        app.create_as(&root, &path, json!({"name": name})).await;
    }
    let lead = app.access_token("lead", PASSWORD).await;
    let rita = app.access_token("rita", PASSWORD).await;
    (app, [root, lead, rita])
}

#[actix_web::test]
async fn a_reader_cannot_share_with_an_account_it_does_not_administer() {
    let (mut app, [root, lead, rita]) = world().await;
    // rita reads default's `ci` and administers her own namespace: sharing it with `ci`
    // would give ci a grant its admins lack, and lock them out of its keys.
    let share = json!({"role": "viewer"});
    for target in ["default%2Fci", "ci", "service_account:default%2Fci"] {
        let path = format!("/api/v1/namespaces/rita/shares/{target}");
        let refused = app.put_as(&rita, &path, share.clone()).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{target}: {}",
            refused.body
        );
    }
    // The account's admin may (team-a's lead, sharing team-a with team-a's bot).
    let ok = app
        .put_as(
            &lead,
            "/api/v1/namespaces/team-a/shares/team-a%2Fbot",
            share,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // A refusal never names what the caller cannot read: root gives bot a share of
    // `secret`, which lead cannot see; lead's key request is refused without naming it.
    let secret = json!({"role": "viewer"});
    app.put_as(
        &root,
        "/api/v1/namespaces/secret/shares/team-a%2Fbot",
        secret,
    )
    .await
    .assert_status(StatusCode::OK);
    let keys = "/api/v1/namespaces/team-a/service-accounts/bot/api-keys";
    let refused = app.post_as(&lead, keys, json!({"name": "k"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("secret"), "{}", refused.body);
}

#[actix_web::test]
async fn removing_a_share_does_not_tell_which_users_exist() {
    let (mut app, [_, lead, _]) = world().await;
    let mut answers = Vec::new();
    for who in ["rita", "nobody-by-this-name"] {
        let path = format!("/api/v1/namespaces/team-a/shares/{who}");
        let res = app.delete_as(&lead, &path).await;
        answers.push((res.status, res.json()["error"]["message"].clone()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::NOT_FOUND);
}
