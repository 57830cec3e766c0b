//! The catalog's data types: connector types, their auth methods (with the attributes
//! read from each method's JSON Schema) and resource types, and how they read as text.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an auth method's credentials behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// Stored credentials handed out as they are (until rotated).
    LongLived,
    /// Short-lived credentials issued on demand.
    Temporary,
    /// The server's own ambient identity.
    Implicit,
}

impl CredentialKind {
    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::LongLived => "long-lived",
            Self::Temporary => "temporary",
            Self::Implicit => "implicit",
        }
    }
}

/// How a resource id is written.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceIdInfo {
    /// What the id names ("Bucket").
    pub name: String,
    /// Accepted forms.
    pub description: String,
    /// Examples.
    pub examples: Vec<String>,
    /// The configuration attribute that names the resource (e.g. `cluster_name`).
    #[serde(default)]
    pub from_attribute: Option<String>,
}

/// A kind of resource a connector reaches.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceType {
    /// Id, e.g. `s3-bucket`.
    pub resource_type: String,
    /// Display name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Whether one connector may reach several instances.
    pub supports_instances: bool,
    /// Id format.
    pub resource_id: ResourceIdInfo,
    /// Id used when none is given (e.g. `docker.io`).
    pub default_resource_id: Option<String>,
}

/// One way of authenticating a connector type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthMethod {
    /// Id, e.g. `secret-key`.
    pub auth_method: String,
    /// Display name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Long-lived, temporary or implicit credentials.
    pub credential_kind: CredentialKind,
    /// When to use it.
    pub good_for: String,
    /// Security trade-offs.
    pub trade_offs: String,
    /// Uses the server's ambient identity (disabled unless configured).
    pub implicit: bool,
    /// Shortest session of issued credentials, seconds.
    pub min_expiration_seconds: Option<i64>,
    /// Longest session, seconds.
    pub max_expiration_seconds: Option<i64>,
    /// Default session, seconds.
    pub default_expiration_seconds: Option<i64>,
    /// JSON Schema of the attributes.
    pub config_schema: Value,
}

/// The type of an attribute, as forms need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    /// Text.
    Text,
    /// true/false.
    Boolean,
    /// A list of strings.
    List,
}

/// One attribute of an auth method, read from its schema.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// Key in the configuration.
    pub name: String,
    /// Display name.
    pub title: String,
    /// Meaning.
    pub description: String,
    /// Text, boolean or list.
    pub kind: AttributeKind,
    /// In `required`.
    pub required: bool,
    /// `format: password`: encrypted at rest, shown as `[HIDDEN]`.
    pub secret: bool,
    /// `format` other than password (uuid, uri, email).
    pub format: Option<String>,
    /// Says where credentials are sent (`x-destination`): changing it requires
    /// re-entering the secrets.
    pub destination: bool,
    /// Must hold a JSON document.
    pub json: bool,
    /// Default value.
    pub default: Option<Value>,
    /// First example, for placeholders.
    pub example: Option<String>,
}

impl Attribute {
    /// The default as form text.
    pub fn default_text(&self) -> String {
        match &self.default {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(other) => other.to_string(),
            None => String::new(),
        }
    }
}

impl AuthMethod {
    /// The attributes in schema order (required first, as the data lists them).
    pub fn attributes(&self) -> Vec<Attribute> {
        let required: Vec<&str> = self.config_schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Some(props) = self.config_schema["properties"].as_object() else {
            return Vec::new();
        };
        props
            .iter()
            .map(|(name, p)| {
                let format = p["format"].as_str();
                Attribute {
                    name: name.clone(),
                    title: p["title"].as_str().unwrap_or(name).to_owned(),
                    description: p["description"].as_str().unwrap_or("").to_owned(),
                    kind: match p["type"].as_str() {
                        Some("boolean") => AttributeKind::Boolean,
                        Some("array") => AttributeKind::List,
                        _ => AttributeKind::Text,
                    },
                    required: required.contains(&name.as_str()),
                    secret: format == Some("password"),
                    format: format.filter(|f| *f != "password").map(str::to_owned),
                    json: p["contentMediaType"].as_str() == Some("application/json"),
                    destination: p["x-destination"] == true,
                    default: p.get("default").cloned(),
                    example: p["examples"].get(0).map(|e| value_text(e, ", ")),
                }
            })
            .collect()
    }

    /// Names of the secret attributes.
    pub fn secret_names(&self) -> Vec<String> {
        self.attributes()
            .into_iter()
            .filter(|a| a.secret)
            .map(|a| a.name)
            .collect()
    }

    /// Whether the method issues credentials with a session length.
    pub fn has_expiration(&self) -> bool {
        self.min_expiration_seconds.is_some()
            || self.max_expiration_seconds.is_some()
            || self.default_expiration_seconds.is_some()
    }

    /// The expiration bounds as text ("15 min – 36 h, default 12 h").
    pub fn expiration_text(&self) -> String {
        if !self.has_expiration() {
            return "none (credentials are handed out as stored)".into();
        }
        let f = |s: Option<i64>| s.map_or("no limit".to_owned(), duration_text);
        format!(
            "{} – {}, default {}",
            self.min_expiration_seconds
                .map_or("any".to_owned(), duration_text),
            f(self.max_expiration_seconds),
            self.default_expiration_seconds
                .map_or("provider's".to_owned(), duration_text)
        )
    }
}

/// `900` → "15 min", `43200` → "12 h".
pub fn duration_text(seconds: i64) -> String {
    if seconds % 3600 == 0 {
        format!("{} h", seconds / 3600)
    } else if seconds % 60 == 0 {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// A connector type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorType {
    /// Id, e.g. `aws`.
    pub connector_type: String,
    /// Display name.
    pub name: String,
    /// What it gives access to.
    pub description: String,
    /// How to use it.
    pub docs: String,
    /// Whether configuration can be read from a local environment.
    pub supports_auto_configuration: bool,
    /// What auto-configuration reads.
    pub auto_configuration: Option<String>,
    /// Resource types.
    pub resource_types: Vec<ResourceType>,
    /// Auth methods.
    pub auth_methods: Vec<AuthMethod>,
}

impl ConnectorType {
    /// The auth method `id`.
    pub fn auth_method(&self, id: &str) -> Option<&AuthMethod> {
        self.auth_methods.iter().find(|m| m.auth_method == id)
    }

    /// The resource type `id`.
    pub fn resource_type(&self, id: &str) -> Option<&ResourceType> {
        self.resource_types.iter().find(|r| r.resource_type == id)
    }

    /// Whether any auth method issues temporary credentials.
    pub fn issues_temporary_credentials(&self) -> bool {
        self.auth_methods
            .iter()
            .any(|m| m.credential_kind == CredentialKind::Temporary)
    }
}

/// An attribute value as text: strings as they are, lists joined with `sep`, anything
/// else as JSON.
pub fn value_text(v: &Value, sep: &str) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(sep),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(900), "15 min");
        assert_eq!(duration_text(43200), "12 h");
        assert_eq!(duration_text(61), "61 s");
    }

    #[test]
    fn values_read_as_text_with_lists_joined() {
        assert_eq!(value_text(&json!("a"), ", "), "a");
        assert_eq!(value_text(&json!(["a", "b"]), "\n"), "a\nb");
        assert_eq!(value_text(&json!(true), ", "), "true");
    }
}
