//! What the users pages and API do, once: find a user, change a user's or a group's
//! bindings (never beyond what the caller holds; audited; every identity cache
//! invalidated), hash a new password off the async workers.

use std::collections::BTreeMap;

use actix_web::web;

use crate::access::{self, Actor, GroupsBySource, KIND_USER, Pattern, Role};
use crate::app::AppState;
use crate::audit;
use crate::auth::{self, User};
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
