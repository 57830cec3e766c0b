//! A team lead runs their namespace in the browser: a service account's access (its
//! bindings, their editor, what it can read), and forms that offer only what works.

use actix_web::http::StatusCode;

use crate::helpers::TestApp;
use crate::pages::world;

/// `lead` administers team-a; `root` is a global admin. `lead` is signed in.
async fn team_a() -> TestApp {
    world(&[("lead", "team-a/*=admin"), ("root", "*/*=admin")]).await
}

/// Creates service account `name` in `namespace` from the list page's form, with a
/// first key or not: where the browser is sent (the account, or the key's reveal).
async fn create_account(app: &mut TestApp, name: &str, namespace: &str, key: bool) -> String {
    let mut fields = vec![("name", name), ("namespace", namespace)];
    if key {
        fields.push(("create_key", "1"));
    }
    let res = app.post_form("/service-accounts", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.location().to_owned()
}

/// Adds or removes one binding of `account` from its page's editor.
async fn edit(
    app: &mut TestApp,
    account: &str,
    op: &str,
    pattern: &str,
    role: &str,
) -> crate::helpers::TestResponse {
    let fields = [("op", op), ("pattern", pattern), ("role", role)];
    app.post_form(
        &format!("/service-accounts/{account}/role-bindings"),
        &fields,
    )
    .await
}

/// Adds or removes one binding, which sends the browser back to the Access section.
async fn change(app: &mut TestApp, account: &str, op: &str, pattern: &str, role: &str) {
    edit(app, account, op, pattern, role)
        .await
        .assert_redirect(&format!("/service-accounts/{account}#access"));
}

/// The account's stored bindings as the API reports them to `token`.
async fn stored(api: &mut TestApp, token: &str, account: &str) -> serde_json::Value {
    let path = format!("/api/v1/service-accounts/{account}/role-bindings");
    api.read_as(token, &path).await
}

/// The `field` of every object of a JSON list.
fn strings<'a>(list: &'a serde_json::Value, field: &str) -> Vec<&'a str> {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    items.iter().filter_map(|i| i[field].as_str()).collect()
}

#[actix_web::test]
async fn a_team_lead_gives_an_account_access_within_what_they_hold() {
    let mut app = team_a().await;
    create_account(&mut app, "ci", "team-a", false).await;
    let page = app.get("/service-accounts/ci").await;
    assert!(page.text("#no-access").contains("can read nothing"));
    // Times read relative, the exact time on hover and in `datetime`.
    assert_eq!(page.text("hgroup time"), "just now");
    assert!(
        page.attr("hgroup time", "title")
            .is_some_and(|t| t.ends_with(" UTC"))
    );
    assert!(
        page.attr("hgroup time", "datetime")
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert_eq!(page.text("#view-as-total"), "0");

    change(&mut app, "ci", "add", "team-a/tr*", "developer").await;
    let page = app.get("/service-accounts/ci").await;
    // The change is confirmed once, as a toast (no JavaScript needed).
    assert_eq!(page.text("#toast"), "team-a/tr* developer added to ci.");
    let again = app.get("/service-accounts/ci").await;
    assert!(again.texts("#toast").is_empty());
    assert!(page.texts("#no-access").is_empty());
    assert_eq!(
        page.texts("#account-bindings .binding-row code"),
        ["team-a/tr*"]
    );
    assert_eq!(page.texts("#account-bindings .source"), ["explicit"]);
    assert_eq!(page.text("#view-as-total"), "1");
    assert_eq!(
        page.text(".why-row .because"),
        "team-a/tr* developer (explicit)"
    );

    // Beyond what the lead holds: refused on the form, nothing stored.
    let beyond = edit(&mut app, "ci", "add", "team-b/*", "viewer").await;
    assert_eq!(beyond.status, StatusCode::FORBIDDEN);
    assert!(beyond.text("#binding-error").contains("you do not hold it"));
    assert_eq!(
        beyond.value("#binding-form input[name=pattern]").as_deref(),
        Some("team-b/*")
    );
    let bad = edit(&mut app, "ci", "add", "no-slash", "viewer").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.text("#pattern-error").is_empty());
    assert_eq!(
        bad.attr("#binding-form input[name=pattern]", "aria-invalid")
            .as_deref(),
        Some("true")
    );
    let mut api = app.new_browser();
    let admin = api.admin_token().await;
    assert_eq!(
        stored(&mut api, &admin, "ci").await,
        serde_json::json!({"team-a/tr*": ["developer"]})
    );

    change(&mut app, "ci", "remove", "team-a/tr*", "developer").await;
    assert_eq!(stored(&mut api, &admin, "ci").await, serde_json::json!({}));
    let events = api
        .read_as(&admin, "/api/v1/audit-events?action=role_binding.update")
        .await;
    let details = strings(&events["items"], "detail");
    assert_eq!(details, ["-team-a/tr*=developer", "+team-a/tr*=developer"]);
}

#[actix_web::test]
async fn a_lead_removes_a_binding_beyond_their_own_and_keeps_the_others() {
    let mut app = team_a().await;
    create_account(&mut app, "ci", "team-a", false).await;
    let mut api = app.new_browser();
    let admin = api.admin_token().await;
    let wide = serde_json::json!({"*/*": ["viewer"], "team-a/*": ["developer"]});
    api.put_as(&admin, "/api/v1/service-accounts/ci/role-bindings", wide)
        .await
        .assert_status(StatusCode::OK);
    // What the account can read is shown within the lead's reach only.
    let page = app.get("/service-accounts/ci").await;
    assert_eq!(
        page.text("#view-as-total"),
        "2",
        "team-a's two, not team-b's"
    );
    // Adding within reach keeps a binding the lead could not have given.
    change(&mut app, "ci", "add", "team-a/serve", "admin").await;
    change(&mut app, "ci", "remove", "*/*", "viewer").await;
    assert_eq!(
        stored(&mut api, &admin, "ci").await,
        serde_json::json!({"team-a/*": ["developer"], "team-a/serve": ["admin"]})
    );
}

#[actix_web::test]
async fn readers_see_an_accounts_access_but_no_editor() {
    let mut app = world(&[("reader", "team-a/*=viewer"), ("root", "*/*=admin")]).await;
    let mut api = app.new_browser();
    let admin = api.admin_token().await;
    let body = serde_json::json!({"name": "ci", "namespace": "team-a"});
    api.create_as(&admin, "/api/v1/service-accounts", body)
        .await;
    let page = app.get("/service-accounts/ci").await;
    assert!(page.texts("#binding-form").is_empty());
    assert!(page.text("#account-bindings").contains("No role bindings"));
    let refused = edit(&mut app, "ci", "add", "team-a/*", "viewer").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&mut api, &admin, "ci").await, serde_json::json!({}));
}

#[actix_web::test]
async fn a_new_key_of_an_account_without_access_says_so_on_its_reveal() {
    let mut app = team_a().await;
    let reveal = create_account(&mut app, "bot", "team-a", true).await;
    let reveal = app.get(&reveal).await;
    assert!(
        reveal
            .text("#no-access-warning")
            .contains("can read nothing")
    );
    assert_eq!(
        reveal.attr("#no-access-warning a", "href").as_deref(),
        Some("/namespaces/team-a/service-accounts/bot#access")
    );
    change(&mut app, "bot", "add", "team-a/*", "viewer").await;
    let fields = [("name", "second"), ("expires", "30")];
    let created = app
        .post_form("/service-accounts/bot/api-keys", &fields)
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let reveal = app.get(created.location()).await;
    assert!(reveal.text("#api-key").starts_with("pc"));
    assert!(reveal.texts("#no-access-warning").is_empty());
}

#[actix_web::test]
async fn the_account_form_offers_only_namespaces_the_viewer_may_create_in() {
    let mut app = team_a().await;
    let page = app.get("/service-accounts").await;
    // The lead's own namespace and the one they administer; not default, not team-b.
    assert_eq!(
        page.texts("#new-account-form select[name=namespace] option"),
        ["lead", "team-a"]
    );
    // The filter still offers every readable namespace.
    let filter = page.texts("#filters select[name=namespace] option");
    assert!(filter.contains(&"team-a".to_owned()), "{filter:?}");
    app.switch_to("root").await;
    let page = app.get("/service-accounts").await;
    let offered = page.texts("#new-account-form select[name=namespace] option");
    assert!(offered.len() >= 3, "{offered:?}");
}

/// Rows of the "Who has access" table: `name (kind) | pattern role | source | tokens`.
fn members(page: &crate::helpers::TestResponse) -> Vec<String> {
    let html = page.html();
    let row = scraper::Selector::parse("#members tr.member-row").unwrap();
    let cell = scraper::Selector::parse("td").unwrap();
    html.select(&row)
        .map(|tr| {
            let cells: Vec<String> = tr
                .select(&cell)
                .take(4)
                .map(|td| {
                    td.text()
                        .collect::<String>()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            cells.join(" | ")
        })
        .collect()
}

#[actix_web::test]
async fn namespace_admins_see_who_has_access_from_every_source() {
    let mut app = world(&[
        ("lead", "team-a/*=admin"),
        ("alice", "team-a/train=viewer"),
        ("bob", "team-b/*=developer"),
        ("carol", "team-a/*=viewer"),
        ("root", "*/*=admin"),
    ])
    .await;
    let mut api = app.new_browser();
    let admin = api.admin_token().await;
    let group = serde_json::json!({"team-*/*": ["viewer"]});
    api.put_as(&admin, "/api/v1/groups/ml/role-bindings", group)
        .await
        .assert_status(StatusCode::OK);
    let account = serde_json::json!({"name": "deployer", "namespace": "team-b"});
    api.create_as(&admin, "/api/v1/service-accounts", account)
        .await;
    let share = serde_json::json!({"role": "developer"});
    api.put_as(
        &admin,
        "/api/v1/namespaces/team-a/shares/service_account:deployer",
        share,
    )
    .await
    .assert_status(StatusCode::OK);
    let alice = api.access_token("alice", crate::helpers::PASSWORD).await;
    assert!(!alice.is_empty());

    let page = app.get("/namespaces/team-a").await;
    assert_eq!(
        members(&page),
        [
            "alice (user) | team-a/train viewer | explicit | 1",
            "carol (user) | team-a/* viewer | explicit | 0",
            "lead (user) | team-a/* admin | explicit | 0",
            "root (user) | */* admin | explicit | 1",
            "team-b/deployer (service account) | team-a/* developer | share | 0",
            "ml (group) | team-*/* viewer | group | 0",
        ]
    );
    assert!(!members(&page).iter().any(|m| m.starts_with("bob ")));
    // A reader of the namespace does not see who has access.
    app.switch_to("carol").await;
    let page = app.get("/namespaces/team-a").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("#members").is_empty());
}

#[actix_web::test]
async fn namespace_admins_view_as_anyone_within_their_namespace() {
    let mut app = world(&[
        ("lead", "team-a/*=admin"),
        ("alice", "team-a/train=viewer,team-b/*=viewer"),
        ("carol", "team-a/*=viewer"),
        ("root", "*/*=admin"),
    ])
    .await;
    let page = app.get("/namespaces/team-a?view_as=user:alice").await;
    assert_eq!(page.text("#view-as-total"), "1", "team-b stays out of view");
    assert_eq!(
        page.text(".why-row .because"),
        "team-a/train viewer (explicit)"
    );
    let page = app.get("/namespaces/team-a?view_as=root").await;
    assert_eq!(page.text("#view-as-total"), "2");
    let link = page.attrs(".member-row[data-name=alice] .view-as-link", "href");
    assert_eq!(link, ["/namespaces/team-a?view_as=user%3Aalice#view-as"]);
    let missing = app.get("/namespaces/team-a?view_as=nobody").await;
    assert_eq!(missing.status, StatusCode::OK);
    assert!(
        missing
            .text("#view_as-error")
            .contains("no user or service account")
    );
    // Not in a namespace they do not administer.
    let other = app.get("/namespaces/team-b?view_as=alice").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    app.switch_to("carol").await;
    let page = app.get("/namespaces/team-a?view_as=root").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("#view-as").is_empty(), "readers cannot view as");
}

#[actix_web::test]
async fn namespace_admins_ask_the_api_what_a_user_can_read_in_their_namespaces() {
    let app = world(&[
        ("lead", "team-a/*=admin"),
        ("alice", "team-a/train=viewer,team-b/*=viewer"),
        ("bob", "team-b/*=developer"),
    ])
    .await;
    let lead = app
        .new_browser()
        .access_token("lead", crate::helpers::PASSWORD)
        .await;
    let mut api = app.new_browser();
    let envs = api.read_as(&lead, "/api/v1/users/alice/environments").await;
    assert_eq!(envs["total"], 1, "team-a/train, not team-b: {envs}");
    let perms = api.read_as(&lead, "/api/v1/users/alice/permissions").await;
    assert_eq!(strings(&perms["bindings"], "pattern"), ["team-a/train"]);
    // Someone with nothing in the lead's namespaces reads as missing.
    for path in [
        "/api/v1/users/bob/permissions",
        "/api/v1/users/bob/environments",
    ] {
        let res = api.get_as(&lead, path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
    let admin = api.admin_token().await;
    let envs = api
        .read_as(&admin, "/api/v1/users/alice/environments")
        .await;
    assert_eq!(envs["total"], 2);
}

#[actix_web::test]
async fn leads_create_namespaces_they_may_and_delete_them_after_confirming() {
    let mut app = world(&[("lead", "team-*/*=admin"), ("viewer", "team-a/*=viewer")]).await;
    let page = app.get("/namespaces").await;
    assert!(page.text("#new-namespace").contains("team-*"));
    let fresh = [("name", "team-x"), ("description", "X")];
    app.post_form("/namespaces", &fresh)
        .await
        .assert_redirect("/namespaces/team-x");
    for (name, status, field) in [
        ("other", StatusCode::FORBIDDEN, "#form-error"),
        ("team x", StatusCode::UNPROCESSABLE_ENTITY, "#name-error"),
        ("team-x", StatusCode::UNPROCESSABLE_ENTITY, "#form-error"),
    ] {
        let res = app.post_form("/namespaces", &[("name", name)]).await;
        assert_eq!(res.status, status, "{name}");
        assert!(!res.text(field).is_empty(), "{name}: {}", res.body);
        assert_eq!(
            res.value("#new-namespace-form input[name=name]").as_deref(),
            Some(name)
        );
    }
    create_account(&mut app, "x-bot", "team-x", false).await;
    let confirm = app.get("/namespaces/team-x/delete").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.text("#goes-with-it").contains("x-bot"),
        "{}",
        confirm.body
    );
    let wrong = app
        .post_form("/namespaces/team-x/delete", &[("confirm", "team-y")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text("#confirm-error").contains("type team-x"));
    assert_eq!(app.get("/namespaces/team-x").await.status, StatusCode::OK);
    app.post_form("/namespaces/team-x/delete", &[("confirm", "team-x")])
        .await
        .assert_redirect("/namespaces");
    assert_eq!(
        app.get("/namespaces/team-x").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/service-accounts/x-bot").await.status,
        StatusCode::NOT_FOUND
    );

    app.switch_to("viewer").await;
    let page = app.get("/namespaces").await;
    assert!(page.texts("#new-namespace").is_empty());
    let page = app.get("/namespaces/team-a").await;
    assert!(page.texts("#delete-namespace-link").is_empty());
    let refused = app.get("/namespaces/team-a/delete").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn a_token_can_be_narrower_than_any_binding_held() {
    let mut app = team_a().await;
    // Role defaults to viewer; the lifetime to 7 days.
    let res = app.post_form("/tokens", &[("pattern", "team-a/tr*")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let token = app.get(res.location()).await.text("#api-key");
    let mut api = app.new_browser();
    let envs = api.read_as(&token, "/api/v1/environments").await;
    assert_eq!(envs["total"], 1, "team-a/train only: {envs}");
    let perms = api.read_as(&token, "/api/v1/permissions").await;
    assert_eq!(
        perms["entity_roles"],
        serde_json::json!({"team-a/tr*": ["viewer"]})
    );
    let page = app.get("/access").await;
    assert!(
        page.text(".token-row td:nth-child(2)")
            .contains("team-a/tr*=viewer")
    );
    for (pattern, status) in [
        ("team-b/*", StatusCode::FORBIDDEN),
        ("no-slash", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let res = app.post_form("/tokens", &[("pattern", pattern)]).await;
        assert_eq!(res.status, status, "{pattern}");
        assert!(!res.text("#token-error").is_empty(), "{pattern}");
    }
}

#[actix_web::test]
async fn breadcrumbs_link_only_to_pages_the_viewer_can_open() {
    let mut app = world(&[
        ("narrow", "team-a/train=viewer"),
        ("wide", "team-a/*=viewer"),
    ])
    .await;
    let page = app.get("/environments/team-a/train").await;
    assert_eq!(page.status, StatusCode::OK);
    let links = page.attrs("nav[aria-label=breadcrumb] a", "href");
    assert_eq!(links, ["/environments"], "team-a itself is not readable");
    assert_eq!(
        app.get("/namespaces/team-a").await.status,
        StatusCode::NOT_FOUND
    );
    app.switch_to("wide").await;
    let page = app.get("/environments/team-a/train").await;
    let links = page.attrs("nav[aria-label=breadcrumb] a", "href");
    assert_eq!(links, ["/environments", "/namespaces/team-a"]);
}
