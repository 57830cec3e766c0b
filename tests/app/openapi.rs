//! The OpenAPI document (`GET /api/v1/openapi.json`) against the routes actually
//! mounted: every `/api/` path and method the app answers is described, and nothing
//! described is missing from the app.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;

use crate::helpers::TestApp;

/// Every leaf route of actix-web's routing table, as full path patterns. The table is
/// read from its `Debug` form (actix-web offers no other way to list routes): nested
/// `ResourceMap`s by indentation, each with its pattern; `nodes: None` marks a leaf.
fn mounted_patterns(table: &str) -> Vec<String> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut leaves = Vec::new();
    let mut lines = table.lines().peekable();
    while let Some(line) = lines.next() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text == "ResourceMap {" {
            stack.retain(|(i, _)| *i < indent);
            stack.push((indent, String::new()));
        } else if text == "patterns: Single(" {
            let pattern = lines.next().unwrap().trim().trim_end_matches(',');
            let pattern: String = serde_json::from_str(pattern).unwrap();
            // The first `patterns` after a map's opening line is its own.
            let top = stack.last_mut().unwrap();
            if top.1.is_empty() {
                top.1 = pattern;
            }
        } else if text == "nodes: None," {
            let top = stack.last().unwrap();
            assert_eq!(indent, top.0 + 4, "unexpected layout of the routing table");
            leaves.push(stack.iter().map(|(_, p)| p.as_str()).collect());
        }
    }
    leaves
}

/// `{name}` → `{}`: documents and routes may name parameters differently.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push_str("{}");
            }
            '}' => inside = false,
            _ if inside => {}
            c => out.push(c),
        }
    }
    out
}

/// The document's `(path shape → methods)`.
fn documented(doc: &serde_json::Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "put", "post", "delete", "patch"].contains(&k.as_str()))
                .map(|k| k.to_uppercase())
                .collect();
            (shape(path), methods)
        })
        .collect()
}

#[actix_web::test]
async fn the_document_describes_exactly_the_mounted_api() {
    let mut app = TestApp::new().await;
    let res = app
        .get("/api/v1/openapi.json")
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let described = documented(&doc);

    let patterns = mounted_patterns(&app.routing_table().await);
    assert!(patterns.len() > 50, "routing table not read: {patterns:?}");
    let mut mounted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for pattern in patterns.iter().filter(|p| p.starts_with("/api/")) {
        // A method no route takes is answered 405, with the ones it does take.
        let path = shape(pattern).replace("{}", "x");
        let res = app
            .send(TestRequest::default().method(Method::TRACE).uri(&path))
            .await
            .assert_status(StatusCode::METHOD_NOT_ALLOWED);
        let allow = res
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow on {path}"));
        let methods = allow.split(',').map(|m| m.trim().to_owned());
        mounted
            .entry(shape(pattern))
            .or_default()
            .extend(methods.filter(|m| m != "HEAD"));
    }
    assert!(mounted.len() > 40, "too few API routes found: {mounted:?}");
    let missing: Vec<_> = mounted
        .iter()
        .flat_map(|(p, ms)| ms.iter().map(move |m| (p, m)))
        .filter(|(p, m)| !described.get(*p).is_some_and(|d| d.contains(*m)))
        .collect();
    let extra: Vec<_> = described
        .iter()
        .flat_map(|(p, ms)| ms.iter().map(move |m| (p, m)))
        .filter(|(p, m)| !mounted.get(*p).is_some_and(|d| d.contains(*m)))
        .collect();
    assert!(missing.is_empty(), "mounted but not described: {missing:?}");
    assert!(extra.is_empty(), "described but not mounted: {extra:?}");
}

/// A validator of the schema at `pointer` (a JSON pointer into `doc`), with the whole
/// document as its root so that its `$ref`s resolve.
fn schema_at(doc: &serde_json::Value, pointer: &str) -> jsonschema::Validator {
    let mut root = doc.clone();
    // A URI fragment: path templates' braces percent-encoded.
    let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = serde_json::json!(format!("#{fragment}"));
    jsonschema::validator_for(&root).unwrap()
}

/// `/` and `~` escaped for a JSON pointer.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Asserts that `body`, answered with `status` to `method path` (the route as the
/// document writes it), is what the document says.
#[track_caller]
fn assert_conforms(
    doc: &serde_json::Value,
    method: &str,
    route: &str,
    status: u16,
    body: &serde_json::Value,
) {
    let pointer = format!(
        "/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        escape(route)
    );
    assert!(
        doc.pointer(&pointer).is_some(),
        "{method} {route} documents no {status}"
    );
    let errors: Vec<String> = schema_at(doc, &pointer)
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {route} {status}: {errors:#?}\n{body:#}"
    );
}

#[actix_web::test]
async fn every_answer_of_a_walk_through_the_api_is_what_the_document_says() {
    let mut app = TestApp::new().await;
    let doc = app.get("/api/v1/openapi.json").await.json();
    let root = app.admin_token().await;
    app.create_key(&root, "default", "ci", "deploy").await;
    let created = app
        .create_as(
            &root,
            "/api/v1/connectors",
            serde_json::json!({
                "name": "registry", "connector_type": "docker", "auth_method": "password",
                "configuration": {"username": "ci", "password": "s3cret", "registry": "ghcr.io"},
                "labels": {"team": "ml"},
            }),
        )
        .await;
    assert_conforms(&doc, "post", "/api/v1/connectors", 201, &created);
    app.create_as(
        &root,
        "/api/v1/environments",
        serde_json::json!({
            "namespace": "default", "name": "train", "specification": "dependencies: [python]",
        }),
    )
    .await;
    let walk = [
        ("/api/v1/whoami", "/api/v1/whoami"),
        ("/api/v1/permissions", "/api/v1/permissions"),
        ("/api/v1/tokens", "/api/v1/tokens"),
        ("/api/v1/connector-types", "/api/v1/connector-types"),
        (
            "/api/v1/connector-types/aws",
            "/api/v1/connector-types/{type}",
        ),
        ("/api/v1/connectors", "/api/v1/connectors"),
        (
            "/api/v1/namespaces/default/connectors/registry",
            "/api/v1/namespaces/{ns}/connectors/{name}",
        ),
        ("/api/v1/resources", "/api/v1/resources"),
        ("/api/v1/service-accounts", "/api/v1/service-accounts"),
        (
            "/api/v1/service-accounts/ci",
            "/api/v1/service-accounts/{name}",
        ),
        (
            "/api/v1/service-accounts/ci/api-keys",
            "/api/v1/service-accounts/{name}/api-keys",
        ),
        (
            "/api/v1/service-accounts/ci/api-keys/deploy",
            "/api/v1/service-accounts/{name}/api-keys/{key}",
        ),
        (
            "/api/v1/service-accounts/ci/role-bindings",
            "/api/v1/service-accounts/{name}/role-bindings",
        ),
        (
            "/api/v1/service-accounts/ci/environments",
            "/api/v1/service-accounts/{name}/environments",
        ),
        ("/api/v1/namespaces", "/api/v1/namespaces"),
        ("/api/v1/namespaces/default", "/api/v1/namespaces/{ns}"),
        (
            "/api/v1/namespaces/default/shares",
            "/api/v1/namespaces/{ns}/shares",
        ),
        ("/api/v1/environments", "/api/v1/environments"),
        (
            "/api/v1/environments/default/train",
            "/api/v1/environments/{ns}/{name}",
        ),
        ("/api/v1/users", "/api/v1/users"),
        ("/api/v1/users/root", "/api/v1/users/{name}"),
        (
            "/api/v1/users/root/permissions",
            "/api/v1/users/{name}/permissions",
        ),
        (
            "/api/v1/users/root/environments",
            "/api/v1/users/{name}/environments",
        ),
        (
            "/api/v1/users/root/role-bindings",
            "/api/v1/users/{name}/role-bindings",
        ),
        ("/api/v1/groups", "/api/v1/groups"),
        ("/api/v1/audit-events", "/api/v1/audit-events"),
    ];
    for (path, route) in walk {
        let res = app.get_as(&root, path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.body);
        assert_conforms(&doc, "get", route, 200, &res.json());
    }
    // The check can fail: a wrong shape is told apart.
    let account = schema_at(&doc, "/components/schemas/AccountJson");
    assert!(!account.is_valid(&serde_json::json!({"name": 1})));
    // Errors have the documented shape too.
    let res = app.get_as(&root, "/api/v1/service-accounts/nobody").await;
    let pointer = "/components/schemas/ErrorBody";
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(
        schema_at(&doc, pointer).is_valid(&res.json()),
        "{}",
        res.body
    );
}

/// What schemathesis found, each fixed: these stay fixed on both backends.
#[actix_web::test]
async fn what_the_fuzzer_found_stays_fixed() {
    let (mut app, root, _) = TestApp::with_key("ci", "deploy").await;
    // A JSON body is an object: serde alone takes a struct written as an array.
    let res = app
        .post_as(&root, "/api/v1/tokens", serde_json::json!([null, null]))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert_eq!(
        res.json()["error"]["message"],
        "the body must be a JSON object"
    );
    // An integral number is an integer however it is written.
    let path = "/api/v1/namespaces/default/service-accounts/ci/api-keys/deploy/rotate";
    let res = app
        .post_as(
            &root,
            path,
            serde_json::json!({"retain_period_minutes": 30.0}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app
        .post_as(
            &root,
            "/api/v1/tokens",
            serde_json::json!({"expires_in_seconds": 1.5}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "a fraction is not an integer: {}",
        res.body
    );
    // A blank list filter is no filter, also under a namespace's path.
    for path in [
        "/api/v1/namespaces/default/service-accounts?namespace=",
        "/api/v1/namespaces/default/connectors?namespace=",
    ] {
        app.get_as(&root, path).await.assert_status(StatusCode::OK);
    }
    // A namespace that cannot exist holds nothing: 404, not an empty list.
    for path in [
        "/api/v1/namespaces/%C2%84/service-accounts",
        "/api/v1/namespaces/-x/connectors",
    ] {
        app.get_as(&root, path)
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }
    // Any base64url cursor is a position (trailing bits, bytes that are not UTF-8,
    // NUL); an environment cursor without `/` is a namespace.
    for path in [
        "/api/v1/service-accounts?cursor=Ci",
        "/api/v1/users?cursor=a5ZDuUQA8rW",
        "/api/v1/environments?cursor=ZGVmYXVsdA",
        "/api/v1/connectors?cursor=AAA",
    ] {
        app.get_as(&root, path).await.assert_status(StatusCode::OK);
    }
    app.get_as(&root, "/api/v1/service-accounts?cursor=a%20b")
        .await
        .assert_status(StatusCode::BAD_REQUEST);
    // NUL in a query string is a 400 on every backend (PostgreSQL refuses it in text).
    let res = app
        .get_as(&root, "/api/v1/service-accounts?search=a%00b")
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json()["error"]["message"],
        "text must not contain NUL characters"
    );
    // `verify` takes no body, an empty one, or `null` alike; anything but an object
    // otherwise is refused rather than ignored.
    app.create_as(
        &root,
        "/api/v1/connectors",
        serde_json::json!({
            "name": "registry", "connector_type": "docker", "auth_method": "password",
            "configuration": {"username": "ci", "password": "s3cret", "registry": "127.0.0.1:1"},
        }),
    )
    .await;
    let verify = "/api/v1/connectors/registry/verify";
    for body in [serde_json::Value::Null, serde_json::json!({})] {
        let res = app.post_as(&root, verify, body).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    let res = app
        .send(
            TestRequest::post()
                .uri(verify)
                .insert_header(("Authorization", format!("Bearer {root}")))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("null"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app.post_as(&root, verify, serde_json::json!([1])).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
}
