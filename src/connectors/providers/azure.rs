//! Azure connectors: Microsoft Entra ID tokens (client credentials, or a stored token),
//! Blob Storage and Resource Manager listings.
//!
//! - `authenticate`: a token for Resource Manager (service principal), or the stored
//!   token's expiry (access token; the APIs called by discovery judge the rest).
//! - `discover`: the subscription for `azure-generic`; the containers of the storage
//!   account (`blob_endpoint` overrides its URL); AKS cluster names and registry login
//!   servers from Resource Manager, within `resource_group` when set.
//! - `issue`: `{"access_token", "token_type": "Bearer"}` for the resource type's
//!   audience, expiring when Entra ID says. Azure tokens are per audience, not per
//!   resource: role assignments of the identity decide what one reaches.
//!
//! `authority_host` selects the sign-in host (sovereign clouds, a test provider).

use serde_json::{Map, json};

use super::{Ask, Issued, ProviderError, Target};
use crate::outbound::Outbound;

mod arm;
mod blob;
mod cloud;
mod token;

use arm::Field;
use cloud::Cloud;
use token::token;

/// Audience of Blob Storage tokens (every cloud).
const STORAGE: &str = "https://storage.azure.com";
/// The AKS AAD server application: the audience of Kubernetes API tokens.
const AKS: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// The resource types an Azure connector reaches.
const TYPES: [&str; 4] = [
    "azure-generic",
    "blob-container",
    "kubernetes-cluster",
    "docker-registry",
];

/// Proves the credentials: a Resource Manager token (or a stored token not expired).
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    let cloud = Cloud::of(t)?;
    token(out, t, &cloud, &scope(cloud.arm)).await.map(drop)
}

/// The resource ids of `resource_type` the connector reaches.
pub(super) async fn discover(
    out: &Outbound,
    t: &Target,
    resource_type: &str,
) -> Result<Option<Vec<String>>, ProviderError> {
    known_type(resource_type)?;
    let cloud = Cloud::of(t)?;
    let ids = match resource_type {
        "azure-generic" => vec![t.required("subscription_id")?.to_owned()],
        "blob-container" => {
            let endpoint = blob::endpoint(t, &cloud)?;
            let token = token(out, t, &cloud, &scope(STORAGE)).await?;
            blob::containers(out, &endpoint, &token.access_token).await?
        }
        other => {
            t.required("subscription_id")?;
            let token = token(out, t, &cloud, &scope(cloud.arm)).await?;
            let (provider, version, field) = if other == "kubernetes-cluster" {
                (
                    "Microsoft.ContainerService/managedClusters",
                    "2024-05-01",
                    Field::Name,
                )
            } else {
                (
                    "Microsoft.ContainerRegistry/registries",
                    "2023-07-01",
                    Field::LoginServer,
                )
            };
            let token = &token.access_token;
            arm::list(out, t, cloud.arm, token, provider, version, field).await?
        }
    };
    Ok(Some(ids))
}

/// A token for the audience of `resource_type`.
pub(super) async fn issue(
    out: &Outbound,
    t: &Target,
    ask: Ask<'_>,
) -> Result<Issued, ProviderError> {
    let (resource_type, resource_id) = (ask.resource_type, ask.resource_id);
    known_type(resource_type)?;
    if resource_type == "azure-generic"
        && t.text("subscription_id").is_some_and(|s| s != resource_id)
    {
        return Err(ProviderError::NotReached(format!(
            "azure-generic {resource_id} is not the subscription this connector works in"
        )));
    }
    let cloud = Cloud::of(t)?;
    let audience = match resource_type {
        "blob-container" => STORAGE,
        "kubernetes-cluster" => AKS,
        _ => cloud.arm,
    };
    let token = token(out, t, &cloud, &scope(audience)).await?;
    let mut credentials = Map::new();
    credentials.insert("access_token".into(), json!(token.access_token));
    credentials.insert("token_type".into(), json!("Bearer"));
    Ok(Issued {
        credentials,
        expires_at: token.expires_at,
    })
}

/// The `.default` scope of an audience.
fn scope(audience: &str) -> String {
    format!("{audience}/.default")
}

fn known_type(resource_type: &str) -> Result<(), ProviderError> {
    if TYPES.contains(&resource_type) {
        Ok(())
    } else {
        Err(ProviderError::Unsupported(format!(
            "Azure connectors reach {}, not {resource_type}",
            TYPES.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn target(method: &str, config: Value) -> Target {
        Target {
            name: "t".into(),
            connector_type: "azure".into(),
            auth_method: method.into(),
            resource_types: TYPES.iter().map(|s| (*s).to_owned()).collect(),
            resource_id: None,
            config: config.as_object().cloned().unwrap_or_default(),
            expiration_seconds: None,
            expiration_bounds: None,
        }
    }

    #[tokio::test]
    async fn what_needs_no_call_is_answered_or_refused_clearly() {
        let out = Outbound::new(crate::outbound::Policy::default()).unwrap();
        let sub = "9a3c6d2e-4b1f-4e8a-9c7d-2f5e8b1a6c30";
        let t = target(
            "access-token",
            json!({"token": "opaque", "subscription_id": sub}),
        );
        assert_eq!(
            discover(&out, &t, "azure-generic").await.unwrap(),
            Some(vec![sub.to_owned()])
        );
        let issued = issue(&out, &t, super::super::ask("azure-generic", sub))
            .await
            .unwrap();
        assert_eq!(issued.credentials["access_token"], "opaque");
        assert_eq!(issued.expires_at, None);
        let err = issue(&out, &t, super::super::ask("azure-generic", "other"))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::NotReached(_)), "{err:?}");
        let t = target("access-token", json!({"token": "opaque"}));
        let err = discover(&out, &t, "azure-generic").await.unwrap_err();
        assert_eq!(err.to_string(), "the attribute subscription_id is not set");
        let err = discover(&out, &t, "blob-container").await.unwrap_err();
        assert!(err.to_string().contains("storage_account"), "{err}");
        let err = discover(&out, &t, "s3-bucket").await.unwrap_err();
        assert!(matches!(err, ProviderError::Unsupported(_)), "{err:?}");
        let err = authenticate(&out, &target("implicit", json!({})))
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::Unsupported(_)), "{err:?}");
    }
}
