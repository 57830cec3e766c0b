//! Signed webhooks: alerts queued durably, delivered to a local receiver (a real HTTP
//! server on 127.0.0.1) with a verifiable signature, retried with backoff while the
//! receiver is down, and logged per delivery.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use portcullis::alerts;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};

/// What the receiver got: `(headers, body)` per request.
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A receiver on `port` recording every POST; answers 200.
fn receiver(listener: TcpListener) -> (Received, actix_web::dev::ServerHandle) {
    let got: Received = Arc::default();
    let data = got.clone();
    let server = HttpServer::new(move || {
        let data = data.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: String| {
            let data = data.clone();
            async move {
                let headers = req
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                data.lock().unwrap().push((headers, body));
                HttpResponse::Ok().finish()
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (got, handle)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// An app whose webhooks may reach 127.0.0.1, retrying after 50 ms, with `root`,
/// namespace `ml` and account `ml/etl`.
async fn app() -> (TestApp, String) {
    let adjust = |c: &mut portcullis::config::Config| {
        c.webhooks.allow_private = true;
        c.webhooks.retry_base = Duration::from_millis(50);
    };
    TestApp::with_account(adjust, "ml", "etl").await
}

/// Runs the delivery worker until nothing is due now.
async fn deliver(app: &TestApp) -> usize {
    let mut total = 0;
    loop {
        let n = alerts::worker::deliver_due(&app.state.db, &app.state.alerts)
            .await
            .unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
}

#[actix_web::test]
async fn an_expiring_key_is_alerted_once_signed_and_logged() {
    let (mut app, root) = app().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (got, server) = receiver(listener);
    let created = app
        .create_as(
            &root,
            "/api/v1/namespaces/ml/webhooks",
            json!({"url": url, "events": ["api_key.expiring", "api_key.unused"], "within_days": 10}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_i64().unwrap();
    // The secret is shown once: the list never carries it.
    let list = app.read_as(&root, "/api/v1/namespaces/ml/webhooks").await;
    assert!(list["items"][0].get("secret").is_none(), "{list}");
    assert!(!list.to_string().contains(&secret));
    // At rest it is sealed: the database holds no trace of it (SECURITY.md promise 14).
    let stored: Vec<String> = app.conn(|c| {
        use diesel::prelude::*;
        portcullis::db::schema::webhooks::table
            .select(portcullis::db::schema::webhooks::secret)
            .load(c)
            .unwrap()
    });
    assert!(
        stored
            .iter()
            .all(|s| !s.contains("whsec_") && !s.contains(&secret[6..]))
    );

    let soon = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    for (name, expires) in [("soon", soon), ("later", later)] {
        app.create_as(
            &root,
            "/api/v1/namespaces/ml/service-accounts/etl/api-keys",
            json!({"name": name, "expires_at": expires}),
        )
        .await;
    }
    let now = portcullis::db::now_ms();
    let queued = app.conn(|c| portcullis::service_accounts::hygiene::scan(c, now).unwrap());
    assert_eq!(
        queued, 1,
        "only `soon` expires within 10 days; none is unused yet"
    );
    // The same condition is not alerted twice.
    let again = app.conn(|c| portcullis::service_accounts::hygiene::scan(c, now).unwrap());
    assert_eq!(again, 0);
    assert_eq!(deliver(&app).await, 1);

    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    assert_eq!(header(headers, "portcullis-event"), "api_key.expiring");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["namespace"], "ml");
    assert_eq!(payload["data"]["api_key"], "soon");
    assert_eq!(payload["data"]["service_account"], "etl");
    // The signature verifies with the secret, over "t.body".
    let signature = header(headers, "portcullis-signature");
    let t: i64 = signature
        .strip_prefix("t=")
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((t - now / 1000).abs() < 60);
    assert_eq!(
        signature,
        alerts::signature(secret.as_bytes(), t, body.as_bytes())
    );
    assert_ne!(
        signature,
        alerts::signature(b"whsec_wrong", t, body.as_bytes())
    );

    let log = app
        .read_as(
            &root,
            &format!("/api/v1/namespaces/ml/webhooks/{id}/deliveries"),
        )
        .await;
    let first = &log["items"][0];
    assert_eq!(first["state"], "delivered");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["last_status"], 200);
    assert_eq!(
        header(headers, "portcullis-delivery"),
        first["id"].to_string()
    );
    server.stop(true).await;
}

#[actix_web::test]
async fn a_receiver_that_is_down_is_retried_with_backoff_until_it_answers() {
    let (mut app, root) = app().await;
    // A port nobody listens on yet.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{addr}/hook");
    let created = app
        .create_as(
            &root,
            "/api/v1/namespaces/ml/webhooks",
            json!({"url": url, "events": ["policy.violation"]}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let queued = app.conn(|c| {
        alerts::enqueue(
            c,
            "ml",
            "policy.violation",
            "test:1",
            json!({"why": "test"}),
        )
        .unwrap()
    });
    assert_eq!(queued, 1);
    // Three failed attempts, each after a longer wait.
    for attempt in 1..=3 {
        tokio::time::sleep(Duration::from_millis(50 << (attempt - 1))).await;
        assert_eq!(deliver(&app).await, 1, "attempt {attempt}");
        assert_eq!(deliver(&app).await, 0, "not due again at once");
    }
    let log = app
        .read_as(
            &root,
            &format!("/api/v1/namespaces/ml/webhooks/{id}/deliveries"),
        )
        .await;
    let pending = &log["items"][0];
    assert_eq!(pending["state"], "pending");
    assert_eq!(pending["attempts"], 3);
    assert!(
        pending["last_error"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{pending}"
    );

    // The receiver comes up: the next attempt delivers, exactly once.
    let (got, server) = receiver(TcpListener::bind(addr).unwrap());
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(deliver(&app).await, 1);
    assert_eq!(got.lock().unwrap().len(), 1);
    let log = app
        .read_as(
            &root,
            &format!("/api/v1/namespaces/ml/webhooks/{id}/deliveries"),
        )
        .await;
    assert_eq!(log["items"][0]["state"], "delivered");
    assert_eq!(log["items"][0]["attempts"], 4);
    // Housekeeping drops what is done, never what is pending.
    let pending = app.conn(|c| {
        alerts::enqueue(
            c,
            "ml",
            "policy.violation",
            "test:2",
            json!({"why": "test"}),
        )
        .unwrap()
    });
    assert_eq!(pending, 1);
    let later = portcullis::db::now_ms() + 1;
    assert_eq!(app.conn(|c| alerts::purge_done(c, later).unwrap()), 1);
    let log = app
        .read_as(
            &root,
            &format!("/api/v1/namespaces/ml/webhooks/{id}/deliveries"),
        )
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    assert_eq!(log["items"][0]["state"], "pending");
    server.stop(true).await;
}

#[actix_web::test]
async fn webhook_urls_must_be_public_https_unless_allowed_and_only_admins_manage_them() {
    let mut strict = TestApp::new().await;
    strict.ensure_namespaces(&["ml"]);
    let root = strict.admin_token().await;
    for (url, why) in [
        ("http://example.com/hook", "https"),
        ("https://127.0.0.1/hook", "private"),
        ("https://localhost/hook", "private"),
        ("https://169.254.169.254/latest", "private"),
        ("https://user:pw@example.com/hook", "password"),
        ("not a url", "URL"),
    ] {
        let (status, body) = strict
            .post_as(
                &root,
                "/api/v1/namespaces/ml/webhooks",
                json!({"url": url, "events": ["api_key.leaked"]}),
            )
            .await
            .parts();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        let said = body["error"]["fields"]["url"].as_str().unwrap();
        assert!(said.contains(why), "{url}: {said}");
    }

    let (mut app, root) = app().await;
    let (status, body) = app
        .post_as(
            &root,
            "/api/v1/namespaces/ml/webhooks",
            json!({"url": "http://127.0.0.1:9/x", "events": ["api_key.eaten"], "within_days": 0}),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["events"].is_string()
            && body["error"]["fields"]["within_days"].is_string(),
        "{body}"
    );
    app.create_user("reader", &[("ml/*", "viewer")]);
    let reader = app.access_token("reader", PASSWORD).await;
    let refused = app
        .post_as(
            &reader,
            "/api/v1/namespaces/ml/webhooks",
            json!({"url": "http://127.0.0.1:9/x", "events": ["api_key.leaked"]}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_as(&reader, "/api/v1/namespaces/ml/webhooks")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let made = app
        .create_as(
            &root,
            "/api/v1/namespaces/ml/webhooks",
            json!({"url": "http://127.0.0.1:9/x", "events": ["api_key.leaked"]}),
        )
        .await;
    let path = format!("/api/v1/namespaces/ml/webhooks/{}", made["id"]);
    assert_eq!(
        app.delete_as(&reader, &path).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete_as(&root, &path).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete_as(&root, &path).await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_key_used_from_a_new_network_and_a_refused_network_are_alerted() {
    let (mut app, root) = app().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (got, server) = receiver(listener);
    app.create_as(
        &root,
        "/api/v1/namespaces/ml/webhooks",
        json!({"url": url, "events": ["api_key.new_network", "policy.violation"]}),
    )
    .await;
    let key = app
        .create_as(
            &root,
            "/api/v1/namespaces/ml/service-accounts/etl/api-keys",
            json!({"name": "k"}),
        )
        .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let whoami = |peer: &str| {
        actix_web::test::TestRequest::get()
            .uri("/api/v1/whoami")
            .peer_addr(peer.parse().unwrap())
            .insert_header(("Authorization", format!("Bearer {key}")))
    };
    for peer in ["10.1.1.5:1", "10.1.1.9:1", "10.2.0.1:1"] {
        assert_eq!(app.send(whoami(peer)).await.status, StatusCode::OK);
    }
    portcullis::server::flush_key_networks(&app.state).await;
    assert_eq!(
        deliver(&app).await,
        1,
        "10.1.1.0/24 was the first; 10.2.0.0/24 is new"
    );
    app.put_as(
        &root,
        "/api/v1/namespaces/ml/policy",
        json!({"allowed_networks": ["10.1.0.0/16"]}),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(
        app.send(whoami("10.2.0.1:1")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(deliver(&app).await, 1);
    let events: Vec<(String, Value)> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(h, b)| {
            (
                header(h, "portcullis-event").to_owned(),
                serde_json::from_str(b).unwrap(),
            )
        })
        .collect();
    assert_eq!(events[0].0, "api_key.new_network");
    assert_eq!(events[0].1["data"]["network"], "10.2.0.0/24");
    assert_eq!(events[1].0, "policy.violation");
    assert_eq!(events[1].1["data"]["network"], "10.2.0.0/24");
    server.stop(true).await;
}

#[actix_web::test]
async fn admins_add_webhooks_in_the_browser_see_the_secret_once_and_read_the_log() {
    let (mut app, _root) = app().await;
    app.create_user("lead", &[("ml/*", "admin")]);
    app.login("lead", PASSWORD).await;
    let page = app.get("/namespaces/ml").await;
    assert_eq!(page.fragment_count("#webhook-form"), 1);
    let bad = app
        .post_form(
            "/namespaces/ml/webhooks",
            &[("url", "http://127.0.0.1:9/x"), ("within_days", "7")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text("#events-error").contains("at least one"));
    assert_eq!(
        bad.value("#webhook-form input[name=url]").as_deref(),
        Some("http://127.0.0.1:9/x")
    );
    let made = app
        .post_form(
            "/namespaces/ml/webhooks",
            &[
                ("url", "http://127.0.0.1:9/x"),
                ("event", "api_key.leaked"),
                ("event", "policy.violation"),
                ("within_days", "7"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let reveal = made.location().to_owned();
    let shown = app.get(&reveal).await.assert_status(StatusCode::OK);
    assert!(shown.body.contains("whsec_"));
    assert_eq!(app.get(&reveal).await.status, StatusCode::GONE);
    let page = app.get("/namespaces/ml").await;
    let row = page.text(".webhook-row");
    assert!(row.contains("api_key.leaked, policy.violation"), "{row}");
    let link = page.attr(".webhook-row a", "href").unwrap();
    let log = app.get(&link).await.assert_status(StatusCode::OK);
    assert!(log.text("#no-deliveries").contains("Nothing sent yet"));
}

#[actix_web::test]
async fn unused_keys_and_expiring_connectors_are_alerted_by_the_scan() {
    let (mut app, root) = app().await;
    app.create_as(
        &root,
        "/api/v1/namespaces/ml/webhooks",
        json!({"url": "http://127.0.0.1:9/hook", "events": ["api_key.unused", "connector.expiring"], "within_days": 7}),
    )
    .await;
    app.create_as(
        &root,
        "/api/v1/namespaces/ml/service-accounts/etl/api-keys",
        json!({"name": "idle"}),
    )
    .await;
    app.create_as(
        &root,
        "/api/v1/namespaces/ml/service-accounts/etl/api-keys",
        json!({"name": "busy"}),
    )
    .await;
    let soon = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let connector = json!({"name": "registry", "namespace": "ml", "connector_type": "docker",
        "auth_method": "password", "configuration": {"username": "u", "password": "p"},
        "expires_at": soon});
    app.create_as(&root, "/api/v1/connectors", connector).await;
    // `idle` was made ten days ago and never used; `busy` too, but used yesterday.
    app.conn(|c| {
        use diesel::prelude::*;
        use portcullis::db::schema::api_keys;
        let day = 24 * 3600 * 1000;
        let now = portcullis::db::now_ms();
        diesel::update(api_keys::table)
            .set(api_keys::created_at.eq(now - 10 * day))
            .execute(c)
            .unwrap();
        diesel::update(api_keys::table.filter(api_keys::name.eq("busy")))
            .set(api_keys::last_used_at.eq(now - day))
            .execute(c)
            .unwrap();
    });
    let now = portcullis::db::now_ms();
    let keys = app.conn(|c| portcullis::service_accounts::hygiene::scan(c, now).unwrap());
    let connectors = app.conn(|c| portcullis::connectors::hygiene::scan(c, now).unwrap());
    assert_eq!((keys, connectors), (1, 1));
    // Once per condition.
    let again = app.conn(|c| {
        portcullis::service_accounts::hygiene::scan(c, now).unwrap()
            + portcullis::connectors::hygiene::scan(c, now).unwrap()
    });
    assert_eq!(again, 0);
    let hooks = app.read_as(&root, "/api/v1/namespaces/ml/webhooks").await;
    let id = &hooks["items"][0]["id"];
    let log = app
        .read_as(
            &root,
            &format!("/api/v1/namespaces/ml/webhooks/{id}/deliveries"),
        )
        .await;
    let mut events: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    events.sort_unstable();
    assert_eq!(events, ["api_key.unused", "connector.expiring"]);
}
