//! The authorization matrix: every API route × anonymous, viewer, developer, admin of
//! another namespace, service account and global admin, against the expected status.
//! Deny by default; what the caller may not read is 404, not 403.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

/// Columns: anonymous, viewer, developer, other-namespace admin, service account, admin.
const WHO: [&str; 6] = [
    "anonymous",
    "viewer",
    "developer",
    "other admin",
    "service account",
    "global admin",
];

struct Case {
    method: Method,
    path: &'static str,
    body: Value,
    expect: [u16; 6],
}

fn cases() -> Vec<Case> {
    let c = |method: Method, path: &'static str, body: Value, expect: [u16; 6]| Case {
        method,
        path,
        body,
        expect,
    };
    vec![
        c(
            Method::GET,
            "/api/v1/whoami",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/permissions",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/environments",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/environments/team-a/train",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::POST,
            "/api/v1/environments",
            json!({"namespace": "team-a", "name": "m"}),
            [401, 403, 201, 422, 403, 201],
        ),
        c(
            Method::PATCH,
            "/api/v1/environments/team-a/train",
            json!({"description": "d"}),
            [401, 403, 200, 404, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/namespaces",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/namespaces/team-a",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::POST,
            "/api/v1/namespaces",
            json!({"name": "team-z"}),
            [401, 403, 403, 403, 403, 201],
        ),
        c(
            Method::GET,
            "/api/v1/namespaces/team-a/shares",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::PUT,
            "/api/v1/namespaces/team-a/shares/guest",
            json!({"role": "viewer"}),
            [401, 403, 403, 404, 403, 200],
        ),
        c(
            Method::DELETE,
            "/api/v1/namespaces/team-a/shares/guest",
            json!(null),
            [401, 403, 403, 404, 403, 204],
        ),
        c(
            Method::GET,
            "/api/v1/service-accounts",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/service-accounts/sa-a",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::POST,
            "/api/v1/service-accounts",
            json!({"name": "new-sa", "namespace": "team-a"}),
            [401, 403, 403, 403, 403, 201],
        ),
        c(
            Method::PATCH,
            "/api/v1/service-accounts/sa-a",
            json!({"description": "x"}),
            [401, 403, 403, 404, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/service-accounts/sa-a/api-keys",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::POST,
            "/api/v1/service-accounts/sa-a/api-keys",
            json!({"name": "k2"}),
            [401, 403, 403, 404, 403, 201],
        ),
        c(
            Method::GET,
            "/api/v1/service-accounts/sa-a/role-bindings",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::PUT,
            "/api/v1/service-accounts/sa-a/role-bindings",
            json!({"team-a/*": ["viewer"]}),
            [401, 403, 403, 404, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/users",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::POST,
            "/api/v1/users",
            json!({"name": "u2"}),
            [401, 403, 403, 403, 403, 201],
        ),
        c(
            Method::GET,
            "/api/v1/users/viewer",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::PATCH,
            "/api/v1/users/viewer",
            json!({"active": true}),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/users/viewer/role-bindings",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::PUT,
            "/api/v1/users/viewer/role-bindings",
            json!({"team-a/*": ["viewer"]}),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/users/viewer/environments",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/users/viewer/permissions",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/groups",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::PUT,
            "/api/v1/groups/g/role-bindings",
            json!({"team-a/*": ["viewer"]}),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/audit-events",
            json!(null),
            [401, 403, 403, 403, 403, 200],
        ),
        c(
            Method::GET,
            "/api/v1/tokens",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::POST,
            "/api/v1/tokens",
            json!({}),
            [401, 201, 201, 201, 201, 201],
        ),
        c(
            Method::GET,
            "/api/v1/connector-types",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/connector-types/aws",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/connectors",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/connectors/conn-a",
            json!(null),
            [401, 200, 200, 404, 200, 200],
        ),
        c(
            Method::GET,
            "/api/v1/resources?resource_type=docker-registry",
            json!(null),
            [401, 200, 200, 200, 200, 200],
        ),
        c(
            Method::POST,
            "/api/v1/connectors",
            json!({"name": "conn-new", "namespace": "team-a", "connector_type": "docker",
                   "auth_method": "password", "configuration": {"username": "u", "password": "p"}}),
            [401, 403, 403, 403, 403, 201],
        ),
        c(
            Method::PATCH,
            "/api/v1/connectors/conn-a",
            json!({"description": "d"}),
            [401, 403, 403, 404, 403, 200],
        ),
        c(
            Method::POST,
            "/api/v1/connectors/conn-a/verify",
            json!(null),
            [401, 403, 501, 404, 403, 501],
        ),
        c(
            Method::POST,
            "/api/v1/connectors/conn-a/client-credentials",
            json!({"resource_type": "docker-registry"}),
            [401, 403, 501, 404, 403, 501],
        ),
        c(
            Method::DELETE,
            "/api/v1/connectors/conn-a",
            json!(null),
            [401, 403, 403, 404, 403, 204],
        ),
        c(
            Method::DELETE,
            "/api/v1/environments/team-a/train",
            json!(null),
            [401, 403, 403, 404, 403, 204],
        ),
        c(
            Method::DELETE,
            "/api/v1/service-accounts/sa-a/api-keys/k1",
            json!(null),
            [401, 403, 403, 404, 403, 204],
        ),
        c(
            Method::DELETE,
            "/api/v1/service-accounts/sa-a",
            json!(null),
            [401, 403, 403, 404, 403, 204],
        ),
        c(
            Method::DELETE,
            "/api/v1/namespaces/team-a",
            json!(null),
            [401, 403, 403, 404, 403, 204],
        ),
    ]
}

/// A fresh world: team-a (an environment, a service account with a key), team-b; the
/// callers; returns the bearer credential of column `who` (None: anonymous).
async fn world(who: usize) -> (TestApp, Option<String>) {
    let mut app = TestApp::new().await;
    app.conn(|c| {
        for ns in ["team-a", "team-b"] {
            let id = portcullis::environments::ensure_namespace(c, ns, "").unwrap();
            portcullis::environments::create_environment(c, id, "train", "", "").unwrap();
        }
    });
    app.create_user("viewer", &[("team-a/*", "viewer")]);
    app.create_user("developer", &[("team-a/*", "developer")]);
    app.create_user("other", &[("team-b/*", "admin")]);
    app.create_user("guest", &[]);
    let root = app.admin_token().await;
    let key = app.create_key(&root, "team-a", "sa-a", "k1").await;
    app.create_key(&root, "team-b", "sa-reader", "k").await;
    app.put_as(
        &root,
        "/api/v1/service-accounts/sa-a/role-bindings",
        json!({"team-a/*": ["viewer"]}),
    )
    .await;
    let res = app
        .post_as(
            &root,
            "/api/v1/connectors",
            json!({"name": "conn-a", "namespace": "team-a", "connector_type": "docker",
                   "auth_method": "password", "configuration": {"username": "u", "password": "p"}}),
        )
        .await;
    assert_eq!(
        res.status,
        actix_web::http::StatusCode::CREATED,
        "{}",
        res.body
    );
    let credential = match who {
        0 => None,
        1 => Some(app.access_token("viewer", PASSWORD).await),
        2 => Some(app.access_token("developer", PASSWORD).await),
        3 => Some(app.access_token("other", PASSWORD).await),
        4 => Some(key.plaintext),
        _ => Some(root),
    };
    (app, credential)
}

#[actix_web::test]
async fn every_route_answers_each_kind_of_caller_as_the_table_says() {
    let mut failures = Vec::new();
    for (col, who) in WHO.iter().enumerate() {
        let (mut app, credential) = world(col).await;
        for case in cases() {
            let body = if case.body.is_null() {
                json!({})
            } else {
                case.body.clone()
            };
            let res = if case.method == Method::GET {
                match &credential {
                    Some(t) => app.get_bearer(case.path, t).await,
                    None => app.get(case.path).await,
                }
            } else {
                app.json(case.method.clone(), case.path, body, credential.as_deref())
                    .await
            };
            let expected = case.expect[col];
            if res.status.as_u16() != expected {
                failures.push(format!(
                    "{} {} as {who}: expected {expected}, got {} {}",
                    case.method,
                    case.path,
                    res.status.as_u16(),
                    res.body.chars().take(160).collect::<String>()
                ));
            }
            if expected == 401 {
                assert_eq!(res.header("www-authenticate"), Some("Bearer"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
