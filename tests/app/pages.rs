//! Dashboard pages of environments, namespaces, "My access", tokens and users.

use actix_web::http::StatusCode;

use crate::helpers::{PASSWORD, TestApp, TestResponse};

/// team-a (train, serve) and team-b (etl), and `users` as `(name, "pattern=role,…")`;
/// the first one signed in.
pub async fn world(users: &[(&str, &str)]) -> TestApp {
    let mut app = TestApp::new().await;
    app.seed_environments(
        &[("team-a", &["train", "serve"]), ("team-b", &["etl"])],
        "deps: [x]",
    );
    for (name, bindings) in users {
        let bindings: Vec<(&str, &str)> = bindings
            .split(',')
            .filter_map(|b| b.split_once('='))
            .collect();
        app.create_user(name, &bindings);
    }
    app.login(users[0].0, PASSWORD).await;
    app
}

#[actix_web::test]
async fn the_environments_page_lists_readable_environments_and_offers_only_allowed_actions() {
    let mut app = world(&[("viewer", "team-a/*=viewer"), ("dev", "team-a/*=developer")]).await;
    let page = app.get("/environments").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts(".env-name"), ["serve", "train"]);
    assert_eq!(page.text("#total"), "2");
    assert_eq!(
        page.texts("#new-env-form select[name=namespace] option"),
        ["viewer"],
        "a viewer of team-a can create only in their own namespace"
    );
    let env = app.get("/environments/team-a/train").await;
    assert!(env.texts("#edit-env-form").is_empty() && env.texts("#delete-env").is_empty());
    assert_eq!(
        app.get("/environments/team-b/etl").await.status,
        StatusCode::NOT_FOUND
    );
    let search = app.htmx_get("/environments?search=tra").await;
    assert!(!search.body.contains("<html"));
    assert!(search.body.contains(">train<") && !search.body.contains(">serve<"));

    app.switch_to("dev").await;
    let page = app.get("/environments").await;
    assert_eq!(
        page.texts("#new-env-form select[name=namespace] option"),
        ["dev", "team-a"]
    );
    let fresh = [
        ("namespace", "team-a"),
        ("name", "fresh"),
        ("specification", "dependencies: [y]"),
    ];
    app.post_form("/environments", &fresh)
        .await
        .assert_redirect("/environments/team-a/fresh");
    let shown = app.get("/environments/team-a/fresh").await;
    assert_eq!(shown.text("#build-status"), "QUEUED");
    assert_eq!(shown.texts("#edit-env-form").len(), 1);
    assert!(
        shown.texts("#delete-env").is_empty(),
        "developers cannot delete"
    );
    // Refusals show the form again with the message next to the field. A broken
    // specification names its line, and stays in the editor to be fixed.
    let broken = "channels: [conda-forge]\ndependencies: [z";
    for (path, fields, error, starts) in [
        (
            "/environments",
            vec![("namespace", "team-a"), ("name", "bad name")],
            "#name-error",
            "name",
        ),
        (
            "/environments/team-a/fresh",
            vec![("specification", broken)],
            "#specification-error",
            "line 3:",
        ),
    ] {
        let refused = app.post_form(path, &fields).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(refused.text(error).starts_with(starts), "{}", refused.body);
        if path.ends_with("fresh") {
            let editor = "#edit-env-form textarea[name=specification]";
            assert_eq!(refused.text(editor), broken);
        }
    }
    let edit = [("description", "edited"), ("specification", "name: z")];
    app.post_form("/environments/team-a/fresh", &edit)
        .await
        .assert_redirect("/environments/team-a/fresh");
    let edited = app.get("/environments/team-a/fresh").await;
    let form = "#edit-env-form textarea[name=specification]";
    assert_eq!(edited.text(form), "name: z");
    let description = edited.value("#edit-env-form input[name=description]");
    assert_eq!(description.as_deref(), Some("edited"));
    let forced = app
        .post_form("/environments/team-a/fresh/delete", &[])
        .await;
    assert_eq!(
        forced.status,
        StatusCode::FORBIDDEN,
        "enforced on the server regardless of buttons"
    );
}

/// Submits the namespace page's share form for team-a.
async fn share_team_a(app: &mut TestApp, principal: &str, role: &str) -> TestResponse {
    let fields = [("principal", principal), ("role", role)];
    app.post_form("/namespaces/team-a/shares", &fields).await
}

#[actix_web::test]
async fn namespace_admins_share_from_the_namespace_page() {
    let mut app = world(&[("lead", "team-a/*=admin"), ("guest", "")]).await;
    let page = app.get("/namespaces/team-a").await;
    assert_eq!(page.text("#ns-name"), "team-a");
    assert_eq!(page.texts("#ns-envs .env-row").len(), 2);
    assert_eq!(page.texts("#share-form").len(), 1);
    let res = share_team_a(&mut app, "guest", "developer").await;
    res.assert_redirect("/namespaces/team-a");
    let page = app.get("/namespaces/team-a").await;
    assert_eq!(page.texts(".share-row").len(), 1);
    let unknown = share_team_a(&mut app, "ghost", "viewer").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text("#share-error").contains("ghost"));
    assert_eq!(
        app.get("/namespaces/team-b").await.status,
        StatusCode::NOT_FOUND
    );
    let list = app.get("/namespaces").await;
    assert!(list.texts(".ns-name").contains(&"team-a".to_owned()));
    app.switch_to("guest").await;
    assert_eq!(
        app.get("/environments/team-a/train").await.status,
        StatusCode::OK
    );
    let access = app.get("/access").await;
    assert!(
        access
            .texts("#my-bindings .source")
            .contains(&"share".to_owned())
    );
    let ns = app.get("/namespaces/team-a").await;
    assert!(
        ns.texts("#share-form").is_empty(),
        "a developer share cannot re-share"
    );
    app.switch_to("lead").await;
    let guest = [("principal", "user:guest")];
    app.post_form("/namespaces/team-a/shares/delete", &guest)
        .await
        .assert_redirect("/namespaces/team-a");
    let page = app.get("/namespaces/team-a").await;
    assert!(page.texts(".share-row").is_empty(), "the share is gone");
}

#[actix_web::test]
async fn tokens_are_minted_down_scoped_revealed_once_and_revoked_from_my_access() {
    let mut app = world(&[("alice", "team-*/*=developer")]).await;
    let page = app.get("/access").await;
    let sources = page.texts("#my-bindings .source");
    assert_eq!(sources, ["default", "primary namespace", "explicit"]);
    let scoped = [("binding", "team-*/*=developer"), ("expires_days", "3")];
    let res = app.post_form("/tokens", &scoped).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let reveal = app.get(res.location()).await;
    let token = reveal.text("#api-key");
    assert!(token.starts_with("pct_"));
    let envs = app.read_as(&token, "/api/v1/environments").await;
    assert_eq!(envs["total"], 3, "only the team-* environments");
    let page = app.get("/access").await;
    let id = page.attr(".token-row", "data-id").unwrap();
    assert!(
        page.text(".token-row td:nth-child(2)")
            .contains("team-*/*=developer")
    );
    let too_much = app.post_form("/tokens", &[("binding", "*/*=admin")]).await;
    assert_eq!(too_much.status, StatusCode::FORBIDDEN);
    assert!(!too_much.text("#token-error").is_empty());
    app.post_form(&format!("/tokens/{id}/revoke"), &[])
        .await
        .assert_redirect("/access");
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn admins_view_as_a_user_and_edit_their_bindings() {
    let mut app = world(&[("root", "*/*=admin"), ("alice", "team-a/train=viewer")]).await;
    let users = app.get("/users").await;
    assert!(users.texts(".user-name").contains(&"alice".to_owned()));
    let page = app.get("/users/alice").await;
    assert_eq!(page.text("#view-as-total"), "1");
    assert_eq!(
        page.text(".why-row .because"),
        "team-a/train viewer (explicit)"
    );
    let bindings = [("bindings", "team-*/*=viewer\nteam-a/*=developer")];
    app.post_form("/users/alice/role-bindings", &bindings)
        .await
        .assert_redirect("/users/alice");
    let page = app.get("/users/alice").await;
    assert_eq!(page.text("#view-as-total"), "3");
    let bad = app
        .post_form("/users/alice/role-bindings", &[("bindings", "nonsense")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.text("#bindings-error").is_empty());
    app.switch_to("alice").await;
    assert_eq!(app.get("/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/users/root").await.status, StatusCode::FORBIDDEN);
}
