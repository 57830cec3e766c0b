use std::collections::BTreeSet;

use serde_json::Value;

use super::document;

fn doc() -> Value {
    document()
}

/// `(method, path, operation)` of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op.clone()));
        }
    }
    out
}

/// Every `$ref` anywhere in `v`.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn it_is_openapi_3_1_with_the_bearer_scheme_required_by_default() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["license"]["identifier"], "Apache-2.0");
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
}

#[test]
fn every_operation_is_described_tagged_and_uniquely_named() {
    let doc = doc();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = BTreeSet::new();
    let ops = operations(&doc);
    assert!(ops.len() > 70, "{} operations", ops.len());
    for (method, path, op) in &ops {
        let what = format!("{method} {path}");
        for part in ["parameters", "requestBody", "security"] {
            assert!(
                op.get(part).is_none_or(|v| !v.is_null()),
                "{what}: {part} is null"
            );
        }
        assert!(path.starts_with("/api/v1/"), "{what}");
        let id = op["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        let summary = op["summary"].as_str().unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.contains('`'),
            "{what}: summary {summary:?}"
        );
        let tag = op["tags"][0].as_str().unwrap();
        assert!(tags.contains(tag), "{what}: undeclared tag {tag}");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no 2xx"
        );
        for (status, r) in responses {
            assert!(
                r["$ref"].is_string() || r["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what} {status}: a response needs a description"
            );
        }
        // Errors are documented on every operation; credentials on all but the public.
        for status in ["400", "404", "422", "503"] {
            assert!(responses.contains_key(status), "{what}: no {status}");
        }
        let public = op["security"] == serde_json::json!([{}]);
        assert_eq!(
            responses.contains_key("401"),
            // Public operations that check a credential of their own: a password or
            // key, GitHub's signature.
            !public || id == "api_login" || id == "github_report",
            "{what}"
        );
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("415"), "{what}: no 415");
        }
    }
}

#[test]
fn path_parameters_match_the_path_templates() {
    let doc = doc();
    for (method, path, op) in operations(&doc) {
        let in_template: BTreeSet<String> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
            .collect();
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "path")
            .inspect(|p| assert_eq!(p["required"], true, "{method} {path}"))
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(in_template, declared, "{method} {path}");
    }
}

#[test]
fn every_reference_resolves() {
    let doc = doc();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

#[test]
fn accounts_and_connectors_have_their_namespaced_form() {
    let doc = doc();
    let paths = doc["paths"].as_object().unwrap();
    let mut forms = 0;
    for (path, item) in paths {
        let Some(rest) = path.strip_prefix("/api/v1/") else {
            continue;
        };
        if !(rest.starts_with("service-accounts") || rest.starts_with("connectors")) {
            continue;
        }
        let namespaced = &paths[&format!("/api/v1/namespaces/{{ns}}/{rest}")];
        for (method, op) in item.as_object().unwrap() {
            let form = &namespaced[method];
            assert_eq!(
                form["operationId"],
                format!("{}_in_namespace", op["operationId"].as_str().unwrap())
            );
            assert_eq!(form["parameters"][0]["name"], "ns");
            assert_eq!(form["responses"], op["responses"]);
            let own = form["parameters"].as_array().unwrap();
            assert!(
                !own.iter().any(|p| p["name"] == "namespace"),
                "{path}: the path names it"
            );
            if let Some(body) =
                form["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
            {
                let schema = doc.pointer(&body[1..]).unwrap();
                assert!(
                    schema["properties"].get("namespace").is_none(),
                    "{path}: {body}"
                );
            }
            forms += 1;
        }
    }
    assert_eq!(forms, 16 + 7, "every account and connector operation");
}

#[test]
fn request_bodies_refuse_unknown_fields_as_the_handlers_do() {
    // `#[serde(deny_unknown_fields)]` on a body becomes `additionalProperties: false`,
    // so clients (and schemathesis) know a misspelt field is refused.
    let doc = doc();
    for name in [
        "NewAccount",
        "CreateKeyBody",
        "CreateBody",
        "MintBody",
        "NewEnv",
        "PasswordLogin",
        "KeyLogin",
    ] {
        let schema = &doc["components"]["schemas"][name];
        assert_eq!(schema["additionalProperties"], false, "{name}: {schema}");
    }
}

#[test]
fn documented_bounds_are_the_servers() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let retain = &schemas["RotateBody"]["properties"]["retain_period_minutes"];
    assert_eq!(
        retain["maximum"],
        crate::service_accounts::keys::MAX_RETAIN_MINUTES
    );
    for body in ["CreateUser", "PatchUser"] {
        let password = &schemas[body]["properties"]["password"];
        assert_eq!(
            password["minLength"],
            crate::config::MIN_PASSWORD_LEN,
            "{body}"
        );
    }
}

proptest::proptest! {
    /// The documented name pattern accepts exactly the names the server accepts.
    #[test]
    fn the_name_pattern_is_the_servers_rule(name in "[A-Za-z0-9._+@ /*-]{0,66}|\\PC{0,8}") {
        let schema = serde_json::json!({"type": "string", "pattern": crate::web::api::NAME_PATTERN});
        let documented = jsonschema::is_valid(&schema, &serde_json::json!(name));
        proptest::prop_assert_eq!(documented, crate::names::validate_name(&name).is_ok(), "{:?}", name);
    }
}
