//! Environment operations: authorize on the environment (or its namespace for
//! creation), validate, change, audit.

use super::models::{BUILD_STATUSES, Environment, NewEnvironment};
use super::repo::{self, EnvFilter, EnvironmentChanges};
use crate::access::Principal;
use crate::access::{Grants, Permission};
use crate::audit;
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;

/// Longest specification accepted (bytes).
pub const MAX_SPECIFICATION: usize = 128 * 1024;

fn audit(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    action: &str,
    target: &str,
) -> AppResult<()> {
    audit::record_success(conn, principal, client, action, target, None)
}

/// Environment `ns/name` if `grants` may read it; 404 otherwise.
pub fn readable(
    conn: &mut DbConnection,
    grants: &Grants,
    ns: &str,
    name: &str,
) -> AppResult<(Environment, i64)> {
    if validate_name(ns).is_err() || validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    if !grants.can_environment(Permission::EnvironmentRead, ns, name) {
        return Err(AppError::NotFound);
    }
    let namespace = repo::find_namespace(conn, ns)?.ok_or(AppError::NotFound)?;
    let env = repo::find_environment(conn, namespace.id, name)?.ok_or(AppError::NotFound)?;
    Ok((env, namespace.id))
}

/// Lists readable environments.
pub fn list(
    conn: &mut DbConnection,
    grants: &Grants,
    filter: &EnvFilter,
    totals: &super::totals::TotalsCache,
) -> AppResult<(Vec<(Environment, String)>, i64)> {
    if let Some(status) = &filter.status
        && !BUILD_STATUSES.contains(&status.as_str())
    {
        return Err(AppError::invalid(
            "status",
            format!("must be one of {}", BUILD_STATUSES.join(", ")),
        ));
    }
    Ok(repo::list_environments(conn, grants, filter, totals)?)
}

/// Input of creation.
#[derive(Debug, Clone, Default)]
pub struct NewEnv {
    /// Namespace name.
    pub namespace: String,
    /// Environment name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Specification.
    pub specification: Option<String>,
}

fn check_text(fields: &mut FieldErrors, field: &str, value: Option<&str>, max: usize) {
    if value.is_some_and(|v| v.len() > max || v.contains('\0')) {
        fields.insert(field.into(), format!("must be at most {max} bytes of text"));
    }
}

/// Creates an environment (`environment::create` on its namespace, from an `ns/*`
/// binding). A specification queues a build.
pub fn create(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    input: &NewEnv,
) -> AppResult<Environment> {
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(&input.namespace) {
        fields.insert("namespace".into(), format!("namespace {e}"));
    }
    if let Err(e) = validate_name(&input.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    check_text(
        &mut fields,
        "description",
        input.description.as_deref(),
        1024,
    );
    check_text(
        &mut fields,
        "specification",
        input.specification.as_deref(),
        MAX_SPECIFICATION,
    );
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the environment is not valid".into(),
            fields,
        });
    }
    let g = &principal.grants;
    let ns = repo::find_namespace(conn, &input.namespace)?;
    let ns = match ns {
        Some(ns)
            if g.can_namespace(Permission::NamespaceRead, &ns.name)
                || g.can_namespace(Permission::EnvironmentCreate, &ns.name) =>
        {
            ns
        }
        _ => {
            return Err(AppError::invalid(
                "namespace",
                format!("namespace {:?} does not exist", input.namespace),
            ));
        }
    };
    if !g.can_namespace(Permission::EnvironmentCreate, &ns.name) {
        return Err(AppError::Forbidden(format!(
            "you need environment::create on namespace {:?} (from a {}/* binding)",
            ns.name, ns.name
        )));
    }
    let now = now_ms();
    let spec = input.specification.as_deref().unwrap_or("");
    crate::db::write_transaction(conn, |conn| -> AppResult<Environment> {
        if repo::find_environment(conn, ns.id, &input.name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "environment {}/{} already exists",
                ns.name, input.name
            )));
        }
        let queued = !spec.is_empty();
        repo::insert_environment(
            conn,
            &NewEnvironment {
                namespace_id: ns.id,
                name: &input.name,
                description: input.description.as_deref().unwrap_or(""),
                specification: spec,
                created_at: now,
                updated_at: now,
                build_status: queued.then_some("QUEUED"),
                build_scheduled_at: queued.then_some(now),
            },
        )?;
        audit(
            conn,
            principal,
            client,
            "environment.create",
            &format!("environment:{}/{}", ns.name, input.name),
        )?;
        repo::find_environment(conn, ns.id, &input.name)?.ok_or(AppError::NotFound)
    })
}

/// Input of an update.
#[derive(Debug, Clone, Default)]
pub struct EnvChanges {
    /// New description.
    pub description: Option<String>,
    /// New specification (queues a build).
    pub specification: Option<String>,
    /// New build status (a builder reporting progress).
    pub build_status: Option<String>,
}

/// Updates an environment (`environment::update`).
pub fn update(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    ns: &str,
    name: &str,
    changes: &EnvChanges,
) -> AppResult<Environment> {
    let (env, ns_id) = readable(conn, &principal.grants, ns, name)?;
    if !principal
        .grants
        .can_environment(Permission::EnvironmentUpdate, ns, name)
    {
        return Err(AppError::Forbidden(format!(
            "you need environment::update on {ns}/{name}"
        )));
    }
    let mut fields = FieldErrors::new();
    check_text(
        &mut fields,
        "description",
        changes.description.as_deref(),
        1024,
    );
    check_text(
        &mut fields,
        "specification",
        changes.specification.as_deref(),
        MAX_SPECIFICATION,
    );
    if let Some(s) = &changes.build_status
        && !BUILD_STATUSES.contains(&s.as_str())
    {
        fields.insert(
            "current_build.status".into(),
            format!("must be one of {}", BUILD_STATUSES.join(", ")),
        );
    }
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the change is not valid".into(),
            fields,
        });
    }
    let now = now_ms();
    let mut set = EnvironmentChanges {
        description: changes.description.clone(),
        specification: changes.specification.clone(),
        updated_at: now,
        ..Default::default()
    };
    if changes
        .specification
        .as_ref()
        .is_some_and(|s| *s != env.specification)
    {
        set.build_status = Some("QUEUED".into());
        set.build_scheduled_at = Some(Some(now));
        set.build_started_at = Some(None);
        set.build_ended_at = Some(None);
    }
    if let Some(status) = &changes.build_status {
        set.build_status = Some(status.clone());
        match status.as_str() {
            "QUEUED" => set.build_scheduled_at = Some(Some(now)),
            "BUILDING" => set.build_started_at = Some(Some(now)),
            _ => set.build_ended_at = Some(Some(now)),
        }
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::update_environment(conn, env.id, &set)?;
        audit(
            conn,
            principal,
            client,
            "environment.update",
            &format!("environment:{ns}/{name}"),
        )
    })?;
    repo::find_environment(conn, ns_id, name)?.ok_or(AppError::NotFound)
}

/// Deletes an environment (`environment::delete`).
pub fn delete(
    conn: &mut DbConnection,
    principal: &Principal,
    client: &str,
    ns: &str,
    name: &str,
) -> AppResult<()> {
    let (env, _) = readable(conn, &principal.grants, ns, name)?;
    if !principal
        .grants
        .can_environment(Permission::EnvironmentDelete, ns, name)
    {
        return Err(AppError::Forbidden(format!(
            "you need environment::delete on {ns}/{name}"
        )));
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::delete_environment(conn, env.id)?;
        audit(
            conn,
            principal,
            client,
            "environment.delete",
            &format!("environment:{ns}/{name}"),
        )
    })
}
