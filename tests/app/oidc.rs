//! Sign-in with OpenID Connect against a real provider (`oidc-provider` from npm,
//! started by tests/run.sh; `TEST_OIDC_ISSUER` names it). Each test registers its own
//! client at the provider, signs in through the provider's login form over HTTP, and
//! hands the provider's answer to the app. Bad ID tokens come from the provider's
//! test-only tamper hook, which re-signs the next ID token with changed claims.

use actix_web::http::StatusCode;
use portcullis::config::OidcConfig;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Where the tests tell the provider to send the browser back.
const REDIRECT_URI: &str = "http://localhost/auth/oidc/callback";

/// The test provider.
struct Provider {
    issuer: String,
    /// This test's client (tamper requests apply to it only).
    client_id: String,
}

impl Provider {
    fn http(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Follows the authorization URL through the provider's login form as `login`, with
    /// a fresh browser (cookie jar); returns the path and query of our callback.
    async fn sign_in(&self, authorize_url: &str, login: &str) -> String {
        let http = self.http();
        let mut url = authorize_url.to_owned();
        let mut posted = false;
        for _ in 0..10 {
            if let Some(rest) = url.strip_prefix("http://localhost") {
                return rest.to_owned();
            }
            let res = http.get(&url).send().await.unwrap();
            if res.status().is_redirection() {
                url = self.absolute(res.headers()["location"].to_str().unwrap());
                continue;
            }
            assert_eq!(res.status(), 200, "unexpected page at {url}");
            assert!(!posted, "the provider showed its form twice");
            let form_action = format!("{url}/login");
            let res = http
                .post(&form_action)
                .form(&[("login", login), ("password", "anything")])
                .send()
                .await
                .unwrap();
            assert!(
                res.status().is_redirection(),
                "login at the provider failed: {}",
                res.status()
            );
            posted = true;
            url = self.absolute(res.headers()["location"].to_str().unwrap());
        }
        panic!("no redirect back to the app");
    }

    fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            format!("{}{location}", self.issuer)
        } else {
            location.to_owned()
        }
    }

    /// Arms the one-shot tamper hook for the next ID token.
    async fn tamper(&self, claims: Value, foreign_key: bool) {
        let res = self
            .http()
            .post(format!("{}/__test/tamper", self.issuer))
            .json(
                &json!({"client_id": self.client_id, "claims": claims, "foreign_key": foreign_key}),
            )
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    async fn disarm(&self) {
        let res = self
            .http()
            .delete(format!("{}/__test/tamper", self.issuer))
            .query(&[("client_id", &self.client_id)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "disarming: {}", res.status());
    }
}

/// An app whose OpenID provider is the test provider, with `platform-admins` as the
/// admin group and group namespaces on.
async fn app_with_provider(
    adjust: impl FnOnce(&mut portcullis::config::Config),
) -> (TestApp, Provider) {
    let issuer = crate::provider::issuer();
    let (client_id, client_secret) = crate::provider::register_client(REDIRECT_URI).await;
    let provider = Provider {
        issuer: issuer.clone(),
        client_id: client_id.clone(),
    };
    let app = TestApp::with_config(|c| {
        c.oidc = Some(OidcConfig {
            issuer,
            client_id,
            client_secret: Some(client_secret.into()),
            display_name: "Test IdP".into(),
            scopes: vec!["profile".into(), "email".into(), "groups".into()],
            username_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            create_group_namespaces: true,
            allowed_groups: Vec::new(),
        });
        let mut rules = (*c.grant_rules).clone();
        rules.admin_groups = vec!["platform-admins".into()];
        rules.group_namespaces = true;
        c.grant_rules = std::sync::Arc::new(rules);
        adjust(c);
    })
    .await;
    (app, provider)
}

/// Starts a flow; returns the provider URL the app redirected to.
async fn start(app: &mut TestApp, return_to: &str) -> String {
    let res = app
        .get(&format!("/auth/oidc/login?return_to={return_to}"))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    res.header("location").unwrap().to_owned()
}

/// The whole flow as `login`; returns the app's answer to the callback.
async fn sign_in(
    app: &mut TestApp,
    provider: &Provider,
    login: &str,
    return_to: &str,
) -> crate::helpers::TestResponse {
    let authorize = start(app, return_to).await;
    let callback = provider.sign_in(&authorize, login).await;
    app.get(&callback).await
}

/// An app with the provider, where `login` has signed in through it; the user's id.
async fn signed_in(login: &str) -> (TestApp, Provider, i64) {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    sign_in(&mut app, &provider, login, "/")
        .await
        .assert_redirect("/");
    let id = whoami(&mut app).await.1["id"].as_i64().unwrap();
    (app, provider, id)
}

async fn whoami(app: &mut TestApp) -> (StatusCode, Value) {
    let res = app.get("/api/v1/whoami").await;
    let body = serde_json::from_str(&res.body).unwrap_or(Value::Null);
    (res.status, body)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn user_count(app: &TestApp) -> i64 {
    app.conn(|c| portcullis::auth::count_users(c).unwrap())
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn the_flow_uses_pkce_state_and_nonce_and_creates_the_user_with_group_bindings() {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    let login_page = app.get("/login?return_to=/environments").await;
    assert_eq!(
        login_page.attr("a#oidc-login", "href").as_deref(),
        Some("/auth/oidc/login?return_to=%2Fenvironments")
    );
    assert!(
        login_page
            .text("a#oidc-login")
            .contains("Sign in with Test IdP")
    );
    let before = app.cookies.get("portcullis").cloned();

    let authorize = start(&mut app, "/environments").await;
    assert!(authorize.starts_with(&format!("{}/auth?", provider.issuer)));
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorize, "response_type").as_deref(),
        Some("code")
    );
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some(REDIRECT_URI)
    );
    for p in ["state", "nonce", "code_challenge"] {
        assert!(
            query_param(&authorize, p).is_some_and(|v| v.len() >= 20),
            "{p}"
        );
    }
    let scope = query_param(&authorize, "scope").unwrap();
    assert!(scope.split(' ').any(|s| s == "openid") && scope.contains("groups"));

    let callback = provider.sign_in(&authorize, "alice").await;
    let res = app.get(&callback).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.header("location"), Some("/environments"));
    assert_ne!(
        app.cookies.get("portcullis"),
        before.as_ref(),
        "new session id at sign-in"
    );

    let (status, me) = whoami(&mut app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "alice");
    assert_eq!(me["kind"], "user");

    // Keyed on (issuer, subject); groups stored; group namespaces created.
    let (issuer, subject): (String, String) = app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::user_identities as ui;
        ui::table
            .select((ui::issuer, ui::subject))
            .first(c)
            .unwrap()
    });
    assert_eq!(issuer, provider.issuer);
    assert_eq!(subject, "alice");
    let user_id = me["id"].as_i64().unwrap();
    let groups = app.conn(|c| portcullis::access::list_user_groups(c, user_id).unwrap());
    assert_eq!(groups, ["data-science", "platform-admins"]);
    for ns in ["data-science", "platform-admins"] {
        assert!(app.conn(|c| portcullis::environments::namespace_exists(c, ns).unwrap()));
    }

    // "My access" shows the group bindings as their own source.
    let page = app.get("/access").await;
    let rows: Vec<String> = page.texts("#my-bindings tr.binding-row");
    let has = |pattern: &str, role: &str| {
        rows.iter()
            .any(|r| r.contains(pattern) && r.contains(role) && r.trim_end().ends_with("group"))
    };
    assert!(has("*/*", "admin"), "{rows:?}");
    assert!(has("data-science/*", "developer"), "{rows:?}");
    assert_eq!(
        page.texts("#my-groups code.group"),
        ["data-science", "platform-admins"]
    );

    // Admin through the group: the users API answers.
    let res = app.get("/api/v1/users").await;
    assert_eq!(res.status, StatusCode::OK);
    // Same account on the next sign-in, still one user.
    let mut again = app.new_browser();
    sign_in(&mut again, &provider, "alice", "/")
        .await
        .assert_redirect("/");
    assert_eq!(whoami(&mut again).await.1["id"], me["id"]);
    assert_eq!(user_count(&app), 1);
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn groups_are_refreshed_at_each_sign_in() {
    let (mut app, provider, id) = signed_in("bob").await;
    // The provider reported other groups at an earlier sign-in; this one resets them.
    app.conn(|c| {
        portcullis::access::replace_provider_groups(
            c,
            id,
            &["platform-admins".into()],
            portcullis::db::now_ms(),
        )
        .unwrap()
    });
    // Written behind the server's back: drop the cached identity as a sign-in would.
    app.state.user_cache.clear();
    let res = app.get("/api/v1/users").await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the earlier group made bob an admin"
    );
    // An administrator adds bob to "ops": the provider's groups never remove that.
    let root = app.new_browser().admin_token().await;
    let res = app
        .new_browser()
        .patch_as(&root, "/api/v1/users/bob", json!({"groups": ["ops"]}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let mut next = app.new_browser();
    sign_in(&mut next, &provider, "bob", "/")
        .await
        .assert_redirect("/");
    let groups = app.conn(|c| portcullis::access::list_user_groups(c, id).unwrap());
    assert_eq!(groups, ["ml-team", "ops"]);
    assert_eq!(
        next.get("/api/v1/users").await.status,
        StatusCode::FORBIDDEN
    );
    // bob develops in his group's namespace (created at sign-in).
    let perms = next.get("/api/v1/permissions").await.json();
    assert_eq!(perms["entity_roles"]["ml-team/*"], json!(["developer"]));
    assert!(next.conn(|c| portcullis::environments::namespace_exists(c, "ml-team").unwrap()));
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn names_from_the_provider_never_take_over_existing_users_or_namespaces() {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    // A local alice, and a namespace called alice-2 owned by others.
    app.create_user("alice", &[]);
    app.conn(|c| portcullis::environments::ensure_namespace(c, "alice-2", "").unwrap());
    // carol's provider lets her claim preferred_username "alice".
    sign_in(&mut app, &provider, "carol", "/")
        .await
        .assert_redirect("/");
    let me = whoami(&mut app).await.1;
    assert_eq!(me["name"], "alice-3");
    assert_eq!(me["namespace"], "alice-3");
    // She administers neither the local alice's namespace nor alice-2.
    let perms = app.get("/api/v1/permissions").await.json();
    let patterns: Vec<&String> = perms["entity_roles"].as_object().unwrap().keys().collect();
    assert!(
        !patterns
            .iter()
            .any(|p| p.starts_with("alice/") || p.starts_with("alice-2/")),
        "{patterns:?}"
    );
    // The provider's alice (another subject) is yet another user.
    let mut other = app.new_browser();
    sign_in(&mut other, &provider, "alice", "/")
        .await
        .assert_redirect("/");
    assert_eq!(whoami(&mut other).await.1["name"], "alice-4");
}

/// Asserts a refused callback: 400 page with a message, nobody signed in, no user made.
async fn assert_refused(app: &mut TestApp, res: crate::helpers::TestResponse, why: &str) {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{why}: {}", res.body);
    assert!(res.text("#login-error").contains("failed"), "{why}");
    assert_eq!(whoami(app).await.0, StatusCode::UNAUTHORIZED, "{why}");
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn tampered_id_tokens_are_refused() {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            "wrong nonce",
            json!({"nonce": "not-the-one-we-sent"}),
            false,
        ),
        ("missing nonce", json!({"nonce": null}), false),
        ("other audience", json!({"aud": "someone-else"}), false),
        ("other issuer", json!({"iss": "http://evil.example"}), false),
        (
            "expired",
            json!({"exp": now - 600, "iat": now - 1200}),
            false,
        ),
        ("foreign signing key", json!({}), true),
    ];
    for (why, claims, foreign_key) in cases {
        let authorize = start(&mut app, "/").await;
        let callback = provider.sign_in(&authorize, "alice").await;
        provider.tamper(claims, foreign_key).await;
        let res = app.get(&callback).await;
        provider.disarm().await;
        assert_refused(&mut app, res, why).await;
    }
    assert_eq!(user_count(&app), 0);
    let failures = app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::audit_events as a;
        a::table
            .filter(a::action.eq("login"))
            .filter(a::outcome.eq("failure"))
            .count()
            .get_result::<i64>(c)
            .unwrap()
    });
    assert_eq!(failures, 6);
    // The same app then signs alice in normally.
    sign_in(&mut app, &provider, "alice", "/")
        .await
        .assert_redirect("/");
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn state_is_bound_to_the_session_and_single_use_and_codes_do_not_replay() {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    // Missing state.
    let authorize = start(&mut app, "/").await;
    let callback = provider.sign_in(&authorize, "alice").await;
    let without_state: String = {
        let url = url::Url::parse(&format!("http://localhost{callback}")).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        format!("/auth/oidc/callback?code={code}")
    };
    let res = app.get(&without_state).await;
    assert_refused(&mut app, res, "missing state").await;
    // The attempt used the pending sign-in up: the genuine answer is now refused too.
    let res = app.get(&callback).await;
    assert_refused(&mut app, res, "state used once").await;

    // Wrong state.
    let authorize = start(&mut app, "/").await;
    let callback = provider.sign_in(&authorize, "alice").await;
    let state = query_param(&authorize, "state").unwrap();
    let forged = callback.replace(&state, "forged-state-value-0123456789");
    assert_ne!(forged, callback);
    let res = app.get(&forged).await;
    assert_refused(&mut app, res, "wrong state").await;

    // Another browser (no pending sign-in in its session) cannot use a stolen answer.
    let authorize = start(&mut app, "/").await;
    let callback = provider.sign_in(&authorize, "alice").await;
    let mut attacker = app.new_browser();
    let res = attacker.get(&callback).await;
    assert_refused(&mut attacker, res, "state from another session").await;

    // A successful answer replayed is refused (state already used) …
    let authorize = start(&mut app, "/").await;
    let callback = provider.sign_in(&authorize, "alice").await;
    let mut victim = app.new_browser();
    victim.cookies = app.cookies.clone();
    victim.get(&callback).await.assert_redirect("/");
    let res = app.get(&callback).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "replayed state");

    // … and a used code is refused even with a fresh, valid state.
    let mut fresh = app.new_browser();
    let authorize = start(&mut fresh, "/").await;
    let new_state = query_param(&authorize, "state").unwrap();
    let old_state = url::Url::parse(&format!("http://localhost{callback}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let replay = callback.replace(&old_state, &new_state);
    let res = fresh.get(&replay).await;
    assert_refused(&mut fresh, res, "code replay").await;

    // An error answer from the provider is shown, not trusted.
    let authorize = start(&mut fresh, "/").await;
    let state = query_param(&authorize, "state").unwrap();
    let res = fresh
        .get(&format!(
            "/auth/oidc/callback?error=access_denied&state={state}"
        ))
        .await;
    assert_refused(&mut fresh, res, "provider error").await;
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn return_to_only_goes_to_local_paths() {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    for target in [
        "//evil.example",
        "https://evil.example",
        "/%5Cevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "%252F%252Fevil.example",
        "/%09/evil.example",
    ] {
        let mut browser = app.new_browser();
        let res = sign_in(&mut browser, &provider, "bob", target).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{target}");
        assert_eq!(res.header("location"), Some("/"), "{target}");
    }
    let res = sign_in(&mut app, &provider, "bob", "/environments%3Fsearch%3Dx").await;
    assert_eq!(res.header("location"), Some("/environments?search=x"));
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn password_sign_in_can_be_switched_off_except_for_break_glass_users() {
    let (mut app, provider) = app_with_provider(|c| {
        c.password_login = false;
        c.break_glass_users = vec!["root".into()];
    })
    .await;
    app.create_user("bob", &[]);
    app.create_user("root", &[("*/*", "admin")]);
    let page = app.get("/login").await;
    assert!(page.attr("a#oidc-login", "href").is_some());
    assert_eq!(page.texts("details#break-glass form#login-form").len(), 1);
    let res = app
        .post_form(
            "/login",
            &[("username", "bob"), ("password", crate::helpers::PASSWORD)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.text("#login-error"), "Invalid user name or password.");
    let res = app
        .new_browser()
        .json(
            actix_web::http::Method::POST,
            "/api/v1/login",
            json!({"username": "bob", "password": crate::helpers::PASSWORD}),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    app.login("root", crate::helpers::PASSWORD).await;
    assert_eq!(whoami(&mut app).await.1["name"], "root");
    // Provider users still sign in.
    let mut other = app.new_browser();
    sign_in(&mut other, &provider, "bob", "/")
        .await
        .assert_redirect("/");
    assert_eq!(whoami(&mut other).await.1["name"], "bob-2");
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn deactivated_users_cannot_sign_in_through_the_provider() {
    let (app, provider, id) = signed_in("bob").await;
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::users;
        diesel::update(users::table.find(id))
            .set(users::active.eq(false))
            .execute(c)
            .unwrap();
    });
    let mut next = app.new_browser();
    let res = sign_in(&mut next, &provider, "bob", "/").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_eq!(whoami(&mut next).await.0, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn an_unreachable_provider_gets_a_clear_page_and_no_provider_means_no_route() {
    let app = TestApp::with_config(|c| {
        c.oidc = Some(OidcConfig {
            issuer: "http://127.0.0.1:9".into(),
            client_id: "x".into(),
            client_secret: None,
            display_name: "Nowhere".into(),
            scopes: vec![],
            username_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            create_group_namespaces: false,
            allowed_groups: Vec::new(),
        });
    })
    .await;
    let mut app = app;
    let res = app.get("/auth/oidc/login?return_to=/").await;
    assert_eq!(res.status, StatusCode::BAD_GATEWAY);
    assert!(
        res.text("#login-error")
            .contains("Nowhere cannot be reached")
    );

    let mut plain = TestApp::new().await;
    assert!(
        plain
            .get("/login")
            .await
            .attr("a#oidc-login", "href")
            .is_none()
    );
    for route in ["/auth/oidc/login", "/auth/oidc/callback?code=x&state=y"] {
        let status = plain.get(route).await.status;
        assert_eq!(status, StatusCode::NOT_FOUND, "{route}");
    }
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn administrators_see_how_a_provider_user_signs_in_and_their_groups() {
    let (mut app, provider, _) = signed_in("alice").await;
    // alice is an admin through platform-admins.
    let page = app.get("/users/alice").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let identity = page.text("#identities code.identity");
    assert!(
        identity.starts_with(&format!("{} as alice", provider.issuer)),
        "{identity}"
    );
    assert_eq!(
        page.texts("#user-groups code.group"),
        ["data-science", "platform-admins"]
    );
    assert!(page.body.contains("no local password"));
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn provider_groups_stop_counting_a_session_after_the_sign_in_that_reported_them() {
    let (mut app, provider, _) = signed_in("alice").await;
    // A long-lived token minted while alice is an admin through platform-admins.
    let csrf = app.csrf_token().await;
    let res = app
        .send(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/tokens")
                .insert_header(("X-CSRF-Token", csrf))
                .set_json(json!({"expires_in_seconds": 30 * 24 * 3600})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let token = res.json()["token"].as_str().unwrap().to_owned();
    let mut api = app.new_browser();
    assert_eq!(
        api.get_bearer("/api/v1/users", &token).await.status,
        StatusCode::OK
    );
    // Thirteen hours later, without a new sign-in (she may have left the group at the
    // provider), the membership no longer counts: not for the token, not for a session.
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::user_groups as ug;
        diesel::update(ug::table)
            .set(ug::synced_at.eq(portcullis::db::now_ms() - 13 * 3600 * 1000))
            .execute(c)
            .unwrap();
    });
    // Thirteen hours also outlive every cached lookup (PORTCULLIS_KEY_CACHE_SECONDS).
    app.state.key_cache.clear();
    assert_eq!(
        api.get_bearer("/api/v1/users", &token).await.status,
        StatusCode::FORBIDDEN
    );
    // The users API lists what counts, by source; nothing expired can be copied back.
    let root = app.new_browser().admin_token().await;
    let shown = api.get_bearer("/api/v1/users/alice", &root).await.json();
    assert_eq!(shown["groups"], json!([]));
    assert_eq!(shown["provider_groups"], json!([]));
    let perms = api.get_bearer("/api/v1/permissions", &token).await.json();
    assert!(perms["entity_roles"].get("*/*").is_none(), "{perms}");
    assert!(app.get("/access").await.texts("#my-groups").is_empty());
    // Signing in again brings it back.
    let mut again = app.new_browser();
    sign_in(&mut again, &provider, "alice", "/")
        .await
        .assert_redirect("/");
    assert_eq!(
        api.get_bearer("/api/v1/users", &token).await.status,
        StatusCode::OK
    );
    let shown = api.get_bearer("/api/v1/users/alice", &root).await.json();
    assert_eq!(
        shown["provider_groups"],
        json!(["data-science", "platform-admins"])
    );
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn only_allowed_groups_may_sign_in_when_configured() {
    let (mut app, provider) = app_with_provider(|c| {
        if let Some(o) = c.oidc.as_mut() {
            o.allowed_groups = vec!["ml-team".into()];
        }
    })
    .await;
    let res = sign_in(&mut app, &provider, "alice", "/").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert!(res.text("#login-error").contains("not in a group allowed"));
    assert_eq!(user_count(&app), 0, "no account for someone not allowed");
    sign_in(&mut app, &provider, "bob", "/")
        .await
        .assert_redirect("/");
    assert_eq!(whoami(&mut app).await.1["name"], "bob");
    // Once bob's groups no longer include an allowed one, a refused sign-in also drops
    // what the provider reported before.
    let id = whoami(&mut app).await.1["id"].as_i64().unwrap();
    let mut rules = app.state.config.clone();
    if let Some(o) = rules.oidc.as_mut() {
        o.allowed_groups = vec!["someone-else".into()];
    }
    let strict = TestApp::mount_with_db(&app, rules).await;
    let mut browser = strict.new_browser();
    let res = sign_in(&mut browser, &provider, "bob", "/").await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let groups = app.conn(|c| portcullis::access::list_user_groups(c, id).unwrap());
    assert!(groups.is_empty(), "{groups:?}");
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn group_namespaces_never_reach_personal_or_default_namespaces() {
    let (mut app, provider) = app_with_provider(|_| {}).await;
    // A local user whose personal namespace is called like bob's group.
    app.create_user("ml-team", &[]);
    sign_in(&mut app, &provider, "bob", "/")
        .await
        .assert_redirect("/");
    let perms = app.get("/api/v1/permissions").await.json();
    assert!(perms["entity_roles"].get("ml-team/*").is_none(), "{perms}");
    // The membership is still recorded (group bindings set by an admin still apply).
    let id = whoami(&mut app).await.1["id"].as_i64().unwrap();
    let groups = app.conn(|c| portcullis::access::list_user_groups(c, id).unwrap());
    assert_eq!(groups, ["ml-team"]);
}
