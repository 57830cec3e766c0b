//! Down-scoped tokens: never more than the issuer, the intersection with the issuer's
//! current grants, revocable, and the permission map.

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, find_by, item_strings, items};

/// team-a and team-b with an environment each, and `name` with `bindings`; returns the
/// app, the user's id and an access token of theirs.
async fn world(name: &str, bindings: &[(&str, &str)]) -> (TestApp, i64, String) {
    let mut app = TestApp::new().await;
    app.seed_environments(&[("team-a", &["env"]), ("team-b", &["env"])], "");
    let id = app.create_user(name, bindings);
    let token = app.access_token(name, PASSWORD).await;
    (app, id, token)
}

/// Mints a token as `token` with `body`; asserts the 201 and returns the answer.
async fn mint(app: &mut TestApp, token: &str, body: Value) -> Value {
    app.post_as(token, "/api/v1/tokens", body)
        .await
        .assert_status(StatusCode::CREATED)
        .json()
}

/// The `total` of the environment list at `path` as `token`.
async fn total(app: &mut TestApp, token: &str, path: &str) -> i64 {
    app.read_as(token, path).await["total"].as_i64().unwrap()
}

#[actix_web::test]
async fn a_down_scoped_token_sees_only_what_it_names_and_its_issuer_still_holds() {
    let (mut app, _, alice) = world("alice", &[("team-*/*", "developer")]).await;
    let scope = json!({"role_bindings": {"team-a/*": ["viewer"]}, "expires_in_seconds": 600});
    let res = mint(&mut app, &alice, scope).await;
    let token = res["token"].as_str().unwrap().to_owned();
    let id = res["id"].as_str().unwrap().to_owned();
    let listed = total(&mut app, &token, "/api/v1/environments").await;
    assert_eq!(listed, 1, "only team-a, and no defaults are added");
    let edit = json!({"description": "x"});
    let write = app
        .patch_as(&token, "/api/v1/environments/team-a/env", edit)
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "the token says viewer");
    let perms = app.read_as(&token, "/api/v1/permissions").await;
    assert_eq!(perms["entity_roles"], json!({"team-a/*": ["viewer"]}));
    assert!(perms["expiration"].is_string());
    // The issuer loses team-a: the token loses it too (at once on this instance).
    let root = app.admin_token().await;
    let only_b = json!({"team-b/*": ["developer"]});
    app.put_as(&root, "/api/v1/users/alice/role-bindings", only_b)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(total(&mut app, &token, "/api/v1/environments").await, 0);
    // Listed without secrets, then revoked.
    let mine = app.get_as(&alice, "/api/v1/tokens").await;
    assert!(mine.body.contains(&id));
    assert!(!mine.body.contains(&token[16..48]));
    let del = app.delete_as(&alice, &format!("/api/v1/tokens/{id}")).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn nobody_mints_a_token_with_more_than_they_hold() {
    let (mut app, _, dev) = world("dev", &[("team-a/*", "developer")]).await;
    let (forbidden, invalid) = (403, 422);
    let mut refused = Vec::new();
    for bindings in [
        json!({"*/*": ["admin"]}),
        json!({"team-a/*": ["admin"]}),
        json!({"team-*/*": ["viewer"]}),
    ] {
        refused.push((json!({"role_bindings": bindings}), forbidden));
    }
    refused.push((json!({"role_bindings": {"a b/*": ["viewer"]}}), invalid));
    refused.push((json!({"expires_in_seconds": 365 * 24 * 3600}), invalid));
    let steps: Vec<_> = refused
        .into_iter()
        .map(|(body, status)| (Method::POST, "/api/v1/tokens", body, status))
        .collect();
    app.assert_statuses("a developer", &dev, &steps).await;
    // Someone else's token id is 404.
    app.create_user("eve", &[]);
    let eve = app.access_token("eve", PASSWORD).await;
    let mine = mint(&mut app, &dev, json!({})).await;
    let id = mine["id"].as_str().unwrap();
    let steal = app.delete_as(&eve, &format!("/api/v1/tokens/{id}")).await;
    assert_eq!(steal.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_token_minted_by_a_token_never_outlives_it() {
    let mut app =
        TestApp::with_config(|c| c.access_token_ttl = std::time::Duration::from_secs(60)).await;
    app.create_user("alice", &[]);
    let parent = app.access_token("alice", PASSWORD).await;
    let child = mint(&mut app, &parent, json!({"expires_in_seconds": 3600})).await;
    let permissions = app.read_as(&parent, "/api/v1/permissions").await;
    let expiry = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(expiry(&child["expires_at"]) <= expiry(&permissions["expiration"]));
}

#[actix_web::test]
async fn admins_see_what_any_user_can_read_and_why() {
    let (mut app, _, _) = world("alice", &[("team-a/*", "viewer")]).await;
    let root = app.admin_token().await;
    let envs = app
        .read_as(&root, "/api/v1/users/alice/environments?limit=500")
        .await;
    assert_eq!(envs["total"], 1);
    assert_eq!(envs["items"][0]["namespace"], "team-a");
    let perms = app.read_as(&root, "/api/v1/users/alice/permissions").await;
    let sources: Vec<_> = perms["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sources, ["default", "primary namespace", "explicit"]);
    assert_eq!(perms["primary_namespace"], "alice");
    let own = perms["entity_permissions"]["alice/*"].as_array().unwrap();
    assert!(own.contains(&json!("namespace::delete")));
    // Edit alice's explicit bindings; the view follows.
    let wider = json!({"team-*/*": ["viewer"]});
    let put = app
        .put_as(&root, "/api/v1/users/alice/role-bindings", wider)
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(
        total(&mut app, &root, "/api/v1/users/alice/environments").await,
        2
    );
    let alice = app.access_token("alice", PASSWORD).await;
    // Alice administers only her own namespace: she sees herself within it.
    let own_view = app
        .read_as(&alice, "/api/v1/users/alice/environments")
        .await;
    assert_eq!(
        own_view["total"], 0,
        "team-* lies outside alice/*: {own_view}"
    );
    let nobody = app.get_as(&root, "/api/v1/users/nobody/permissions").await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn admins_create_and_deactivate_users() {
    let mut app = TestApp::new().await;
    let root = app.admin_token().await;
    let bob =
        json!({"name": "bob", "password": "a long password here", "primary_namespace": "team-bob"});
    let created = app.post_as(&root, "/api/v1/users", bob).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["primary_namespace"], "team-bob");
    let bob = app.access_token("bob", "a long password here").await;
    app.read_as(&bob, "/api/v1/namespaces/team-bob").await;
    for (body, expected) in [
        (
            json!({"name": "carl", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"name": "bob"}), StatusCode::CONFLICT),
        // A user administers their primary namespace: never one that exists already.
        (
            json!({"name": "team-bob"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"name": "default"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"name": "eve", "primary_namespace": "team-bob"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let res = app.post_as(&root, "/api/v1/users", body.clone()).await;
        assert_eq!(res.status, expected, "{body}");
    }
    let off = app
        .patch_as(&root, "/api/v1/users/bob", json!({"active": false}))
        .await;
    assert_eq!(off.json()["active"], false);
    assert_eq!(app.whoami_status(&bob).await, StatusCode::UNAUTHORIZED);
    // Activating bob again revives none of the tokens he had.
    let on = app.patch_as(&root, "/api/v1/users/bob", json!({"active": true}));
    assert_eq!(on.await.json()["active"], true);
    assert_eq!(app.whoami_status(&bob).await, StatusCode::UNAUTHORIZED);
    app.access_token("bob", "a long password here").await;
    let list = app.read_as(&root, "/api/v1/users?search=bo").await;
    assert_eq!(items(&list).len(), 1);
}

#[actix_web::test]
async fn group_members_get_the_group_bindings_shown_as_their_source() {
    const TEAM_B: &str = "/api/v1/environments?namespace=team-b";
    const GROUP: &str = "/api/v1/groups/data-eng/role-bindings";
    let (mut app, _, gina) = world("gina", &[]).await;
    let root = app.admin_token().await;
    assert_eq!(total(&mut app, &gina, TEAM_B).await, 0);
    let put = app
        .put_as(&root, GROUP, json!({"team-b/*": ["developer"]}))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let joined = json!({"groups": ["data-eng"]});
    let member = app.patch_as(&root, "/api/v1/users/gina", joined).await;
    assert_eq!(member.json()["groups"], json!(["data-eng"]));
    assert_eq!(total(&mut app, &gina, TEAM_B).await, 1);
    let perms = app.read_as(&gina, "/api/v1/permissions").await;
    let group = find_by(&perms["bindings"], "pattern", "team-b/*");
    assert_eq!(group["source"], "group");
    let groups = app.read_as(&root, "/api/v1/groups").await;
    assert_eq!(item_strings(&groups, "name")[0], "data-eng");
    // Leaving the group takes the binding away; only admins manage groups.
    app.patch_as(&root, "/api/v1/users/gina", json!({"groups": []}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(total(&mut app, &gina, TEAM_B).await, 0);
    let denied = app
        .put_as(&gina, GROUP, json!({"gina/*": ["viewer"]}))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad_name = json!({"groups": ["bad name"]});
    let bad = app.patch_as(&root, "/api/v1/users/gina", bad_name).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn a_token_minted_with_a_down_scoped_token_keeps_its_scope_and_dies_with_it() {
    let (mut app, _, alice) = world("alice", &[("team-*/*", "developer")]).await;
    let team_a = json!({"role_bindings": {"team-a/*": ["viewer"]}});
    let scoped = mint(&mut app, &alice, team_a).await;
    let scoped_id = scoped["id"].as_str().unwrap().to_owned();
    let scoped = scoped["token"].as_str().unwrap().to_owned();
    // Asking for "everything" with the scoped token gets the scoped token's scope.
    let child = mint(&mut app, &scoped, json!({})).await;
    let child = child["token"].as_str().unwrap().to_owned();
    assert_eq!(total(&mut app, &child, "/api/v1/environments").await, 1);
    let team_b = json!({"role_bindings": {"team-b/*": ["viewer"]}});
    let wider = app.post_as(&scoped, "/api/v1/tokens", team_b).await;
    assert_eq!(wider.status, StatusCode::FORBIDDEN);
    // Revoking the parent revokes the child.
    let del = app
        .delete_as(&alice, &format!("/api/v1/tokens/{scoped_id}"))
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&child).await, StatusCode::UNAUTHORIZED);
}
