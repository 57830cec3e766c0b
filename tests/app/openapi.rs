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
