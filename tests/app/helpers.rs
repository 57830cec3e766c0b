//! `TestApp`: the production app over a fresh database per test (an SQLite file in a
//! temp dir, or a fresh PostgreSQL schema when `TEST_DATABASE_URL` is set), a cookie
//! jar that behaves like a browser, fixture builders and HTML/JSON helpers.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::web;
use portcullis::access::{self, Pattern, Role};
use portcullis::app::{AppState, build_app};
use portcullis::auth;
use portcullis::config::{Config, DatabaseUrl};
use portcullis::db::{self, Db};
use portcullis::secrets::ServerSecret;
use rand::RngCore;
use scraper::{Html, Selector};
use tempfile::TempDir;

use crate::pg_schema::PgSchema;

/// Password of users made by fixtures.
pub const PASSWORD: &str = "correct horse battery staple";

type Call = dyn Fn(actix_http::Request) -> Pin<Box<dyn Future<Output = ServiceResponse<BoxBody>>>>;

/// A database for one test.
pub struct TestDb {
    /// URL to hand to the app or the CLI.
    pub url: DatabaseUrl,
    /// Keeps the SQLite directory alive.
    pub dir: TempDir,
    /// The PostgreSQL schema this test created (dropped with it); `None` on SQLite and
    /// for handles that share another test database.
    _schema: Option<PgSchema>,
}

impl TestDb {
    /// A fresh, empty database (not migrated).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("TEST_DATABASE_URL") {
            Ok(base) if !base.is_empty() => {
                let mut bytes = [0u8; 6];
                rand::rng().fill_bytes(&mut bytes);
                let schema = PgSchema::create(&base, &format!("t_{}", hex::encode(bytes)));
                Self {
                    url: DatabaseUrl::Postgres(schema.url()),
                    dir,
                    _schema: Some(schema),
                }
            }
            _ => Self {
                url: DatabaseUrl::Sqlite(dir.path().join("portcullis.db")),
                dir,
                _schema: None,
            },
        }
    }

    /// Another handle on the same database, with a directory of its own; dropping it
    /// leaves the database alone.
    pub fn shared(&self) -> Self {
        Self {
            url: self.url.clone(),
            dir: tempfile::tempdir().unwrap(),
            _schema: None,
        }
    }

    /// A fresh database when the backend under test is PostgreSQL (`None`, said on
    /// stderr, for SQLite: `why` the test needs a database server).
    pub fn postgres_only(why: &str) -> Option<Self> {
        let db = Self::new();
        if matches!(db.url, DatabaseUrl::Sqlite(_)) {
            eprintln!("PostgreSQL only ({why}): nothing to do on SQLite");
            return None;
        }
        Some(db)
    }

    /// The URL as the CLI takes it.
    pub fn cli_url(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => u.clone(),
        }
    }
}

/// A response with its body read.
pub struct TestResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as text.
    pub body: String,
}

impl TestResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` header that sets cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The body parsed as HTML.
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// Texts of the elements matching `selector`.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_owned())
            .collect()
    }

    /// Text of the one element matching `selector`.
    pub fn text(&self, selector: &str) -> String {
        let all = self.texts(selector);
        assert_eq!(all.len(), 1, "expected one {selector:?} in:\n{}", self.body);
        all.into_iter().next().unwrap()
    }

    /// An attribute of the first element matching `selector`.
    pub fn attr(&self, selector: &str, attr: &str) -> Option<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_owned))
    }

    /// The `value` of the first element matching `selector`.
    pub fn value(&self, selector: &str) -> Option<String> {
        self.attr(selector, "value")
    }

    /// An attribute of every element matching `selector` (that has it).
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let sel = Selector::parse(selector).unwrap();
        self.html()
            .select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_owned))
            .collect()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Status and JSON body (`Null` when the body is not JSON).
    pub fn parts(&self) -> (StatusCode, serde_json::Value) {
        let json = serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null);
        (self.status, json)
    }

    /// The `Location` header (asserted present).
    #[track_caller]
    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
    }

    /// Asserts the status; returns the response for further checks.
    #[track_caller]
    pub fn assert_status(self, expected: StatusCode) -> Self {
        assert_eq!(self.status, expected, "{}", self.body);
        self
    }

    /// Asserts a `303 See Other` to exactly `location`.
    #[track_caller]
    pub fn assert_redirect(self, location: &str) -> Self {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.body);
        assert_eq!(self.location(), location);
        self
    }

    /// Elements matching `selector` in an htmx fragment of table rows.
    pub fn fragment_count(&self, selector: &str) -> usize {
        let frag = Html::parse_fragment(&format!("<table>{}</table>", self.body));
        frag.select(&Selector::parse(selector).unwrap()).count()
    }

    /// A string field of the JSON body.
    #[track_caller]
    pub fn json_str(&self, field: &str) -> String {
        self.json()[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field:?} in {}", self.body))
            .to_owned()
    }
}

/// The production app over a fresh database, with a browser-like cookie jar.
pub struct TestApp {
    /// Shared state (database, config).
    pub state: web::Data<AppState>,
    call: Rc<Call>,
    /// Cookies set by the server (name → value).
    pub cookies: BTreeMap<String, String>,
    /// The database; last, so that the app's pool is closed before a test's own
    /// PostgreSQL schema is dropped.
    pub db: TestDb,
}

impl TestApp {
    /// An app with the test configuration.
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// An app whose configuration `adjust` may change.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new();
        let mut config = Config::for_tests(db.dir.path(), db.url.clone()).unwrap();
        config.admin_password = None;
        adjust(&mut config);
        let secret = ServerSecret::load_or_create(
            config.secret_key.as_ref().map(|s| s.expose()),
            db.dir.path(),
        )
        .unwrap();
        let pool = portcullis::server::open_database(&config.database, config.db_pool_size)
            .unwrap()
            .with_readers(2);
        Self::mount(AppState::new(config, pool, &secret).unwrap(), db).await
    }

    /// An app whose sign-in throttling allows `burst` failures, refilled one per `refill`.
    pub async fn with_login_limits(burst: u32, refill: std::time::Duration) -> Self {
        Self::with_config(|c| {
            c.login_limits.burst = burst;
            c.login_limits.refill = refill;
        })
        .await
    }

    /// An app whose database cannot be reached (an SQLite file in a missing directory;
    /// the pool connects lazily, so every database access fails).
    pub async fn over_unreachable_database() -> Self {
        let db = TestDb::new();
        let unreachable = DatabaseUrl::Sqlite(db.dir.path().join("missing-dir/never/p.db"));
        let config = Config::for_tests(db.dir.path(), unreachable.clone()).unwrap();
        let secret = ServerSecret::load_or_create(
            config.secret_key.as_ref().map(|s| s.expose()),
            db.dir.path(),
        )
        .unwrap();
        let pool = Db::connect_lazily(&unreachable, 1);
        Self::mount(AppState::new(config, pool, &secret).unwrap(), db).await
    }

    /// A second instance over the same database and secret (multi-instance tests).
    pub async fn sibling(&self) -> Self {
        Self::mount_with_db(self, self.state.config.clone()).await
    }

    /// Another instance over the same database and secret, with `config`.
    pub async fn mount_with_db(other: &Self, config: Config) -> Self {
        let secret = ServerSecret::load_or_create(
            config.secret_key.as_ref().map(|s| s.expose()),
            other.db.dir.path(),
        )
        .unwrap();
        let pool = Db::connect(&config.database, 2).unwrap();
        Self::mount(
            AppState::new(config, pool, &secret).unwrap(),
            other.db.shared(),
        )
        .await
    }

    /// Another browser (empty cookie jar) on the same app.
    pub fn new_browser(&self) -> Self {
        Self {
            state: self.state.clone(),
            call: self.call.clone(),
            cookies: BTreeMap::new(),
            db: self.db.shared(),
        }
    }

    /// Mounts an app over an existing state.
    pub async fn mount(state: AppState, db: TestDb) -> Self {
        let state = web::Data::new(state);
        let service = Rc::new(test::init_service(build_app(state.clone())).await);
        let call: Rc<Call> = Rc::new(move |req| {
            let service = service.clone();
            Box::pin(async move {
                match service.call(req).await {
                    Ok(res) => res.map_into_boxed_body(),
                    Err(e) => panic!("service error escaped the app: {e}"),
                }
            })
        });
        Self {
            state,
            call,
            cookies: BTreeMap::new(),
            db,
        }
    }

    /// Runs synchronous code with a database connection.
    pub fn conn<T>(&self, f: impl FnOnce(&mut db::DbConnection) -> T) -> T {
        let mut conn = self.state.db.get().unwrap();
        f(&mut conn)
    }

    /// Creates the namespaces (if missing), directly in the database.
    pub fn ensure_namespaces(&self, names: &[&str]) {
        self.seed_environments(&names.iter().map(|n| (*n, &[][..])).collect::<Vec<_>>(), "");
    }

    /// Creates namespaces (if missing) and their environments, whose specification is
    /// `spec`, directly in the database.
    pub fn seed_environments(&self, layout: &[(&str, &[&str])], spec: &str) {
        self.conn(|c| {
            for (ns, envs) in layout {
                let id = portcullis::environments::ensure_namespace(c, ns, "").unwrap();
                for env in *envs {
                    portcullis::environments::create_environment(c, id, env, "", spec).unwrap();
                }
            }
        });
    }

    /// The row id and the sealed secrets of connector `name`.
    pub fn sealed_connector(&self, name: &str) -> (i64, String) {
        use diesel::prelude::*;
        use portcullis::db::schema::connectors as t;
        self.conn(|c| {
            t::table
                .filter(t::name.eq(name))
                .select((t::id, t::secrets))
                .first(c)
                .unwrap()
        })
    }

    /// The stored secrets of connector `name`, unsealed.
    pub fn connector_secrets(&self, name: &str) -> serde_json::Map<String, serde_json::Value> {
        let (id, sealed) = self.sealed_connector(name);
        portcullis::connectors::registry::open_secrets(&self.state.connector_sealer, id, &sealed)
            .unwrap()
    }

    /// Creates a user with [`PASSWORD`] and explicit bindings `(pattern, role)`.
    pub fn with_user(self, name: &str, bindings: &[(&str, &str)]) -> Self {
        self.create_user(name, bindings);
        self
    }

    /// Creates a user with [`PASSWORD`] and explicit bindings; returns its id.
    pub fn create_user(&self, name: &str, bindings: &[(&str, &str)]) -> i64 {
        let hash = auth::hash_new_password(PASSWORD).unwrap();
        self.conn(|c| {
            let id = auth::create_local_user(c, name, Some(&hash), false, "test").unwrap();
            for (pattern, role) in bindings {
                let pattern = Pattern::parse(pattern).unwrap();
                access::bind_user(c, id, &pattern, Role::parse(role).unwrap()).unwrap();
            }
            id
        })
    }

    /// Sends a request with the jar's cookies; stores cookies the server sets.
    pub async fn send(&mut self, req: TestRequest) -> TestResponse {
        let mut req = req;
        for (name, value) in &self.cookies {
            req = req.cookie(actix_web::cookie::Cookie::new(name.clone(), value.clone()));
        }
        let res = (self.call)(req.to_request()).await;
        for cookie in res.response().cookies() {
            let removed = cookie.value().is_empty()
                || cookie
                    .max_age()
                    .is_some_and(|a| a.is_zero() || a.is_negative());
            if removed {
                self.cookies.remove(cookie.name());
            } else {
                self.cookies
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
        read(res).await
    }

    /// The app's routing table, as actix-web prints it (`{:#?}` of its root
    /// `ResourceMap`): the only view of every mounted route it offers.
    pub async fn routing_table(&self) -> String {
        let res = (self.call)(TestRequest::get().uri("/healthz").to_request()).await;
        format!("{:#?}", res.request().resource_map())
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(TestRequest::get().uri(path)).await
    }

    /// `GET path` with a bearer credential.
    pub async fn get_bearer(&mut self, path: &str, token: &str) -> TestResponse {
        self.send(
            TestRequest::get()
                .uri(path)
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await
    }

    /// A JSON request, optionally with a bearer credential.
    pub async fn json(
        &mut self,
        method: Method,
        path: &str,
        body: serde_json::Value,
        bearer: Option<&str>,
    ) -> TestResponse {
        let mut req = TestRequest::default()
            .method(method)
            .uri(path)
            .set_json(body);
        if let Some(t) = bearer {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        self.send(req).await
    }

    /// A request with a bearer credential; a `Value::Null` body sends no body.
    pub async fn call_as(
        &mut self,
        token: &str,
        method: Method,
        path: &str,
        body: serde_json::Value,
    ) -> TestResponse {
        let mut req = TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")));
        if !body.is_null() {
            req = req.set_json(body);
        }
        self.send(req).await
    }

    /// `GET path` as `token`.
    pub async fn get_as(&mut self, token: &str, path: &str) -> TestResponse {
        self.get_bearer(path, token).await
    }

    /// `GET path` as `token`; asserts the 200 and returns the JSON body.
    pub async fn read_as(&mut self, token: &str, path: &str) -> serde_json::Value {
        self.get_bearer(path, token)
            .await
            .assert_status(StatusCode::OK)
            .json()
    }

    /// `POST path` with a JSON body as `token`.
    pub async fn post_as(
        &mut self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> TestResponse {
        self.call_as(token, Method::POST, path, body).await
    }

    /// `POST path` with a JSON body as `token`, which must create something (201): its
    /// JSON.
    pub async fn create_as(
        &mut self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        self.post_as(token, path, body)
            .await
            .assert_status(StatusCode::CREATED)
            .json()
    }

    /// `PATCH path` with a JSON body as `token`.
    pub async fn patch_as(
        &mut self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> TestResponse {
        self.call_as(token, Method::PATCH, path, body).await
    }

    /// `PUT path` with a JSON body as `token`.
    pub async fn put_as(
        &mut self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> TestResponse {
        self.call_as(token, Method::PUT, path, body).await
    }

    /// `DELETE path` as `token`.
    pub async fn delete_as(&mut self, token: &str, path: &str) -> TestResponse {
        self.call_as(token, Method::DELETE, path, serde_json::Value::Null)
            .await
    }

    /// Sends each `(method, path, body, expected status)` as `token` (see [`get`]) (a `Null` body sends
    /// none) and asserts the status; `who` names the caller in failures.
    pub async fn assert_statuses(
        &mut self,
        who: &str,
        token: &str,
        steps: &[(Method, &str, serde_json::Value, u16)],
    ) {
        for (method, path, body, expected) in steps {
            let res = self
                .call_as(token, method.clone(), path, body.clone())
                .await;
            assert_eq!(
                res.status.as_u16(),
                *expected,
                "{method} {path} as {who}: {}",
                res.body
            );
        }
    }

    /// The status `GET /api/v1/whoami` answers to `credential`.
    pub async fn whoami_status(&mut self, credential: &str) -> StatusCode {
        self.get_bearer("/api/v1/whoami", credential).await.status
    }

    /// Asserts the status `GET /api/v1/whoami` answers to each of `credentials`.
    pub async fn assert_whoami(&mut self, credentials: &[&str], expected: StatusCode) {
        for (i, credential) in credentials.iter().enumerate() {
            let status = self.whoami_status(credential).await;
            assert_eq!(status, expected, "credential #{i}");
        }
    }

    /// `GET path` as htmx sends it (`HX-Request: true`).
    pub async fn htmx_get(&mut self, path: &str) -> TestResponse {
        self.send(
            TestRequest::get()
                .uri(path)
                .insert_header(("HX-Request", "true")),
        )
        .await
    }

    /// The CSRF token of the current session (creating a session if needed).
    pub async fn csrf_token(&mut self) -> String {
        let page = self.get("/login").await;
        if let Some(t) = page.attr("input[name=csrf_token]", "value") {
            return t;
        }
        // Signed in: /login redirects; take the token from the overview's body.
        let page = self.get("/").await;
        let headers = page
            .attr("body", "hx-headers")
            .expect("hx-headers on <body>");
        let v: serde_json::Value = serde_json::from_str(&headers).unwrap();
        v["X-CSRF-Token"].as_str().unwrap().to_owned()
    }

    /// A form POST with the session's CSRF token added.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.send(TestRequest::post().uri(path).set_form(all)).await
    }

    /// [`Self::post_form`] as htmx sends it (`HX-Request: true`).
    pub async fn htmx_post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        let req = TestRequest::post().uri(path).set_form(all);
        self.send(req.insert_header(("HX-Request", "true"))).await
    }

    /// Posts the sign-in form (with `return_to` when given); returns the answer.
    pub async fn post_login(
        &mut self,
        name: &str,
        password: &str,
        return_to: Option<&str>,
    ) -> TestResponse {
        let mut fields = vec![("username", name), ("password", password)];
        if let Some(target) = return_to {
            fields.push(("return_to", target));
        }
        self.post_form("/login", &fields).await
    }

    /// `POST /api/v1/login` with `body` and no credential.
    pub async fn api_login(&mut self, body: serde_json::Value) -> TestResponse {
        self.json(Method::POST, "/api/v1/login", body, None).await
    }

    /// Signs in through the HTML form; asserts success.
    pub async fn login(&mut self, name: &str, password: &str) {
        let res = self.post_login(name, password, Some("/")).await;
        assert_eq!(
            res.status,
            StatusCode::SEE_OTHER,
            "login failed: {}",
            res.body
        );
        assert_eq!(res.location(), "/", "login went elsewhere");
    }

    /// Signs out through the form; asserts the redirect to the sign-in page and that the
    /// session is over.
    pub async fn logout(&mut self) {
        self.post_form("/logout", &[])
            .await
            .assert_redirect("/login");
        self.assert_signed_out().await;
    }

    /// Signs out, then in as `name` (with [`PASSWORD`]).
    pub async fn switch_to(&mut self, name: &str) {
        self.logout().await;
        self.login(name, PASSWORD).await;
    }

    /// Asserts that this browser is anonymous: the overview sends it to sign in.
    pub async fn assert_signed_out(&mut self) {
        self.get("/").await.assert_redirect("/login?return_to=%2F");
    }

    /// Exchanges a password for an access token through the API.
    pub async fn access_token(&mut self, name: &str, password: &str) -> String {
        self.api_login(serde_json::json!({"username": name, "password": password}))
            .await
            .assert_status(StatusCode::OK)
            .json_str("access_token")
    }
}

/// A created key.
pub struct Key {
    /// The plaintext.
    pub plaintext: String,
}

impl TestApp {
    /// Signs in `root` (`*/*: admin`, created if missing) and returns an access token.
    pub async fn admin_token(&mut self) -> String {
        let exists = self.conn(|c| auth::find_user_by_name(c, "root").unwrap().is_some());
        if !exists {
            self.create_user("root", &[("*/*", "admin")]);
        }
        self.access_token("root", PASSWORD).await
    }

    /// A fresh app configured by `adjust`, with `root`'s token and account `ns/name`
    /// (the namespace made if missing).
    pub async fn with_account(
        adjust: impl FnOnce(&mut Config),
        ns: &str,
        name: &str,
    ) -> (Self, String) {
        let mut app = Self::with_config(adjust).await;
        app.ensure_namespaces(&[ns]);
        let root = app.admin_token().await;
        app.create_account(&root, ns, name).await;
        (app, root)
    }

    /// Creates account `ns/name` through the API as `token` (201 asserted).
    pub async fn create_account(&mut self, token: &str, ns: &str, name: &str) {
        self.create_as(
            token,
            "/api/v1/service-accounts",
            serde_json::json!({"name": name, "namespace": ns}),
        )
        .await;
    }

    /// A fresh app with `root`'s token and key `key` of account `account` in the default
    /// namespace.
    pub async fn with_key(account: &str, key: &str) -> (Self, String, Key) {
        let mut app = Self::new().await;
        let root = app.admin_token().await;
        let key = app.create_key(&root, "default", account, key).await;
        (app, root, key)
    }

    /// Creates account `account` in `namespace` and a key `key` through the API as
    /// `token`; returns the key.
    pub async fn create_key(
        &mut self,
        token: &str,
        namespace: &str,
        account: &str,
        key: &str,
    ) -> Key {
        let res = self
            .post_as(
                token,
                "/api/v1/service-accounts",
                serde_json::json!({"name": account, "namespace": namespace}),
            )
            .await;
        assert!(
            res.status == StatusCode::CREATED || res.status == StatusCode::CONFLICT,
            "{}",
            res.body
        );
        let res = self
            .post_as(
                token,
                &format!("/api/v1/service-accounts/{account}/api-keys"),
                serde_json::json!({"name": key}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        Key {
            plaintext: res.json()["key"].as_str().unwrap().to_owned(),
        }
    }

    /// Exchanges an API key for an access token through the API.
    pub async fn key_token(&mut self, key: &str) -> String {
        self.api_login(serde_json::json!({ "api_key": key }))
            .await
            .assert_status(StatusCode::OK)
            .json_str("access_token")
    }

    /// Writes the coalesced key-usage updates now (the server does it every 5 s).
    pub async fn flush_usage(&self) {
        portcullis::server::flush_key_usage(&self.state).await;
    }
}

impl TestApp {
    /// Sends a request without the cookie jar, as a future that does not borrow the
    /// app (for concurrent requests).
    pub fn send_detached(&self, req: TestRequest) -> impl Future<Output = TestResponse> + use<> {
        let call = self.call.clone();
        async move { read(call(req.to_request()).await).await }
    }
}

/// A response with its body read.
async fn read(res: ServiceResponse<BoxBody>) -> TestResponse {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The `items` of a JSON list answer.
#[track_caller]
pub fn items(body: &serde_json::Value) -> &[serde_json::Value] {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {body}"))
}

/// `field` of each of the `items` of a JSON list answer.
#[track_caller]
pub fn item_strings(body: &serde_json::Value, field: &str) -> Vec<String> {
    items(body)
        .iter()
        .map(|i| {
            i[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in {i}"))
                .to_owned()
        })
        .collect()
}

/// The element of the JSON array `list` whose `key` is `value`.
#[track_caller]
pub fn find_by<'a>(list: &'a serde_json::Value, key: &str, value: &str) -> &'a serde_json::Value {
    list.as_array()
        .and_then(|l| l.iter().find(|x| x[key] == value))
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

/// A body-less `GET path` step of [`TestApp::assert_statuses`] expecting `status`.
pub fn get(path: &str, status: u16) -> (Method, &str, serde_json::Value, u16) {
    (Method::GET, path, serde_json::Value::Null, status)
}

/// An environment variable that `tests/run.sh` sets when it starts the emulators
/// (asserted set, so a run without them fails instead of skipping).
pub fn emulator_env(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("{name} is required: run tests/run.sh, which starts the emulators")
        })
}
