//! Service accounts and their API keys: non-human principals of one namespace whose
//! prefixed, checksummed keys are shown once, stored as HMACs, rotated with a grace
//! window, expired, deactivated and revoked — from the dashboard and the JSON API.

mod accounts;
mod actions;
mod api;
mod api_keys;
pub mod attention;
pub mod cache;
mod grants;
mod handlers;
pub mod hygiene;
pub mod keys;
pub mod leaked;
pub mod models;
pub mod policy;
mod repo;
pub mod reveal;
pub mod trust;
pub mod usage;
mod verify;
mod views;

use actix_web::web;

pub use verify::{principal_for_account_token, principal_for_key, principal_for_key_token};

use crate::db::DbConnection;

/// Routes of the area.
pub fn configure(cfg: &mut web::ServiceConfig) {
    api::configure(cfg);
    policy::configure(cfg);
    handlers::configure(cfg);
}

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = <api::Doc as utoipa::OpenApi>::openapi();
    doc.merge(<policy::Doc as utoipa::OpenApi>::openapi());
    doc
}

/// Writes the queued `last_used_at` updates (called by the background flush).
pub fn flush_key_usage(conn: &mut DbConnection, uses: &[(i64, i64)]) -> diesel::QueryResult<()> {
    if uses.is_empty() {
        return Ok(());
    }
    repo::record_key_use(conn, uses)
}

/// Deletes reveals nobody viewed in time (housekeeping).
pub fn purge_expired_reveals(conn: &mut DbConnection) -> diesel::QueryResult<usize> {
    repo::delete_expired_reveals(conn, crate::db::now_ms())
}

/// How many service accounts the caller may read (overview card).
pub fn count_readable(
    conn: &mut DbConnection,
    principal: &crate::access::Principal,
) -> diesel::QueryResult<i64> {
    repo::count_readable(conn, &principal.grants)
}

/// Creates an account outside a request (demo seeding); no authorization check.
pub fn create_unchecked(
    conn: &mut DbConnection,
    name: &str,
    namespace: &str,
    description: &str,
    created_by: &str,
) -> anyhow::Result<()> {
    crate::names::validate_name(name).map_err(anyhow::Error::msg)?;
    let ns = crate::environments::find_namespace(conn, namespace)?
        .ok_or_else(|| anyhow::anyhow!("namespace {namespace:?} does not exist"))?;
    let now = crate::db::now_ms();
    repo::insert_account(
        conn,
        &repo::NewAccountRow {
            name,
            namespace_id: ns.id,
            description,
            active: true,
            created_by,
            created_at: now,
            updated_at: now,
        },
    )?;
    Ok(())
}

/// The page of account `name` of namespace `ns`.
pub fn account_url(ns: &str, name: &str) -> String {
    crate::web::namespaced_url("service-accounts", ns, name)
}

/// The id and namespace of the account at `at` if `grants` may read it (to resolve
/// share and view-as targets: an unreadable account reads as missing); 409
/// `ambiguous_name` for a bare name readable in several namespaces.
pub fn find_readable_id(
    conn: &mut DbConnection,
    grants: &crate::access::Grants,
    at: &crate::names::Address,
) -> crate::errors::AppResult<Option<(i64, String)>> {
    match accounts::readable_account(conn, grants, at) {
        Ok((account, namespace)) => Ok(Some((account.id, namespace))),
        Err(crate::errors::AppError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `namespace/name` of account `id`.
pub fn name_of(conn: &mut DbConnection, id: i64) -> diesel::QueryResult<Option<String>> {
    Ok(repo::account_name(conn, id)?.map(|(ns, name)| format!("{ns}/{name}")))
}

/// `(id, namespace, name)` of the accounts among `ids` ("who has access").
pub fn names_of(
    conn: &mut DbConnection,
    ids: &[i64],
) -> diesel::QueryResult<Vec<(i64, String, String)>> {
    repo::account_names(conn, ids)
}

/// Deletes every account of a namespace, revoking their keys and tokens (before the
/// namespace itself is deleted). The caller clears the key cache.
pub fn delete_all_in_namespace(
    conn: &mut DbConnection,
    namespace_id: i64,
) -> diesel::QueryResult<()> {
    for id in repo::account_ids_in(conn, namespace_id)? {
        remove(conn, id)?;
    }
    Ok(())
}

/// Deletes account `id` with everything it owns: its keys, the tokens of the account
/// and of its keys (through `auth`), its bindings and shares (through `access`).
pub(crate) fn remove(conn: &mut DbConnection, id: i64) -> diesel::QueryResult<()> {
    let key_ids = repo::key_ids_of(conn, id)?;
    crate::auth::delete_tokens_of(conn, crate::access::KIND_SERVICE_ACCOUNT, id, &key_ids)?;
    crate::access::delete_principal_grants(conn, crate::access::KIND_SERVICE_ACCOUNT, id)?;
    repo::delete_account(conn, id)
}

/// `(name, active)` of the accounts of a namespace, by name (namespace page).
pub fn accounts_in(
    conn: &mut DbConnection,
    namespace_id: i64,
) -> diesel::QueryResult<Vec<(String, bool)>> {
    repo::accounts_in(conn, namespace_id)
}
