//! Checks of connector input against the catalog: the configuration against its auth
//! method's JSON Schema (plus what a schema cannot say: JSON documents, key-file
//! types, base64), resource ids in their canonical form, labels and expirations.
//!
//! Messages never repeat the offending value: it may be a secret.

use std::collections::BTreeMap;

use base64::Engine;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::catalog::{AuthMethod, ConnectorType, ResourceType};
use crate::errors::FieldErrors;

/// What every secret attribute's value is shown as.
pub const HIDDEN: &str = "[HIDDEN]";
/// Most labels on a connector.
pub const MAX_LABELS: usize = 32;
/// Longest label value.
pub const MAX_LABEL_VALUE: usize = 256;
/// Longest attribute value (text), in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Longest resource id.
pub const MAX_RESOURCE_ID: usize = 512;

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

/// The canonical form of a resource id of `rt`: `s3://name` for S3 (also from an ARN or
/// a bare name), `gs://name` for GCS (also from a bare name), otherwise trimmed.
pub fn canonical_resource_id(rt: &ResourceType, id: &str) -> Result<String, String> {
    let id = id.trim();
    if id.is_empty() {
        return Err("must not be empty".into());
    }
    if id.len() > MAX_RESOURCE_ID || id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "must be at most {MAX_RESOURCE_ID} characters without spaces"
        ));
    }
    let bucket = |name: &str, max: usize, scheme: &str| -> Result<String, String> {
        let ok = (3..=max).contains(&name.len())
            && name.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_')
            })
            && name.starts_with(|c: char| c.is_ascii_alphanumeric());
        if ok {
            Ok(format!("{scheme}{name}"))
        } else {
            Err(format!(
                "is not a bucket name (3-{max} lower-case letters, digits, '-', '.'), e.g. {}",
                rt.resource_id.examples.first().map_or("", String::as_str)
            ))
        }
    };
    match rt.resource_type.as_str() {
        "s3-bucket" => {
            let name = id
                .strip_prefix("s3://")
                .or_else(|| id.strip_prefix("arn:aws:s3:::"))
                .unwrap_or(id)
                .trim_end_matches('/');
            bucket(name, 63, "s3://")
        }
        "gcs-bucket" => {
            let name = id.strip_prefix("gs://").unwrap_or(id).trim_end_matches('/');
            bucket(name, 222, "gs://")
        }
        _ => Ok(id.to_owned()),
    }
}

/// Checks labels: at most [`MAX_LABELS`], keys 1–63 of `A-Z a-z 0-9 . _ / -` starting
/// with a letter or digit, values up to [`MAX_LABEL_VALUE`] characters of text.
pub fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    if labels.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels"));
    }
    for (k, v) in labels {
        let key_ok = (1..=63).contains(&k.len())
            && k.starts_with(|c: char| c.is_ascii_alphanumeric())
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
        if !key_ok {
            return Err(format!(
                "label key {k:?} must be 1-63 characters of A-Z a-z 0-9 . _ / - starting with a letter or digit"
            ));
        }
        if v.chars().count() > MAX_LABEL_VALUE || v.chars().any(char::is_control) {
            return Err(format!(
                "label {k:?}: the value must be at most {MAX_LABEL_VALUE} characters of text"
            ));
        }
    }
    Ok(())
}

/// Parses `key=value` lines (or commas) into labels.
pub fn parse_label_lines(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for item in text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not key=value"))?;
        labels.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    check_labels(&labels)?;
    Ok(labels)
}

/// Checks the session length of issued credentials; `None` → the method's default.
pub fn check_expiration(method: &AuthMethod, seconds: Option<i64>) -> Result<Option<i64>, String> {
    let Some(s) = seconds else {
        return Ok(method.default_expiration_seconds);
    };
    if !method.has_expiration() {
        return Err(format!(
            "{} hands out credentials as stored, so it takes no expiration",
            method.auth_method
        ));
    }
    if s <= 0 {
        return Err("must be a positive number of seconds".into());
    }
    if let Some(min) = method.min_expiration_seconds
        && s < min
    {
        return Err(format!("must be at least {min} seconds"));
    }
    if let Some(max) = method.max_expiration_seconds
        && s > max
    {
        return Err(format!("must be at most {max} seconds"));
    }
    Ok(Some(s))
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

    #[test]
    fn resource_ids_are_canonical() {
        let c = Catalog::load(false).unwrap_or_else(|e| panic!("{e}"));
        let s3 = c
            .get("aws")
            .and_then(|t| t.resource_type("s3-bucket"))
            .unwrap_or_else(|| panic!("s3"));
        for id in [
            "s3://my-bucket",
            "arn:aws:s3:::my-bucket",
            "my-bucket",
            " s3://my-bucket/ ",
        ] {
            assert_eq!(
                canonical_resource_id(s3, id).as_deref(),
                Ok("s3://my-bucket"),
                "{id}"
            );
        }
        for bad in ["", "s3://UPPER", "a b", "s3://x"] {
            assert!(canonical_resource_id(s3, bad).is_err(), "{bad}");
        }
        let gcs = c
            .get("gcp")
            .and_then(|t| t.resource_type("gcs-bucket"))
            .unwrap_or_else(|| panic!("gcs"));
        assert_eq!(
            canonical_resource_id(gcs, "data").as_deref(),
            Ok("gs://data")
        );
    }

    #[test]
    fn labels_and_expirations_are_bounded() {
        assert!(parse_label_lines("team=ml\nenv = prod").is_ok());
        assert!(parse_label_lines("no-equals").is_err());
        assert!(parse_label_lines("-bad=x").is_err());
        let many: String = (0..40).map(|i| format!("k{i}=v\n")).collect();
        assert!(parse_label_lines(&many).is_err());
        let c = Catalog::load(false).unwrap_or_else(|e| panic!("{e}"));
        let aws = c.get("aws").unwrap_or_else(|| panic!("aws"));
        let session = aws
            .auth_method("session-token")
            .unwrap_or_else(|| panic!("m"));
        assert_eq!(check_expiration(session, None), Ok(Some(43200)));
        assert_eq!(check_expiration(session, Some(900)), Ok(Some(900)));
        assert!(check_expiration(session, Some(60)).is_err());
        assert!(check_expiration(session, Some(200_000)).is_err());
        let key = aws.auth_method("secret-key").unwrap_or_else(|| panic!("m"));
        assert_eq!(check_expiration(key, None), Ok(None));
        assert!(check_expiration(key, Some(3600)).is_err());
    }
}
