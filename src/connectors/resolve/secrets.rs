//! How given attributes and stored secrets combine: a blank secret keeps its stored
//! value, and a stored secret is never kept for a new destination.

use serde_json::{Map, Value};

use crate::connectors::catalog::AuthMethod;
use crate::connectors::validate::{HIDDEN, drop_blanks};
use crate::errors::FieldErrors;

/// A configuration with the stored secrets it keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Merged {
    /// The attributes, blanks dropped.
    pub config: Map<String, Value>,
    /// Secrets taken over from the stored configuration.
    pub kept: Vec<String>,
}

/// Merges `given` attributes with the `stored` secrets of `method`: a secret given as
/// `""`, `null` or `[HIDDEN]`, or not given at all, keeps its stored value. `[HIDDEN]`
/// on a plain attribute is an error.
pub(super) fn merge(
    method: &AuthMethod,
    given: &Map<String, Value>,
    stored: &Map<String, Value>,
    fields: &mut FieldErrors,
) -> Merged {
    let secret_names = method.secret_names();
    let mut config = Map::new();
    let mut kept: Vec<String> = Vec::new();
    for (k, v) in given {
        let blank =
            matches!(v, Value::Null) || v.as_str().is_some_and(|s| s.is_empty() || s == HIDDEN);
        if secret_names.contains(k) && blank {
            if let Some(old) = stored.get(k) {
                config.insert(k.clone(), old.clone());
                kept.push(k.clone());
            }
        } else {
            config.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in stored {
        if secret_names.contains(k) && !config.contains_key(k) && !given.contains_key(k) {
            config.insert(k.clone(), v.clone());
            kept.push(k.clone());
        }
    }
    for (k, v) in &config {
        if !secret_names.contains(k) && v.as_str() == Some(HIDDEN) {
            fields.insert(
                format!("configuration.{k}"),
                format!("{HIDDEN} is reserved for secret attributes"),
            );
        }
    }
    Merged {
        config: drop_blanks(&config),
        kept,
    }
}

/// Errors for the kept secrets of an edit that moves a destination (server, endpoint,
/// API URL, registry, hosts, TLS checking): whoever changes where a secret would be
/// sent must know it, so each kept secret must be entered again. Plain destinations
/// compare with the `previous_plain` configuration; a secret one (a CA certificate)
/// moved when a new value was given.
pub(super) fn destinations(
    method: &AuthMethod,
    merged: &Merged,
    stored: &Map<String, Value>,
    previous_plain: &Map<String, Value>,
) -> FieldErrors {
    let moved: Vec<String> = method
        .attributes()
        .into_iter()
        .filter(|a| {
            a.destination
                && if a.secret {
                    merged.config.contains_key(&a.name)
                        && !merged.kept.contains(&a.name)
                        && stored.get(&a.name) != merged.config.get(&a.name)
                } else {
                    merged.config.get(&a.name) != previous_plain.get(&a.name)
                }
        })
        .map(|a| a.name)
        .collect();
    if moved.is_empty() {
        return FieldErrors::new();
    }
    merged
        .kept
        .iter()
        .filter(|k| !moved.contains(k))
        .map(|k| {
            (
                format!("configuration.{k}"),
                format!(
                    "enter it again: {} changed, and a stored secret is never sent somewhere new",
                    moved.join(", ")
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::catalog::Catalog;
    use serde_json::json;

    fn kubernetes_token() -> AuthMethod {
        let catalog = Catalog::load(false).unwrap_or_else(|e| panic!("{e}"));
        catalog
            .get("kubernetes")
            .and_then(|t| t.auth_method("token"))
            .cloned()
            .unwrap_or_else(|| panic!("kubernetes/token"))
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_blank_or_hidden_or_missing_secret_keeps_the_stored_value() {
        let stored = map(json!({"token": "t0", "client_key": "k0"}));
        let mut fields = FieldErrors::new();
        let merged = merge(
            &kubernetes_token(),
            &map(json!({"server": "https://a", "token": "[HIDDEN]"})),
            &stored,
            &mut fields,
        );
        assert!(fields.is_empty());
        assert_eq!(
            merged.config,
            map(json!({"server": "https://a", "token": "t0", "client_key": "k0"}))
        );
        assert_eq!(merged.kept, ["token", "client_key"]);
    }

    #[test]
    fn a_new_secret_replaces_the_stored_one_and_blanks_are_dropped() {
        let mut fields = FieldErrors::new();
        let merged = merge(
            &kubernetes_token(),
            &map(json!({"token": "t1", "cluster_name": ""})),
            &map(json!({"token": "t0"})),
            &mut fields,
        );
        assert_eq!(merged.config, map(json!({"token": "t1"})));
        assert!(merged.kept.is_empty());
    }

    #[test]
    fn hidden_on_a_plain_attribute_is_an_error() {
        let mut fields = FieldErrors::new();
        merge(
            &kubernetes_token(),
            &map(json!({"server": "[HIDDEN]"})),
            &Map::new(),
            &mut fields,
        );
        assert_eq!(
            fields["configuration.server"],
            "[HIDDEN] is reserved for secret attributes"
        );
    }

    /// The destination errors of an edit from `previous` plain attributes and `stored`
    /// secrets to `config`, keeping the stored token.
    fn moved(config: Value, stored: Value, previous: Value) -> FieldErrors {
        let merged = Merged {
            config: map(config),
            kept: vec!["token".into()],
        };
        destinations(&kubernetes_token(), &merged, &map(stored), &map(previous))
    }

    #[test]
    fn kept_secrets_must_be_entered_again_when_the_server_changes() {
        let config = json!({"server": "https://b", "token": "t0"});
        let stored = json!({"token": "t0"});
        let errors = moved(
            config.clone(),
            stored.clone(),
            json!({"server": "https://a"}),
        );
        assert!(errors["configuration.token"].starts_with("enter it again: server changed"));
        assert!(moved(config, stored, json!({"server": "https://b"})).is_empty());
    }

    #[test]
    fn a_new_secret_destination_moves_too() {
        let errors = moved(
            json!({"server": "https://a", "token": "t0", "certificate_authority": "ca1"}),
            json!({"token": "t0", "certificate_authority": "ca0"}),
            json!({"server": "https://a"}),
        );
        assert!(errors["configuration.token"].contains("certificate_authority changed"));
    }
}
