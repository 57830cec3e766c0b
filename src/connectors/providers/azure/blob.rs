//! Blob Storage: the containers of one storage account (List Containers, XML, page
//! after page with `NextMarker`), with a bearer token for `https://storage.azure.com`.

use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use super::super::http::{answered, bearer_get, by_status, safe_code};
use super::super::{ProviderError, Target};
use super::cloud::Cloud;
use crate::outbound::Outbound;

/// The Blob service version asked for (bearer tokens need 2017-11-09 or later).
const VERSION: &str = "2021-08-06";
/// Most pages followed (5,000 containers each).
const MAX_PAGES: usize = 20;

/// The Blob service URL: `blob_endpoint`, or `https://<storage_account>.<suffix>`.
pub(super) fn endpoint(t: &Target, cloud: &Cloud) -> Result<Url, ProviderError> {
    let text = match t.text("blob_endpoint") {
        Some(url) => url.to_owned(),
        None => {
            let account = t.text("storage_account").ok_or_else(|| {
                ProviderError::Invalid(
                    "blob containers need the attribute storage_account (or blob_endpoint)".into(),
                )
            })?;
            if !account
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                return Err(ProviderError::Invalid(
                    "the attribute storage_account must be lower-case letters and digits".into(),
                ));
            }
            format!("https://{account}.{}", cloud.blob_suffix)
        }
    };
    let url = Url::parse(&text)
        .map_err(|_| ProviderError::Invalid("the attribute blob_endpoint is not a URL".into()))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(ProviderError::Invalid(
            "the attribute blob_endpoint must be an https URL without a query".into(),
        ));
    }
    Ok(url)
}

/// The names of the containers at `endpoint`, sorted.
pub(super) async fn containers(
    out: &Outbound,
    endpoint: &Url,
    token: &str,
) -> Result<Vec<String>, ProviderError> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut url = endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("comp", "list");
            if let Some(m) = &marker {
                q.append_pair("marker", m);
            }
        }
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let headers = [("x-ms-version", VERSION.to_owned()), ("x-ms-date", date)];
        let (status, body) = bearer_get(out, url, token, &headers).await?;
        marker = parse_page(status, &body, &mut names)?;
        if marker.is_none() {
            names.sort();
            return Ok(names);
        }
    }
    Err(ProviderError::Protocol(format!(
        "the storage account listed more than {MAX_PAGES} pages of containers"
    )))
}

#[derive(Deserialize)]
struct EnumerationResults {
    #[serde(rename = "Containers", default)]
    containers: Containers,
    #[serde(rename = "NextMarker", default)]
    next_marker: Option<String>,
}

#[derive(Deserialize, Default)]
struct Containers {
    #[serde(rename = "Container", default)]
    container: Vec<Container>,
}

#[derive(Deserialize)]
struct Container {
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Deserialize)]
struct StorageError {
    #[serde(rename = "Code")]
    code: String,
}

/// One List Containers answer: its names added to `names`, and the next marker.
fn parse_page(
    status: StatusCode,
    body: &[u8],
    names: &mut Vec<String>,
) -> Result<Option<String>, ProviderError> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}').trim();
    if !status.is_success() {
        return Err(error(status, text));
    }
    let page: EnumerationResults = quick_xml::de::from_str(text).map_err(|_| {
        ProviderError::Protocol("the storage account answered no container list".into())
    })?;
    names.extend(
        page.containers
            .container
            .into_iter()
            .map(|c| c.name.trim().to_owned())
            .filter(|n| !n.is_empty()),
    );
    Ok(page
        .next_marker
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty()))
}

/// A Blob service error: its code (never the message, which may quote the request).
fn error(status: StatusCode, xml: &str) -> ProviderError {
    let code = quick_xml::de::from_str::<StorageError>(xml)
        .ok()
        .and_then(|e| safe_code(&e.code, &[]));
    let why = answered("the storage account", code.as_deref(), "", status);
    match (status, code.as_deref()) {
        (_, Some("AuthenticationFailed" | "InvalidAuthenticationInfo")) => {
            ProviderError::Denied(why)
        }
        (StatusCode::NOT_FOUND, _) => ProviderError::Invalid(why),
        _ => by_status(status, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_lists_are_read_page_by_page() {
        let page = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>
<EnumerationResults ServiceEndpoint=\"https://acct.blob.core.windows.net/\">
  <MaxResults>2</MaxResults>
  <Containers>
    <Container><Name>alpha</Name><Properties><Etag>\"0x1\"</Etag></Properties></Container>
    <Container><Name>beta</Name><Properties/></Container>
  </Containers>
  <NextMarker>/acct/gamma</NextMarker>
</EnumerationResults>";
        let mut names = Vec::new();
        let next = parse_page(StatusCode::OK, page.as_bytes(), &mut names).unwrap();
        assert_eq!(names, ["alpha", "beta"]);
        assert_eq!(next.as_deref(), Some("/acct/gamma"));
        let last = "<EnumerationResults><Containers /><NextMarker /></EnumerationResults>";
        assert_eq!(
            parse_page(StatusCode::OK, last.as_bytes(), &mut names).unwrap(),
            None
        );
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn storage_errors_name_the_code_only() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>AuthorizationPermissionMismatch</Code>\
                   <Message>secret details</Message></Error>";
        let err = parse_page(StatusCode::FORBIDDEN, xml.as_bytes(), &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "permission denied: the storage account answered AuthorizationPermissionMismatch (HTTP 403)"
        );
        let xml = "<Error><Code>AuthenticationFailed</Code></Error>";
        let err = parse_page(StatusCode::FORBIDDEN, xml.as_bytes(), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, ProviderError::Denied(_)), "{err:?}");
    }
}
