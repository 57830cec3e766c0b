//! Rows and JSON shapes of namespaces and environments.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{environments, namespaces};
use crate::db::{Rfc3339, rfc3339};

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
pub struct BuildJson<'a> {
    /// QUEUED, BUILDING, COMPLETED, FAILED or CANCELED.
    pub status: &'a str,
    /// RFC 3339 or null.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<Rfc3339>,
    /// RFC 3339 or null.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Rfc3339>,
    /// RFC 3339 or null.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<Rfc3339>,
}

/// JSON of an environment, borrowed from its row: lists write hundreds of these, so
/// nothing is copied and times are written straight into the answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EnvironmentJson<'a> {
    /// Namespace name.
    pub namespace: &'a str,
    /// Name.
    pub name: &'a str,
    /// Description.
    pub description: &'a str,
    /// Current build, or null.
    pub current_build: Option<BuildJson<'a>>,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Rfc3339,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Rfc3339,
    /// The specification (single-environment answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub specification: Option<&'a str>,
}

impl<'a> EnvironmentJson<'a> {
    /// JSON of `env` in `namespace`; `with_spec` adds the specification.
    pub fn new(env: &'a Environment, namespace: &'a str, with_spec: bool) -> Self {
        Self {
            namespace,
            name: &env.name,
            description: &env.description,
            current_build: env.build_status.as_deref().map(|status| BuildJson {
                status,
                scheduled_at: env.build_scheduled_at.map(Rfc3339),
                started_at: env.build_started_at.map(Rfc3339),
                ended_at: env.build_ended_at.map(Rfc3339),
            }),
            created_at: Rfc3339(env.created_at),
            updated_at: Rfc3339(env.updated_at),
            specification: with_spec.then_some(env.specification.as_str()),
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
