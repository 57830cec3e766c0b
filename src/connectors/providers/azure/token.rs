//! Microsoft Entra ID tokens: client credentials from the v2.0 token endpoint, and the
//! expiry of a stored token (its `exp` claim, read without checking the signature: the
//! APIs check it; this only reports an expired token clearly).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;

use super::super::token_endpoint::{Dialect, ErrorKind, Token, request};
use super::super::{ProviderError, Target};
use super::cloud::Cloud;
use crate::outbound::Outbound;

/// A token for `scope` (`<audience>/.default`) with the connector's method.
pub(super) async fn token(
    out: &Outbound,
    t: &Target,
    cloud: &Cloud,
    scope: &str,
) -> Result<Token, ProviderError> {
    match t.auth_method.as_str() {
        "service-principal" => client_credentials(out, t, cloud, scope).await,
        "access-token" => stored(t, chrono::Utc::now().timestamp_millis()),
        "implicit" => Err(ProviderError::Unsupported(
            "azure/implicit (the server's own managed identity or Azure CLI login) is not \
             available yet: use service-principal or access-token"
                .into(),
        )),
        other => Err(ProviderError::Unsupported(format!(
            "azure connectors have no auth method {other}"
        ))),
    }
}

/// The OAuth2 client-credentials grant at `{authority}/{tenant}/oauth2/v2.0/token`.
async fn client_credentials(
    out: &Outbound,
    t: &Target,
    cloud: &Cloud,
    scope: &str,
) -> Result<Token, ProviderError> {
    let tenant = t.required("tenant_id")?;
    let client_id = t.required("client_id")?;
    let secret = t.required("client_secret")?;
    let mut url = cloud.authority.clone();
    url.path_segments_mut()
        .map_err(|_| ProviderError::Invalid("the attribute authority_host is not a URL".into()))?
        .pop_if_empty()
        .extend([tenant, "oauth2", "v2.0", "token"]);
    let pairs = [
        ("client_id", client_id),
        ("client_secret", secret),
        ("grant_type", "client_credentials"),
        ("scope", scope),
    ];
    request(out, &ENTRA_ID, url, &pairs).await
}

/// Microsoft Entra ID's token endpoint: its refusals name the error code and the AADSTS
/// number, never the description (it may quote what was sent).
const ENTRA_ID: Dialect = Dialect {
    who: "Microsoft Entra ID",
    punctuation: &['_'],
    kind: entra_kind,
    detail: |v| {
        v["error_codes"][0]
            .as_u64()
            .map(|n| format!("AADSTS{n}, "))
            .unwrap_or_default()
    },
};

fn entra_kind(code: &str, status: StatusCode) -> ErrorKind {
    match code {
        "invalid_client" | "unauthorized_client" | "invalid_grant" => ProviderError::Denied,
        "invalid_scope" | "invalid_resource" => ProviderError::Forbidden,
        "invalid_request" => ProviderError::Invalid,
        _ if status == StatusCode::UNAUTHORIZED => ProviderError::Denied,
        _ => ProviderError::Protocol,
    }
}

/// The stored token of an access-token connector, refused once its `exp` has passed.
pub(super) fn stored(t: &Target, now: i64) -> Result<Token, ProviderError> {
    let access_token = t.required("token")?;
    let expires_at = jwt_expiry(access_token);
    if let Some(at) = expires_at.filter(|at| *at <= now) {
        let when = chrono::DateTime::from_timestamp_millis(at).map_or_else(String::new, |d| {
            format!(" at {}", d.format("%Y-%m-%d %H:%M:%S UTC"))
        });
        return Err(ProviderError::Denied(format!(
            "the stored access token expired{when}; store a new one"
        )));
    }
    Ok(Token::bearer(access_token, expires_at))
}

/// The `exp` claim (ms) of a JWT, unverified; `None` for anything else.
pub(super) fn jwt_expiry(token: &str) -> Option<i64> {
    claims(token)?["exp"].as_i64().map(|s| s * 1000)
}

fn claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::super::token_endpoint::parse;
    use super::*;

    fn jwt(claims: &Value) -> String {
        let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", part(&json!({"alg": "RS256"})), part(claims))
    }

    fn access_token_target(token: &str) -> Target {
        Target {
            name: "t".into(),
            connector_type: "azure".into(),
            auth_method: "access-token".into(),
            resource_types: vec![],
            resource_id: None,
            config: json!({"token": token})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            expiration_seconds: None,
            expiration_bounds: None,
        }
    }

    #[test]
    fn stored_tokens_report_their_expiry_and_are_refused_after_it() {
        let now = 1_700_000_000_000;
        let live = jwt(&json!({"exp": 1_700_000_600}));
        assert_eq!(
            stored(&access_token_target(&live), now).unwrap().expires_at,
            Some(1_700_000_600_000)
        );
        let dead = jwt(&json!({"exp": 1_699_999_000}));
        let err = stored(&access_token_target(&dead), now)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "authentication failed: the stored access token expired at 2023-11-14 21:56:40 UTC; store a new one"
        );
        assert_eq!(
            stored(&access_token_target("opaque"), now)
                .unwrap()
                .expires_at,
            None
        );
        assert_eq!(jwt_expiry("a.!!!.c"), None);
    }

    #[test]
    fn token_errors_name_the_aadsts_code_but_never_the_description() {
        let secret = "s3cr3t";
        let body = format!(
            r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret {secret}","error_codes":[7000215]}}"#
        );
        let err = parse(&ENTRA_ID, StatusCode::UNAUTHORIZED, body.as_bytes(), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "authentication failed: Microsoft Entra ID answered invalid_client (AADSTS7000215, HTTP 401)"
        );
        let err = parse(
            &ENTRA_ID,
            StatusCode::BAD_REQUEST,
            br#"{"error":"unauthorized_client","error_codes":[700016]}"#,
            0,
        )
        .unwrap_err();
        assert!(matches!(err, ProviderError::Denied(_)), "{err:?}");
        let err = parse(
            &ENTRA_ID,
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_request"}"#,
            0,
        )
        .unwrap_err();
        assert!(matches!(err, ProviderError::Invalid(_)), "{err:?}");
        let err = parse(&ENTRA_ID, StatusCode::BAD_GATEWAY, b"<html>", 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected answer: Microsoft Entra ID answered HTTP 502"
        );
        let ok = parse(
            &ENTRA_ID,
            StatusCode::OK,
            br#"{"token_type":"Bearer","expires_in":3599,"access_token":"at"}"#,
            1000,
        )
        .unwrap();
        assert_eq!(ok.access_token, "at");
        assert_eq!(ok.expires_at, Some(1000 + 3_599_000));
    }
}
