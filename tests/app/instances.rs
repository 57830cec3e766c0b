//! Several instances on one PostgreSQL (issue 13, section 2): started together they
//! migrate once; a session, a token and a key work on any of them; a revocation on one
//! is honoured by the others within the cache bound (`PORTCULLIS_KEY_CACHE_SECONDS`,
//! 2 s); and when one is killed with SIGKILL under load, clients of the others see no
//! error and nothing acknowledged is lost.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::TestDb;
use crate::running::{ADMIN_PASSWORD, Running, eventually, field, try_request};

/// A raw HTTP/1.1 exchange with the server on `port`: `(status, Set-Cookie values,
/// body)`.
fn exchange(port: u16, request: &str) -> (u16, Vec<String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let cookies = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .map(|c| c.split(';').next().unwrap_or_default().to_owned())
        .collect();
    (status, cookies, body.to_owned())
}

/// Signs the admin in through the form of the instance on `port`: the session cookie.
fn sign_in(port: u16) -> String {
    let get = "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let (_, cookies, page) = exchange(port, get);
    let nonce = cookies
        .iter()
        .find(|c| c.starts_with("portcullis_form="))
        .unwrap()
        .clone();
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap();
    let form = format!(
        "username=admin&password={}&csrf_token={}",
        url::form_urlencoded::byte_serialize(ADMIN_PASSWORD.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let post = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: {nonce}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let (status, cookies, _) = exchange(port, &post);
    assert_eq!(status, 303);
    cookies
        .into_iter()
        .find(|c| c.starts_with("portcullis="))
        .unwrap()
}

/// Whether the session cookie shows the overview on the instance on `port`.
fn signed_in_at(port: u16, session: &str) -> bool {
    let get = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: {session}\r\n\r\n"
    );
    let (status, _, body) = exchange(port, &get);
    status == 200 && body.contains("id=\"whoami\"")
}

/// The status of `method path` as `admin` on `server`.
fn status_of(server: &Running, method: &str, path: &str, admin: &str) -> u16 {
    server.http(method, path, Some(admin), None).0
}

/// `GET /api/v1/whoami` with `credential` on `port`.
fn whoami(port: u16, credential: &str) -> u16 {
    try_request(port, "GET", "/api/v1/whoami", Some(credential), None).map_or(0, |(s, _)| s)
}

#[test]
#[ignore = "three instances of the real server on one PostgreSQL: run tests/run.sh"]
fn three_instances_share_one_postgresql() {
    let Some(db) = TestDb::postgres_only("several instances need a database server") else {
        return;
    };
    // Started together on an empty schema: they migrate once, and all of them serve.
    let db = Arc::new(db);
    let starting: Vec<_> = (0..3)
        .map(|_| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || Running::start(&db, "warn", &[]))
        })
        .collect();
    let mut servers: Vec<Running> = starting.into_iter().map(|t| t.join().unwrap()).collect();
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    for s in &servers {
        let log = std::fs::read_to_string(&s.log_path).unwrap_or_default();
        assert!(!log.contains("migration failed"), "{log}");
        let (status, _) = s.http("GET", "/readyz", None, None);
        assert_eq!(status, 200);
    }
    // A token, a key and a session made on one instance work on every other.
    let admin = servers[0].admin_token();
    let account = Some(r#"{"name":"shared"}"#);
    let (status, _) = servers[1].http("POST", "/api/v1/service-accounts", Some(&admin), account);
    assert_eq!(status, 201);
    let key = servers[1].api_key(&admin, "shared");
    let session = sign_in(ports[2]);
    for port in &ports {
        assert_eq!(whoami(*port, &admin), 200);
        assert_eq!(whoami(*port, &key), 200);
        assert!(signed_in_at(*port, &session), "the session on {port}");
    }
    // Revoked on one instance, refused by the others within the cache bound.
    let (status, body) = servers[0].http(
        "POST",
        "/api/v1/login",
        None,
        Some(&format!(r#"{{"api_key":"{key}"}}"#)),
    );
    assert_eq!(status, 200, "{body}");
    let token = field(&body, "access_token");
    // `pct_` and the 12-character public id.
    let id = token[4..16].to_owned();
    assert_eq!(whoami(ports[1], &token), 200);
    let revoke = format!("/api/v1/tokens/{id}");
    assert_eq!(status_of(&servers[0], "DELETE", &revoke, &admin), 204);
    eventually(
        Duration::from_secs(5),
        "the revoked token on the other instances",
        || whoami(ports[1], &token) == 401 && whoami(ports[2], &token) == 401,
    );
    let off = r#"{"active":false}"#;
    let (status, _) = servers[1].http(
        "PATCH",
        "/api/v1/service-accounts/shared/api-keys/main",
        Some(&admin),
        Some(off),
    );
    assert_eq!(status, 200);
    eventually(
        Duration::from_secs(5),
        "the deactivated key on the other instances",
        || whoami(ports[0], &key) == 401 && whoami(ports[2], &key) == 401,
    );
    // Under load, one instance is killed: the others' clients see no error.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = [ports[1], ports[2]]
        .into_iter()
        .enumerate()
        .map(|(w, port)| {
            let (acked, errors, stop, admin) = (
                Arc::clone(&acked),
                Arc::clone(&errors),
                Arc::clone(&stop),
                admin.clone(),
            );
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    let name = format!("w{w}-{i}");
                    let body = format!(r#"{{"name":"{name}"}}"#);
                    match try_request(
                        port,
                        "POST",
                        "/api/v1/service-accounts",
                        Some(&admin),
                        Some(&body),
                    ) {
                        Some((201, _)) => acked.lock().unwrap().push(name),
                        other => errors
                            .lock()
                            .unwrap()
                            .push(format!("{port} {name}: {other:?}")),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    servers[0].stop();
    std::thread::sleep(Duration::from_millis(700));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(*errors.lock().unwrap(), Vec::<String>::new());
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 10, "little load: {}", acked.len());
    for name in &acked {
        let account = format!("/api/v1/service-accounts/{name}");
        let status = status_of(&servers[2], "GET", &account, &admin);
        assert_eq!(status, 200, "{name} was acknowledged, then lost");
    }
    servers.clear();
}
