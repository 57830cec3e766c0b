//! How grants are shown: each binding with where it comes from, and why an
//! environment is readable ("view as").

use crate::access::{Binding, Grants, Permission};

/// A binding as shown: pattern, role, source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRow {
    /// Pattern.
    pub pattern: String,
    /// Role.
    pub role: String,
    /// Source (`explicit`, `group`, `share` …).
    pub source: String,
}

impl From<&Binding> for BindingRow {
    fn from(b: &Binding) -> Self {
        Self {
            pattern: b.pattern.to_string(),
            role: b.role.as_str().into(),
            source: b.source.as_str().into(),
        }
    }
}

/// Every binding of `grants`, in source order.
pub fn binding_rows(grants: &Grants) -> Vec<BindingRow> {
    grants.bindings().iter().map(BindingRow::from).collect()
}

/// An environment (`namespace/name`) and the bindings that make it readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyRow {
    /// `namespace/name`.
    pub environment: String,
    /// The bindings granting `environment::read` on it.
    pub because: Vec<BindingRow>,
}

/// Why `grants` may read each of `environments` (`(namespace, name)` pairs).
pub fn why_rows<'a>(
    grants: &Grants,
    environments: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<WhyRow> {
    environments
        .into_iter()
        .map(|(ns, name)| WhyRow {
            environment: format!("{ns}/{name}"),
            because: grants
                .bindings()
                .iter()
                .filter(|b| {
                    b.role.grants(Permission::EnvironmentRead) && b.pattern.matches(ns, name)
                })
                .map(BindingRow::from)
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Pattern, Role, Source};

    fn binding(pattern: &str, role: Role, source: Source) -> Binding {
        Binding {
            pattern: Pattern::parse(pattern).unwrap(),
            role,
            source,
        }
    }

    #[test]
    fn an_environment_is_explained_by_every_binding_that_reads_it() {
        let grants = Grants::new(vec![
            binding("ml/pytorch-*", Role::Developer, Source::Explicit),
            binding("ml/*", Role::Viewer, Source::Share),
            binding("web/*", Role::Admin, Source::Group),
        ]);
        let rows = why_rows(
            &grants,
            [("ml", "pytorch-2"), ("web", "site"), ("ml", "jax")],
        );
        let because: Vec<Vec<(&str, &str)>> = rows
            .iter()
            .map(|r| {
                r.because
                    .iter()
                    .map(|b| (b.pattern.as_str(), b.source.as_str()))
                    .collect()
            })
            .collect();
        assert_eq!(rows[0].environment, "ml/pytorch-2");
        assert_eq!(
            because,
            [
                vec![("ml/pytorch-*", "explicit"), ("ml/*", "share")],
                vec![("web/*", "group")],
                vec![("ml/*", "share")],
            ]
        );
        assert_eq!(binding_rows(&grants)[2].role, "admin");
    }
}
