//! OAuth2-protected APIs: access tokens from the authorization server's token endpoint
//! (client credentials or a refresh token, RFC 6749 §4.4 and §6), or a stored token.
//!
//! Token requests are plain form posts through [`Outbound`] (its policy applies); the
//! client authenticates with HTTP Basic (`client_secret_basic`) and, if the server
//! refuses that as an invalid client, once more with the secret in the form
//! (`client_secret_post`).

use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use url::Url;
use url::form_urlencoded::byte_serialize;

use super::http::{authorized_get, post_form};
use super::token_endpoint::{STANDARD, Token, form, parse};
use super::{Issued, ProviderError, Single, Target};
use crate::outbound::Outbound;

/// The only resource type.
const RESOURCE_TYPE: &str = "oauth2-api";

/// The one resource a oauth2 connector reaches.
pub(super) const SINGLE: Single = Single {
    resource_type: RESOURCE_TYPE,
    noun: "API",
    reached: resource_id,
};

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
    /// A public client: only `client_id` in the form.
    None,
}

/// The form-urlencoding RFC 6749 §2.3.1 asks for before Basic.
fn form_encoded(s: &str) -> String {
    byte_serialize(s.as_bytes()).collect()
}

/// Whether a refused token request is worth once more with the secret in the form.
fn retry_with_post(status: StatusCode, body: &[u8]) -> bool {
    let code = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned));
    status == StatusCode::UNAUTHORIZED || code.as_deref() == Some("invalid_client")
}

/// Asks the token endpoint for an access token with `grant` (form fields).
async fn request_token(
    out: &Outbound,
    t: &Target,
    grant: &[(&str, &str)],
) -> Result<Token, ProviderError> {
    let token_url = url(t, "token_url")?;
    let client_id = t.required("client_id")?;
    let secret = t.text("client_secret");
    let mut auth = if secret.is_some() {
        ClientAuth::Basic
    } else {
        ClientAuth::None
    };
    let grant: Vec<(&str, &str)> = grant
        .iter()
        .copied()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    loop {
        let mut pairs = grant.clone();
        let basic = match (auth, secret) {
            (ClientAuth::Basic, Some(secret)) => {
                Some((form_encoded(client_id), form_encoded(secret)))
            }
            (ClientAuth::Post, Some(secret)) => {
                pairs.extend([("client_id", client_id), ("client_secret", secret)]);
                None
            }
            _ => {
                pairs.push(("client_id", client_id));
                None
            }
        };
        let (status, body) = post_form(out, token_url.clone(), form(&pairs), basic).await?;
        if auth == ClientAuth::Basic && !status.is_success() && retry_with_post(status, &body) {
            auth = ClientAuth::Post;
            continue;
        }
        return parse(
            &STANDARD,
            status,
            &body,
            chrono::Utc::now().timestamp_millis(),
        );
    }
}

/// An attribute that must be an `http(s)` URL.
fn url(t: &Target, key: &str) -> Result<Url, ProviderError> {
    let u = Url::parse(t.required(key)?)
        .map_err(|_| ProviderError::Invalid(format!("the attribute {key} is not a URL")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(ProviderError::Invalid(format!(
            "the attribute {key} must be an https URL"
        )));
    }
    Ok(u)
}

/// A token for the connector's method: fetched (client credentials, refresh token) or
/// the stored one (`None` for the expiry: unknown).
async fn token(out: &Outbound, t: &Target) -> Result<Token, ProviderError> {
    match t.auth_method.as_str() {
        "client-credentials" => {
            let scope = t.text("scope").unwrap_or_default();
            let audience = t.text("audience").unwrap_or_default();
            request_token(
                out,
                t,
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", scope),
                    ("audience", audience),
                ],
            )
            .await
        }
        "refresh-token" => {
            let refresh_token = t.required("refresh_token")?;
            let scope = t.text("scope").unwrap_or_default();
            request_token(
                out,
                t,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("scope", scope),
                ],
            )
            .await
        }
        "token" => Ok(Token::bearer(t.required("access_token")?, None)),
        other => Err(ProviderError::Unsupported(format!(
            "oauth2 connectors have no auth method {other}"
        ))),
    }
}

/// Proves the credentials: a token from the token endpoint; for a stored token, the API
/// must accept it (anything but 401 and 403 from `GET api_url`).
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    let token = token(out, t).await?;
    if t.auth_method != "token" {
        return Ok(());
    }
    let api = url(t, "api_url")?;
    let resp = authorized_get(out, api, &token.access_token, &[]).await?;
    match resp.status() {
        StatusCode::UNAUTHORIZED => Err(ProviderError::Denied(
            "the API refused the access token (HTTP 401)".into(),
        )),
        StatusCode::FORBIDDEN => Err(ProviderError::Denied(
            "the API refused the access token (HTTP 403)".into(),
        )),
        s if s.is_server_error() => Err(ProviderError::Protocol(format!(
            "the API answered HTTP {}",
            s.as_u16()
        ))),
        _ => Ok(()),
    }
}

/// The API URL, the one resource of an OAuth2 connector.
fn resource_id(t: &Target) -> Result<String, ProviderError> {
    Ok(t.required("api_url")?.to_owned())
}

/// An access token for the API: `{"access_token", "token_type"}`. It expires when the
/// token endpoint says (`expires_in`); where it does not say, and for a stored token,
/// the expiry is unknown (`expires_at` is `None`), not "never".
pub(super) async fn issue(out: &Outbound, t: &Target) -> Result<Issued, ProviderError> {
    let token = token(out, t).await?;
    let mut credentials = Map::new();
    credentials.insert("access_token".into(), json!(token.access_token));
    credentials.insert("token_type".into(), json!(token.token_type));
    Ok(Issued {
        credentials,
        expires_at: token.expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors_name_the_code_but_never_echo_the_body() {
        let secret = "s3cr3t-value";
        let cases = [
            (
                StatusCode::UNAUTHORIZED,
                format!(
                    r#"{{"error":"invalid_client","error_description":"bad secret {secret}"}}"#
                ),
                "authentication failed: the token endpoint answered invalid_client (HTTP 401)",
            ),
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_grant"}"#.to_owned(),
                "authentication failed: the token endpoint answered invalid_grant (HTTP 400)",
            ),
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_scope"}"#.to_owned(),
                "permission denied: the token endpoint answered invalid_scope (HTTP 400)",
            ),
            (
                StatusCode::UNAUTHORIZED,
                format!("no json {secret}"),
                "authentication failed: the token endpoint answered HTTP 401",
            ),
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"odd code <b>"}"#.to_owned(),
                "unexpected answer: the token endpoint answered oddcodeb (HTTP 400)",
            ),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                String::new(),
                "unexpected answer: the token endpoint answered HTTP 500",
            ),
        ];
        for (status, body, want) in cases {
            let err = parse(&STANDARD, status, body.as_bytes(), 0).unwrap_err();
            assert_eq!(err.to_string(), want, "{body}");
        }
        let err = parse(
            &STANDARD,
            StatusCode::UNAUTHORIZED,
            format!(r#"{{"error":"invalid_client","error_description":"{secret}"}}"#).as_bytes(),
            0,
        )
        .unwrap_err();
        assert!(!err.to_string().contains(secret));
    }

    #[test]
    fn a_refused_basic_login_is_retried_in_the_form_only_for_invalid_clients() {
        assert!(retry_with_post(StatusCode::UNAUTHORIZED, b""));
        assert!(retry_with_post(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_client"}"#
        ));
        assert!(!retry_with_post(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant"}"#
        ));
        assert!(!retry_with_post(StatusCode::INTERNAL_SERVER_ERROR, b""));
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encoded("a b:c/d+é"), "a+b%3Ac%2Fd%2B%C3%A9");
    }
}
