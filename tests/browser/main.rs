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

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

#[path = "../app/pg_schema.rs"]
mod pg_schema;
#[path = "../app/provider.rs"]
mod provider;
#[path = "../app/raw_http.rs"]
mod raw_http;

use pg_schema::PgSchema;

mod hygiene;
mod team;

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

/// An HTTP GET returning status and body, optionally with a bearer credential.
fn http_get(port: u16, path: &str, bearer: Option<&str>) -> Option<(u16, String)> {
    raw_http::try_request(port, "GET", path, bearer, None)
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

    /// The element matching `css`, once it shows up.
    async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never showed up: {e}"))
    }

    /// The element matching `css`, now.
    async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// The text of the element matching `css`, now.
    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks `css` and waits until the page it was on is replaced (a form posted and
    /// the page after its redirect): what the next step finds is on the new page,
    /// never on the old one in its last moments.
    async fn click_and_load(&self, css: &str) {
        let old = self.find("html").await;
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "{css} led to no new page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    /// Chooses `value` in the select matching `css`, once it shows up.
    async fn choose(&self, css: &str, value: &str) {
        self.wait_for(css)
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// What `js` returns in the page.
    async fn script(&self, js: &str) -> serde_json::Value {
        self.client.execute(js, vec![]).await.unwrap()
    }

    /// The path of the current page.
    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn screenshot(&self, name: &str) {
        save_screenshot(&self.client.screenshot().await.unwrap(), name);
    }

    async fn sign_in(&self, user: &str, password: &str) {
        self.goto("/").await;
        self.wait_for("#login-form").await;
        self.type_into("#login-form input[name=username]", user)
            .await;
        self.type_into("#login-form input[name=password]", password)
            .await;
        self.click("#login-form button[type=submit]").await;
    }

    /// A browser signed in as the demo's admin, at `path`.
    async fn signed_in_admin_at(path: &str) -> Self {
        let b = Self::start().await;
        b.sign_in("admin", ADMIN_PASSWORD).await;
        b.wait_for("#whoami").await;
        b.goto(path).await;
        b
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
    assert_eq!(b.wait_for("#whoami").await.text().await.unwrap(), "admin");
    assert_eq!(b.path().await, "/");
    // The demo data shows; the admin sees every environment.
    assert_eq!(b.text("#card-environments .count").await, "12");
    // htmx and the stylesheet load under the strict CSP.
    let htmx = b.script("return typeof window.htmx").await;
    assert_eq!(htmx, json!("object"));
    let styled = b
        .script("return getComputedStyle(document.body).fontFamily")
        .await;
    assert_ne!(styled, json!("\"Times New Roman\""));
    b.screenshot("overview.png").await;
    // Sign out from the user menu.
    b.click("#user-menu summary").await;
    b.click("#sign-out").await;
    b.wait_for("#login-form").await;
    b.goto("/").await;
    assert_eq!(b.path().await, "/login");
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn a_wrong_password_shows_the_form_again_with_one_message() {
    let b = Browser::start().await;
    b.sign_in("admin", "not the password").await;
    let err = b.wait_for("#login-error").await;
    assert_eq!(err.text().await.unwrap(), "Invalid user name or password.");
    let name = b.find("input[name=username]").await;
    assert_eq!(name.prop("value").await.unwrap().as_deref(), Some("admin"));
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn a_new_key_is_copied_from_the_reveal_page_used_and_never_shown_again() {
    let b = Browser::signed_in_admin_at("/service-accounts").await;
    b.click("#new-account summary").await;
    b.type_into("#new-account-form input[name=name]", "browser-ci")
        .await;
    let description = "#new-account-form input[name=description]";
    b.type_into(description, "made in Chromium").await;
    b.click("#new-account-form button[type=submit]").await;
    let key = b.wait_for("#api-key").await.text().await.unwrap();
    assert!(key.starts_with("pck_"), "{key}");
    assert!(b.path().await.starts_with("/reveal/"));
    b.screenshot("reveal.png").await;
    let copy = b.find("#copy-key").await;
    copy.click().await.unwrap();
    // The clipboard answers asynchronously: the label changes once it has.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut label = copy.text().await.unwrap();
    while label == "Copy" && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        label = copy.text().await.unwrap();
    }
    assert!(label == "Copied" || label == "Press Ctrl+C", "{label}");
    // The copied key works against the API.
    let (status, body) = http_get(b.port, "/api/v1/whoami", Some(&key)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("browser-ci"));
    // A reload shows "already revealed", never the key.
    b.client.refresh().await.unwrap();
    b.wait_for("#revealed").await;
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(&key));
    assert!(b.client.find(Locator::Css("#api-key")).await.is_err());
    // The account page lists the key by its fragment.
    b.goto("/service-accounts/browser-ci").await;
    let fragment = b.text(".key-row code").await;
    assert!(fragment.starts_with(&key[..8]), "{fragment}");
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn live_search_filters_environments_as_you_type() {
    let b = Browser::signed_in_admin_at("/environments").await;
    assert_eq!(b.text("#total").await, "12");
    b.type_into("#env-filters input[name=search]", "spark")
        .await;
    // htmx swaps the rows in place (no navigation) once typing pauses.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // Read the rows in one script call: htmx may swap them between two WebDriver calls.
        let names = b
            .script("return [...document.querySelectorAll('#envs .env-name')].map(e => e.textContent.trim())")
            .await;
        if names == json!(["spark-3.5"]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rows never filtered: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b.path().await, "/environments");
    let total = b.text("#total").await;
    assert_eq!(total, "1", "the exact total follows the search");
    b.screenshot("environments.png").await;
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and the test OpenID provider: run tests/run.sh"]
async fn a_user_signs_in_with_the_openid_provider_and_sees_group_access() {
    let issuer = provider::issuer();
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/auth/oidc/callback");
    let (client_id, client_secret) = provider::register_client(&callback).await;
    let env = [
        ("PORTCULLIS_OIDC_ISSUER", issuer.clone()),
        ("PORTCULLIS_OIDC_CLIENT_ID", client_id),
        ("PORTCULLIS_OIDC_CLIENT_SECRET", client_secret),
        ("PORTCULLIS_OIDC_NAME", "Example SSO".to_owned()),
        ("PORTCULLIS_OIDC_ADMIN_GROUPS", "platform-admins".to_owned()),
        ("PORTCULLIS_OIDC_GROUP_NAMESPACES", "true".to_owned()),
    ];
    let b = Browser::start_on(port, &env).await;
    b.goto("/access").await;
    b.wait_for("a#oidc-login").await.click().await.unwrap();
    // The provider's own login page.
    let login = b.wait_for("input#login").await;
    let url = b.client.current_url().await.unwrap();
    assert!(url.as_str().starts_with(&issuer), "{url}");
    login.send_keys("alice").await.unwrap();
    b.type_into("input#password", "anything").await;
    b.click("button#submit").await;
    // Back on the page asked for, signed in, with the group bindings shown.
    b.wait_for("#my-groups").await;
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
    b.screenshot("oidc-access.png").await;
    b.goto("/").await;
    // The demo data has a local alice: the provider's alice gets a name of her own.
    assert_eq!(b.text("#whoami").await, "alice-2");
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium and chromedriver: run tests/run.sh"]
async fn an_aws_connector_is_registered_through_the_form_and_its_secrets_show_as_hidden() {
    const SECRET: &str = "browserSecretAccessKey0123456789";
    let b = Browser::signed_in_admin_at("/connectors/new").await;
    // Choosing a type swaps the fields (htmx): Docker's, then AWS's again.
    b.choose("#connector-type", "docker").await;
    b.wait_for("#cfg-username").await;
    b.choose("#connector-type", "aws").await;
    b.wait_for("#cfg-region").await;
    // A method with a session length adds that field.
    b.choose("#auth-method", "session-token").await;
    b.wait_for("input[name=expiration_seconds]").await;
    b.choose("#auth-method", "secret-key").await;
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
    // Only true secrets carry the badge, and it is a small inline badge, not a bar
    // across the form (the reveal page's `code.secret` style stays there).
    let badges = b
        .script("return [...document.querySelectorAll('.attribute .badge.secret')].map(e => [e.closest('.attribute').dataset.attribute, getComputedStyle(e).display, e.getBoundingClientRect().width])")
        .await;
    let badges = badges.as_array().unwrap();
    assert_eq!(badges.len(), 1, "{badges:?}");
    assert_eq!(badges[0][0], "aws_secret_access_key");
    assert_ne!(badges[0][1], "block", "{badges:?}");
    assert!(badges[0][2].as_f64().unwrap() < 120.0, "{badges:?}");
    b.type_into("input[name=name]", "s3-from-browser").await;
    b.choose("select[name=namespace]", "team-a").await;
    b.type_into("#cfg-region", "eu-central-1").await;
    b.type_into("#cfg-aws_access_key_id", "AKIABROWSERTEST01")
        .await;
    b.type_into("#cfg-aws_secret_access_key", SECRET).await;
    b.click("input[name=resource_type][value=s3-bucket]").await;
    b.type_into("input[name=resource_id]", "s3://browser-bucket")
        .await;
    b.type_into("textarea[name=labels]", "team=a").await;
    b.click("#save-connector").await;
    let title = b.wait_for("#connector-name").await;
    assert_eq!(title.text().await.unwrap(), "s3-from-browser");
    let hidden = "tr.config-row[data-attribute=aws_secret_access_key] td.value";
    assert_eq!(b.text(hidden).await, "[HIDDEN]");
    let source = b.client.source().await.unwrap();
    assert!(!source.contains(SECRET));
    let key_id = "tr.config-row[data-attribute=aws_access_key_id] td.value";
    assert_eq!(b.text(key_id).await, "AKIABROWSERTEST01");
    assert_eq!(b.text("#resource").await, "s3://browser-bucket");
    b.screenshot("connector.png").await;
    // The list shows it next to the demo's connectors.
    b.goto("/connectors").await;
    b.wait_for("tr.connector-row[data-connector=s3-from-browser]")
        .await;
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and the registry emulator: run tests/run.sh"]
async fn verify_on_the_connector_page_shows_the_discovered_registry_in_place() {
    let registry = std::env::var("TEST_REGISTRY_URL").expect("TEST_REGISTRY_URL: run tests/run.sh");
    let user = std::env::var("TEST_REGISTRY_USER").expect("TEST_REGISTRY_USER");
    let password = std::env::var("TEST_REGISTRY_PASSWORD").expect("TEST_REGISTRY_PASSWORD");
    let allow = [("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE", "true".to_owned())];
    let b = Browser::start_on(free_port(), &allow).await;
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b.wait_for("#whoami").await;
    b.goto("/connectors/new").await;
    b.choose("#connector-type", "docker").await;
    b.wait_for("#cfg-username").await;
    b.type_into("input[name=name]", "local-registry").await;
    b.type_into("#cfg-username", &user).await;
    b.type_into("#cfg-password", &password).await;
    b.type_into("#cfg-registry", &registry).await;
    b.click("#save-connector").await;
    b.wait_for("#connector-name").await;
    let row = "#resources tr.resource-row";
    assert!(b.text(row).await.contains("declared"));
    let page = b.path().await;
    let never = b.text("#verified-at").await;

    // Keyboard only: focus the button and press Enter; htmx swaps the section in.
    b.find("#verify-connector")
        .await
        .send_keys("\u{e007}")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // The row may be swapped out between finding and reading it: read again.
        let text = match b.client.find(Locator::Css(row)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains("verified") {
            assert!(text.contains(&registry), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "no verification result: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        b.path().await,
        page,
        "the result came in place, no navigation"
    );
    assert_ne!(b.text("#verified-at").await, never);
    // The change is confirmed by a toast (HX-Trigger), in the page's live region.
    let toast = b.wait_for("#toasts .toast").await;
    let said = toast.text().await.unwrap();
    assert!(said.starts_with("local-registry verified"), "{said}");
    let source = b.client.source().await.unwrap();
    assert!(
        !source.contains(&password),
        "the password is never sent back"
    );
    b.screenshot("connector-verified.png").await;
    // On a phone-sized window the page's content fits: nothing in <main> reaches past
    // the viewport (wide tables scroll in their own box; the top navigation's own
    // overflow is the next issue's).
    b.client.set_window_size(390, 844).await.unwrap();
    b.screenshot("connector-verified-390.png").await;
    let wide = b
        .script(
            "return [...document.querySelectorAll('main *')]\
             .filter(e => !e.parentElement.closest('.overflow-auto'))\
             .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)\
             .map(e => e.tagName + '#' + e.id).slice(0, 12).join(' ')",
        )
        .await;
    assert_eq!(wide.as_str(), Some(""), "wider than the viewport: {wide}");
    b.client.close().await.unwrap();
}
