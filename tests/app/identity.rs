//! One identity per request: session users come from the per-instance identity cache,
//! and every change made through this instance reaches a signed-in user's very next
//! request (the cache epoch moves with it).

use std::time::Duration;

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// An app whose identity cache would keep entries for an hour: whatever a test sees
/// change at once was invalidated, not aged out.
async fn app_with_long_cache() -> TestApp {
    TestApp::with_config(|c| c.key_cache_ttl = Duration::from_secs(3600))
        .await
        .with_user("bob", &[("team-a/*", "developer")])
}

async fn roles_of(app: &mut TestApp) -> serde_json::Value {
    let res = app.get("/api/v1/permissions").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["entity_roles"].clone()
}

/// Deletes bob's `team-a/*` binding straight in the database: no operation, so no
/// cache invalidation.
fn delete_binding_behind_the_servers_back(app: &TestApp) {
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::role_bindings as rb;
        diesel::delete(rb::table.filter(rb::pattern.eq("team-a/*")))
            .execute(c)
            .unwrap();
    });
}

#[actix_web::test]
async fn a_revoked_binding_is_gone_from_the_users_next_request() {
    let mut bob = app_with_long_cache().await;
    bob.login("bob", PASSWORD).await;
    assert_eq!(roles_of(&mut bob).await["team-a/*"], json!(["developer"]));
    let mut admin = bob.new_browser();
    let root = admin.admin_token().await;
    admin
        .put_as(&root, "/api/v1/users/bob/role-bindings", json!({}))
        .await
        .assert_status(StatusCode::OK);
    assert!(roles_of(&mut bob).await.get("team-a/*").is_none());
}

#[actix_web::test]
async fn a_deactivated_user_is_signed_out_on_the_next_request() {
    let mut bob = app_with_long_cache().await;
    bob.login("bob", PASSWORD).await;
    assert_eq!(bob.get("/").await.status, StatusCode::OK);
    let mut admin = bob.new_browser();
    let root = admin.admin_token().await;
    admin
        .patch_as(&root, "/api/v1/users/bob", json!({"active": false}))
        .await
        .assert_status(StatusCode::OK);
    let res = bob.get("/").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.header("location")
            .is_some_and(|l| l.starts_with("/login"))
    );
}

#[actix_web::test]
async fn a_group_binding_reaches_signed_in_members_at_once() {
    let mut bob = app_with_long_cache().await;
    let mut admin = bob.new_browser();
    let root = admin.admin_token().await;
    admin
        .patch_as(&root, "/api/v1/users/bob", json!({"groups": ["ml"]}))
        .await
        .assert_status(StatusCode::OK);
    bob.login("bob", PASSWORD).await;
    assert!(roles_of(&mut bob).await.get("ml/*").is_none());
    admin
        .put_as(
            &root,
            "/api/v1/groups/ml/role-bindings",
            json!({"ml/*": ["viewer"]}),
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(roles_of(&mut bob).await["ml/*"], json!(["viewer"]));
}

#[actix_web::test]
async fn a_signed_in_user_is_served_from_the_identity_cache() {
    let mut bob = app_with_long_cache().await;
    bob.login("bob", PASSWORD).await;
    assert!(roles_of(&mut bob).await.get("team-a/*").is_some());
    // A change behind the server's back (no operation, so no invalidation) is not
    // seen: the request did not read bindings from the database.
    delete_binding_behind_the_servers_back(&bob);
    assert!(roles_of(&mut bob).await.get("team-a/*").is_some());
    // Any change through this instance invalidates every identity cache.
    bob.state.key_cache.clear();
    assert!(roles_of(&mut bob).await.get("team-a/*").is_none());
}

#[actix_web::test]
async fn a_zero_cache_lifetime_reads_identity_on_every_request() {
    let mut bob = TestApp::with_config(|c| c.key_cache_ttl = Duration::ZERO)
        .await
        .with_user("bob", &[("team-a/*", "developer")]);
    bob.login("bob", PASSWORD).await;
    assert!(roles_of(&mut bob).await.get("team-a/*").is_some());
    delete_binding_behind_the_servers_back(&bob);
    assert!(roles_of(&mut bob).await.get("team-a/*").is_none());
}
