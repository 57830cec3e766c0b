//! Authenticating service accounts: by API key (cached lookup, constant-time compare,
//! no database write) and by access tokens minted from a key (which die with the
//! secret that minted them). Every failure is the same 401.

use super::cache::CachedKey;
use super::keys::{self, Matched};
use super::repo::{self, KeyRef};
use crate::access;
use crate::access::{AuthMethod, Principal, PrincipalKind};
use crate::app::AppState;
use crate::credential::Presented;
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult};

fn principal(entry: &CachedKey, method: AuthMethod) -> Principal {
    Principal {
        id: entry.account.id,
        kind: PrincipalKind::ServiceAccount,
        name: entry.account.name.clone(),
        primary_namespace: Some(entry.namespace.clone()),
        grants: entry.grants.clone(),
        method,
    }
}

fn load(
    conn: &mut DbConnection,
    lookup: diesel::QueryResult<Option<repo::AuthRow>>,
) -> AppResult<Option<CachedKey>> {
    let Some((key, account, namespace)) = lookup? else {
        return Ok(None);
    };
    let grants = access::load_service_account_grants(conn, account.id)?;
    Ok(Some(CachedKey {
        key,
        account,
        namespace,
        grants,
    }))
}

/// The service account behind a presented API key.
pub async fn principal_for_key(
    state: &AppState,
    presented: &Presented<'_>,
) -> AppResult<Principal> {
    let now = now_ms();
    let presented_hash = presented.secret_hash(&state.keys.credential_pepper);
    let entry = match state.key_cache.get(&presented.id.to_owned()) {
        Some(entry) => entry,
        None => {
            let generation = state.key_cache.generation();
            let key_id = presented.id.to_owned();
            let entry = state
                .db
                .run(move |conn| {
                    let found = repo::find_key_for_auth(conn, KeyRef::Public(&key_id));
                    load(conn, found)
                })
                .await?
                .ok_or(AppError::Unauthenticated)?;
            state
                .key_cache
                .put(presented.id.to_owned(), entry.clone(), generation);
            entry
        }
    };
    let key = &entry.key;
    if !key.active || !entry.account.active || key.expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::Unauthenticated);
    }
    let matched = keys::match_secret(
        &presented_hash,
        &key.secret_hash,
        key.previous_secret_hash.as_deref(),
        key.retain_until,
        now,
    )
    .ok_or(AppError::Unauthenticated)?;
    let generation = match matched {
        Matched::Current => key.generation,
        Matched::Previous => key.generation - 1,
    };
    state.key_usage.touch(key.id, now);
    Ok(principal(
        &entry,
        AuthMethod::ApiKey {
            key: key.id,
            generation,
        },
    ))
}

/// The service account behind an access token minted from key row `key_row_id` at
/// secret generation `generation`, and until when that holds as time passes (the key's
/// expiry, the end of a rotation's grace window); `None` when the key, its secret or its
/// account is no longer valid.
pub fn principal_for_key_token(
    conn: &mut DbConnection,
    key_row_id: i64,
    generation: i64,
    token_id: &str,
    role_bindings: Option<&str>,
) -> AppResult<Option<(Principal, Option<i64>)>> {
    let now = now_ms();
    let found = repo::find_key_for_auth(conn, KeyRef::Row(key_row_id));
    let Some(entry) = load(conn, found)? else {
        return Ok(None);
    };
    let key = &entry.key;
    let valid = key.active
        && entry.account.active
        && key.expires_at.is_none_or(|e| e > now)
        && keys::token_alive(generation, key.generation, key.retain_until, now);
    if !valid {
        return Ok(None);
    }
    let mut principal = principal(&entry, AuthMethod::AccessToken(token_id.to_owned()));
    if let Some(json) = role_bindings {
        principal.grants = access::token_grants(json, principal.grants)?;
    }
    let grace = key.retain_until.filter(|_| generation != key.generation);
    let until = [key.expires_at, grace].into_iter().flatten().min();
    Ok(Some((principal, until)))
}

/// The service account `account_id` behind an access token that no key minted (one
/// issued by a token exchange), if the account is still active; the token's own expiry
/// is all that limits it besides.
pub fn principal_for_account_token(
    conn: &mut DbConnection,
    account_id: i64,
    token_id: &str,
    role_bindings: Option<&str>,
) -> AppResult<Option<Principal>> {
    let Some((account, namespace)) = repo::find_account_by_id(conn, account_id)? else {
        return Ok(None);
    };
    if !account.active {
        return Ok(None);
    }
    let mut grants = access::load_service_account_grants(conn, account.id)?;
    if let Some(json) = role_bindings {
        grants = access::token_grants(json, grants)?;
    }
    Ok(Some(Principal {
        id: account.id,
        kind: PrincipalKind::ServiceAccount,
        name: account.name,
        primary_namespace: Some(namespace),
        grants,
        method: AuthMethod::AccessToken(token_id.to_owned()),
    }))
}
