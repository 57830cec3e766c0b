//! What the users pages and API do, once: find a user, change a user's or a group's
//! bindings (never beyond what the caller holds; audited; every identity cache
//! invalidated), hash a new password off the async workers.

use std::collections::BTreeMap;

use actix_web::web;

use crate::access::{self, Actor, GroupsBySource, KIND_USER, Pattern, Role};
use crate::app::AppState;
use crate::audit;
use crate::auth::{self, CreateUserError, User};
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult};

/// The user called `name`; 404 when there is none (or the name cannot exist).
pub fn find(conn: &mut DbConnection, name: &str) -> AppResult<User> {
    if crate::names::validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    auth::find_user_by_name(conn, name)?.ok_or(AppError::NotFound)
}

/// User `name` with its memberships by source (provider memberships reported at or
/// after `since` still count).
pub fn with_groups(
    conn: &mut DbConnection,
    name: &str,
    since: i64,
) -> AppResult<(User, GroupsBySource)> {
    let user = find(conn, name)?;
    let groups = access::user_groups_by_source(conn, user.id, since)?;
    Ok((user, groups))
}

/// When provider-reported memberships stop counting: those reported before this.
pub fn provider_groups_since(state: &AppState) -> i64 {
    now_ms() - state.config.grant_rules.provider_groups_ttl_ms
}

/// The effective grants of user `name` (every source).
pub fn grants_of(
    conn: &mut DbConnection,
    state: &AppState,
    name: &str,
) -> AppResult<(User, access::Grants)> {
    let user = find(conn, name)?;
    let grants = auth::user_grants(conn, &user, &state.config.grant_rules)?;
    Ok((user, grants))
}

/// `pattern=role,…` for the audit log.
fn detail(bindings: &[(Pattern, Role)]) -> String {
    let parts: Vec<String> = bindings.iter().map(|(p, r)| format!("{p}={r}")).collect();
    parts.join(",")
}

/// Who receives bindings: a user (by name) or a group.
pub enum Grantee<'a> {
    /// A user's explicit bindings.
    User(&'a str),
    /// What every member of a group gets.
    Group(&'a str),
}

/// Replaces the grantee's bindings with `bindings`, each within what `actor` holds,
/// audited as `role_binding.update`; returns the stored bindings as `pattern → roles`.
pub fn replace_bindings(
    conn: &mut DbConnection,
    state: &AppState,
    actor: &Actor,
    grantee: Grantee<'_>,
    bindings: &[(Pattern, Role)],
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let (what, target) = match grantee {
        Grantee::User(name) => ("a user binding", format!("user:{name}")),
        Grantee::Group(group) => ("a group binding", format!("group:{group}")),
    };
    access::require_can_grant(actor.grants(), bindings, what)?;
    let user = match grantee {
        Grantee::User(name) => Some(find(conn, name)?),
        Grantee::Group(_) => None,
    };
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        match (&user, &grantee) {
            (Some(user), _) => access::replace_bindings(conn, KIND_USER, user.id, bindings)?,
            (None, Grantee::Group(group)) => {
                let pairs: Vec<(String, String)> = bindings
                    .iter()
                    .map(|(p, r)| (p.to_string(), r.as_str().to_owned()))
                    .collect();
                access::replace_group_bindings(conn, group, &pairs, now_ms())?;
            }
            (None, Grantee::User(_)) => return Err(AppError::NotFound),
        }
        audit::success(
            conn,
            actor,
            "role_binding.update",
            &target,
            Some(&detail(bindings)),
        )
    })?;
    state.key_cache.clear();
    bindings_of(conn, grantee)
}

/// The grantee's stored bindings as `pattern → roles`.
pub fn bindings_of(
    conn: &mut DbConnection,
    grantee: Grantee<'_>,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    match grantee {
        Grantee::User(name) => {
            let user = find(conn, name)?;
            Ok(access::stored_bindings(conn, KIND_USER, user.id)?)
        }
        Grantee::Group(group) => {
            let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (pattern, role) in access::list_group_bindings(conn, group)? {
                map.entry(pattern).or_default().push(role);
            }
            Ok(map)
        }
    }
}

/// Creates user `name` (own namespace `primary`, by default one named after them), with
/// a password hash or none; 422 on the field at fault, 409 when the name is taken.
pub fn create_user(
    conn: &mut DbConnection,
    actor: &Actor,
    (name, primary): (&str, Option<&str>),
    hash: Option<&str>,
    active: bool,
) -> AppResult<User> {
    let explicit = primary.filter(|p| !p.trim().is_empty());
    let primary = explicit.unwrap_or(name);
    match auth::create_user(conn, name, hash, primary, active, false, &actor.name()) {
        Ok(_) => find(conn, name),
        Err(CreateUserError::Invalid(e)) if e.starts_with("primary") && explicit.is_some() => {
            Err(AppError::invalid("primary_namespace", e))
        }
        // The primary namespace defaulted to the name: the name is what to change.
        Err(CreateUserError::Invalid(e)) if e.starts_with("primary") => Err(AppError::invalid(
            "name",
            format!(
                "a namespace named {name:?} exists, and a user administers the namespace \
                 named after them: choose another name, or another primary namespace ({e})"
            ),
        )),
        Err(CreateUserError::Invalid(e)) => Err(AppError::invalid("name", e)),
        Err(CreateUserError::Exists(n)) => {
            Err(AppError::Conflict(format!("user {n:?} already exists")))
        }
        Err(CreateUserError::Db(e)) => Err(e.into()),
    }
}

/// A change of a user by an admin: each part optional.
#[derive(Debug, Default)]
pub struct UserChange {
    /// Active or not (deactivating ends their sessions at their next request).
    pub active: Option<bool>,
    /// A new password hash (their sessions end).
    pub password_hash: Option<String>,
    /// The memberships set here (the provider's are its own).
    pub groups: Option<Vec<String>>,
}

/// Applies `change` to user `name`, audited (`user.activate`, `user.deactivate`,
/// `user.password`, `user.groups`); every identity cache is invalidated.
pub fn update_user(
    conn: &mut DbConnection,
    state: &AppState,
    actor: &Actor,
    name: &str,
    change: &UserChange,
) -> AppResult<User> {
    if let Some(bad) = change
        .groups
        .iter()
        .flatten()
        .find(|g| crate::names::validate_name(g).is_err())
    {
        return Err(AppError::invalid(
            "groups",
            format!("{bad:?} is not a valid group name"),
        ));
    }
    let user = find(conn, name)?;
    let target = format!("user:{name}");
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        let hash = change.password_hash.as_deref();
        auth::update_user(conn, user.id, change.active, hash)?;
        if let Some(groups) = &change.groups {
            access::replace_user_groups(conn, user.id, groups)?;
            audit::success(conn, actor, "user.groups", &target, Some(&groups.join(",")))?;
        }
        let flip = match change.active {
            Some(true) if !user.active => Some("user.activate"),
            Some(false) if user.active => Some("user.deactivate"),
            _ => None,
        };
        let password = hash.is_some().then_some("user.password");
        for action in flip.into_iter().chain(password) {
            audit::success(conn, actor, action, &target, None)?;
        }
        if hash.is_some() {
            auth::end_sessions(conn, user.id)?;
        }
        // Deactivation ends their tokens and sessions for good: activating them again
        // revives none of them.
        if change.active == Some(false) {
            auth::end_sessions(conn, user.id)?;
            auth::delete_tokens_of(conn, access::KIND_USER, user.id, &[])?;
        }
        Ok(())
    })?;
    state.key_cache.clear();
    find(conn, name)
}

/// Hashes a new password (length checked) on the blocking pool; a bad one is a 422 on
/// `password`.
pub async fn hash_password(password: Option<String>) -> AppResult<Option<String>> {
    let Some(password) = password else {
        return Ok(None);
    };
    let hash = web::block(move || auth::hash_new_password(&password))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::invalid("password", e.to_string()))?;
    Ok(Some(hash))
}
