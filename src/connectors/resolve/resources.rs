//! What a connector reaches: its resource types, a pinned resource or declared ids,
//! and the resources its configuration names.

use serde_json::{Map, Value};

use super::Draft;
use crate::connectors::catalog::{ConnectorType, ResourceType};
use crate::connectors::validate::canonical_resource_id;
use crate::errors::FieldErrors;

/// Most declared resource ids.
pub const MAX_DECLARED_IDS: usize = 100;

/// The resource types, pin and declared ids a draft asks for, checked against its type.
#[derive(Debug, Clone)]
pub(super) struct Reach<'a> {
    /// Resource types (all of the type's when the draft names none).
    pub resource_types: Vec<String>,
    /// The resource type, when there is exactly one.
    pub single: Option<&'a ResourceType>,
    /// Pinned resource, canonical.
    pub resource_id: Option<String>,
    /// Declared ids, canonical.
    pub declared: Option<Vec<String>>,
}

/// Checks the draft's resource types, pin and declared ids against `ty`.
pub(super) fn choose<'a>(ty: &'a ConnectorType, d: &Draft, fields: &mut FieldErrors) -> Reach<'a> {
    let mut resource_types: Vec<String> = Vec::new();
    for rt in &d.resource_types {
        if ty.resource_type(rt).is_none() {
            fields.insert(
                "resource_types".into(),
                format!("{rt:?} is not a resource type of {}", ty.connector_type),
            );
        } else if !resource_types.contains(rt) {
            resource_types.push(rt.clone());
        }
    }
    if d.resource_types.is_empty() {
        resource_types = ty
            .resource_types
            .iter()
            .map(|r| r.resource_type.clone())
            .collect();
    }
    let single = match resource_types.as_slice() {
        [one] => ty.resource_type(one),
        _ => None,
    };
    let mut resource_id = None;
    let pin = d
        .resource_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (pin, single) {
        (Some(_), None) => {
            fields.insert(
                "resource_id".into(),
                "pins one resource: choose exactly one resource type".into(),
            );
        }
        (Some(id), Some(rt)) => match canonical_resource_id(rt, id) {
            Ok(c) => resource_id = Some(c),
            Err(e) => {
                fields.insert("resource_id".into(), e);
            }
        },
        (None, Some(rt)) if !rt.supports_instances => {
            resource_id = rt.default_resource_id.clone();
        }
        (None, _) => {}
    }
    let mut declared = None;
    if let Some(ids) = d.resource_ids.as_ref().filter(|ids| !ids.is_empty()) {
        match single {
            Some(rt) if rt.supports_instances && d.resource_id.is_none() => {
                if ids.len() > MAX_DECLARED_IDS {
                    fields.insert(
                        "resource_ids".into(),
                        format!("at most {MAX_DECLARED_IDS} ids"),
                    );
                }
                let mut out = Vec::new();
                for id in ids {
                    match canonical_resource_id(rt, id) {
                        Ok(c) if !out.contains(&c) => out.push(c),
                        Ok(_) => {}
                        Err(e) => {
                            fields.insert("resource_ids".into(), e);
                        }
                    }
                }
                declared = Some(out);
            }
            _ => {
                fields.insert(
                    "resource_ids".into(),
                    "are declared for one resource type that supports several instances, without resource_id".into(),
                );
            }
        }
    }
    Reach {
        resource_types,
        single,
        resource_id,
        declared,
    }
}

/// Per resource type: the ids the configuration names (`from_attribute`: a cluster
/// name, a registry, hosts, an API URL), else the type's default. A value that names no
/// valid resource is an error, never a silent fall-back to the default (credentials
/// would go elsewhere).
pub(super) fn implied(
    ty: &ConnectorType,
    resource_types: &[String],
    config: &Map<String, Value>,
    fields: &mut FieldErrors,
) -> Vec<(String, Vec<String>)> {
    let mut implied = Vec::new();
    for id in resource_types {
        let Some(rt) = ty.resource_type(id) else {
            continue;
        };
        let mut from_config: Vec<String> = Vec::new();
        if let Some(attr) = &rt.resource_id.from_attribute
            && let Some(value) = config.get(attr)
        {
            let raw: Vec<String> = match value {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for i in raw {
                match canonical_resource_id(rt, &i) {
                    Ok(c) if !from_config.contains(&c) => from_config.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        fields
                            .entry(format!("configuration.{attr}"))
                            .or_insert(format!("names no {}: {e}", rt.resource_type));
                    }
                }
            }
        }
        let ids: Vec<String> = if from_config.is_empty() {
            rt.default_resource_id.clone().into_iter().collect()
        } else {
            from_config
        };
        if !ids.is_empty() {
            implied.push((id.clone(), ids));
        }
    }
    implied
}

/// Squares the pin with what the configuration names, for one resource type: an
/// inherited pin the configuration no longer names is dropped, a given one is refused,
/// and a type of one instance is pinned to the one resource named.
pub(super) fn settle_pin(
    reach: &mut Reach<'_>,
    implied: &[(String, Vec<String>)],
    d: &Draft,
    fields: &mut FieldErrors,
) {
    let Some(rt) = reach.single else {
        return;
    };
    let named = implied.iter().find(|(id, _)| *id == rt.resource_type);
    match (&reach.resource_id, named) {
        (Some(pin), Some((_, ids))) if !ids.contains(pin) && d.pin_inherited => {
            reach.resource_id = None;
        }
        (Some(pin), Some((_, ids))) if !ids.contains(pin) && d.resource_id.is_some() => {
            fields.insert(
                "resource_id".into(),
                format!("must be what the configuration names ({})", ids.join(", ")),
            );
        }
        (_, Some((_, ids))) if !rt.supports_instances && ids.len() == 1 => {
            reach.resource_id = Some(ids[0].clone());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::catalog::Catalog;
    use serde_json::json;

    fn catalog_type(id: &str) -> ConnectorType {
        let catalog = Catalog::load(false).unwrap_or_else(|e| panic!("{e}"));
        catalog.get(id).cloned().unwrap_or_else(|| panic!("{id}"))
    }

    fn draft(resource_types: &[&str], resource_id: Option<&str>) -> Draft {
        Draft {
            resource_types: resource_types.iter().map(|s| (*s).to_owned()).collect(),
            resource_id: resource_id.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn no_resource_types_means_all_of_the_type() {
        let aws = catalog_type("aws");
        let mut fields = FieldErrors::new();
        let reach = choose(&aws, &draft(&[], None), &mut fields);
        assert!(fields.is_empty());
        assert_eq!(reach.resource_types.len(), aws.resource_types.len());
        assert!(reach.single.is_none());
    }

    #[test]
    fn a_pin_is_canonical_and_needs_exactly_one_resource_type() {
        let aws = catalog_type("aws");
        let mut fields = FieldErrors::new();
        let reach = choose(&aws, &draft(&["s3-bucket"], Some("my-bucket")), &mut fields);
        assert_eq!(reach.resource_id.as_deref(), Some("s3://my-bucket"));
        choose(&aws, &draft(&[], Some("my-bucket")), &mut fields);
        assert!(fields["resource_id"].contains("exactly one resource type"));
    }

    #[test]
    fn unknown_resource_types_are_named() {
        let aws = catalog_type("aws");
        let mut fields = FieldErrors::new();
        choose(&aws, &draft(&["gcs-bucket"], None), &mut fields);
        assert_eq!(
            fields["resource_types"],
            "\"gcs-bucket\" is not a resource type of aws"
        );
    }

    #[test]
    fn declared_ids_need_one_type_of_several_instances_and_no_pin() {
        let aws = catalog_type("aws");
        let mut fields = FieldErrors::new();
        let mut d = draft(&["s3-bucket"], None);
        d.resource_ids = Some(vec!["a-bucket".into(), "s3://a-bucket".into()]);
        let reach = choose(&aws, &d, &mut fields);
        assert!(fields.is_empty());
        assert_eq!(reach.declared, Some(vec!["s3://a-bucket".to_owned()]));
        d.resource_types = vec!["aws-generic".into()];
        choose(&aws, &d, &mut fields);
        assert!(fields.contains_key("resource_ids"));
    }

    #[test]
    fn the_configuration_names_resources_or_the_default_serves() {
        let docker = catalog_type("docker");
        let types = vec!["docker-registry".to_owned()];
        let mut fields = FieldErrors::new();
        let none = implied(&docker, &types, &Map::new(), &mut fields);
        assert_eq!(
            none,
            [("docker-registry".to_owned(), vec!["docker.io".to_owned()])]
        );
        let config = json!({"registry": "ghcr.io"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let named = implied(&docker, &types, &config, &mut fields);
        assert_eq!(
            named,
            [("docker-registry".to_owned(), vec!["ghcr.io".to_owned()])]
        );
        assert!(fields.is_empty());
    }

    #[test]
    fn a_configured_value_that_names_no_resource_is_an_error() {
        let docker = catalog_type("docker");
        let config = json!({"registry": "not a host"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut fields = FieldErrors::new();
        let named = implied(
            &docker,
            &["docker-registry".to_owned()],
            &config,
            &mut fields,
        );
        assert!(named[0].1 == ["docker.io"]);
        assert!(fields["configuration.registry"].starts_with("names no docker-registry"));
    }

    #[test]
    fn a_pin_follows_what_the_configuration_names() {
        let docker = catalog_type("docker");
        let named = vec![("docker-registry".to_owned(), vec!["ghcr.io".to_owned()])];
        let mut fields = FieldErrors::new();
        // One instance: pinned to what the configuration names.
        let d = draft(&["docker-registry"], None);
        let mut reach = choose(&docker, &d, &mut fields);
        settle_pin(&mut reach, &named, &d, &mut fields);
        assert_eq!(reach.resource_id.as_deref(), Some("ghcr.io"));
        // A given pin that disagrees is refused; an inherited one is dropped.
        let d = draft(&["docker-registry"], Some("quay.io"));
        let mut reach = choose(&docker, &d, &mut fields);
        settle_pin(&mut reach, &named, &d, &mut fields);
        assert!(fields["resource_id"].contains("(ghcr.io)"));
        let inherited = Draft {
            pin_inherited: true,
            ..d
        };
        let mut fields = FieldErrors::new();
        let mut reach = choose(&docker, &inherited, &mut fields);
        settle_pin(&mut reach, &named, &inherited, &mut fields);
        assert!(fields.is_empty());
        assert_eq!(reach.resource_id, None);
    }
}
