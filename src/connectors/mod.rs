//! Service connectors: the catalog of connector types, registered connectors and what
//! they reach — dashboard pages, JSON API, and the operations other areas call.

use actix_web::web;

mod api;
mod brokering;
mod calls;
pub mod catalog;
mod catalog_pages;
mod catalog_views;
mod changes;
mod connector_pages;
mod credential_cache;
mod form;
mod form_pages;
mod models;
mod patch;
pub mod providers;
pub mod registry;
pub use credential_cache::CredentialCache;
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

/// Routes of the area: the JSON API, then the catalog pages, the form and the
/// connector pages. The form's routes come before the connector pages', so that
/// `/connectors/new` is not taken for a connector's name.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use {catalog_pages as catalog, connector_pages as pages, form_pages as form};
    cfg.route("/api/v1/connector-types", web::get().to(api::list_types))
        .route(
            "/api/v1/connector-types/{type}",
            web::get().to(api::get_type),
        )
        .route("/api/v1/resources", web::get().to(api::list_resources))
        .service(
            web::scope("/api/v1/connectors")
                .route("", web::get().to(api::list_connectors))
                .route("", web::post().to(api::create_connector))
                .route("/{name}", web::get().to(api::get_connector))
                .route("/{name}", web::patch().to(api::update_connector))
                .route("/{name}", web::delete().to(api::delete_connector))
                .route("/{name}/verify", web::post().to(api::verify_connector))
                .route(
                    "/{name}/client-credentials",
                    web::post().to(api::client_credentials),
                ),
        );
    cfg.route("/connector-types", web::get().to(catalog::list_types))
        .route("/connector-types/{type}", web::get().to(catalog::show_type))
        .route(
            "/connector-types/{type}/auth-methods/{method}",
            web::get().to(catalog::show_method),
        )
        .route(
            "/connector-types/{type}/resource-types/{rt}",
            web::get().to(catalog::show_resource_type),
        );
    cfg.route("/connectors", web::post().to(form::create_connector))
        .route("/connectors/new", web::get().to(form::new_connector_form))
        .route(
            "/connectors/{name}/edit",
            web::get().to(form::edit_connector_form),
        )
        .route(
            "/connectors/{name}/edit",
            web::post().to(form::update_connector),
        );
    cfg.route("/connectors", web::get().to(pages::list_connectors))
        .route("/connectors/{name}", web::get().to(pages::show_connector))
        .route(
            "/connectors/{name}/delete",
            web::post().to(pages::delete_connector),
        )
        .route(
            "/connectors/{name}/verify",
            web::post().to(pages::verify_connector),
        )
        .route("/resources", web::get().to(pages::list_resources));
}
