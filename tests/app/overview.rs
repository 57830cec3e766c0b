//! The overview page counts only what the viewer may read.

use actix_web::http::StatusCode;

use crate::helpers::{PASSWORD, TestApp};

fn seed(app: &TestApp) {
    app.seed_environments(
        &[
            ("default", &["a", "b"]),
            ("team-a", &["x", "y", "z"]),
            ("team_b", &["q"]),
            ("teamXb", &["r"]),
            ("other", &["s"]),
        ],
        "",
    );
    app.conn(|c| {
        for (name, ns) in [
            ("hub-default", "default"),
            ("hub-a", "team-a"),
            ("hub-other", "other"),
        ] {
            let draft = portcullis::connectors::registry::Draft {
                name: name.into(),
                namespace: ns.into(),
                connector_type: "docker".into(),
                auth_method: "password".into(),
                configuration: serde_json::json!({"username": "u", "password": "p"})
                    .as_object()
                    .unwrap()
                    .clone(),
                ..Default::default()
            };
            portcullis::connectors::registry::create_unchecked(
                c,
                &app.state.catalog,
                &app.state.connector_sealer,
                &draft,
                "test",
            )
            .unwrap();
        }
    });
}

fn card(page: &crate::helpers::TestResponse, id: &str) -> i64 {
    page.text(&format!("#{id} .count")).parse().unwrap()
}

#[actix_web::test]
async fn the_overview_counts_what_each_viewer_can_read() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("viewer", &[]);
    app.create_user("teams", &[("team*/*", "viewer")]);
    app.create_user(
        "literal",
        &[("team_b/*", "developer"), ("other/s", "viewer")],
    );
    app.create_user("root", &[("*/*", "admin")]);

    // Defaults: default/* viewer, plus their own (empty) primary namespace.
    app.login("viewer", PASSWORD).await;
    let page = app.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(card(&page, "card-environments"), 2);
    assert_eq!(card(&page, "card-namespaces"), 2);
    assert_eq!(card(&page, "card-connectors"), 1);
    assert!(
        page.texts("#card-users").is_empty(),
        "users card is for admins only"
    );

    app.switch_to("teams").await;
    let page = app.get("/").await;
    assert_eq!(card(&page, "card-environments"), 2 + 3 + 1 + 1);
    assert_eq!(card(&page, "card-connectors"), 2);

    // `_` is literal: team_b matches, teamXb does not; env-scoped binding adds an
    // environment but no namespace.
    app.switch_to("literal").await;
    let page = app.get("/").await;
    assert_eq!(card(&page, "card-environments"), 2 + 1 + 1);
    assert_eq!(card(&page, "card-namespaces"), 3);
    assert_eq!(
        card(&page, "card-connectors"),
        1,
        "an environment binding reads no connector"
    );
    let sources = page.texts("#bindings tbody td:nth-child(3)");
    assert_eq!(
        sources,
        ["default", "primary namespace", "explicit", "explicit"]
    );

    app.switch_to("root").await;
    let page = app.get("/").await;
    assert_eq!(card(&page, "card-environments"), 8);
    assert_eq!(card(&page, "card-users"), 4);
    assert_eq!(card(&page, "card-connectors"), 3);
}

#[actix_web::test]
async fn the_overview_lists_what_needs_attention_in_what_the_viewer_reads() {
    let mut app = TestApp::new()
        .await
        .with_user("lead", &[("team-a/*", "admin")]);
    app.seed_environments(&[("team-a", &["x"]), ("team-b", &["y"])], "");
    let root = app.admin_token().await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    for ns in ["team-a", "team-b"] {
        let idle = serde_json::json!({"name": format!("idle-{ns}"), "namespace": ns});
        app.create_as(&root, "/api/v1/service-accounts", idle).await;
        let hub = serde_json::json!({"name": format!("hub-{ns}"), "namespace": ns,
            "connector_type": "docker", "auth_method": "password", "expires_at": soon,
            "configuration": {"username": "u", "password": "p"}});
        app.create_as(&root, "/api/v1/connectors", hub).await;
        let failed = serde_json::json!({"current_build": {"status": "FAILED"}});
        let env = if ns == "team-a" { "x" } else { "y" };
        app.patch_as(&root, &format!("/api/v1/environments/{ns}/{env}"), failed)
            .await
            .assert_status(StatusCode::OK);
    }
    let busy = serde_json::json!({"name": "busy", "namespace": "team-a"});
    app.create_as(&root, "/api/v1/service-accounts", busy).await;
    let bindings = serde_json::json!({"team-a/*": ["viewer"]});
    app.put_as(
        &root,
        "/api/v1/service-accounts/busy/role-bindings",
        bindings,
    )
    .await
    .assert_status(StatusCode::OK);
    let key = serde_json::json!({"name": "k", "expires_at": soon});
    app.create_as(&root, "/api/v1/service-accounts/busy/api-keys", key)
        .await;

    app.login("lead", PASSWORD).await;
    // The overview loads the list once it shows (htmx), or links to it.
    let overview = app.get("/").await;
    for (selector, attr) in [("#attention", "hx-get"), ("#attention-link", "href")] {
        let at = overview.attr(selector, attr);
        assert_eq!(at.as_deref(), Some("/attention"), "{selector}");
    }
    let fragment = app.htmx_get("/attention").await;
    assert!(!fragment.body.contains("<html"));
    assert!(!fragment.texts(".attention").is_empty());
    let page = app.get("/attention").await;
    let lines = page.texts("#attention .attention");
    let has = |start: &str| lines.iter().any(|l| l.starts_with(start));
    assert!(has("Key k of team-a/busy expires"), "{lines:?}");
    assert!(has("team-a/idle-team-a has no role bindings"), "{lines:?}");
    assert!(
        has("Connector team-a/hub-team-a: its credentials expire"),
        "{lines:?}"
    );
    assert!(has("The build of team-a/x failed"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("team-b")), "{lines:?}");
    assert!(!has("team-a/busy has no role bindings"), "{lines:?}");
    assert_eq!(
        page.attr("#attention .attention a", "href").as_deref(),
        Some("/namespaces/team-a/service-accounts/busy")
    );
}
