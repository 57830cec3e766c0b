//! API-key operations: create, rotate, (de)activate, describe, delete — authorized on
//! the account's namespace (`api-key::manage`), audited, one transaction each.

use super::accounts::{Ctx, MAX_DESCRIPTION, readable_account};
use super::keys::{self, MAX_RETAIN_MINUTES};
use super::models::ApiKey;
use super::repo;
use crate::access::{self, Permission};
use crate::credential::{self, CredentialKind};
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;

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

/// A key with its plaintext, right after creation or rotation.
pub struct IssuedKey {
    /// The row after the change.
    pub key: ApiKey,
    /// The plaintext to show once.
    pub plaintext: String,
}

/// The account's keys (`service-account::read`).
pub fn list_keys(conn: &mut DbConnection, ctx: &Ctx<'_>, account: &str) -> AppResult<Vec<ApiKey>> {
    let (acc, _) = readable_account(conn, ctx.principal, account)?;
    Ok(repo::list_keys(conn, acc.id)?)
}

/// One key (`service-account::read`); 404 when missing.
pub fn get_key(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    account: &str,
    name: &str,
) -> AppResult<ApiKey> {
    let (acc, _) = readable_account(conn, ctx.principal, account)?;
    if validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    repo::find_key(conn, acc.id, name)?.ok_or(AppError::NotFound)
}

/// Creates a key; the plaintext exists only in the returned value.
pub fn create_key(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    pepper: &[u8; 32],
    account: &str,
    input: &NewKeyInput,
) -> AppResult<IssuedKey> {
    let (acc, namespace) = readable_account(conn, ctx.principal, account)?;
    access::require_namespace(ctx.principal, Permission::ApiKeyManage, &namespace)?;
    super::accounts::require_covers(conn, ctx.principal, acc.id)?;
    let now = now_ms();
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(&input.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    if input
        .description
        .as_deref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.contains('\0'))
    {
        fields.insert(
            "description".into(),
            format!("must be at most {MAX_DESCRIPTION} characters of text"),
        );
    }
    if input.expires_at.is_some_and(|e| e <= now) {
        fields.insert("expires_at".into(), "must be in the future".into());
    }
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the API key is not valid".into(),
            fields,
        });
    }
    let issued = credential::generate(CredentialKind::ApiKey, pepper);
    let display = keys::display_fragment(&issued.plaintext);
    let id = crate::db::write_transaction(conn, |conn| -> AppResult<i64> {
        if repo::find_key(conn, acc.id, &input.name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "{account:?} already has a key named {:?}",
                input.name
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
        ctx.audit(
            conn,
            "api_key.create",
            &format!("api_key:{account}/{}", input.name),
            Some(&format!("key id {}", issued.id)),
        )?;
        Ok(id)
    })?;
    Ok(IssuedKey {
        key: repo::get_key(conn, id)?,
        plaintext: issued.plaintext,
    })
}

/// Rotates a key: a new secret; the previous one works until
/// `min(now + retain, expiry)`. Concurrent rotations serialise on the row.
pub fn rotate_key(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    pepper: &[u8; 32],
    account: &str,
    name: &str,
    retain_minutes: i64,
) -> AppResult<IssuedKey> {
    let key = get_key(conn, ctx, account, name)?;
    let (_, namespace) = readable_account(conn, ctx.principal, account)?;
    access::require_namespace(ctx.principal, Permission::ApiKeyManage, &namespace)?;
    super::accounts::require_covers(conn, ctx.principal, key.service_account_id)?;
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
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::rotate_key(conn, key.id, &issued.secret_hash, &display, until, now)?;
        ctx.audit(
            conn,
            "api_key.rotate",
            &format!("api_key:{account}/{name}"),
            Some(&format!("retain {retain_minutes} min")),
        )
    })?;
    ctx.cache.clear();
    Ok(IssuedKey {
        key: repo::get_key(conn, key.id)?,
        plaintext: issued.plaintext,
    })
}

/// Changes a key's description and/or active flag.
pub fn update_key(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    account: &str,
    name: &str,
    description: Option<&str>,
    active: Option<bool>,
) -> AppResult<ApiKey> {
    let key = get_key(conn, ctx, account, name)?;
    let (_, namespace) = readable_account(conn, ctx.principal, account)?;
    access::require_namespace(ctx.principal, Permission::ApiKeyManage, &namespace)?;
    if active == Some(true) && !key.active {
        super::accounts::require_covers(conn, ctx.principal, key.service_account_id)?;
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.contains('\0')) {
        return Err(AppError::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters of text"),
        ));
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::update_key(conn, key.id, description, active)?;
        let target = format!("api_key:{account}/{name}");
        if description.is_some() {
            ctx.audit(conn, "api_key.update", &target, Some("description"))?;
        }
        match active {
            Some(true) if !key.active => ctx.audit(conn, "api_key.activate", &target, None)?,
            Some(false) if key.active => ctx.audit(conn, "api_key.deactivate", &target, None)?,
            _ => {}
        }
        Ok(())
    })?;
    ctx.cache.clear();
    Ok(repo::get_key(conn, key.id)?)
}

/// Deletes a key and the tokens minted from it.
pub fn delete_key(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    account: &str,
    name: &str,
) -> AppResult<()> {
    let key = get_key(conn, ctx, account, name)?;
    let (_, namespace) = readable_account(conn, ctx.principal, account)?;
    access::require_namespace(ctx.principal, Permission::ApiKeyManage, &namespace)?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        crate::auth::delete_key_tokens(conn, &[key.id])?;
        repo::delete_key(conn, key.id)?;
        ctx.audit(
            conn,
            "api_key.delete",
            &format!("api_key:{account}/{name}"),
            None,
        )
    })?;
    ctx.cache.clear();
    Ok(())
}
