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
