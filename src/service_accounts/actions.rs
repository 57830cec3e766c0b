//! The changes the JSON API and the dashboard make alike, run the one way: on the
//! blocking pool, as the caller, clearing this instance's identity caches. Handlers
//! differ only in how they answer.

use actix_web::web;

use super::accounts;
use super::api_keys;
use super::models::{AccountSummary, ApiKey};
use crate::access::Actor;
use crate::app::AppState;
use crate::errors::AppResult;

/// Changes account `name`'s description and/or active flag.
pub async fn update_account(
    state: &web::Data<AppState>,
    actor: Actor,
    name: String,
    description: Option<String>,
    active: Option<bool>,
) -> AppResult<AccountSummary> {
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            let description = description.as_deref();
            accounts::update_account(conn, &actor, &st.key_cache, &name, description, active)
        })
        .await
}

/// Deletes account `name` and everything it owns.
pub async fn delete_account(
    state: &web::Data<AppState>,
    actor: Actor,
    name: String,
) -> AppResult<()> {
    let st = state.clone();
    state
        .db
        .run(move |conn| accounts::delete_account(conn, &actor, &st.key_cache, &name))
        .await
}

/// Changes key `(account, name)`'s description and/or active flag.
pub async fn update_key(
    state: &web::Data<AppState>,
    actor: Actor,
    (account, name): (String, String),
    description: Option<String>,
    active: Option<bool>,
) -> AppResult<ApiKey> {
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            let (cache, description) = (&st.key_cache, description.as_deref());
            api_keys::update_key(conn, &actor, cache, &account, &name, description, active)
        })
        .await
}

/// Deletes key `(account, name)` and the tokens minted from it.
pub async fn delete_key(
    state: &web::Data<AppState>,
    actor: Actor,
    (account, name): (String, String),
) -> AppResult<()> {
    let st = state.clone();
    state
        .db
        .run(move |conn| api_keys::delete_key(conn, &actor, &st.key_cache, &account, &name))
        .await
}
