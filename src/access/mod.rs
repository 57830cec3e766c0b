//! Access control: role-binding patterns, roles, effective grants and the one function
//! every handler calls to authorize.

pub mod bindings;
pub mod pattern;
pub mod repo;
pub mod roles;
pub mod sql;

pub use bindings::{Binding, Grants, Source};
pub use pattern::{Dialect, Pattern, Segment, SqlMatch};
pub use roles::{Permission, Role};

use crate::auth::Principal;
use crate::errors::AppError;

/// Requires global administration (`*/*: admin`); 403 otherwise.
pub fn require_global_admin(principal: &Principal) -> Result<(), AppError> {
    if principal.grants.is_global_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this needs the global administrator role (*/*: admin)".into(),
        ))
    }
}

/// Loads a user's effective grants: configured defaults, `<primary>/*: admin`, and
/// explicit bindings (the union of all sources). Stored rows that no longer parse are
/// skipped with a warning rather than failing the request.
pub fn load_user_grants(
    conn: &mut crate::db::DbConnection,
    user_id: i64,
    primary_namespace: &str,
    defaults: &[Binding],
) -> diesel::QueryResult<Grants> {
    let mut bindings = defaults.to_vec();
    if let Ok(pattern) = Pattern::parse(&format!("{primary_namespace}/*")) {
        bindings.push(Binding {
            pattern,
            role: Role::Admin,
            source: Source::PrimaryNamespace,
        });
    }
    for (pattern, role) in repo::list_bindings(conn, crate::auth::models::KIND_USER, user_id)? {
        match (Pattern::parse(&pattern), Role::parse(&role)) {
            (Ok(pattern), Ok(role)) => bindings.push(Binding {
                pattern,
                role,
                source: Source::Explicit,
            }),
            _ => tracing::warn!(user_id, %pattern, %role, "skipping unparsable role binding"),
        }
    }
    Ok(Grants::new(bindings))
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
        crate::auth::models::KIND_USER,
        user_id,
        &pattern.to_string(),
        role.as_str(),
        crate::db::now_ms(),
    )
}
