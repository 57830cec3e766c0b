//! Checks an environment's specification before a build is queued: YAML, a mapping of
//! the keys a conda environment file has, each of the expected shape. A problem is
//! reported with its line, so the editor can point at it.

use yaml_rust2::{Yaml, YamlLoader};

/// The keys a specification may have.
const KEYS: [&str; 6] = [
    "name",
    "channels",
    "dependencies",
    "variables",
    "prefix",
    "description",
];

/// What is wrong with `text`, as `line N: reason`; an empty specification is fine.
pub fn check(text: &str) -> Result<(), String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        let at = e.marker();
        format!("line {}: {} (column {})", at.line(), e.info(), at.col() + 1)
    })?;
    let doc = match docs.as_slice() {
        [] | [Yaml::Null] => return Ok(()),
        [doc] => doc,
        _ => return Err("line 1: one YAML document is expected, not several".into()),
    };
    let Yaml::Hash(map) = doc else {
        return Err(
            "line 1: the specification must be a mapping (channels:, dependencies: …)".into(),
        );
    };
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            return Err("line 1: every key must be text".into());
        };
        let at = |reason: String| format!("line {}: {reason}", line_of(text, key));
        if !KEYS.contains(&key) {
            return Err(at(format!(
                "unknown key {key:?}; expected one of {}",
                KEYS.join(", ")
            )));
        }
        shape(key, value).map_err(at)?;
    }
    Ok(())
}

/// Whether `value` has the shape `key` needs.
fn shape(key: &str, value: &Yaml) -> Result<(), String> {
    let text = |v: &Yaml| v.as_str().is_some() || matches!(v, Yaml::Integer(_) | Yaml::Real(_));
    match (key, value) {
        ("channels", Yaml::Array(items)) if items.iter().all(text) => Ok(()),
        ("channels", _) => Err("channels must be a list of channel names".into()),
        ("dependencies", Yaml::Array(items)) => items.iter().try_for_each(|item| match item {
            Yaml::Hash(pip) if pip.keys().all(|k| k.as_str() == Some("pip")) => Ok(()),
            item if text(item) => Ok(()),
            _ => Err("each dependency must be a package spec (python=3.12) or a pip: list".into()),
        }),
        ("dependencies", _) => Err("dependencies must be a list".into()),
        ("variables", Yaml::Hash(_)) => Ok(()),
        ("variables", _) => Err("variables must be a mapping of NAME: value".into()),
        (_, v) if text(v) => Ok(()),
        (key, _) => Err(format!("{key} must be text")),
    }
}

/// The line (1-based) where `key` is written at the start of a line, or 1.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(key) && l[key.len()..].trim_start().starts_with(':'))
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conda_environment_file_is_accepted() {
        let spec = "name: torch\nchannels: [conda-forge]\ndependencies:\n  - python=3.12\n  - pip:\n    - requests\nvariables:\n  MODE: fast\n";
        assert_eq!(check(spec), Ok(()));
        assert_eq!(check(""), Ok(()));
        assert_eq!(check("# only a comment\n"), Ok(()));
    }

    #[test]
    fn problems_are_reported_with_their_line() {
        for (spec, expected) in [
            ("channels: [conda-forge\n", "line 2:"),
            (
                "- python\n- numpy\n",
                "line 1: the specification must be a mapping",
            ),
            (
                "channels: [a]\ndependency: [x]\n",
                "line 2: unknown key \"dependency\"",
            ),
            (
                "channels: [a]\ndependencies: python\n",
                "line 2: dependencies must be a list",
            ),
            (
                "name: x\nchannels: {a: b}\n",
                "line 2: channels must be a list",
            ),
            ("dependencies:\n  - {conda: x}\n", "line 1: each dependency"),
            ("a: 1\n---\nb: 2\n", "line 1: one YAML document"),
        ] {
            let err = check(spec).unwrap_err();
            assert!(err.starts_with(expected), "{spec:?}: {err}");
        }
    }
}
