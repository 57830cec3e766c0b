//! Changes to a registered connector: a JSON `PATCH` body read into a [`Patch`], a
//! patch laid over the stored connector as a [`Draft`], and the audit summary of
//! what changed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::models::Connector;
use super::resolve::{Draft, Resolved};
use crate::errors::{AppError, AppResult, FieldErrors};

/// Changes to a connector; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// New auth method (secrets of the same name are kept).
    pub auth_method: Option<String>,
    /// New resource types.
    pub resource_types: Option<Vec<String>>,
    /// `Some(None)` unpins.
    pub resource_id: Option<Option<String>>,
    /// New declared ids.
    pub resource_ids: Option<Vec<String>>,
    /// Attributes to set; `null` removes one; a blank or `[HIDDEN]` secret keeps it.
    pub configuration: Option<Map<String, Value>>,
    /// Whether `configuration` is the whole new configuration (forms) rather than
    /// changes to merge (API).
    pub replace_configuration: bool,
    /// New labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// New description.
    pub description: Option<String>,
    /// `Some(None)` clears.
    pub expires_at: Option<Option<String>>,
    /// `Some(None)` resets to the method's default.
    pub expiration_seconds: Option<Option<i64>>,
    /// The version (`updated_at`) the change was based on, if the caller knows it: a
    /// newer stored version is a 409.
    pub expected_version: Option<i64>,
    /// What the form could not read, reported with the draft's other problems.
    pub unread: FieldErrors,
}

impl Patch {
    /// Reads a `PATCH` body: absent keeps, `null` clears (where that means something).
    /// Identity (name, namespace, type) may be repeated but not changed.
    pub fn from_json(body: Map<String, Value>, current: &Connector) -> AppResult<Self> {
        let mut p = Self::default();
        let mut fields = FieldErrors::new();
        let text = |k: &str, v: &Value| -> AppResult<Option<String>> {
            match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(AppError::bad_request(format!(
                    "{k} must be a string or null"
                ))),
            }
        };
        let strings = |k: &str, v: Value| -> AppResult<Vec<String>> {
            serde_json::from_value(v)
                .map_err(|_| AppError::bad_request(format!("{k} must be a list of strings")))
        };
        for (k, v) in body {
            match k.as_str() {
                "name" | "namespace" | "connector_type" => {
                    let now = match k.as_str() {
                        "name" => &current.row.name,
                        "namespace" => &current.namespace,
                        _ => &current.row.connector_type,
                    };
                    if v.as_str() != Some(now.as_str()) {
                        fields.insert(
                            k.clone(),
                            "cannot be changed; register a new connector".into(),
                        );
                    }
                }
                "auth_method" => p.auth_method = text(&k, &v)?,
                "resource_types" => p.resource_types = Some(strings(&k, v)?),
                "resource_id" => p.resource_id = Some(text(&k, &v)?),
                "resource_ids" => p.resource_ids = Some(strings(&k, v)?),
                "configuration" => match v {
                    Value::Object(m) => p.configuration = Some(m),
                    _ => return Err(AppError::bad_request("configuration must be an object")),
                },
                "labels" => {
                    p.labels = Some(serde_json::from_value(v).map_err(|_| {
                        AppError::bad_request("labels must be an object of strings")
                    })?)
                }
                "description" => p.description = Some(text(&k, &v)?.unwrap_or_default()),
                "expires_at" => p.expires_at = Some(text(&k, &v)?),
                "expiration_seconds" => {
                    p.expiration_seconds = Some(match v {
                        Value::Null => None,
                        other => Some(other.as_i64().ok_or_else(|| {
                            AppError::bad_request("expiration_seconds must be an integer or null")
                        })?),
                    })
                }
                other => {
                    return Err(AppError::bad_request(format!("unknown field {other:?}")));
                }
            }
        }
        if !fields.is_empty() {
            return Err(AppError::Validation {
                message: "the change is not valid".into(),
                fields,
            });
        }
        Ok(p)
    }

    /// The connector `c` with this patch applied, and the stored secrets it may keep
    /// (`stored` without those a merge removes with `null`). `pinnable`: the stored
    /// resource id is a pin the user chose (see `registry::pinnable`).
    pub fn draft(
        &self,
        c: &Connector,
        stored: &Map<String, Value>,
        pinnable: bool,
    ) -> (Draft, Map<String, Value>) {
        let mut configuration = c.plain_configuration();
        let mut kept = stored.clone();
        if let Some(changes) = &self.configuration {
            if self.replace_configuration {
                configuration = changes.clone();
            } else {
                for (k, v) in changes {
                    configuration.insert(k.clone(), v.clone());
                }
                // A secret removed explicitly (`null` in a merge) is not kept.
                for (k, v) in changes {
                    if v.is_null() {
                        kept.remove(k);
                        configuration.remove(k);
                    }
                }
            }
        }
        let resources_changed = self.resource_types.is_some() || self.resource_ids.is_some();
        let draft = Draft {
            name: c.row.name.clone(),
            namespace: c.namespace.clone(),
            connector_type: c.row.connector_type.clone(),
            auth_method: self
                .auth_method
                .clone()
                .unwrap_or_else(|| c.row.auth_method.clone()),
            resource_types: self
                .resource_types
                .clone()
                .unwrap_or_else(|| c.resource_types.clone()),
            resource_id: match &self.resource_id {
                Some(v) => v.clone(),
                None if resources_changed => None,
                // Only a pin among several instances is the user's choice; otherwise the
                // resource follows the configuration (or the type's default).
                None if pinnable => c.row.resource_id.clone(),
                None => None,
            },
            resource_ids: self.resource_ids.clone(),
            pin_inherited: self.resource_id.is_none() && !resources_changed && pinnable,
            configuration,
            labels: self.labels.clone().unwrap_or_else(|| c.labels.clone()),
            description: self
                .description
                .clone()
                .unwrap_or_else(|| c.row.description.clone()),
            expires_at: match &self.expires_at {
                Some(v) => v.clone(),
                None => c.row.expires_at.map(crate::db::rfc3339),
            },
            expiration_seconds: match self.expiration_seconds {
                Some(v) => v,
                None if self.auth_method.is_some() => None,
                None => c.row.expiration_seconds,
            },
            unread: self.unread.clone(),
        };
        (draft, kept)
    }
}

/// What an edit changed, for the audit event: "auth method …; attributes a, b;
/// resources; labels …", or "no change".
pub(super) fn change_summary(
    c: &Connector,
    draft: &Draft,
    r: &Resolved,
    stored: &Map<String, Value>,
) -> String {
    let mut changed: Vec<String> = Vec::new();
    if draft.auth_method != c.row.auth_method {
        changed.push(format!("auth method {}", draft.auth_method));
    }
    let mut attrs: Vec<&str> = r
        .shown
        .keys()
        .chain(c.configuration.keys())
        .filter(|k| {
            r.shown.get(*k) != c.configuration.get(*k) || r.secrets.get(*k) != stored.get(*k)
        })
        .map(String::as_str)
        .collect();
    attrs.sort_unstable();
    attrs.dedup();
    if !attrs.is_empty() {
        changed.push(format!("attributes {}", attrs.join(", ")));
    }
    for (what, differs) in [
        (
            "resources",
            r.resource_types != c.resource_types
                || r.resource_id != c.row.resource_id
                || r.declared.is_some(),
        ),
        ("labels", draft.labels != c.labels),
        ("description", draft.description != c.row.description),
        ("expiry", r.expires_at != c.row.expires_at),
        (
            "expiration",
            r.expiration_seconds != c.row.expiration_seconds,
        ),
    ] {
        if differs {
            changed.push(what.into());
        }
    }
    if changed.is_empty() {
        "no change".to_owned()
    } else {
        changed.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::models::ConnectorRow;
    use serde_json::json;

    fn hub() -> Connector {
        Connector::from_row(
            ConnectorRow {
                id: 1,
                name: "hub".into(),
                namespace_id: 1,
                connector_type: "docker".into(),
                auth_method: "password".into(),
                resource_types: "[\"docker-registry\"]".into(),
                resource_id: Some("ghcr.io".into()),
                configuration:
                    json!({"registry": "ghcr.io", "username": "[HIDDEN]", "password": "[HIDDEN]"})
                        .to_string(),
                secrets: String::new(),
                labels: "{\"team\":\"ml\"}".into(),
                description: "Hub".into(),
                expires_at: None,
                expiration_seconds: None,
                created_by: "user:alice".into(),
                created_at: 1,
                updated_at: 2,
            },
            "default".into(),
        )
    }

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_patch_body_may_repeat_the_identity_but_not_change_it() {
        let c = hub();
        assert!(Patch::from_json(body(json!({"name": "hub", "namespace": "default"})), &c).is_ok());
        let e = Patch::from_json(body(json!({"name": "other"})), &c).err();
        assert!(
            e.and_then(|e| e.fields().cloned())
                .is_some_and(|f| f.contains_key("name"))
        );
    }

    #[test]
    fn a_patch_body_with_wrong_types_or_unknown_fields_is_a_bad_request() {
        let c = hub();
        for bad in [
            json!({"auth_method": 7}),
            json!({"resource_types": "docker-registry"}),
            json!({"configuration": []}),
            json!({"expiration_seconds": "1h"}),
            json!({"colour": "red"}),
        ] {
            let e = Patch::from_json(body(bad.clone()), &c);
            assert!(matches!(e, Err(AppError::BadRequest { .. })), "{bad}");
        }
    }

    #[test]
    fn null_clears_where_clearing_means_something() {
        let p = Patch::from_json(
            body(json!({"resource_id": null, "expires_at": null, "description": null})),
            &hub(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.resource_id, Some(None));
        assert_eq!(p.expires_at, Some(None));
        assert_eq!(p.description.as_deref(), Some(""));
    }

    #[test]
    fn an_empty_patch_keeps_everything_and_changes_nothing() {
        let c = hub();
        let stored = body(json!({"username": "u", "password": "p"}));
        let (d, kept) = Patch::default().draft(&c, &stored, false);
        assert_eq!(kept, stored);
        assert_eq!(d.auth_method, "password");
        assert_eq!(d.configuration, body(json!({"registry": "ghcr.io"})));
        assert_eq!(d.labels, c.labels);
        // The registry's pin follows the configuration, not the stored row.
        assert_eq!(d.resource_id, None);
        assert!(!d.pin_inherited);
    }

    #[test]
    fn null_in_a_merged_configuration_removes_a_stored_secret() {
        let patch = Patch {
            configuration: Some(body(json!({"password": null, "registry": "quay.io"}))),
            ..Default::default()
        };
        let stored = body(json!({"username": "u", "password": "p"}));
        let (d, kept) = patch.draft(&hub(), &stored, false);
        assert_eq!(kept, body(json!({"username": "u"})));
        assert_eq!(d.configuration, body(json!({"registry": "quay.io"})));
    }

    #[test]
    fn a_pin_among_several_instances_is_inherited() {
        let (d, _) = Patch::default().draft(&hub(), &Map::new(), true);
        assert_eq!(d.resource_id.as_deref(), Some("ghcr.io"));
        assert!(d.pin_inherited);
    }

    #[test]
    fn the_summary_names_what_changed() {
        let c = hub();
        let stored = body(json!({"username": "u", "password": "p"}));
        let (mut d, _) = Patch::default().draft(&c, &stored, false);
        let same = Resolved {
            resource_types: c.resource_types.clone(),
            resource_id: c.row.resource_id.clone(),
            declared: None,
            implied: Vec::new(),
            shown: c.configuration.clone(),
            secrets: stored.clone(),
            expires_at: None,
            expiration_seconds: None,
        };
        assert_eq!(change_summary(&c, &d, &same, &stored), "no change");
        d.description = "Other".into();
        let mut new_password = same;
        new_password.secrets.insert("password".into(), json!("q"));
        assert_eq!(
            change_summary(&c, &d, &new_password, &stored),
            "attributes password; description"
        );
    }
}
