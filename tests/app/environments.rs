//! Namespaces and environments through the API: lists only what the caller may read,
//! exact totals, keyset pages, filters, builds, CRUD by role.

use actix_web::http::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

fn seed(app: &TestApp) {
    app.conn(|c| {
        for (ns, envs) in [
            ("default", &["base", "r"][..]),
            ("team-a", &["train", "serve", "etl"][..]),
            ("team-b", &["etl"][..]),
            ("org-x", &["secret"][..]),
        ] {
            let id = portcullis::environments::ensure_namespace(c, ns, "").unwrap();
            for env in envs {
                portcullis::environments::create_environment(c, id, env, "", "").unwrap();
            }
        }
    });
}

fn names(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}/{}",
                i["namespace"].as_str().unwrap(),
                i["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[actix_web::test]
async fn environment_lists_show_only_what_the_caller_may_read_with_exact_totals() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("alice", &[("team-*/*", "viewer")]);
    let alice = app.access_token("alice", PASSWORD).await;
    let all = app.get_bearer("/api/v1/environments", &alice).await.json();
    assert_eq!(
        names(&all),
        [
            "default/base",
            "default/r",
            "team-a/etl",
            "team-a/serve",
            "team-a/train",
            "team-b/etl"
        ]
    );
    assert_eq!(all["total"], 6);
    let page = app
        .get_bearer("/api/v1/environments?limit=4", &alice)
        .await
        .json();
    assert_eq!(page["total"], 6);
    assert_eq!(names(&page).len(), 4);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_bearer(
            &format!("/api/v1/environments?limit=4&cursor={cursor}"),
            &alice,
        )
        .await
        .json();
    assert_eq!(names(&rest), ["team-a/train", "team-b/etl"]);
    assert!(rest["next_cursor"].is_null());
    let search = app
        .get_bearer("/api/v1/environments?search=ET", &alice)
        .await
        .json();
    assert_eq!(names(&search), ["team-a/etl", "team-b/etl"]);
    assert_eq!(search["total"], 2);
    let ns = app
        .get_bearer("/api/v1/environments?namespace=team-a", &alice)
        .await
        .json();
    assert_eq!(ns["total"], 3);
    let hidden = app
        .get_bearer("/api/v1/environments?namespace=org-x", &alice)
        .await
        .json();
    assert_eq!(hidden["total"], 0);
    assert_eq!(
        app.get_bearer("/api/v1/environments/org-x/secret", &alice)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/train", &alice)
            .await
            .status,
        StatusCode::OK
    );
    let bad = app
        .get_bearer("/api/v1/environments?status=DONE", &alice)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_cursor = app
        .get_bearer("/api/v1/environments?cursor=%%%", &alice)
        .await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn developers_create_and_update_admins_delete_environments() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("dev", &[("team-a/*", "developer")]);
    app.create_user("lead", &[("team-a/*", "admin")]);
    let dev = app.access_token("dev", PASSWORD).await;
    let lead = app.access_token("lead", PASSWORD).await;
    let created = app
        .post_as(&dev, "/api/v1/environments", json!({"namespace": "team-a", "name": "new", "specification": "dependencies: [python]"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["current_build"]["status"], "QUEUED");
    let dup = app
        .post_as(
            &dev,
            "/api/v1/environments",
            json!({"namespace": "team-a", "name": "new"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let elsewhere = app
        .post_as(
            &dev,
            "/api/v1/environments",
            json!({"namespace": "team-b", "name": "x"}),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unreadable namespace reads as missing"
    );
    let bad = app
        .post_as(
            &dev,
            "/api/v1/environments",
            json!({"namespace": "team-a", "name": "bad name"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let built = app
        .patch_as(
            &dev,
            "/api/v1/environments/team-a/new",
            json!({"current_build": {"status": "COMPLETED"}, "description": "ok"}),
        )
        .await;
    assert_eq!(built.status, StatusCode::OK, "{}", built.body);
    assert_eq!(built.json()["current_build"]["status"], "COMPLETED");
    assert!(built.json()["current_build"]["ended_at"].is_string());
    let completed = app
        .get_bearer("/api/v1/environments?status=COMPLETED", &dev)
        .await
        .json();
    assert_eq!(names(&completed), ["team-a/new"]);
    let del = app.delete_as(&dev, "/api/v1/environments/team-a/new").await;
    assert_eq!(del.status, StatusCode::FORBIDDEN);
    let del = app
        .delete_as(&lead, "/api/v1/environments/team-a/new")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/new", &lead)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn environment_scoped_bindings_never_give_namespace_powers() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("pin", &[("team-a/train", "admin")]);
    let pin = app.access_token("pin", PASSWORD).await;
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/train", &pin)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/serve", &pin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let create = app
        .post_as(
            &pin,
            "/api/v1/environments",
            json!({"namespace": "team-a", "name": "x"}),
        )
        .await;
    assert!(
        create.status == StatusCode::FORBIDDEN || create.status == StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get_bearer("/api/v1/namespaces/team-a", &pin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let del = app
        .delete_as(&pin, "/api/v1/environments/team-a/train")
        .await;
    assert_eq!(
        del.status,
        StatusCode::NO_CONTENT,
        "admin on the environment itself"
    );
}

#[actix_web::test]
async fn namespaces_are_created_listed_and_deleted_by_role() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("teams", &[("team-*/*", "admin")]);
    let teams = app.access_token("teams", PASSWORD).await;
    let created = app
        .post_as(
            &teams,
            "/api/v1/namespaces",
            json!({"name": "team-c", "metadata": {"owner": "c"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["metadata"]["owner"], "c");
    let outside = app
        .post_as(&teams, "/api/v1/namespaces", json!({"name": "org-y"}))
        .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN);
    let bad_meta = app
        .post_as(
            &teams,
            "/api/v1/namespaces",
            json!({"name": "team-d", "metadata": [1]}),
        )
        .await;
    assert_eq!(bad_meta.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = app.get_bearer("/api/v1/namespaces", &teams).await.json();
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["default", "team-a", "team-b", "team-c", "teams"]);
    let one = app
        .get_bearer("/api/v1/namespaces/team-a", &teams)
        .await
        .json();
    assert_eq!(one["environments"], 3);
    let del = app.delete_as(&teams, "/api/v1/namespaces/team-a").await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let gone = app
        .get_bearer("/api/v1/environments?namespace=team-a", &teams)
        .await
        .json();
    assert_eq!(gone["total"], 0);
    let root = app.admin_token().await;
    let default = app.delete_as(&root, "/api/v1/namespaces/default").await;
    assert_eq!(default.status, StatusCode::CONFLICT);
}

#[actix_web::test]
async fn sharing_grants_within_what_the_sharer_holds() {
    let mut app = TestApp::new().await;
    seed(&app);
    app.create_user("lead", &[("team-a/*", "admin")]);
    app.create_user("dev", &[("team-a/*", "developer")]);
    app.create_user("guest", &[]);
    let lead = app.access_token("lead", PASSWORD).await;
    let dev = app.access_token("dev", PASSWORD).await;
    let guest = app.access_token("guest", PASSWORD).await;
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/train", &guest)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let shared = app
        .put_as(
            &lead,
            "/api/v1/namespaces/team-a/shares/guest",
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    assert_eq!(shared.json()["items"][0]["principal_name"], "guest");
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/train", &guest)
            .await
            .status,
        StatusCode::OK
    );
    let perms = app.get_bearer("/api/v1/permissions", &guest).await.json();
    let share = perms["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["pattern"] == "team-a/*")
        .unwrap()
        .clone();
    assert_eq!(share["source"], "share");
    // A developer cannot share; nobody can share another namespace or beyond a role.
    let by_dev = app
        .put_as(
            &dev,
            "/api/v1/namespaces/team-a/shares/guest",
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(by_dev.status, StatusCode::FORBIDDEN);
    let other = app
        .put_as(
            &lead,
            "/api/v1/namespaces/team-b/shares/guest",
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let nobody = app
        .put_as(
            &lead,
            "/api/v1/namespaces/team-a/shares/nobody",
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_role = app
        .put_as(
            &lead,
            "/api/v1/namespaces/team-a/shares/guest",
            json!({"role": "owner"}),
        )
        .await;
    assert_eq!(bad_role.status, StatusCode::UNPROCESSABLE_ENTITY);
    let removed = app
        .delete_as(&lead, "/api/v1/namespaces/team-a/shares/guest")
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_bearer("/api/v1/environments/team-a/train", &guest)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn cached_totals_follow_every_write_from_any_instance() {
    let mut a = TestApp::new().await;
    seed(&a);
    a.create_user("lead", &[("team-*/*", "admin")]);
    let lead = a.access_token("lead", PASSWORD).await;
    let total = |body: serde_json::Value| body["total"].as_i64().unwrap();
    let before = total(a.get_bearer("/api/v1/environments", &lead).await.json());
    assert_eq!(before, 6);
    // Another instance writes; this one's cached total must not survive it.
    let mut b = a.sibling().await;
    let created = b
        .post_as(
            &lead,
            "/api/v1/environments",
            json!({"namespace": "team-b", "name": "new"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        total(a.get_bearer("/api/v1/environments", &lead).await.json()),
        7
    );
    b.patch_as(
        &lead,
        "/api/v1/environments/team-b/new",
        json!({"current_build": {"status": "FAILED"}}),
    )
    .await;
    assert_eq!(
        total(
            a.get_bearer("/api/v1/environments?status=FAILED", &lead)
                .await
                .json()
        ),
        1
    );
    b.delete_as(&lead, "/api/v1/environments/team-b/new").await;
    assert_eq!(
        total(a.get_bearer("/api/v1/environments", &lead).await.json()),
        6
    );
    assert_eq!(
        total(
            a.get_bearer("/api/v1/environments?status=FAILED", &lead)
                .await
                .json()
        ),
        0
    );
    b.delete_as(&lead, "/api/v1/namespaces/team-a").await;
    assert_eq!(
        total(a.get_bearer("/api/v1/environments", &lead).await.json()),
        3
    );
}
