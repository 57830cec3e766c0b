//! Real-browser tests: the release-style binary served on 127.0.0.1, driven through
//! Debian's headless Chromium and chromedriver with fantoccini.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (or `CHROMIUM` and
//! `CHROMEDRIVER`), so every test is `#[ignore]`d: a plain `cargo test` lists them as
//! ignored. tests/run.sh installs the browser and runs them with `--include-ignored`,
//! where a missing browser fails them.

#![expect(
    clippy::unwrap_used,
    reason = "tests fail loudly on the first surprise"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

#[path = "../app/pg_schema.rs"]
mod pg_schema;

use pg_schema::PgSchema;

const ADMIN_PASSWORD: &str = "browser-test-admin-password";

/// Kills a child process when dropped, so failing tests leave nothing running.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A minimal HTTP GET returning the status code (no client crate needed).
fn http_status(port: u16, path: &str) -> Option<u16> {
    http_get(port, path, None).map(|(status, _)| status)
}

/// A minimal HTTP GET returning status and body, optionally with a bearer credential.
fn http_get(port: u16, path: &str, bearer: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// The browser binaries (asserted present).
fn browser_paths() -> (PathBuf, PathBuf) {
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let driver = PathBuf::from(
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    );
    assert!(
        chromium.exists() && driver.exists(),
        "{} or {} missing: run tests/run.sh, which installs them",
        chromium.display(),
        driver.display()
    );
    (chromium, driver)
}

/// A running Portcullis (the real binary, demo data) and a Chromium session.
struct Browser {
    client: Client,
    base: String,
    port: u16,
    _server: Guard,
    _driver: Guard,
    _dirs: Vec<tempfile::TempDir>,
    /// The server's PostgreSQL schema, dropped after the server has stopped.
    _schema: Option<PgSchema>,
}

impl Browser {
    async fn start() -> Self {
        Self::start_on(free_port(), &[]).await
    }

    /// The server on `port` with extra environment variables.
    async fn start_on(port: u16, env: &[(&str, String)]) -> Self {
        let (chromium, driver) = browser_paths();
        let data = tempfile::tempdir().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut server = Command::new(env!("CARGO_BIN_EXE_portcullis"));
        server.envs(env.iter().map(|(k, v)| (k, v)));
        server
            .args(["serve", "--demo"])
            .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_DATA_DIR", data.path())
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("PORTCULLIS_LOG", "warn")
            .env_remove("PORTCULLIS_DATABASE_URL")
            .stderr(Stdio::null());
        // Same binary over PostgreSQL when the suite runs on it.
        let schema = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(|url| PgSchema::create(&url, &format!("browser_{:016x}", rand::random::<u64>())));
        if let Some(schema) = &schema {
            server.env("PORTCULLIS_DATABASE_URL", schema.url());
        }
        let server = Guard(server.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_status(port, "/readyz") != Some(200) {
            assert!(Instant::now() < deadline, "portcullis did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        let driver_port = free_port();
        let driver = Guard(
            Command::new(driver)
                .arg(format!("--port={driver_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_for_port(driver_port);
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .unwrap();
        Self {
            client,
            base: format!("http://127.0.0.1:{port}"),
            port,
            _server: server,
            _driver: driver,
            _dirs: vec![data, profile],
            _schema: schema,
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn sign_in(&self, user: &str, password: &str) {
        self.goto("/").await;
        let form = self
            .client
            .wait()
            .for_element(Locator::Css("#login-form"))
            .await
            .unwrap();
        form.find(Locator::Css("input[name=username]"))
            .await
            .unwrap()
            .send_keys(user)
            .await
            .unwrap();
        form.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys(password)
            .await
            .unwrap();
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

fn save_screenshot(png: &[u8], name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(dir.join(name), png).unwrap();
    if std::env::var("PORTCULLIS_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join(name), png).unwrap();
    }
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn an_admin_signs_in_and_sees_the_overview() {
    let b = Browser::start().await;
    b.sign_in("admin", ADMIN_PASSWORD).await;
    let who = b
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#whoami"))
        .await
        .unwrap();
    assert_eq!(who.text().await.unwrap(), "admin");
    assert_eq!(b.client.current_url().await.unwrap().path(), "/");
    // The demo data shows; the admin sees every environment.
    let envs = b
        .client
        .find(Locator::Css("#card-environments .count"))
        .await
        .unwrap();
    assert_eq!(envs.text().await.unwrap(), "12");
    // htmx and the stylesheet load under the strict CSP.
    let htmx = b
        .client
        .execute("return typeof window.htmx", vec![])
        .await
        .unwrap();
    assert_eq!(htmx, json!("object"));
    let styled = b
        .client
        .execute("return getComputedStyle(document.body).fontFamily", vec![])
        .await
        .unwrap();
    assert_ne!(styled, json!("\"Times New Roman\""));
    save_screenshot(&b.client.screenshot().await.unwrap(), "overview.png");
    // Sign out from the user menu.
    b.client
        .find(Locator::Css("details.dropdown summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("#login-form"))
        .await
        .unwrap();
    b.goto("/").await;
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.path(), "/login");
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn a_wrong_password_shows_the_form_again_with_one_message() {
    let b = Browser::start().await;
    b.sign_in("admin", "not the password").await;
    let err = b
        .client
        .wait()
        .for_element(Locator::Css("#login-error"))
        .await
        .unwrap();
    assert_eq!(err.text().await.unwrap(), "Invalid user name or password.");
    let name = b
        .client
        .find(Locator::Css("input[name=username]"))
        .await
        .unwrap();
    assert_eq!(name.prop("value").await.unwrap().as_deref(), Some("admin"));
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn a_new_key_is_copied_from_the_reveal_page_used_and_never_shown_again() {
    let b = Browser::start().await;
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b.client
        .wait()
        .for_element(Locator::Css("#whoami"))
        .await
        .unwrap();
    b.goto("/service-accounts").await;
    b.client
        .find(Locator::Css("#new-account summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let form = b
        .client
        .find(Locator::Css("#new-account-form"))
        .await
        .unwrap();
    form.find(Locator::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("browser-ci")
        .await
        .unwrap();
    form.find(Locator::Css("input[name=description]"))
        .await
        .unwrap()
        .send_keys("made in Chromium")
        .await
        .unwrap();
    form.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = b
        .client
        .wait()
        .for_element(Locator::Css("#api-key"))
        .await
        .unwrap();
    let key = shown.text().await.unwrap();
    assert!(key.starts_with("pck_"), "{key}");
    let reveal_url = b.client.current_url().await.unwrap();
    assert!(reveal_url.path().starts_with("/reveal/"));
    save_screenshot(&b.client.screenshot().await.unwrap(), "reveal.png");
    let copy = b.client.find(Locator::Css("#copy-key")).await.unwrap();
    copy.click().await.unwrap();
    let label = copy.text().await.unwrap();
    assert!(label == "Copied" || label == "Press Ctrl+C", "{label}");
    // The copied key works against the API.
    let (status, body) = http_get(b.port, "/api/v1/whoami", Some(&key)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("browser-ci"));
    // A reload shows "already revealed", never the key.
    b.client.refresh().await.unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("#revealed"))
        .await
        .unwrap();
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(&key));
    assert!(b.client.find(Locator::Css("#api-key")).await.is_err());
    // The account page lists the key by its fragment.
    b.goto("/service-accounts/browser-ci").await;
    let fragment = b
        .client
        .find(Locator::Css(".key-row code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.starts_with(&key[..8]), "{fragment}");
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn live_search_filters_environments_as_you_type() {
    let b = Browser::start().await;
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b.client
        .wait()
        .for_element(Locator::Css("#whoami"))
        .await
        .unwrap();
    b.goto("/environments").await;
    let total = b
        .client
        .find(Locator::Css("#total"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(total, "12");
    let search = b
        .client
        .find(Locator::Css("#env-filters input[name=search]"))
        .await
        .unwrap();
    search.send_keys("spark").await.unwrap();
    // htmx swaps the rows in place (no navigation) once typing pauses.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // Read the rows in one script call: htmx may swap them between two WebDriver calls.
        let names = b
            .client
            .execute(
                "return [...document.querySelectorAll('#envs .env-name')].map(e => e.textContent.trim())",
                vec![],
            )
            .await
            .unwrap();
        if names == json!(["spark-3.5"]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rows never filtered: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        "/environments"
    );
    let total = b
        .client
        .find(Locator::Css("#total"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(total, "1", "the exact total follows the search");
    save_screenshot(&b.client.screenshot().await.unwrap(), "environments.png");
    b.client.close().await.unwrap();
}

/// The test OpenID provider started by tests/run.sh.
fn oidc_issuer() -> String {
    std::env::var("TEST_OIDC_ISSUER")
        .ok()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| {
            panic!("TEST_OIDC_ISSUER is required: run tests/run.sh, which starts the provider")
        })
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and the test OpenID provider: run tests/run.sh"]
async fn a_user_signs_in_with_the_openid_provider_and_sees_group_access() {
    let issuer = oidc_issuer();
    let port = free_port();
    let registered: serde_json::Value = reqwest::Client::new()
        .post(format!("{issuer}/reg"))
        .json(&json!({
            "redirect_uris": [format!("http://127.0.0.1:{port}/auth/oidc/callback")],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let field = |k: &str| registered[k].as_str().unwrap().to_owned();
    let env = [
        ("PORTCULLIS_OIDC_ISSUER", issuer.clone()),
        ("PORTCULLIS_OIDC_CLIENT_ID", field("client_id")),
        ("PORTCULLIS_OIDC_CLIENT_SECRET", field("client_secret")),
        ("PORTCULLIS_OIDC_NAME", "Example SSO".to_owned()),
        ("PORTCULLIS_OIDC_ADMIN_GROUPS", "platform-admins".to_owned()),
        ("PORTCULLIS_OIDC_GROUP_NAMESPACES", "true".to_owned()),
    ];
    let b = Browser::start_on(port, &env).await;
    b.goto("/access").await;
    b.client
        .wait()
        .for_element(Locator::Css("a#oidc-login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The provider's own login page.
    let login = b
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input#login"))
        .await
        .unwrap();
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&issuer)
    );
    login.send_keys("alice").await.unwrap();
    b.client
        .find(Locator::Css("input#password"))
        .await
        .unwrap()
        .send_keys("anything")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("button#submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the page asked for, signed in, with the group bindings shown.
    b.client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#my-groups"))
        .await
        .unwrap();
    let url = b.client.current_url().await.unwrap();
    assert_eq!(url.as_str(), format!("{}/access", b.base));
    let mut group_rows = Vec::new();
    for row in b
        .client
        .find_all(Locator::Css("#my-bindings tr.binding-row"))
        .await
        .unwrap()
    {
        let text = row.text().await.unwrap();
        if text.ends_with("group") {
            group_rows.push(text);
        }
    }
    assert!(
        group_rows.iter().any(|r| r.starts_with("*/* admin")),
        "{group_rows:?}"
    );
    assert!(
        group_rows
            .iter()
            .any(|r| r.starts_with("data-science/* developer")),
        "{group_rows:?}"
    );
    save_screenshot(&b.client.screenshot().await.unwrap(), "oidc-access.png");
    b.goto("/").await;
    let who = b.client.find(Locator::Css("#whoami")).await.unwrap();
    // The demo data has a local alice: the provider's alice gets a name of her own.
    assert_eq!(who.text().await.unwrap(), "alice-2");
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn an_aws_connector_is_registered_through_the_form_and_its_secrets_show_as_hidden() {
    const SECRET: &str = "browserSecretAccessKey0123456789";
    let b = Browser::start().await;
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b.client
        .wait()
        .for_element(Locator::Css("#whoami"))
        .await
        .unwrap();
    b.goto("/connectors/new").await;
    let wait = |css: &'static str| {
        let client = b.client.clone();
        async move {
            client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::Css(css))
                .await
                .unwrap()
        }
    };
    // Choosing a type swaps the fields (htmx): Docker's, then AWS's again.
    wait("#connector-type")
        .await
        .select_by_value("docker")
        .await
        .unwrap();
    wait("#cfg-username").await;
    wait("#connector-type")
        .await
        .select_by_value("aws")
        .await
        .unwrap();
    wait("#cfg-region").await;
    // A method with a session length adds that field.
    wait("#auth-method")
        .await
        .select_by_value("session-token")
        .await
        .unwrap();
    wait("input[name=expiration_seconds]").await;
    wait("#auth-method")
        .await
        .select_by_value("secret-key")
        .await
        .unwrap();
    // The swap is done when the session-length field is gone again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while b
        .client
        .find(Locator::Css("input[name=expiration_seconds]"))
        .await
        .is_ok()
    {
        assert!(Instant::now() < deadline, "the form did not swap back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fill = |css: &'static str, text: &'static str| {
        let client = b.client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .send_keys(text)
                .await
                .unwrap();
        }
    };
    fill("input[name=name]", "s3-from-browser").await;
    b.client
        .find(Locator::Css("select[name=namespace]"))
        .await
        .unwrap()
        .select_by_value("team-a")
        .await
        .unwrap();
    fill("#cfg-region", "eu-central-1").await;
    fill("#cfg-aws_access_key_id", "AKIABROWSERTEST01").await;
    fill("#cfg-aws_secret_access_key", SECRET).await;
    b.client
        .find(Locator::Css("input[name=resource_type][value=s3-bucket]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill("input[name=resource_id]", "s3://browser-bucket").await;
    fill("textarea[name=labels]", "team=a").await;
    b.client
        .find(Locator::Css("#save-connector"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let title = wait("#connector-name").await;
    assert_eq!(title.text().await.unwrap(), "s3-from-browser");
    let hidden = b
        .client
        .find(Locator::Css(
            "tr.config-row[data-attribute=aws_secret_access_key] td.value",
        ))
        .await
        .unwrap();
    assert_eq!(hidden.text().await.unwrap(), "[HIDDEN]");
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(SECRET) && !source.contains("AKIABROWSERTEST01"));
    assert_eq!(
        b.client
            .find(Locator::Css("#resource"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "s3://browser-bucket"
    );
    save_screenshot(&b.client.screenshot().await.unwrap(), "connector.png");
    // The list shows it next to the demo's connectors.
    b.goto("/connectors").await;
    wait("tr.connector-row[data-connector=s3-from-browser]").await;
    b.client.close().await.unwrap();
}
