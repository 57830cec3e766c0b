//! Validation of entity names (namespaces, environments, users, service accounts, keys,
//! connectors): 1–64 characters from `A-Z a-z 0-9 - _ . + @`, starting with a letter
//! or digit; case-sensitive.

/// Longest accepted name.
pub const MAX_NAME_LEN: usize = 64;

/// True for the characters a name may contain after its first one.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '@')
}

/// Checks a name; the error is a sentence fit for a form or a JSON error.
pub fn validate_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("must not be empty".into());
    };
    if name.len() > MAX_NAME_LEN {
        return Err(format!("must be at most {MAX_NAME_LEN} characters"));
    }
    if !first.is_ascii_alphanumeric() {
        return Err("must start with a letter or a digit".into());
    }
    if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "contains {bad:?}; only letters, digits and - _ . + @ are allowed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_documented_alphabet() {
        for ok in ["a", "A9", "team-a", "x_y.z+w@q", &"a".repeat(64)] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn names_reject_everything_else() {
        for bad in [
            "",
            "-a",
            "_a",
            "a b",
            "a/b",
            "a*",
            "é",
            "a%",
            &"a".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
