//! OAuth2-protected APIs: access tokens from the authorization server's token endpoint
//! (client credentials or a refresh token, RFC 6749 §4.4 and §6), or a stored token.
//!
//! Token requests are plain form posts through [`Outbound`] (its policy applies); the
//! client authenticates with HTTP Basic (`client_secret_basic`) and, if the server
//! refuses that as an invalid client, once more with the secret in the form
//! (`client_secret_post`).

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Map, Value, json};
use url::Url;
use url::form_urlencoded::{Serializer, byte_serialize};

use super::{Issued, ProviderError, Single, Target};
use crate::outbound::{Outbound, Tls};

/// The only resource type.
const RESOURCE_TYPE: &str = "oauth2-api";

/// The one resource a oauth2 connector reaches.
pub(super) const SINGLE: Single = Single {
    resource_type: RESOURCE_TYPE,
    noun: "API",
};

/// An access token from a token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub access_token: String,
    pub token_type: String,
    /// Seconds until it expires, when the server says.
    pub expires_in: Option<i64>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

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

/// An error code from a token endpoint, reduced to characters safe to show.
fn safe_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(64)
        .collect()
}

/// A token endpoint's answer: the token, or why not (the error code, never the body).
pub(super) fn parse_token_response(
    status: StatusCode,
    body: &[u8],
) -> Result<Token, ProviderError> {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    if !status.is_success() {
        let code = v
            .as_ref()
            .and_then(|v| v["error"].as_str())
            .map(safe_code)
            .filter(|c| !c.is_empty());
        let why = match &code {
            Some(c) => format!("the token endpoint answered {c} (HTTP {})", status.as_u16()),
            None => format!("the token endpoint answered HTTP {}", status.as_u16()),
        };
        return Err(match code.as_deref() {
            Some("invalid_client" | "invalid_grant" | "unauthorized_client") => {
                ProviderError::Denied(why)
            }
            Some("access_denied" | "invalid_scope" | "invalid_target") => {
                ProviderError::Forbidden(why)
            }
            _ if status == StatusCode::UNAUTHORIZED => ProviderError::Denied(why),
            _ if status == StatusCode::FORBIDDEN => ProviderError::Forbidden(why),
            _ => ProviderError::Protocol(why),
        });
    }
    let v =
        v.ok_or_else(|| ProviderError::Protocol("the token endpoint answered no JSON".into()))?;
    let access_token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ProviderError::Protocol("the token endpoint answered no access_token".into())
        })?;
    let token_type = v["token_type"]
        .as_str()
        .filter(|t| !t.is_empty())
        .unwrap_or("Bearer");
    // A number, or (some servers) a numeric string.
    let expires_in = match &v["expires_in"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|s| *s > 0);
    Ok(Token {
        access_token: access_token.to_owned(),
        token_type: token_type.to_owned(),
        expires_in,
    })
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
    let client = out.client(&Tls::default())?;
    let mut auth = if secret.is_some() {
        ClientAuth::Basic
    } else {
        ClientAuth::None
    };
    loop {
        let mut form = Serializer::new(String::new());
        for (k, v) in grant {
            if !v.is_empty() {
                form.append_pair(k, v);
            }
        }
        let mut request = client
            .post(token_url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        match (auth, secret) {
            (ClientAuth::Basic, Some(secret)) => {
                request = request.basic_auth(form_encoded(client_id), Some(form_encoded(secret)));
            }
            (ClientAuth::Post, Some(secret)) => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", secret);
            }
            _ => {
                form.append_pair("client_id", client_id);
            }
        }
        let resp = out.send(request.body(form.finish())).await?;
        let status = resp.status();
        let body = out.read(resp).await?;
        if auth == ClientAuth::Basic && !status.is_success() && retry_with_post(status, &body) {
            auth = ClientAuth::Post;
            continue;
        }
        return parse_token_response(status, &body);
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
        "token" => Ok(Token {
            access_token: t.required("access_token")?.to_owned(),
            token_type: "Bearer".into(),
            expires_in: None,
        }),
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
    let client = out.client(&Tls::default())?;
    let resp = out
        .send(
            client
                .get(api)
                .header(AUTHORIZATION, format!("Bearer {}", token.access_token)),
        )
        .await?;
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
pub(super) fn resource_id(t: &Target) -> Result<String, ProviderError> {
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
        expires_at: token
            .expires_in
            .map(|s| chrono::Utc::now().timestamp_millis() + s * 1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_parsed() {
        let ok = |body: &str| parse_token_response(StatusCode::OK, body.as_bytes());
        assert_eq!(
            ok(r#"{"access_token":"at","token_type":"bearer","expires_in":600}"#).unwrap(),
            Token {
                access_token: "at".into(),
                token_type: "bearer".into(),
                expires_in: Some(600),
            }
        );
        assert_eq!(
            ok(r#"{"access_token":"at","expires_in":"3600"}"#).unwrap(),
            Token {
                access_token: "at".into(),
                token_type: "Bearer".into(),
                expires_in: Some(3600),
            }
        );
        assert_eq!(ok(r#"{"access_token":"at"}"#).unwrap().expires_in, None);
        for bad in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            "<html>",
        ] {
            assert!(matches!(ok(bad), Err(ProviderError::Protocol(_))), "{bad}");
        }
    }

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
            let err = parse_token_response(status, body.as_bytes()).unwrap_err();
            assert_eq!(err.to_string(), want, "{body}");
        }
        let err = parse_token_response(
            StatusCode::UNAUTHORIZED,
            format!(r#"{{"error":"invalid_client","error_description":"{secret}"}}"#).as_bytes(),
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
