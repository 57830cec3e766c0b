//! People and their access, as pages and JSON: "My access" (bindings with their
//! sources, permission map, tokens), user administration with "view as" (what a user
//! can read, and which binding allows it), user and group role bindings. No tables of
//! its own: users, sessions and tokens belong to `auth`, bindings and groups to
//! `access`; this area composes their operations.

mod admin;
mod api;
mod ops;
mod pages;
mod views;

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    <api::Doc as utoipa::OpenApi>::openapi()
}

/// Routes of the area.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    pages::configure(cfg);
    admin::configure(cfg);
    api::configure(cfg);
}
