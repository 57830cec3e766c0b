//! Rows of connectors and their resources, and the JSON shape of a connector.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};

use super::validate::HIDDEN;
use crate::db::rfc3339;
use crate::db::schema::{connector_resources, connectors};

/// A connector row (secrets sealed).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = connectors)]
pub struct ConnectorRow {
    /// Row id (also the associated data of the sealed secrets).
    pub id: i64,
    /// Globally unique name.
    pub name: String,
    /// Owning namespace.
    pub namespace_id: i64,
    /// Catalog type.
    pub connector_type: String,
    /// Catalog auth method.
    pub auth_method: String,
    /// JSON array of resource types.
    pub resource_types: String,
    /// Pinned resource, if any.
    pub resource_id: Option<String>,
    /// JSON object of plain attributes, and `"[HIDDEN]"` for each secret set.
    pub configuration: String,
    /// Sealed JSON object of secret attributes.
    pub secrets: String,
    /// JSON object of labels.
    pub labels: String,
    /// Free text.
    pub description: String,
    /// When the stored credentials expire (ms), if known.
    pub expires_at: Option<i64>,
    /// Session length of issued credentials.
    pub expiration_seconds: Option<i64>,
    /// Who registered it (`user:alice`).
    pub created_by: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A connector with its namespace name and decoded JSON columns.
#[derive(Debug, Clone)]
pub struct Connector {
    /// The row.
    pub row: ConnectorRow,
    /// Namespace name.
    pub namespace: String,
    /// Resource types.
    pub resource_types: Vec<String>,
    /// Plain attributes, and `"[HIDDEN]"` for each secret attribute that is set.
    pub configuration: Map<String, Value>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// `connector:<namespace>/<name>`, as the audit log names a connector.
pub fn audit_name(namespace: &str, name: &str) -> String {
    format!("connector:{namespace}/{name}")
}

impl Connector {
    /// How the audit log names it.
    pub fn audit_name(&self) -> String {
        audit_name(&self.namespace, &self.row.name)
    }

    /// Where it is.
    pub fn address(&self) -> crate::names::Address {
        crate::names::Address::qualified(&self.namespace, &self.row.name)
    }

    /// Its page.
    pub fn url(&self) -> String {
        super::connector_url(&self.namespace, &self.row.name)
    }

    /// Decodes the JSON columns (unreadable ones become empty, with a warning).
    pub fn from_row(row: ConnectorRow, namespace: String) -> Self {
        let decode = |what: &str, text: &str| -> Value {
            serde_json::from_str(text).unwrap_or_else(|e| {
                tracing::warn!(connector = %row.name, what, error = %e, "unreadable column");
                Value::Null
            })
        };
        let strings = |v: Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let resource_types = strings(decode("resource_types", &row.resource_types));
        let configuration = match decode("configuration", &row.configuration) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let labels = match decode("labels", &row.labels) {
            Value::Object(m) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect(),
            _ => BTreeMap::new(),
        };
        Self {
            row,
            namespace,
            resource_types,
            configuration,
            labels,
        }
    }

    /// The plain attributes only (without the `[HIDDEN]` markers of secrets).
    pub fn plain_configuration(&self) -> Map<String, Value> {
        self.configuration
            .iter()
            .filter(|(_, v)| v.as_str() != Some(HIDDEN))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Names of the secret attributes that are set.
    pub fn secret_names(&self) -> Vec<String> {
        self.configuration
            .iter()
            .filter(|(_, v)| v.as_str() == Some(HIDDEN))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// When a verification last reported on this connector.
    pub fn verified_at(resources: &[ResourceRow]) -> Option<i64> {
        resources
            .iter()
            .filter(|r| r.origin == "verified")
            .map(|r| r.checked_at)
            .max()
    }

    /// `resource_id`, or `<multiple>` when one connector reaches several.
    pub fn resource_label(&self) -> String {
        self.row
            .resource_id
            .clone()
            .unwrap_or_else(|| "<multiple>".into())
    }

    /// The API shape (never a secret value: the stored configuration holds only
    /// `[HIDDEN]` for secrets).
    pub fn json(&self, resources: &[ResourceRow]) -> ConnectorJson {
        ConnectorJson {
            name: self.row.name.clone(),
            namespace: self.namespace.clone(),
            connector_type: self.row.connector_type.clone(),
            auth_method: self.row.auth_method.clone(),
            resource_types: self.resource_types.clone(),
            resource_id: self.row.resource_id.clone(),
            configuration: self.configuration.clone(),
            labels: self.labels.clone(),
            description: self.row.description.clone(),
            expires_at: self.row.expires_at.map(rfc3339),
            expiration_seconds: self.row.expiration_seconds,
            owner: self.row.created_by.clone(),
            created_at: rfc3339(self.row.created_at),
            updated_at: rfc3339(self.row.updated_at),
            verified_at: Self::verified_at(resources).map(rfc3339),
            resources: resources.iter().map(ResourceRow::json).collect(),
        }
    }
}

/// A connector as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectorJson {
    /// Name, unique in its namespace.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Connector type (`aws`, `gcp`, …).
    pub connector_type: String,
    /// Auth method of the type.
    pub auth_method: String,
    /// Resource types it reaches.
    pub resource_types: Vec<String>,
    /// The one resource it reaches, or `null` for several.
    pub resource_id: Option<String>,
    /// Attributes; each secret shows only as `[HIDDEN]`.
    #[schema(value_type = Object)]
    pub configuration: Map<String, Value>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Description.
    pub description: String,
    /// When its stored credentials expire (RFC 3339), if known.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Session length of issued credentials, seconds.
    pub expiration_seconds: Option<i64>,
    /// Who registered it.
    pub owner: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Last verification (RFC 3339), or `null`.
    #[schema(format = DateTime)]
    pub verified_at: Option<String>,
    /// What it reaches, per resource type.
    pub resources: Vec<ResourceJson>,
}

/// What a connector reaches for one resource type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourceJson {
    /// Resource type.
    pub resource_type: String,
    /// The ids it reaches, or `null` when not known.
    pub resource_ids: Option<Vec<String>>,
    /// What the last verification reported, if it failed.
    pub error: Option<String>,
    /// `declared` or `verified`.
    pub origin: String,
    /// When this was recorded (RFC 3339).
    #[schema(format = DateTime)]
    pub checked_at: String,
}

/// What a connector reaches for one resource type.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = connector_resources)]
pub struct ResourceRow {
    /// Connector.
    pub connector_id: i64,
    /// Resource type.
    pub resource_type: String,
    /// JSON array of ids, or `None` when unknown (not verified, several possible).
    pub resource_ids: Option<String>,
    /// Error of the last verification.
    pub error: Option<String>,
    /// `declared` or `verified`.
    pub origin: String,
    /// When this was recorded (ms).
    pub checked_at: i64,
}

impl ResourceRow {
    /// The ids, decoded.
    pub fn ids(&self) -> Option<Vec<String>> {
        self.resource_ids
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
    }

    /// The API shape.
    pub fn json(&self) -> ResourceJson {
        ResourceJson {
            resource_type: self.resource_type.clone(),
            resource_ids: self.ids(),
            error: self.error.clone(),
            origin: self.origin.clone(),
            checked_at: rfc3339(self.checked_at),
        }
    }
}
