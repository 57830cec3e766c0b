//! What AWS error answers mean: refused credentials, missing permission, or something
//! else; in words safe to show.

use serde::Deserialize;
use serde_json::Value;

use super::super::ProviderError;
use super::endpoints::Service;

/// Longest provider message kept in an error.
pub(super) const MAX_MESSAGE: usize = 300;

/// Codes meaning the credentials themselves were refused.
pub(super) const DENIED: [&str; 9] = [
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "AuthFailure",
];
/// Codes meaning the credentials work but may not do this.
pub(super) const FORBIDDEN: [&str; 4] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AllAccessDisabled",
];

/// The error a non-2xx answer means; `secrets` never appear in it.
pub(super) fn error_from(
    service: Service,
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
    secrets: &[&str],
) -> ProviderError {
    let (code, message) = error_fields(error_type, body);
    let code = code.map(|c| clean_code(&c));
    let label = service.label();
    let mut text = match (&code, &message) {
        (Some(c), Some(m)) => format!("{label}: {c}: {m}"),
        (Some(c), None) => format!("{label}: {c}"),
        (None, _) => format!("{label}: HTTP {status}"),
    };
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "[REDACTED]");
    }
    if text.chars().count() > MAX_MESSAGE {
        text = text.chars().take(MAX_MESSAGE).collect::<String>() + "…";
    }
    match code.as_deref() {
        Some(c) if DENIED.contains(&c) => ProviderError::Denied(text),
        Some(c) if FORBIDDEN.contains(&c) => ProviderError::Forbidden(text),
        Some(_) => ProviderError::Protocol(format!("{text} (HTTP {status})")),
        None if status == 401 => ProviderError::Denied(text),
        None if status == 403 => ProviderError::Forbidden(text),
        None => ProviderError::Protocol(text),
    }
}

/// `Code` and `Message` of an XML error (query `ErrorResponse/Error`, S3 `Error`, or
/// `ErrorResponse/Errors/Error` as EC2 and moto write it), or
/// of a JSON one (`__type`/`code`, `message`/`Message`, or the `x-amzn-ErrorType` header).
pub(super) fn error_fields(
    error_type: Option<&str>,
    body: &[u8],
) -> (Option<String>, Option<String>) {
    #[derive(Deserialize, Default)]
    struct Fields {
        #[serde(rename = "Code")]
        code: Option<String>,
        #[serde(rename = "Message")]
        message: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct Errors {
        #[serde(rename = "Error")]
        error: Option<Fields>,
    }
    #[derive(Deserialize)]
    struct XmlError {
        #[serde(rename = "Errors")]
        errors: Option<Errors>,
        #[serde(rename = "Error")]
        error: Option<Fields>,
        #[serde(rename = "Code")]
        code: Option<String>,
        #[serde(rename = "Message")]
        message: Option<String>,
    }
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    let (mut code, mut message) = (None, None);
    if trimmed.starts_with('<') {
        if let Ok(e) = quick_xml::de::from_str::<XmlError>(trimmed) {
            let inner = e
                .error
                .or(e.errors.and_then(|list| list.error))
                .unwrap_or_default();
            code = nonempty(inner.code).or(nonempty(e.code));
            message = nonempty(inner.message).or(nonempty(e.message));
        }
    } else if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(trimmed) {
        let field = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| o.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        };
        code = nonempty(field(&["__type", "code", "Code"]));
        message = nonempty(field(&["message", "Message"]));
    }
    let code = code.or_else(|| nonempty(error_type.map(str::to_owned)));
    (code, message)
}

/// `com.amazonaws.ecr#AccessDeniedException` or `AccessDeniedException:http://…` →
/// `AccessDeniedException`.
pub(super) fn clean_code(code: &str) -> String {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code).trim().to_owned()
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_without_secrets() {
        let sts = |code: &str, message: &str| {
            format!(
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>
  <RequestId>4b5a5c1e</RequestId>
</ErrorResponse>"#
            )
        };
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let cases: Vec<(Service, u16, Option<&str>, String, ProviderError)> = vec![
            (
                Service::Sts,
                403,
                None,
                sts("InvalidClientTokenId", "The security token included in the request is invalid."),
                ProviderError::Denied(
                    "STS: InvalidClientTokenId: The security token included in the request is invalid.".into(),
                ),
            ),
            (
                Service::Sts,
                403,
                None,
                sts("SignatureDoesNotMatch", &format!("bad signature for {secret}")),
                ProviderError::Denied("STS: SignatureDoesNotMatch: bad signature for [REDACTED]".into()),
            ),
            (
                Service::S3,
                403,
                None,
                "<?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message><AWSAccessKeyId>AKIA</AWSAccessKeyId></Error>".into(),
                ProviderError::Denied(
                    "S3: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.".into(),
                ),
            ),
            (
                Service::S3,
                403,
                None,
                "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>".into(),
                ProviderError::Forbidden("S3: AccessDenied: Access Denied".into()),
            ),
            (
                Service::Sts,
                403,
                None,
                sts("AccessDenied", "User is not authorized to perform: sts:AssumeRole"),
                ProviderError::Forbidden(
                    "STS: AccessDenied: User is not authorized to perform: sts:AssumeRole".into(),
                ),
            ),
            (
                Service::Ecr,
                400,
                None,
                r#"{"__type":"com.amazonaws.ecr#AccessDeniedException","message":"not allowed"}"#.into(),
                ProviderError::Forbidden("ECR: AccessDeniedException: not allowed".into()),
            ),
            (
                Service::Ecr,
                400,
                None,
                r#"{"__type":"UnrecognizedClientException","message":"The security token included in the request is invalid."}"#.into(),
                ProviderError::Denied(
                    "ECR: UnrecognizedClientException: The security token included in the request is invalid.".into(),
                ),
            ),
            (
                Service::Eks,
                403,
                Some("AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"),
                r#"{"message":"User is not authorized"}"#.into(),
                ProviderError::Forbidden("EKS: AccessDeniedException: User is not authorized".into()),
            ),
            (
                Service::Sts,
                400,
                None,
                sts("ValidationError", "1 validation error detected"),
                ProviderError::Protocol("STS: ValidationError: 1 validation error detected (HTTP 400)".into()),
            ),
            (
                Service::Eks,
                403,
                None,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>".into(),
                ProviderError::Denied(
                    "EKS: SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.".into(),
                ),
            ),
            (
                Service::S3,
                403,
                None,
                String::new(),
                ProviderError::Forbidden("S3: HTTP 403".into()),
            ),
            (
                Service::S3,
                500,
                None,
                "oops".into(),
                ProviderError::Protocol("S3: HTTP 500".into()),
            ),
        ];
        for (service, status, error_type, body, want) in cases {
            let got = error_from(service, status, error_type, body.as_bytes(), &[secret, ""]);
            assert_eq!(got, want, "{body}");
            assert!(!got.to_string().contains(secret));
        }
        let long = sts("Throttling", &"x".repeat(1000));
        let text = error_from(Service::Sts, 400, None, long.as_bytes(), &[]).to_string();
        assert!(text.chars().count() < MAX_MESSAGE + 40, "{text}");
    }
}
