//! Namespace operations and sharing. Namespace-level permissions come only from
//! `ns/*` bindings; a share grants `<ns>/*: role` and can never exceed what the sharer
//! holds on the namespace.

use serde::Serialize;

use super::models::Namespace;
use super::repo;
use crate::access::{self, Grants, Pattern, Permission, Role};
use crate::audit::record_success as record;
use crate::access::Principal;
use crate::access::{KIND_SERVICE_ACCOUNT, KIND_USER};
use crate::db::{DbConnection, now_ms, rfc3339};
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;
use crate::service_accounts::cache::KeyCache;
use crate::{auth, service_accounts};

/// Namespace `name` if `grants` may read it; 404 otherwise.
pub fn readable(conn: &mut DbConnection, grants: &Grants, name: &str) -> AppResult<Namespace> {
    if validate_name(name).is_err() || !grants.can_namespace(Permission::NamespaceRead, name) {
        return Err(AppError::NotFound);
    }
    repo::find_namespace(conn, name)?.ok_or(AppError::NotFound)
}

/// Creates a namespace (`namespace::create` on it, e.g. from `team-*/*: admin`).
pub fn create(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    name: &str,
    description: &str,
    metadata: Option<&serde_json::Value>,
) -> AppResult<Namespace> {
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    if description.len() > 1024 || description.contains('\0') {
        fields.insert(
            "description".into(),
            "must be at most 1024 bytes of text".into(),
        );
    }
    if metadata.is_some_and(|m| !m.is_object()) {
        fields.insert("metadata".into(), "must be a JSON object".into());
    }
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the namespace is not valid".into(),
            fields,
        });
    }
    if !principal
        .grants
        .can_namespace(Permission::NamespaceCreate, name)
    {
        return Err(AppError::Forbidden(format!(
            "you need namespace::create on {name:?}"
        )));
    }
    let meta = metadata
        .map(|m| m.to_string())
        .unwrap_or_else(|| "{}".into());
    crate::db::write_transaction(conn, |conn| -> AppResult<Namespace> {
        if repo::find_namespace(conn, name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "namespace {name:?} already exists"
            )));
        }
        repo::insert_namespace_with(conn, name, description, &meta, now_ms())?;
        record(
            conn,
            principal,
            client,
            "namespace.create",
            &format!("namespace:{name}"),
            None,
        )?;
        repo::find_namespace(conn, name)?.ok_or(AppError::NotFound)
    })
}

/// Deletes a namespace with its environments, service accounts (keys, tokens),
/// connectors and shares (`namespace::delete`). `default` cannot be deleted.
pub fn delete(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    cache: &KeyCache,
    name: &str,
) -> AppResult<()> {
    let ns = readable(conn, &principal.grants, name)?;
    if !principal
        .grants
        .can_namespace(Permission::NamespaceDelete, name)
    {
        return Err(AppError::Forbidden(format!(
            "you need namespace::delete on {name:?}"
        )));
    }
    if name == "default" {
        return Err(AppError::Conflict(
            "the default namespace always exists".into(),
        ));
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        service_accounts::delete_all_in_namespace(conn, ns.id)?;
        // Each connector (and its sealed secrets) goes with an audit event of its own.
        // (Connectors' repo is private; a principal becomes an Actor until this area's
        // operations take one.)
        let actor = access::Actor {
            principal: principal.clone(),
            client: client.to_owned(),
            request_id: String::new(),
        };
        crate::connectors::delete_all_in_namespace(conn, &actor, ns.id, name)?;
        repo::delete_namespace(conn, ns.id)?;
        record(
            conn,
            principal,
            client,
            "namespace.delete",
            &format!("namespace:{name}"),
            None,
        )
    })?;
    cache.clear();
    Ok(())
}

/// A share as shown.
#[derive(Debug, Clone, Serialize)]
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
    pub created_at: String,
}

/// Shares of a namespace (`namespace-role-mapping::read`).
pub fn shares(conn: &mut DbConnection, grants: &Grants, name: &str) -> AppResult<Vec<ShareJson>> {
    let ns = readable(conn, grants, name)?;
    if !grants.can_namespace(Permission::NamespaceRoleMappingRead, name) {
        return Err(AppError::Forbidden(format!(
            "you need namespace-role-mapping::read on {name:?}"
        )));
    }
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

/// Resolves `user:NAME`, `service_account:NAME` or a bare name (a user first, then a
/// service account) to `(kind, id)`.
fn resolve_principal(
    conn: &mut DbConnection,
    principal: &Principal,
    text: &str,
) -> AppResult<(&'static str, i64)> {
    let (kind, name) = match text.split_once(':') {
        Some(("user", n)) => (Some(KIND_USER), n),
        Some(("service_account", n)) => (Some(KIND_SERVICE_ACCOUNT), n),
        _ => (None, text),
    };
    if validate_name(name).is_err() {
        return Err(AppError::invalid(
            "principal_name",
            "no such user or service account",
        ));
    }
    if kind != Some(KIND_SERVICE_ACCOUNT)
        && let Some(user) = auth::find_user_by_name(conn, name)?
    {
        return Ok((KIND_USER, user.id));
    }
    // A service account counts only if the caller may read it (else it reads as
    // missing: no existence oracle across namespaces).
    if kind != Some(KIND_USER)
        && let Some(id) = service_accounts::find_id_by_name(conn, name)?
        && service_accounts::accounts::readable_account(conn, principal, name).is_ok()
    {
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
    principal: &Principal,
    client: &str,
    cache: &KeyCache,
    name: &str,
    target: &str,
    role: &str,
) -> AppResult<()> {
    let ns = readable(conn, &principal.grants, name)?;
    if !principal
        .grants
        .can_namespace(Permission::NamespaceRoleMappingCreate, name)
    {
        return Err(AppError::Forbidden(format!(
            "you need namespace-role-mapping::create on {name:?}"
        )));
    }
    let role = Role::parse(role).map_err(|e| AppError::invalid("role", e))?;
    let pattern =
        Pattern::parse(&format!("{name}/*")).map_err(|e| AppError::invalid("namespace", e))?;
    if !access::can_grant(&principal.grants, &pattern, role) {
        return Err(AppError::Forbidden(format!(
            "you cannot share {role} on {name}: you do not hold it"
        )));
    }
    let (kind, id) = resolve_principal(conn, principal, target)?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        access::upsert_share(
            conn,
            ns.id,
            kind,
            id,
            role.as_str(),
            &format!("{}:{}", principal.kind.as_str(), principal.name),
            now_ms(),
        )?;
        record(
            conn,
            principal,
            client,
            "namespace.share",
            &format!("namespace:{name}"),
            Some(&format!("{kind}:{target}={role}")),
        )
    })?;
    cache.clear();
    Ok(())
}

/// Removes a share (`namespace-role-mapping::delete`).
pub fn unshare(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    cache: &KeyCache,
    name: &str,
    target: &str,
) -> AppResult<()> {
    let ns = readable(conn, &principal.grants, name)?;
    if !principal
        .grants
        .can_namespace(Permission::NamespaceRoleMappingDelete, name)
    {
        return Err(AppError::Forbidden(format!(
            "you need namespace-role-mapping::delete on {name:?}"
        )));
    }
    let (kind, id) = resolve_principal(conn, principal, target)?;
    let removed = crate::db::write_transaction(conn, |conn| -> AppResult<bool> {
        let removed = access::delete_share(conn, ns.id, kind, id)?;
        if removed {
            record(
                conn,
                principal,
                client,
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
