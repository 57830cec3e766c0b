//! Effective role bindings of a principal: the union over every source, and the
//! permission checks answered from them.

use std::fmt;

use super::pattern::{Pattern, Segment};
use super::roles::{Permission, Role};

/// Where a binding comes from, so "why can I see this?" has an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Configured for every signed-in user (`PORTCULLIS_DEFAULT_ROLE_BINDINGS`).
    Default,
    /// `<primary namespace>/*: admin` of a user.
    PrimaryNamespace,
    /// Stored for this principal.
    Explicit,
    /// A group the user belongs to (e.g. from the OpenID provider).
    Group,
    /// A namespace shared with this principal (`<namespace>/*: role`).
    Share,
    /// Named by a down-scoped token (capped by its issuer's current grants).
    Token,
}

impl Source {
    /// Human label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::PrimaryNamespace => "primary namespace",
            Self::Explicit => "explicit",
            Self::Group => "group",
            Self::Share => "share",
            Self::Token => "token",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One grant: a pattern, a role, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Binding {
    /// What it applies to.
    pub pattern: Pattern,
    /// What it grants.
    pub role: Role,
    /// Why the principal has it.
    pub source: Source,
}

/// The union of a principal's bindings from every source, optionally capped by a
/// ceiling (a down-scoped token is the intersection of its bindings with its issuer's
/// current grants).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    bindings: Vec<Binding>,
    ceiling: Option<Box<Grants>>,
}

impl Grants {
    /// Collects bindings (duplicates are harmless: the union is what counts).
    pub fn new(bindings: Vec<Binding>) -> Self {
        Self {
            bindings,
            ceiling: None,
        }
    }

    /// Grants that are also capped by `ceiling` (the token's issuer).
    pub fn capped_by(bindings: Vec<Binding>, ceiling: Grants) -> Self {
        Self {
            bindings,
            ceiling: Some(Box::new(ceiling)),
        }
    }

    /// The cap, for down-scoped tokens.
    pub fn ceiling(&self) -> Option<&Grants> {
        self.ceiling.as_deref()
    }

    /// Every binding, in source order.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// Whether `permission` is granted on environment `namespace/environment`.
    pub fn can_environment(
        &self,
        permission: Permission,
        namespace: &str,
        environment: &str,
    ) -> bool {
        self.bindings
            .iter()
            .any(|b| b.role.grants(permission) && b.pattern.matches(namespace, environment))
            && self
                .ceiling
                .as_ref()
                .is_none_or(|c| c.can_environment(permission, namespace, environment))
    }

    /// Whether a namespace-level `permission` is granted on `namespace` (only from
    /// bindings whose environment part is `*`).
    pub fn can_namespace(&self, permission: Permission, namespace: &str) -> bool {
        self.bindings
            .iter()
            .any(|b| b.role.grants(permission) && b.pattern.covers_namespace(namespace))
            && self
                .ceiling
                .as_ref()
                .is_none_or(|c| c.can_namespace(permission, namespace))
    }

    /// The namespaces among `namespaces` on which `permission` is granted (what a
    /// form's namespace picker offers).
    pub fn namespaces_with(&self, permission: Permission, namespaces: &[String]) -> Vec<String> {
        namespaces
            .iter()
            .filter(|ns| self.can_namespace(permission, ns))
            .cloned()
            .collect()
    }

    /// What these grants oversee as a namespace admin: the `admin` bindings on whole
    /// namespaces (`ns/*`), capped like the grants themselves.
    pub fn administered(&self) -> Grants {
        Grants {
            bindings: self
                .bindings
                .iter()
                .filter(|b| b.role == Role::Admin && b.pattern.environment == Segment::Any)
                .cloned()
                .collect(),
            ceiling: self.ceiling.clone(),
        }
    }

    /// The bindings of these grants that surely reach only what `overseer` oversees as
    /// a namespace admin: each binding's namespace part lies within one of theirs, or
    /// one of theirs lies within it. (Two different wildcards that merely overlap are
    /// left out: what is shown never goes beyond the overseer's namespaces.)
    pub fn seen_by(&self, overseer: &Grants) -> Grants {
        let theirs = overseer.administered();
        let within = |b: &Binding| {
            theirs.bindings.iter().any(|a| {
                b.pattern.namespace.is_subset_of(&a.pattern.namespace)
                    || a.pattern.namespace.is_subset_of(&b.pattern.namespace)
            })
        };
        Grants::new(
            self.bindings
                .iter()
                .filter(|b| within(b))
                .cloned()
                .collect(),
        )
    }

    /// The namespace parts under which these grants may create new namespaces (`*`,
    /// `team-*`): bindings that grant `namespace::create` on whole namespaces with a
    /// wildcard. An exact name exists already (a user's own namespace).
    pub fn creatable_namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .bindings
            .iter()
            .filter(|b| {
                b.role.grants(Permission::NamespaceCreate)
                    && b.pattern.environment == Segment::Any
                    && !matches!(b.pattern.namespace, Segment::Exact(_))
            })
            .map(|b| b.pattern.namespace.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Global administration (users, audit log, "view as") needs `admin` on `*/*`.
    pub fn is_global_admin(&self) -> bool {
        self.bindings.iter().any(|b| {
            b.role == Role::Admin
                && b.pattern.namespace == Segment::Any
                && b.pattern.environment == Segment::Any
        }) && self.ceiling.as_ref().is_none_or(|c| c.is_global_admin())
    }

    /// Whether these grants hold `role` on everything `pattern` matches (used to refuse
    /// grants wider than the granter's).
    pub fn covers(&self, pattern: &super::Pattern, role: Role) -> bool {
        self.bindings
            .iter()
            .any(|b| b.role >= role && pattern.is_subset_of(&b.pattern))
            && self
                .ceiling
                .as_ref()
                .is_none_or(|c| c.covers(pattern, role))
    }

    /// Whether every binding that grants `permission` covers whole namespaces (its
    /// environment part is `*`), here and in the ceiling: then what can be read is a set
    /// of namespaces, and totals can be summed per namespace instead of counted per row.
    pub fn grants_whole_namespaces(&self, permission: Permission) -> bool {
        self.bindings
            .iter()
            .filter(|b| b.role.grants(permission))
            .all(|b| b.pattern.environment == Segment::Any)
            && self
                .ceiling
                .as_ref()
                .is_none_or(|c| c.grants_whole_namespaces(permission))
    }

    /// The bindings that grant at least `role`.
    pub fn with_role_at_least(&self, role: Role) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.role >= role)
    }

    /// A key naming exactly what these grants allow for `permission`: the sorted
    /// patterns of the bindings that give it, and the ceiling's. Two callers with equal
    /// keys read the same rows, so results (list totals) can be shared between them —
    /// without compiling the grants to SQL to find out.
    pub fn cache_key(&self, permission: Permission) -> String {
        let mut patterns: Vec<String> = self
            .with_role_at_least(permission.min_role())
            .map(|b| b.pattern.to_string())
            .collect();
        patterns.sort_unstable();
        patterns.dedup();
        let mut key = patterns.join(",");
        if let Some(ceiling) = &self.ceiling {
            key.push_str(" within ");
            key.push_str(&ceiling.cache_key(permission));
        }
        key
    }
}

/// Parses `pattern=role[,pattern=role…]` (the configuration syntax).
pub fn parse_binding_list(text: &str, source: Source) -> Result<Vec<Binding>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (pattern, role) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} must look like <pattern>=<role>"))?;
            Ok(Binding {
                pattern: Pattern::parse(pattern.trim())?,
                role: Role::parse(role.trim())?,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(list: &str) -> Grants {
        Grants::new(parse_binding_list(list, Source::Explicit).unwrap_or_default())
    }

    #[test]
    fn grants_that_read_the_same_rows_share_a_cache_key() {
        let read = Permission::EnvironmentRead;
        let a = grants("team-*/*=viewer,alice/*=admin");
        let b = grants("alice/*=developer,team-*/*=viewer,team-*/*=admin");
        assert_eq!(a.cache_key(read), b.cache_key(read));
        assert_ne!(a.cache_key(read), grants("team-*/*=viewer").cache_key(read));
        // Only bindings that give the permission count.
        let update = Permission::EnvironmentUpdate;
        assert_ne!(a.cache_key(update), b.cache_key(update));
        let capped = Grants::capped_by(a.bindings().to_vec(), grants("team-a/*=viewer"));
        assert_ne!(capped.cache_key(read), a.cache_key(read));
    }

    #[test]
    fn a_namespace_admin_sees_only_bindings_within_what_they_administer() {
        let lead = grants("team-*/*=admin,team-b/x=admin,web/*=viewer");
        assert_eq!(lead.administered().bindings().len(), 1);
        let user =
            grants("*/*=viewer,team-a/train=developer,web/*=admin,t*-a/*=viewer,*-a/*=viewer");
        let seen: Vec<String> = user
            .seen_by(&lead)
            .bindings()
            .iter()
            .map(|b| b.pattern.to_string())
            .collect();
        // `*/*` holds team-* and `team-a/train` lies within it; `web/*` is elsewhere,
        // and `t*-a`, `*-a` only overlap team-* (neither holds the other).
        assert_eq!(seen, ["*/*", "team-a/train"]);
        assert!(
            user.seen_by(&grants("team-a/x=developer"))
                .bindings()
                .is_empty()
        );
    }

    #[test]
    fn permissions_are_the_union_of_all_bindings() {
        let g = grants("default/*=viewer,team-*/*=developer,alice/*=admin");
        assert!(g.can_environment(Permission::EnvironmentRead, "default", "x"));
        assert!(!g.can_environment(Permission::EnvironmentUpdate, "default", "x"));
        assert!(g.can_environment(Permission::EnvironmentUpdate, "team-a", "x"));
        assert!(g.can_namespace(Permission::NamespaceDelete, "alice"));
        assert!(!g.can_namespace(Permission::NamespaceDelete, "team-a"));
        assert!(!g.is_global_admin());
        assert!(grants("*/*=admin").is_global_admin());
    }

    #[test]
    fn a_down_scoped_token_is_the_intersection_with_its_issuer() {
        let issuer = grants("team-*/*=developer,alice/*=admin");
        let token = Grants::capped_by(
            parse_binding_list("team-a/*=admin,alice/*=viewer,other/*=admin", Source::Token)
                .unwrap(),
            issuer,
        );
        assert!(token.can_environment(Permission::EnvironmentUpdate, "team-a", "x"));
        assert!(
            !token.can_environment(Permission::EnvironmentDelete, "team-a", "x"),
            "issuer is only developer"
        );
        assert!(
            !token.can_namespace(Permission::NamespaceDelete, "alice"),
            "token says viewer"
        );
        assert!(
            !token.can_environment(Permission::EnvironmentRead, "other", "x"),
            "issuer holds nothing there"
        );
        assert!(
            !token.can_environment(Permission::EnvironmentRead, "team-b", "x"),
            "token does not name it"
        );
    }

    #[test]
    fn environment_scoped_bindings_give_no_namespace_permissions() {
        let g = grants("team-a/env=admin");
        assert!(g.can_environment(Permission::EnvironmentDelete, "team-a", "env"));
        assert!(!g.can_namespace(Permission::NamespaceRead, "team-a"));
    }

    #[test]
    fn binding_lists_report_bad_items() {
        assert!(parse_binding_list("default/*", Source::Default).is_err());
        assert!(parse_binding_list("default/*=owner", Source::Default).is_err());
        assert_eq!(
            parse_binding_list(" ", Source::Default).map(|v| v.len()),
            Ok(0)
        );
    }
}
