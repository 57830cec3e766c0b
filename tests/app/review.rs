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

/// The audit events of `action` (root's view).
async fn events(app: &mut TestApp, root: &str, action: &str) -> Vec<serde_json::Value> {
    let path = format!("/api/v1/audit-events?action={action}&limit=500");
    crate::helpers::items(&app.read_as(root, &path).await).to_vec()
}

#[actix_web::test]
async fn failed_and_throttled_sign_ins_are_audited_without_what_was_typed() {
    let mut app = TestApp::with_login_limits(1, std::time::Duration::from_secs(3600)).await;
    app.create_user("alice", &[]);
    let root = app.admin_token().await;
    // A password typed into the name field never reaches the log; a known name does.
    let typed = "Hunter2-MySecret";
    for (name, password) in [(typed, "x"), ("alice", "wrong")] {
        let body = json!({"username": name, "password": password});
        app.api_login(body)
            .await
            .assert_status(StatusCode::UNAUTHORIZED);
    }
    let failed = events(&mut app, &root, "login").await;
    let actors: Vec<&str> = failed.iter().filter_map(|e| e["actor"].as_str()).collect();
    assert!(actors.contains(&"user:alice"), "{actors:?}");
    let hashed: Vec<&&str> = actors
        .iter()
        .filter(|a| a.starts_with("user:unknown-"))
        .collect();
    assert_eq!(hashed.len(), 1, "{actors:?}");
    let all = app.read_as(&root, "/api/v1/audit-events?limit=500").await;
    assert!(
        !all.to_string().contains(typed),
        "the typed name is in the log"
    );
    // A bad API key at POST /api/v1/login is audited with its public id.
    let key = "pck_0123456789abcdef0123456789abcdef_0123456789abcdef0123456789abcdef01";
    app.api_login(json!({"api_key": key})).await;
    let keyed = events(&mut app, &root, "login").await;
    assert!(
        keyed.iter().any(|e| e["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("key_id:"))
            || e["target"] == "api key (malformed)"),
        "{keyed:?}"
    );
    // Throttled sign-ins are audited: once, however many follow.
    for _ in 0..5 {
        let body = json!({"username": "alice", "password": "wrong"});
        app.api_login(body).await;
    }
    let throttled = events(&mut app, &root, "login").await;
    let throttled: Vec<_> = throttled
        .iter()
        .filter(|e| e["target"] == "throttled")
        .collect();
    assert_eq!(throttled.len(), 1, "{throttled:?}");
}

#[actix_web::test]
async fn refused_actions_of_a_known_caller_are_audited() {
    let (mut app, [root, lead, _]) = world().await;
    let refused = app.get_as(&lead, "/api/v1/users").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let post = app
        .post_as(&lead, "/api/v1/namespaces", json!({"name": "mine"}))
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    let logged = events(&mut app, &root, "request.forbidden").await;
    let targets: Vec<&str> = logged.iter().filter_map(|e| e["target"].as_str()).collect();
    assert_eq!(targets, ["POST /api/v1/namespaces", "GET /api/v1/users"]);
    assert!(
        logged
            .iter()
            .all(|e| e["actor"] == "user:lead" && e["outcome"] == "failure")
    );
    // An anonymous refusal (a form post without a session) writes nothing.
    app.cookies.clear();
    let forged = actix_web::test::TestRequest::post().uri("/namespaces");
    let anonymous = app.send(forged).await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
    assert_eq!(events(&mut app, &root, "request.forbidden").await.len(), 2);
}
