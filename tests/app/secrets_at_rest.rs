//! Promise: a key's plaintext is never in a log line (at `trace`), nor in the
//! database. Runs the real binary, so the production logging setup is what is checked.

use diesel::prelude::*;
use diesel::sql_types::Text;
use portcullis::config::DatabaseUrl;

use crate::helpers::TestDb;
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
    assert!(!body.contains(CONNECTOR_SECRET) && !body.contains(CONNECTOR_KEY_ID));
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
        ("connector key id", CONNECTOR_KEY_ID),
    ];
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "logging ran at trace level"
    );
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret), "{what} found in the logs");
    }
    match &db.url {
        DatabaseUrl::Sqlite(path) => {
            let mut raw = std::fs::read(path).unwrap();
            if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
                raw.extend(wal);
            }
            let raw = String::from_utf8_lossy(&raw);
            for (what, secret) in &secrets {
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
            ] {
                let rows: Vec<Row> =
                    diesel::sql_query(format!("SELECT row_to_json(x)::text AS t FROM {table} x"))
                        .load(&mut *conn)
                        .unwrap();
                for row in rows {
                    for (what, secret) in &secrets {
                        assert!(!row.t.contains(secret), "{what} found in {table}");
                    }
                }
            }
        }
    }
}
