//! Namespaces and environments through the API: lists only what the caller may read,
//! exact totals, keyset pages, filters, builds, CRUD by role.

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, find_by, get, item_strings, items};

/// default, team-a, team-b and org-x with their environments; `users` with their
/// bindings; returns the app and each user's access token, in order.
async fn world<const N: usize>(users: [(&str, &[(&str, &str)]); N]) -> (TestApp, [String; N]) {
    let mut app = TestApp::new().await;
    app.seed_environments(
        &[
            ("default", &["base", "r"]),
            ("team-a", &["train", "serve", "etl"]),
            ("team-b", &["etl"]),
            ("org-x", &["secret"]),
        ],
        "",
    );
    let mut tokens = Vec::new();
    for (name, bindings) in users {
        app.create_user(name, bindings);
        tokens.push(app.access_token(name, PASSWORD).await);
    }
    (app, tokens.try_into().unwrap())
}

/// `namespace/name` of each environment in a list answer.
fn names(body: &Value) -> Vec<String> {
    items(body)
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

/// The `total` of a list answer.
fn total(body: &Value) -> i64 {
    body["total"].as_i64().unwrap()
}

#[actix_web::test]
async fn environment_lists_show_only_what_the_caller_may_read_with_exact_totals() {
    let (mut app, [alice]) = world([("alice", &[("team-*/*", "viewer")])]).await;
    let all = app.read_as(&alice, "/api/v1/environments").await;
    let readable = [
        "default/base",
        "default/r",
        "team-a/etl",
        "team-a/serve",
        "team-a/train",
        "team-b/etl",
    ];
    assert_eq!(names(&all), readable);
    assert_eq!(all["total"], 6);
    let page = app.read_as(&alice, "/api/v1/environments?limit=4").await;
    assert_eq!(page["total"], 6);
    assert_eq!(names(&page).len(), 4);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = format!("/api/v1/environments?limit=4&cursor={cursor}");
    let rest = app.read_as(&alice, &next).await;
    assert_eq!(names(&rest), ["team-a/train", "team-b/etl"]);
    assert!(rest["next_cursor"].is_null());
    let search = app.read_as(&alice, "/api/v1/environments?search=ET").await;
    assert_eq!(names(&search), ["team-a/etl", "team-b/etl"]);
    assert_eq!(search["total"], 2);
    for (namespace, expected) in [("team-a", 3), ("org-x", 0)] {
        let path = format!("/api/v1/environments?namespace={namespace}");
        let list = app.read_as(&alice, &path).await;
        assert_eq!(total(&list), expected, "{namespace}");
    }
    let checks = [
        get("/api/v1/environments/org-x/secret", 404),
        get("/api/v1/environments/team-a/train", 200),
        get("/api/v1/environments?status=DONE", 422),
        get("/api/v1/environments?cursor=%%%", 400),
    ];
    app.assert_statuses("a team-* viewer", &alice, &checks)
        .await;
}

#[actix_web::test]
async fn developers_create_and_update_admins_delete_environments() {
    let developer: (&str, &[_]) = ("dev", &[("team-a/*", "developer")]);
    let admin: (&str, &[_]) = ("lead", &[("team-a/*", "admin")]);
    let (mut app, [dev, lead]) = world([developer, admin]).await;
    let new =
        json!({"namespace": "team-a", "name": "new", "specification": "dependencies: [python]"});
    let created = app.post_as(&dev, "/api/v1/environments", new).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["current_build"]["status"], "QUEUED");
    let refused = [
        (
            json!({"namespace": "team-a", "name": "new"}),
            StatusCode::CONFLICT,
            "a duplicate",
        ),
        (
            json!({"namespace": "team-b", "name": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable namespace reads as missing",
        ),
        (
            json!({"namespace": "team-a", "name": "bad name"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "a bad name",
        ),
    ];
    for (body, expected, why) in refused {
        let res = app.post_as(&dev, "/api/v1/environments", body).await;
        assert_eq!(res.status, expected, "{why}: {}", res.body);
    }
    let build = json!({"current_build": {"status": "COMPLETED"}, "description": "ok"});
    let built = app
        .patch_as(&dev, "/api/v1/environments/team-a/new", build)
        .await;
    assert_eq!(built.status, StatusCode::OK, "{}", built.body);
    assert_eq!(built.json()["current_build"]["status"], "COMPLETED");
    assert!(built.json()["current_build"]["ended_at"].is_string());
    let completed = app
        .read_as(&dev, "/api/v1/environments?status=COMPLETED")
        .await;
    assert_eq!(names(&completed), ["team-a/new"]);
    let env = "/api/v1/environments/team-a/new";
    let forbidden = [(Method::DELETE, env, Value::Null, 403)];
    app.assert_statuses("a developer", &dev, &forbidden).await;
    let deleted = [(Method::DELETE, env, Value::Null, 204), get(env, 404)];
    app.assert_statuses("a namespace admin", &lead, &deleted)
        .await;
}

#[actix_web::test]
async fn environment_scoped_bindings_never_give_namespace_powers() {
    let (mut app, [pin]) = world([("pin", &[("team-a/train", "admin")])]).await;
    let reads = [
        get("/api/v1/environments/team-a/train", 200),
        get("/api/v1/environments/team-a/serve", 404),
    ];
    app.assert_statuses("an environment admin", &pin, &reads)
        .await;
    let new = json!({"namespace": "team-a", "name": "x"});
    let create = app.post_as(&pin, "/api/v1/environments", new).await;
    assert!(
        create.status == StatusCode::FORBIDDEN || create.status == StatusCode::UNPROCESSABLE_ENTITY
    );
    let namespace = app.get_as(&pin, "/api/v1/namespaces/team-a").await;
    assert_eq!(namespace.status, StatusCode::NOT_FOUND);
    let del = app
        .delete_as(&pin, "/api/v1/environments/team-a/train")
        .await;
    let why = "admin on the environment itself";
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{why}");
}

#[actix_web::test]
async fn namespaces_are_created_listed_and_deleted_by_role() {
    let (mut app, [teams]) = world([("teams", &[("team-*/*", "admin")])]).await;
    let new = json!({"name": "team-c", "metadata": {"owner": "c"}});
    let created = app.post_as(&teams, "/api/v1/namespaces", new).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["metadata"]["owner"], "c");
    for (body, expected) in [
        (json!({"name": "org-y"}), StatusCode::FORBIDDEN),
        (
            json!({"name": "team-d", "metadata": [1]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let res = app
            .post_as(&teams, "/api/v1/namespaces", body.clone())
            .await;
        assert_eq!(res.status, expected, "{body}");
    }
    let list = app.read_as(&teams, "/api/v1/namespaces").await;
    let listed = item_strings(&list, "name");
    assert_eq!(listed, ["default", "team-a", "team-b", "team-c", "teams"]);
    let one = app.read_as(&teams, "/api/v1/namespaces/team-a").await;
    assert_eq!(one["environments"], 3);
    let del = app.delete_as(&teams, "/api/v1/namespaces/team-a").await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    let gone = app
        .read_as(&teams, "/api/v1/environments?namespace=team-a")
        .await;
    assert_eq!(gone["total"], 0);
    let root = app.admin_token().await;
    let default = app.delete_as(&root, "/api/v1/namespaces/default").await;
    assert_eq!(default.status, StatusCode::CONFLICT);
}

#[actix_web::test]
async fn sharing_grants_within_what_the_sharer_holds() {
    const TRAIN: &str = "/api/v1/environments/team-a/train";
    const SHARE: &str = "/api/v1/namespaces/team-a/shares/guest";
    let admin: (&str, &[_]) = ("lead", &[("team-a/*", "admin")]);
    let developer: (&str, &[_]) = ("dev", &[("team-a/*", "developer")]);
    let (mut app, [lead, dev, guest]) = world([admin, developer, ("guest", &[])]).await;
    let hidden = [get(TRAIN, 404)];
    app.assert_statuses("a guest without a share", &guest, &hidden)
        .await;
    let shared = app.put_as(&lead, SHARE, json!({"role": "viewer"})).await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    assert_eq!(shared.json()["items"][0]["principal_name"], "guest");
    let visible = [get(TRAIN, 200)];
    app.assert_statuses("a guest with a share", &guest, &visible)
        .await;
    let perms = app.read_as(&guest, "/api/v1/permissions").await;
    let share = find_by(&perms["bindings"], "pattern", "team-a/*");
    assert_eq!(share["source"], "share");
    // A developer cannot share; nobody can share another namespace or beyond a role.
    let by_dev = [(Method::PUT, SHARE, json!({"role": "admin"}), 403)];
    app.assert_statuses("a developer", &dev, &by_dev).await;
    let by_lead = [
        (
            Method::PUT,
            "/api/v1/namespaces/team-b/shares/guest",
            json!({"role": "viewer"}),
            404,
        ),
        (
            Method::PUT,
            "/api/v1/namespaces/team-a/shares/nobody",
            json!({"role": "viewer"}),
            422,
        ),
        (Method::PUT, SHARE, json!({"role": "owner"}), 422),
        (Method::DELETE, SHARE, Value::Null, 204),
    ];
    app.assert_statuses("the namespace admin", &lead, &by_lead)
        .await;
    app.assert_statuses("a guest whose share was removed", &guest, &hidden)
        .await;
}

#[actix_web::test]
async fn cached_totals_follow_every_write_from_any_instance() {
    let (mut a, [lead]) = world([("lead", &[("team-*/*", "admin")])]).await;
    let all = "/api/v1/environments";
    let failed = "/api/v1/environments?status=FAILED";
    assert_eq!(total(&a.read_as(&lead, all).await), 6);
    // Another instance writes; this one's cached total must not survive it.
    let mut b = a.sibling().await;
    let new = json!({"namespace": "team-b", "name": "new"});
    let created = b.post_as(&lead, all, new).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(total(&a.read_as(&lead, all).await), 7);
    let build = json!({"current_build": {"status": "FAILED"}});
    b.patch_as(&lead, "/api/v1/environments/team-b/new", build)
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(total(&a.read_as(&lead, failed).await), 1);
    b.delete_as(&lead, "/api/v1/environments/team-b/new")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(total(&a.read_as(&lead, all).await), 6);
    assert_eq!(total(&a.read_as(&lead, failed).await), 0);
    b.delete_as(&lead, "/api/v1/namespaces/team-a")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(total(&a.read_as(&lead, all).await), 3);
}

#[actix_web::test]
async fn a_broken_specification_is_a_422_naming_its_line_and_nothing_is_queued() {
    let mut app = TestApp::new().await;
    app.ensure_namespaces(&["team-a"]);
    let root = app.admin_token().await;
    let body = json!({"namespace": "team-a", "name": "ok", "specification": "dependencies: [python=3.12]"});
    app.create_as(&root, "/api/v1/environments", body).await;
    for (spec, line) in [
        ("channels: [conda-forge\n", "line 2:"),
        ("channels: [a]\ndependency: [x]\n", "line 2: unknown key"),
    ] {
        let body = json!({"specification": spec});
        let res = app
            .patch_as(&root, "/api/v1/environments/team-a/ok", body)
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{spec:?}");
        let message = res.json()["error"]["fields"]["specification"].clone();
        assert!(
            message.as_str().unwrap().starts_with(line),
            "{spec:?}: {message}"
        );
    }
    let env = app.read_as(&root, "/api/v1/environments/team-a/ok").await;
    assert_eq!(env["specification"], "dependencies: [python=3.12]");
}
