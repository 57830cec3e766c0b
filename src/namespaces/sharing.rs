//! Namespace sharing: who a namespace is shared with, and sharing or unsharing it with a
//! user or service account. A share grants `<ns>/*: role` and can never exceed what the
//! sharer holds on the namespace.

use serde::Serialize;

use super::manage::authorized;
use crate::access::{self, Actor, KIND_SERVICE_ACCOUNT, KIND_USER, Pattern, Permission, Role};
use crate::audit;
use crate::db::{DbConnection, now_ms, rfc3339, write_transaction};
use crate::errors::{AppError, AppResult};
use crate::names::Address;
use crate::service_accounts::cache::KeyCache;
use crate::{auth, service_accounts};

/// A share as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShareJson {
    /// `user` or `service_account`.
    pub principal_kind: String,
    /// Principal name.
    pub principal_name: String,
    /// Role.
    pub role: String,
    /// Who shared.
    pub created_by: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// Shares of a namespace (`namespace-role-mapping::read`).
pub fn shares(conn: &mut DbConnection, actor: &Actor, name: &str) -> AppResult<Vec<ShareJson>> {
    let ns = authorized(conn, actor, Permission::NamespaceRoleMappingRead, name)?;
    let mut out = Vec::new();
    for row in access::list_shares_in(conn, ns.id)? {
        let principal_name = match row.principal_kind.as_str() {
            KIND_USER => auth::user_name_of(conn, row.principal_id)?,
            _ => service_accounts::name_of(conn, row.principal_id)?,
        };
        if let Some(principal_name) = principal_name {
            out.push(ShareJson {
                principal_kind: row.principal_kind,
                principal_name,
                role: row.role,
                created_by: row.created_by,
                created_at: rfc3339(row.created_at),
            });
        }
    }
    Ok(out)
}

/// Resolves a share target — `user:NAME`, `service_account:[NS/]NAME`, `NS/NAME` (an
/// account) or a bare name (a user first, then a service account) — to `(kind, id)`.
fn resolve_target(
    conn: &mut DbConnection,
    actor: &Actor,
    text: &str,
) -> AppResult<(&'static str, i64)> {
    let (mut kind, name) = match text.split_once(':') {
        Some(("user", n)) => (Some(KIND_USER), n),
        Some(("service_account", n)) => (Some(KIND_SERVICE_ACCOUNT), n),
        _ => (None, text),
    };
    let at = Address::parse(name);
    if at.namespace.is_some() && kind != Some(KIND_USER) {
        kind = Some(KIND_SERVICE_ACCOUNT);
    }
    if !at.is_valid() || (at.namespace.is_some() && kind == Some(KIND_USER)) {
        return Err(AppError::invalid(
            "principal_name",
            "no such user or service account",
        ));
    }
    if kind != Some(KIND_SERVICE_ACCOUNT)
        && at.namespace.is_none()
        && let Some(user) = auth::find_user_by_name(conn, name)?
    {
        return Ok((KIND_USER, user.id));
    }
    // A service account counts only if the caller may read it (else it reads as
    // missing: no existence oracle across namespaces).
    if kind != Some(KIND_USER)
        && let Some((id, namespace)) = service_accounts::find_readable_id(conn, actor.grants(), &at)
            .map_err(|e| match e {
                AppError::AmbiguousName(m) => AppError::invalid("principal_name", m),
                other => other,
            })?
    {
        // What an account holds decides who may hand out its keys: only those who
        // administer it may give it more (else a reader could share their own namespace
        // with it and lock its admins out of managing its keys).
        actor.require_namespace(Permission::ServiceAccountUpdate, &namespace)?;
        return Ok((KIND_SERVICE_ACCOUNT, id));
    }
    Err(AppError::invalid(
        "principal_name",
        format!("no user or service account named {name:?}"),
    ))
}

/// Shares namespace `name` with a principal (create or change). Needs
/// `namespace-role-mapping::create` and the sharer must hold `role` on `name/*`.
pub fn share(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    name: &str,
    target: &str,
    role: &str,
) -> AppResult<()> {
    let ns = authorized(conn, actor, Permission::NamespaceRoleMappingCreate, name)?;
    let role = Role::parse(role).map_err(|e| AppError::invalid("role", e))?;
    let pattern =
        Pattern::parse(&format!("{name}/*")).map_err(|e| AppError::invalid("namespace", e))?;
    if !access::can_grant(actor.grants(), &pattern, role) {
        return Err(AppError::Forbidden(format!(
            "you cannot share {role} on {name}: you do not hold it"
        )));
    }
    let (kind, id) = resolve_target(conn, actor, target)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        access::upsert_share(
            conn,
            ns.id,
            kind,
            id,
            role.as_str(),
            &actor.name(),
            now_ms(),
        )?;
        audit::success(
            conn,
            actor,
            "namespace.share",
            &format!("namespace:{name}"),
            Some(&format!("{kind}:{target}={role}")),
        )
    })?;
    cache.clear();
    Ok(())
}

/// Removes a share (`namespace-role-mapping::delete`); 404 when there was none.
pub fn unshare(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    name: &str,
    target: &str,
) -> AppResult<()> {
    let ns = authorized(conn, actor, Permission::NamespaceRoleMappingDelete, name)?;
    // An unknown name is the same 404 as a name without a share: which users exist is
    // not told here.
    let (kind, id) = match resolve_target(conn, actor, target) {
        Ok(found) => found,
        Err(AppError::Validation { .. }) => return Err(AppError::NotFound),
        Err(e) => return Err(e),
    };
    let removed = write_transaction(conn, |conn| -> AppResult<bool> {
        let removed = access::delete_share(conn, ns.id, kind, id)?;
        if removed {
            audit::success(
                conn,
                actor,
                "namespace.unshare",
                &format!("namespace:{name}"),
                Some(&format!("{kind}:{target}")),
            )?;
        }
        Ok(removed)
    })?;
    cache.clear();
    if removed {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
