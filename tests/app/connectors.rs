//! Connectors: the catalog API, registration with schema-validated configuration,
//! secrets that never come back (and survive edits), per-namespace permissions,
//! resources, verification and credentials.

use actix_web::http::{Method, StatusCode};
use portcullis::connectors::registry;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, find_by, get, item_strings, items};

const SECRET: &str = "wJalrXUtnFEMIexampleSECRETvalue0001";
const KEY_ID: &str = "AKIAEXAMPLEKEYID0001";

/// The body of an AWS connector `name` in `namespace` (a secret key, one bucket).
pub(crate) fn aws(name: &str, namespace: &str) -> Value {
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

/// Registers `body` as `token`; asserts the 201 and returns the connector.
async fn register(app: &mut TestApp, token: &str, body: Value) -> Value {
    app.post_as(token, "/api/v1/connectors", body)
        .await
        .assert_status(StatusCode::CREATED)
        .json()
}

/// `PATCH /api/v1/connectors/{name}` with `body` as `token`: status and JSON body.
async fn edit(app: &mut TestApp, token: &str, name: &str, body: Value) -> (StatusCode, Value) {
    app.patch_as(token, &format!("/api/v1/connectors/{name}"), body)
        .await
        .parts()
}

/// The message of the 422 at `field`.
#[track_caller]
fn field_error<'a>(body: &'a Value, field: &str) -> &'a str {
    body["error"]["fields"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no error at {field}: {body}"))
}

/// A connector in team-a: `name` of `connector_type` with `auth_method` and
/// `configuration`.
fn connector(name: &str, connector_type: &str, auth_method: &str, configuration: Value) -> Value {
    json!({
        "name": name, "namespace": "team-a", "connector_type": connector_type,
        "auth_method": auth_method, "configuration": configuration,
    })
}

/// `body` with the fields of `more` added or replaced.
fn with(mut body: Value, more: Value) -> Value {
    for (key, value) in more.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
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

#[actix_web::test]
async fn the_catalog_lists_every_type_with_schemas_and_filters() {
    let (mut app, root) = setup().await;
    let all = app.read_as(&root, "/api/v1/connector-types").await;
    let ids = item_strings(&all, "connector_type");
    let expected = [
        "aws",
        "gcp",
        "azure",
        "kubernetes",
        "docker",
        "hyperai",
        "oauth2",
    ];
    assert_eq!(ids, expected);
    for (query, expected) in [
        ("resource_type=s3-bucket", &["aws"][..]),
        ("auth_method=password", &["kubernetes", "docker"][..]),
    ] {
        let path = format!("/api/v1/connector-types?{query}");
        let body = app.read_as(&root, &path).await;
        assert_eq!(item_strings(&body, "connector_type"), expected, "{query}");
    }

    let aws = app.read_as(&root, "/api/v1/connector-types/aws").await;
    assert_eq!(aws["supports_auto_configuration"], true);
    let method = find_by(&aws["auth_methods"], "auth_method", "session-token");
    assert_eq!(method["min_expiration_seconds"], 900);
    assert_eq!(method["max_expiration_seconds"], 129600);
    assert_eq!(method["default_expiration_seconds"], 43200);
    let schema = &method["config_schema"];
    let secret = &schema["properties"]["aws_secret_access_key"];
    assert_eq!(secret["format"], "password");
    let required = schema["required"].as_array().unwrap();
    assert!(required.contains(&json!("region")));
    let implicit = find_by(&aws["auth_methods"], "auth_method", "implicit");
    assert_eq!(implicit["enabled"], false);
    let reason = implicit["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("PORTCULLIS_CONNECTOR_IMPLICIT_AUTH"));
    let s3 = find_by(&aws["resource_types"], "resource_type", "s3-bucket");
    assert_eq!(s3["supports_instances"], true);
    assert_eq!(s3["auth_methods"].as_array().unwrap().len(), 6);
    let page = app.read_as(&root, "/api/v1/connector-types?limit=4").await;
    assert_eq!(items(&page).len(), 4);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let next = format!("/api/v1/connector-types?limit=4&cursor={cursor}");
    let page = app.read_as(&root, &next).await;
    assert_eq!(page["items"][0]["connector_type"], "docker");
    assert_eq!(items(&page).len(), 3);
    assert_eq!(page["next_cursor"], Value::Null);

    let nope = app.get_as(&root, "/api/v1/connector-types/nope").await;
    assert_eq!(nope.status, StatusCode::NOT_FOUND);
    let anonymous = app.new_browser().get("/api/v1/connector-types").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn a_registered_connector_never_shows_its_secrets() {
    let (mut app, _) = setup().await;
    let alice = app.access_token("alice", PASSWORD).await;
    let created = register(&mut app, &alice, aws("s3-training", "team-a")).await;
    let configuration = &created["configuration"];
    assert_eq!(configuration["region"], "eu-west-1");
    assert_eq!(configuration["aws_secret_access_key"], "[HIDDEN]");
    // The access key ID identifies the key; it is shown, not sealed.
    assert_eq!(configuration["aws_access_key_id"], KEY_ID);
    let canonical = "s3://training-data";
    assert_eq!(
        created["resource_id"], canonical,
        "canonical form of the ARN"
    );
    assert_eq!(created["owner"], "user:alice");
    assert_eq!(created["labels"]["team"], "ml");
    assert_eq!(created["resources"][0]["resource_ids"], json!([canonical]));
    assert_eq!(created["resources"][0]["origin"], "declared");
    let got = app.read_as(&alice, "/api/v1/connectors/s3-training").await;
    let list = app.read_as(&alice, "/api/v1/connectors").await;
    for body in [&created, &got, &list] {
        let text = body.to_string();
        assert!(!text.contains(SECRET), "{text}");
    }
    assert_eq!(items(&list).len(), 1);
    // The secrets are stored, sealed.
    let secrets = app.connector_secrets("s3-training");
    assert_eq!(secrets["aws_secret_access_key"], SECRET);
    // A second connector of the same name is a conflict.
    let again = app
        .post_as(&alice, "/api/v1/connectors", aws("s3-training", "team-a"))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
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
        let (status, res) = app.post_as(&root, "/api/v1/connectors", body).await.parts();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {res}");
        let got = field_error(&res, field);
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
    let wrong_type = json!({"name": "x", "connector_type": "aws", "auth_method": "secret-key", "configuration": "region=r"});
    let res = app.post_as(&root, "/api/v1/connectors", wrong_type).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(count(&app), 0, "nothing stored");
}

#[actix_web::test]
async fn edits_keep_secrets_unless_replaced() {
    let (mut app, _) = setup().await;
    let alice = app.access_token("alice", PASSWORD).await;
    register(&mut app, &alice, aws("s3-training", "team-a")).await;
    // Plain change; secrets untouched.
    let change = json!({"configuration": {"region": "us-east-1", "aws_secret_access_key": "[HIDDEN]"}, "labels": {"team": "data"}});
    let (status, body) = edit(&mut app, &alice, "s3-training", change).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["configuration"]["region"], "us-east-1");
    assert_eq!(body["labels"], json!({"team": "data"}));
    let secrets = app.connector_secrets("s3-training");
    assert_eq!(secrets["aws_secret_access_key"], SECRET);
    assert_eq!(body["configuration"]["aws_access_key_id"], KEY_ID);
    // A new secret value replaces the old one.
    let rotated = json!({"configuration": {"aws_secret_access_key": "rotated-secret-value"}});
    let (status, _) = edit(&mut app, &alice, "s3-training", rotated).await;
    assert_eq!(status, StatusCode::OK);
    let secrets = app.connector_secrets("s3-training");
    assert_eq!(secrets["aws_secret_access_key"], "rotated-secret-value");
    // Switching to a method with more secrets needs them; the shared ones are kept.
    let sts = json!({"auth_method": "sts-token"});
    let (status, body) = edit(&mut app, &alice, "s3-training", sts).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    field_error(&body, "configuration.aws_session_token");
    let sts = json!({"auth_method": "sts-token", "configuration": {"aws_session_token": "session-token-value"}});
    let (status, body) = edit(&mut app, &alice, "s3-training", sts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secrets = app.connector_secrets("s3-training");
    assert_eq!(secrets["aws_secret_access_key"], "rotated-secret-value");
    assert_eq!(secrets["aws_session_token"], "session-token-value");
    assert_eq!(body["configuration"]["aws_access_key_id"], KEY_ID);
    // Name, namespace and type are fixed.
    let moved = json!({"namespace": "team-b"});
    let (status, body) = edit(&mut app, &alice, "s3-training", moved).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Every change is audited, without a secret.
    let root = app.admin_token().await;
    let events = "/api/v1/audit-events?target=connector:team-a/s3-training";
    let text = app.read_as(&root, events).await.to_string();
    assert!(
        text.contains("connector.create") && text.contains("connector.update"),
        "{text}"
    );
    assert!(!text.contains(SECRET) && !text.contains("rotated-secret-value"));
}

#[actix_web::test]
async fn permissions_follow_the_namespace() {
    const S3: &str = "/api/v1/connectors/s3-training";
    const USE: &str = "/api/v1/connectors/s3-training/client-credentials";
    const VERIFY: &str = "/api/v1/connectors/s3-training/verify";
    let (mut app, root) = setup().await;
    let alice = app.access_token("alice", PASSWORD).await;
    let bob = app.access_token("bob", PASSWORD).await;
    let carol = app.access_token("carol", PASSWORD).await;
    let dave = app.access_token("dave", PASSWORD).await;
    register(&mut app, &alice, aws("s3-training", "team-a")).await;
    // Viewers and developers read but do not register or change.
    let read_only = [
        get(S3, 200),
        (
            Method::POST,
            "/api/v1/connectors",
            aws("other", "team-a"),
            403,
        ),
        (Method::PATCH, S3, json!({"description": "x"}), 403),
        (Method::DELETE, S3, Value::Null, 403),
    ];
    app.assert_statuses("a viewer", &bob, &read_only).await;
    app.assert_statuses("a developer", &carol, &read_only).await;
    // Using needs developer: viewers are refused; developers get this long-lived
    // method's configured keys (no expiry) for the pinned bucket only.
    let body = json!({"resource_type": "s3-bucket"});
    let (status, _) = app.post_as(&bob, USE, body.clone()).await.parts();
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, res) = app.post_as(&carol, USE, body).await.parts();
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["resource_id"], "s3://training-data");
    assert_eq!(res["credentials"]["aws_access_key_id"], KEY_ID);
    assert!(res["expires_at"].is_null(), "{res}");
    let elsewhere = json!({"resource_type": "s3-bucket", "resource_id": "s3://other"});
    let (status, res) = app.post_as(&carol, USE, elsewhere).await.parts();
    assert_eq!(status, StatusCode::FORBIDDEN, "{res}");
    assert!(
        res["error"]["message"].as_str().unwrap().contains("pinned"),
        "{res}"
    );
    let other_type = json!({"resource_type": "gcs-bucket"});
    let (status, res) = app.post_as(&carol, USE, other_type).await.parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    // Verification reaches only public endpoints here (the test server does not set
    // PORTCULLIS_CONNECTOR_ALLOW_PRIVATE): a refusal is the body's error, not a 5xx.
    // (A new endpoint needs the secrets again: they are never sent somewhere new.)
    let patch = json!({"configuration": {
        "endpoint_url": "http://127.0.0.1:9",
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
    }});
    let (status, res) = app.patch_as(&alice, S3, patch).await.parts();
    assert_eq!(status, StatusCode::OK, "{res}");
    let (status, res) = app.post_as(&carol, VERIFY, Value::Null).await.parts();
    assert_eq!(status, StatusCode::OK, "{res}");
    let error = res["error"].as_str().unwrap();
    assert!(
        error.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"),
        "{res}"
    );
    assert_eq!(res["resources"][0]["resource_type"], "s3-bucket");
    assert_eq!(res["resources"][0]["error"], error);
    let (_, shown) = app.get_as(&carol, S3).await.parts();
    assert_eq!(shown["resources"][0]["origin"], "verified", "{shown}");
    assert_eq!(shown["resources"][0]["error"], error, "{shown}");
    let (_, events) = app
        .get_as(
            &root,
            "/api/v1/audit-events?target=connector:team-a/s3-training",
        )
        .await
        .parts();
    let text = events.to_string();
    assert!(
        text.contains("connector.verify") && text.contains("connector.credentials"),
        "{text}"
    );
    assert!(!text.contains(SECRET), "{text}");
    // Another namespace's admin sees nothing and cannot register here.
    let outsider = [
        get(S3, 404),
        (Method::DELETE, S3, Value::Null, 404),
        (Method::POST, VERIFY, Value::Null, 404),
        (
            Method::POST,
            "/api/v1/connectors",
            aws("mine", "team-a"),
            403,
        ),
    ];
    app.assert_statuses("another namespace's admin", &dave, &outsider)
        .await;
    for path in ["/api/v1/connectors", "/api/v1/resources"] {
        let list = app.read_as(&dave, path).await;
        assert_eq!(list["items"], json!([]), "{path}");
    }
    register(&mut app, &dave, aws("mine", "team-b")).await;
    // The namespace admin deletes.
    let deleted = app.delete_as(&alice, S3).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(count(&app), 1);
}

#[actix_web::test]
async fn lists_filter_and_resources_show_what_each_connector_reaches() {
    let (mut app, root) = setup().await;
    register(&mut app, &root, aws("s3-training", "team-a")).await;
    let config =
        json!({"region": "eu-west-1", "aws_access_key_id": "a", "aws_secret_access_key": "s"});
    let multi = connector("aws-all", "aws", "secret-key", config);
    let multi = with(
        multi,
        json!({"namespace": "team-b", "labels": {"env": "dev"}}),
    );
    let body = register(&mut app, &root, multi).await;
    let types = body["resource_types"].as_array().unwrap();
    assert_eq!(types.len(), 4, "all of the type's");
    let config = json!({"project_id": "p", "token": "ya29.x"});
    let declared = connector("buckets", "gcp", "oauth2-token", config);
    let declared = with(
        declared,
        json!({"namespace": "team-b", "resource_types": ["gcs-bucket"], "resource_ids": ["gs://a-data", "b-data"]}),
    );
    register(&mut app, &root, declared).await;
    let config = json!({"username": "u", "password": "p"});
    let docker = connector("hub", "docker", "password", config);
    let body = register(&mut app, &root, docker).await;
    assert_eq!(body["resource_id"], "docker.io", "the registry's default");

    for (query, expected, why) in [
        (
            "resource_type=s3-bucket",
            &["aws-all", "s3-training"][..],
            "",
        ),
        ("connector_type=gcp", &["buckets"][..], ""),
        ("label=env=dev", &["aws-all"][..], ""),
        (
            "label=env=DEV",
            &[][..],
            "labels match case-sensitively on both backends",
        ),
        ("label=e*v", &[][..], "no wildcards in label filters"),
        ("label=team", &["s3-training"][..], ""),
        ("search=TRAIN", &["s3-training"][..], ""),
    ] {
        let list = app
            .read_as(&root, &format!("/api/v1/connectors?{query}"))
            .await;
        assert_eq!(item_strings(&list, "name"), expected, "{query} {why}");
    }
    let page = "/api/v1/connectors?namespace=team-a&limit=1";
    let l = app.read_as(&root, page).await;
    assert_eq!(item_strings(&l, "name"), ["hub"]);
    let cursor = l["next_cursor"].as_str().unwrap().to_owned();
    let l = app.read_as(&root, &format!("{page}&cursor={cursor}")).await;
    assert_eq!(item_strings(&l, "name"), ["s3-training"]);
    assert_eq!(l["next_cursor"], Value::Null);

    let r = app
        .read_as(&root, "/api/v1/resources?resource_type=s3-bucket")
        .await;
    let rows = items(&r);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["connector"], "aws-all");
    let any = &rows[0]["resource_ids"];
    assert_eq!(any, &Value::Null, "any bucket, not verified");
    assert_eq!(rows[1]["resource_ids"], json!(["s3://training-data"]));
    let r = app
        .read_as(&root, "/api/v1/resources?resource_type=gcs-bucket")
        .await;
    let ids = &r["items"][0]["resource_ids"];
    assert_eq!(ids, &json!(["gs://a-data", "gs://b-data"]));
    assert_eq!(r["items"][0]["origin"], "declared");
    let r = app
        .read_as(&root, "/api/v1/resources?connector_type=aws")
        .await;
    assert_eq!(items(&r).len(), 5);
}

#[actix_web::test]
async fn sealed_secrets_are_bound_to_their_row() {
    let (mut app, root) = setup().await;
    for name in ["one", "two"] {
        register(&mut app, &root, aws(name, "team-a")).await;
    }
    // Copying one row's sealed secrets onto another does not decrypt there.
    let (_, sealed_one) = app.sealed_connector("one");
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::connectors as t;
        diesel::update(t::table.filter(t::name.eq("two")))
            .set(t::secrets.eq(sealed_one))
            .execute(c)
            .unwrap();
    });
    let (id, sealed) = app.sealed_connector("two");
    assert!(registry::open_secrets(&app.state.connector_sealer, id, &sealed).is_err());
    // Reading still works (no secret needed); editing refuses cleanly (500 is logged).
    app.read_as(&root, "/api/v1/connectors/two").await;
}

#[actix_web::test]
async fn concurrent_edits_never_undo_a_secret_change() {
    let (mut app, root) = setup().await;
    register(&mut app, &root, aws("racy", "team-a")).await;
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
            app.connector_secrets("racy")["aws_secret_access_key"],
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
        register(&mut app, &root, aws(name, "team-b")).await;
    }
    let deleted = app.delete_as(&root, "/api/v1/namespaces/team-b").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
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
        let path =
            format!("/api/v1/audit-events?action=connector.delete&target=connector:team-b/{name}");
        let events = app.read_as(&root, &path).await;
        assert_eq!(items(&events).len(), 1, "{events}");
    }
}

#[actix_web::test]
async fn resources_follow_what_the_configuration_names() {
    let (mut app, root) = setup().await;
    let config = json!({"username": "u", "password": "p", "registry": "ghcr.io"});
    let ghcr = connector("ghcr", "docker", "password", config);
    let body = register(&mut app, &root, ghcr).await;
    assert_eq!(body["resource_id"], "ghcr.io");
    assert_eq!(body["resources"][0]["resource_ids"], json!(["ghcr.io"]));
    // The registry moves: so does the resource (the secrets had to be entered again).
    let quay =
        json!({"configuration": {"registry": "quay.io", "username": "u2", "password": "p2"}});
    let (status, body) = edit(&mut app, &root, "ghcr", quay).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resource_id"], "quay.io");
    assert_eq!(body["resources"][0]["resource_ids"], json!(["quay.io"]));
    // A pin that contradicts the configuration is refused.
    let config =
        json!({"server": "https://k8s.example:6443", "cluster_name": "prod", "token": "t"});
    let k8s = connector("k8s", "kubernetes", "token", config);
    let k8s = with(k8s, json!({"resource_id": "other-cluster"}));
    let (status, body) = app.post_as(&root, "/api/v1/connectors", k8s).await.parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(field_error(&body, "resource_id").contains("prod"));
    // Hosts of an SSH connector are its resources.
    let config = json!({"base64_ssh_key": "c3NoLWtleQ==", "hostnames": ["gpu-1.lab", "gpu-2.lab"], "username": "ml"});
    let ssh = connector("gpus", "hyperai", "ed25519-key", config);
    let body = register(&mut app, &root, ssh).await;
    assert_eq!(body["resource_id"], Value::Null);
    let hosts = &body["resources"][0]["resource_ids"];
    assert_eq!(hosts, &json!(["gpu-1.lab", "gpu-2.lab"]));
}

#[actix_web::test]
async fn a_stored_secret_is_never_kept_for_a_new_destination() {
    let (mut app, root) = setup().await;
    let config = json!({"server": "https://k8s.example:6443", "cluster_name": "prod", "token": "cluster-token"});
    let k8s = connector("k8s", "kubernetes", "token", config);
    register(&mut app, &root, k8s).await;
    // Pointing it at another server without re-entering the token: refused.
    let elsewhere = json!({"configuration": {"server": "https://attacker.example"}});
    let (status, body) = edit(&mut app, &root, "k8s", elsewhere).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(field_error(&body, "configuration.token").contains("server changed"));
    assert_eq!(app.connector_secrets("k8s")["token"], "cluster-token");
    // Other edits keep it; re-entering it with the new server works.
    let described = json!({"description": "prod"});
    let (status, _) = edit(&mut app, &root, "k8s", described).await;
    assert_eq!(status, StatusCode::OK);
    let moved =
        json!({"configuration": {"server": "https://k8s-2.example:6443", "token": "new-token"}});
    let (status, _) = edit(&mut app, &root, "k8s", moved).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.connector_secrets("k8s")["token"], "new-token");
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
    let config =
        json!({"base64_ssh_key": "c3NoLWtleQ==", "hostnames": ["gpu-1.lab"], "username": "ml"});
    let ssh = connector("gpus", "hyperai", "ed25519-key", config);
    register(&mut app, &root, ssh).await;
    let hosts = json!({"configuration": {"hostnames": ["gpu-2.lab", "gpu-3.lab"], "base64_ssh_key": "bmV3LWtleQ=="}});
    let (status, body) = edit(&mut app, &root, "gpus", hosts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids = &body["resources"][0]["resource_ids"];
    assert_eq!(ids, &json!(["gpu-2.lab", "gpu-3.lab"]));
    // An AWS connector over all its resource types: the region is the generic resource.
    let config =
        json!({"region": "eu-west-1", "aws_access_key_id": "a", "aws_secret_access_key": "s"});
    let all = connector("aws-all", "aws", "secret-key", config);
    register(&mut app, &root, all).await;
    let region = json!({"configuration": {"region": "us-west-2"}});
    let (_, body) = edit(&mut app, &root, "aws-all", region).await;
    let generic = find_by(&body["resources"], "resource_type", "aws-generic");
    assert_eq!(generic["resource_ids"], json!(["us-west-2"]));
    // A pinned host the new list no longer names is unpinned, not refused.
    let config = json!({"base64_ssh_key": "c3NoLWtleQ==", "hostnames": ["gpu-1.lab", "gpu-2.lab"], "username": "ml"});
    let pinned = connector("one-gpu", "hyperai", "ed25519-key", config);
    let pinned = with(
        pinned,
        json!({"resource_types": ["hyperai-instance"], "resource_id": "gpu-1.lab"}),
    );
    register(&mut app, &root, pinned).await;
    let fewer =
        json!({"configuration": {"hostnames": ["gpu-2.lab"], "base64_ssh_key": "bmV3LWtleQ=="}});
    let (status, body) = edit(&mut app, &root, "one-gpu", fewer).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resource_id"], Value::Null);
    // A value that names no valid resource is an error, not the default.
    let config = json!({"username": "u", "password": "p", "registry": "my registry.example"});
    let bad = connector("bad-registry", "docker", "password", config);
    let (status, body) = app.post_as(&root, "/api/v1/connectors", bad).await.parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    field_error(&body, "configuration.registry");
}

#[actix_web::test]
async fn turning_off_tls_checks_or_changing_the_ca_needs_the_secrets_again() {
    let (mut app, root) = setup().await;
    let config = json!({"server": "https://k8s.example:6443", "cluster_name": "prod", "token": "cluster-token", "certificate_authority": "-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----"});
    let k8s = connector("k8s", "kubernetes", "token", config);
    register(&mut app, &root, k8s).await;
    for change in [
        json!({"insecure": true}),
        json!({"certificate_authority": "-----BEGIN CERTIFICATE-----\nB\n-----END CERTIFICATE-----"}),
    ] {
        let patch = json!({"configuration": change});
        let (status, body) = edit(&mut app, &root, "k8s", patch).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{change}: {body}");
        field_error(&body, "configuration.token");
    }
}
