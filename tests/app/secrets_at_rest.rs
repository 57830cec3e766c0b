//! Promise: a key's plaintext, a connector's stored secrets and the credentials it
//! issues are never in a log line (at `trace`), nor in the database, nor in any answer
//! but the one that issues them. Runs the real binary, so the production logging setup
//! is what is checked.

use diesel::prelude::*;
use diesel::sql_types::Text;
use portcullis::config::DatabaseUrl;

use crate::helpers::{TestDb, emulator_env};
use crate::running::{Running, field};

/// Secret attribute values of the connector the test registers.
const CONNECTOR_SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYzConnectorSecret";
const CONNECTOR_KEY_ID: &str = "AKIAZZCONNECTORKEYID7";

#[test]
fn api_keys_and_connector_secrets_are_never_logged_nor_stored() {
    let db = TestDb::new();
    let mut server = Running::start(&db, "trace", &[]);
    let log_path = server.log_path.clone();
    let admin = server.admin_token();
    let http = |method: &str, path: &str, bearer: Option<&str>, body: Option<&str>| {
        server.http(method, path, bearer, body)
    };
    http(
        "POST",
        "/api/v1/service-accounts",
        Some(&admin),
        Some(r#"{"name":"ci"}"#),
    );
    let first = server.api_key(&admin, "ci");
    let (status, _) = http("GET", "/api/v1/whoami", Some(&first), None);
    assert_eq!(status, 200);
    let (_, body) = http(
        "POST",
        "/api/v1/login",
        None,
        Some(&format!(r#"{{"api_key":"{first}"}}"#)),
    );
    let token = field(&body, "access_token");
    let (_, body) = http(
        "POST",
        "/api/v1/service-accounts/ci/api-keys/main/rotate",
        Some(&admin),
        Some(r#"{"retain_period_minutes":5}"#),
    );
    let second = field(&body, "key");
    http("GET", "/api/v1/whoami", Some(&second), None);
    // A connector whose secret attributes must never be stored or logged in clear, also
    // after an edit that keeps them.
    let (status, body) = http(
        "POST",
        "/api/v1/connectors",
        Some(&admin),
        Some(&format!(
            r#"{{"name":"aws-prod","connector_type":"aws","auth_method":"secret-key",
               "configuration":{{"region":"eu-west-1","aws_access_key_id":"{CONNECTOR_KEY_ID}",
               "aws_secret_access_key":"{CONNECTOR_SECRET}"}}}}"#
        )),
    );
    assert_eq!(status, 201, "{body}");
    assert!(!body.contains(CONNECTOR_SECRET) && body.contains("[HIDDEN]"));
    let (status, body) = http(
        "PATCH",
        "/api/v1/connectors/aws-prod",
        Some(&admin),
        Some(r#"{"configuration":{"region":"us-east-1"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (_, body) = http("GET", "/api/v1/connectors/aws-prod", Some(&admin), None);
    // The access key ID is an identifier, shown; its secret never is.
    assert!(!body.contains(CONNECTOR_SECRET) && body.contains(CONNECTOR_KEY_ID));
    http(
        "GET",
        "/api/v1/whoami",
        Some(&format!("{}x", &second[..55])),
        None,
    );
    server.stop();

    let secrets: Vec<(&str, &str)> = vec![
        ("first key", &first[16..48]),
        ("rotated key", &second[16..48]),
        ("key token", &token[16..48]),
        ("admin token", &admin[16..48]),
        ("connector secret", CONNECTOR_SECRET),
    ];
    assert_nowhere(&db, &log_path, &secrets);
}

/// Asserts that no value of `secrets` is in the trace log at `log_path` or anywhere
/// in the database (the SQLite file and its WAL, or every PostgreSQL row).
fn assert_nowhere(db: &TestDb, log_path: &std::path::Path, secrets: &[(&str, &str)]) {
    let logs = std::fs::read_to_string(log_path).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "logging ran at trace level"
    );
    for (what, secret) in secrets {
        assert!(!logs.contains(secret), "{what} found in the logs");
    }
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let mut raw = std::fs::read(path).unwrap();
            if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
                raw.extend(wal);
            }
            let raw = String::from_utf8_lossy(&raw);
            for (what, secret) in secrets {
                assert!(!raw.contains(secret), "{what} found in the database file");
            }
        }
        DatabaseUrl::Postgres(url) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = Text)]
                t: String,
            }
            let pool = portcullis::db::Db::connect(&DatabaseUrl::Postgres(url.clone()), 1).unwrap();
            let mut conn = pool.get().unwrap();
            for table in [
                "api_keys",
                "access_tokens",
                "key_reveals",
                "audit_events",
                "sessions",
                "service_accounts",
                "connectors",
                "connector_resources",
                "connector_discoveries",
            ] {
                let rows: Vec<Row> =
                    diesel::sql_query(format!("SELECT row_to_json(x)::text AS t FROM {table} x"))
                        .load(&mut *conn)
                        .unwrap();
                for row in rows {
                    for (what, secret) in secrets {
                        assert!(!row.t.contains(secret), "{what} found in {table}");
                    }
                }
            }
        }
    }
}

#[test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
fn issued_credentials_and_stored_secrets_are_in_no_log_row_or_page() {
    let db = TestDb::new();
    let mut server = Running::start(
        &db,
        "trace",
        &[("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE", "true")],
    );
    let log_path = server.log_path.clone();
    let admin = server.admin_token();
    let stored = emulator_env("TEST_AWS_SECRET_ACCESS_KEY");
    let connector = serde_json::json!({
        "name": "moto-role", "connector_type": "aws", "auth_method": "iam-role",
        "resource_types": ["s3-bucket"],
        "configuration": {"region": emulator_env("TEST_AWS_REGION"),
                          "endpoint_url": emulator_env("TEST_AWS_ENDPOINT"),
                          "aws_access_key_id": emulator_env("TEST_AWS_ACCESS_KEY_ID"),
                          "aws_secret_access_key": stored,
                          "role_arn": emulator_env("TEST_AWS_ROLE_ARN")}});
    let (status, body) = server.http(
        "POST",
        "/api/v1/connectors",
        Some(&admin),
        Some(&connector.to_string()),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.http(
        "POST",
        "/api/v1/connectors/moto-role/verify",
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""error":null"#), "{body}");
    let request = r#"{"resource_type":"s3-bucket","resource_id":"s3://anything"}"#;
    let path = "/api/v1/connectors/moto-role/client-credentials";
    let (status, body) = server.http("POST", path, Some(&admin), Some(request));
    assert_eq!(status, 200, "{body}");
    let issued: serde_json::Value = serde_json::from_str(&body).unwrap();
    let c = &issued["credentials"];
    let (secret, token) = (
        c["aws_secret_access_key"].as_str().unwrap().to_owned(),
        c["aws_session_token"].as_str().unwrap().to_owned(),
    );
    // A second request is served from the cache: the credentials still go nowhere.
    assert_eq!(
        server.http("POST", path, Some(&admin), Some(request)).1,
        body
    );
    for page in [
        "/api/v1/connectors/moto-role",
        "/api/v1/resources",
        "/api/v1/audit-events",
    ] {
        let (status, shown) = server.http("GET", page, Some(&admin), None);
        assert_eq!(status, 200, "{page}");
        for value in [&secret, &token, &stored] {
            assert!(!shown.contains(value.as_str()), "a secret in {page}");
        }
    }
    server.stop();
    let secrets = [
        ("issued secret key", secret.as_str()),
        ("issued session token", &token[..40]),
        ("stored secret", stored.as_str()),
    ];
    assert_nowhere(&db, &log_path, &secrets);
}
