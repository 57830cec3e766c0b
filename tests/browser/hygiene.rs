//! Beyond long-lived keys, in Chromium: a namespace admin trusts a CI issuer on an
//! account's page, tightens the namespace's key policy, adds a webhook (its secret shown
//! once) and reports a leaked key — each page checked with axe-core and photographed at
//! 1280 and 390 px wide; the leak report is made with the keyboard alone.

use fantoccini::key::Key;

use super::{ADMIN_PASSWORD, Browser, free_port};

#[actix_web::test]
#[ignore = "needs Chromium, chromedriver and axe-core: run tests/run.sh"]
async fn an_admin_trusts_ci_tightens_the_policy_adds_a_webhook_and_reports_a_leak() {
    let b = Browser::start_on(
        free_port(),
        &[("PORTCULLIS_WEBHOOK_ALLOW_PRIVATE", "true".to_owned())],
    )
    .await;
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b.wait_for("#whoami").await;

    // Workload identity on the account's page.
    b.goto("/namespaces/team-a/service-accounts/nightly-etl")
        .await;
    b.wait_for("#trust-form").await;
    b.submit_and_load(
        "#trust-form",
        &[
            ("issuer", "https://token.actions.githubusercontent.com"),
            ("audience", "https://portcullis.example.com"),
            (
                "conditions",
                "repository = my-org/etl\nref = refs/heads/main",
            ),
            ("max_token_seconds", "900"),
        ],
    )
    .await;
    b.wait_for(".trust-row").await;
    let row = b.text(".trust-row").await;
    assert!(
        row.contains("repository = my-org/etl") && row.contains("900 s"),
        "{row}"
    );
    b.assert_accessible("an account's trust policies").await;
    b.photograph("trust").await;

    // A key that never expires, made before any policy.
    b.goto("/namespaces/team-a/service-accounts/nightly-etl/api-keys/new")
        .await;
    b.submit_and_load("#new-key-form", &[("name", "forever"), ("expires", "none")])
        .await;
    b.revealed().await;

    // The namespace's key policy: bounds shown, saved, the old key listed.
    b.goto("/namespaces/team-a").await;
    b.click("#policy-editor summary").await;
    b.submit_and_load("#policy-form", &[("max_key_lifetime_days", "30")])
        .await;
    b.wait_for("#effective-policy").await;
    assert!(b.text("#effective-policy").await.contains("30 days"));
    assert!(b.text("#policy-violations").await.contains("never expires"));
    b.assert_accessible("the namespace's key policy").await;
    b.photograph("key-policy").await;

    // A webhook: its secret once, then its (empty) delivery log.
    b.fill("#webhook-form", &[("url", "http://127.0.0.1:9/alerts")])
        .await;
    b.click("#webhook-form input[value='api_key.expiring']")
        .await;
    b.click("#webhook-form input[value='api_key.leaked']").await;
    b.click_and_load("#add-webhook").await;
    let secret = b.revealed().await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    b.assert_accessible("the webhook secret's reveal").await;
    b.goto("/namespaces/team-a").await;
    b.click_and_load(".webhook-row a").await;
    b.wait_for("#delivery-log").await;
    b.assert_accessible("a webhook's delivery log").await;
    b.photograph("webhook").await;

    // A key leaks: pasted on the report page with the keyboard alone.
    b.goto("/namespaces/team-a/service-accounts/nightly-etl/api-keys/new")
        .await;
    b.wait_for("#key-policy-bound").await;
    b.submit_and_load("#new-key-form", &[("name", "leaky")])
        .await;
    let key = b.revealed().await;
    b.goto("/service-accounts").await;
    b.click_and_load("#report-leak-link").await;
    let field = b.wait_for("#leak-form input[name=key]").await;
    field.send_keys(&key).await.unwrap();
    field.send_keys(&Key::Enter.to_string()).await.unwrap();
    b.wait_for("#leak-done").await;
    assert!(
        b.text("#leak-done")
            .await
            .contains("leaky of team-a/nightly-etl is deactivated")
    );
    b.assert_accessible("the leak report").await;
    b.photograph("report-leak").await;
    b.client.close().await.unwrap();
}
