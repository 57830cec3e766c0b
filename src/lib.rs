//! Portcullis: a self-hosted control plane for machine access — service accounts and
//! API keys, service connectors, namespaces/environments with role bindings — served as
//! a server-rendered dashboard and a JSON API from one binary over SQLite or PostgreSQL.

pub mod access;
pub mod alerts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod credential;
pub mod crypto;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod environments;
pub mod errors;
pub mod federation;
pub mod files;
pub mod identity;
pub mod key_policy;
pub mod leaks;
pub mod names;
pub mod namespaces;
pub mod openapi;
pub mod ops;
pub mod outbound;
pub mod secrets;
pub mod server;
pub mod service_accounts;
pub mod users;
pub mod web;

/// The crate version, shown in the page footer.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod layering;
