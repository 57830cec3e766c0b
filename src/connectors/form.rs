//! The register/edit form as data: decoding what it sent (or the query of a field
//! swap), filling it from a stored connector, and turning it into a [`Draft`] or a
//! [`Patch`]. Pure; the pages that show it are in `form_pages`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::catalog::{AttributeKind, AuthMethod, Catalog, value_text};
use super::models::Connector;
use super::patch::Patch;
use super::resolve::Draft;
use super::validate;
use crate::errors::FieldErrors;

/// How the form shows an expiry (a `datetime-local` value, UTC, to the second).
const EXPIRY_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// What the form sent (or the query of a field swap), as typed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FormInput {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Catalog type.
    pub connector_type: String,
    /// Auth method.
    pub auth_method: String,
    /// Resource types ticked.
    pub resource_types: Vec<String>,
    /// Pinned resource.
    pub resource_id: String,
    /// Declared ids, one per line.
    pub resource_ids: String,
    /// `key=value` lines.
    pub labels: String,
    /// Description.
    pub description: String,
    /// Credential expiry (UTC, `YYYY-MM-DDTHH:MM[:SS]`).
    pub expires_at: String,
    /// Session length, seconds.
    pub expiration_seconds: String,
    /// `updated_at` of the connector the edit form was loaded from.
    pub version: String,
    /// `cfg.<attribute>` fields, in the order sent.
    pub cfg: Vec<(String, String)>,
    /// Register only if the provider accepts the credentials first.
    pub verify_first: bool,
}

/// An expiry as the form shows it.
fn expiry_text(expires_at: Option<i64>) -> String {
    expires_at
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format(EXPIRY_FORMAT).to_string())
        .unwrap_or_default()
}

/// Non-empty entries of a list typed one per line (or separated by commas).
fn list_entries(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

impl FormInput {
    /// Decodes `application/x-www-form-urlencoded` text (a body or a query string).
    pub fn decode(text: &[u8]) -> Self {
        Self::parse(url::form_urlencoded::parse(text))
    }

    fn parse<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            let v = v.into_owned();
            match k.as_ref() {
                "name" => f.name = v.trim().to_owned(),
                "namespace" => f.namespace = v,
                "connector_type" => f.connector_type = v,
                "auth_method" => f.auth_method = v,
                "resource_type" => f.resource_types.push(v),
                "resource_id" => f.resource_id = v,
                "resource_ids" => f.resource_ids = v,
                "labels" => f.labels = v,
                "description" => f.description = v,
                "expires_at" => f.expires_at = v,
                "expiration_seconds" => f.expiration_seconds = v,
                "version" => f.version = v,
                "verify_first" => f.verify_first = v == "true",
                other => {
                    if let Some(attr) = other.strip_prefix("cfg.") {
                        f.cfg.push((attr.to_owned(), v));
                    }
                }
            }
        }
        f
    }

    /// The form of an existing connector (`pinnable`: its resource id is the user's
    /// choice rather than what the configuration names).
    pub fn from_connector(c: &Connector, pinnable: bool) -> Self {
        Self {
            name: c.row.name.clone(),
            namespace: c.namespace.clone(),
            connector_type: c.row.connector_type.clone(),
            auth_method: c.row.auth_method.clone(),
            resource_types: c.resource_types.clone(),
            resource_id: if pinnable {
                c.row.resource_id.clone().unwrap_or_default()
            } else {
                String::new()
            },
            resource_ids: String::new(),
            labels: c
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            description: c.row.description.clone(),
            expires_at: expiry_text(c.row.expires_at),
            expiration_seconds: c
                .row
                .expiration_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            version: c.row.updated_at.to_string(),
            cfg: c
                .plain_configuration()
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v, "\n")))
                .collect(),
            verify_first: false,
        }
    }

    /// The value typed for attribute `attr` (the last one sent).
    pub fn value(&self, attr: &str) -> Option<&str> {
        self.cfg
            .iter()
            .rev()
            .find(|(k, _)| k == attr)
            .map(|(_, v)| v.as_str())
    }

    /// Attributes sent with a value that `method` does not have.
    pub fn stray_attributes(&self, method: &AuthMethod) -> Vec<String> {
        let known: Vec<String> = method.attributes().into_iter().map(|a| a.name).collect();
        self.cfg
            .iter()
            .filter(|(k, v)| !known.contains(k) && !v.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The configuration as typed values for `method`.
    fn configuration(&self, method: Option<&AuthMethod>) -> Map<String, Value> {
        let attrs = method.map(AuthMethod::attributes).unwrap_or_default();
        let mut out = Map::new();
        for (k, v) in &self.cfg {
            let kind = attrs.iter().find(|a| &a.name == k).map(|a| a.kind);
            let value = match kind {
                Some(AttributeKind::Boolean) => match v.as_str() {
                    "" => continue,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    other => Value::String(other.to_owned()),
                },
                Some(AttributeKind::List) => Value::Array(
                    list_entries(v)
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                ),
                Some(AttributeKind::Text) => {
                    Value::String(v.trim_end_matches(['\r', '\n']).to_owned())
                }
                None if v.is_empty() => continue,
                None => Value::String(v.clone()),
            };
            out.insert(k.clone(), value);
        }
        out
    }

    /// Expiry as RFC 3339 (a `datetime-local` value is taken as UTC).
    fn expires_at(&self) -> Option<String> {
        let t = self.expires_at.trim();
        if t.is_empty() {
            None
        } else if t.len() == 16 && t.as_bytes().get(10) == Some(&b'T') {
            Some(format!("{t}:00Z"))
        } else if t.len() == 19 && t.as_bytes().get(10) == Some(&b'T') {
            Some(format!("{t}Z"))
        } else {
            Some(t.to_owned())
        }
    }

    fn resource_id(&self) -> Option<String> {
        Some(self.resource_id.clone()).filter(|s| !s.trim().is_empty())
    }

    fn resource_ids(&self) -> Option<Vec<String>> {
        let ids: Vec<String> = list_entries(&self.resource_ids)
            .map(str::to_owned)
            .collect();
        (!ids.is_empty()).then_some(ids)
    }

    /// Labels and session length, with their own errors.
    fn extras(&self, errors: &mut FieldErrors) -> (BTreeMap<String, String>, Option<i64>) {
        let labels = validate::parse_label_lines(&self.labels).unwrap_or_else(|e| {
            errors.insert("labels".into(), e);
            Default::default()
        });
        let t = self.expiration_seconds.trim();
        let seconds = if t.is_empty() {
            None
        } else {
            match t.parse::<i64>() {
                Ok(s) => Some(s),
                Err(_) => {
                    errors.insert(
                        "expiration_seconds".into(),
                        "must be a whole number of seconds".into(),
                    );
                    None
                }
            }
        };
        (labels, seconds)
    }

    /// The auth method the form names, if the catalog has it.
    fn method<'a>(&self, catalog: &'a Catalog) -> Option<&'a AuthMethod> {
        catalog
            .get(&self.connector_type)
            .and_then(|t| t.auth_method(&self.auth_method))
    }

    /// The connector to register; labels or a session length the form cannot read are
    /// `unread`, reported with every other problem.
    pub fn draft(&self, catalog: &Catalog) -> Draft {
        let mut unread = FieldErrors::new();
        let (labels, expiration_seconds) = self.extras(&mut unread);
        Draft {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            connector_type: self.connector_type.clone(),
            auth_method: self.auth_method.clone(),
            resource_types: self.resource_types.clone(),
            resource_id: self.resource_id(),
            resource_ids: self.resource_ids(),
            pin_inherited: false,
            configuration: self.configuration(self.method(catalog)),
            labels,
            description: self.description.clone(),
            expires_at: self.expires_at(),
            expiration_seconds,
            unread,
        }
    }

    /// The edit of `c` the form asks for: the whole configuration, and an expiry
    /// shown unchanged keeps its exact stored value.
    pub fn patch(&self, c: &Connector, catalog: &Catalog) -> Patch {
        let mut unread = FieldErrors::new();
        let (labels, expiration_seconds) = self.extras(&mut unread);
        Patch {
            auth_method: Some(self.auth_method.clone()),
            resource_types: Some(self.resource_types.clone()),
            resource_id: Some(self.resource_id()),
            resource_ids: self.resource_ids(),
            configuration: Some(self.configuration(self.method(catalog))),
            replace_configuration: true,
            labels: Some(labels),
            description: Some(self.description.clone()),
            expires_at: (self.expires_at != expiry_text(c.row.expires_at))
                .then(|| self.expires_at()),
            expiration_seconds: Some(expiration_seconds),
            expected_version: self.version.parse().ok(),
            unread,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        Catalog::load(false).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn form_fields_decode_with_attributes_and_repeated_resource_types() {
        let f = FormInput::decode(
            b"name=+hub+&connector_type=aws&resource_type=s3-bucket&resource_type=aws-generic\
              &cfg.region=eu-west-1&cfg.region=us-east-1&other=x&version=5",
        );
        assert_eq!(f.name, "hub");
        assert_eq!(f.resource_types, ["s3-bucket", "aws-generic"]);
        assert_eq!(f.value("region"), Some("us-east-1"));
        assert_eq!(f.version, "5");
    }

    #[test]
    fn attributes_are_typed_by_their_method() {
        let f = FormInput::decode(
            b"connector_type=hyperai&auth_method=ed25519-key&cfg.hostnames=a.example%0Ab.example,+c\
              &cfg.username=u%0D%0A&cfg.base64_ssh_key=&cfg.unknown=",
        );
        let d = f.draft(&catalog());
        assert_eq!(
            Value::Object(d.configuration),
            json!({"hostnames": ["a.example", "b.example", "c"], "username": "u", "base64_ssh_key": ""})
        );
        let k8s =
            FormInput::decode(b"connector_type=kubernetes&auth_method=token&cfg.insecure=true");
        let d = k8s.draft(&catalog());
        assert_eq!(d.configuration["insecure"], json!(true));
    }

    #[test]
    fn a_datetime_local_expiry_is_taken_as_utc() {
        let at = |text: &str| {
            FormInput {
                expires_at: text.into(),
                ..Default::default()
            }
            .expires_at()
        };
        assert_eq!(
            at("2027-01-31T12:00").as_deref(),
            Some("2027-01-31T12:00:00Z")
        );
        assert_eq!(
            at("2027-01-31T12:00:30").as_deref(),
            Some("2027-01-31T12:00:30Z")
        );
        assert_eq!(
            at("2027-01-31T12:00:00+02:00").as_deref(),
            Some("2027-01-31T12:00:00+02:00")
        );
        assert_eq!(at(" "), None);
    }

    #[test]
    fn unreadable_labels_or_session_lengths_are_field_errors() {
        let f = FormInput::decode(b"labels=no-equals&expiration_seconds=1h");
        let fields = f.draft(&catalog()).unread;
        assert!(fields.contains_key("labels"));
        assert_eq!(
            fields["expiration_seconds"],
            "must be a whole number of seconds"
        );
    }

    #[test]
    fn declared_ids_and_a_blank_pin_read_naturally() {
        let f = FormInput::decode(b"resource_ids=s3%3A%2F%2Fa%0A%0As3%3A%2F%2Fb&resource_id=+");
        let d = f.draft(&catalog());
        assert_eq!(d.resource_ids, Some(vec!["s3://a".into(), "s3://b".into()]));
        assert_eq!(d.resource_id, None);
    }

    #[test]
    fn attributes_the_method_lacks_are_named() {
        let c = catalog();
        let method = c
            .get("docker")
            .and_then(|t| t.auth_method("password"))
            .unwrap_or_else(|| panic!("docker/password"));
        let f = FormInput::decode(b"cfg.registry=ghcr.io&cfg.region=eu&cfg.empty=");
        assert_eq!(f.stray_attributes(method), ["region"]);
    }
}
