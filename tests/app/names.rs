//! Service-account and connector names are unique per namespace: two teams can both
//! have a `ci`. The namespaced routes address one exactly; the older routes answer
//! where a name is unique among what the caller may read, and 409 `ambiguous_name`
//! otherwise.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::connectors::aws;
use crate::helpers::{PASSWORD, TestApp, item_strings, items};

/// root, alice (admin of team-a), bob (admin of team-b), vic (viewer of team-a), with
/// tokens in that order; team-a and team-b exist.
async fn teams() -> (TestApp, [String; 4]) {
    let mut app = TestApp::new().await;
    app.ensure_namespaces(&["team-a", "team-b"]);
    app.create_user("alice", &[("team-a/*", "admin")]);
    app.create_user("bob", &[("team-b/*", "admin")]);
    app.create_user("vic", &[("team-a/*", "viewer")]);
    let root = app.admin_token().await;
    let mut token = async |name| app.access_token(name, PASSWORD).await;
    let tokens = [
        root,
        token("alice").await,
        token("bob").await,
        token("vic").await,
    ];
    (app, tokens)
}

#[actix_web::test]
async fn two_teams_each_have_a_ci_account_with_its_own_keys() {
    let (mut app, [root, alice, bob, vic]) = teams().await;
    // Each team creates `ci`: no 409 about a name in a namespace it cannot read.
    for (token, ns) in [(&alice, "team-a"), (&bob, "team-b")] {
        let path = format!("/api/v1/namespaces/{ns}/service-accounts");
        let made = app.create_as(token, &path, json!({"name": "ci"})).await;
        assert_eq!(made["namespace"], ns);
        let keys = format!("{path}/ci/api-keys");
        let key = app.create_as(token, &keys, json!({"name": "deploy"})).await;
        assert_eq!(key["service_account"], "ci");
    }
    // The same name twice in one namespace is still a conflict.
    let again = app
        .post_as(
            &alice,
            "/api/v1/service-accounts",
            json!({"name": "ci", "namespace": "team-a"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("team-a"), "{}", again.body);
    // A body naming another namespace than the path is refused.
    let differs = app
        .post_as(
            &root,
            "/api/v1/namespaces/team-a/service-accounts",
            json!({"name": "x", "namespace": "team-b"}),
        )
        .await;
    assert_eq!(differs.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The older route answers each team with its own `ci` (unique among what it reads).
    for (token, ns) in [(&alice, "team-a"), (&bob, "team-b"), (&vic, "team-a")] {
        let got = app.read_as(token, "/api/v1/service-accounts/ci").await;
        assert_eq!(got["namespace"], ns, "{got}");
    }
    // root reads both: the bare name is ambiguous, and the answer says how to fix it.
    let (status, body) = app
        .get_as(&root, "/api/v1/service-accounts/ci")
        .await
        .parts();
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "ambiguous_name");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("team-a, team-b"), "{message}");
    for path in [
        "/api/v1/service-accounts/ci/api-keys",
        "/api/v1/service-accounts/ci/api-keys/deploy",
        "/api/v1/service-accounts/ci/role-bindings",
    ] {
        let res = app.get_as(&root, path).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{path}");
    }
    // A change through the ambiguous form changes nothing.
    let del = app.delete_as(&root, "/api/v1/service-accounts/ci").await;
    assert_eq!(del.status, StatusCode::CONFLICT);
    // The namespaced routes address each exactly.
    let b = "/api/v1/namespaces/team-b/service-accounts/ci";
    let rotated = app
        .post_as(&root, &format!("{b}/api-keys/deploy/rotate"), json!({}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let bound = app
        .put_as(
            &root,
            &format!("{b}/role-bindings"),
            json!({"team-b/*": ["viewer"]}),
        )
        .await;
    assert_eq!(bound.status, StatusCode::OK, "{}", bound.body);
    let a = app
        .read_as(
            &root,
            "/api/v1/namespaces/team-a/service-accounts/ci/role-bindings",
        )
        .await;
    assert_eq!(a, json!({}), "team-a's ci is untouched");
    // alice cannot reach team-b's through its namespace (404: no existence oracle).
    let theirs = app.get_as(&alice, b).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // Deleting team-b's leaves team-a's, whose key still authenticates.
    let gone = app.delete_as(&root, b).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let left = app.read_as(&root, "/api/v1/service-accounts/ci").await;
    assert_eq!(left["namespace"], "team-a");
    // Audit events name the account with its namespace.
    let events = app
        .read_as(&root, "/api/v1/audit-events?action=service_account.delete")
        .await;
    assert_eq!(items(&events)[0]["target"], "service_account:team-b/ci");
}

#[actix_web::test]
async fn lists_page_through_accounts_that_share_a_name() {
    let (mut app, [root, ..]) = teams().await;
    for ns in ["default", "team-a", "team-b"] {
        let path = format!("/api/v1/namespaces/{ns}/service-accounts");
        app.create_as(&root, &path, json!({"name": "ci"})).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/service-accounts?limit=1".to_owned();
    loop {
        let page = app.read_as(&root, &path).await;
        seen.extend(item_strings(&page, "namespace"));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/service-accounts?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["default", "team-a", "team-b"]);
    let one = app
        .read_as(&root, "/api/v1/namespaces/team-b/service-accounts")
        .await;
    assert_eq!(item_strings(&one, "namespace"), ["team-b"]);
}

#[actix_web::test]
async fn two_teams_each_have_a_hub_connector() {
    let (mut app, [root, alice, bob, _]) = teams().await;
    for (token, ns) in [(&alice, "team-a"), (&bob, "team-b")] {
        let path = format!("/api/v1/namespaces/{ns}/connectors");
        let mut body = aws("hub", ns);
        body.as_object_mut().unwrap().remove("namespace");
        let made = app.create_as(token, &path, body).await;
        assert_eq!(made["namespace"], ns);
    }
    let twice = app
        .post_as(&alice, "/api/v1/connectors", aws("hub", "team-a"))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let mine = app.read_as(&alice, "/api/v1/connectors/hub").await;
    assert_eq!(mine["namespace"], "team-a");
    let (status, body) = app.get_as(&root, "/api/v1/connectors/hub").await.parts();
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "ambiguous_name");
    // A change through the namespaced route touches only that one.
    let desc = json!({"description": "team-b's hub"});
    let path = "/api/v1/namespaces/team-b/connectors/hub";
    let changed = app.patch_as(&root, path, desc).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let a = app
        .read_as(&root, "/api/v1/namespaces/team-a/connectors/hub")
        .await;
    assert_ne!(a["description"], "team-b's hub");
    let verify = app
        .post_as(&root, "/api/v1/connectors/hub/verify", json!({}))
        .await;
    assert_eq!(verify.status, StatusCode::CONFLICT);
    let listed = app.read_as(&root, "/api/v1/namespaces/team-b/connectors");
    assert_eq!(items(&listed.await).len(), 1);
    let events = "/api/v1/audit-events?target=connector:team-b/hub";
    let actions = item_strings(&app.read_as(&root, events).await, "action");
    assert_eq!(actions, ["connector.update", "connector.create"]);
}

#[actix_web::test]
async fn pages_link_each_account_and_connector_under_its_namespace() {
    let (mut app, [root, ..]) = teams().await;
    for ns in ["team-a", "team-b"] {
        let path = format!("/api/v1/namespaces/{ns}/service-accounts");
        app.create_as(&root, &path, json!({"name": "ci"})).await;
        app.create_as(&root, "/api/v1/connectors", aws("hub", ns))
            .await;
    }
    app.login("root", PASSWORD).await;
    // Each list links every row under its namespace.
    for (list, link, what) in [
        ("/service-accounts", "a.account-name", "service-accounts/ci"),
        ("/connectors", "a.connector-name", "connectors/hub"),
    ] {
        let expected: Vec<String> = ["team-a", "team-b"]
            .map(|ns| format!("/namespaces/{ns}/{what}"))
            .into();
        assert_eq!(app.get(list).await.attrs(link, "href"), expected, "{list}");
    }
    // Each page's forms post to the namespaced address.
    for (page, form, action) in [
        (
            "/namespaces/team-b/service-accounts/ci",
            "#description-form",
            "/namespaces/team-b/service-accounts/ci",
        ),
        (
            "/namespaces/team-a/connectors/hub/edit",
            "#connector-form",
            "/namespaces/team-a/connectors/hub/edit",
        ),
    ] {
        let shown = app.get(page).await;
        assert_eq!(shown.status, StatusCode::OK, "{page}");
        assert_eq!(shown.attr(form, "action").as_deref(), Some(action));
    }
    // The older address of an ambiguous name says which to choose, on a page.
    let ambiguous = app.get("/service-accounts/ci").await;
    assert_eq!(ambiguous.status, StatusCode::CONFLICT);
    assert!(
        ambiguous.body.contains("team-a, team-b"),
        "{}",
        ambiguous.body
    );
    // A namespace admin's bare names still work where they are unambiguous for them.
    app.switch_to("alice").await;
    let hers = app.get("/service-accounts/ci").await;
    assert_eq!(hers.status, StatusCode::OK);
    let deleted = app
        .post_form("/namespaces/team-a/service-accounts/ci/delete", &[])
        .await;
    deleted.assert_redirect("/service-accounts");
    let still = app
        .read_as(&root, "/api/v1/namespaces/team-b/service-accounts/ci")
        .await;
    assert_eq!(still["name"], "ci");
}

#[actix_web::test]
async fn what_an_account_can_read_is_open_to_admins_of_its_namespace() {
    let (mut app, [root, alice, bob, vic]) = teams().await;
    app.seed_environments(&[("team-a", &["train"]), ("team-b", &["etl"])], "");
    let path = "/api/v1/namespaces/team-a/service-accounts";
    app.create_as(&root, path, json!({"name": "bot"})).await;
    let both = json!({"team-a/*": ["viewer"], "team-b/*": ["viewer"]});
    let bot = format!("{path}/bot");
    app.put_as(&root, &format!("{bot}/role-bindings"), both)
        .await
        .assert_status(StatusCode::OK);
    let envs = format!("{bot}/environments");
    let full = app.read_as(&root, &envs).await;
    assert_eq!(item_strings(&full, "name"), ["train", "etl"]);
    // alice administers team-a: she sees what the account reads there, nothing beyond.
    let capped = app.read_as(&alice, &envs).await;
    assert_eq!(item_strings(&capped, "name"), ["train"]);
    // bob administers team-b but cannot read team-a's accounts: 404.
    assert_eq!(app.get_as(&bob, &envs).await.status, StatusCode::NOT_FOUND);
    // vic administers only his own namespace, which the account's bindings do not reach
    // (he reads the account as a viewer of team-a): 403.
    assert_eq!(app.get_as(&vic, &envs).await.status, StatusCode::FORBIDDEN);
}
