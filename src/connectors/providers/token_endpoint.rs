//! OAuth2 token endpoints (RFC 6749 §5) as the OAuth2, Azure and GCP providers use them:
//! the form post, the access token answered, and a refusal named by its error code
//! (never by its description, which may quote what was sent).

use reqwest::StatusCode;
use serde_json::Value;
use url::Url;
use url::form_urlencoded::Serializer;

use super::ProviderError;
use super::http::{answered, post_form, safe_code};
use crate::outbound::Outbound;

/// An access token and when it expires (ms since the epoch; `None` when unknown).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub access_token: String,
    pub token_type: String,
    pub expires_at: Option<i64>,
}

impl Token {
    /// A bearer token.
    pub fn bearer(access_token: &str, expires_at: Option<i64>) -> Self {
        Self {
            access_token: access_token.to_owned(),
            token_type: "Bearer".into(),
            expires_at,
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Makes the error of one kind (`ProviderError::Denied`, …) from its message.
pub(super) type ErrorKind = fn(String) -> ProviderError;

/// How a token endpoint's refusals read and what they mean.
pub(super) struct Dialect {
    /// Who answers, in messages.
    pub who: &'static str,
    /// Punctuation kept in error codes, besides ASCII letters and digits.
    pub punctuation: &'static [char],
    /// What a refusal with an error code (`""` for none) and a status is.
    pub kind: fn(&str, StatusCode) -> ErrorKind,
    /// What stands before the status in a refusal naming its code.
    pub detail: fn(&Value) -> String,
}

/// RFC 6749 token endpoints.
pub(super) const STANDARD: Dialect = Dialect {
    who: "the token endpoint",
    punctuation: &['_', '-', '.'],
    kind: standard_kind,
    detail: |_| String::new(),
};

fn standard_kind(code: &str, status: StatusCode) -> ErrorKind {
    match code {
        "invalid_client" | "invalid_grant" | "unauthorized_client" => ProviderError::Denied,
        "access_denied" | "invalid_scope" | "invalid_target" => ProviderError::Forbidden,
        _ if status == StatusCode::UNAUTHORIZED => ProviderError::Denied,
        _ if status == StatusCode::FORBIDDEN => ProviderError::Forbidden,
        _ => ProviderError::Protocol,
    }
}

/// A token endpoint's answer at `now` (ms): the token, or why not.
pub(super) fn parse(
    dialect: &Dialect,
    status: StatusCode,
    body: &[u8],
    now: i64,
) -> Result<Token, ProviderError> {
    let who = dialect.who;
    let v: Option<Value> = serde_json::from_slice(body).ok();
    if !status.is_success() {
        let v = v.unwrap_or_default();
        let code = v["error"]
            .as_str()
            .and_then(|c| safe_code(c, dialect.punctuation));
        let why = answered(who, code.as_deref(), &(dialect.detail)(&v), status);
        return Err((dialect.kind)(code.as_deref().unwrap_or_default(), status)(
            why,
        ));
    }
    let v = v.ok_or_else(|| ProviderError::Protocol(format!("{who} answered no JSON")))?;
    let access_token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ProviderError::Protocol(format!("{who} answered no access_token")))?;
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
        expires_at: expires_in.map(|s| now + s * 1000),
    })
}

/// The form of `pairs`.
pub(super) fn form(pairs: &[(&str, &str)]) -> String {
    let mut form = Serializer::new(String::new());
    form.extend_pairs(pairs);
    form.finish()
}

/// Posts `pairs` to the token endpoint at `url`: its token, or why not.
pub(super) async fn request(
    out: &Outbound,
    dialect: &Dialect,
    url: Url,
    pairs: &[(&str, &str)],
) -> Result<Token, ProviderError> {
    let (status, body) = post_form(out, url, form(pairs), None).await?;
    parse(
        dialect,
        status,
        &body,
        chrono::Utc::now().timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_parsed() {
        let ok = |body: &str| parse(&STANDARD, StatusCode::OK, body.as_bytes(), 1000);
        assert_eq!(
            ok(r#"{"access_token":"at","token_type":"bearer","expires_in":600}"#).unwrap(),
            Token {
                access_token: "at".into(),
                token_type: "bearer".into(),
                expires_at: Some(601_000),
            }
        );
        assert_eq!(
            ok(r#"{"access_token":"at","expires_in":"3600"}"#).unwrap(),
            Token::bearer("at", Some(3_601_000))
        );
        assert_eq!(ok(r#"{"access_token":"at"}"#).unwrap().expires_at, None);
        for bad in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            "<html>",
        ] {
            assert!(matches!(ok(bad), Err(ProviderError::Protocol(_))), "{bad}");
        }
    }

    #[test]
    fn forms_are_url_encoded_in_order() {
        assert_eq!(
            form(&[
                ("grant_type", "client_credentials"),
                ("scope", ""),
                ("a", "b c&")
            ]),
            "grant_type=client_credentials&scope=&a=b+c%26"
        );
    }
}
