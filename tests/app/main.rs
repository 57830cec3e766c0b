//! Integration tests: the production app over a fresh database per test. Runs on
//! SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` is set (tests/run.sh
//! runs both).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on the first surprise"
)]

mod api_keys;
mod audit;
mod auth;
mod aws;
mod azure;
mod cli;
mod client;
mod connector_pages;
mod connectors;
mod crash;
mod csrf;
mod environments;
mod exchange;
mod fixtures;
mod form_fuzz;
mod gcp;
mod health;
mod helpers;
mod identity;
mod instances;
mod key_policy;
mod leaks;
mod matcher;
mod matrix;
mod migrations;
mod names;
mod oidc;
mod openapi;
mod outage;
mod overview;
mod pages;
mod pg_schema;
mod provider;
mod providers;
mod raw_http;
mod reveal;
mod review;
mod running;
mod secrets_at_rest;
mod security;
mod self_service;
mod service_accounts;
mod sessions;
mod ssh;
mod tokens;
mod user_admin;
mod webhook_crash;
mod webhooks;
