//! Access tokens per auth method: the JWT-bearer grant of a service account key, the
//! refresh-token grant of a user account, the stored token, and IAM Credentials
//! `generateAccessToken` for impersonation.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use url::Url;

use super::super::token_endpoint::{STANDARD, Token, request};
use super::super::{ProviderError, Target};
use super::apis::api_error;
use super::keys::{AuthorizedUser, CLOUD_PLATFORM, ServiceAccountKey};
use crate::outbound::{Outbound, Tls};

/// The grant type of a JWT-bearer assertion (RFC 7523).
pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The IAM Credentials API.
const IAM_CREDENTIALS: &str = "https://iamcredentials.googleapis.com";
/// Longest token `generateAccessToken` issues (without an organization policy change).
pub(super) const IMPERSONATION_MAX_SECONDS: i64 = 3600;

/// A token for the connector's method; impersonated tokens live `lifetime` seconds
/// (capped to the method's bounds and to what Google issues).
pub(super) async fn token(
    out: &Outbound,
    t: &Target,
    lifetime: i64,
) -> Result<Token, ProviderError> {
    match t.auth_method.as_str() {
        "service-account" => service_account_token(out, &ServiceAccountKey::from_target(t)?).await,
        "user-account" => user_token(out, &AuthorizedUser::from_target(t)?).await,
        "oauth2-token" => Ok(Token::bearer(t.required("token")?, None)),
        "impersonation" => {
            let principal = t.required("target_principal")?;
            let source = service_account_token(out, &ServiceAccountKey::from_target(t)?).await?;
            let max = t
                .expiration_bounds
                .and_then(|(_, max, _)| max)
                .unwrap_or(IMPERSONATION_MAX_SECONDS)
                .min(IMPERSONATION_MAX_SECONDS);
            let min = t.expiration_bounds.map_or(1, |(min, _, _)| min).max(1);
            let lifetime = lifetime.min(max).max(min);
            impersonate(out, &source, principal, lifetime).await
        }
        _ => Err(super::method_unsupported(t)),
    }
}

/// The token endpoint's answer to `form` posted to `uri`.
async fn token_request(
    out: &Outbound,
    uri: &str,
    form: &[(&str, &str)],
) -> Result<Token, ProviderError> {
    let url = Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| {
            ProviderError::Invalid(
                "the token_uri of the credentials file is not an https URL".into(),
            )
        })?;
    request(out, &STANDARD, url, form).await
}

/// A service account's token: a signed assertion exchanged at its token endpoint.
pub(super) async fn service_account_token(
    out: &Outbound,
    key: &ServiceAccountKey,
) -> Result<Token, ProviderError> {
    let assertion = key.assertion(chrono::Utc::now().timestamp())?;
    token_request(
        out,
        key.token_uri(),
        &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
    )
    .await
}

/// A user account's token: its refresh token exchanged with its OAuth client.
async fn user_token(out: &Outbound, user: &AuthorizedUser) -> Result<Token, ProviderError> {
    token_request(
        out,
        user.token_uri(),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &user.client_id),
            ("client_secret", &user.client_secret),
            ("refresh_token", &user.refresh_token),
        ],
    )
    .await
}

/// A token of `principal`, made with `source` (IAM Credentials generateAccessToken).
async fn impersonate(
    out: &Outbound,
    source: &Token,
    principal: &str,
    lifetime: i64,
) -> Result<Token, ProviderError> {
    let url = generate_url(principal)?;
    let client = out.client(&Tls::default())?;
    let resp = out
        .send(
            client
                .post(url)
                .header(ACCEPT, "application/json")
                .header(CONTENT_TYPE, "application/json")
                .header(AUTHORIZATION, format!("Bearer {}", source.access_token))
                .body(generate_body(lifetime).to_string()),
        )
        .await?;
    let status = resp.status();
    let body = out.read(resp).await?;
    parse_generated(status, &body)
}

/// The generateAccessToken URL of `principal`.
fn generate_url(principal: &str) -> Result<Url, ProviderError> {
    let invalid = || {
        ProviderError::Invalid(
            "the attribute target_principal is not a service account email address".into(),
        )
    };
    if !principal.contains('@') || principal.contains(['/', '?', '#', ' ']) {
        return Err(invalid());
    }
    let mut url = Url::parse(IAM_CREDENTIALS).map_err(|_| invalid())?;
    url.path_segments_mut()
        .map_err(|_| invalid())?
        .extend(["v1", "projects", "-", "serviceAccounts"])
        .push(&format!("{principal}:generateAccessToken"));
    Ok(url)
}

/// The generateAccessToken request body.
fn generate_body(lifetime: i64) -> Value {
    json!({"scope": [CLOUD_PLATFORM], "lifetime": format!("{lifetime}s")})
}

/// generateAccessToken's answer: `{"accessToken", "expireTime"}`, or an API error.
fn parse_generated(status: StatusCode, body: &[u8]) -> Result<Token, ProviderError> {
    if !status.is_success() {
        return Err(api_error(
            "IAM Credentials (generateAccessToken)",
            status,
            body,
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ProviderError::Protocol("IAM Credentials answered no JSON".into()))?;
    let access_token = v["accessToken"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ProviderError::Protocol("IAM Credentials answered no accessToken".into()))?;
    let expires_at = v["expireTime"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| ProviderError::Protocol("IAM Credentials answered no expireTime".into()))?;
    Ok(Token::bearer(access_token, Some(expires_at)))
}

#[cfg(test)]
mod tests {
    use super::super::super::token_endpoint::parse;
    use super::*;

    #[test]
    fn impersonation_requests_name_the_principal_scope_and_lifetime() {
        assert_eq!(
            generate_url("work@p.iam.gserviceaccount.com")
                .unwrap()
                .as_str(),
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/work@p.iam.gserviceaccount.com:generateAccessToken"
        );
        for bad in ["work", "a@b/../x", "a@b?x"] {
            assert!(
                matches!(generate_url(bad), Err(ProviderError::Invalid(_))),
                "{bad}"
            );
        }
        assert_eq!(
            generate_body(900),
            json!({"scope": ["https://www.googleapis.com/auth/cloud-platform"], "lifetime": "900s"})
        );
    }

    #[test]
    fn token_endpoint_answers_are_parsed_and_refusals_mapped_by_code() {
        let ok = br#"{"access_token":"ya29.c.x","expires_in":3599,"token_type":"Bearer"}"#;
        let t = parse(&STANDARD, StatusCode::OK, ok, 0).unwrap();
        assert_eq!(
            (t.access_token.as_str(), t.expires_at),
            ("ya29.c.x", Some(3_599_000))
        );
        let secret = "Invalid JWT Signature for ya29.secret";
        for (status, code, denied) in [
            (StatusCode::BAD_REQUEST, "invalid_grant", true),
            (StatusCode::UNAUTHORIZED, "invalid_client", true),
            (StatusCode::BAD_REQUEST, "invalid_request", false),
        ] {
            let body = json!({"error": code, "error_description": secret}).to_string();
            let err = parse(&STANDARD, status, body.as_bytes(), 0).unwrap_err();
            assert_eq!(matches!(err, ProviderError::Denied(_)), denied, "{err:?}");
            assert!(err.to_string().contains(code), "{err}");
            assert!(!err.to_string().contains("ya29"), "{err}");
        }
        let err = parse(&STANDARD, StatusCode::FORBIDDEN, b"{}", 0).unwrap_err();
        assert!(matches!(err, ProviderError::Forbidden(_)), "{err:?}");
        let err = parse(&STANDARD, StatusCode::BAD_GATEWAY, b"<html>", 0).unwrap_err();
        assert!(matches!(err, ProviderError::Protocol(_)), "{err:?}");
    }

    #[test]
    fn generated_tokens_are_parsed_and_errors_mapped() {
        let t = parse_generated(
            StatusCode::OK,
            br#"{"accessToken":"ya29.x","expireTime":"2030-01-02T03:04:05Z"}"#,
        )
        .unwrap();
        assert_eq!(t.access_token, "ya29.x");
        assert_eq!(t.expires_at, Some(1_893_553_445_000));
        assert!(matches!(
            parse_generated(StatusCode::OK, br#"{"accessToken":"ya29.x"}"#),
            Err(ProviderError::Protocol(_))
        ));
        let denied = br#"{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied on ya29.secret","status":"PERMISSION_DENIED"}}"#;
        let err = parse_generated(StatusCode::FORBIDDEN, denied).unwrap_err();
        assert!(matches!(err, ProviderError::Forbidden(_)), "{err:?}");
        assert!(err.to_string().contains("PERMISSION_DENIED"), "{err}");
        assert!(!err.to_string().contains("ya29"), "{err}");
    }
}
