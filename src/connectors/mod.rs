//! Service connectors: the catalog of connector types, registered connectors and what
//! they reach — dashboard pages, JSON API, and the operations other areas call.

mod api;
mod calls;
pub mod catalog;
mod catalog_pages;
mod catalog_views;
mod changes;
mod connector_pages;
mod form;
mod form_pages;
mod models;
mod patch;
pub mod registry;
mod repo;
mod resolve;
mod sealing;
mod validate;
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

/// Routes of the area. The form's routes come before the connector pages', so that
/// `/connectors/new` is not taken for a connector's name.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    api::configure(cfg);
    catalog_pages::configure(cfg);
    form_pages::configure(cfg);
    connector_pages::configure(cfg);
}
