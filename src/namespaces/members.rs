//! Who has access to a namespace, for its admins: every principal whose bindings reach
//! it, each with the binding and where it comes from (live tokens counted), and "view
//! as" one of them within the namespace.

use std::collections::BTreeMap;

use super::manage::authorized;
use crate::access::{
    self, Actor, Binding, GrantRules, Grants, KIND_SERVICE_ACCOUNT, KIND_USER, Pattern, Permission,
    Role, Source,
};
use crate::db::DbConnection;
use crate::environments::totals::TotalsCache;
use crate::environments::{self, ViewAs};
use crate::errors::{AppError, AppResult};
use crate::{auth, service_accounts};

/// Who a member is, in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A user.
    User,
    /// A service account (of any namespace).
    ServiceAccount,
    /// Every member of a group.
    Group,
    /// Every signed-in user (the server's default bindings).
    Everyone,
}

impl Kind {
    /// Label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServiceAccount => "service account",
            Self::Group => "group",
            Self::Everyone => "every signed-in user",
        }
    }
}

/// One principal's binding that reaches the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Who.
    pub kind: Kind,
    /// Name (`namespace/name` for a service account).
    pub name: String,
    /// The binding: pattern and role.
    pub binding: (String, Role),
    /// Where it comes from (`explicit`, `share`, `group`, `default` …).
    pub source: &'static str,
    /// Live access tokens the principal holds.
    pub tokens: i64,
    /// How "view as" names it (`user:NAME`, `service_account:NAME`), when it can.
    pub view_as: Option<String>,
}

/// A binding a principal holds: pattern, role, source.
type Held = (String, Role, &'static str);

/// Every binding reaching namespace `name` (`namespace-role-mapping::create` on it:
/// its admins), sorted by kind, then name.
pub fn members(
    conn: &mut DbConnection,
    actor: &Actor,
    rules: &GrantRules,
    name: &str,
) -> AppResult<Vec<Member>> {
    let ns = authorized(conn, actor, Permission::NamespaceRoleMappingCreate, name)?;
    let reaches = |p: &Pattern| p.namespace.matches(name);
    // (kind, id) → bindings, from stored bindings and the namespace's shares.
    let mut held: BTreeMap<(String, i64), Vec<Held>> = BTreeMap::new();
    for (kind, id, pattern, role) in access::list_all_bindings(conn)? {
        if let (Ok(p), Ok(r)) = (Pattern::parse(&pattern), Role::parse(&role))
            && reaches(&p)
        {
            held.entry((kind, id))
                .or_default()
                .push((pattern, r, "explicit"));
        }
    }
    for share in access::list_shares_in(conn, ns.id)? {
        if let Ok(r) = Role::parse(&share.role) {
            let key = (share.principal_kind, share.principal_id);
            held.entry(key)
                .or_default()
                .push((format!("{name}/*"), r, "share"));
        }
    }
    let mut owners = auth::users_owning(conn, name)?;
    let ids = |kind: &str| -> Vec<i64> {
        let mut ids: Vec<i64> = held
            .keys()
            .filter(|(k, _)| k == kind)
            .map(|(_, id)| *id)
            .collect();
        if kind == KIND_USER {
            ids.extend(owners.iter().copied());
        }
        ids
    };
    let (user_ids, account_ids) = (ids(KIND_USER), ids(KIND_SERVICE_ACCOUNT));
    // (kind, id) → (name shown, name "view as" takes).
    let mut names: BTreeMap<(&str, i64), (String, String)> = BTreeMap::new();
    for (id, user) in auth::user_names(conn, &user_ids)? {
        names.insert((KIND_USER, id), (user.clone(), user));
    }
    for (id, namespace, account) in service_accounts::names_of(conn, &account_ids)? {
        let qualified = format!("{namespace}/{account}");
        names.insert((KIND_SERVICE_ACCOUNT, id), (qualified.clone(), qualified));
    }
    let mut tokens: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for (kind, ids) in [(KIND_USER, &user_ids), (KIND_SERVICE_ACCOUNT, &account_ids)] {
        for (id, n) in auth::live_token_counts(conn, kind, ids)? {
            tokens.insert((kind, id), n);
        }
    }
    let mut out = Vec::new();
    let mut principal = |kind: &'static str, id: i64, binding: (String, Role), source| {
        let Some((shown, key)) = names.get(&(kind, id)) else {
            return;
        };
        out.push(Member {
            kind: if kind == KIND_USER {
                Kind::User
            } else {
                Kind::ServiceAccount
            },
            name: shown.clone(),
            binding,
            source,
            tokens: tokens.get(&(kind, id)).copied().unwrap_or(0),
            view_as: Some(format!("{kind}:{key}")),
        });
    };
    for ((kind, id), bindings) in &held {
        let kind = if kind == KIND_USER {
            KIND_USER
        } else {
            KIND_SERVICE_ACCOUNT
        };
        for (pattern, role, source) in bindings {
            principal(kind, *id, (pattern.clone(), *role), source);
        }
    }
    let own = (format!("{name}/*"), Role::Admin);
    for id in owners.drain(..) {
        principal(
            KIND_USER,
            id,
            own.clone(),
            Source::PrimaryNamespace.as_str(),
        );
    }
    out.extend(by_rules(conn, rules, name)?);
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    Ok(out)
}

/// Groups and everyone: group bindings, the server's rules (admin groups, a group per
/// namespace) and its default bindings, where they reach namespace `name`.
fn by_rules(conn: &mut DbConnection, rules: &GrantRules, name: &str) -> AppResult<Vec<Member>> {
    let member = |kind, name: &str, binding: &Binding| Member {
        kind,
        name: name.to_owned(),
        binding: (binding.pattern.to_string(), binding.role),
        source: binding.source.as_str(),
        tokens: 0,
        view_as: None,
    };
    let group = Source::Group;
    let mut out = Vec::new();
    for (g, pattern, role) in access::list_all_group_bindings(conn)? {
        if let (Ok(pattern), Ok(role)) = (Pattern::parse(&pattern), Role::parse(&role))
            && pattern.namespace.matches(name)
        {
            let b = Binding {
                pattern,
                role,
                source: group,
            };
            out.push(member(Kind::Group, &g, &b));
        }
    }
    for g in &rules.admin_groups {
        let b = Binding {
            pattern: Pattern::parse("*/*").map_err(AppError::bad_request)?,
            role: Role::Admin,
            source: group,
        };
        out.push(member(Kind::Group, g, &b));
    }
    let personal = name == "default" || !auth::users_owning(conn, name)?.is_empty();
    if rules.group_namespaces && !personal {
        let pattern = Pattern::parse(&format!("{name}/*")).map_err(AppError::bad_request)?;
        let b = Binding {
            pattern,
            role: Role::Developer,
            source: group,
        };
        out.push(member(Kind::Group, name, &b));
    }
    for b in rules
        .defaults
        .iter()
        .filter(|b| b.pattern.namespace.matches(name))
    {
        out.push(member(Kind::Everyone, "everyone", b));
    }
    Ok(out)
}

/// What user or service account `who` (`user:NAME`, `service_account:NAME`, or a bare
/// user name) can read in namespace `name`, for its admins: its grants capped to the
/// namespace, the first `limit` environments and the exact total; 422 on `view_as`
/// when there is no such principal.
pub fn view_as(
    conn: &mut DbConnection,
    actor: &Actor,
    (rules, totals): (&GrantRules, &TotalsCache),
    name: &str,
    who: &str,
    limit: i64,
) -> AppResult<ViewAs> {
    authorized(conn, actor, Permission::NamespaceRoleMappingCreate, name)?;
    let missing = || AppError::invalid("view_as", format!("no user or service account {who:?}"));
    let (kind, principal) = match who.trim().split_once(':') {
        Some(("service_account", account)) => (KIND_SERVICE_ACCOUNT, account),
        Some(("user", user)) => (KIND_USER, user),
        None => (KIND_USER, who.trim()),
        Some(_) => return Err(missing()),
    };
    let grants = if kind == KIND_SERVICE_ACCOUNT {
        // An account the admin cannot read reads as missing (no existence oracle).
        let at = crate::names::Address::parse(principal);
        let (id, _) =
            service_accounts::find_readable_id(conn, actor.grants(), &at)?.ok_or_else(missing)?;
        access::load_service_account_grants(conn, id)?
    } else {
        let user = auth::find_user_by_name(conn, principal)?.ok_or_else(missing)?;
        auth::user_grants(conn, &user, rules)?
    };
    let within = Pattern::parse(&format!("{name}/*")).map_err(AppError::bad_request)?;
    let cap = Grants::new(vec![Binding {
        pattern: within,
        role: Role::Admin,
        source: Source::Explicit,
    }]);
    environments::view_as(conn, &grants, cap, Some(name), limit, totals)
}
