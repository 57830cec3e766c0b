//! The webhook worker under a crash: alerts queued in the database, the real binary
//! delivering them to a local receiver, killed (`kill -9`) mid-run and started again.
//! Every alert arrives; the only repeats are deliveries of the batch that was in flight.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::helpers::TestDb;
use crate::running::{Running, eventually};

/// Alerts queued.
const ALERTS: usize = 600;

/// A receiver on 127.0.0.1 counting deliveries by `Portcullis-Delivery` (each answered
/// after a few milliseconds, so the kill lands mid-run).
fn receiver() -> (u16, Arc<Mutex<HashMap<String, usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let seen = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let (mut id, mut length) = (String::new(), 0usize);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':') {
                            match k.to_ascii_lowercase().as_str() {
                                "portcullis-delivery" => id = v.trim().to_owned(),
                                "content-length" => length = v.trim().parse().unwrap_or(0),
                                _ => {}
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    *seen.lock().unwrap().entry(id).or_default() += 1;
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if reader.get_mut().write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, got)
}

#[test]
#[ignore = "kills the real server mid-delivery (about 40 s): run tests/run.sh"]
fn kill_9_mid_delivery_loses_no_alert_and_repeats_only_the_batch_in_flight() {
    let db = TestDb::new();
    let (port, got) = receiver();
    let env = [("PORTCULLIS_WEBHOOK_ALLOW_PRIVATE", "true")];
    let mut server = Running::start(&db, "warn", &env);
    let admin = server.admin_token();
    let hook =
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["policy.violation"]});
    let (status, body) = server.http(
        "POST",
        "/api/v1/namespaces/default/webhooks",
        Some(&admin),
        Some(&hook.to_string()),
    );
    assert_eq!(status, 201, "{body}");
    let webhook: serde_json::Value = serde_json::from_str(&body).unwrap();
    let webhook = webhook["id"].as_i64().unwrap();
    server.stop();

    // Alerts queued while the server is down, as a burst of events would queue them.
    let pool = portcullis::db::Db::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    for i in 0..ALERTS {
        let data = json!({"test": i});
        let queued = portcullis::alerts::enqueue(
            &mut conn,
            "default",
            "policy.violation",
            &format!("t:{i}"),
            data,
        )
        .unwrap();
        assert_eq!(queued, 1);
    }
    drop(conn);

    let mut server = Running::start(&db, "warn", &env);
    let count = || got.lock().unwrap().values().sum::<usize>();
    eventually(Duration::from_secs(30), "a third delivered", || {
        count() >= ALERTS / 3
    });
    server.stop(); // kill -9: mid-batch, nothing recorded for what is in flight
    let at_kill = count();
    assert!(at_kill < ALERTS, "the kill came too late to test anything");

    let _server = Running::start(&db, "warn", &env);
    // Every delivery recorded as delivered: those of the batch in flight at the kill,
    // received or not, are sent again once their lease runs out.
    let undelivered = || {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = pool.get().unwrap();
        diesel::sql_query("SELECT count(*) AS n FROM webhook_deliveries WHERE state <> 'delivered'")
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n
    };
    assert!(undelivered() > 0, "the kill left nothing in flight");
    eventually(Duration::from_secs(90), "every alert delivered", || {
        undelivered() == 0
    });
    let seen = got.lock().unwrap().clone();
    let repeated = seen.values().filter(|n| **n > 1).count();
    assert_eq!(seen.len(), ALERTS, "none lost");
    assert!(
        repeated <= portcullis::alerts::worker::BATCH as usize,
        "{repeated} repeated: more than one batch"
    );
    assert!(seen.values().all(|n| *n <= 2), "nothing sent three times");
    // The log says delivered for each, once.
    let (status, log) = _server.http(
        "GET",
        &format!("/api/v1/namespaces/default/webhooks/{webhook}/deliveries"),
        Some(&admin),
        None,
    );
    assert_eq!(status, 200, "{log}");
    assert!(!log.contains("\"pending\""), "{log}");
}
