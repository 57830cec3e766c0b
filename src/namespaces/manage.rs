//! Creating and deleting namespaces. Namespace-level permissions come only from `ns/*`
//! bindings. Deleting one takes along what other areas keep in it — its connectors and
//! service accounts (with their keys and tokens) — before the row itself, whose
//! environments and shares cascade.

use crate::access::{Actor, Permission};
use crate::db::{DbConnection, write_transaction};
use crate::environments::{self, Namespace};
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;
use crate::service_accounts::cache::KeyCache;
use crate::{audit, connectors, service_accounts};

/// Refuses unless `actor` holds `permission` on namespace `name`.
fn require(actor: &Actor, permission: Permission, name: &str) -> AppResult<()> {
    if actor.grants().can_namespace(permission, name) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "you need {} on {name:?}",
            permission.as_str()
        )))
    }
}

/// Namespace `name` when `actor` may read it (404 otherwise) and holds `permission` on
/// it (403 otherwise).
pub(super) fn authorized(
    conn: &mut DbConnection,
    actor: &Actor,
    permission: Permission,
    name: &str,
) -> AppResult<Namespace> {
    let ns = environments::readable_namespace(conn, actor.grants(), name)?;
    require(actor, permission, name)?;
    Ok(ns)
}

/// Creates a namespace (`namespace::create` on it, e.g. from `team-*/*: admin`).
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
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
    require(actor, Permission::NamespaceCreate, name)?;
    let meta = metadata.map_or_else(|| "{}".into(), |m| m.to_string());
    write_transaction(conn, |conn| -> AppResult<Namespace> {
        if environments::namespace_exists(conn, name)? {
            return Err(AppError::Conflict(format!(
                "namespace {name:?} already exists"
            )));
        }
        environments::insert_namespace(conn, name, description, &meta)?;
        audit::success(
            conn,
            actor,
            "namespace.create",
            &format!("namespace:{name}"),
            None,
        )?;
        environments::find_namespace(conn, name)?.ok_or(AppError::NotFound)
    })
}

/// Deletes a namespace with its environments, service accounts (keys, tokens),
/// connectors and shares (`namespace::delete`). `default` cannot be deleted.
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    name: &str,
) -> AppResult<()> {
    let ns = authorized(conn, actor, Permission::NamespaceDelete, name)?;
    if name == "default" {
        return Err(AppError::Conflict(
            "the default namespace always exists".into(),
        ));
    }
    write_transaction(conn, |conn| -> AppResult<()> {
        service_accounts::delete_all_in_namespace(conn, ns.id)?;
        // Each connector (and its sealed secrets) goes with an audit event of its own.
        connectors::delete_all_in_namespace(conn, actor, ns.id, name)?;
        environments::delete_namespace(conn, ns.id)?;
        audit::success(
            conn,
            actor,
            "namespace.delete",
            &format!("namespace:{name}"),
            None,
        )
    })?;
    cache.clear();
    Ok(())
}
