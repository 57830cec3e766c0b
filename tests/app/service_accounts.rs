//! Service accounts through the API and the dashboard, with namespace-level checks.

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, get, item_strings, items};

const ACCOUNTS: &str = "/api/v1/service-accounts";

/// Creates account `body` through the API as `token`; asserts the 201.
async fn create_account(app: &mut TestApp, token: &str, body: Value) -> Value {
    app.post_as(token, ACCOUNTS, body)
        .await
        .assert_status(StatusCode::CREATED)
        .json()
}

/// `root` (`*/*: admin`), signed in to the dashboard.
async fn dashboard() -> TestApp {
    let mut app = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    app.login("root", PASSWORD).await;
    app
}

#[actix_web::test]
async fn accounts_default_to_the_default_namespace_and_list_with_pagination() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let body = create_account(&mut app, &admin, json!({"name": "ci", "description": "CI"})).await;
    assert_eq!(body["namespace"], "default");
    assert_eq!(body["active"], true);
    assert_eq!(body["api_keys"], 0);
    assert_eq!(body["created_by"], "user:root");
    for i in 0..4 {
        create_account(&mut app, &admin, json!({"name": format!("bot-{i}")})).await;
    }
    let page1 = app
        .read_as(&admin, "/api/v1/service-accounts?limit=3")
        .await;
    assert_eq!(item_strings(&page1, "name"), ["bot-0", "bot-1", "bot-2"]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let next = format!("/api/v1/service-accounts?limit=3&cursor={cursor}");
    let page2 = app.read_as(&admin, &next).await;
    assert_eq!(item_strings(&page2, "name"), ["bot-3", "ci"]);
    assert!(page2["next_cursor"].is_null());
    let search = app
        .read_as(&admin, "/api/v1/service-accounts?search=BOT-")
        .await;
    assert_eq!(items(&search).len(), 4);
}

#[actix_web::test]
async fn bad_account_input_is_422_or_409_and_nothing_is_stored() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    for (body, field) in [
        (json!({"name": "-bad"}), "name"),
        (json!({"name": "a b"}), "name"),
        (json!({"name": "x".repeat(65)}), "name"),
        (json!({"name": "ok", "namespace": "nope"}), "namespace"),
        (
            json!({"name": "ok", "description": "d".repeat(2000)}),
            "description",
        ),
    ] {
        let res = app.post_as(&admin, ACCOUNTS, body.clone()).await;
        let invalid = StatusCode::UNPROCESSABLE_ENTITY;
        assert_eq!(res.status, invalid, "{body}: {}", res.body);
        let message = &res.json()["error"]["fields"][field];
        assert!(message.is_string(), "{}", res.body);
    }
    let unknown = json!({"name": "ok", "colour": "red"});
    let unknown = app.post_as(&admin, ACCOUNTS, unknown).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    create_account(&mut app, &admin, json!({"name": "ok"})).await;
    let dup = app.post_as(&admin, ACCOUNTS, json!({"name": "ok"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let list = app.read_as(&admin, ACCOUNTS).await;
    assert_eq!(items(&list).len(), 1);
}

#[actix_web::test]
async fn namespace_admins_manage_their_namespace_only_and_others_get_404() {
    const A_CI: &str = "/api/v1/service-accounts/a-ci";
    const BINDINGS: &str = "/api/v1/service-accounts/a-ci/role-bindings";
    let mut app = TestApp::new().await;
    app.create_user("lead", &[("team-a/*", "admin")]);
    app.create_user("dev", &[("team-a/*", "developer")]);
    app.create_user("outsider", &[]);
    app.ensure_namespaces(&["team-a", "team-b"]);
    let lead = app.access_token("lead", PASSWORD).await;
    let dev = app.access_token("dev", PASSWORD).await;
    let outsider = app.access_token("outsider", PASSWORD).await;
    create_account(
        &mut app,
        &lead,
        json!({"name": "a-ci", "namespace": "team-a"}),
    )
    .await;
    let elsewhere = json!({"name": "b-ci", "namespace": "team-b"});
    let other = app.post_as(&lead, ACCOUNTS, elsewhere).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // A developer reads but cannot mint keys.
    let developer = [
        get(A_CI, 200),
        (
            Method::POST,
            "/api/v1/service-accounts/a-ci/api-keys",
            json!({"name": "k"}),
            403,
        ),
    ];
    app.assert_statuses("a developer", &dev, &developer).await;
    // Someone without a binding on team-a cannot even see it exists.
    let stranger = [get(A_CI, 404), (Method::DELETE, A_CI, Value::Null, 404)];
    app.assert_statuses("an outsider", &outsider, &stranger)
        .await;
    let list = app.read_as(&outsider, ACCOUNTS).await;
    assert_eq!(items(&list).len(), 0);
    // The lead cannot bind the account beyond what the lead holds.
    let escalate = app.put_as(&lead, BINDINGS, json!({"*/*": ["admin"]})).await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);
    let viewer = json!({"team-a/*": ["viewer"]});
    let fine = app.put_as(&lead, BINDINGS, viewer.clone()).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    assert_eq!(fine.json(), viewer);
}

#[actix_web::test]
async fn the_dashboard_creates_an_account_with_a_default_key_and_reveals_it() {
    let mut app = dashboard().await;
    let fields = [
        ("name", "nightly"),
        ("namespace", "default"),
        ("description", "Nightly job"),
        ("create_key", "1"),
    ];
    let res = app.post_form("/service-accounts", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let location = res.location().to_owned();
    assert!(location.starts_with("/reveal/"), "{location}");
    let reveal = app.get(&location).await;
    let key = reveal.text("#api-key");
    assert!(key.starts_with("pck_"));
    let me = app.get_as(&key, "/api/v1/whoami").await;
    assert_eq!(me.json()["name"], "nightly");
    let page = app.get("/service-accounts").await;
    assert_eq!(page.texts(".account-name"), ["nightly"]);
    let show = app.get("/service-accounts/nightly").await;
    assert_eq!(show.text("#account-name"), "nightly");
    assert_eq!(show.texts(".key-row strong"), ["default"]);
    assert_eq!(show.text(".key-row .last-used"), "never");
}

#[actix_web::test]
async fn dashboard_form_errors_come_back_as_422_with_messages() {
    let mut app = dashboard().await;
    let fields = [("name", "bad name"), ("namespace", "default")];
    let res = app.post_form("/service-accounts", &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text("#name-error").contains("only letters"));
    assert_eq!(res.value("input[name=name]").as_deref(), Some("bad name"));
    assert!(res.attr("#new-account", "open").is_some());
}

#[actix_web::test]
async fn live_search_answers_rows_for_htmx_and_pages_with_load_more() {
    let mut app = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    let admin = app.admin_token().await;
    for i in 0..30 {
        create_account(&mut app, &admin, json!({"name": format!("job-{i:02}")})).await;
    }
    app.login("root", PASSWORD).await;
    let page = app.get("/service-accounts").await;
    assert_eq!(page.texts(".account-name").len(), 25);
    let more = page.attr("#load-more a", "hx-get").unwrap();
    let rest = app.htmx_get(&more).await;
    assert!(!rest.body.contains("<html"));
    assert_eq!(rest.fragment_count(".account-name"), 5);
    let search = app.htmx_get("/service-accounts?q=job-1").await;
    assert_eq!(search.fragment_count(".account-name"), 10);
}

#[actix_web::test]
async fn deleting_an_account_revokes_its_keys_and_tokens() {
    let (mut app, admin, key) = TestApp::with_key("doomed", "k1").await;
    let token = app.key_token(&key.plaintext).await;
    assert_eq!(app.whoami_status(&token).await, StatusCode::OK);
    let del = app
        .delete_as(&admin, "/api/v1/service-accounts/doomed")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    for credential in [&key.plaintext, &token] {
        let status = app.whoami_status(credential).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (keys, tokens): (i64, i64) = app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::{access_tokens, api_keys};
        (
            api_keys::table.count().get_result(c).unwrap(),
            access_tokens::table
                .filter(access_tokens::api_key_id.is_not_null())
                .count()
                .get_result(c)
                .unwrap(),
        )
    });
    assert_eq!((keys, tokens), (0, 0));
}

/// The label of the one toggle on the account list.
async fn toggle(app: &mut TestApp) -> String {
    let page = app.get("/service-accounts").await;
    page.text(".account-row button.toggle")
}

#[actix_web::test]
async fn the_list_toggles_an_account_and_stays_on_the_list() {
    let mut app = dashboard().await;
    let fields = [("name", "etl"), ("namespace", "default")];
    app.post_form("/service-accounts", &fields)
        .await
        .assert_redirect("/namespaces/default/service-accounts/etl");
    assert_eq!(toggle(&mut app).await, "active");
    let off = [("active", "false"), ("back", "list")];
    app.post_form("/service-accounts/etl/active", &off)
        .await
        .assert_redirect("/service-accounts");
    assert_eq!(toggle(&mut app).await, "inactive");
    let bad = app
        .post_form("/service-accounts/etl/active", &[("active", "maybe")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A viewer sees a badge, not a toggle.
    app.create_user("watcher", &[]);
    app.switch_to("watcher").await;
    let page = app.get("/service-accounts").await;
    assert!(page.texts(".account-row button.toggle").is_empty());
    assert_eq!(page.texts(".account-row .badge"), ["inactive"]);
}

#[actix_web::test]
async fn a_namespace_admin_cannot_mint_keys_for_an_account_that_holds_more_than_they_do() {
    const BINDINGS: &str = "/api/v1/service-accounts/deployer/role-bindings";
    const KEYS: &str = "/api/v1/service-accounts/deployer/api-keys";
    let mut app = TestApp::new().await;
    app.ensure_namespaces(&["team-a", "team-b"]);
    app.create_user("lead", &[("team-a/*", "admin")]);
    let root = app.admin_token().await;
    let lead = app.access_token("lead", PASSWORD).await;
    app.create_key(&root, "team-a", "deployer", "k1").await;
    app.put_as(&root, BINDINGS, json!({"team-b/*": ["admin"]}))
        .await
        .assert_status(StatusCode::OK);
    let beyond = [
        (Method::POST, KEYS, json!({"name": "mine"}), 403),
        (
            Method::POST,
            "/api/v1/service-accounts/deployer/api-keys/k1/rotate",
            json!({}),
            403,
        ),
    ];
    app.assert_statuses("a team-a admin", &lead, &beyond).await;
    // Within the lead's own scope it works.
    app.put_as(&root, BINDINGS, json!({"team-a/*": ["admin"]}))
        .await
        .assert_status(StatusCode::OK);
    let ok = app.post_as(&lead, KEYS, json!({"name": "mine"})).await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

#[actix_web::test]
async fn a_deleted_account_takes_its_shares_along() {
    let mut app = TestApp::new().await;
    app.seed_environments(&[("team-b", &["prod"])], "");
    let root = app.admin_token().await;
    app.create_key(&root, "default", "ci", "k").await;
    app.put_as(
        &root,
        "/api/v1/namespaces/team-b/shares/ci",
        json!({"role": "admin"}),
    )
    .await
    .assert_status(StatusCode::OK);
    app.delete_as(&root, "/api/v1/service-accounts/ci")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    // A new account (which may reuse the row id) inherits nothing.
    let fresh = app.create_key(&root, "default", "newcomer", "k").await;
    let envs = app.read_as(&fresh.plaintext, "/api/v1/environments").await;
    assert_eq!(envs["total"], 0);
    let shares = app.read_as(&root, "/api/v1/namespaces/team-b/shares").await;
    assert_eq!(items(&shares).len(), 0);
}
