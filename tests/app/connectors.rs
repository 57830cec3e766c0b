//! Connectors: the catalog API, registration with schema-validated configuration,
//! secrets that never come back (and survive edits), per-namespace permissions,
//! resources, and the 501s of verification and credentials.

use actix_web::http::{Method, StatusCode};
use portcullis::connectors::registry;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

const SECRET: &str = "wJalrXUtnFEMIexampleSECRETvalue0001";
const KEY_ID: &str = "AKIAEXAMPLEKEYID0001";

fn aws(name: &str, namespace: &str) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
        "connector_type": "aws",
        "auth_method": "secret-key",
        "resource_types": ["s3-bucket"],
        "resource_id": "arn:aws:s3:::training-data",
        "configuration": {
            "region": "eu-west-1",
            "aws_access_key_id": KEY_ID,
            "aws_secret_access_key": SECRET,
        },
        "labels": {"team": "ml", "env": "prod"},
        "description": "training data bucket",
    })
}

/// An app with `team-a` and `team-b`, and users: alice (team-a admin), bob (team-a
/// viewer), carol (team-a developer), dave (team-b admin).
async fn setup() -> (TestApp, String) {
    let mut app = TestApp::new().await;
    let root = app.admin_token().await;
    for ns in ["team-a", "team-b"] {
        let res = app
            .post_as(&root, "/api/v1/namespaces", json!({"name": ns}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    }
    app.create_user("alice", &[("team-a/*", "admin")]);
    app.create_user("bob", &[("team-a/*", "viewer")]);
    app.create_user("carol", &[("team-a/*", "developer")]);
    app.create_user("dave", &[("team-b/*", "admin")]);
    (app, root)
}

async fn call(
    app: &mut TestApp,
    method: Method,
    path: &str,
    body: Value,
    token: &str,
) -> (StatusCode, Value) {
    let res = if method == Method::GET || method == Method::DELETE {
        let req = actix_web::test::TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")));
        app.send(req).await
    } else {
        app.json(method, path, body, Some(token)).await
    };
    let json = serde_json::from_str(&res.body).unwrap_or(Value::Null);
    (res.status, json)
}

fn count(app: &TestApp) -> i64 {
    app.conn(|c| {
        use diesel::prelude::*;
        portcullis::db::schema::connectors::table
            .count()
            .get_result(c)
            .unwrap()
    })
}

fn stored_secrets(app: &TestApp, name: &str) -> serde_json::Map<String, Value> {
    let (id, sealed): (i64, String) = app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::connectors as t;
        t::table
            .filter(t::name.eq(name))
            .select((t::id, t::secrets))
            .first(c)
            .unwrap()
    });
    registry::open_secrets(&app.state.connector_sealer, id, &sealed).unwrap()
}

#[actix_web::test]
async fn the_catalog_lists_every_type_with_schemas_and_filters() {
    let (mut app, root) = setup().await;
    let (status, body) = call(
        &mut app,
        Method::GET,
        "/api/v1/connector-types",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["connector_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "aws",
            "gcp",
            "azure",
            "kubernetes",
            "docker",
            "hyperai",
            "oauth2"
        ]
    );
    let (_, body) = call(
        &mut app,
        Method::GET,
        "/api/v1/connector-types?resource_type=s3-bucket",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let (_, body) = call(
        &mut app,
        Method::GET,
        "/api/v1/connector-types?auth_method=password",
        Value::Null,
        &root,
    )
    .await;
    let ids: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["connector_type"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kubernetes", "docker"]);

    let (status, aws) = call(
        &mut app,
        Method::GET,
        "/api/v1/connector-types/aws",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(aws["supports_auto_configuration"], true);
    let method = aws["auth_methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["auth_method"] == "session-token")
        .unwrap();
    assert_eq!(method["min_expiration_seconds"], 900);
    assert_eq!(method["max_expiration_seconds"], 129600);
    assert_eq!(method["default_expiration_seconds"], 43200);
    let schema = &method["config_schema"];
    assert_eq!(
        schema["properties"]["aws_secret_access_key"]["format"],
        "password"
    );
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&json!("region"))
    );
    let implicit = aws["auth_methods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["auth_method"] == "implicit")
        .unwrap();
    assert_eq!(implicit["enabled"], false);
    assert!(
        implicit["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("PORTCULLIS_CONNECTOR_IMPLICIT_AUTH")
    );
    let s3 = aws["resource_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource_type"] == "s3-bucket")
        .unwrap();
    assert_eq!(s3["supports_instances"], true);
    assert_eq!(s3["auth_methods"].as_array().unwrap().len(), 6);
    let (_, page) = call(
        &mut app,
        Method::GET,
        "/api/v1/connector-types?limit=4",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, page) = call(
        &mut app,
        Method::GET,
        &format!("/api/v1/connector-types?limit=4&cursor={cursor}"),
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(page["items"][0]["connector_type"], "docker");
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert_eq!(page["next_cursor"], Value::Null);

    let (status, _) = call(
        &mut app,
        Method::GET,
        "/api/v1/connector-types/nope",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let anonymous = app.new_browser().get("/api/v1/connector-types").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_registered_connector_never_shows_its_secrets() {
    let (mut app, _) = setup().await;
    let alice = app.access_token("alice", PASSWORD).await;
    let (status, created) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("s3-training", "team-a"),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["configuration"]["region"], "eu-west-1");
    assert_eq!(
        created["configuration"]["aws_secret_access_key"],
        "[HIDDEN]"
    );
    assert_eq!(created["configuration"]["aws_access_key_id"], "[HIDDEN]");
    assert_eq!(
        created["resource_id"], "s3://training-data",
        "canonical form of the ARN"
    );
    assert_eq!(created["owner"], "user:alice");
    assert_eq!(created["labels"]["team"], "ml");
    assert_eq!(
        created["resources"][0]["resource_ids"],
        json!(["s3://training-data"])
    );
    assert_eq!(created["resources"][0]["origin"], "declared");
    let (_, got) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors/s3-training",
        Value::Null,
        &alice,
    )
    .await;
    let (_, list) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors",
        Value::Null,
        &alice,
    )
    .await;
    for body in [&created, &got, &list] {
        let text = body.to_string();
        assert!(!text.contains(SECRET) && !text.contains(KEY_ID), "{text}");
    }
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The secrets are stored, sealed.
    let secrets = stored_secrets(&app, "s3-training");
    assert_eq!(secrets["aws_secret_access_key"], SECRET);
    // A second connector of the same name is a conflict.
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("s3-training", "team-a"),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[actix_web::test]
async fn invalid_configuration_is_a_422_per_field_and_stores_nothing() {
    let (mut app, root) = setup().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"connector_type": "aws", "auth_method": "secret-key",
                   "configuration": {"aws_access_key_id": "a", "aws_secret_access_key": "s"}}),
            "configuration.region",
            "is required",
        ),
        (
            json!({"connector_type": "aws", "auth_method": "secret-key",
                   "configuration": {"region": "r", "aws_access_key_id": "a", "aws_secret_access_key": "s", "colour": "blue"}}),
            "configuration.colour",
            "not an attribute",
        ),
        (
            json!({"connector_type": "kubernetes", "auth_method": "token",
                   "configuration": {"server": "https://k8s.example:6443", "cluster_name": "c", "insecure": "no"}}),
            "configuration.insecure",
            "true or false",
        ),
        (
            json!({"connector_type": "azure", "auth_method": "service-principal",
                   "configuration": {"tenant_id": "tenant", "client_id": "123e4567-e89b-12d3-a456-426614174000", "client_secret": "s"}}),
            "configuration.tenant_id",
            "UUID",
        ),
        (
            json!({"connector_type": "gcp", "auth_method": "service-account",
                   "configuration": {"project_id": "p", "service_account_json": "{\"type\": \"service_account\""}}),
            "configuration.service_account_json",
            "JSON",
        ),
        (
            json!({"connector_type": "aws", "auth_method": "implicit", "configuration": {"region": "r"}}),
            "auth_method",
            "disabled",
        ),
        (
            json!({"connector_type": "ftp", "auth_method": "password", "configuration": {}}),
            "connector_type",
            "not a connector type",
        ),
        (
            json!({"connector_type": "aws", "auth_method": "session-token", "expiration_seconds": 60,
                   "configuration": {"region": "r", "aws_access_key_id": "a", "aws_secret_access_key": "s"}}),
            "expiration_seconds",
            "at least 900",
        ),
        (
            json!({"connector_type": "aws", "auth_method": "secret-key", "resource_id": "s3://x-bucket",
                   "configuration": {"region": "r", "aws_access_key_id": "a", "aws_secret_access_key": "s"}}),
            "resource_id",
            "exactly one resource type",
        ),
        (
            json!({"connector_type": "aws", "auth_method": "secret-key", "labels": {"bad key": "x"},
                   "configuration": {"region": "r", "aws_access_key_id": "a", "aws_secret_access_key": "s"}}),
            "labels",
            "label key",
        ),
    ];
    for (mut body, field, message) in cases {
        body["name"] = json!("broken");
        body["namespace"] = json!("team-a");
        let (status, res) = call(&mut app, Method::POST, "/api/v1/connectors", body, &root).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {res}");
        let got = res["error"]["fields"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: {res}"));
        assert!(got.contains(message), "{field}: {got}");
        assert_eq!(res["error"]["code"], "validation_failed");
    }
    // Not JSON at all, or a wrong top-level type: 400.
    let res = app
        .send(
            actix_web::test::TestRequest::post()
                .uri("/api/v1/connectors")
                .insert_header(("Authorization", format!("Bearer {root}")))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{\"name\": "),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        json!({"name": "x", "connector_type": "aws", "auth_method": "secret-key", "configuration": "region=r"}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&app), 0, "nothing stored");
}

#[actix_web::test]
async fn edits_keep_secrets_unless_replaced() {
    let (mut app, _) = setup().await;
    let alice = app.access_token("alice", PASSWORD).await;
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("s3-training", "team-a"),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Plain change; secrets untouched.
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/s3-training",
        json!({"configuration": {"region": "us-east-1", "aws_secret_access_key": "[HIDDEN]"}, "labels": {"team": "data"}}),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["configuration"]["region"], "us-east-1");
    assert_eq!(body["labels"], json!({"team": "data"}));
    let secrets = stored_secrets(&app, "s3-training");
    assert_eq!(secrets["aws_secret_access_key"], SECRET);
    assert_eq!(secrets["aws_access_key_id"], KEY_ID);
    // A new secret value replaces the old one.
    let (status, _) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/s3-training",
        json!({"configuration": {"aws_secret_access_key": "rotated-secret-value"}}),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored_secrets(&app, "s3-training")["aws_secret_access_key"],
        "rotated-secret-value"
    );
    // Switching to a method with more secrets needs them; the shared ones are kept.
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/s3-training",
        json!({"auth_method": "sts-token"}),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["configuration.aws_session_token"].is_string());
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/s3-training",
        json!({"auth_method": "sts-token", "configuration": {"aws_session_token": "session-token-value"}}),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secrets = stored_secrets(&app, "s3-training");
    assert_eq!(secrets["aws_access_key_id"], KEY_ID);
    assert_eq!(secrets["aws_session_token"], "session-token-value");
    // Name, namespace and type are fixed.
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/s3-training",
        json!({"namespace": "team-b"}),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Every change is audited, without a secret.
    let root = app.admin_token().await;
    let (_, events) = call(
        &mut app,
        Method::GET,
        "/api/v1/audit-events?target=connector:s3-training",
        Value::Null,
        &root,
    )
    .await;
    let text = events.to_string();
    assert!(
        text.contains("connector.create") && text.contains("connector.update"),
        "{text}"
    );
    assert!(!text.contains(SECRET) && !text.contains("rotated-secret-value"));
}

#[actix_web::test]
async fn permissions_follow_the_namespace() {
    let (mut app, _) = setup().await;
    let alice = app.access_token("alice", PASSWORD).await;
    let bob = app.access_token("bob", PASSWORD).await;
    let carol = app.access_token("carol", PASSWORD).await;
    let dave = app.access_token("dave", PASSWORD).await;
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("s3-training", "team-a"),
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Viewers and developers read but do not register or change.
    for token in [&bob, &carol] {
        let (status, _) = call(
            &mut app,
            Method::GET,
            "/api/v1/connectors/s3-training",
            Value::Null,
            token,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            &mut app,
            Method::POST,
            "/api/v1/connectors",
            aws("other", "team-a"),
            token,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(
            &mut app,
            Method::PATCH,
            "/api/v1/connectors/s3-training",
            json!({"description": "x"}),
            token,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(
            &mut app,
            Method::DELETE,
            "/api/v1/connectors/s3-training",
            Value::Null,
            token,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // Using needs developer: viewers are refused, developers reach the 501.
    let body = json!({"resource_type": "s3-bucket"});
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors/s3-training/client-credentials",
        body.clone(),
        &bob,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, res) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors/s3-training/client-credentials",
        body,
        &carol,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{res}");
    assert!(
        res["error"]["message"]
            .as_str()
            .unwrap()
            .contains("aws/secret-key")
    );
    let (status, res) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors/s3-training/client-credentials",
        json!({"resource_type": "gcs-bucket"}),
        &carol,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (status, res) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors/s3-training/verify",
        Value::Null,
        &carol,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(
        res["error"]["message"]
            .as_str()
            .unwrap()
            .contains("verification")
    );
    // Another namespace's admin sees nothing and cannot register here.
    let (status, _) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors/s3-training",
        Value::Null,
        &dave,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &mut app,
        Method::DELETE,
        "/api/v1/connectors/s3-training",
        Value::Null,
        &dave,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors/s3-training/verify",
        Value::Null,
        &dave,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors",
        Value::Null,
        &dave,
    )
    .await;
    assert_eq!(list["items"], json!([]));
    let (_, list) = call(
        &mut app,
        Method::GET,
        "/api/v1/resources",
        Value::Null,
        &dave,
    )
    .await;
    assert_eq!(list["items"], json!([]));
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("mine", "team-a"),
        &dave,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("mine", "team-b"),
        &dave,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // The namespace admin deletes.
    let (status, _) = call(
        &mut app,
        Method::DELETE,
        "/api/v1/connectors/s3-training",
        Value::Null,
        &alice,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(count(&app), 1);
}

#[actix_web::test]
async fn lists_filter_and_resources_show_what_each_connector_reaches() {
    let (mut app, root) = setup().await;
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("s3-training", "team-a"),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let multi = json!({
        "name": "aws-all", "namespace": "team-b", "connector_type": "aws", "auth_method": "secret-key",
        "configuration": {"region": "eu-west-1", "aws_access_key_id": "a", "aws_secret_access_key": "s"},
        "labels": {"env": "dev"},
    });
    let (status, body) = call(&mut app, Method::POST, "/api/v1/connectors", multi, &root).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["resource_types"].as_array().unwrap().len(),
        4,
        "all of the type's"
    );
    let declared = json!({
        "name": "buckets", "namespace": "team-b", "connector_type": "gcp", "auth_method": "oauth2-token",
        "resource_types": ["gcs-bucket"], "resource_ids": ["gs://a-data", "b-data"],
        "configuration": {"project_id": "p", "token": "ya29.x"},
    });
    let (status, body) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        declared,
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let docker = json!({
        "name": "hub", "namespace": "team-a", "connector_type": "docker", "auth_method": "password",
        "configuration": {"username": "u", "password": "p"},
    });
    let (_, body) = call(&mut app, Method::POST, "/api/v1/connectors", docker, &root).await;
    assert_eq!(body["resource_id"], "docker.io", "the registry's default");

    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?resource_type=s3-bucket",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["aws-all", "s3-training"]);
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?connector_type=gcp",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["buckets"]);
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?label=env=dev",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["aws-all"]);
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?label=env=DEV",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(
        names(&l),
        Vec::<String>::new(),
        "labels match case-sensitively on both backends"
    );
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?label=e*v",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(
        names(&l),
        Vec::<String>::new(),
        "no wildcards in label filters"
    );
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?label=team",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["s3-training"]);
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?search=TRAIN",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["s3-training"]);
    let (_, l) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors?namespace=team-a&limit=1",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["hub"]);
    let cursor = l["next_cursor"].as_str().unwrap().to_owned();
    let (_, l) = call(
        &mut app,
        Method::GET,
        &format!("/api/v1/connectors?namespace=team-a&limit=1&cursor={cursor}"),
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(names(&l), ["s3-training"]);
    assert_eq!(l["next_cursor"], Value::Null);

    let (_, r) = call(
        &mut app,
        Method::GET,
        "/api/v1/resources?resource_type=s3-bucket",
        Value::Null,
        &root,
    )
    .await;
    let rows = r["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["connector"], "aws-all");
    assert_eq!(
        rows[0]["resource_ids"],
        Value::Null,
        "any bucket, not verified"
    );
    assert_eq!(rows[1]["resource_ids"], json!(["s3://training-data"]));
    let (_, r) = call(
        &mut app,
        Method::GET,
        "/api/v1/resources?resource_type=gcs-bucket",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(
        r["items"][0]["resource_ids"],
        json!(["gs://a-data", "gs://b-data"])
    );
    assert_eq!(r["items"][0]["origin"], "declared");
    let (_, r) = call(
        &mut app,
        Method::GET,
        "/api/v1/resources?connector_type=aws",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 5);
}

#[actix_web::test]
async fn sealed_secrets_are_bound_to_their_row() {
    let (mut app, root) = setup().await;
    for name in ["one", "two"] {
        let (status, _) = call(
            &mut app,
            Method::POST,
            "/api/v1/connectors",
            aws(name, "team-a"),
            &root,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Copying one row's sealed secrets onto another does not decrypt there.
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::connectors as t;
        let sealed: String = t::table
            .filter(t::name.eq("one"))
            .select(t::secrets)
            .first(c)
            .unwrap();
        diesel::update(t::table.filter(t::name.eq("two")))
            .set(t::secrets.eq(sealed))
            .execute(c)
            .unwrap();
    });
    let (id, sealed): (i64, String) = app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::connectors as t;
        t::table
            .filter(t::name.eq("two"))
            .select((t::id, t::secrets))
            .first(c)
            .unwrap()
    });
    assert!(registry::open_secrets(&app.state.connector_sealer, id, &sealed).is_err());
    // Reading still works (no secret needed); editing refuses cleanly (500 is logged).
    let (status, _) = call(
        &mut app,
        Method::GET,
        "/api/v1/connectors/two",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[actix_web::test]
async fn concurrent_edits_never_undo_a_secret_change() {
    let (mut app, root) = setup().await;
    let (status, _) = call(
        &mut app,
        Method::POST,
        "/api/v1/connectors",
        aws("racy", "team-a"),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let patch = |body: Value| {
        actix_web::test::TestRequest::patch()
            .uri("/api/v1/connectors/racy")
            .insert_header(("Authorization", format!("Bearer {root}")))
            .set_json(body)
    };
    let mut expected = SECRET.to_owned();
    let mut conflicts = 0;
    for round in 0..12 {
        let secret = format!("rotated-secret-{round}");
        let labels = app.send_detached(patch(json!({"labels": {"round": round.to_string()}})));
        let rotate = app.send_detached(patch(
            json!({"configuration": {"aws_secret_access_key": secret}}),
        ));
        let (labels, rotate) = futures_util::future::join(labels, rotate).await;
        for res in [&labels, &rotate] {
            assert!(
                res.status == StatusCode::OK || res.status == StatusCode::CONFLICT,
                "{} {}",
                res.status,
                res.body
            );
            if res.status == StatusCode::CONFLICT {
                conflicts += 1;
            }
        }
        if rotate.status == StatusCode::OK {
            expected = secret;
        }
        assert_eq!(
            stored_secrets(&app, "racy")["aws_secret_access_key"],
            expected.as_str(),
            "round {round}: an acknowledged secret change was undone"
        );
    }
    eprintln!("{conflicts} edits refused as conflicts");
}

#[actix_web::test]
async fn deleting_a_namespace_deletes_its_connectors_with_an_audit_event_each() {
    let (mut app, root) = setup().await;
    for name in ["one", "two"] {
        let (status, _) = call(
            &mut app,
            Method::POST,
            "/api/v1/connectors",
            aws(name, "team-b"),
            &root,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = call(
        &mut app,
        Method::DELETE,
        "/api/v1/namespaces/team-b",
        Value::Null,
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(count(&app), 0);
    let resources: i64 = app.conn(|c| {
        use diesel::prelude::*;
        portcullis::db::schema::connector_resources::table
            .count()
            .get_result(c)
            .unwrap()
    });
    assert_eq!(resources, 0);
    for name in ["one", "two"] {
        let (_, events) = call(
            &mut app,
            Method::GET,
            &format!("/api/v1/audit-events?action=connector.delete&target=connector:{name}"),
            Value::Null,
            &root,
        )
        .await;
        assert_eq!(events["items"].as_array().unwrap().len(), 1, "{events}");
    }
}

#[actix_web::test]
async fn resources_follow_what_the_configuration_names() {
    let (mut app, root) = setup().await;
    let ghcr = json!({
        "name": "ghcr", "namespace": "team-a", "connector_type": "docker", "auth_method": "password",
        "configuration": {"username": "u", "password": "p", "registry": "ghcr.io"},
    });
    let (status, body) = call(&mut app, Method::POST, "/api/v1/connectors", ghcr, &root).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["resource_id"], "ghcr.io");
    assert_eq!(body["resources"][0]["resource_ids"], json!(["ghcr.io"]));
    // The registry moves: so does the resource (the secrets had to be entered again).
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/ghcr",
        json!({"configuration": {"registry": "quay.io", "username": "u2", "password": "p2"}}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resource_id"], "quay.io");
    assert_eq!(body["resources"][0]["resource_ids"], json!(["quay.io"]));
    // A pin that contradicts the configuration is refused.
    let k8s = json!({
        "name": "k8s", "namespace": "team-a", "connector_type": "kubernetes", "auth_method": "token",
        "resource_id": "other-cluster",
        "configuration": {"server": "https://k8s.example:6443", "cluster_name": "prod", "token": "t"},
    });
    let (status, body) = call(&mut app, Method::POST, "/api/v1/connectors", k8s, &root).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["resource_id"]
            .as_str()
            .unwrap()
            .contains("prod")
    );
    // Hosts of an SSH connector are its resources.
    let ssh = json!({
        "name": "gpus", "namespace": "team-a", "connector_type": "hyperai", "auth_method": "ed25519-key",
        "configuration": {"base64_ssh_key": "c3NoLWtleQ==", "hostnames": ["gpu-1.lab", "gpu-2.lab"], "username": "ml"},
    });
    let (status, body) = call(&mut app, Method::POST, "/api/v1/connectors", ssh, &root).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["resource_id"], Value::Null);
    assert_eq!(
        body["resources"][0]["resource_ids"],
        json!(["gpu-1.lab", "gpu-2.lab"])
    );
}

#[actix_web::test]
async fn a_stored_secret_is_never_kept_for_a_new_destination() {
    let (mut app, root) = setup().await;
    let k8s = json!({
        "name": "k8s", "namespace": "team-a", "connector_type": "kubernetes", "auth_method": "token",
        "configuration": {"server": "https://k8s.example:6443", "cluster_name": "prod", "token": "cluster-token"},
    });
    let (status, _) = call(&mut app, Method::POST, "/api/v1/connectors", k8s, &root).await;
    assert_eq!(status, StatusCode::CREATED);
    // Pointing it at another server without re-entering the token: refused.
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/k8s",
        json!({"configuration": {"server": "https://attacker.example"}}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["fields"]["configuration.token"]
            .as_str()
            .unwrap()
            .contains("server changed")
    );
    assert_eq!(stored_secrets(&app, "k8s")["token"], "cluster-token");
    // Other edits keep it; re-entering it with the new server works.
    let (status, _) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/k8s",
        json!({"description": "prod"}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/k8s",
        json!({"configuration": {"server": "https://k8s-2.example:6443", "token": "new-token"}}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored_secrets(&app, "k8s")["token"], "new-token");
}

#[actix_web::test]
async fn concurrent_registrations_all_succeed() {
    // Transactions that read before they write must queue for SQLite's write lock
    // instead of failing with "database is locked".
    let (app, root) = setup().await;
    let requests: Vec<_> = (0..24)
        .map(|i| {
            app.send_detached(
                actix_web::test::TestRequest::post()
                    .uri("/api/v1/connectors")
                    .insert_header(("Authorization", format!("Bearer {root}")))
                    .set_json(json!({
                        "name": format!("hub-{i}"), "namespace": "team-a",
                        "connector_type": "docker", "auth_method": "password",
                        "configuration": {"username": "u", "password": "p"},
                    })),
            )
        })
        .collect();
    let statuses: Vec<StatusCode> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(count(&app), 24);
}

#[actix_web::test]
async fn configuration_edits_move_the_resources_with_them() {
    let (mut app, root) = setup().await;
    let ssh = json!({
        "name": "gpus", "namespace": "team-a", "connector_type": "hyperai", "auth_method": "ed25519-key",
        "configuration": {"base64_ssh_key": "c3NoLWtleQ==", "hostnames": ["gpu-1.lab"], "username": "ml"},
    });
    let (status, _) = call(&mut app, Method::POST, "/api/v1/connectors", ssh, &root).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/gpus",
        json!({"configuration": {"hostnames": ["gpu-2.lab", "gpu-3.lab"], "base64_ssh_key": "bmV3LWtleQ=="}}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["resources"][0]["resource_ids"],
        json!(["gpu-2.lab", "gpu-3.lab"])
    );
    // An AWS connector over all its resource types: the region is the generic resource.
    let all = json!({
        "name": "aws-all", "namespace": "team-a", "connector_type": "aws", "auth_method": "secret-key",
        "configuration": {"region": "eu-west-1", "aws_access_key_id": "a", "aws_secret_access_key": "s"},
    });
    let (status, _) = call(&mut app, Method::POST, "/api/v1/connectors", all, &root).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/aws-all",
        json!({"configuration": {"region": "us-west-2"}}),
        &root,
    )
    .await;
    let generic = body["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource_type"] == "aws-generic")
        .unwrap()
        .clone();
    assert_eq!(generic["resource_ids"], json!(["us-west-2"]));
    // A pinned host the new list no longer names is unpinned, not refused.
    let pinned = json!({
        "name": "one-gpu", "namespace": "team-a", "connector_type": "hyperai", "auth_method": "ed25519-key",
        "resource_types": ["hyperai-instance"], "resource_id": "gpu-1.lab",
        "configuration": {"base64_ssh_key": "c3NoLWtleQ==", "hostnames": ["gpu-1.lab", "gpu-2.lab"], "username": "ml"},
    });
    let (status, body) = call(&mut app, Method::POST, "/api/v1/connectors", pinned, &root).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(
        &mut app,
        Method::PATCH,
        "/api/v1/connectors/one-gpu",
        json!({"configuration": {"hostnames": ["gpu-2.lab"], "base64_ssh_key": "bmV3LWtleQ=="}}),
        &root,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resource_id"], Value::Null);
    // A value that names no valid resource is an error, not the default.
    let bad = json!({
        "name": "bad-registry", "namespace": "team-a", "connector_type": "docker", "auth_method": "password",
        "configuration": {"username": "u", "password": "p", "registry": "my registry.example"},
    });
    let (status, body) = call(&mut app, Method::POST, "/api/v1/connectors", bad, &root).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["configuration.registry"].is_string(),
        "{body}"
    );
}

#[actix_web::test]
async fn turning_off_tls_checks_or_changing_the_ca_needs_the_secrets_again() {
    let (mut app, root) = setup().await;
    let k8s = json!({
        "name": "k8s", "namespace": "team-a", "connector_type": "kubernetes", "auth_method": "token",
        "configuration": {"server": "https://k8s.example:6443", "cluster_name": "prod", "token": "cluster-token",
                          "certificate_authority": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----"},
    });
    let (status, _) = call(&mut app, Method::POST, "/api/v1/connectors", k8s, &root).await;
    assert_eq!(status, StatusCode::CREATED);
    for change in [
        json!({"insecure": true}),
        json!({"certificate_authority": "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----"}),
    ] {
        let (status, body) = call(
            &mut app,
            Method::PATCH,
            "/api/v1/connectors/k8s",
            json!({"configuration": change}),
            &root,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{change}: {body}");
        assert!(
            body["error"]["fields"]["configuration.token"].is_string(),
            "{body}"
        );
    }
}
