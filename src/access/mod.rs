//! Access control: role-binding patterns, roles, effective grants and the one function
//! every handler calls to authorize.

pub mod bindings;
pub mod cache;
pub mod pattern;
pub mod principal;
mod repo;
pub mod roles;
pub mod sql;

pub use bindings::{Binding, Grants, Source};
pub use pattern::{Pattern, Segment, SqlMatch};
pub use principal::{
    Actor, AuthMethod, KIND_SERVICE_ACCOUNT, KIND_USER, MaybeActor, Principal, PrincipalKind,
    require_global_admin, require_namespace,
};
pub use repo::{
    GROUP_SOURCE_ADMIN, GROUP_SOURCE_OIDC, GroupsBySource, ShareRow, delete_share,
    groups_by_source_of, list_all_bindings, list_all_group_bindings, list_group_bindings,
    list_shares_in, list_user_groups, list_user_groups_since, principals_holding,
    replace_group_bindings, replace_provider_groups, replace_user_groups, upsert_share,
    user_groups_by_source,
};
pub use roles::{Permission, Role};

use std::collections::{BTreeMap, BTreeSet};

use crate::errors::AppError;

/// Which of the given names are users' own namespaces.
pub type PersonalNamespaces =
    fn(&mut crate::db::DbConnection, &[String]) -> diesel::QueryResult<Vec<String>>;

/// Where configuration grants bindings: to every signed-in user, and to members of
/// groups (OpenID Connect). Evaluated at each request, so a configuration change
/// applies at once and leaves nothing stale in the database.
#[derive(Debug, Clone, Default)]
pub struct GrantRules {
    /// Bindings every signed-in user has (`PORTCULLIS_DEFAULT_ROLE_BINDINGS`).
    pub defaults: Vec<Binding>,
    /// Members of these groups get `*/*: admin`.
    pub admin_groups: Vec<String>,
    /// Every group `G` gives its members `G/*: developer`.
    pub group_namespaces: bool,
    /// How long memberships reported by the provider count after the sign-in that
    /// reported them (the session's absolute lifetime), in ms.
    pub provider_groups_ttl_ms: i64,
}

impl GrantRules {
    /// Bindings the rules give a member of `groups`; a group never gets a namespace in
    /// `protected` (`default`, users' own namespaces).
    pub fn group_bindings(&self, groups: &[String], protected: &[String]) -> Vec<Binding> {
        let mut out = Vec::new();
        for group in groups {
            if self.admin_groups.iter().any(|g| g == group)
                && let Ok(pattern) = Pattern::parse("*/*")
            {
                out.push(Binding {
                    pattern,
                    role: Role::Admin,
                    source: Source::Group,
                });
            }
            if self.group_namespaces
                && crate::names::validate_name(group).is_ok()
                && group != "default"
                && !protected.contains(group)
                && let Ok(pattern) = Pattern::parse(&format!("{group}/*"))
            {
                out.push(Binding {
                    pattern,
                    role: Role::Developer,
                    source: Source::Group,
                });
            }
        }
        out
    }

    fn has_group_rules(&self) -> bool {
        self.group_namespaces || !self.admin_groups.is_empty()
    }
}

/// Loads a user's effective grants: configured defaults, `<primary>/*: admin`,
/// explicit bindings, shares, and group bindings (stored ones and those the
/// configuration gives groups) — the union of all sources. Stored rows that no longer
/// parse are skipped with a warning rather than failing the request.
///
/// `personal_namespaces` tells which of some names are users' own namespaces (the auth
/// area owns users; a group never gets one of those).
pub fn load_user_grants(
    conn: &mut crate::db::DbConnection,
    user_id: i64,
    primary_namespace: &str,
    rules: &GrantRules,
    personal_namespaces: PersonalNamespaces,
) -> diesel::QueryResult<Grants> {
    let mut bindings = rules.defaults.clone();
    if let Ok(pattern) = Pattern::parse(&format!("{primary_namespace}/*")) {
        bindings.push(Binding {
            pattern,
            role: Role::Admin,
            source: Source::PrimaryNamespace,
        });
    }
    stored_grants(conn, KIND_USER, user_id, &mut bindings)?;
    let since = crate::db::now_ms() - rules.provider_groups_ttl_ms;
    for (pattern, role) in repo::list_group_bindings_of(conn, user_id, since)? {
        if let (Ok(pattern), Ok(role)) = (Pattern::parse(&pattern), Role::parse(&role)) {
            bindings.push(Binding {
                pattern,
                role,
                source: Source::Group,
            });
        }
    }
    if rules.has_group_rules() {
        let groups = repo::list_user_groups_since(conn, user_id, since)?;
        let protected = if rules.group_namespaces && !groups.is_empty() {
            personal_namespaces(conn, &groups)?
        } else {
            Vec::new()
        };
        bindings.extend(rules.group_bindings(&groups, &protected));
    }
    Ok(Grants::new(bindings))
}

/// Appends a principal's explicit bindings and namespace shares.
fn stored_grants(
    conn: &mut crate::db::DbConnection,
    kind: &str,
    id: i64,
    bindings: &mut Vec<Binding>,
) -> diesel::QueryResult<()> {
    for (pattern, role) in repo::list_bindings(conn, kind, id)? {
        match (Pattern::parse(&pattern), Role::parse(&role)) {
            (Ok(pattern), Ok(role)) => bindings.push(Binding {
                pattern,
                role,
                source: Source::Explicit,
            }),
            _ => tracing::warn!(kind, id, %pattern, %role, "skipping unparsable role binding"),
        }
    }
    for (namespace, role) in repo::list_shares_of(conn, kind, id)? {
        if let (Ok(pattern), Ok(role)) = (
            Pattern::parse(&format!("{namespace}/*")),
            Role::parse(&role),
        ) {
            bindings.push(Binding {
                pattern,
                role,
                source: Source::Share,
            });
        }
    }
    Ok(())
}

/// Deletes every binding and share held by a principal (it is being deleted).
pub fn delete_principal_grants(
    conn: &mut crate::db::DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> diesel::QueryResult<()> {
    repo::delete_shares_of(conn, principal_kind, principal_id)?;
    repo::delete_bindings(conn, principal_kind, principal_id)
}

/// Stores an explicit binding for a user.
pub fn bind_user(
    conn: &mut crate::db::DbConnection,
    user_id: i64,
    pattern: &Pattern,
    role: Role,
) -> diesel::QueryResult<()> {
    repo::insert_binding(
        conn,
        KIND_USER,
        user_id,
        &pattern.to_string(),
        role.as_str(),
        crate::db::now_ms(),
    )
}

/// A service account's grants: its stored bindings only (no defaults).
pub fn load_service_account_grants(
    conn: &mut crate::db::DbConnection,
    account_id: i64,
) -> diesel::QueryResult<Grants> {
    let mut bindings = Vec::new();
    stored_grants(conn, KIND_SERVICE_ACCOUNT, account_id, &mut bindings)?;
    Ok(Grants::new(bindings))
}

/// Grants of a down-scoped token: the bindings it names (`{"pattern": ["role"]}` JSON),
/// capped by its issuer's current grants.
pub fn token_grants(bindings_json: &str, issuer: Grants) -> Result<Grants, AppError> {
    let map: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(bindings_json)
        .map_err(|e| {
            AppError::internal(anyhow::anyhow!("stored token bindings unreadable: {e}"))
        })?;
    let bindings = parse_binding_map(&map)?
        .into_iter()
        .map(|(pattern, role)| Binding {
            pattern,
            role,
            source: Source::Token,
        })
        .collect();
    Ok(Grants::capped_by(bindings, issuer))
}

/// Whether `grants` may hand out `role` on `pattern`: some binding of the granter must
/// cover the whole pattern with at least that role. Nobody grants more than they hold.
pub fn can_grant(grants: &Grants, pattern: &Pattern, role: Role) -> bool {
    grants.covers(pattern, role)
}

/// A principal's stored bindings as `pattern → [roles]`.
pub fn stored_bindings(
    conn: &mut crate::db::DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> diesel::QueryResult<std::collections::BTreeMap<String, Vec<String>>> {
    let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (pattern, role) in repo::list_bindings(conn, principal_kind, principal_id)? {
        map.entry(pattern).or_default().push(role);
    }
    Ok(map)
}

/// A principal's stored bindings, parsed (rows that no longer parse are left out).
pub fn stored_binding_list(
    conn: &mut crate::db::DbConnection,
    principal_kind: &str,
    principal_id: i64,
) -> diesel::QueryResult<Vec<(Pattern, Role)>> {
    let rows = repo::list_bindings(conn, principal_kind, principal_id)?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, r)| Some((Pattern::parse(&p).ok()?, Role::parse(&r).ok()?)))
        .collect())
}

/// Replaces a principal's stored bindings.
pub fn replace_bindings(
    conn: &mut crate::db::DbConnection,
    principal_kind: &str,
    principal_id: i64,
    bindings: &[(Pattern, Role)],
) -> diesel::QueryResult<()> {
    repo::delete_bindings(conn, principal_kind, principal_id)?;
    let now = crate::db::now_ms();
    for (pattern, role) in bindings {
        repo::insert_binding(
            conn,
            principal_kind,
            principal_id,
            &pattern.to_string(),
            role.as_str(),
            now,
        )?;
    }
    Ok(())
}

/// Parses a `{"pattern": ["role", …]}` body; errors name the offending pattern.
pub fn parse_binding_map(
    body: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<Vec<(Pattern, Role)>, AppError> {
    let mut fields = crate::errors::FieldErrors::new();
    let mut out = Vec::new();
    for (pattern_text, roles) in body {
        match Pattern::parse(pattern_text) {
            Err(e) => {
                fields.insert(pattern_text.clone(), e);
            }
            Ok(pattern) => {
                for role in roles {
                    match Role::parse(role) {
                        Ok(role) => out.push((pattern.clone(), role)),
                        Err(e) => {
                            fields.insert(pattern_text.clone(), e);
                        }
                    }
                }
            }
        }
    }
    if fields.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation {
            message: "invalid role bindings".into(),
            fields,
        })
    }
}

/// Role bindings as the API reads and writes them, `{"<namespace>/<environment>":
/// ["<role>", …]}`, described for the OpenAPI document (the handlers read a plain map
/// and check it with [`parse_binding_map`]).
pub struct RoleBindings;

impl utoipa::PartialSchema for RoleBindings {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let segment = "[A-Za-z0-9._+@*-]{1,64}";
        ObjectBuilder::new()
            .description(Some(
                "Pattern (`<namespace>/<environment>`, `*` matches any run of characters) → \
                 roles (`viewer`, `developer` (alias `editor`), `admin`).",
            ))
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^{segment}/{segment}$"))),
            ))
            .additional_properties(Some(
                ArrayBuilder::new().items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(["viewer", "developer", "editor", "admin"])),
                ),
            ))
            .into()
    }
}

impl utoipa::ToSchema for RoleBindings {}

/// What a principal may do, as `GET /api/v1/permissions` shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PermissionsJson {
    /// Always `true` (anonymous callers get 401).
    pub authenticated: bool,
    /// A user's primary namespace, or a service account's namespace.
    pub primary_namespace: Option<String>,
    /// Pattern → the permissions its roles give (`environment::read`, …).
    pub entity_permissions: BTreeMap<String, BTreeSet<&'static str>>,
    /// Pattern → roles.
    pub entity_roles: BTreeMap<String, BTreeSet<&'static str>>,
    /// When the credential expires (RFC 3339): access tokens only.
    #[schema(format = DateTime)]
    pub expiration: Option<String>,
    /// Every binding, with where it comes from.
    pub bindings: Vec<BindingJson>,
    /// Whether the grants are capped by who issued the credential (a down-scoped
    /// token, or an admin's view).
    pub capped_by_issuer: bool,
}

/// One role binding and its source.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BindingJson {
    /// `namespace/environment` pattern (globs allowed).
    pub pattern: String,
    /// `viewer`, `developer` or `admin`.
    pub role: &'static str,
    /// Where it comes from: `default`, `primary namespace`, `explicit`, `group`,
    /// `share` or `token`.
    pub source: &'static str,
}

/// The conda-store-compatible permission map of `grants`, plus each binding with its
/// source (`"why"`).
pub fn permissions_json(
    grants: &Grants,
    primary_namespace: Option<&str>,
    expiration: Option<String>,
) -> PermissionsJson {
    let mut roles: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    let mut perms: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for b in grants.bindings() {
        let key = b.pattern.to_string();
        roles
            .entry(key.clone())
            .or_default()
            .insert(b.role.as_str());
        perms
            .entry(key)
            .or_default()
            .extend(b.role.permissions().map(Permission::as_str));
    }
    PermissionsJson {
        authenticated: true,
        primary_namespace: primary_namespace.map(str::to_owned),
        entity_permissions: perms,
        entity_roles: roles,
        expiration,
        bindings: grants
            .bindings()
            .iter()
            .map(|b| BindingJson {
                pattern: b.pattern.to_string(),
                role: b.role.as_str(),
                source: b.source.as_str(),
            })
            .collect(),
        capped_by_issuer: grants.ceiling().is_some(),
    }
}

/// Refuses (403) the first binding in `bindings` that `grants` may not hand out: a
/// token, share, or service-account, user or group binding never carries more than its
/// granter holds. `what` names the thing being granted for the message.
pub fn require_can_grant(
    grants: &Grants,
    bindings: &[(Pattern, Role)],
    what: &str,
) -> Result<(), AppError> {
    match bindings.iter().find(|(p, r)| !can_grant(grants, p, *r)) {
        Some((p, r)) => Err(AppError::Forbidden(format!(
            "{what} cannot carry {r} on {p}: you do not hold it"
        ))),
        None => Ok(()),
    }
}
