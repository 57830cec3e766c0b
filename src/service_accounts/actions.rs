//! The changes the JSON API and the dashboard make alike, run the one way: on the
//! blocking pool, as the caller, clearing this instance's identity caches. Handlers
//! differ only in how they answer.

use super::accounts::{self, Edit};
use super::api_keys::{self, IssuedKey, KeyAt, NewKeyInput};
use super::models::{AccountSummary, ApiKey};
use crate::app::Cx;
use crate::errors::AppResult;
use crate::names::Address;

/// Changes account `at`'s description and/or active flag.
pub async fn update_account(cx: &Cx, at: Address, edit: Edit) -> AppResult<AccountSummary> {
    cx.run(move |conn, actor, st| accounts::update_account(conn, actor, &st.key_cache, &at, &edit))
        .await
}

/// Deletes account `at` and everything it owns.
pub async fn delete_account(cx: &Cx, at: Address) -> AppResult<()> {
    cx.run(move |conn, actor, st| accounts::delete_account(conn, actor, &st.key_cache, &at))
        .await
}

/// Creates a key of `account`; the plaintext exists only in the returned value.
pub async fn create_key(cx: &Cx, account: Address, input: NewKeyInput) -> AppResult<IssuedKey> {
    cx.run(move |conn, actor, st| {
        let keys = (&st.keys.credential_pepper, &st.config.key_policy);
        api_keys::create_key(conn, actor, keys, &account, &input)
    })
    .await
}

/// Rotates key `at`, the previous secret working `retain` more minutes.
pub async fn rotate_key(cx: &Cx, at: KeyAt, retain: i64) -> AppResult<IssuedKey> {
    cx.run(move |conn, actor, st| {
        let (cache, pepper) = (&st.key_cache, &st.keys.credential_pepper);
        api_keys::rotate_key(conn, actor, cache, pepper, &at.account, &at.key, retain)
    })
    .await
}

/// Changes key `at`'s description and/or active flag.
pub async fn update_key(cx: &Cx, at: KeyAt, edit: Edit) -> AppResult<ApiKey> {
    cx.run(move |conn, actor, st| {
        let caches = (&st.key_cache, &st.config.key_policy);
        api_keys::update_key(conn, actor, caches, &at.account, &at.key, &edit)
    })
    .await
}

/// Deletes key `at` and the tokens minted from it.
pub async fn delete_key(cx: &Cx, at: KeyAt) -> AppResult<()> {
    cx.run(move |conn, actor, st| {
        api_keys::delete_key(conn, actor, &st.key_cache, &at.account, &at.key)
    })
    .await
}
