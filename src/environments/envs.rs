//! Environment operations: authorize on the environment (or its namespace for
//! creation), validate, change, audit.

use serde::Deserialize;

use super::models::{BUILD_STATUSES, Environment, NewEnvironment};
use super::repo::{self, EnvFilter, EnvironmentChanges};
use crate::access::{Actor, Grants, Permission};
use crate::audit;
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;

/// Longest specification accepted (bytes).
pub const MAX_SPECIFICATION: usize = 128 * 1024;

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

/// Input of creation (also the JSON body of `POST /api/v1/environments`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnv {
    /// Namespace name.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    pub namespace: String,
    /// Environment name.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Specification.
    pub specification: Option<String>,
}

/// Checks the free-text fields an environment is created or changed with.
fn check_texts(description: Option<&str>, specification: Option<&str>) -> FieldErrors {
    let mut fields = FieldErrors::new();
    for (field, value, max) in [
        ("description", description, 1024),
        ("specification", specification, MAX_SPECIFICATION),
    ] {
        if value.is_some_and(|v| v.len() > max || v.contains('\0')) {
            fields.insert(field.into(), format!("must be at most {max} bytes of text"));
        }
    }
    if !fields.contains_key("specification")
        && let Some(Err(problem)) = specification.map(super::spec::check)
    {
        fields.insert("specification".into(), problem);
    }
    fields
}

/// Creates an environment (`environment::create` on its namespace, from an `ns/*`
/// binding). A specification queues a build.
pub fn create(conn: &mut DbConnection, actor: &Actor, input: &NewEnv) -> AppResult<Environment> {
    let mut fields = check_texts(input.description.as_deref(), input.specification.as_deref());
    if let Err(e) = validate_name(&input.namespace) {
        fields.insert("namespace".into(), format!("namespace {e}"));
    }
    if let Err(e) = validate_name(&input.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the environment is not valid".into(),
            fields,
        });
    }
    let g = actor.grants();
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
        audit::success(
            conn,
            actor,
            "environment.create",
            &format!("environment:{}/{}", ns.name, input.name),
            None,
        )?;
        repo::find_environment(conn, ns.id, &input.name)?.ok_or(AppError::NotFound)
    })
}

/// Input of an update (also the JSON body of `PATCH /api/v1/environments/{ns}/{name}`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvChanges {
    /// New description.
    pub description: Option<String>,
    /// New specification (queues a build).
    pub specification: Option<String>,
    /// New build status (a builder reporting progress).
    pub current_build: Option<BuildChange>,
}

/// The build part of an update.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildChange {
    /// QUEUED, BUILDING, COMPLETED, FAILED or CANCELED.
    pub status: String,
}

/// `ns/name` when `actor` may read it and holds `permission` on it; 404 when it may
/// not read it, 403 when it may read but not act.
fn actionable(
    conn: &mut DbConnection,
    actor: &Actor,
    permission: Permission,
    ns: &str,
    name: &str,
) -> AppResult<(Environment, i64)> {
    let found = readable(conn, actor.grants(), ns, name)?;
    if !actor.grants().can_environment(permission, ns, name) {
        return Err(AppError::Forbidden(format!(
            "you need {} on {ns}/{name}",
            permission.as_str()
        )));
    }
    Ok(found)
}

/// Updates an environment (`environment::update`).
pub fn update(
    conn: &mut DbConnection,
    actor: &Actor,
    ns: &str,
    name: &str,
    changes: &EnvChanges,
) -> AppResult<Environment> {
    let (env, ns_id) = actionable(conn, actor, Permission::EnvironmentUpdate, ns, name)?;
    let mut fields = check_texts(
        changes.description.as_deref(),
        changes.specification.as_deref(),
    );
    let build_status = changes.current_build.as_ref().map(|b| &b.status);
    if let Some(s) = build_status
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
    if let Some(status) = build_status {
        set.build_status = Some(status.clone());
        match status.as_str() {
            "QUEUED" => set.build_scheduled_at = Some(Some(now)),
            "BUILDING" => set.build_started_at = Some(Some(now)),
            _ => set.build_ended_at = Some(Some(now)),
        }
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::update_environment(conn, env.id, &set)?;
        audit::success(
            conn,
            actor,
            "environment.update",
            &format!("environment:{ns}/{name}"),
            None,
        )
    })?;
    repo::find_environment(conn, ns_id, name)?.ok_or(AppError::NotFound)
}

/// Deletes an environment (`environment::delete`).
pub fn delete(conn: &mut DbConnection, actor: &Actor, ns: &str, name: &str) -> AppResult<()> {
    let (env, _) = actionable(conn, actor, Permission::EnvironmentDelete, ns, name)?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::delete_environment(conn, env.id)?;
        audit::success(
            conn,
            actor,
            "environment.delete",
            &format!("environment:{ns}/{name}"),
            None,
        )
    })
}
