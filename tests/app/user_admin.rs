//! Admins run users in the browser — create, reset a password (shown once), deactivate
//! and reactivate, set memberships and what a group gets — and every user changes
//! their own password, which ends their other sessions.

use actix_web::http::StatusCode;

use crate::helpers::{PASSWORD, TestApp};
use crate::pages::world;

/// A one-time password from the reveal the browser was sent to.
async fn revealed(app: &mut TestApp, res: crate::helpers::TestResponse) -> String {
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get(res.location()).await;
    assert!(page.text("h1").contains("password of"), "{}", page.body);
    page.text("#api-key")
}

#[actix_web::test]
async fn an_admin_creates_a_user_resets_their_password_and_deactivates_them() {
    let mut app = world(&[("root", "*/*=admin")]).await;
    let res = app.post_form("/users", &[("name", "dana")]).await;
    let first = revealed(&mut app, res).await;
    let mut dana = app.new_browser();
    dana.login("dana", &first).await;
    for (name, field) in [("dana", "#form-error"), ("no spaces", "#name-error")] {
        let refused = app.post_form("/users", &[("name", name)]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(!refused.text(field).is_empty(), "{name}: {}", refused.body);
    }

    let res = app.post_form("/users/dana/password", &[]).await;
    let second = revealed(&mut app, res).await;
    assert_ne!(first, second);
    dana.assert_signed_out().await;
    let old = dana.post_login("dana", &first, Some("/")).await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    dana.login("dana", &second).await;

    app.post_form("/users/dana", &[("active", "false")])
        .await
        .assert_redirect("/users/dana");
    dana.assert_signed_out().await;
    app.post_form("/users/dana", &[("active", "true")])
        .await
        .assert_redirect("/users/dana");
    dana.login("dana", &second).await;
    let mut api = app.new_browser();
    let root = api.admin_token().await;
    let actions = api
        .read_as(&root, "/api/v1/audit-events?target=user:dana")
        .await;
    let actions: Vec<&str> = actions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "user.create",
        "user.password",
        "user.deactivate",
        "user.activate",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[actix_web::test]
async fn an_admin_sets_memberships_and_what_a_group_gets() {
    let mut app = world(&[("root", "*/*=admin"), ("erin", "")]).await;
    app.post_form("/users/erin", &[("groups", "ml, data")])
        .await
        .assert_redirect("/users/erin");
    let page = app.get("/users/erin").await;
    assert_eq!(
        page.value("#groups-form input[name=groups]").as_deref(),
        Some("data, ml")
    );
    let ml = [("group", "ml"), ("bindings", "team-a/*=developer")];
    app.post_form("/groups", &ml)
        .await
        .assert_redirect("/groups");
    let page = app.get("/users/erin").await;
    assert_eq!(page.text("#view-as-total"), "2", "team-a's two, through ml");
    let groups = app.get("/groups").await;
    assert!(
        groups
            .text("article[data-group=ml] textarea")
            .contains("team-a/*=developer")
    );
    let bad = app
        .post_form("/groups", &[("group", "ml"), ("bindings", "nonsense")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text("#group-error").starts_with("ml:"));
    assert_eq!(
        bad.text("article[data-group=ml] textarea"),
        "nonsense",
        "the text is kept to be fixed"
    );
    app.switch_to("erin").await;
    for (path, fields) in [("/users", vec![("name", "x")]), ("/groups", ml.to_vec())] {
        let refused = app.post_form(path, &fields).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(app.get("/groups").await.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn users_change_their_own_password_and_their_other_sessions_end() {
    let mut app = world(&[("fay", "team-a/*=viewer")]).await;
    let mut elsewhere = app.new_browser();
    elsewhere.login("fay", PASSWORD).await;
    let new = "a much longer passphrase";
    let wrong = [("current", "wrong one"), ("new", new), ("confirm", new)];
    let refused = app.post_form("/password", &wrong).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text("#password-error")
            .contains("current password is wrong")
    );
    let mismatch = [
        ("current", PASSWORD),
        ("new", new),
        ("confirm", "something else"),
    ];
    let refused = app.post_form("/password", &mismatch).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    elsewhere.get("/access").await.assert_status(StatusCode::OK);

    let right = [("current", PASSWORD), ("new", new), ("confirm", new)];
    app.post_form("/password", &right)
        .await
        .assert_redirect("/access#password");
    assert_eq!(
        app.get("/access").await.status,
        StatusCode::OK,
        "this session goes on"
    );
    elsewhere.assert_signed_out().await;
    let old = elsewhere.post_login("fay", PASSWORD, Some("/")).await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old password no longer works"
    );
    elsewhere.login("fay", new).await;
}
