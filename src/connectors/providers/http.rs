//! The HTTP calls the providers share: a GET with a bearer token, a form post, and the
//! safe wording of an API's refusal (its error code and the HTTP status, never the
//! message, which may quote the request).

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use url::Url;

use super::ProviderError;
use crate::outbound::{Outbound, Tls};

/// A GET with a bearer token and `headers`: the response, its body unread.
pub(super) async fn authorized_get(
    out: &Outbound,
    url: Url,
    token: &str,
    headers: &[(&str, String)],
) -> Result<reqwest::Response, ProviderError> {
    let client = out.client(&Tls::default())?;
    let mut request = client
        .get(url)
        .header(AUTHORIZATION, format!("Bearer {token}"));
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    Ok(out.send(request).await?)
}

/// A GET with a bearer token and `headers`: the status and the body.
pub(super) async fn bearer_get(
    out: &Outbound,
    url: Url,
    token: &str,
    headers: &[(&str, String)],
) -> Result<(StatusCode, Vec<u8>), ProviderError> {
    let resp = authorized_get(out, url, token, headers).await?;
    let status = resp.status();
    Ok((status, out.read(resp).await?))
}

/// A form post (`application/x-www-form-urlencoded`, JSON asked for) of `form`, with
/// HTTP Basic `(user, password)` when given: the status and the body.
pub(super) async fn post_form(
    out: &Outbound,
    url: Url,
    form: String,
    basic: Option<(String, String)>,
) -> Result<(StatusCode, Vec<u8>), ProviderError> {
    let client = out.client(&Tls::default())?;
    let mut request = client
        .post(url)
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let resp = out.send(request.body(form)).await?;
    let status = resp.status();
    Ok((status, out.read(resp).await?))
}

/// An error code reduced to characters safe to show (ASCII letters and digits, and the
/// `punctuation` given), at most 64; `None` when nothing is left.
pub(super) fn safe_code(code: &str, punctuation: &[char]) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || punctuation.contains(c))
        .take(64)
        .collect();
    Some(code).filter(|c| !c.is_empty())
}

/// `{who} answered {code} ({detail}HTTP n)`, or `{who} answered HTTP n` without a code.
pub(super) fn answered(who: &str, code: Option<&str>, detail: &str, status: StatusCode) -> String {
    match code {
        Some(c) => format!("{who} answered {c} ({detail}HTTP {})", status.as_u16()),
        None => format!("{who} answered HTTP {}", status.as_u16()),
    }
}

/// The usual meaning of a refusal: 401 → Denied, 403 → Forbidden, others → Protocol.
pub(super) fn by_status(status: StatusCode, why: String) -> ProviderError {
    match status {
        StatusCode::UNAUTHORIZED => ProviderError::Denied(why),
        StatusCode::FORBIDDEN => ProviderError::Forbidden(why),
        _ => ProviderError::Protocol(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_safe_codes_and_the_status() {
        assert_eq!(safe_code("odd code <b>", &[]).as_deref(), Some("oddcodeb"));
        assert_eq!(safe_code("a_b-c.d", &['_']).as_deref(), Some("a_bcd"));
        assert_eq!(safe_code("<>", &['_']), None);
        assert_eq!(safe_code(&"x".repeat(100), &[]).map(|c| c.len()), Some(64));
        let why = answered("X", Some("E"), "D, ", StatusCode::BAD_REQUEST);
        assert_eq!(why, "X answered E (D, HTTP 400)");
        assert_eq!(
            answered("X", None, "D, ", StatusCode::BAD_GATEWAY),
            "X answered HTTP 502"
        );
        let kind = |s| by_status(s, String::new());
        assert!(matches!(
            kind(StatusCode::UNAUTHORIZED),
            ProviderError::Denied(_)
        ));
        assert!(matches!(
            kind(StatusCode::FORBIDDEN),
            ProviderError::Forbidden(_)
        ));
        assert!(matches!(
            kind(StatusCode::NOT_FOUND),
            ProviderError::Protocol(_)
        ));
    }
}
