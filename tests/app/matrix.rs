//! The authorization matrix: every API route × anonymous, viewer, developer, admin of
//! another namespace, service account and global admin, against the expected status.
//! Deny by default; what the caller may not read is 404, not 403.

use actix_web::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

/// The callers, one column each of the table below.
const WHO: [&str; 6] = [
    "anonymous",
    "viewer",
    "developer",
    "other admin",
    "service account",
    "global admin",
];

/// One row a route: method, path, the status expected for each caller of [`WHO`] in
/// order, then the JSON body sent (none: `{}`; GETs send no body).
const TABLE: &str = r#"
GET    /api/v1/whoami                                  401 200 200 200 200 200
GET    /api/v1/permissions                             401 200 200 200 200 200
GET    /api/v1/environments                            401 200 200 200 200 200
GET    /api/v1/environments/team-a/train               401 200 200 404 200 200
POST   /api/v1/environments                            401 403 201 422 403 201 {"namespace": "team-a", "name": "m"}
PATCH  /api/v1/environments/team-a/train               401 403 200 404 403 200 {"description": "d"}
GET    /api/v1/namespaces                              401 200 200 200 200 200
GET    /api/v1/namespaces/team-a                       401 200 200 404 200 200
POST   /api/v1/namespaces                              401 403 403 403 403 201 {"name": "team-z"}
GET    /api/v1/namespaces/team-a/shares                401 200 200 404 200 200
PUT    /api/v1/namespaces/team-a/shares/guest          401 403 403 404 403 200 {"role": "viewer"}
DELETE /api/v1/namespaces/team-a/shares/guest          401 403 403 404 403 204
GET    /api/v1/service-accounts                        401 200 200 200 200 200
GET    /api/v1/service-accounts/sa-a                   401 200 200 404 200 200
POST   /api/v1/service-accounts                        401 403 403 403 403 201 {"name": "new-sa", "namespace": "team-a"}
PATCH  /api/v1/service-accounts/sa-a                   401 403 403 404 403 200 {"description": "x"}
GET    /api/v1/service-accounts/sa-a/api-keys          401 200 200 404 200 200
POST   /api/v1/service-accounts/sa-a/api-keys          401 403 403 404 403 201 {"name": "k2"}
GET    /api/v1/service-accounts/sa-a/role-bindings     401 200 200 404 200 200
PUT    /api/v1/service-accounts/sa-a/role-bindings     401 403 403 404 403 200 {"team-a/*": ["viewer"]}
GET    /api/v1/namespaces/team-a/service-accounts      401 200 200 200 200 200
GET    /api/v1/namespaces/team-a/service-accounts/sa-a 401 200 200 404 200 200
POST   /api/v1/namespaces/team-a/service-accounts      401 403 403 403 403 201 {"name": "new-sa2"}
PATCH  /api/v1/namespaces/team-a/service-accounts/sa-a 401 403 403 404 403 200 {"description": "y"}
GET    /api/v1/namespaces/team-a/service-accounts/sa-a/api-keys         401 200 200 404 200 200
POST   /api/v1/namespaces/team-a/service-accounts/sa-a/api-keys         401 403 403 404 403 201 {"name": "k3"}
GET    /api/v1/namespaces/team-a/service-accounts/sa-a/api-keys/k1      401 200 200 404 200 200
POST   /api/v1/namespaces/team-a/service-accounts/sa-a/api-keys/k1/rotate 401 403 403 404 403 200 {}
GET    /api/v1/namespaces/team-a/service-accounts/sa-a/role-bindings    401 200 200 404 200 200
PUT    /api/v1/namespaces/team-a/service-accounts/sa-a/role-bindings    401 403 403 404 403 200 {"team-a/*": ["viewer"]}
GET    /api/v1/namespaces/team-a/service-accounts/sa-a/environments     401 403 403 404 403 200
GET    /api/v1/service-accounts/sa-a/environments      401 403 403 404 403 200
GET    /api/v1/users                                   401 403 403 403 403 200
POST   /api/v1/users                                   401 403 403 403 403 201 {"name": "u2"}
GET    /api/v1/users/viewer                            401 403 403 403 403 200
PATCH  /api/v1/users/viewer                            401 403 403 403 403 200 {"active": true}
GET    /api/v1/users/viewer/role-bindings              401 403 403 403 403 200
PUT    /api/v1/users/viewer/role-bindings              401 403 403 403 403 200 {"team-a/*": ["viewer"]}
GET    /api/v1/users/viewer/environments               401 200 404 404 403 200
GET    /api/v1/users/viewer/permissions                401 200 404 404 403 200
GET    /api/v1/groups                                  401 403 403 403 403 200
PUT    /api/v1/groups/g/role-bindings                  401 403 403 403 403 200 {"team-a/*": ["viewer"]}
GET    /api/v1/audit-events                            401 200 200 200 200 200
GET    /api/v1/tokens                                  401 200 200 200 200 200
POST   /api/v1/tokens                                  401 201 201 201 201 201 {}
GET    /api/v1/connector-types                         401 200 200 200 200 200
GET    /api/v1/connector-types/aws                     401 200 200 200 200 200
GET    /api/v1/connectors                              401 200 200 200 200 200
GET    /api/v1/connectors/conn-a                       401 200 200 404 200 200
GET    /api/v1/resources?resource_type=docker-registry 401 200 200 200 200 200
POST   /api/v1/connectors                              401 403 403 403 403 201 {"name": "conn-new", "namespace": "team-a", "connector_type": "docker", "auth_method": "password", "configuration": {"username": "u", "password": "p"}}
PATCH  /api/v1/connectors/conn-a                       401 403 403 404 403 200 {"description": "d"}
POST   /api/v1/connectors/conn-a/verify                401 403 200 404 403 200
POST   /api/v1/connectors/conn-a/client-credentials    401 403 502 404 403 502 {"resource_type": "docker-registry"}
GET    /api/v1/namespaces/team-a/connectors            401 200 200 200 200 200
GET    /api/v1/namespaces/team-a/connectors/conn-a     401 200 200 404 200 200
POST   /api/v1/namespaces/team-a/connectors            401 403 403 403 403 201 {"name": "conn-new2", "connector_type": "docker", "auth_method": "password", "configuration": {"username": "u", "password": "p"}}
PATCH  /api/v1/namespaces/team-a/connectors/conn-a     401 403 403 404 403 200 {"description": "e"}
POST   /api/v1/namespaces/team-a/connectors/conn-a/verify 401 403 200 404 403 200
POST   /api/v1/namespaces/team-a/connectors/conn-a/client-credentials 401 403 502 404 403 502 {"resource_type": "docker-registry"}
DELETE /api/v1/namespaces/team-a/connectors/conn-a     401 403 403 404 403 204
DELETE /api/v1/environments/team-a/train               401 403 403 404 403 204
DELETE /api/v1/namespaces/team-a/service-accounts/sa-a/api-keys/k1 401 403 403 404 403 204
DELETE /api/v1/service-accounts/sa-a                   401 403 403 404 403 204
DELETE /api/v1/namespaces/team-a                       401 403 403 404 403 204
"#;

struct Case {
    method: Method,
    path: &'static str,
    body: Value,
    expect: [u16; 6],
}

/// The first word of `rest`; `rest` keeps what follows.
fn word(rest: &mut &'static str) -> &'static str {
    let (word, tail) = rest
        .trim_start()
        .split_once(' ')
        .unwrap_or((rest.trim(), ""));
    *rest = tail;
    word
}

fn cases() -> Vec<Case> {
    TABLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut rest = line;
            let method = Method::from_bytes(word(&mut rest).as_bytes()).unwrap();
            let path = word(&mut rest);
            let expect = std::array::from_fn(|_| word(&mut rest).parse().unwrap());
            let body = match rest.trim() {
                "" => json!({}),
                text => serde_json::from_str(text).unwrap_or_else(|e| panic!("{line}: {e}")),
            };
            Case {
                method,
                path,
                body,
                expect,
            }
        })
        .collect()
}

/// A fresh world: team-a (an environment, a service account with a key), team-b; the
/// callers; returns the bearer credential of column `who` (None: anonymous).
async fn world(who: usize) -> (TestApp, Option<String>) {
    let (mut app, root, key) = seeded().await;
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

/// The world of the tables: the app, root's token and `sa-a`'s key.
async fn seeded() -> (TestApp, String, crate::helpers::Key) {
    let mut app = TestApp::new().await;
    app.seed_environments(&[("team-a", &["train"]), ("team-b", &["train"])], "");
    app.create_user("viewer", &[("team-a/*", "viewer")]);
    app.create_user("developer", &[("team-a/*", "developer")]);
    app.create_user("other", &[("team-b/*", "admin")]);
    app.create_user("guest", &[]);
    let root = app.admin_token().await;
    let key = app.create_key(&root, "team-a", "sa-a", "k1").await;
    app.create_key(&root, "team-b", "sa-reader", "k").await;
    let bindings = json!({"team-a/*": ["viewer"]});
    let path = "/api/v1/service-accounts/sa-a/role-bindings";
    app.put_as(&root, path, bindings)
        .await
        .assert_status(StatusCode::OK);
    let connector = json!({"name": "conn-a", "namespace": "team-a", "connector_type": "docker",
                           "auth_method": "password", "configuration": {"username": "u", "password": "p", "registry": "127.0.0.1:9"}});
    app.post_as(&root, "/api/v1/connectors", connector)
        .await
        .assert_status(StatusCode::CREATED);
    (app, root, key)
}

#[actix_web::test]
async fn every_route_answers_each_kind_of_caller_as_the_table_says() {
    let mut failures = Vec::new();
    for (col, who) in WHO.iter().enumerate() {
        let (mut app, credential) = world(col).await;
        for case in cases() {
            let body = case.body.clone();
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

#[actix_web::test]
async fn a_method_a_route_does_not_have_is_405_json_naming_the_allowed_ones() {
    let mut app = TestApp::new().await;
    let root = app.admin_token().await;
    for (path, allow) in [
        ("/api/v1/users/root", Some("GET, PATCH")),
        ("/api/v1/users/root/role-bindings", Some("GET, PUT")),
        ("/api/v1/groups/ml/role-bindings", Some("GET, PUT")),
        ("/api/v1/service-accounts", Some("GET, POST")),
        ("/api/v1/connectors", Some("GET, POST")),
        ("/api/v1/environments", Some("GET, POST")),
        ("/api/v1/whoami", Some("GET")),
        ("/api/v1/no-such-thing", None),
    ] {
        let res = app
            .json(Method::DELETE, path, Value::Null, Some(&root))
            .await;
        let (status, code) = match allow {
            Some(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            None => (StatusCode::NOT_FOUND, "not_found"),
        };
        assert_eq!(res.status, status, "DELETE {path}: {}", res.body);
        assert_eq!(res.json()["error"]["code"], code, "DELETE {path}");
        assert_eq!(res.header("allow"), allow, "DELETE {path}");
    }
    // Nothing was removed by the refused method.
    let me = app.read_as(&root, "/api/v1/users/root").await;
    assert_eq!(me["name"], "root");
}

/// The dashboard's callers: signed out, then signed in as each user of the world
/// (service accounts have no sessions).
const SIGNED_IN: [Option<&str>; 5] = [
    None,
    Some("viewer"),
    Some("developer"),
    Some("other"),
    Some("root"),
];

/// One row a page: method, path, the status for each caller of [`SIGNED_IN`], then the
/// form sent with a POST (`a=b&c=d`; the CSRF token is added). 303 is a redirect: to
/// the sign-in page for the signed-out caller (whatever the method), or after a change.
const PAGES: &str = r#"
GET  /                                                          303 200 200 200 200
GET  /attention                                                 303 200 200 200 200
GET  /environments                                              303 200 200 200 200
GET  /namespaces                                                303 200 200 200 200
GET  /namespaces/team-a                                         303 200 200 404 200
GET  /namespaces/team-a/delete                                  303 403 403 404 200
GET  /service-accounts                                          303 200 200 200 200
GET  /namespaces/team-a/service-accounts/sa-a                   303 200 200 404 200
GET  /service-accounts/sa-a                                     303 200 200 404 200
GET  /namespaces/team-a/service-accounts/sa-a/api-keys/new      303 403 403 404 200
GET  /namespaces/team-a/service-accounts/sa-a/api-keys/k1/rotate 303 403 403 404 200
POST /namespaces/team-a/service-accounts/sa-a                   303 403 403 404 303 description=x
POST /namespaces/team-a/service-accounts/sa-a/role-bindings     303 403 403 404 303 op=add&pattern=team-a/train&role=viewer
POST /namespaces/team-a/service-accounts/sa-a/api-keys          303 403 403 404 303 name=k9&expires=30
GET  /connectors                                                303 200 200 200 200
GET  /connectors/new                                            303 200 200 200 200
GET  /namespaces/team-a/connectors/conn-a                       303 200 200 404 200
GET  /connectors/conn-a                                         303 200 200 404 200
GET  /namespaces/team-a/connectors/conn-a/edit                  303 403 403 404 200
POST /namespaces/team-a/connectors/conn-a/verify                303 403 303 404 303
GET  /resources                                                 303 200 200 200 200
GET  /connector-types                                           303 200 200 200 200
GET  /access                                                    303 200 200 200 200
GET  /audit                                                     303 200 200 200 200
GET  /users                                                     303 403 403 403 200
GET  /users/viewer                                              303 403 403 403 200
GET  /groups                                                    303 403 403 403 200
POST /namespaces/team-a/service-accounts/sa-a/delete            303 403 403 404 303
POST /namespaces/team-a/delete                                  303 403 403 404 303 confirm=team-a
"#;

#[actix_web::test]
async fn every_page_answers_each_signed_in_caller_as_the_table_says() {
    let mut failures = Vec::new();
    for (col, who) in SIGNED_IN.iter().enumerate() {
        let (mut app, _, _) = seeded().await;
        if let Some(name) = who {
            app.login(name, PASSWORD).await;
        }
        for line in PAGES.lines().filter(|l| !l.trim().is_empty()) {
            let mut rest = line;
            let method = word(&mut rest);
            let path = word(&mut rest);
            let expect: [u16; 5] = std::array::from_fn(|_| word(&mut rest).parse().unwrap());
            let res = if method == "GET" {
                app.get(path).await
            } else {
                let form: Vec<(String, String)> = serde_urlencoded::from_str(rest.trim())
                    .unwrap_or_else(|e| panic!("{line}: {e}"));
                let fields: Vec<(&str, &str)> =
                    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                app.post_form(path, &fields).await
            };
            if res.status.as_u16() != expect[col] {
                failures.push(format!(
                    "{method} {path} as {}: expected {}, got {}",
                    who.unwrap_or("anonymous"),
                    expect[col],
                    res.status.as_u16()
                ));
            }
            if who.is_none() {
                assert!(
                    res.location().starts_with("/login"),
                    "{path}: {}",
                    res.location()
                );
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
