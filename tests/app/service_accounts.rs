//! Service accounts through the API and the dashboard, with namespace-level checks.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

#[actix_web::test]
async fn accounts_default_to_the_default_namespace_and_list_with_pagination() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let res = app
        .post_as(
            &admin,
            "/api/v1/service-accounts",
            json!({"name": "ci", "description": "CI"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let body = res.json();
    assert_eq!(body["namespace"], "default");
    assert_eq!(body["active"], true);
    assert_eq!(body["api_keys"], 0);
    assert_eq!(body["created_by"], "user:root");
    for i in 0..4 {
        app.post_as(
            &admin,
            "/api/v1/service-accounts",
            json!({"name": format!("bot-{i}")}),
        )
        .await;
    }
    let page1 = app
        .get_bearer("/api/v1/service-accounts?limit=3", &admin)
        .await
        .json();
    let names: Vec<_> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(names, [json!("bot-0"), json!("bot-1"), json!("bot-2")]);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = app
        .get_bearer(
            &format!("/api/v1/service-accounts?limit=3&cursor={cursor}"),
            &admin,
        )
        .await
        .json();
    let names: Vec<_> = page2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].clone())
        .collect();
    assert_eq!(names, [json!("bot-3"), json!("ci")]);
    assert!(page2["next_cursor"].is_null());
    let search = app
        .get_bearer("/api/v1/service-accounts?search=BOT-", &admin)
        .await
        .json();
    assert_eq!(search["items"].as_array().unwrap().len(), 4);
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
        let res = app
            .post_as(&admin, "/api/v1/service-accounts", body.clone())
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            res.body
        );
        assert!(
            res.json()["error"]["fields"][field].is_string(),
            "{}",
            res.body
        );
    }
    let unknown = app
        .post_as(
            &admin,
            "/api/v1/service-accounts",
            json!({"name": "ok", "colour": "red"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    app.post_as(&admin, "/api/v1/service-accounts", json!({"name": "ok"}))
        .await;
    let dup = app
        .post_as(&admin, "/api/v1/service-accounts", json!({"name": "ok"}))
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let list = app
        .get_bearer("/api/v1/service-accounts", &admin)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn namespace_admins_manage_their_namespace_only_and_others_get_404() {
    let mut app = TestApp::new().await;
    app.create_user("lead", &[("team-a/*", "admin")]);
    app.create_user("dev", &[("team-a/*", "developer")]);
    app.create_user("outsider", &[]);
    app.conn(|c| {
        portcullis::environments::ensure_namespace(c, "team-a", "").unwrap();
        portcullis::environments::ensure_namespace(c, "team-b", "").unwrap();
    });
    let lead = app.access_token("lead", PASSWORD).await;
    let dev = app.access_token("dev", PASSWORD).await;
    let outsider = app.access_token("outsider", PASSWORD).await;
    let ok = app
        .post_as(
            &lead,
            "/api/v1/service-accounts",
            json!({"name": "a-ci", "namespace": "team-a"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let other = app
        .post_as(
            &lead,
            "/api/v1/service-accounts",
            json!({"name": "b-ci", "namespace": "team-b"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // A developer reads but cannot mint keys.
    assert_eq!(
        app.get_bearer("/api/v1/service-accounts/a-ci", &dev)
            .await
            .status,
        StatusCode::OK
    );
    let key = app
        .post_as(
            &dev,
            "/api/v1/service-accounts/a-ci/api-keys",
            json!({"name": "k"}),
        )
        .await;
    assert_eq!(key.status, StatusCode::FORBIDDEN);
    // Someone without a binding on team-a cannot even see it exists.
    assert_eq!(
        app.get_bearer("/api/v1/service-accounts/a-ci", &outsider)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let del = app
        .delete_as(&outsider, "/api/v1/service-accounts/a-ci")
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let list = app
        .get_bearer("/api/v1/service-accounts", &outsider)
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // The lead cannot bind the account beyond what the lead holds.
    let escalate = app
        .put_as(
            &lead,
            "/api/v1/service-accounts/a-ci/role-bindings",
            json!({"*/*": ["admin"]}),
        )
        .await;
    assert_eq!(escalate.status, StatusCode::FORBIDDEN);
    let fine = app
        .put_as(
            &lead,
            "/api/v1/service-accounts/a-ci/role-bindings",
            json!({"team-a/*": ["viewer"]}),
        )
        .await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    assert_eq!(fine.json(), json!({"team-a/*": ["viewer"]}));
}

#[actix_web::test]
async fn the_dashboard_creates_an_account_with_a_default_key_and_reveals_it() {
    let mut app = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    app.login("root", PASSWORD).await;
    let res = app
        .post_form(
            "/service-accounts",
            &[
                ("name", "nightly"),
                ("namespace", "default"),
                ("description", "Nightly job"),
                ("create_key", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let location = res.header("location").unwrap().to_owned();
    assert!(location.starts_with("/reveal/"), "{location}");
    let reveal = app.get(&location).await;
    let key = reveal.text("#api-key");
    assert!(key.starts_with("pck_"));
    let me = app.get_bearer("/api/v1/whoami", &key).await;
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
    let mut app = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    app.login("root", PASSWORD).await;
    let res = app
        .post_form(
            "/service-accounts",
            &[("name", "bad name"), ("namespace", "default")],
        )
        .await;
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
        app.post_as(
            &admin,
            "/api/v1/service-accounts",
            json!({"name": format!("job-{i:02}")}),
        )
        .await;
    }
    app.login("root", PASSWORD).await;
    let page = app.get("/service-accounts").await;
    assert_eq!(page.texts(".account-name").len(), 25);
    let more = page.attr("#load-more a", "hx-get").unwrap();
    let rest = app.htmx_get(&more).await;
    assert!(!rest.body.contains("<html"));
    let frag = scraper::Html::parse_fragment(&format!("<table>{}</table>", rest.body));
    let sel = scraper::Selector::parse(".account-name").unwrap();
    assert_eq!(frag.select(&sel).count(), 5);
    let search = app.htmx_get("/service-accounts?q=job-1").await;
    let frag = scraper::Html::parse_fragment(&format!("<table>{}</table>", search.body));
    assert_eq!(frag.select(&sel).count(), 10);
}

#[actix_web::test]
async fn deleting_an_account_revokes_its_keys_and_tokens() {
    let mut app = TestApp::new().await;
    let admin = app.admin_token().await;
    let key = app.create_key(&admin, "default", "doomed", "k1").await;
    let token = app
        .json(
            Method::POST,
            "/api/v1/login",
            json!({"api_key": key.plaintext}),
            None,
        )
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.whoami_status(&token).await, StatusCode::OK);
    let del = app
        .delete_as(&admin, "/api/v1/service-accounts/doomed")
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.whoami_status(&key.plaintext).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
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

#[actix_web::test]
async fn the_list_toggles_an_account_and_stays_on_the_list() {
    let mut app = TestApp::new().await.with_user("root", &[("*/*", "admin")]);
    app.login("root", PASSWORD).await;
    app.post_form(
        "/service-accounts",
        &[("name", "etl"), ("namespace", "default")],
    )
    .await;
    let page = app.get("/service-accounts").await;
    assert_eq!(page.text(".account-row button.toggle"), "active");
    let res = app
        .post_form(
            "/service-accounts/etl/active",
            &[("active", "false"), ("back", "list")],
        )
        .await;
    assert_eq!(res.header("location"), Some("/service-accounts"));
    let page = app.get("/service-accounts").await;
    assert_eq!(page.text(".account-row button.toggle"), "inactive");
    let bad = app
        .post_form("/service-accounts/etl/active", &[("active", "maybe")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A viewer sees a badge, not a toggle.
    app.create_user("watcher", &[]);
    app.post_form("/logout", &[]).await;
    app.login("watcher", PASSWORD).await;
    let page = app.get("/service-accounts").await;
    assert!(page.texts(".account-row button.toggle").is_empty());
    assert_eq!(page.texts(".account-row .badge"), ["inactive"]);
}

#[actix_web::test]
async fn a_namespace_admin_cannot_mint_keys_for_an_account_that_holds_more_than_they_do() {
    let mut app = TestApp::new().await;
    app.conn(|c| {
        portcullis::environments::ensure_namespace(c, "team-a", "").unwrap();
        portcullis::environments::ensure_namespace(c, "team-b", "").unwrap();
    });
    app.create_user("lead", &[("team-a/*", "admin")]);
    let root = app.admin_token().await;
    let lead = app.access_token("lead", PASSWORD).await;
    app.create_key(&root, "team-a", "deployer", "k1").await;
    app.put_as(
        &root,
        "/api/v1/service-accounts/deployer/role-bindings",
        json!({"team-b/*": ["admin"]}),
    )
    .await;
    let mint = app
        .post_as(
            &lead,
            "/api/v1/service-accounts/deployer/api-keys",
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(mint.status, StatusCode::FORBIDDEN, "{}", mint.body);
    let rotate = app
        .post_as(
            &lead,
            "/api/v1/service-accounts/deployer/api-keys/k1/rotate",
            json!({}),
        )
        .await;
    assert_eq!(rotate.status, StatusCode::FORBIDDEN);
    // Within the lead's own scope it works.
    app.put_as(
        &root,
        "/api/v1/service-accounts/deployer/role-bindings",
        json!({"team-a/*": ["admin"]}),
    )
    .await;
    let ok = app
        .post_as(
            &lead,
            "/api/v1/service-accounts/deployer/api-keys",
            json!({"name": "mine"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED);
}

#[actix_web::test]
async fn a_deleted_account_takes_its_shares_along() {
    let mut app = TestApp::new().await;
    app.conn(|c| {
        let id = portcullis::environments::ensure_namespace(c, "team-b", "").unwrap();
        portcullis::environments::create_environment(c, id, "prod", "", "").unwrap();
    });
    let root = app.admin_token().await;
    app.create_key(&root, "default", "ci", "k").await;
    app.put_as(
        &root,
        "/api/v1/namespaces/team-b/shares/ci",
        json!({"role": "admin"}),
    )
    .await;
    app.delete_as(&root, "/api/v1/service-accounts/ci").await;
    // A new account (which may reuse the row id) inherits nothing.
    let fresh = app.create_key(&root, "default", "newcomer", "k").await;
    let envs = app
        .get_bearer("/api/v1/environments", &fresh.plaintext)
        .await
        .json();
    assert_eq!(envs["total"], 0);
    let shares = app
        .get_bearer("/api/v1/namespaces/team-b/shares", &root)
        .await
        .json();
    assert_eq!(shares["items"].as_array().unwrap().len(), 0);
}
