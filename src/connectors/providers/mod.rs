//! Talking to the providers behind connectors: verifying that a connector's credentials
//! work, discovering the resources it reaches, and issuing short-lived credentials for
//! one resource. Each connector type has a module with the same three entry points:
//!
//! - `authenticate(out, target)` proves the credentials (a cheap identity call);
//! - `discover(out, target, resource_type)` lists the resource ids the connector
//!   reaches for one resource type (`None` for types without instances, once checked);
//! - `issue(out, target, ask)` returns credentials for the one resource of an [`Ask`].
//!
//! The connector types that reach exactly one resource (a registry, a cluster, an API)
//! describe it with a [`Single`]; discovery and the resource check before issuing are
//! done here for them.
//!
//! Every call goes through [`Outbound`] (its policy and time limits). Errors are
//! [`ProviderError`]s whose text is safe to show: no secret, no signed URL.

mod aws;
mod azure;
mod docker;
mod gcp;
mod http;
mod kubernetes;
mod oauth2;
mod ssh;
mod token_endpoint;

use serde_json::{Map, Value};

use crate::outbound::{Outbound, OutboundError};

/// A connector as a provider sees it: its type, method, what it reaches, and its
/// configuration with the secrets opened.
#[derive(Clone)]
pub struct Target {
    /// Connector name (for messages).
    pub name: String,
    /// Connector type, e.g. `aws`.
    pub connector_type: String,
    /// Auth method, e.g. `secret-key`.
    pub auth_method: String,
    /// Resource types it reaches.
    pub resource_types: Vec<String>,
    /// The one resource it is pinned to, if any (canonical).
    pub resource_id: Option<String>,
    /// Plain attributes and opened secrets together.
    pub config: Map<String, Value>,
    /// Lifetime of issued credentials asked for at registration (seconds).
    pub expiration_seconds: Option<i64>,
    /// The auth method's bounds: (min, max, default) seconds, when it issues temporary
    /// credentials.
    pub expiration_bounds: Option<(i64, Option<i64>, i64)>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("connector_type", &self.connector_type)
            .field("auth_method", &self.auth_method)
            .field("config", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

impl Target {
    /// A connector of `connector_type`/`auth_method` reaching `resource_types` with
    /// `config`, neither pinned nor with lifetime settings (tests and tools build
    /// targets this way; the server builds them from stored connectors).
    pub fn new(
        connector_type: &str,
        auth_method: &str,
        resource_types: &[&str],
        config: Map<String, Value>,
    ) -> Self {
        Self {
            name: format!("{connector_type} connector"),
            connector_type: connector_type.into(),
            auth_method: auth_method.into(),
            resource_types: resource_types.iter().map(|s| (*s).to_owned()).collect(),
            resource_id: None,
            config,
            expiration_seconds: None,
            expiration_bounds: None,
        }
    }

    /// A text attribute, trimmed, if set and not empty.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A required text attribute.
    pub fn required(&self, key: &str) -> Result<&str, ProviderError> {
        self.text(key)
            .ok_or_else(|| ProviderError::Invalid(format!("the attribute {key} is not set")))
    }

    /// A boolean attribute (`default` when unset).
    pub fn flag(&self, key: &str, default: bool) -> bool {
        match self.config.get(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => matches!(s.as_str(), "true" | "1" | "yes" | "on"),
            _ => default,
        }
    }

    /// A list attribute (a JSON list of strings, or one string).
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.config.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_owned()],
            _ => Vec::new(),
        }
    }

    /// The lifetime to ask for, in seconds: `requested` (or the connector's own
    /// setting, or the method's default), capped to the method's bounds.
    pub fn lifetime(&self, requested: Option<i64>) -> i64 {
        let (min, max, default) = self.expiration_bounds.unwrap_or((900, Some(3600), 3600));
        let wanted = requested.or(self.expiration_seconds).unwrap_or(default);
        let capped = max.map_or(wanted, |m| wanted.min(m));
        capped.max(min)
    }
}

/// What to verify: everything the connector reaches, or one resource type (and id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only this resource type.
    pub resource_type: Option<String>,
    /// Only this resource (canonical id).
    pub resource_id: Option<String>,
}

/// What credentials are asked for: one resource, and how long they should live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ask<'a> {
    /// Resource type, e.g. `s3-bucket`.
    pub resource_type: &'a str,
    /// The resource (canonical id).
    pub resource_id: &'a str,
    /// Seconds, already capped to the method's bounds; used where the method issues
    /// temporary credentials.
    pub lifetime: i64,
}

/// An ask for an hour's credentials (unit tests).
#[cfg(test)]
pub(super) fn ask<'a>(resource_type: &'a str, resource_id: &'a str) -> Ask<'a> {
    Ask {
        resource_type,
        resource_id,
        lifetime: 3600,
    }
}

/// What verification found for one resource type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Reached {
    /// Resource type.
    pub resource_type: String,
    /// Ids reached; `None` for a type without instances (or when checking failed).
    pub resource_ids: Option<Vec<String>>,
    /// Why this type could not be checked.
    pub error: Option<String>,
}

/// The result of verifying a connector.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// One entry per resource type checked.
    pub resources: Vec<Reached>,
    /// Why the connector as a whole failed (authentication), if it did.
    pub error: Option<String>,
}

/// Credentials issued for one resource.
#[derive(Clone, PartialEq)]
pub struct Issued {
    /// The credential fields (shape per connector type; see the README).
    pub credentials: Map<String, Value>,
    /// When they stop working (ms since the epoch); `None` for configured long-lived
    /// credentials passed through.
    pub expires_at: Option<i64>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("credentials", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a provider call failed; every message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the credentials.
    #[error("authentication failed: {0}")]
    Denied(String),
    /// Authenticated, but not allowed to do this.
    #[error("permission denied: {0}")]
    Forbidden(String),
    /// The provider could not be reached (or was refused by the outbound policy).
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    /// The configuration cannot be used as it is.
    #[error("{0}")]
    Invalid(String),
    /// The auth method cannot do this (e.g. issue short-lived credentials).
    #[error("{0}")]
    Unsupported(String),
    /// The provider answered something we do not understand.
    #[error("unexpected answer: {0}")]
    Protocol(String),
    /// The resource asked for is not one the connector reaches.
    #[error("{0}")]
    NotReached(String),
}

/// Verifies `target` within `scope`: authenticates, then discovers each resource type
/// in scope. A failure is reported in the result, never as an error.
pub async fn verify(out: &Outbound, target: &Target, scope: &Scope) -> Verification {
    let types: Vec<String> = match &scope.resource_type {
        Some(rt) => vec![rt.clone()],
        None => target.resource_types.clone(),
    };
    if let Err(e) = authenticate(out, target).await {
        let error = e.to_string();
        return Verification {
            resources: types
                .into_iter()
                .map(|resource_type| Reached {
                    resource_type,
                    resource_ids: None,
                    error: Some(error.clone()),
                })
                .collect(),
            error: Some(error),
        };
    }
    let mut resources = Vec::with_capacity(types.len());
    for resource_type in types {
        let reached = match discover(out, target, &resource_type).await {
            Ok(ids) => match must_reach(target, scope, &resource_type, ids.as_deref()) {
                Ok(()) => Reached {
                    resource_type,
                    resource_ids: ids,
                    error: None,
                },
                Err(e) => Reached {
                    resource_type,
                    resource_ids: ids,
                    error: Some(e.to_string()),
                },
            },
            Err(e) => Reached {
                resource_type,
                resource_ids: None,
                error: Some(e.to_string()),
            },
        };
        resources.push(reached);
    }
    Verification {
        resources,
        error: None,
    }
}

/// The pinned resource, and the one asked for, must be among the ids discovered.
fn must_reach(
    target: &Target,
    scope: &Scope,
    resource_type: &str,
    ids: Option<&[String]>,
) -> Result<(), ProviderError> {
    let Some(ids) = ids else { return Ok(()) };
    let wanted = scope
        .resource_id
        .as_deref()
        .or(target.resource_id.as_deref());
    match wanted {
        Some(id) if !ids.iter().any(|x| x == id) => Err(ProviderError::NotReached(format!(
            "{resource_type} {id} is not among the {} the credentials reach",
            ids.len()
        ))),
        _ => Ok(()),
    }
}

/// Proves the credentials with the provider.
pub async fn authenticate(out: &Outbound, target: &Target) -> Result<(), ProviderError> {
    match target.connector_type.as_str() {
        "aws" => aws::authenticate(out, target).await,
        "azure" => azure::authenticate(out, target).await,
        "docker" => docker::authenticate(out, target).await,
        "gcp" => gcp::authenticate(out, target).await,
        "oauth2" => oauth2::authenticate(out, target).await,
        "kubernetes" => kubernetes::authenticate(out, target).await,
        "hyperai" => ssh::authenticate(out, target).await,
        _ => Err(unsupported(target, "verification")),
    }
}

/// The resource ids of `resource_type` that `target` reaches.
pub async fn discover(
    out: &Outbound,
    target: &Target,
    resource_type: &str,
) -> Result<Option<Vec<String>>, ProviderError> {
    if let Some(single) = single(target) {
        single.check(target, resource_type)?;
        return Ok(Some(vec![(single.reached)(target)?]));
    }
    match target.connector_type.as_str() {
        "aws" => aws::discover(out, target, resource_type).await,
        "azure" => azure::discover(out, target, resource_type).await,
        "gcp" => gcp::discover(out, target, resource_type).await,
        "hyperai" => ssh::discover(out, target, resource_type).await,
        _ => Err(unsupported(target, "resource discovery")),
    }
}

/// The repositories of a Docker connector's registry (its catalog), at most 10,000.
pub async fn repositories(out: &Outbound, target: &Target) -> Result<Vec<String>, ProviderError> {
    match target.connector_type.as_str() {
        "docker" => docker::repositories(out, target).await,
        _ => Err(unsupported(target, "listing repositories")),
    }
}

/// Credentials for the one resource `ask` names.
pub async fn issue(out: &Outbound, target: &Target, ask: Ask<'_>) -> Result<Issued, ProviderError> {
    if let Some(single) = single(target) {
        single.admit(target, ask)?;
    }
    match target.connector_type.as_str() {
        "aws" => aws::issue(out, target, ask).await,
        "azure" => azure::issue(out, target, ask).await,
        "docker" => docker::issue(out, target).await,
        "oauth2" => oauth2::issue(out, target).await,
        "kubernetes" => kubernetes::issue(out, target).await,
        "gcp" => gcp::issue(out, target, ask).await,
        "hyperai" => ssh::issue(out, target, ask).await,
        _ => Err(unsupported(target, "issuing credentials")),
    }
}

/// The [`Single`] of a connector type that reaches one resource.
fn single(target: &Target) -> Option<&'static Single> {
    match target.connector_type.as_str() {
        "docker" => Some(&docker::SINGLE),
        "oauth2" => Some(&oauth2::SINGLE),
        "kubernetes" => Some(&kubernetes::SINGLE),
        _ => None,
    }
}

/// The one resource type of a connector type that reaches a single resource (a
/// registry, a cluster, an API), and the noun its messages use.
pub(super) struct Single {
    /// The resource type.
    pub resource_type: &'static str,
    /// What one is called in messages ("registry", "cluster", "API").
    pub noun: &'static str,
    /// The id of the one resource a connector reaches, from its configuration.
    pub reached: fn(&Target) -> Result<String, ProviderError>,
}

impl Single {
    /// Refuses any other resource type.
    fn check(&self, t: &Target, resource_type: &str) -> Result<(), ProviderError> {
        if resource_type == self.resource_type {
            return Ok(());
        }
        Err(ProviderError::Unsupported(format!(
            "{} connectors reach {} resources, not {resource_type}",
            t.connector_type, self.resource_type
        )))
    }

    /// Refuses to issue for another resource type, or for a resource other than the
    /// one the connector reaches.
    fn admit(&self, t: &Target, ask: Ask<'_>) -> Result<(), ProviderError> {
        self.check(t, ask.resource_type)?;
        if ask.resource_id == (self.reached)(t)? {
            return Ok(());
        }
        Err(ProviderError::NotReached(format!(
            "{} {} is not the {} this connector reaches",
            self.resource_type, ask.resource_id, self.noun
        )))
    }
}

fn unsupported(target: &Target, what: &str) -> ProviderError {
    ProviderError::Unsupported(format!(
        "{what} is not available for {}/{} connectors",
        target.connector_type, target.auth_method
    ))
}

/// Refuses a resource type not among `types`, the resource types of `connectors` (e.g.
/// `AWS connectors`).
fn known_type(types: &[&str], connectors: &str, resource_type: &str) -> Result<(), ProviderError> {
    if types.contains(&resource_type) {
        Ok(())
    } else {
        Err(ProviderError::Invalid(format!(
            "{resource_type} is not a resource type of {connectors}"
        )))
    }
}
