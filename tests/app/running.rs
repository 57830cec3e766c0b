//! The real binary serving on a free port of 127.0.0.1, with a tiny HTTP/1.1 client:
//! for tests of what only the process as a whole shows (its logs, its command line).

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TestDb;
pub use crate::raw_http::try_request;

/// The admin password the servers of these tests start with.
pub const ADMIN_PASSWORD: &str = "admin-password-for-binary-tests";

/// A running `portcullis serve`; killed when dropped.
pub struct Running {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Where its stderr (the log) goes.
    pub log_path: PathBuf,
    child: Child,
}

impl Running {
    /// Starts the binary on `db` with logging at `log` and the extra `env`, and waits
    /// until it accepts connections.
    pub fn start(db: &TestDb, log: &str, env: &[(&str, &str)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log_path = db.dir.path().join(format!("server-{port}.log"));
        let log_file = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .env_clear()
            .env("PORTCULLIS_DATA_DIR", db.dir.path())
            .env("PORTCULLIS_DATABASE_URL", db.cli_url())
            .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PORTCULLIS_LOG", log)
            .envs(env.iter().copied())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        let mut running = Self {
            port,
            log_path,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let alive = running.is_running();
            let log = || std::fs::read_to_string(&running.log_path).unwrap_or_default();
            assert!(alive, "the server exited: {}", log());
            assert!(Instant::now() < deadline, "server did not start: {}", log());
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One JSON call; `(status, body)`.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        try_request(self.port, method, path, bearer, body)
            .unwrap_or_else(|| panic!("no answer to {method} {path}"))
    }

    /// A new API key `main` of service account `account`, made by `admin`.
    pub fn api_key(&self, admin: &str, account: &str) -> String {
        let (status, body) = self.http(
            "POST",
            &format!("/api/v1/service-accounts/{account}/api-keys"),
            Some(admin),
            Some(r#"{"name":"main"}"#),
        );
        assert_eq!(status, 201, "{body}");
        field(&body, "key")
    }

    /// An access token of the admin.
    pub fn admin_token(&self) -> String {
        let login = format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
        let (status, body) = self.http("POST", "/api/v1/login", None, Some(&login));
        assert_eq!(status, 200, "{body}");
        field(&body, "access_token")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the server (its log is complete afterwards).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls until `check` holds (or panics after `within`, naming `what`): how long it
/// took.
pub fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// A string field of a JSON body.
pub fn field(body: &str, name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing: {body}"))
        .to_owned()
}

/// Runs `command` with `stdin` written to its standard input: its output (standard
/// output and error captured).
pub fn run_with_stdin(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}
