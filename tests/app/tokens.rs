//! Down-scoped tokens: never more than the issuer, the intersection with the issuer's
//! current grants, revocable, and the permission map.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

fn seed(app: &TestApp) {
    app.conn(|c| {
        for ns in ["team-a", "team-b"] {
            let id = portcullis::environments::ensure_namespace(c, ns, "").unwrap();
            portcullis::environments::create_environment(c, id, "env", "", "").unwrap();
        }
    });
}

#[actix_web::test]
async fn a_down_scoped_token_sees_only_what_it_names_and_its_issuer_still_holds() {
    let mut app = TestApp::new().await;
    seed(&app);
    let uid = app.create_user("alice", &[("team-*/*", "developer")]);
    let alice = app.access_token("alice", PASSWORD).await;
    let res = app
        .post_as(
            &alice,
            "/api/v1/tokens",
            json!({"role_bindings": {"team-a/*": ["viewer"]}, "expires_in_seconds": 600}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let token = res.json()["token"].as_str().unwrap().to_owned();
    let id = res.json()["id"].as_str().unwrap().to_owned();
    let list = app.get_bearer("/api/v1/environments", &token).await.json();
    assert_eq!(list["total"], 1, "only team-a, and no defaults are added");
    let write = app
        .patch_as(
            &token,
            "/api/v1/environments/team-a/env",
            json!({"description": "x"}),
        )
        .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "the token says viewer");
    let perms = app.get_bearer("/api/v1/permissions", &token).await.json();
    assert_eq!(perms["entity_roles"], json!({"team-a/*": ["viewer"]}));
    assert!(perms["expiration"].is_string());
    // The issuer loses team-a: the token loses it too.
    app.conn(|c| {
        portcullis::access::replace_bindings(
            c,
            "user",
            uid,
            &[(
                portcullis::access::Pattern::parse("team-b/*").unwrap(),
                portcullis::access::Role::Developer,
            )],
        )
        .unwrap()
    });
    assert_eq!(
        app.get_bearer("/api/v1/environments", &token).await.json()["total"],
        0
    );
    // Listed without secrets, then revoked.
    let mine = app.get_bearer("/api/v1/tokens", &alice).await;
    assert!(mine.body.contains(&id));
    assert!(!mine.body.contains(&token[16..48]));
    let del = app.delete_as(&alice, &format!("/api/v1/tokens/{id}")).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn nobody_mints_a_token_with_more_than_they_hold() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("dev", &[("team-a/*", "developer")]);
    let dev = app.access_token("dev", PASSWORD).await;
    for bindings in [
        json!({"*/*": ["admin"]}),
        json!({"team-a/*": ["admin"]}),
        json!({"team-*/*": ["viewer"]}),
    ] {
        let res = app
            .post_as(&dev, "/api/v1/tokens", json!({"role_bindings": bindings}))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{bindings}");
    }
    let bad = app
        .post_as(
            &dev,
            "/api/v1/tokens",
            json!({"role_bindings": {"a b/*": ["viewer"]}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let too_long = app
        .post_as(
            &dev,
            "/api/v1/tokens",
            json!({"expires_in_seconds": 365 * 24 * 3600}),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Someone else's token id is 404.
    app.create_user("eve", &[]);
    let eve = app.access_token("eve", PASSWORD).await;
    let mine = app.post_as(&dev, "/api/v1/tokens", json!({})).await.json();
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
    let child = app
        .post_as(
            &parent,
            "/api/v1/tokens",
            json!({"expires_in_seconds": 3600}),
        )
        .await
        .json();
    let parent_exp = chrono::DateTime::parse_from_rfc3339(
        app.get_bearer("/api/v1/permissions", &parent).await.json()["expiration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let child_exp =
        chrono::DateTime::parse_from_rfc3339(child["expires_at"].as_str().unwrap()).unwrap();
    assert!(child_exp <= parent_exp);
}

#[actix_web::test]
async fn admins_see_what_any_user_can_read_and_why() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("alice", &[("team-a/*", "viewer")]);
    let root = app.admin_token().await;
    let envs = app
        .get_bearer("/api/v1/users/alice/environments?limit=500", &root)
        .await
        .json();
    assert_eq!(envs["total"], 1);
    assert_eq!(envs["items"][0]["namespace"], "team-a");
    let perms = app
        .get_bearer("/api/v1/users/alice/permissions", &root)
        .await
        .json();
    let sources: Vec<_> = perms["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sources, ["default", "primary namespace", "explicit"]);
    assert_eq!(perms["primary_namespace"], "alice");
    assert!(
        perms["entity_permissions"]["alice/*"]
            .as_array()
            .unwrap()
            .contains(&json!("namespace::delete"))
    );
    // Edit alice's explicit bindings; the view follows.
    let put = app
        .put_as(
            &root,
            "/api/v1/users/alice/role-bindings",
            json!({"team-*/*": ["viewer"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK);
    let envs = app
        .get_bearer("/api/v1/users/alice/environments", &root)
        .await
        .json();
    assert_eq!(envs["total"], 2);
    let alice = app.access_token("alice", PASSWORD).await;
    assert_eq!(
        app.get_bearer("/api/v1/users/alice/environments", &alice)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_bearer("/api/v1/users/nobody/permissions", &root)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn admins_create_and_deactivate_users() {
    let mut app = TestApp::new().await;
    let root = app.admin_token().await;
    let created = app
        .post_as(&root, "/api/v1/users", json!({"name": "bob", "password": "a long password here", "primary_namespace": "team-bob"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["primary_namespace"], "team-bob");
    let bob = app.access_token("bob", "a long password here").await;
    assert_eq!(
        app.get_bearer("/api/v1/namespaces/team-bob", &bob)
            .await
            .status,
        StatusCode::OK
    );
    let short = app
        .post_as(
            &root,
            "/api/v1/users",
            json!({"name": "carl", "password": "short"}),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let dup = app
        .post_as(&root, "/api/v1/users", json!({"name": "bob"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let off = app
        .patch_as(&root, "/api/v1/users/bob", json!({"active": false}))
        .await;
    assert_eq!(off.json()["active"], false);
    assert_eq!(app.whoami_status(&bob).await, StatusCode::UNAUTHORIZED);
    let list = app
        .get_bearer("/api/v1/users?search=bo", &root)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn group_members_get_the_group_bindings_shown_as_their_source() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("gina", &[]);
    let root = app.admin_token().await;
    let gina = app.access_token("gina", PASSWORD).await;
    assert_eq!(
        app.get_bearer("/api/v1/environments?namespace=team-b", &gina)
            .await
            .json()["total"],
        0
    );
    let put = app
        .put_as(
            &root,
            "/api/v1/groups/data-eng/role-bindings",
            json!({"team-b/*": ["developer"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let member = app
        .patch_as(&root, "/api/v1/users/gina", json!({"groups": ["data-eng"]}))
        .await;
    assert_eq!(member.json()["groups"], json!(["data-eng"]));
    assert_eq!(
        app.get_bearer("/api/v1/environments?namespace=team-b", &gina)
            .await
            .json()["total"],
        1
    );
    let perms = app.get_bearer("/api/v1/permissions", &gina).await.json();
    let group = perms["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pattern"] == "team-b/*")
        .unwrap()
        .clone();
    assert_eq!(group["source"], "group");
    let groups = app.get_bearer("/api/v1/groups", &root).await.json();
    assert_eq!(groups["items"][0]["name"], "data-eng");
    // Leaving the group takes the binding away; only admins manage groups.
    app.patch_as(&root, "/api/v1/users/gina", json!({"groups": []}))
        .await;
    assert_eq!(
        app.get_bearer("/api/v1/environments?namespace=team-b", &gina)
            .await
            .json()["total"],
        0
    );
    let denied = app
        .put_as(
            &gina,
            "/api/v1/groups/data-eng/role-bindings",
            json!({"gina/*": ["viewer"]}),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad = app
        .patch_as(&root, "/api/v1/users/gina", json!({"groups": ["bad name"]}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn a_token_minted_with_a_down_scoped_token_keeps_its_scope_and_dies_with_it() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("alice", &[("team-*/*", "developer")]);
    let alice = app.access_token("alice", PASSWORD).await;
    let scoped = app
        .post_as(
            &alice,
            "/api/v1/tokens",
            json!({"role_bindings": {"team-a/*": ["viewer"]}}),
        )
        .await
        .json();
    let scoped_id = scoped["id"].as_str().unwrap().to_owned();
    let scoped = scoped["token"].as_str().unwrap().to_owned();
    // Asking for "everything" with the scoped token gets the scoped token's scope.
    let child = app
        .post_as(&scoped, "/api/v1/tokens", json!({}))
        .await
        .json();
    let child = child["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get_bearer("/api/v1/environments", &child).await.json()["total"],
        1
    );
    let wider = app
        .post_as(
            &scoped,
            "/api/v1/tokens",
            json!({"role_bindings": {"team-b/*": ["viewer"]}}),
        )
        .await;
    assert_eq!(wider.status, StatusCode::FORBIDDEN);
    // Revoking the parent revokes the child.
    let del = app
        .delete_as(&alice, &format!("/api/v1/tokens/{scoped_id}"))
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&child).await, StatusCode::UNAUTHORIZED);
}
