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
pub mod hygiene;
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

/// The page of connector `name` of namespace `ns`.
pub fn connector_url(ns: &str, name: &str) -> String {
    crate::web::namespaced_url("connectors", ns, name)
}

/// Names of the connectors kept in namespace `namespace_id` (what deleting it takes).
pub fn names_in(
    conn: &mut crate::db::DbConnection,
    namespace_id: i64,
) -> diesel::QueryResult<Vec<String>> {
    repo::names_in(conn, namespace_id)
}

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
        repo::delete_in(conn, namespace_id, &connector)?;
        crate::audit::success_in(
            conn,
            actor,
            Some(namespace),
            "connector.delete",
            &format!("connector:{namespace}/{connector}"),
            Some(&format!("with namespace {namespace}")),
        )?;
    }
    Ok(())
}

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    <api::Doc as utoipa::OpenApi>::openapi()
}

/// Routes of the area: the JSON API, then the catalog pages, the form and the
/// connector pages. `/connectors/new` comes before the connector pages, so that it is
/// not taken for a connector's name. A method a path does not take is answered 405.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use {catalog_pages as catalog, connector_pages as pages, form_pages as form};
    cfg.service(web::resource("/api/v1/connector-types").get(api::list_types))
        .service(web::resource("/api/v1/connector-types/{type}").get(api::get_type))
        .service(web::resource("/api/v1/resources").get(api::list_resources));
    for prefix in ["/api/v1/namespaces/{ns}/connectors", "/api/v1/connectors"] {
        cfg.service(
            web::scope(prefix)
                .service(
                    web::resource("")
                        .get(api::list_connectors)
                        .post(api::create_connector),
                )
                .service(
                    web::resource("/{name}")
                        .get(api::get_connector)
                        .patch(api::update_connector)
                        .delete(api::delete_connector),
                )
                .service(web::resource("/{name}/verify").post(api::verify_connector))
                .service(web::resource("/{name}/client-credentials").post(api::client_credentials)),
        );
    }
    let types = "/connector-types/{type}";
    cfg.service(web::resource("/connector-types").get(catalog::list_types))
        .service(web::resource(types).get(catalog::show_type))
        .service(
            web::resource(format!("{types}/auth-methods/{{method}}")).get(catalog::show_method),
        )
        .service(
            web::resource(format!("{types}/resource-types/{{rt}}"))
                .get(catalog::show_resource_type),
        );
    cfg.service(
        web::resource("/connectors")
            .get(pages::list_connectors)
            .post(form::create_connector),
    )
    .service(web::resource("/connectors/new").get(form::new_connector_form))
    .service(web::resource("/resources").get(pages::list_resources));
    // Each connector's pages, under its namespace and under the older `/connectors/…`
    // (answered where the name is unambiguous).
    for one in ["/namespaces/{ns}/connectors/{name}", "/connectors/{name}"] {
        cfg.service(
            web::resource(format!("{one}/edit"))
                .get(form::edit_connector_form)
                .post(form::update_connector),
        )
        .service(web::resource(one).get(pages::show_connector))
        .service(web::resource(format!("{one}/delete")).post(pages::delete_connector))
        .service(web::resource(format!("{one}/verify")).post(pages::verify_connector));
    }
}
