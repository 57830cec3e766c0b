//! Azure Resource Manager listings: AKS clusters and container registries of a
//! subscription (or one resource group), page after page (`nextLink`).

use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use serde_json::Value;
use url::Url;

use super::super::http::{answered, bearer_get, by_status, safe_code};
use super::super::{ProviderError, Target};
use crate::outbound::Outbound;

/// Most pages followed.
const MAX_PAGES: usize = 50;

/// What a listing collects from each item of `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    /// `name` (AKS clusters).
    Name,
    /// `properties.loginServer` (container registries).
    LoginServer,
}

/// The items of `provider` (e.g. `Microsoft.ContainerService/managedClusters`) in the
/// connector's subscription, within its resource group when it has one.
pub(super) async fn list(
    out: &Outbound,
    t: &Target,
    arm: &str,
    token: &str,
    provider: &str,
    api_version: &str,
    field: Field,
) -> Result<Vec<String>, ProviderError> {
    let subscription = t.required("subscription_id")?;
    let mut url = Url::parse(arm).map_err(|_| ProviderError::Invalid("bad ARM URL".into()))?;
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|_| ProviderError::Invalid("bad ARM URL".into()))?;
        path.clear().extend(["subscriptions", subscription]);
        if let Some(group) = t.text("resource_group") {
            path.extend(["resourceGroups", group]);
        }
        path.push("providers").extend(provider.split('/'));
    }
    url.query_pairs_mut()
        .append_pair("api-version", api_version);
    let mut ids = Vec::new();
    for _ in 0..MAX_PAGES {
        let accept = [(ACCEPT.as_str(), "application/json".to_owned())];
        let (status, body) = bearer_get(out, url.clone(), token, &accept).await?;
        let next = parse_page(status, &body, field, &mut ids)?;
        match next {
            // The token goes only to Resource Manager itself.
            Some(next) if next.origin() == url.origin() => url = next,
            Some(_) => {
                return Err(ProviderError::Protocol(
                    "Resource Manager pointed the next page to another host".into(),
                ));
            }
            None => {
                ids.sort();
                ids.dedup();
                return Ok(ids);
            }
        }
    }
    Err(ProviderError::Protocol(format!(
        "Resource Manager answered more than {MAX_PAGES} pages"
    )))
}

/// One page: its items added to `ids`, and the next page's URL.
fn parse_page(
    status: StatusCode,
    body: &[u8],
    field: Field,
    ids: &mut Vec<String>,
) -> Result<Option<Url>, ProviderError> {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    if !status.is_success() {
        return Err(error(status, &v));
    }
    let items = v["value"]
        .as_array()
        .ok_or_else(|| ProviderError::Protocol("Resource Manager answered no value list".into()))?;
    for item in items {
        let id = match field {
            Field::Name => item["name"].as_str(),
            Field::LoginServer => item["properties"]["loginServer"].as_str(),
        };
        if let Some(id) = id.map(str::trim).filter(|s| !s.is_empty()) {
            ids.push(id.to_owned());
        }
    }
    match v["nextLink"].as_str().filter(|s| !s.is_empty()) {
        Some(next) => Url::parse(next).map(Some).map_err(|_| {
            ProviderError::Protocol("Resource Manager answered a bad nextLink".into())
        }),
        None => Ok(None),
    }
}

/// A Resource Manager error: its code (never the message, which may quote ids).
fn error(status: StatusCode, v: &Value) -> ProviderError {
    let code = v["error"]["code"].as_str().and_then(|c| safe_code(c, &[]));
    let why = answered("Resource Manager", code.as_deref(), "", status);
    match status {
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => ProviderError::Invalid(why),
        _ => by_status(status, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_give_names_or_login_servers_and_the_next_link() {
        let mut ids = Vec::new();
        let body = br#"{"value":[{"name":"aks-prod","properties":{}},{"name":"AKS-dev"}],
            "nextLink":"https://management.azure.com/subscriptions/s/providers/x?api-version=1&$skiptoken=a"}"#;
        let next = parse_page(StatusCode::OK, body, Field::Name, &mut ids).unwrap();
        assert_eq!(ids, ["aks-prod", "AKS-dev"]);
        assert!(next.unwrap().as_str().contains("skiptoken"));
        let body = br#"{"value":[{"name":"r","properties":{"loginServer":"myreg.azurecr.io"}}]}"#;
        let mut ids = Vec::new();
        let next = parse_page(StatusCode::OK, body, Field::LoginServer, &mut ids).unwrap();
        assert_eq!((ids, next), (vec!["myreg.azurecr.io".to_owned()], None));
    }

    #[test]
    fn errors_name_the_code_only() {
        let body =
            br#"{"error":{"code":"AuthorizationFailed","message":"client 'secret-id' ..."}}"#;
        let err =
            parse_page(StatusCode::FORBIDDEN, body, Field::Name, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "permission denied: Resource Manager answered AuthorizationFailed (HTTP 403)"
        );
        let err =
            parse_page(StatusCode::UNAUTHORIZED, b"", Field::Name, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, ProviderError::Denied(_)));
        let err = parse_page(StatusCode::OK, b"{}", Field::Name, &mut Vec::new()).unwrap_err();
        assert!(matches!(err, ProviderError::Protocol(_)));
    }
}
