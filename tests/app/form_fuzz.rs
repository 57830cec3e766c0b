//! SECURITY.md promise 16 for HTML forms: every form route, posted random, oversized,
//! non-UTF-8, junk or missing fields (with a valid CSRF token, so the handler itself is
//! reached), answers a 4xx page — never a 500 — and stores nothing.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// Every form that takes fields, with its fields (routes that only act — delete,
/// verify, revoke, sign out — take none and are covered by the page matrix).
const FORMS: &[(&str, &[&str])] = &[
    (
        "/service-accounts",
        &["name", "namespace", "description", "create_key"],
    ),
    ("/namespaces/team-a/service-accounts/sa-a", &["description"]),
    (
        "/namespaces/team-a/service-accounts/sa-a/active",
        &["active", "back"],
    ),
    (
        "/namespaces/team-a/service-accounts/sa-a/role-bindings",
        &["op", "pattern", "role"],
    ),
    (
        "/namespaces/team-a/service-accounts/sa-a/api-keys",
        &["name", "description", "expires", "expires_on"],
    ),
    (
        "/namespaces/team-a/service-accounts/sa-a/api-keys/k1/rotate",
        &["retain_period_minutes"],
    ),
    (
        "/namespaces/team-a/service-accounts/sa-a/api-keys/k1/active",
        &["active"],
    ),
    (
        "/connectors",
        &[
            "name",
            "namespace",
            "connector_type",
            "auth_method",
            "cfg.username",
            "cfg.password",
            "labels",
            "expiration_seconds",
        ],
    ),
    (
        "/namespaces/team-a/connectors/conn-a/edit",
        &[
            "auth_method",
            "cfg.username",
            "cfg.password",
            "cfg.registry",
            "labels",
            "description",
        ],
    ),
    (
        "/environments",
        &["namespace", "name", "description", "specification"],
    ),
    (
        "/environments/team-a/train",
        &["description", "specification"],
    ),
    ("/namespaces", &["name", "description"]),
    ("/namespaces/team-a/shares", &["principal_name", "role"]),
    ("/namespaces/team-a/shares/delete", &["principal_name"]),
    ("/namespaces/team-a/delete", &["confirm"]),
    ("/users", &["name", "primary_namespace"]),
    ("/users/viewer", &["active", "groups"]),
    ("/users/viewer/role-bindings", &["bindings"]),
    ("/groups", &["group", "bindings"]),
    ("/password", &["current", "new", "confirm"]),
    ("/tokens", &["pattern", "role", "expires_in_minutes"]),
    (
        "/namespaces/team-a/service-accounts/sa-a/trust",
        &[
            "op",
            "issuer",
            "audience",
            "conditions",
            "max_token_seconds",
            "index",
        ],
    ),
    (
        "/namespaces/team-a/policy",
        &[
            "max_key_lifetime_days",
            "max_token_lifetime_minutes",
            "max_active_keys_per_account",
            "allowed_networks",
            "rotate_every_days",
            "deactivate_unrotated",
        ],
    ),
    (
        "/namespaces/team-a/webhooks",
        &["url", "event", "within_days"],
    ),
    ("/report-leak", &["key"]),
];

/// What is wrong with a submission.
#[derive(Debug, Clone)]
enum Fault {
    /// No field at all.
    Missing,
    /// Every field is random text with a NUL and control characters in it.
    Junk(Vec<String>),
    /// Every field carries bytes that are not UTF-8 (percent-encoded).
    NotUtf8(Vec<Vec<u8>>),
    /// One field is larger than any request body may be.
    Oversized,
}

fn fault() -> impl Strategy<Value = Fault> {
    let junk = "[a-zA-Z0-9 /*=@.+_-]{0,40}\u{0}[\u{1}-\u{1f}é✓🔑]{0,8}";
    prop_oneof![
        Just(Fault::Missing),
        proptest::collection::vec(junk, 8).prop_map(Fault::Junk),
        // 0xFF never occurs in UTF-8: each value is invalid whatever follows it.
        proptest::collection::vec(proptest::collection::vec(0x80u8..=0xff, 0..16), 8).prop_map(
            |values| {
                Fault::NotUtf8(
                    values
                        .into_iter()
                        .map(|v| [vec![0xff], v].concat())
                        .collect(),
                )
            }
        ),
        Just(Fault::Oversized),
    ]
}

/// The form body of `fields` with `fault`, and the CSRF token.
fn body(fields: &[&str], fault: &Fault, token: &str) -> Vec<u8> {
    let encode = |bytes: &[u8]| -> String { url::form_urlencoded::byte_serialize(bytes).collect() };
    let mut parts = vec![format!("csrf_token={}", encode(token.as_bytes()))];
    for (i, name) in fields.iter().enumerate() {
        let value: Vec<u8> = match fault {
            Fault::Missing => continue,
            Fault::Junk(values) => values[i % values.len()].clone().into_bytes(),
            Fault::NotUtf8(values) => values[i % values.len()].clone(),
            Fault::Oversized if i == 0 => vec![b'x'; 300 * 1024],
            Fault::Oversized => b"x".to_vec(),
        };
        parts.push(format!("{}={}", encode(name.as_bytes()), encode(&value)));
    }
    parts.join("&").into_bytes()
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A fingerprint of what forms can change: per table, the row count and the total
/// length of its text (and the active flags), so an edit shows as well as an insert.
fn fingerprint(app: &TestApp) -> Vec<i64> {
    const TABLES: &[(&str, &str)] = &[
        (
            "service_accounts",
            "name || description || CASE WHEN active THEN 'y' ELSE 'n' END",
        ),
        (
            "api_keys",
            "name || description || secret_hash || CASE WHEN active THEN 'y' ELSE 'n' END",
        ),
        (
            "connectors",
            "name || description || configuration || secrets || labels",
        ),
        ("environments", "name || description || specification"),
        ("namespaces", "name || description"),
        (
            "users",
            "name || coalesce(password_hash, '') || CASE WHEN active THEN 'y' ELSE 'n' END",
        ),
        ("role_bindings", "pattern || role"),
        ("namespace_shares", "role"),
        ("user_groups", "group_name"),
        ("group_bindings", "group_name || pattern || role"),
        ("access_tokens", "id"),
        ("service_account_trust", "policies"),
        ("namespace_key_policies", "policy"),
        ("webhooks", "url || events"),
    ];
    app.conn(|c| {
        TABLES
            .iter()
            .flat_map(|(table, text)| {
                [
                    format!("SELECT CAST(count(*) AS BIGINT) AS n FROM {table}"),
                    format!(
                        "SELECT CAST(coalesce(sum(length({text})), 0) AS BIGINT) AS n FROM {table}"
                    ),
                ]
            })
            .map(|sql| diesel::sql_query(sql).get_result::<Sum>(c).unwrap().n)
            .collect()
    })
}

#[actix_web::test]
async fn random_broken_form_posts_are_4xx_pages_and_store_nothing() {
    let mut app = TestApp::new().await;
    app.seed_environments(&[("team-a", &["train"])], "");
    app.create_user("root", &[("*/*", "admin")]);
    app.create_user("viewer", &[("team-a/*", "viewer")]);
    let root = app.admin_token().await;
    app.create_key(&root, "team-a", "sa-a", "k1").await;
    let connector = json!({"name": "conn-a", "namespace": "team-a", "connector_type": "docker",
        "auth_method": "password", "configuration": {"username": "u", "password": "p"}});
    app.create_as(&root, "/api/v1/connectors", connector).await;
    app.login("root", PASSWORD).await;
    let token = app.csrf_token().await;
    let before = fingerprint(&app);

    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let cases = (0..FORMS.len(), fault());
    for _ in 0..240 {
        let (form, fault) = cases.new_tree(&mut runner).unwrap().current();
        let (path, fields) = FORMS[form];
        // The one form whose empty submission means something: a token with all of
        // the viewer's grants.
        if path == "/tokens" && matches!(fault, Fault::Missing) {
            continue;
        }
        // Nor an empty key policy: "no limits of the namespace's own".
        if path == "/namespaces/team-a/policy" && matches!(fault, Fault::Missing) {
            continue;
        }
        let req = TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body(fields, &fault, &token));
        let res = app.send(req).await;
        let case = format!("POST {path} with {fault:?}");
        assert!(
            res.status.is_client_error(),
            "{case}: {} {}",
            res.status,
            res.body.chars().take(300).collect::<String>()
        );
        assert!(
            res.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{case}: not a page"
        );
        assert_eq!(fingerprint(&app), before, "{case} stored something");
        // Still signed in, with the same token: a refusal never ends the session.
        assert_ne!(res.status, StatusCode::UNAUTHORIZED, "{case}");
    }
}
