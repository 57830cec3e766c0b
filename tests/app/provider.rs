//! Where the test OpenID provider is, for the integration and browser suites.
//!
//! The tests that need the provider are `#[ignore]`d, so a plain `cargo test` lists them
//! as ignored; tests/run.sh starts the provider, names it in `TEST_OIDC_ISSUER` and runs
//! them with `--include-ignored`, where a missing provider fails them.

/// The provider's issuer URL (asserted set).
pub fn issuer() -> String {
    std::env::var("TEST_OIDC_ISSUER")
        .ok()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| {
            panic!("TEST_OIDC_ISSUER is required: run tests/run.sh, which starts the provider")
        })
}

/// Registers a client of the provider that may send users back to `redirect_uri`;
/// returns its `(client_id, client_secret)`.
pub async fn register_client(redirect_uri: &str) -> (String, String) {
    let res: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/reg", issuer()))
        .json(&serde_json::json!({
            "redirect_uris": [redirect_uri],
            "client_name": "portcullis tests",
        }))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("client registration at the provider failed: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("the provider's registration answer: {e}"));
    let field = |k: &str| {
        res[k]
            .as_str()
            .unwrap_or_else(|| panic!("no {k} in {res}"))
            .to_owned()
    };
    (field("client_id"), field("client_secret"))
}
