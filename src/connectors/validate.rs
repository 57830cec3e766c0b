//! Checks of connector input against the catalog: the configuration against its auth
//! method's JSON Schema (plus what a schema cannot say: JSON documents, key-file
//! types, base64); resource ids, labels and expirations are checked in `values`.
//!
//! Messages never repeat the offending value: it may be a secret.

mod values;

use base64::Engine;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::catalog::{AuthMethod, ConnectorType};
use crate::errors::FieldErrors;

pub use values::{canonical_resource_id, check_expiration, check_labels, parse_label_lines};

/// What every secret attribute's value is shown as.
pub const HIDDEN: &str = "[HIDDEN]";
/// Longest attribute value (text), in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A configuration split into plain attributes and secrets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitConfig {
    /// Non-secret attributes (stored as JSON, shown).
    pub plain: Map<String, Value>,
    /// Secret attributes (encrypted at rest, shown as `[HIDDEN]`).
    pub secrets: Map<String, Value>,
}

/// Drops blank values (`""`, `null`, empty lists): an unset optional attribute.
pub fn drop_blanks(config: &Map<String, Value>) -> Map<String, Value> {
    config
        .iter()
        .filter(|(_, v)| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Checks a complete configuration (blanks already dropped) for `method`; field errors
/// are keyed `configuration.<attribute>`.
pub fn check_configuration(
    validator: &jsonschema::Validator,
    connector_type: &ConnectorType,
    method: &AuthMethod,
    config: &Map<String, Value>,
) -> FieldErrors {
    let mut fields = FieldErrors::new();
    let schema_props = method.config_schema["properties"].as_object();
    let instance = Value::Object(config.clone());
    for error in validator.iter_errors(&instance) {
        let path = error.instance_path().as_str().to_owned();
        let attribute = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        let prop = schema_props.and_then(|p| p.get(&attribute));
        let (keys, message): (Vec<String>, String) = match error.kind() {
            ValidationErrorKind::Required { property } => (
                vec![property.as_str().unwrap_or("").to_owned()],
                "is required".into(),
            ),
            ValidationErrorKind::AdditionalProperties { unexpected } => (
                unexpected.clone(),
                format!(
                    "is not an attribute of {}/{}",
                    connector_type.connector_type, method.auth_method
                ),
            ),
            ValidationErrorKind::Type { .. } => (
                vec![attribute.clone()],
                match prop.and_then(|p| p["type"].as_str()) {
                    Some("boolean") => "must be true or false".into(),
                    Some("array") => "must be a list of strings".into(),
                    _ if path.matches('/').count() > 1 => "entries must be strings".into(),
                    _ => "must be a string".into(),
                },
            ),
            ValidationErrorKind::MinLength { .. } => {
                (vec![attribute.clone()], "must not be empty".into())
            }
            ValidationErrorKind::MaxLength { limit } => (
                vec![attribute.clone()],
                format!("must be at most {limit} characters"),
            ),
            ValidationErrorKind::MinItems { limit } => (
                vec![attribute.clone()],
                format!(
                    "needs at least {limit} entr{}",
                    if *limit == 1 { "y" } else { "ies" }
                ),
            ),
            ValidationErrorKind::Format { format } => (
                vec![attribute.clone()],
                match format.as_str() {
                    "uuid" => "must be a UUID, like 123e4567-e89b-12d3-a456-426614174000".into(),
                    "uri" => "must be an absolute URL, like https://example.com/path".into(),
                    "email" => "must be an e-mail address".into(),
                    other => format!("must be a valid {other}"),
                },
            ),
            ValidationErrorKind::Pattern { .. } => (
                vec![attribute.clone()],
                match prop
                    .and_then(|p| p["examples"].get(0))
                    .and_then(Value::as_str)
                {
                    Some(example) => format!("does not have the expected form, e.g. {example}"),
                    None => "does not have the expected form".into(),
                },
            ),
            ValidationErrorKind::Enum { .. } => (
                vec![attribute.clone()],
                "is not one of the allowed values".into(),
            ),
            _ => (vec![attribute.clone()], "is not valid".into()),
        };
        for key in keys {
            fields
                .entry(format!("configuration.{key}"))
                .or_insert_with(|| message.clone());
        }
    }
    // What a schema cannot say.
    for (name, value) in config {
        let key = format!("configuration.{name}");
        if fields.contains_key(&key) {
            continue;
        }
        let Some(prop) = schema_props.and_then(|p| p.get(name)) else {
            continue;
        };
        let Some(text) = value.as_str() else {
            continue;
        };
        if text.len() > MAX_VALUE_BYTES {
            fields.insert(key, format!("must be at most {MAX_VALUE_BYTES} bytes"));
            continue;
        }
        if text.contains('\0') {
            fields.insert(key, "must not contain NUL characters".into());
            continue;
        }
        if prop["contentMediaType"] == "application/json" {
            match serde_json::from_str::<Value>(text) {
                Err(_) => {
                    fields.insert(key, "must be a JSON document".into());
                }
                Ok(doc) => {
                    if let Some(message) = json_required(&prop["x-json-required"], &doc) {
                        fields.insert(key, message);
                    }
                }
            }
            continue;
        }
        if prop["contentEncoding"] == "base64" {
            let compact: String = text.split_whitespace().collect();
            if base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .is_err()
            {
                fields.insert(
                    key,
                    "must be base64 (e.g. the output of base64 -w0 id_ed25519)".into(),
                );
            }
        }
    }
    fields
}

/// Checks a key file against `{"type": …, "fields": […]}`.
fn json_required(spec: &Value, doc: &Value) -> Option<String> {
    let expected_type = spec["type"].as_str()?;
    let Some(obj) = doc.as_object() else {
        return Some(format!(
            "must be a JSON object with \"type\": \"{expected_type}\""
        ));
    };
    if obj.get("type").and_then(Value::as_str) != Some(expected_type) {
        return Some(format!(
            "must be a key file with \"type\": \"{expected_type}\""
        ));
    }
    let missing: Vec<&str> = spec["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|f| obj.get(*f).is_none_or(Value::is_null))
        .collect();
    (!missing.is_empty()).then(|| format!("is missing {}", quoted_list(&missing)))
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a configuration into plain attributes and secrets.
pub fn split(method: &AuthMethod, config: &Map<String, Value>) -> SplitConfig {
    let secret_names = method.secret_names();
    let mut out = SplitConfig::default();
    for (k, v) in config {
        if secret_names.contains(k) {
            out.secrets.insert(k.clone(), v.clone());
        } else {
            out.plain.insert(k.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::catalog::Catalog;
    use serde_json::json;

    fn errors(ty: &str, method: &str, config: Value) -> FieldErrors {
        let c = Catalog::load(false).unwrap_or_else(|e| panic!("{e}"));
        let t = c.get(ty).unwrap_or_else(|| panic!("{ty}"));
        let m = t.auth_method(method).unwrap_or_else(|| panic!("{method}"));
        let Value::Object(map) = config else {
            panic!("not an object")
        };
        let v = c
            .validator(ty, method)
            .unwrap_or_else(|| panic!("validator"));
        check_configuration(v, t, m, &drop_blanks(&map))
    }

    #[test]
    fn schema_errors_name_the_attribute_without_echoing_the_value() {
        assert!(errors(
            "aws",
            "secret-key",
            json!({"region": "eu-west-1", "aws_access_key_id": "AKIA", "aws_secret_access_key": "s"})
        )
        .is_empty());
        let e = errors(
            "aws",
            "secret-key",
            json!({"region": "", "aws_access_key_id": 7, "shoe_size": "43", "aws_secret_access_key": "TOPSECRET"}),
        );
        assert_eq!(e["configuration.region"], "is required");
        assert_eq!(e["configuration.aws_access_key_id"], "must be a string");
        assert!(e["configuration.shoe_size"].contains("not an attribute of aws/secret-key"));
        assert!(!format!("{e:?}").contains("TOPSECRET"));
        let e = errors(
            "azure",
            "service-principal",
            json!({"tenant_id": "not-a-uuid", "client_id": "123e4567-e89b-12d3-a456-426614174000", "client_secret": "x"}),
        );
        assert!(e["configuration.tenant_id"].contains("UUID"), "{e:?}");
        assert_eq!(e.len(), 1);
        let e = errors(
            "kubernetes",
            "token",
            json!({"server": "https://k8s.example:6443", "cluster_name": "c", "insecure": "yes"}),
        );
        assert_eq!(e["configuration.insecure"], "must be true or false");
        let e = errors(
            "hyperai",
            "ed25519-key",
            json!({"base64_ssh_key": "!!!", "hostnames": [], "username": "u"}),
        );
        assert!(
            e["configuration.hostnames"].contains("is required")
                || e["configuration.hostnames"].contains("at least"),
            "{e:?}"
        );
        assert!(
            e["configuration.base64_ssh_key"].contains("base64"),
            "{e:?}"
        );
    }

    #[test]
    fn json_key_files_are_checked() {
        let e = errors(
            "gcp",
            "service-account",
            json!({"project_id": "p", "service_account_json": "{not json"}),
        );
        assert_eq!(
            e["configuration.service_account_json"],
            "must be a JSON document"
        );
        let e = errors(
            "gcp",
            "service-account",
            json!({"project_id": "p", "service_account_json": "{\"type\": \"authorized_user\"}"}),
        );
        assert!(e["configuration.service_account_json"].contains("\"service_account\""));
        let e = errors(
            "gcp",
            "service-account",
            json!({"project_id": "p", "service_account_json": "{\"type\": \"service_account\", \"project_id\": \"p\"}"}),
        );
        assert!(
            e["configuration.service_account_json"].contains("\"private_key\""),
            "{e:?}"
        );
        let e = errors(
            "aws",
            "iam-role",
            json!({"region": "r", "aws_access_key_id": "a", "aws_secret_access_key": "s",
                   "role_arn": "arn:aws:iam::123456789012:role/x", "policy": "{"}),
        );
        assert_eq!(e["configuration.policy"], "must be a JSON document");
    }
}
