//! The OpenID Connect part of the configuration, checked from its variables.

use super::Secret;
use crate::cli::OidcArgs;

/// A validated OpenID Connect configuration.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Issuer URL, exactly as the provider states it in discovery and ID tokens.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret (`None`: public client).
    pub client_secret: Option<Secret>,
    /// Name on the sign-in button.
    pub display_name: String,
    /// Scopes requested besides `openid`.
    pub scopes: Vec<String>,
    /// Claim naming new users.
    pub username_claim: String,
    /// Claim listing groups.
    pub groups_claim: String,
    /// With group namespaces: create namespace `G` at sign-in when missing.
    pub create_group_namespaces: bool,
    /// Only members of these groups may sign in (empty: anyone).
    pub allowed_groups: Vec<String>,
}

/// True for an issuer URL we accept: https, or http on a loopback host (a provider on
/// the same machine), without query or fragment; for sign-in and for the issuers that
/// service accounts trust.
pub fn issuer_is_secure(url: &url::Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let secure = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    secure && url.query().is_none() && url.fragment().is_none()
}

impl OidcConfig {
    pub(super) fn from_args(args: &OidcArgs) -> Result<Option<Self>, String> {
        let (issuer, client_id) = match (&args.oidc_issuer, &args.oidc_client_id) {
            (None, None) => {
                if args.oidc_client_secret.is_some() {
                    return Err("PORTCULLIS_OIDC_CLIENT_SECRET needs PORTCULLIS_OIDC_ISSUER".into());
                }
                return Ok(None);
            }
            (Some(_), None) => {
                return Err("PORTCULLIS_OIDC_ISSUER needs PORTCULLIS_OIDC_CLIENT_ID".into());
            }
            (None, Some(_)) => {
                return Err("PORTCULLIS_OIDC_CLIENT_ID needs PORTCULLIS_OIDC_ISSUER".into());
            }
            (Some(i), Some(c)) => (i.trim().to_owned(), c.trim().to_owned()),
        };
        let url = url::Url::parse(&issuer)
            .map_err(|e| format!("PORTCULLIS_OIDC_ISSUER {issuer:?} is not a URL: {e}"))?;
        if !issuer_is_secure(&url) {
            return Err(format!(
                "PORTCULLIS_OIDC_ISSUER {issuer:?} must be an https URL (http only on a loopback host) without query or fragment"
            ));
        }
        if client_id.is_empty() {
            return Err("PORTCULLIS_OIDC_CLIENT_ID must not be empty".into());
        }
        let claim = |name: &str, value: &str| -> Result<String, String> {
            let v = value.trim();
            if v.is_empty() || v.len() > 128 {
                return Err(format!("{name} must be a claim name of 1-128 characters"));
            }
            Ok(v.to_owned())
        };
        let display_name = match args.oidc_name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => n.to_owned(),
            _ => url.host_str().unwrap_or("OpenID Connect").to_owned(),
        };
        let mut scopes: Vec<String> = Vec::new();
        for s in args.oidc_scopes.split_whitespace() {
            if s != "openid" && !scopes.iter().any(|x| x == s) {
                scopes.push(s.to_owned());
            }
        }
        Ok(Some(Self {
            issuer,
            client_id,
            client_secret: args
                .oidc_client_secret
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::from),
            display_name,
            scopes,
            username_claim: claim("PORTCULLIS_OIDC_USERNAME_CLAIM", &args.oidc_username_claim)?,
            groups_claim: claim("PORTCULLIS_OIDC_GROUPS_CLAIM", &args.oidc_groups_claim)?,
            create_group_namespaces: args.oidc_create_group_namespaces,
            allowed_groups: comma_list(&args.oidc_allowed_groups),
        }))
    }
}

/// Splits a comma-separated list, dropping blanks.
pub(super) fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
