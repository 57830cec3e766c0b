//! Namespaces as a whole: their pages and JSON API, creation, deletion (which takes
//! along the connectors and service accounts kept in a namespace) and sharing. This area
//! sits above `service_accounts` and `connectors`; the `namespaces` table itself and
//! the lookups every area needs belong to `crate::environments`.

mod api;
mod handlers;
mod lifecycle;
mod manage;
mod members;
mod policy;
mod sharing;
mod views;
mod webhooks;

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = <api::Doc as utoipa::OpenApi>::openapi();
    doc.merge(<webhooks::Doc as utoipa::OpenApi>::openapi());
    doc
}

/// Routes of the area.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    api::configure(cfg);
    lifecycle::configure(cfg);
    handlers::configure(cfg);
    policy::configure(cfg);
    webhooks::configure(cfg);
}
