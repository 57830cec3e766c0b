//! Rows and JSON shapes of namespaces and environments.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::rfc3339;
use crate::db::schema::{environments, namespaces};

/// Build states of an environment's current build.
pub const BUILD_STATUSES: [&str; 5] = ["QUEUED", "BUILDING", "COMPLETED", "FAILED", "CANCELED"];

/// A namespace row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = namespaces)]
pub struct Namespace {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Free-form JSON object.
    pub metadata: String,
}

/// An environment row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = environments)]
pub struct Environment {
    /// Row id.
    pub id: i64,
    /// Owning namespace.
    pub namespace_id: i64,
    /// Name, unique in the namespace.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Specification (e.g. a conda environment.yml).
    pub specification: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Current build status.
    pub build_status: Option<String>,
    /// When the current build was queued (ms).
    pub build_scheduled_at: Option<i64>,
    /// When it started (ms).
    pub build_started_at: Option<i64>,
    /// When it ended (ms).
    pub build_ended_at: Option<i64>,
}

/// An environment to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = environments)]
pub struct NewEnvironment<'a> {
    /// Owning namespace.
    pub namespace_id: i64,
    /// Name, unique in the namespace.
    pub name: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Specification (e.g. a conda environment.yml).
    pub specification: &'a str,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Initial build status.
    pub build_status: Option<&'a str>,
    /// Initial build queue time.
    pub build_scheduled_at: Option<i64>,
}

/// JSON of an environment's current build.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuildJson {
    /// QUEUED, BUILDING, COMPLETED, FAILED or CANCELED.
    pub status: String,
    /// RFC 3339 or null.
    #[schema(format = DateTime)]
    pub scheduled_at: Option<String>,
    /// RFC 3339 or null.
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    /// RFC 3339 or null.
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
}

/// JSON of an environment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnvironmentJson {
    /// Namespace name.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Current build, or null.
    pub current_build: Option<BuildJson>,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The specification (single-environment answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specification: Option<String>,
}

impl EnvironmentJson {
    /// JSON of `env` in `namespace`; `with_spec` adds the specification.
    pub fn new(env: &Environment, namespace: &str, with_spec: bool) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: env.name.clone(),
            description: env.description.clone(),
            current_build: env.build_status.as_ref().map(|status| BuildJson {
                status: status.clone(),
                scheduled_at: env.build_scheduled_at.map(rfc3339),
                started_at: env.build_started_at.map(rfc3339),
                ended_at: env.build_ended_at.map(rfc3339),
            }),
            created_at: rfc3339(env.created_at),
            updated_at: rfc3339(env.updated_at),
            specification: with_spec.then(|| env.specification.clone()),
        }
    }
}

/// JSON of a namespace.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NamespaceJson {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Metadata object.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Namespace> for NamespaceJson {
    fn from(ns: &Namespace) -> Self {
        Self {
            name: ns.name.clone(),
            description: ns.description.clone(),
            metadata: serde_json::from_str(&ns.metadata).unwrap_or_else(|_| serde_json::json!({})),
            created_at: rfc3339(ns.created_at),
        }
    }
}
