//! Workload identity: a CI job trades the JWT its platform issued for a short-lived
//! token of a service account that trusts the platform (`POST /api/v1/token-exchange`,
//! RFC 8693). The platform is the test OpenID provider (`oidc-provider` from npm): each
//! test registers a client whose `ci_claims` the provider puts in its JWT access tokens,
//! as GitHub Actions puts `repository` and `ref` in a job's token. Key rotation is the
//! provider restarted on the same port with a fresh key.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};
use crate::provider::issuer;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A token from the provider at `issuer` for a client with these CI claims, audience
/// `audience`, living `ttl` seconds.
async fn ci_token(issuer: &str, claims: Value, audience: &str, ttl: u64) -> String {
    let http = reqwest::Client::new();
    let client: Value = http
        .post(format!("{issuer}/reg"))
        .json(&json!({
            "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
            "ci_claims": claims, "ci_token_ttl": ttl,
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let answer: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(
            client["client_id"].as_str().unwrap(),
            client["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials"), ("resource", audience)])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

/// An app whose outbound calls may reach the provider on 127.0.0.1, with `root` and
/// account `ci/deployer` (developer on `ci/*`) trusting `issuer` for `audience` when
/// the repository is `org/api` and the ref a branch.
async fn app_trusting(issuer: &str, audience: &str) -> (TestApp, String) {
    let (mut app, root) =
        TestApp::with_account(|c| c.outbound.allow_private = true, "ci", "deployer").await;
    app.put_as(
        &root,
        "/api/v1/namespaces/ci/service-accounts/deployer/role-bindings",
        json!({"ci/*": ["developer"]}),
    )
    .await
    .assert_status(StatusCode::OK);
    let trust = json!({"policies": [{
        "issuer": issuer, "audience": audience,
        "claims": {"repository": "org/api", "ref": "refs/heads/*"},
        "max_token_seconds": 600,
    }]});
    let res = app
        .put_as(
            &root,
            "/api/v1/namespaces/ci/service-accounts/deployer/trust",
            trust,
        )
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(res.json()["policies"][0]["issuer"], issuer);
    (app, root)
}

/// Posts an exchange form.
async fn exchange(app: &mut TestApp, fields: &[(&str, &str)]) -> TestResponse {
    let body = serde_urlencoded::to_string(fields).unwrap();
    app.send(
        TestRequest::post()
            .uri("/api/v1/token-exchange")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body),
    )
    .await
}

async fn exchange_for(app: &mut TestApp, token: &str, account: &str) -> TestResponse {
    exchange(
        app,
        &[
            ("grant_type", GRANT),
            ("subject_token", token),
            ("subject_token_type", JWT),
            ("service_account", account),
        ],
    )
    .await
}

/// The details of the audit log's `token.exchange` events, newest first.
async fn exchange_events(app: &mut TestApp, root: &str) -> Vec<(String, String)> {
    let page = app
        .read_as(root, "/api/v1/audit-events?action=token.exchange&limit=100")
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn audience(test: &str) -> String {
    format!("https://portcullis.test/{test}")
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn a_ci_job_trades_its_token_for_a_short_lived_one_of_the_account() {
    let aud = audience("trade");
    let (mut app, root) = app_trusting(&issuer(), &aud).await;
    let claims = json!({"repository": "org/api", "ref": "refs/heads/main"});
    let jwt = ci_token(&issuer(), claims, &aud, 300).await;

    let res = exchange_for(&mut app, &jwt, "ci/deployer").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let answer = res.json();
    assert_eq!(
        answer["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 600, "the policy's lifetime");
    let token = answer["access_token"].as_str().unwrap().to_owned();
    let me = app.read_as(&token, "/api/v1/whoami").await;
    assert_eq!(me["kind"], "service_account");
    assert_eq!(me["name"], "deployer");
    assert_eq!(me["namespace"], "ci");
    // It acts as the account: developer on ci/*.
    app.create_as(
        &token,
        "/api/v1/environments",
        json!({"namespace": "ci", "name": "built"}),
    )
    .await;

    // A bare name works where it is unique; the same JWT may be exchanged again until
    // it expires (CI steps each ask).
    let again = exchange_for(&mut app, &jwt, "deployer").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    // Down-scoped on request, never beyond what the account holds.
    let mut scoped = vec![
        ("grant_type", GRANT),
        ("subject_token", jwt.as_str()),
        ("subject_token_type", JWT),
        ("service_account", "ci/deployer"),
        ("scope", "ci/*:viewer"),
    ];
    let res = exchange(&mut app, &scoped).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let viewer = res.json()["access_token"].as_str().unwrap().to_owned();
    let refused = app
        .post_as(
            &viewer,
            "/api/v1/environments",
            json!({"namespace": "ci", "name": "nope"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    scoped[4] = ("scope", "*/*:admin");
    let (status, body) = exchange(&mut app, &scoped).await.parts();
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );

    // Audited with the claims that matched.
    let events = exchange_events(&mut app, &root).await;
    let (outcome, detail) = &events[events.len() - 1];
    assert_eq!(outcome, "success");
    assert!(detail.contains(r#"repository="org/api""#), "{detail}");
    assert!(detail.contains(r#"ref="refs/heads/main""#), "{detail}");
    assert!(detail.contains("for 600 s by trust policy 1"), "{detail}");

    // Deactivating the account ends its exchanged tokens at once.
    app.patch_as(
        &root,
        "/api/v1/namespaces/ci/service-accounts/deployer",
        json!({"active": false}),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(app.whoami_status(&token).await, StatusCode::UNAUTHORIZED);
    let res = exchange_for(&mut app, &jwt, "ci/deployer").await;
    assert_eq!(res.json()["error"], "invalid_grant");
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn every_refused_token_is_invalid_grant_and_the_reason_is_audited() {
    let aud = audience("refusals");
    let (mut app, root) = app_trusting(&issuer(), &aud).await;
    let good = json!({"repository": "org/api", "ref": "refs/heads/main"});
    let wrong_audience = ci_token(&issuer(), good.clone(), "https://elsewhere.test", 300).await;
    let wrong_repo = ci_token(
        &issuer(),
        json!({"repository": "evil/api", "ref": "refs/heads/main"}),
        &aud,
        300,
    )
    .await;
    let a_tag = ci_token(
        &issuer(),
        json!({"repository": "org/api", "ref": "refs/tags/v1"}),
        &aud,
        300,
    )
    .await;
    let short = ci_token(&issuer(), good.clone(), &aud, 1).await;
    let valid = ci_token(&issuer(), good.clone(), &aud, 300).await;
    // The valid token's header and claims, re-signed by a key the issuer never published.
    let forged = {
        let header = jsonwebtoken::decode_header(&valid).unwrap();
        let payload = valid.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap(),
        )
        .unwrap();
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gcp-other-key.pem"
        ))
        .unwrap();
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = header.kid;
        jsonwebtoken::encode(
            &h,
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
        .unwrap()
    };
    let unsigned = {
        let mut parts: Vec<&str> = valid.split('.').collect();
        parts[0] = "eyJhbGciOiJub25lIn0"; // {"alg":"none"}
        parts[2] = "";
        parts.join(".")
    };

    // Another account trusts GitHub only: the provider's token is from an untrusted issuer.
    app.create_account(&root, "ci", "gh").await;
    app.put_as(
        &root,
        "/api/v1/namespaces/ci/service-accounts/gh/trust",
        json!({"policies": [{"issuer": "https://token.actions.githubusercontent.com",
                             "audience": aud, "claims": {"repository": "org/api"}}]}),
    )
    .await
    .assert_status(StatusCode::OK);
    app.create_account(&root, "ci", "plain").await;

    // Past its expiry plus the allowed clock skew.
    tokio::time::sleep(std::time::Duration::from_secs(13)).await;
    let cases: [(&str, &str, &str); 9] = [
        (&wrong_audience, "ci/deployer", "audience"),
        (
            &wrong_repo,
            "ci/deployer",
            r#"claim repository = "evil/api" does not match"#,
        ),
        (&a_tag, "ci/deployer", r#"claim ref = "refs/tags/v1""#),
        (&short, "ci/deployer", "expired"),
        (&forged, "ci/deployer", "signature"),
        (&unsigned, "ci/deployer", "algorithm"),
        (&valid, "ci/gh", "is not trusted"),
        (&valid, "ci/plain", "trusts no issuer"),
        (&valid, "ci/nobody", "no such service account"),
    ];
    for (token, account, _) in &cases {
        let res = exchange_for(&mut app, token, account).await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{account}: {}",
            res.body
        );
        let body = res.json();
        assert_eq!(body["error"], "invalid_grant", "{account}: {body}");
        let said = body["error_description"].as_str().unwrap();
        assert!(
            said.contains("audit log") && !said.contains("claim"),
            "{said}"
        );
    }
    let events = exchange_events(&mut app, &root).await;
    let refusals: Vec<&String> = events
        .iter()
        .filter(|(o, _)| o == "failure")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(refusals.len(), cases.len(), "{refusals:#?}");
    // Newest first: the log's reasons are the cases' in reverse.
    for ((_, account, reason), detail) in cases.iter().zip(refusals.iter().rev()) {
        assert!(
            detail.contains(reason),
            "{account}: {detail:?} should say {reason:?}"
        );
    }
    // The valid token itself still works: nothing above spent it.
    let res = exchange_for(&mut app, &valid, "ci/deployer").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[actix_web::test]
#[ignore = "needs the test OpenID provider (TEST_OIDC_ISSUER): run tests/run.sh"]
async fn bad_requests_are_named_and_trust_is_for_those_who_administer_the_account() {
    let aud = audience("requests");
    let (mut app, root) = app_trusting(&issuer(), &aud).await;
    for (fields, error) in [
        (
            vec![("grant_type", "client_credentials")],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("subject_token", "x"),
                ("subject_token_type", JWT),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", GRANT),
                ("subject_token", "x"),
                ("subject_token_type", JWT),
                ("service_account", "ci/deployer"),
                ("scope", "not-a-scope"),
            ],
            "invalid_target",
        ),
    ] {
        let (status, body) = exchange(&mut app, &fields).await.parts();
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(error))
        );
    }
    let json_body = app
        .json(
            actix_web::http::Method::POST,
            "/api/v1/token-exchange",
            json!({}),
            None,
        )
        .await;
    assert_eq!(json_body.json()["error"], "invalid_request");

    // A viewer of ci reads the policies but may not change them; bad ones are 422s.
    app.create_user("watcher", &[("ci/*", "viewer")]);
    let watcher = app.access_token("watcher", crate::helpers::PASSWORD).await;
    let path = "/api/v1/namespaces/ci/service-accounts/deployer/trust";
    let held = app.read_as(&watcher, path).await;
    assert_eq!(held["policies"][0]["claims"]["repository"], "org/api");
    let refused = app.put_as(&watcher, path, json!({"policies": []})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .put_as(
            &root,
            path,
            json!({"policies": [{"issuer": "http://ci.example.com", "audience": "", "claims": {"sub": "*"}}]}),
        )
        .await
        .parts();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = body["error"]["fields"].as_object().unwrap();
    for field in [
        "policies[0].issuer",
        "policies[0].audience",
        "policies[0].claims",
    ] {
        assert!(fields.contains_key(field), "{field}: {body}");
    }
    // Nothing stored was lost.
    assert_eq!(app.read_as(&root, path).await, held);
    // An empty list trusts no issuer.
    app.put_as(&root, path, json!({"policies": []}))
        .await
        .assert_status(StatusCode::OK);
    assert_eq!(app.read_as(&root, path).await, json!({"policies": []}));
}

/// A provider of this test's own, restarted on the same port with a fresh key.
struct OwnProvider {
    child: Child,
    issuer: String,
}

impl OwnProvider {
    fn start(port: u16) -> Self {
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/oidc/provider.mjs"
            ))
            .env("OIDC_PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test provider");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let issuer = line
            .trim()
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the provider said {line:?}"))
            .to_owned();
        Self { child, issuer }
    }

    fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn restart(mut self) -> Self {
        let port = self.port();
        self.stop();
        Self::start(port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnProvider {
    fn drop(&mut self) {
        self.stop();
    }
}

#[actix_web::test]
#[ignore = "needs node and the test OpenID provider's packages: run tests/run.sh"]
async fn a_rotated_issuer_key_is_fetched_again_and_the_old_one_stops_working() {
    let provider = OwnProvider::start(0);
    let issuer = provider.issuer.clone();
    let aud = audience("rotation");
    let (mut app, root) = app_trusting(&issuer, &aud).await;
    let claims = json!({"repository": "org/api", "ref": "refs/heads/main"});
    let before = ci_token(&issuer, claims.clone(), &aud, 300).await;
    let res = exchange_for(&mut app, &before, "ci/deployer").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    // The provider rotates: same issuer, a new signing key, the old one withdrawn.
    let provider = provider.restart();
    let after = ci_token(&issuer, claims, &aud, 300).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let res = exchange_for(&mut app, &after, "ci/deployer").await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the new key is fetched: {}",
        res.body
    );
    let res = exchange_for(&mut app, &before, "ci/deployer").await;
    assert_eq!(res.json()["error"], "invalid_grant", "the old key is gone");
    let events = exchange_events(&mut app, &root).await;
    assert!(
        events[0]
            .1
            .contains("not among the issuer's published keys"),
        "{events:?}"
    );

    // The provider down: the keys fetched last still verify its tokens.
    drop(provider);
    let res = exchange_for(&mut app, &after, "ci/deployer").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[actix_web::test]
async fn the_account_page_shows_and_edits_its_trust_for_those_who_administer_it() {
    let mut app = TestApp::new().await;
    app.ensure_namespaces(&["ci"]);
    app.create_user("lead", &[("ci/*", "admin")]);
    app.create_user("watcher", &[("ci/*", "viewer")]);
    let root = app.admin_token().await;
    app.create_account(&root, "ci", "deployer").await;
    let page_path = "/namespaces/ci/service-accounts/deployer";
    let form_path = format!("{page_path}/trust");
    app.login("lead", crate::helpers::PASSWORD).await;
    let page = app.get(page_path).await.assert_status(StatusCode::OK);
    assert!(page.text("#no-trust").contains("Trusts no issuer"));
    assert_eq!(
        page.attr("#trust-form input[name=max_token_seconds]", "max")
            .as_deref(),
        Some("3600")
    );

    // Bad input: the page again, each message at its field, nothing stored.
    let bad = app
        .post_form(
            &form_path,
            &[
                ("op", "add"),
                ("issuer", "http://ci.example.com"),
                ("audience", "pc"),
                ("conditions", "sub = *"),
                ("max_token_seconds", "7200"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    for field in ["issuer", "conditions", "max_token_seconds"] {
        assert!(!bad.text(&format!("#{field}-error")).is_empty(), "{field}");
    }
    assert_eq!(
        bad.value("#trust-form input[name=issuer]").as_deref(),
        Some("http://ci.example.com")
    );
    assert!(bad.text("#no-trust").contains("Trusts no issuer"));

    let added = app
        .post_form(
            &form_path,
            &[
                ("op", "add"),
                ("issuer", "https://gitlab.example.com"),
                ("audience", "https://portcullis.example.com"),
                ("conditions", "project_path = group/app\nref_type = branch"),
                ("max_token_seconds", ""),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), format!("{page_path}#trust"));
    let page = app.get(page_path).await;
    let row = page.text(".trust-row");
    assert!(row.contains("https://gitlab.example.com"), "{row}");
    assert!(
        row.contains("project_path = group/app") && row.contains("3600 s"),
        "{row}"
    );
    let api = app
        .read_as(
            &root,
            "/api/v1/namespaces/ci/service-accounts/deployer/trust",
        )
        .await;
    assert_eq!(api["policies"][0]["claims"]["ref_type"], "branch");

    // A viewer sees the policies, not the editor, and cannot post it.
    app.switch_to("watcher").await;
    let page = app.get(page_path).await;
    assert_eq!(page.fragment_count(".trust-row"), 1);
    assert_eq!(page.fragment_count("#trust-form"), 0);
    let refused = app
        .post_form(
            &form_path,
            &[
                ("op", "remove"),
                ("index", "0"),
                ("issuer", "https://gitlab.example.com"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The admin removes it; a stale removal (another issuer at that place) is refused.
    app.switch_to("lead").await;
    let stale = app
        .post_form(
            &form_path,
            &[
                ("op", "remove"),
                ("index", "0"),
                ("issuer", "https://other.example"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.post_form(
        &form_path,
        &[
            ("op", "remove"),
            ("index", "0"),
            ("issuer", "https://gitlab.example.com"),
        ],
    )
    .await
    .assert_status(StatusCode::SEE_OTHER);
    assert_eq!(app.get(page_path).await.fragment_count(".trust-row"), 0);
    let log = app
        .read_as(&root, "/api/v1/audit-events?action=service_account.trust")
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log}");

    // An account that holds more than the admin does: trusting an issuer would hand its
    // tokens what the admin lacks, so it is refused as minting a key would be.
    app.put_as(
        &root,
        "/api/v1/namespaces/ci/service-accounts/deployer/role-bindings",
        json!({"prod/*": ["admin"]}),
    )
    .await
    .assert_status(StatusCode::OK);
    let escalation = app
        .post_form(
            &form_path,
            &[
                ("op", "add"),
                ("issuer", "https://token.actions.githubusercontent.com"),
                ("audience", "https://portcullis.example.com"),
                ("conditions", "repository = attacker/repo"),
            ],
        )
        .await;
    assert_eq!(
        escalation.status,
        StatusCode::FORBIDDEN,
        "{}",
        escalation.body
    );
    let api = app
        .read_as(
            &root,
            "/api/v1/namespaces/ci/service-accounts/deployer/trust",
        )
        .await;
    assert_eq!(api, json!({"policies": []}));
}
