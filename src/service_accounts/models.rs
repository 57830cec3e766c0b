//! Rows and JSON shapes of service accounts and API keys.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_keys, service_accounts};
use crate::db::{Rfc3339, rfc3339};

/// A service-account row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_accounts)]
pub struct ServiceAccount {
    /// Row id.
    pub id: i64,
    /// Globally unique name.
    pub name: String,
    /// Owning namespace.
    pub namespace_id: i64,
    /// Free text.
    pub description: String,
    /// Inactive accounts' keys and tokens are refused.
    pub active: bool,
    /// Who created it (`user:alice`).
    pub created_by: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// An API-key row (hashes only, never a secret).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub service_account_id: i64,
    /// Name, unique per account.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Public id embedded in the key.
    pub key_id: String,
    /// HMAC of the current secret.
    pub secret_hash: String,
    /// HMAC of the previous secret (during a grace window).
    pub previous_secret_hash: Option<String>,
    /// End of the grace window (ms).
    pub retain_until: Option<i64>,
    /// Rotations so far.
    pub generation: i64,
    /// Non-secret fragment for recognition.
    pub display: String,
    /// Inactive keys are refused.
    pub active: bool,
    /// Creation time (ms).
    pub created_at: i64,
    /// Expiry (ms).
    pub expires_at: Option<i64>,
    /// Last use, coalesced to once a minute (ms).
    pub last_used_at: Option<i64>,
    /// Last rotation (ms).
    pub last_rotated_at: Option<i64>,
}

/// A service account with its namespace name and key statistics (list rows).
#[derive(Debug, Clone)]
pub struct AccountSummary {
    /// The row.
    pub account: ServiceAccount,
    /// Namespace name.
    pub namespace: String,
    /// Number of keys.
    pub key_count: i64,
    /// Most recent use of any key.
    pub last_used_at: Option<i64>,
}

/// JSON of a service account, borrowed from its row (lists write many).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountJson<'a> {
    /// Name.
    pub name: &'a str,
    /// Namespace name.
    pub namespace: &'a str,
    /// Description.
    pub description: &'a str,
    /// Active flag.
    pub active: bool,
    /// Creator.
    pub created_by: &'a str,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Rfc3339,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Rfc3339,
    /// Number of keys.
    pub api_keys: i64,
    /// RFC 3339 or null.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Rfc3339>,
}

impl<'a> From<&'a AccountSummary> for AccountJson<'a> {
    fn from(s: &'a AccountSummary) -> Self {
        Self {
            name: &s.account.name,
            namespace: &s.namespace,
            description: &s.account.description,
            active: s.account.active,
            created_by: &s.account.created_by,
            created_at: Rfc3339(s.account.created_at),
            updated_at: Rfc3339(s.account.updated_at),
            api_keys: s.key_count,
            last_used_at: s.last_used_at.map(Rfc3339),
        }
    }
}

/// JSON of an API key; `key` only in create and rotate answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyJson {
    /// Name.
    pub name: String,
    /// Owning service account.
    pub service_account: String,
    /// Description.
    pub description: String,
    /// Active flag.
    pub active: bool,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339 or null.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// RFC 3339 or null.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// RFC 3339 or null.
    #[schema(format = DateTime)]
    pub last_rotated_at: Option<String>,
    /// End of the rotation grace window, RFC 3339 or null.
    #[schema(format = DateTime)]
    pub retain_until: Option<String>,
    /// Non-secret fragment.
    pub display: String,
    /// The plaintext: create and rotate answers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KeyJson {
    /// JSON of `key` owned by `account`; `now` hides a grace window that has ended.
    pub fn new(key: &ApiKey, account: &str, now: i64, plaintext: Option<String>) -> Self {
        Self {
            name: key.name.clone(),
            service_account: account.to_owned(),
            description: key.description.clone(),
            active: key.active,
            created_at: rfc3339(key.created_at),
            expires_at: key.expires_at.map(rfc3339),
            last_used_at: key.last_used_at.map(rfc3339),
            last_rotated_at: key.last_rotated_at.map(rfc3339),
            retain_until: key.retain_until.filter(|u| *u > now).map(rfc3339),
            display: key.display.clone(),
            key: plaintext,
        }
    }
}
