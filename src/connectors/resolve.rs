//! A connector's desired state ([`Draft`]) checked against the catalog: type and auth
//! method, what it reaches, its configuration with the secrets it keeps, labels and
//! expiry — pure, so each step is tested on its own.

mod expiry;
mod resources;
mod secrets;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::catalog::{AuthMethod, Catalog, ConnectorType};
use super::models::ResourceRow;
use super::validate::{self, HIDDEN};
use crate::errors::FieldErrors;

/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;

/// The desired state of a connector (creation, or an existing one with changes).
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Catalog type.
    pub connector_type: String,
    /// Auth method.
    pub auth_method: String,
    /// Resource types (empty: all of the type's).
    pub resource_types: Vec<String>,
    /// Pinned resource.
    pub resource_id: Option<String>,
    /// Declared resource ids (one resource type that supports instances).
    pub resource_ids: Option<Vec<String>>,
    /// `resource_id` is the stored pin, not one the caller gave now: when the
    /// configuration no longer names it, it is dropped rather than refused.
    pub pin_inherited: bool,
    /// Attributes; a secret given as `""`, `null` or `"[HIDDEN]"` keeps its stored value.
    pub configuration: Map<String, Value>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Free text.
    pub description: String,
    /// When the stored credentials expire (RFC 3339).
    pub expires_at: Option<String>,
    /// Session length of issued credentials.
    pub expiration_seconds: Option<i64>,
    /// What the form could not read (labels, a session length), reported with every
    /// other problem of the draft.
    pub unread: FieldErrors,
}

/// What an edited connector held before.
pub(super) struct Previous<'a> {
    /// Its plain attributes.
    pub plain: &'a Map<String, Value>,
    /// Its secrets (a blank secret keeps one).
    pub secrets: &'a Map<String, Value>,
    /// Its expiry (kept even if past).
    pub expires_at: Option<i64>,
}

/// A draft checked against the catalog.
#[derive(Debug)]
pub(super) struct Resolved {
    /// Resource types.
    pub resource_types: Vec<String>,
    /// Pinned resource.
    pub resource_id: Option<String>,
    /// Declared ids.
    pub declared: Option<Vec<String>>,
    /// Per resource type: ids named by the configuration or the type's default.
    pub implied: Vec<(String, Vec<String>)>,
    /// The stored configuration: plain attributes, `[HIDDEN]` for each secret.
    pub shown: Map<String, Value>,
    /// Secret attributes, to seal.
    pub secrets: Map<String, Value>,
    /// Credential expiry (ms).
    pub expires_at: Option<i64>,
    /// Session length of issued credentials.
    pub expiration_seconds: Option<i64>,
}

/// The type and auth method a draft names, or why not.
fn type_and_method<'a>(
    catalog: &'a Catalog,
    d: &Draft,
) -> Result<(&'a ConnectorType, &'a AuthMethod), FieldErrors> {
    let one = |field: &str, message: String| FieldErrors::from([(field.to_owned(), message)]);
    let Some(ty) = catalog.get(&d.connector_type) else {
        let known: Vec<&str> = catalog
            .types()
            .iter()
            .map(|t| t.connector_type.as_str())
            .collect();
        return Err(one(
            "connector_type",
            format!("is not a connector type; one of {}", known.join(", ")),
        ));
    };
    let Some(method) = ty.auth_method(&d.auth_method) else {
        let known: Vec<&str> = ty
            .auth_methods
            .iter()
            .map(|m| m.auth_method.as_str())
            .collect();
        return Err(one(
            "auth_method",
            format!(
                "is not an auth method of {}; one of {}",
                ty.connector_type,
                known.join(", ")
            ),
        ));
    };
    Ok((ty, method))
}

/// Checks a draft at time `now`; `previous` is what an edited connector held (its
/// secrets are what blank secrets keep).
pub(super) fn resolve(
    catalog: &Catalog,
    d: &Draft,
    previous: Option<&Previous<'_>>,
    now: i64,
) -> Result<Resolved, FieldErrors> {
    let (ty, method) = type_and_method(catalog, d)?;
    let mut fields = d.unread.clone();
    if let Some(reason) = catalog.disabled_reason(method) {
        fields.insert("auth_method".into(), reason.into());
    }
    let mut reach = resources::choose(ty, d, &mut fields);
    let no_secrets = Map::new();
    let stored = previous.map_or(&no_secrets, |p| p.secrets);
    let merged = secrets::merge(method, &d.configuration, stored, &mut fields);
    if let Some(prev) = previous {
        fields.extend(secrets::destinations(method, &merged, stored, prev.plain));
    }
    let config = &merged.config;
    if let Some(v) = catalog.validator(&ty.connector_type, &method.auth_method) {
        fields.extend(validate::check_configuration(v, ty, method, config));
    }
    let implied = resources::implied(ty, &reach.resource_types, config, &mut fields);
    resources::settle_pin(&mut reach, &implied, d, &mut fields);
    if let Err(e) = validate::check_labels(&d.labels) {
        fields.insert("labels".into(), e);
    }
    if d.description.chars().count() > MAX_DESCRIPTION || d.description.contains('\0') {
        fields.insert(
            "description".into(),
            format!("must be at most {MAX_DESCRIPTION} characters of text"),
        );
    }
    let previous_expiry = previous.and_then(|p| p.expires_at);
    let expires_at = expiry::expires_at(d.expires_at.as_deref(), previous_expiry, now)
        .unwrap_or_else(|e| {
            fields.insert("expires_at".into(), e);
            None
        });
    let expiration_seconds = validate::check_expiration(method, d.expiration_seconds)
        .unwrap_or_else(|e| {
            fields.insert("expiration_seconds".into(), e);
            None
        });
    if !fields.is_empty() {
        return Err(fields);
    }
    let split = validate::split(method, config);
    let mut shown = split.plain;
    for k in split.secrets.keys() {
        shown.insert(k.clone(), Value::String(HIDDEN.into()));
    }
    Ok(Resolved {
        resource_types: reach.resource_types,
        resource_id: reach.resource_id,
        declared: reach.declared,
        implied,
        shown,
        secrets: split.secrets,
        expires_at,
        expiration_seconds,
    })
}

impl Resolved {
    /// The resource rows of connector `id`: the pin of a single resource type, else
    /// the declared ids, else what the configuration names.
    pub fn resource_rows(&self, id: i64, now: i64) -> Vec<ResourceRow> {
        self.resource_types
            .iter()
            .map(|rt| {
                let implied = self
                    .implied
                    .iter()
                    .find(|(id, _)| id == rt)
                    .map(|(_, ids)| ids.clone());
                let ids = match (&self.resource_id, &self.declared) {
                    (Some(one), _) if self.resource_types.len() == 1 => Some(vec![one.clone()]),
                    (_, Some(list)) => Some(list.clone()),
                    _ => implied,
                };
                ResourceRow {
                    connector_id: id,
                    resource_type: rt.clone(),
                    resource_ids: ids.map(|i| Value::from(i).to_string()),
                    error: None,
                    origin: "declared".into(),
                    checked_at: now,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000_000;

    fn docker(configuration: Value) -> Draft {
        Draft {
            name: "hub".into(),
            namespace: "default".into(),
            connector_type: "docker".into(),
            auth_method: "password".into(),
            configuration: configuration.as_object().cloned().unwrap_or_default(),
            ..Default::default()
        }
    }

    fn catalog() -> Catalog {
        Catalog::load(false).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_valid_draft_hides_its_secrets_and_reaches_its_default() {
        let r = resolve(
            &catalog(),
            &docker(json!({"username": "u", "password": "p"})),
            None,
            NOW,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            r.shown,
            *json!({"username": "u", "password": HIDDEN})
                .as_object()
                .unwrap_or_else(|| panic!())
        );
        assert_eq!(r.secrets["password"], "p");
        assert_eq!(r.resource_id.as_deref(), Some("docker.io"));
        let rows = r.resource_rows(7, NOW);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].resource_ids.as_deref(), Some("[\"docker.io\"]"));
    }

    #[test]
    fn an_unknown_type_or_method_stops_the_check_at_once() {
        let mut d = docker(json!({}));
        d.connector_type = "ftp".into();
        let e = resolve(&catalog(), &d, None, NOW).err().unwrap_or_default();
        assert_eq!(e.len(), 1);
        assert!(e["connector_type"].starts_with("is not a connector type"));
        let mut d = docker(json!({}));
        d.auth_method = "token".into();
        let e = resolve(&catalog(), &d, None, NOW).err().unwrap_or_default();
        assert!(e["auth_method"].starts_with("is not an auth method of docker"));
    }

    #[test]
    fn every_problem_of_a_draft_is_reported_together() {
        let mut d = docker(json!({"username": "u"}));
        d.description = "x".repeat(MAX_DESCRIPTION + 1);
        d.expires_at = Some("yesterday".into());
        d.expiration_seconds = Some(60);
        let e = resolve(&catalog(), &d, None, NOW).err().unwrap_or_default();
        for key in [
            "configuration.password",
            "description",
            "expires_at",
            "expiration_seconds",
        ] {
            assert!(e.contains_key(key), "{key}: {e:?}");
        }
    }

    #[test]
    fn an_edit_keeps_the_stored_secrets_it_leaves_blank() {
        let stored = json!({"password": "p"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let plain = Map::new();
        let previous = Previous {
            plain: &plain,
            secrets: &stored,
            expires_at: None,
        };
        let d = docker(json!({"username": "u", "password": HIDDEN}));
        let r = resolve(&catalog(), &d, Some(&previous), NOW).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.secrets, stored);
    }
}
