//! Integration tests: the production app over a fresh database per test. Runs on
//! SQLite by default and on PostgreSQL when `TEST_DATABASE_URL` is set (tests/run.sh
//! runs both).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on the first surprise"
)]

mod auth;
mod cli;
mod csrf;
mod health;
mod helpers;
mod migrations;
mod overview;
mod security;
mod sessions;
