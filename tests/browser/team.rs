//! A team lead's day, and the admin who sets them up, in Chromium: every page visited
//! is checked with axe-core (no serious or critical violation), and the new pages are
//! photographed at 1280 and 390 px wide, where nothing may reach past the viewport.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;
use serde_json::json;

use super::{Browser, http_get};

/// axe-core's source (installed by tests/run.sh).
fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/node_modules/axe-core/axe.min.js"
        )
        .to_owned()
    });
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("axe-core missing at {path} ({e}): run tests/run.sh"))
}

impl Browser {
    /// Runs axe-core on the current page; fails on any serious or critical violation.
    pub(super) async fn assert_accessible(&self, page: &str) {
        let injected = self
            .client
            .execute(&format!("{}\nreturn typeof axe;", axe_source()), vec![])
            .await
            .unwrap();
        assert_eq!(injected, json!("object"));
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(\
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                     .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(found, json!([]), "axe-core on {page}");
    }

    /// Screenshots `name` at 1280 and 390 px wide; at 390 nothing in the page reaches
    /// past the viewport (wide tables scroll inside their own box).
    pub(super) async fn photograph(&self, name: &str) {
        self.client.set_window_size(1280, 900).await.unwrap();
        self.screenshot(&format!("{name}.png")).await;
        self.client.set_window_size(390, 844).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.screenshot(&format!("{name}-390.png")).await;
        let wide = self
            .script(
                "return [...document.querySelectorAll('body *')]\
                 .filter(e => !e.parentElement.closest('.overflow-auto'))\
                 .filter(e => e.offsetParent !== null)\
                 .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)\
                 .map(e => e.tagName + '#' + e.id + '.' + e.className + '[' + (e.name || '') + ']@' + Math.round(e.getBoundingClientRect().right)).slice(0, 12).join(' ')",
            )
            .await;
        assert_eq!(wide.as_str(), Some(""), "{name} at 390 px: {wide}");
        let sideways = self
            .script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            .await;
        let culprits = self
            .script(
                "return [...document.querySelectorAll('body *')]\
                 .filter(e => !e.parentElement.closest('.overflow-auto'))\
                 .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)\
                 .map(e => e.tagName + '#' + e.id + '.' + e.className + '@' + Math.round(e.getBoundingClientRect().right)).slice(0, 8).join(' ')",
            )
            .await;
        assert_eq!(
            sideways,
            json!(0),
            "{name} scrolls sideways at 390 px: {culprits}"
        );
        self.client.set_window_size(1280, 900).await.unwrap();
    }

    /// The one-time secret of the reveal page the browser is on.
    pub(super) async fn revealed(&self) -> String {
        self.wait_for("#api-key").await.text().await.unwrap()
    }

    /// Fills the fields of the form `form` (`(name, value)`: typed, or chosen in a
    /// select) and submits it.
    pub(super) async fn submit(&self, form: &str, fields: &[(&str, &str)]) {
        self.fill(form, fields).await;
        self.click(&format!("{form} button[type=submit]")).await;
    }

    /// As [`Self::submit`], for a form that leads to a new page: waits for it.
    pub(super) async fn submit_and_load(&self, form: &str, fields: &[(&str, &str)]) {
        self.fill(form, fields).await;
        self.click_and_load(&format!("{form} button[type=submit]"))
            .await;
    }

    /// Fills the fields of the form `form`: typed, or chosen in a select.
    pub(super) async fn fill(&self, form: &str, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            let field = self.find(&format!("{form} [name='{name}']")).await;
            if field.tag_name().await.unwrap() == "select" {
                field.select_by_value(value).await.unwrap();
            } else {
                field.send_keys(value).await.unwrap();
            }
        }
    }

    /// Resets the password of the user whose page is open (confirming the dialog):
    /// the new one-time password.
    async fn reset_password(&self) -> String {
        self.client
            .execute("window.confirm = () => true;", vec![])
            .await
            .unwrap();
        self.click("#reset-password").await;
        self.revealed().await
    }

    async fn sign_out(&self) {
        self.click("#user-menu summary").await;
        self.click("#sign-out").await;
        self.wait_for("#login-form").await;
    }
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and axe-core: run tests/run.sh"]
async fn a_team_lead_runs_their_namespace_from_the_browser() {
    // The admin: a new user (password shown once), their bindings, a group, a reset.
    let b = Browser::signed_in_admin_at("/users").await;
    b.assert_accessible("/users").await;
    b.click("#new-user summary").await;
    b.submit("#new-user-form", &[("name", "lead")]).await;
    let first = b.revealed().await;
    assert!(!first.is_empty());
    b.assert_accessible("the password reveal").await;
    b.goto("/users/lead").await;
    let bindings = b.wait_for("#bindings-form textarea").await;
    bindings.clear().await.unwrap();
    bindings.send_keys("ml-platform/*=admin").await.unwrap();
    b.click_and_load("#bindings-form button[type=submit]").await;
    b.wait_for("#groups-form").await;
    b.submit_and_load("#groups-form", &[("groups", "trainers")])
        .await;
    b.wait_for("#user-groups").await;
    assert!(b.text("#user-groups").await.contains("trainers"));
    b.assert_accessible("a user's page").await;
    b.photograph("user").await;
    // Reset: confirm the dialog, and the new password is the one that works.
    let password = b.reset_password().await;
    assert_ne!(password, first);
    b.sign_out().await;

    // The team lead signs in: keyboard first, the skip link leads to the content.
    b.sign_in("lead", &password).await;
    b.wait_for("#whoami").await;
    b.find("body")
        .await
        .send_keys(&Key::Tab.to_string())
        .await
        .unwrap();
    let focused = b.script("return document.activeElement.className").await;
    assert_eq!(focused, json!("skip-link"));

    // An account for training jobs, only in the namespace they administer.
    b.goto("/service-accounts").await;
    b.click("#new-account summary").await;
    let offered = b
        .script("return [...document.querySelectorAll('#new-account-form select[name=namespace] option')].map(o => o.value)")
        .await;
    assert_eq!(offered, json!(["lead", "ml-platform"]));
    b.click("#new-account-form input[name=create_key]").await;
    let account = [("name", "trainer"), ("namespace", "ml-platform")];
    b.submit("#new-account-form", &account).await;
    b.wait_for("#no-access").await;
    // Access: ml-platform/pytorch-* as developer, then what it can read.
    let binding = [("pattern", "ml-platform/pytorch-*"), ("role", "developer")];
    b.submit("#binding-form", &binding).await;
    b.wait_for("#account-bindings .binding-row").await;
    assert_eq!(b.text("#view-as-total").await, "1");
    assert!(
        b.text(".why-row")
            .await
            .contains("ml-platform/pytorch-cuda")
    );
    b.assert_accessible("an account's page").await;
    b.photograph("account-access").await;
    // A key for it: nothing to warn about now.
    b.goto("/service-accounts/trainer/api-keys/new").await;
    b.submit("#new-key-form", &[("name", "ci")]).await;
    let key = b.revealed().await;
    assert!(
        b.client
            .find(Locator::Css("#no-access-warning"))
            .await
            .is_err()
    );
    let (status, body) = http_get(b.port, "/api/v1/environments", Some(&key)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"total\":1"), "{body}");

    // Who has access to the namespace; what a member can read there.
    b.goto("/namespaces/ml-platform").await;
    let members = b.text("#members").await;
    assert!(members.contains("ml-platform/trainer"), "{members}");
    assert!(members.contains("lead"), "{members}");
    b.assert_accessible("a namespace's page").await;
    b.photograph("namespace-members").await;
    b.click(".member-row[data-name='ml-platform/trainer'] .view-as-link")
        .await;
    b.wait_for("#view-as-total").await;
    assert_eq!(b.text("#view-as-total").await, "1");

    // The namespace's audit trail, filtered by action (the filter lands in the URL).
    b.goto("/audit").await;
    b.choose("#audit-filters select[name=action]", "role_binding.update")
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let url = b.client.current_url().await.unwrap();
        let rows = b
            .script("return [...document.querySelectorAll('#events .event td:nth-child(4)')].map(e => e.textContent)")
            .await;
        if url.as_str().contains("action=role_binding.update")
            && rows == json!(["service_account:ml-platform/trainer"])
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{url}: {rows}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.assert_accessible("the audit page").await;
    b.photograph("audit").await;

    // A token narrower than anything the lead holds.
    b.goto("/access").await;
    b.submit("#mint-form", &[("pattern", "ml-platform/pytorch-*")])
        .await;
    let token = b.revealed().await;
    let (status, body) = http_get(b.port, "/api/v1/permissions", Some(&token)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"ml-platform/pytorch-*\":[\"viewer\"]"),
        "{body}"
    );
    b.goto("/access").await;
    b.assert_accessible("My access").await;
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and axe-core: run tests/run.sh"]
async fn a_viewer_reads_every_page_and_is_offered_no_change() {
    // The admin resets bob's password (bob: viewer of data-science in the demo).
    let b = Browser::signed_in_admin_at("/users/bob").await;
    let password = b.reset_password().await;
    b.sign_out().await;
    b.sign_in("bob", &password).await;
    b.wait_for("#whoami").await;
    for (path, name) in [
        ("/", "viewer-overview"),
        ("/environments", "viewer-environments"),
        ("/namespaces/data-science", "viewer-namespace"),
        ("/service-accounts", "viewer-accounts"),
        (
            "/namespaces/data-science/service-accounts/ci-pipeline",
            "viewer-account",
        ),
        ("/connectors", "viewer-connectors"),
        ("/audit", "viewer-audit"),
    ] {
        b.goto(path).await;
        b.wait_for("main").await;
        b.assert_accessible(path).await;
        // Nothing offered that the server would refuse: about data-science, which bob
        // only reads, no form changes anything; forms for creating things offer only
        // his own namespace.
        let changes = b
            .script(
                "return [...document.querySelectorAll('main form')].filter(f => f.method === 'post')\
                 .filter(f => !f.querySelector('select[name=namespace]') || \
                   [...f.querySelectorAll('select[name=namespace] option')].some(o => o.value === 'data-science'))\
                 .map(f => f.id || f.action)",
            )
            .await;
        assert_eq!(changes, json!([]), "{path} offers a viewer changes");
        b.photograph(name).await;
    }
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and axe-core: run tests/run.sh"]
async fn every_page_passes_axe_core() {
    let b = Browser::start().await;
    for path in ["/login", "/no-such-page"] {
        b.goto(path).await;
        b.assert_accessible(path).await;
    }
    b.sign_in("admin", super::ADMIN_PASSWORD).await;
    b.wait_for("#whoami").await;
    for path in [
        "/",
        "/attention",
        "/environments",
        "/environments/ml-platform/pytorch-cuda",
        "/namespaces",
        "/namespaces/ml-platform",
        "/namespaces/team-b/delete",
        "/service-accounts",
        "/namespaces/team-a/service-accounts/nightly-etl",
        "/namespaces/team-a/service-accounts/nightly-etl/api-keys/new",
        "/connectors",
        "/connectors/new",
        "/namespaces/default/connectors/dockerhub",
        "/namespaces/default/connectors/dockerhub/edit",
        "/connector-types",
        "/connector-types/aws",
        "/resources",
        "/access",
        "/users",
        "/users/alice",
        "/groups",
        "/audit",
        "/report-leak",
        "/api-reference",
        "/no-such-page",
    ] {
        b.goto(path).await;
        b.wait_for("main").await;
        b.assert_accessible(path).await;
    }
    b.client.close().await.unwrap();
}

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and axe-core: run tests/run.sh"]
async fn the_api_reference_is_reached_from_the_footer_and_read_by_keyboard() {
    let b = Browser::start().await;
    // Public, like the document it shows; linked from every page's footer.
    b.goto("/login").await;
    let link = b.find("footer a[href='/api-reference']").await;
    link.send_keys("\u{e007}").await.unwrap();
    b.wait_for("#contents").await;
    assert_eq!(b.path().await, "/api-reference");
    // Under the CSP: no inline script or style, nothing the policy blocked.
    let inline = b
        .script("return document.querySelectorAll('script:not([src]), [style], style').length")
        .await;
    assert_eq!(inline, json!(0));
    let (_, html) = http_get(b.port, "/api-reference", None).unwrap();
    assert!(html.contains("href=\"/api/v1/openapi.json\""));
    // Every operation of the document is on the page, each with its anchor.
    let (_, doc) = http_get(b.port, "/api/v1/openapi.json", None).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let ids: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .filter(|id| !id.ends_with("_in_namespace"))
        .map(str::to_owned)
        .collect();
    assert!(ids.len() > 50);
    for id in &ids {
        b.find(&format!("article.operation[id='{id}']")).await;
    }
    // By keyboard: a group of the contents opens, its link leads to the operation,
    // whose schema links lead to the schema.
    b.find("#contents-service-accounts summary")
        .await
        .send_keys("\u{e007}")
        .await
        .unwrap();
    b.find("#contents a[href='#rotate_key']")
        .await
        .send_keys("\u{e007}")
        .await
        .unwrap();
    let hash = b.script("return location.hash").await;
    assert_eq!(hash, json!("#rotate_key"));
    assert!(b.text("#rotate_key").await.contains("retain_until"));
    b.find("#rotate_key a[href='#schema-KeyJson']")
        .await
        .send_keys("\u{e007}")
        .await
        .unwrap();
    assert!(b.text("#schema-KeyJson").await.contains("last_used_at"));
    b.assert_accessible("/api-reference").await;
    b.photograph("api-reference").await;
    // Signed in, it keeps the navigation.
    b.sign_in("admin", super::ADMIN_PASSWORD).await;
    b.wait_for("#whoami").await;
    b.goto("/api-reference").await;
    b.wait_for("#user-menu").await;
    b.assert_accessible("/api-reference (signed in)").await;
    b.client.close().await.unwrap();
}
