//! Google Cloud connectors: OAuth2 access tokens for the `cloud-platform` scope, from a
//! service account key (an RS256 JWT-bearer assertion signed with `jsonwebtoken`), a
//! user account's refresh token, a stored token, or IAM Credentials
//! `generateAccessToken` for impersonation.
//!
//! - `authenticate`: a token (for impersonation: a token of the target principal).
//! - `discover`: the project for `gcp-generic`; Cloud Storage buckets (`gs://name`) at
//!   `endpoint_url` (Google's API when unset: Private Service Connect endpoints and
//!   emulators set it); GKE clusters (names, every location); `gcr.io/<project>` for the
//!   registry, which is not listed (a token is obtained to prove the credentials).
//!   Impersonating connectors discover as the target principal.
//! - `issue`: `{"access_token", "token_type": "Bearer", "project_id"}`, expiring when
//!   Google says. Tokens are not scoped to the resource asked for: a GCP token reaches
//!   whatever the account's IAM roles allow in every resource type.
//!
//! `external-account` (workload identity federation) and `implicit` are not supported.

use serde_json::{Map, json};

use super::{Ask, Issued, ProviderError, Target};
use crate::outbound::Outbound;

mod apis;
mod keys;
mod token;

use apis::{STORAGE_ROOT, list_buckets, list_clusters};
use token::token;

/// Lifetime of tokens made only to prove or discover (impersonation).
const CHECK_SECONDS: i64 = 600;

/// Proves the credentials: a token for the method.
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    t.required("project_id")?;
    token(out, t, CHECK_SECONDS).await.map(drop)
}

/// The resource ids of `resource_type` the connector reaches.
pub(super) async fn discover(
    out: &Outbound,
    t: &Target,
    resource_type: &str,
) -> Result<Option<Vec<String>>, ProviderError> {
    known_type(resource_type)?;
    let project = t.required("project_id")?;
    if resource_type == "gcp-generic" {
        return Ok(Some(vec![project.to_owned()]));
    }
    let token = token(out, t, CHECK_SECONDS).await?;
    let ids = match resource_type {
        "gcs-bucket" => {
            let root = endpoint_url(t)?;
            list_buckets(out, &root, project, &token.access_token).await?
        }
        "kubernetes-cluster" => list_clusters(out, project, &token.access_token).await?,
        _ => vec![registry(project)],
    };
    Ok(Some(ids))
}

/// A token for the project, living `ask.lifetime` seconds where the method can choose
/// (impersonation); Google decides for the others (about an hour).
pub(super) async fn issue(
    out: &Outbound,
    t: &Target,
    ask: Ask<'_>,
) -> Result<Issued, ProviderError> {
    known_type(ask.resource_type)?;
    let project = t.required("project_id")?;
    if matches!(t.auth_method.as_str(), "service-account" | "user-account")
        && !t.flag("generate_temporary_tokens", true)
    {
        return Err(ProviderError::Unsupported(format!(
            "this {} connector is configured not to issue temporary tokens \
             (generate_temporary_tokens is off), and its stored credentials are never handed out",
            t.auth_method
        )));
    }
    let token = token(out, t, ask.lifetime).await?;
    let mut credentials = Map::new();
    credentials.insert("access_token".into(), json!(token.access_token));
    credentials.insert("token_type".into(), json!("Bearer"));
    credentials.insert("project_id".into(), json!(project));
    Ok(Issued {
        credentials,
        expires_at: token.expires_at,
    })
}

/// The Cloud Storage API root: `endpoint_url`, or Google's.
fn endpoint_url(t: &Target) -> Result<String, ProviderError> {
    let Some(raw) = t.text("endpoint_url") else {
        return Ok(STORAGE_ROOT.to_owned());
    };
    let url = url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.query().is_none())
        .ok_or_else(|| {
            ProviderError::Invalid("the attribute endpoint_url must be an https URL".into())
        })?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The project's Container Registry (`example.com:p` is `gcr.io/example.com/p`).
fn registry(project: &str) -> String {
    format!("gcr.io/{}", project.replacen(':', "/", 1))
}

/// Refuses resource types the connectors do not reach.
fn known_type(resource_type: &str) -> Result<(), ProviderError> {
    super::known_type(
        &[
            "gcp-generic",
            "gcs-bucket",
            "kubernetes-cluster",
            "docker-registry",
        ],
        "GCP connectors",
        resource_type,
    )
}

/// Why a method gets no token.
fn method_unsupported(t: &Target) -> ProviderError {
    ProviderError::Unsupported(match t.auth_method.as_str() {
        "external-account" => "external-account (workload identity federation) is not supported: \
             it exchanges a subject token from the credential source the configuration names \
             (a file, URL or executable on the server, or the AWS environment), which \
             Portcullis does not read; use service-account or impersonation instead"
            .to_owned(),
        "implicit" => "the implicit method would act with the Portcullis server's own Google \
             identity (application default credentials or the metadata server), which this \
             server does not use for connectors; store a service account key \
             (service-account or impersonation) instead"
            .to_owned(),
        other => format!("{other} is not an auth method of GCP connectors"),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::Value;

    use super::*;
    use crate::outbound::Policy;

    pub(crate) const TEST_KEY: &str = include_str!("../../../tests/fixtures/gcp-test-key.pem");
    pub(crate) const TEST_PUBLIC_KEY: &str =
        include_str!("../../../tests/fixtures/gcp-test-key.pub.pem");

    /// A service account key file with `private_key` and `token_uri`.
    pub(crate) fn key_json(private_key: &str, token_uri: &str) -> String {
        json!({
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "test-key-id",
            "private_key": private_key,
            "client_email": "sa@test-project.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": token_uri,
        })
        .to_string()
    }

    /// A GCP connector for unit tests (project `test-project`).
    pub(crate) fn target(method: &str, config: Value) -> Target {
        let mut c = json!({"project_id": "test-project"});
        if let (Value::Object(c), Value::Object(more)) = (&mut c, config) {
            c.extend(more);
        }
        Target {
            name: "gcp".into(),
            connector_type: "gcp".into(),
            auth_method: method.into(),
            resource_types: vec!["gcs-bucket".into()],
            resource_id: None,
            config: c.as_object().cloned().unwrap_or_default(),
            expiration_seconds: None,
            expiration_bounds: None,
        }
    }

    fn out() -> Outbound {
        Outbound::new(Policy::default()).unwrap()
    }

    #[tokio::test]
    async fn resource_types_are_known_and_the_simple_ones_need_no_call() {
        let t = target("oauth2-token", json!({"token": "ya29.stored"}));
        assert_eq!(
            discover(&out(), &t, "gcp-generic").await.unwrap(),
            Some(vec!["test-project".to_owned()])
        );
        assert_eq!(
            discover(&out(), &t, "docker-registry").await.unwrap(),
            Some(vec!["gcr.io/test-project".to_owned()])
        );
        assert_eq!(registry("example.com:p"), "gcr.io/example.com/p");
        let err = discover(&out(), &t, "s3-bucket").await.unwrap_err();
        assert!(matches!(err, ProviderError::Invalid(_)), "{err:?}");
        let err = issue(&out(), &t, super::super::ask("blob-container", "x"))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::Invalid(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_stored_token_is_issued_as_it_is_for_every_resource_type() {
        let t = target("oauth2-token", json!({"token": "ya29.stored"}));
        for (rt, id) in [
            ("gcp-generic", "test-project"),
            ("gcs-bucket", "gs://b"),
            ("kubernetes-cluster", "c"),
            ("docker-registry", "gcr.io/test-project"),
        ] {
            let issued = issue(&out(), &t, super::super::ask(rt, id)).await.unwrap();
            assert_eq!(
                Value::Object(issued.credentials),
                json!({"access_token": "ya29.stored", "token_type": "Bearer",
                    "project_id": "test-project"})
            );
            assert_eq!(issued.expires_at, None, "unknown, not never");
        }
    }

    #[tokio::test]
    async fn unsupported_methods_and_settings_say_why() {
        for (method, want) in [
            ("external-account", "workload identity federation"),
            ("implicit", "server's own Google identity"),
            ("other", "not an auth method"),
        ] {
            let err = authenticate(&out(), &target(method, json!({})))
                .await
                .unwrap_err();
            assert!(matches!(err, ProviderError::Unsupported(_)), "{err:?}");
            assert!(err.to_string().contains(want), "{method}: {err}");
        }
        for method in ["service-account", "user-account"] {
            let t = target(method, json!({"generate_temporary_tokens": false}));
            let err = issue(&out(), &t, super::super::ask("gcs-bucket", "gs://b"))
                .await
                .unwrap_err();
            assert!(matches!(err, ProviderError::Unsupported(_)), "{err:?}");
            assert!(
                err.to_string()
                    .contains("configured not to issue temporary tokens"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_storage_root_is_the_endpoint_url_or_googles() {
        let t = target("oauth2-token", json!({}));
        assert_eq!(endpoint_url(&t).unwrap(), STORAGE_ROOT);
        let t = target(
            "oauth2-token",
            json!({"endpoint_url": "http://127.0.0.1:9023/"}),
        );
        assert_eq!(endpoint_url(&t).unwrap(), "http://127.0.0.1:9023");
        let t = target("oauth2-token", json!({"endpoint_url": "ftp://x"}));
        assert!(endpoint_url(&t).is_err());
    }
}
