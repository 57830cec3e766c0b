//! Service connectors: the catalog of connector types and registered connectors.

pub mod api;
pub mod catalog;
mod handlers;
pub mod models;
pub mod registry;
pub mod repo;
pub mod validate;
mod views;

/// Label of the key derived from the server secret that seals connector secrets.
pub const SECRETS_KEY_LABEL: &str = "connector-secrets";

/// Deletes every connector of namespace `namespace_id` (and its sealed secrets and
/// resources), each with an audit event of its own naming the namespace: the
/// connector part of deleting a namespace. Runs inside the caller's transaction.
pub fn delete_all_in_namespace(
    conn: &mut crate::db::DbConnection,
    actor: &crate::access::Actor,
    namespace_id: i64,
    namespace: &str,
) -> crate::errors::AppResult<()> {
    for connector in repo::names_in(conn, namespace_id)? {
        repo::delete_by_name(conn, &connector)?;
        crate::audit::success(
            conn,
            actor,
            "connector.delete",
            &format!("connector:{connector}"),
            Some(&format!("with namespace {namespace}")),
        )?;
    }
    Ok(())
}

/// Routes of the area.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    api::configure(cfg);
    handlers::configure(cfg);
}
