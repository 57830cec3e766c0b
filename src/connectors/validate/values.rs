//! Checks of a connector's other values: resource ids in their canonical form, labels,
//! and the session length of issued credentials.

use std::collections::BTreeMap;

use crate::connectors::catalog::{AuthMethod, ResourceType};

/// Most labels on a connector.
pub const MAX_LABELS: usize = 32;
/// Longest label value.
pub const MAX_LABEL_VALUE: usize = 256;
/// Longest resource id.
pub const MAX_RESOURCE_ID: usize = 512;

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
