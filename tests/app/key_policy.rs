//! Key policies: a namespace tightens the server's limits on its service accounts'
//! keys and tokens (lifetimes, active keys, networks, rotation); existing keys that
//! break a tightened policy are listed, never silently broken.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use portcullis::key_policy::KeyPolicy;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, TestResponse};

const POLICY: &str = "/api/v1/namespaces/ml/policy";
const KEYS: &str = "/api/v1/namespaces/ml/service-accounts/etl/api-keys";

/// An app with `root`, namespace `ml` and account `ml/etl` holding key `old`, which
/// never expires (made before any policy: its expiry is cleared in the database).
async fn app_with(adjust: impl FnOnce(&mut portcullis::config::Config)) -> (TestApp, String) {
    let (mut app, root) = TestApp::with_account(adjust, "ml", "etl").await;
    new_key(&mut app, &root, "old", Some(in_days(7)))
        .await
        .assert_status(StatusCode::CREATED);
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::api_keys;
        diesel::update(api_keys::table.filter(api_keys::name.eq("old")))
            .set(api_keys::expires_at.eq(None::<i64>))
            .execute(c)
            .unwrap();
    });
    (app, root)
}

/// A new key of `ml/etl` in `days` days, its plaintext.
async fn key_in(app: &mut TestApp, root: &str, name: &str, days: i64) -> String {
    new_key(app, root, name, Some(in_days(days)))
        .await
        .assert_status(StatusCode::CREATED)
        .json_str("key")
}

fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

async fn new_key(
    app: &mut TestApp,
    root: &str,
    name: &str,
    expires: Option<String>,
) -> TestResponse {
    let mut body = json!({"name": name});
    if let Some(e) = expires {
        body["expires_at"] = json!(e);
    }
    app.post_as(root, KEYS, body).await
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body["error"]["fields"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

#[actix_web::test]
async fn a_tightened_policy_bounds_new_keys_and_lists_the_old_ones_that_break_it() {
    let (mut app, root) = app_with(|_| {}).await;
    let fresh = app.read_as(&root, POLICY).await;
    assert!(
        fresh["effective"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_null),
        "{fresh}"
    );
    assert_eq!(fresh["violations"], json!([]));

    let set = app
        .put_as(
            &root,
            POLICY,
            json!({"max_key_lifetime_days": 30, "max_active_keys_per_account": 2, "rotate_every_days": 60}),
        )
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(set["max_key_lifetime_days"], 30);
    assert_eq!(set["effective"]["max_active_keys_per_account"], 2);
    let violations = set["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{set}");
    assert_eq!(violations[0]["key"], "old");
    assert!(
        violations[0]["problem"]
            .as_str()
            .unwrap()
            .contains("never expires")
    );

    let (status, body) = new_key(&mut app, &root, "forever", None).await.parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field(&body, "expires_at").contains("within 30 days"),
        "{body}"
    );
    let (status, body) = new_key(&mut app, &root, "long", Some(in_days(31)))
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    new_key(&mut app, &root, "ok", Some(in_days(29)))
        .await
        .assert_status(StatusCode::CREATED);
    // `old` and `ok` are active: a third is one too many, and so is re-activating.
    let (status, body) = new_key(&mut app, &root, "third", Some(in_days(10)))
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field(&body, "active").contains("2 active keys"), "{body}");
    app.patch_as(&root, &format!("{KEYS}/ok"), json!({"active": false}))
        .await
        .assert_status(StatusCode::OK);
    new_key(&mut app, &root, "third", Some(in_days(10)))
        .await
        .assert_status(StatusCode::CREATED);
    let (status, body) = app
        .patch_as(&root, &format!("{KEYS}/ok"), json!({"active": true}))
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Readers see the policy; only the namespace's admins change it.
    app.create_user("reader", &[("ml/*", "viewer")]);
    let reader = app.access_token("reader", PASSWORD).await;
    assert_eq!(
        app.read_as(&reader, POLICY).await["max_key_lifetime_days"],
        30
    );
    let refused = app.put_as(&reader, POLICY, json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .get_as(&reader, "/api/v1/namespaces/nowhere/policy")
        .await
        .parts();
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An empty policy relaxes back to the server's.
    let relaxed = app.put_as(&root, POLICY, json!({})).await.json();
    assert_eq!(relaxed["violations"], json!([]));
    new_key(&mut app, &root, "forever", None)
        .await
        .assert_status(StatusCode::CREATED);
}

#[actix_web::test]
async fn a_namespace_may_tighten_the_servers_policy_never_loosen_it() {
    let (mut app, root) = app_with(|c| {
        c.key_policy = KeyPolicy {
            max_key_lifetime_days: Some(90),
            allowed_networks: Some(vec!["10.0.0.0/8".into()]),
            ..KeyPolicy::default()
        };
    })
    .await;
    let policy = app.read_as(&root, POLICY).await;
    assert_eq!(policy["server"]["max_key_lifetime_days"], 90);
    assert_eq!(policy["effective"]["max_key_lifetime_days"], 90);
    let (status, body) = app
        .put_as(
            &root,
            POLICY,
            json!({"max_key_lifetime_days": 120, "allowed_networks": ["192.168.0.0/16"],
                   "max_token_lifetime_minutes": 0, "deactivate_unrotated": true, "bogus": 1}),
        )
        .await
        .parts();
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {body}"
    );
    let (status, body) = app
        .put_as(
            &root,
            POLICY,
            json!({"max_key_lifetime_days": 120, "allowed_networks": ["192.168.0.0/16"],
                   "max_token_lifetime_minutes": 0, "deactivate_unrotated": true}),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field(&body, "max_key_lifetime_days").contains("server"),
        "{body}"
    );
    assert!(
        field(&body, "allowed_networks").contains("outside"),
        "{body}"
    );
    field(&body, "max_token_lifetime_minutes");
    field(&body, "deactivate_unrotated");
    // Nothing stored changed.
    assert_eq!(app.read_as(&root, POLICY).await, policy);
    let tighter = app
        .put_as(
            &root,
            POLICY,
            json!({"max_key_lifetime_days": 7, "allowed_networks": ["10.1.0.0/16"]}),
        )
        .await
        .assert_status(StatusCode::OK)
        .json();
    assert_eq!(
        tighter["effective"]["allowed_networks"],
        json!(["10.1.0.0/16"])
    );
    assert_eq!(tighter["effective"]["max_key_lifetime_days"], 7);
}

/// `GET /api/v1/whoami` as `credential` from `peer`, with `forwarded` as
/// `X-Forwarded-For` when given.
async fn whoami_from(
    app: &mut TestApp,
    credential: &str,
    peer: &str,
    forwarded: Option<&str>,
) -> StatusCode {
    let mut req = TestRequest::get()
        .uri("/api/v1/whoami")
        .peer_addr(peer.parse().unwrap())
        .insert_header(("Authorization", format!("Bearer {credential}")));
    if let Some(f) = forwarded {
        req = req.insert_header(("X-Forwarded-For", f));
    }
    app.send(req).await.status
}

#[actix_web::test]
async fn keys_and_tokens_work_only_from_the_allowed_networks() {
    let (mut app, root) = app_with(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let key = key_in(&mut app, &root, "net", 30).await;
    let token = app
        .api_login(json!({"api_key": key}))
        .await
        .json_str("access_token");
    let inside = "10.1.2.3:40000";
    assert_eq!(
        whoami_from(&mut app, &key, "192.168.1.1:40000", None).await,
        StatusCode::OK
    );
    app.put_as(
        &root,
        POLICY,
        json!({"allowed_networks": ["10.0.0.0/8", "2001:db8::/32"]}),
    )
    .await
    .assert_status(StatusCode::OK);
    for credential in [&key, &token] {
        assert_eq!(
            whoami_from(&mut app, credential, inside, None).await,
            StatusCode::OK
        );
        assert_eq!(
            whoami_from(&mut app, credential, "[2001:db8::7]:1", None).await,
            StatusCode::OK
        );
        assert_eq!(
            whoami_from(&mut app, credential, "192.168.1.1:40000", None).await,
            StatusCode::FORBIDDEN
        );
        // Behind the trusted proxy, the client it names counts.
        assert_eq!(
            whoami_from(&mut app, credential, "127.0.0.1:5000", Some("10.9.9.9")).await,
            StatusCode::OK
        );
        assert_eq!(
            whoami_from(&mut app, credential, "127.0.0.1:5000", Some("192.168.1.1")).await,
            StatusCode::FORBIDDEN
        );
        // From anyone else the header is ignored.
        assert_eq!(
            whoami_from(&mut app, credential, "192.168.1.1:5000", Some("10.9.9.9")).await,
            StatusCode::FORBIDDEN
        );
    }
    // No token is handed out where it could not be used.
    for (peer, want) in [
        ("10.1.2.3:1", StatusCode::OK),
        ("192.168.1.1:1", StatusCode::FORBIDDEN),
    ] {
        let login = TestRequest::post()
            .uri("/api/v1/login")
            .peer_addr(peer.parse().unwrap())
            .set_json(json!({"api_key": key}));
        assert_eq!(app.send(login).await.status, want, "{peer}");
    }
    // Users are not bound by a namespace's key policy.
    assert_eq!(
        whoami_from(&mut app, &root, "192.168.1.1:40000", None).await,
        StatusCode::OK
    );
    let log = app
        .read_as(&root, "/api/v1/audit-events?action=policy.violation")
        .await;
    let first = &log["items"][0];
    assert_eq!(first["actor"], "service_account:ml/etl");
    assert!(
        first["detail"].as_str().unwrap().contains("192.168.1.1"),
        "{first}"
    );
}

#[actix_web::test]
async fn tokens_live_no_longer_than_the_policy_says() {
    let (mut app, root) = app_with(|_| {}).await;
    let key = key_in(&mut app, &root, "short", 30).await;
    app.put_as(&root, POLICY, json!({"max_token_lifetime_minutes": 5}))
        .await
        .assert_status(StatusCode::OK);
    let limit = chrono::Utc::now() + chrono::Duration::minutes(5) + chrono::Duration::seconds(5);
    let login = app.api_login(json!({"api_key": key})).await.json();
    let expires: chrono::DateTime<chrono::Utc> =
        login["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires <= limit, "{login}");
    let minted = app
        .create_as(&key, "/api/v1/tokens", json!({"expires_in_seconds": 3600}))
        .await;
    let expires: chrono::DateTime<chrono::Utc> =
        minted["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires <= limit, "{minted}");
}

#[actix_web::test]
async fn overdue_keys_are_warned_about_then_deactivated_when_the_policy_says_so() {
    let (mut app, root) = app_with(|_| {}).await;
    key_in(&mut app, &root, "fresh", 30).await;
    // `old` was made (and never rotated) ten days ago.
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::api_keys;
        let ten_days_ago = portcullis::db::now_ms() - 10 * 24 * 3600 * 1000;
        diesel::update(api_keys::table.filter(api_keys::name.eq("old")))
            .set(api_keys::created_at.eq(ten_days_ago))
            .execute(c)
            .unwrap();
    });
    app.put_as(&root, POLICY, json!({"rotate_every_days": 7}))
        .await
        .assert_status(StatusCode::OK);
    app.create_user("lead", &[("ml/*", "admin")]);
    app.login("lead", PASSWORD).await;
    let page = app.get("/namespaces/ml/service-accounts/etl").await;
    let warning = page.text("tr[data-key=old] .rotation-warning");
    assert!(
        warning.contains("rotation overdue (key policy: every 7 days)"),
        "{warning}"
    );
    assert!(
        page.texts("tr[data-key=fresh] .rotation-warning")
            .is_empty()
    );

    // Without deactivation in the policy, housekeeping leaves it alone.
    let server = KeyPolicy::default();
    let none = app
        .conn(|c| portcullis::service_accounts::policy::deactivate_unrotated(c, &server).unwrap());
    assert!(none.is_empty());
    app.put_as(
        &root,
        POLICY,
        json!({"rotate_every_days": 7, "deactivate_unrotated": true}),
    )
    .await
    .assert_status(StatusCode::OK);
    let done = app
        .conn(|c| portcullis::service_accounts::policy::deactivate_unrotated(c, &server).unwrap());
    assert_eq!(done, vec!["ml/etl/old".to_owned()]);
    let old = app.read_as(&root, &format!("{KEYS}/old")).await;
    assert_eq!(old["active"], false);
    assert_eq!(
        app.read_as(&root, &format!("{KEYS}/fresh")).await["active"],
        true
    );
    let log = app
        .read_as(&root, "/api/v1/audit-events?action=api_key.deactivate")
        .await;
    assert_eq!(log["items"][0]["actor"], "system:key-policy");
}

#[actix_web::test]
async fn the_namespace_page_shows_the_policy_its_bounds_and_what_breaks_it() {
    let (mut app, _root) = app_with(|c| {
        c.key_policy.max_key_lifetime_days = Some(90);
    })
    .await;
    app.create_user("lead", &[("ml/*", "admin")]);
    app.create_user("reader", &[("ml/*", "viewer")]);
    app.login("lead", PASSWORD).await;
    let page = app
        .get("/namespaces/ml")
        .await
        .assert_status(StatusCode::OK);
    assert!(page.text("#effective-policy").contains("90 days"));
    assert_eq!(
        page.attr("input[name=max_key_lifetime_days]", "max")
            .as_deref(),
        Some("90")
    );
    assert_eq!(
        page.fragment_count(".violation-row"),
        1,
        "`old` never expires"
    );

    let bad = app
        .post_form(
            "/namespaces/ml/policy",
            &[
                ("max_key_lifetime_days", "365"),
                ("max_active_keys_per_account", "many"),
                ("allowed_networks", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.text("#max_active_keys_per_account-error").is_empty());
    assert_eq!(
        bad.value("input[name=max_active_keys_per_account]")
            .as_deref(),
        Some("many")
    );
    let bad = app
        .post_form("/namespaces/ml/policy", &[("max_key_lifetime_days", "365")])
        .await;
    assert!(bad.text("#max_key_lifetime_days-error").contains("server"));

    app.post_form(
        "/namespaces/ml/policy",
        &[
            ("max_key_lifetime_days", "30"),
            ("allowed_networks", "10.0.0.0/8\n10.9.9.9"),
            ("rotate_every_days", ""),
        ],
    )
    .await
    .assert_redirect("/namespaces/ml#key-policy");
    let page = app.get("/namespaces/ml").await;
    assert!(page.text("#effective-policy").contains("30 days"));
    assert!(page.text("#effective-policy").contains("10.9.9.9/32"));
    // The new-key form offers only what the policy allows.
    let form = app
        .get("/namespaces/ml/service-accounts/etl/api-keys/new")
        .await;
    let offered = form.attrs("select[name=expires] option", "value");
    assert_eq!(offered, ["30", "date"]);
    assert!(form.text("#key-policy-bound").contains("30 days"));

    app.switch_to("reader").await;
    let page = app.get("/namespaces/ml").await;
    assert!(page.text("#effective-policy").contains("30 days"));
    assert_eq!(page.fragment_count("#policy-form"), 0);
    let refused = app
        .post_form("/namespaces/ml/policy", &[("max_key_lifetime_days", "1")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
