//! The changes the JSON API and the dashboard make alike, run the one way: on the
//! blocking pool, as the caller, clearing this instance's identity caches. Handlers
//! differ only in how they answer.

use super::accounts::{self, Edit};
use super::api_keys::{self, IssuedKey, NewKeyInput};
use super::models::{AccountSummary, ApiKey};
use crate::app::Cx;
use crate::errors::AppResult;

/// Changes account `name`'s description and/or active flag.
pub async fn update_account(cx: &Cx, name: String, edit: Edit) -> AppResult<AccountSummary> {
    cx.run(move |conn, actor, st| {
        accounts::update_account(conn, actor, &st.key_cache, &name, &edit)
    })
    .await
}

/// Deletes account `name` and everything it owns.
pub async fn delete_account(cx: &Cx, name: String) -> AppResult<()> {
    cx.run(move |conn, actor, st| accounts::delete_account(conn, actor, &st.key_cache, &name))
        .await
}

/// Creates a key of `account`; the plaintext exists only in the returned value.
pub async fn create_key(cx: &Cx, account: String, input: NewKeyInput) -> AppResult<IssuedKey> {
    cx.run(move |conn, actor, st| {
        let pepper = &st.keys.credential_pepper;
        api_keys::create_key(conn, actor, pepper, &account, &input)
    })
    .await
}

/// Rotates key `(account, name)`, the previous secret working `retain` more minutes.
pub async fn rotate_key(
    cx: &Cx,
    (account, name): (String, String),
    retain: i64,
) -> AppResult<IssuedKey> {
    cx.run(move |conn, actor, st| {
        let (cache, pepper) = (&st.key_cache, &st.keys.credential_pepper);
        api_keys::rotate_key(conn, actor, cache, pepper, &account, &name, retain)
    })
    .await
}

/// Changes key `(account, name)`'s description and/or active flag.
pub async fn update_key(
    cx: &Cx,
    (account, name): (String, String),
    edit: Edit,
) -> AppResult<ApiKey> {
    cx.run(move |conn, actor, st| {
        api_keys::update_key(conn, actor, &st.key_cache, &account, &name, &edit)
    })
    .await
}

/// Deletes key `(account, name)` and the tokens minted from it.
pub async fn delete_key(cx: &Cx, (account, name): (String, String)) -> AppResult<()> {
    cx.run(move |conn, actor, st| api_keys::delete_key(conn, actor, &st.key_cache, &account, &name))
        .await
}
