//! PostgreSQL going away under load (issue 13, section 2): while it is stopped,
//! `/readyz` and the API answer 503 and the process stays up; when it is back, the
//! server recovers by itself, and every acknowledged write is there. It stops the test
//! cluster, so tests/run.sh runs it alone, after the PostgreSQL suite (`outage::`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::crash::{Acked, assert_all_present, write_until_killed};
use crate::helpers::TestDb;
use crate::running::{Running, eventually, try_request};

/// Runs `$TEST_PG_CTL action` (tests/pg.sh writes it: stop or start the cluster).
fn pg_ctl(action: &str) {
    let ctl = std::env::var("TEST_PG_CTL").expect("TEST_PG_CTL: run tests/run.sh");
    let status = std::process::Command::new(ctl)
        .arg(action)
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {action}");
}

/// Waits until `path` answers `want` on `server`.
fn wait_for(server: &Running, path: &str, want: u16, within: Duration) {
    eventually(within, &format!("{path} answering {want}"), || {
        try_request(server.port, "GET", path, None, None).is_some_and(|(s, _)| s == want)
    });
}

#[test]
#[ignore = "stops the test PostgreSQL cluster mid-load: run tests/run.sh"]
fn postgres_going_away_is_503_and_the_server_recovers_by_itself() {
    let Some(db) = TestDb::postgres_only("SQLite is a file of the process") else {
        return;
    };
    let mut server = Running::start(&db, "warn", &[]);
    let admin = server.admin_token();
    wait_for(&server, "/readyz", 200, Duration::from_secs(5));
    let acked = Arc::new(Mutex::new(Vec::<Acked>::new()));
    let writer = {
        let (acked, admin, port) = (Arc::clone(&acked), admin.clone(), server.port);
        std::thread::spawn(move || write_until_killed(port, &admin, "pg", &acked))
    };
    std::thread::sleep(Duration::from_millis(300));
    pg_ctl("stop");
    // While the database is away: 503 on /readyz, and API calls fail cleanly (the
    // writer stops at its first refusal), the process stays up.
    wait_for(&server, "/readyz", 503, Duration::from_secs(10));
    writer.join().unwrap();
    let (status, body) = server.http("GET", "/api/v1/service-accounts", Some(&admin), None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("unavailable"), "{body}");
    pg_ctl("start");
    // Back without a restart: ready again, and every acknowledged write is there.
    wait_for(&server, "/readyz", 200, Duration::from_secs(30));
    assert!(
        server.is_running(),
        "the server exited while the database was away"
    );
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    assert_all_present(&server, &admin, &acked);
    let (status, body) = server.http(
        "POST",
        "/api/v1/service-accounts",
        Some(&admin),
        Some(r#"{"name":"after-the-outage"}"#),
    );
    assert_eq!(status, 201, "{body}");
    server.stop();
}
