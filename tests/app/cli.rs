//! The `portcullis` binary: configuration errors, `migrate`, `user create`, `serve`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TestDb;
use crate::running::{Running, run_with_stdin};

fn portcullis(db: &TestDb) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.env_clear()
        .env("PORTCULLIS_DATA_DIR", db.dir.path())
        .env("PORTCULLIS_DATABASE_URL", db.cli_url())
        .env("PORTCULLIS_LOG", "warn");
    cmd
}

#[test]
fn invalid_configuration_exits_non_zero_with_one_line() {
    let db = TestDb::new();
    for (var, value) in [
        ("PORTCULLIS_BIND", "not-an-address"),
        ("PORTCULLIS_DATABASE_URL", "mysql://nope"),
        ("PORTCULLIS_SECRET_KEY", "short"),
        ("PORTCULLIS_PUBLIC_URL", "ftp://x"),
        ("PORTCULLIS_DEFAULT_ROLE_BINDINGS", "default/*=owner"),
        ("PORTCULLIS_LOG", "=="),
    ] {
        let out = portcullis(&db)
            .env(var, value)
            .arg("serve")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}={value} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{var}: {stderr}");
        assert!(lines[0].starts_with("portcullis: "), "{stderr}");
    }
}

#[test]
fn help_lists_the_commands() {
    let db = TestDb::new();
    let out = portcullis(&db).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "migrate",
        "user",
        "secrets",
        "PORTCULLIS_BIND",
        "PORTCULLIS_DATABASE_URL",
        "PORTCULLIS_OIDC_ISSUER",
        "PORTCULLIS_OIDC_GROUPS_CLAIM",
        "PORTCULLIS_CONNECTOR_IMPLICIT_AUTH",
    ] {
        assert!(text.contains(word), "{word} missing from --help:\n{text}");
    }
}

#[test]
fn user_create_reads_the_password_from_stdin_only() {
    let db = TestDb::new();
    let out = run_with_stdin(
        portcullis(&db).args(["user", "create", "ci-admin", "--admin", "--password-stdin"]),
        b"a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("a long enough password"));
    // A second create of the same name fails cleanly.
    let again = portcullis(&db)
        .args(["user", "create", "ci-admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert!(!again.status.success());
    // Too short a password is refused.
    let short = run_with_stdin(
        portcullis(&db).args(["user", "create", "bob", "--password-stdin"]),
        b"short\n",
    );
    assert!(!short.status.success());
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let db = TestDb::new();
    let out = portcullis(&db).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_creates_the_admin_once_and_prints_where_to_sign_in() {
    let db = TestDb::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let start = |db: &TestDb| {
        portcullis(db)
            .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let read_until_listening = |child: &mut std::process::Child| {
        let stderr = child.stderr.take().unwrap();
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let done = line.contains("sign in at");
            lines.push(line);
            if done || Instant::now() > deadline {
                break;
            }
        }
        lines
    };
    let mut first = start(&db);
    let lines = read_until_listening(&mut first);
    first.kill().unwrap();
    first.wait().unwrap();
    let password_lines: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("one-time password"))
        .collect();
    assert_eq!(password_lines.len(), 1, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("http://127.0.0.1:{port}/login"))),
        "{lines:?}"
    );
    // Second start: the admin exists, no password is printed again.
    let mut second = start(&db);
    let lines = read_until_listening(&mut second);
    second.kill().unwrap();
    second.wait().unwrap();
    assert!(!lines.iter().any(|l| l.contains("password")), "{lines:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db.dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[actix_web::test]
async fn secrets_rekey_moves_connector_secrets_to_the_new_server_secret() {
    use portcullis::connectors::{SECRETS_KEY_LABEL, registry};
    use portcullis::crypto::Sealer;
    use portcullis::secrets::ServerSecret;

    const OLD: &str = "the-old-server-secret-of-at-least-32-chars";
    const NEW: &str = "the-new-server-secret-of-at-least-32-chars";
    let mut app = crate::helpers::TestApp::with_config(|c| c.secret_key = Some(OLD.into())).await;
    let root = app.admin_token().await;
    let res = app
        .post_as(&root, "/api/v1/connectors", serde_json::json!({"name": "hub", "connector_type": "docker", "auth_method": "password",
                               "configuration": {"username": "u", "password": "registry-password"}}))
        .await;
    assert_eq!(
        res.status,
        actix_web::http::StatusCode::CREATED,
        "{}",
        res.body
    );
    let sealer = |s: &str| {
        Sealer::new(
            &ServerSecret::from_text(s)
                .unwrap()
                .derive(SECRETS_KEY_LABEL),
        )
    };
    let stored = |app: &crate::helpers::TestApp| -> (i64, String) {
        app.conn(|c| {
            use diesel::prelude::*;
            use portcullis::db::schema::connectors as t;
            t::table.select((t::id, t::secrets)).first(c).unwrap()
        })
    };
    let rekey = |old: Option<&str>| {
        let mut cmd = portcullis(&app.db);
        cmd.env("PORTCULLIS_SECRET_KEY", NEW)
            .args(["secrets", "rekey"]);
        if let Some(o) = old {
            cmd.env("PORTCULLIS_OLD_SECRET_KEY", o);
        }
        cmd.output().unwrap()
    };
    // Without the old secret, or with the same one: refused, nothing changed.
    let out = rekey(None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTCULLIS_OLD_SECRET_KEY"));
    let out = rekey(Some(NEW));
    assert!(!out.status.success());
    let (id, sealed) = stored(&app);
    assert!(registry::open_secrets(&sealer(OLD), id, &sealed).is_ok());

    let out = rekey(Some(OLD));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Re-encrypted the secrets of 1 connector"),
        "{stderr}"
    );
    let (id, sealed) = stored(&app);
    assert_eq!(
        registry::open_secrets(&sealer(NEW), id, &sealed).unwrap()["password"],
        "registry-password"
    );
    assert!(registry::open_secrets(&sealer(OLD), id, &sealed).is_err());
    // Running it again changes nothing.
    let out = rekey(Some(OLD));
    assert!(String::from_utf8_lossy(&out.stderr).contains("of 0 connectors (1 already"));
}

/// The server starts itself again, once and in place, with glibc's mmap threshold fixed
/// (large freed blocks go back to the system); an operator's own setting wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_server_runs_with_a_fixed_malloc_mmap_threshold() {
    let db = TestDb::new();
    let tunables = |server: &Running| -> String {
        let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).unwrap();
        environ
            .split(|b| *b == 0)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| v.strip_prefix("GLIBC_TUNABLES="))
            .unwrap_or_default()
            .to_owned()
    };
    let server = Running::start(&db, "warn", &[]);
    assert_eq!(tunables(&server), "glibc.malloc.mmap_threshold=131072");
    drop(server);
    let own = "glibc.malloc.mmap_threshold=262144";
    let server = Running::start(&TestDb::new(), "warn", &[("GLIBC_TUNABLES", own)]);
    assert_eq!(tunables(&server), own);
}
