//! The start-up check of the catalog data against itself: what the JSON files may say
//! and what they must agree on.

use super::model::{ConnectorType, CredentialKind};

/// Schema keywords the catalog may use (the validator understands all of them).
const KNOWN_KEYWORDS: [&str; 17] = [
    "x-destination",
    "type",
    "title",
    "description",
    "minLength",
    "minItems",
    "items",
    "format",
    "pattern",
    "default",
    "examples",
    "contentMediaType",
    "contentEncoding",
    "x-json-required",
    "enum",
    "maxLength",
    "maxItems",
];

/// Formats the catalog may use.
const KNOWN_FORMATS: [&str; 4] = ["password", "uuid", "uri", "email"];
/// Checks one type's data against itself: ids are names, every description is
/// present, schemas use only known keywords and formats, `required` names existing
/// properties, and expiration bounds are ordered.
pub(super) fn check_type(t: &ConnectorType) -> Result<(), String> {
    let nonempty = |what: &str, s: &str| {
        if s.trim().is_empty() {
            Err(format!("{what} is empty"))
        } else {
            Ok(())
        }
    };
    crate::names::validate_name(&t.connector_type).map_err(|e| format!("type id {e}"))?;
    nonempty("name", &t.name)?;
    nonempty("description", &t.description)?;
    nonempty("docs", &t.docs)?;
    if t.resource_types.is_empty() || t.auth_methods.is_empty() {
        return Err("a type needs resource types and auth methods".into());
    }
    for r in &t.resource_types {
        crate::names::validate_name(&r.resource_type).map_err(|e| format!("resource type {e}"))?;
        if let Some(a) = &r.resource_id.from_attribute
            && !t
                .auth_methods
                .iter()
                .all(|m| m.config_schema["properties"].get(a).is_some())
        {
            return Err(format!(
                "{}: from_attribute {a:?} is not an attribute of every auth method",
                r.resource_type
            ));
        }
        nonempty(&r.resource_type, &r.description)?;
        nonempty(&r.resource_type, &r.resource_id.description)?;
    }
    for m in &t.auth_methods {
        let id = &m.auth_method;
        crate::names::validate_name(id).map_err(|e| format!("auth method {e}"))?;
        nonempty(id, &m.description)?;
        nonempty(id, &m.good_for)?;
        nonempty(id, &m.trade_offs)?;
        if m.implicit != (m.credential_kind == CredentialKind::Implicit) {
            return Err(format!("{id}: implicit flag and credential kind disagree"));
        }
        let (min, max, def) = (
            m.min_expiration_seconds,
            m.max_expiration_seconds,
            m.default_expiration_seconds,
        );
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(format!("{id}: min expiration above max"));
        }
        if let Some(d) = def
            && (min.is_some_and(|a| d < a) || max.is_some_and(|b| d > b))
        {
            return Err(format!("{id}: default expiration outside its bounds"));
        }
        let schema = &m.config_schema;
        if schema["type"] != "object" || schema["additionalProperties"] != false {
            return Err(format!("{id}: schema must be a closed object"));
        }
        let props = schema["properties"]
            .as_object()
            .ok_or_else(|| format!("{id}: schema has no properties"))?;
        for r in schema["required"].as_array().into_iter().flatten() {
            let name = r.as_str().unwrap_or("");
            if !props.contains_key(name) {
                return Err(format!("{id}: required {name:?} is not a property"));
            }
        }
        for (name, p) in props {
            let obj = p
                .as_object()
                .ok_or_else(|| format!("{id}.{name}: not an object"))?;
            for key in obj.keys() {
                if !KNOWN_KEYWORDS.contains(&key.as_str()) {
                    return Err(format!("{id}.{name}: unknown keyword {key:?}"));
                }
            }
            if let Some(f) = p["format"].as_str()
                && !KNOWN_FORMATS.contains(&f)
            {
                return Err(format!("{id}.{name}: unknown format {f:?}"));
            }
            if !matches!(p["type"].as_str(), Some("string" | "boolean" | "array")) {
                return Err(format!(
                    "{id}.{name}: type must be string, boolean or array"
                ));
            }
            nonempty(
                &format!("{id}.{name}"),
                p["description"].as_str().unwrap_or(""),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_catalog_check_rejects_broken_data() {
        let mut t: ConnectorType =
            serde_json::from_str(super::super::FILES[4].1).unwrap_or_else(|e| panic!("{e}"));
        assert!(check_type(&t).is_ok());
        t.auth_methods[0].config_schema["required"] = json!(["nope"]);
        assert!(check_type(&t).unwrap_err().contains("nope"));
        let mut t: ConnectorType =
            serde_json::from_str(super::super::FILES[4].1).unwrap_or_else(|e| panic!("{e}"));
        t.auth_methods[0].config_schema["properties"]["username"]["format"] = json!("ssn");
        assert!(check_type(&t).unwrap_err().contains("ssn"));
    }
}
