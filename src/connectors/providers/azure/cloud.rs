//! Which Azure cloud a connector signs in to (its `authority_host`), and that cloud's
//! Resource Manager and Blob Storage endpoints.

use url::Url;

use super::super::{ProviderError, Target};

/// The public cloud's sign-in host.
const PUBLIC_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Endpoints of one Azure cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cloud {
    /// Where tokens come from (`{authority}/{tenant}/oauth2/v2.0/token`).
    pub authority: Url,
    /// Azure Resource Manager, without a trailing slash (also the audience of its tokens).
    pub arm: &'static str,
    /// The DNS suffix of storage accounts' blob services.
    pub blob_suffix: &'static str,
}

impl Cloud {
    /// The cloud of `t`: from its `authority_host` (a host, or a URL for a test
    /// provider), the public cloud when unset. Sovereign sign-in hosts select their
    /// cloud's endpoints; any other host keeps the public ones.
    pub fn of(t: &Target) -> Result<Self, ProviderError> {
        let text = t.text("authority_host").unwrap_or(PUBLIC_AUTHORITY);
        let bad = || {
            ProviderError::Invalid(
                "the attribute authority_host must be a host name like login.microsoftonline.us \
                 or an https URL"
                    .into(),
            )
        };
        let url = if text.contains("://") {
            Url::parse(text)
        } else {
            Url::parse(&format!("https://{text}"))
        }
        .map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad());
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let (arm, blob_suffix) = match host.as_str() {
            "login.microsoftonline.us" => (
                "https://management.usgovcloudapi.net",
                "blob.core.usgovcloudapi.net",
            ),
            "login.chinacloudapi.cn" | "login.partner.microsoftonline.cn" => (
                "https://management.chinacloudapi.cn",
                "blob.core.chinacloudapi.cn",
            ),
            _ => ("https://management.azure.com", "blob.core.windows.net"),
        };
        Ok(Self {
            authority: url,
            arm,
            blob_suffix,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cloud(authority_host: Option<&str>) -> Result<Cloud, ProviderError> {
        let config = match authority_host {
            Some(h) => json!({ "authority_host": h }),
            None => json!({}),
        };
        Cloud::of(&Target {
            name: "t".into(),
            connector_type: "azure".into(),
            auth_method: "service-principal".into(),
            resource_types: vec![],
            resource_id: None,
            config: config.as_object().cloned().unwrap_or_default(),
            expiration_seconds: None,
            expiration_bounds: None,
        })
    }

    #[test]
    fn the_authority_host_selects_the_cloud() {
        let public = cloud(None).unwrap();
        assert_eq!(
            public.authority.as_str(),
            "https://login.microsoftonline.com/"
        );
        assert_eq!(public.arm, "https://management.azure.com");
        let gov = cloud(Some("login.microsoftonline.us")).unwrap();
        assert_eq!(gov.authority.as_str(), "https://login.microsoftonline.us/");
        assert_eq!(gov.blob_suffix, "blob.core.usgovcloudapi.net");
        let china = cloud(Some("https://login.chinacloudapi.cn")).unwrap();
        assert_eq!(china.arm, "https://management.chinacloudapi.cn");
        let test = cloud(Some("http://127.0.0.1:8080/entra")).unwrap();
        assert_eq!(test.authority.as_str(), "http://127.0.0.1:8080/entra");
        assert_eq!(test.arm, "https://management.azure.com");
        for bad in ["ftp://x", "https://x/?q=1", "not a host"] {
            assert!(
                matches!(cloud(Some(bad)), Err(ProviderError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
