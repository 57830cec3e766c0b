//! Where AWS calls go: the services, their regional endpoints or the one configured
//! endpoint, the checks on region and endpoint URL, and query encoding.

use url::Url;

use super::super::{ProviderError, Target};

/// An AWS service as far as endpoints, signing and messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    Sts,
    S3,
    Eks,
    Ecr,
}

impl Service {
    /// The signing name (and the first label of the regional host).
    pub(super) fn signing_name(self) -> &'static str {
        match self {
            Self::Sts => "sts",
            Self::S3 => "s3",
            Self::Eks => "eks",
            Self::Ecr => "ecr",
        }
    }

    /// The name in messages.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sts => "STS",
            Self::S3 => "S3",
            Self::Eks => "EKS",
            Self::Ecr => "ECR",
        }
    }

    /// The regional host name.
    pub(super) fn host(self, region: &str) -> String {
        let suffix = dns_suffix(region);
        match self {
            Self::Ecr => format!("api.ecr.{region}.{suffix}"),
            other => format!("{}.{region}.{suffix}", other.signing_name()),
        }
    }
}

/// The DNS suffix of a region's partition.
pub(super) fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The ARN partition of a region.
pub(super) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The base URL of `service`: the configured endpoint for every service, else the
/// regional one.
pub(super) fn endpoint(service: Service, region: &str, endpoint_url: Option<&Url>) -> String {
    match endpoint_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("https://{}", service.host(region)),
    }
}

/// The configured region, checked to be a region code (it becomes part of host names).
pub(super) fn region(t: &Target) -> Result<String, ProviderError> {
    let r = t.required("region")?;
    let ok = r.len() <= 32
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && !r.ends_with('-')
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(r.to_owned())
    } else {
        Err(ProviderError::Invalid(format!(
            "the region {r:?} is not an AWS region code such as eu-central-1"
        )))
    }
}

/// The configured endpoint URL, if any.
pub(super) fn endpoint_url(t: &Target) -> Result<Option<Url>, ProviderError> {
    let Some(raw) = t.text("endpoint_url") else {
        return Ok(None);
    };
    let url = Url::parse(raw).map_err(|_| {
        ProviderError::Invalid("the attribute endpoint_url is not a URL".to_owned())
    })?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if plain {
        Ok(Some(url))
    } else {
        Err(ProviderError::Invalid(
            "the attribute endpoint_url must be an http(s) URL without credentials, query or fragment"
                .to_owned(),
        ))
    }
}

/// A query value, percent-encoded as AWS SDKs do (all but `A-Z a-z 0-9 - _ . ~`; space
/// as `%20`). Services that check the signature on a re-encoded form (moto) need exactly
/// this, not the `+` and bare `*` of HTML forms.
pub(super) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query API body: `k=v&…`, encoded with [`encode`].
pub(super) fn query_form<'p>(params: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
    params
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::connectors::providers::aws::target;

    #[test]
    fn query_forms_are_encoded_like_the_sdks() {
        assert_eq!(
            query_form([
                ("Action", "GetFederationToken"),
                (
                    "Policy",
                    r#"{"Action":"s3:*","Resource":"arn:aws:s3:::b/*"} ~x+y"#
                ),
                (
                    "PolicyArns.member.1.arn",
                    "arn:aws:iam::aws:policy/ReadOnlyAccess"
                ),
            ]),
            "Action=GetFederationToken\
             &Policy=%7B%22Action%22%3A%22s3%3A%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%20~x%2By\
             &PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn endpoints_are_regional_or_the_configured_one() {
        let custom = Url::parse("http://127.0.0.1:5000/").unwrap();
        for (service, region, configured, want) in [
            (
                Service::Sts,
                "eu-central-1",
                None,
                "https://sts.eu-central-1.amazonaws.com",
            ),
            (
                Service::S3,
                "us-east-1",
                None,
                "https://s3.us-east-1.amazonaws.com",
            ),
            (
                Service::Eks,
                "eu-west-3",
                None,
                "https://eks.eu-west-3.amazonaws.com",
            ),
            (
                Service::Ecr,
                "eu-central-1",
                None,
                "https://api.ecr.eu-central-1.amazonaws.com",
            ),
            (
                Service::Sts,
                "cn-north-1",
                None,
                "https://sts.cn-north-1.amazonaws.com.cn",
            ),
            (
                Service::S3,
                "eu-central-1",
                Some(&custom),
                "http://127.0.0.1:5000",
            ),
            (
                Service::Ecr,
                "eu-central-1",
                Some(&custom),
                "http://127.0.0.1:5000",
            ),
        ] {
            assert_eq!(
                endpoint(service, region, configured),
                want,
                "{service:?} {region}"
            );
        }
    }

    #[test]
    fn regions_and_endpoint_urls_are_checked() {
        for (region, ok) in [
            ("eu-central-1", true),
            ("us-gov-west-1", true),
            ("evil.example.com/#", false),
            ("EU-CENTRAL-1", false),
            ("eu-", false),
            ("", false),
        ] {
            let t = target("secret-key", json!({"region": region}));
            assert_eq!(super::region(&t).is_ok(), ok, "{region:?}");
        }
        for (url, ok) in [
            ("http://127.0.0.1:4566", true),
            ("https://minio.internal/", true),
            ("ftp://host/", false),
            ("http://user:pw@host/", false),
            ("http://host/?x=1", false),
            ("not a url", false),
        ] {
            let t = target(
                "secret-key",
                json!({"region": "us-east-1", "endpoint_url": url}),
            );
            assert_eq!(super::endpoint_url(&t).is_ok(), ok, "{url:?}");
        }
    }
}
