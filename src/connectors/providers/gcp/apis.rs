//! The Google APIs discovery calls: Cloud Storage bucket lists (paged) and GKE cluster
//! lists, and the mapping of their errors to [`ProviderError`]s (the HTTP status and
//! Google's status code only, never the message, which may quote the request).

use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use serde_json::Value;
use url::Url;

use super::super::ProviderError;
use super::super::http::{answered, bearer_get, by_status, safe_code};
use crate::outbound::Outbound;

/// Google's Cloud Storage API root.
pub(super) const STORAGE_ROOT: &str = "https://storage.googleapis.com";
/// The GKE API root.
const CONTAINER_ROOT: &str = "https://container.googleapis.com";
/// Most buckets listed.
pub(super) const MAX_BUCKETS: usize = 10_000;
/// Most pages read (a server repeating page tokens cannot keep us here).
const MAX_PAGES: usize = 100;

/// An API's refusal, safe to show: 401 → Denied, 403 → Forbidden, others → Protocol.
pub(super) fn api_error(api: &str, status: StatusCode, body: &[u8]) -> ProviderError {
    let code = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v["error"]["status"]
            .as_str()
            .and_then(|s| safe_code(s, &['_']))
    });
    by_status(status, answered(api, code.as_deref(), "", status))
}

/// `GET url` with the token; the JSON answer.
async fn get_json(
    out: &Outbound,
    api: &str,
    url: Url,
    token: &str,
) -> Result<Value, ProviderError> {
    let accept = [(ACCEPT.as_str(), "application/json".to_owned())];
    let (status, body) = bearer_get(out, url, token, &accept).await?;
    if !status.is_success() {
        return Err(api_error(api, status, &body));
    }
    serde_json::from_slice(&body)
        .map_err(|_| ProviderError::Protocol(format!("{api} answered no JSON")))
}

/// The array `v[key]` of a list answer (none at all when empty), or `Protocol(why)`.
fn list<'a>(v: &'a Value, key: &str, why: &str) -> Result<&'a [Value], ProviderError> {
    match &v[key] {
        Value::Null => Ok(&[]),
        Value::Array(items) => Ok(items),
        _ => Err(ProviderError::Protocol(why.into())),
    }
}

/// The bucket-list URL of `project` under `root` (`{root}/storage/v1/b?project=…`).
pub(super) fn buckets_url(
    root: &str,
    project: &str,
    page_token: Option<&str>,
) -> Result<Url, ProviderError> {
    let mut url = Url::parse(&format!("{}/storage/v1/b", root.trim_end_matches('/')))
        .map_err(|_| ProviderError::Invalid("the attribute endpoint_url is not a URL".into()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("project", project);
        if let Some(p) = page_token {
            q.append_pair("pageToken", p);
        }
    }
    Ok(url)
}

/// Bucket ids gathered page by page.
#[derive(Debug, Default)]
pub(super) struct BucketPages {
    ids: Vec<String>,
    pages: usize,
}

impl BucketPages {
    /// Adds one page (`{"items":[{"name"}], "nextPageToken"}`); the token of the next
    /// page, while one is worth reading.
    pub fn add(&mut self, page: &Value) -> Result<Option<String>, ProviderError> {
        let items = list(
            page,
            "items",
            "Cloud Storage answered a bucket list without items",
        )?;
        for item in items {
            let name = item["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    ProviderError::Protocol("Cloud Storage answered a bucket without a name".into())
                })?;
            self.ids.push(format!("gs://{name}"));
        }
        self.pages += 1;
        let next = page["nextPageToken"].as_str().filter(|t| !t.is_empty());
        Ok(next
            .filter(|_| self.ids.len() < MAX_BUCKETS && self.pages < MAX_PAGES)
            .map(str::to_owned))
    }

    /// The ids, sorted, without duplicates, at most [`MAX_BUCKETS`].
    pub fn finish(mut self) -> Vec<String> {
        self.ids.sort();
        self.ids.dedup();
        self.ids.truncate(MAX_BUCKETS);
        self.ids
    }
}

/// The buckets of `project` (`gs://name`), following page tokens.
pub(super) async fn list_buckets(
    out: &Outbound,
    root: &str,
    project: &str,
    token: &str,
) -> Result<Vec<String>, ProviderError> {
    let mut pages = BucketPages::default();
    let mut next: Option<String> = None;
    loop {
        let url = buckets_url(root, project, next.as_deref())?;
        let page = get_json(out, "Cloud Storage", url, token).await?;
        match pages.add(&page)? {
            Some(token) => next = Some(token),
            None => return Ok(pages.finish()),
        }
    }
}

/// The GKE cluster list URL of `project`, all locations.
fn clusters_url(project: &str) -> Result<Url, ProviderError> {
    let invalid = || ProviderError::Invalid("the attribute project_id is not a project ID".into());
    let mut url = Url::parse(CONTAINER_ROOT).map_err(|_| invalid())?;
    url.path_segments_mut().map_err(|_| invalid())?.extend([
        "v1",
        "projects",
        project,
        "locations",
        "-",
        "clusters",
    ]);
    Ok(url)
}

/// The cluster names of a GKE list answer, sorted.
pub(super) fn cluster_names(v: &Value) -> Result<Vec<String>, ProviderError> {
    let clusters = list(
        v,
        "clusters",
        "GKE answered a cluster list without clusters",
    )?;
    let mut names = clusters
        .iter()
        .map(|c| {
            c["name"]
                .as_str()
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ProviderError::Protocol("GKE answered a cluster without a name".into()))?;
    names.sort();
    names.dedup();
    Ok(names)
}

/// The GKE clusters of `project` (names), in every location.
pub(super) async fn list_clusters(
    out: &Outbound,
    project: &str,
    token: &str,
) -> Result<Vec<String>, ProviderError> {
    let v = get_json(out, "GKE", clusters_url(project)?, token).await?;
    cluster_names(&v)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bucket_lists_are_read_page_by_page_sorted_and_capped() {
        let mut pages = BucketPages::default();
        let next = pages
            .add(
                &json!({"kind": "storage#buckets", "items": [{"name": "zeta"}, {"name": "alpha"}],
                "nextPageToken": "p2"}),
            )
            .unwrap();
        assert_eq!(next.as_deref(), Some("p2"));
        let next = pages.add(&json!({"items": [{"name": "mid"}]})).unwrap();
        assert_eq!(next, None);
        assert_eq!(pages.finish(), ["gs://alpha", "gs://mid", "gs://zeta"]);

        // An empty project answers no items at all.
        let mut empty = BucketPages::default();
        assert_eq!(
            empty.add(&json!({"kind": "storage#buckets"})).unwrap(),
            None
        );
        assert!(empty.finish().is_empty());

        // At the cap no further page is read, and the list is cut to the cap.
        let mut full = BucketPages::default();
        let items: Vec<Value> = (0..MAX_BUCKETS + 5)
            .map(|i| json!({"name": format!("b{i:05}")}))
            .collect();
        assert_eq!(
            full.add(&json!({"items": items, "nextPageToken": "more"}))
                .unwrap(),
            None
        );
        assert_eq!(full.finish().len(), MAX_BUCKETS);

        // A server that keeps answering page tokens is left after MAX_PAGES.
        let mut endless = BucketPages::default();
        let mut reads = 1;
        while endless
            .add(&json!({"items": [], "nextPageToken": "again"}))
            .unwrap()
            .is_some()
        {
            reads += 1;
        }
        assert_eq!(reads, MAX_PAGES);

        for bad in [json!({"items": {}}), json!({"items": [{"id": "x"}]})] {
            let mut p = BucketPages::default();
            assert!(
                matches!(p.add(&bad), Err(ProviderError::Protocol(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn bucket_list_urls_name_the_project_and_page() {
        assert_eq!(
            buckets_url(STORAGE_ROOT, "my-project", None)
                .unwrap()
                .as_str(),
            "https://storage.googleapis.com/storage/v1/b?project=my-project"
        );
        assert_eq!(
            buckets_url("http://127.0.0.1:9023/", "p", Some("a b&c"))
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9023/storage/v1/b?project=p&pageToken=a+b%26c"
        );
        assert!(buckets_url("not a url", "p", None).is_err());
    }

    #[test]
    fn clusters_are_listed_in_every_location() {
        assert_eq!(
            clusters_url("my-project").unwrap().as_str(),
            "https://container.googleapis.com/v1/projects/my-project/locations/-/clusters"
        );
        assert_eq!(
            cluster_names(&json!({"clusters": [{"name": "b"}, {"name": "a"}]})).unwrap(),
            ["a", "b"]
        );
        assert!(cluster_names(&json!({})).unwrap().is_empty());
        assert!(cluster_names(&json!({"clusters": [{}]})).is_err());
    }

    #[test]
    fn api_errors_keep_the_status_but_not_the_message() {
        let body = br#"{"error":{"code":403,"message":"sa@p does not have storage.buckets.list access; token ya29.secret","status":"PERMISSION_DENIED"}}"#;
        let err = api_error("Cloud Storage", StatusCode::FORBIDDEN, body);
        assert_eq!(
            err,
            ProviderError::Forbidden("Cloud Storage answered PERMISSION_DENIED (HTTP 403)".into())
        );
        let err = api_error("GKE", StatusCode::UNAUTHORIZED, b"ya29.secret");
        assert_eq!(err, ProviderError::Denied("GKE answered HTTP 401".into()));
        let err = api_error(
            "GKE",
            StatusCode::NOT_FOUND,
            br#"{"error":{"status":"NOT_FOUND"}}"#,
        );
        assert!(matches!(err, ProviderError::Protocol(_)), "{err:?}");
        assert!(!format!("{err}").contains("ya29"));
    }
}
