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

/// Routes of the area.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    api::configure(cfg);
    handlers::configure(cfg);
}
