//! API-key operations: create, rotate, (de)activate, describe, delete — authorized on
//! the account's namespace (`api-key::manage`), audited, one transaction each.

use super::accounts::{
    Edit, authorized_account, check_description, readable_account, require_covers, valid,
};
use super::cache::KeyCache;
use super::keys::{self, MAX_RETAIN_MINUTES};
use super::models::ApiKey;
use super::repo::{self, KeyChanges};
use crate::access::{Actor, Grants, Permission};
use crate::audit;
use crate::credential::{self, CredentialKind};
use crate::db::{DbConnection, now_ms, write_transaction};
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::key_policy::KeyPolicy;
use crate::names::{Address, validate_name};

/// Input of key creation.
#[derive(Debug, Clone, Default)]
pub struct NewKeyInput {
    /// Name, unique per account.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Expiry (ms), in the future.
    pub expires_at: Option<i64>,
}

/// Key `{key}` of the account at `{ns}`/`{name}` (path parameters).
#[derive(Debug, Clone)]
pub struct KeyAt {
    /// The account.
    pub account: Address,
    /// The key's name.
    pub key: String,
}

impl actix_web::FromRequest for KeyAt {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        /// The `{key}` parameter.
        #[derive(serde::Deserialize)]
        struct Key {
            key: String,
        }
        let params = req.match_info();
        std::future::ready(
            Address::of(params)
                .zip(params.load::<Key>().ok())
                .map(|(account, k)| Self {
                    account,
                    key: k.key,
                })
                .ok_or(AppError::NotFound),
        )
    }
}

/// A key with its plaintext, right after creation or rotation.
pub struct IssuedKey {
    /// The row after the change.
    pub key: ApiKey,
    /// The plaintext to show once.
    pub plaintext: String,
    /// Its account, `namespace/name`.
    pub account: Address,
}

/// The account's keys (`service-account::read`).
pub fn list_keys(
    conn: &mut DbConnection,
    grants: &Grants,
    account: &Address,
) -> AppResult<Vec<ApiKey>> {
    let (acc, _) = readable_account(conn, grants, account)?;
    Ok(repo::list_keys(conn, acc.id)?)
}

/// One key (`service-account::read`) and its account's namespace; 404 when missing.
fn find(
    conn: &mut DbConnection,
    grants: &Grants,
    account: &Address,
    name: &str,
) -> AppResult<(ApiKey, String)> {
    let (acc, namespace) = readable_account(conn, grants, account)?;
    if validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    let key = repo::find_key(conn, acc.id, name)?.ok_or(AppError::NotFound)?;
    Ok((key, namespace))
}

/// One key (`service-account::read`); 404 when missing.
pub fn get_key(
    conn: &mut DbConnection,
    grants: &Grants,
    account: &Address,
    name: &str,
) -> AppResult<ApiKey> {
    Ok(find(conn, grants, account, name)?.0)
}

/// One key the caller may manage, and its account's namespace: 404 when missing or
/// unreadable, 403 without `api-key::manage` on the account's namespace.
pub fn managed_key(
    conn: &mut DbConnection,
    actor: &Actor,
    account: &Address,
    name: &str,
) -> AppResult<(ApiKey, String)> {
    let (key, namespace) = find(conn, actor.grants(), account, name)?;
    actor.require_namespace(Permission::ApiKeyManage, &namespace)?;
    Ok((key, namespace))
}

/// Creates a key; the plaintext exists only in the returned value.
pub fn create_key(
    conn: &mut DbConnection,
    actor: &Actor,
    (pepper, server): (&[u8; 32], &KeyPolicy),
    account: &Address,
    input: &NewKeyInput,
) -> AppResult<IssuedKey> {
    let (acc, namespace) = authorized_account(conn, actor, Permission::ApiKeyManage, account)?;
    require_covers(conn, actor.grants(), acc.id)?;
    let now = now_ms();
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(&input.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    check_description(&mut fields, input.description.as_deref());
    if input.expires_at.is_some_and(|e| e <= now) {
        fields.insert("expires_at".into(), "must be in the future".into());
    } else {
        let key = (acc.id, input.expires_at, now);
        super::policy::check_key(conn, server, &namespace, key, &mut fields)?;
    }
    valid("the API key is not valid", fields)?;
    let issued = credential::generate(CredentialKind::ApiKey, pepper);
    let display = keys::display_fragment(&issued.plaintext);
    let id = write_transaction(conn, |conn| -> AppResult<i64> {
        if repo::find_key(conn, acc.id, &input.name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "{:?} already has a key named {:?}",
                acc.name, input.name
            )));
        }
        let id = repo::insert_key(
            conn,
            &repo::NewKey {
                account_id: acc.id,
                name: &input.name,
                description: input.description.as_deref().unwrap_or(""),
                key_id: &issued.id,
                secret_hash: &issued.secret_hash,
                display: &display,
                expires_at: input.expires_at,
            },
            now,
        )?;
        audit::success_in(
            conn,
            actor,
            Some(&namespace),
            "api_key.create",
            &format!("api_key:{namespace}/{}/{}", acc.name, input.name),
            Some(&format!("key id {}", issued.id)),
        )?;
        Ok(id)
    })?;
    Ok(IssuedKey {
        key: repo::get_key(conn, id)?,
        plaintext: issued.plaintext,
        account: Address::qualified(&namespace, &acc.name),
    })
}

/// Rotates a key: a new secret; the previous one works until
/// `min(now + retain, expiry)`. Concurrent rotations serialise on the row.
pub fn rotate_key(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    pepper: &[u8; 32],
    account: &Address,
    name: &str,
    retain_minutes: i64,
) -> AppResult<IssuedKey> {
    let (key, namespace) = managed_key(conn, actor, account, name)?;
    require_covers(conn, actor.grants(), key.service_account_id)?;
    if !(0..=MAX_RETAIN_MINUTES).contains(&retain_minutes) {
        return Err(AppError::invalid(
            "retain_period_minutes",
            format!("must be between 0 and {MAX_RETAIN_MINUTES}"),
        ));
    }
    let now = now_ms();
    if key.expires_at.is_some_and(|e| e <= now) {
        return Err(AppError::Conflict(
            "the key has expired; create a new one".into(),
        ));
    }
    let issued = credential::regenerate(CredentialKind::ApiKey, &key.key_id, pepper);
    let display = keys::display_fragment(&issued.plaintext);
    let until = keys::retain_until(now, retain_minutes, key.expires_at);
    write_transaction(conn, |conn| -> AppResult<()> {
        repo::rotate_key(conn, key.id, &issued.secret_hash, &display, until, now)?;
        audit::success_in(
            conn,
            actor,
            Some(&namespace),
            "api_key.rotate",
            &format!("api_key:{namespace}/{}/{name}", account.name),
            Some(&format!("retain {retain_minutes} min")),
        )
    })?;
    cache.clear();
    Ok(IssuedKey {
        key: repo::get_key(conn, key.id)?,
        plaintext: issued.plaintext,
        account: Address::qualified(&namespace, &account.name),
    })
}

/// Changes a key's description and/or active flag.
pub fn update_key(
    conn: &mut DbConnection,
    actor: &Actor,
    (cache, server): (&KeyCache, &KeyPolicy),
    account: &Address,
    name: &str,
    edit: &Edit,
) -> AppResult<ApiKey> {
    let (key, namespace) = managed_key(conn, actor, account, name)?;
    let mut fields = edit.check(conn, actor, key.active, key.service_account_id)?;
    if edit.active == Some(true) && !key.active {
        // Activating counts as creating, as far as the policy goes; the key's expiry
        // is its own, from the day it was made.
        let bound = (key.service_account_id, None, now_ms());
        let mut policy_fields = FieldErrors::new();
        super::policy::check_key(conn, server, &namespace, bound, &mut policy_fields)?;
        fields.extend(policy_fields.into_iter().filter(|(f, _)| f == "active"));
    }
    if let Some((field, message)) = fields.into_iter().next() {
        return Err(AppError::invalid(&field, message));
    }
    write_transaction(conn, |conn| -> AppResult<()> {
        let changes = KeyChanges {
            description: edit.description.as_deref(),
            active: edit.active,
        };
        repo::update_key(conn, key.id, &changes)?;
        // Tokens minted from a deactivated key end with it, for good.
        if edit.active == Some(false) {
            crate::auth::delete_key_tokens(conn, &[key.id])?;
        }
        let target = format!("api_key:{namespace}/{}/{name}", account.name);
        edit.audit(conn, actor, ("api_key", &target, &namespace), key.active)
    })?;
    cache.clear();
    Ok(repo::get_key(conn, key.id)?)
}

/// Deletes a key and the tokens minted from it.
pub fn delete_key(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    account: &Address,
    name: &str,
) -> AppResult<()> {
    let (key, namespace) = managed_key(conn, actor, account, name)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        crate::auth::delete_key_tokens(conn, &[key.id])?;
        repo::delete_key(conn, key.id)?;
        let target = format!("api_key:{namespace}/{}/{name}", account.name);
        audit::success_in(
            conn,
            actor,
            Some(&namespace),
            "api_key.delete",
            &target,
            None,
        )
    })?;
    cache.clear();
    Ok(())
}
