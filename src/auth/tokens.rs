//! Access tokens minted by a principal for itself, optionally down-scoped to a subset of
//! its bindings (never more than it holds), listable and revocable. Stored like every
//! credential here: public id + HMAC of the secret.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::models::AccessTokenRow;
use super::repo;
use crate::access::{self, Actor, AuthMethod, Principal, PrincipalKind};
use crate::app::{AppState, Cx};
use crate::audit;
use crate::credential::{self, CredentialKind};
use crate::db::{now_ms, rfc3339};
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::api::{Json, Page};

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(mint_token, list_tokens, revoke_token))]
pub(super) struct Doc;

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/tokens")
            .get(list_tokens)
            .post(mint_token),
    )
    .service(web::resource("/api/v1/tokens/{id}").delete(revoke_token));
}

fn kind_of(p: &Principal) -> &'static str {
    p.kind.as_str()
}

/// Body of token minting.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintBody {
    /// Down-scope: pattern → roles, a subset of what the caller holds (default: all
    /// of it).
    #[schema(value_type = Option<access::RoleBindings>)]
    role_bindings: Option<BTreeMap<String, Vec<String>>>,
    /// Lifetime in seconds (default: the server's access-token lifetime; at most the
    /// configured maximum, and never past the minting token's own expiry).
    #[schema(minimum = 1)]
    expires_in_seconds: Option<i64>,
}

/// Answer of `POST /api/v1/tokens`: the token, shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MintedJson {
    /// Public id (for listing and revoking).
    pub id: String,
    /// The secret token (`pct_…`): send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working (RFC 3339).
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// A token as listed (never its secret).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenJson {
    /// Public id.
    pub id: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// RFC 3339, or `null` while it is valid.
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    /// The down-scoped bindings (pattern → roles), or `null` for all the owner holds.
    #[schema(value_type = Option<access::RoleBindings>)]
    pub role_bindings: Option<BTreeMap<String, Vec<String>>>,
}

/// A minted token: its stored row and the plaintext (shown once).
pub struct Minted {
    /// The row.
    pub row: AccessTokenRow,
    /// The token.
    pub plaintext: String,
}

/// Mints a token for the caller: optionally down-scoped to `bindings` (each must be
/// within what the principal holds), living `expires_in` seconds (≤ the configured
/// maximum, and never beyond the token the caller used).
pub fn mint(
    conn: &mut crate::db::DbConnection,
    state: &AppState,
    actor: &Actor,
    bindings: Option<Vec<(access::Pattern, access::Role)>>,
    expires_in: i64,
) -> AppResult<Minted> {
    let principal = &actor.principal;
    let max = state.config.token_max_ttl.as_secs() as i64;
    if !(1..=max).contains(&expires_in) {
        return Err(AppError::invalid(
            "expires_in_seconds",
            format!("must be between 1 and {max}"),
        ));
    }
    // A service account's tokens live no longer than its namespace's key policy says.
    let mut expires_in = expires_in;
    if let (PrincipalKind::ServiceAccount, Some(ns)) =
        (principal.kind, principal.primary_namespace.as_deref())
    {
        let policy = crate::key_policy::effective(conn, &state.config.key_policy, ns)?;
        expires_in = policy
            .max_token_seconds()
            .map_or(expires_in, |m| expires_in.min(m));
    }
    let bindings = match bindings {
        None => None,
        Some(parsed) => {
            access::require_can_grant(&principal.grants, &parsed, "a token")?;
            let mut normal: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (p, r) in parsed {
                normal
                    .entry(p.to_string())
                    .or_default()
                    .push(r.as_str().to_owned());
            }
            Some(serde_json::to_string(&normal).map_err(AppError::internal)?)
        }
    };
    let issued = credential::generate(CredentialKind::AccessToken, &state.keys.credential_pepper);
    let now = now_ms();
    let mut expires_at = now + expires_in * 1000;
    // A service account's token dies with the key secret behind the caller.
    let mut key_link = match principal.method {
        AuthMethod::ApiKey { key, generation } => Some((key, generation)),
        _ => None,
    };
    let mut bindings = bindings;
    let mut parent_id = None;
    if let AuthMethod::AccessToken(parent) = &principal.method
        && let Some(parent) = repo::find_access_token(conn, parent)?
    {
        // Never outlive, never outscope the token that minted it, and die with it.
        expires_at = expires_at.min(parent.expires_at);
        if let (Some(k), Some(g)) = (parent.api_key_id, parent.key_generation) {
            key_link = Some((k, g));
        }
        if bindings.is_none() {
            bindings = parent.role_bindings.clone();
        }
        parent_id = Some(parent.id);
    }
    if principal.kind == PrincipalKind::ServiceAccount && key_link.is_none() {
        return Err(AppError::Forbidden(
            "service accounts mint tokens with an API key".into(),
        ));
    }
    let mut row = AccessTokenRow::issued(
        &issued,
        (kind_of(principal), principal.id),
        now,
        expires_at,
        key_link,
    );
    row.role_bindings = bindings;
    row.parent_id = parent_id;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::insert_access_token(conn, &row)?;
        audit::success(
            conn,
            actor,
            "token.mint",
            &format!("token:{}", row.id),
            row.role_bindings.as_deref(),
        )
    })?;
    Ok(Minted {
        row,
        plaintext: issued.plaintext,
    })
}

/// Mint an access token.
///
/// For the caller itself, optionally down-scoped and shorter-lived; never more than the
/// caller holds.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "credentials",
    request_body = MintBody,
    responses((status = 201, description = "The new token, shown this once.", body = MintedJson)))]
async fn mint_token(cx: Cx, body: Json<MintBody>) -> Reply {
    let b = body.into_inner();
    let expires_in = b
        .expires_in_seconds
        .unwrap_or(cx.state.config.access_token_ttl.as_secs() as i64);
    let bindings = b
        .role_bindings
        .as_ref()
        .map(access::parse_binding_map)
        .transpose()?;
    let st = cx.state.clone();
    let minted = cx
        .state
        .db
        .run(move |conn| mint(conn, &st, &cx.actor, bindings, expires_in))
        .await?;
    Ok(HttpResponse::Created().json(MintedJson {
        id: minted.row.id,
        token: minted.plaintext,
        expires_at: rfc3339(minted.row.expires_at),
    }))
}

/// The principal's tokens, newest first.
pub fn list_for(
    conn: &mut crate::db::DbConnection,
    principal: &Principal,
) -> AppResult<Vec<AccessTokenRow>> {
    Ok(repo::list_tokens(
        conn,
        kind_of(principal),
        principal.id,
        500,
    )?)
}

fn token_json(t: &AccessTokenRow) -> TokenJson {
    TokenJson {
        id: t.id.clone(),
        created_at: rfc3339(t.created_at),
        expires_at: rfc3339(t.expires_at),
        revoked_at: t.revoked_at.map(rfc3339),
        role_bindings: t
            .role_bindings
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok()),
    }
}

/// List the caller's access tokens.
///
/// Never their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "credentials",
    responses((status = 200, description = "The caller's own tokens, newest first (up to 500).", body = Page<TokenJson>)))]
async fn list_tokens(cx: Cx) -> Reply {
    let tokens = cx
        .state
        .db
        .run(move |conn| list_for(conn, &cx.actor.principal))
        .await?;
    Ok(HttpResponse::Ok().json(Page::all(tokens.iter().map(token_json).collect())))
}

/// Revokes one of the caller's tokens (global admins: anyone's). Others' are 404.
pub fn revoke(conn: &mut crate::db::DbConnection, actor: &Actor, id: &str) -> AppResult<()> {
    let principal = &actor.principal;
    let token = repo::find_access_token(conn, id)?.ok_or(AppError::NotFound)?;
    let own = token.principal_kind == kind_of(principal) && token.principal_id == principal.id;
    if !own && !principal.grants.is_global_admin() {
        return Err(AppError::NotFound);
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        let now = now_ms();
        if !repo::revoke_token(conn, id, now)? {
            return Err(AppError::NotFound);
        }
        // Tokens minted with this one (and with those, …) are revoked with it.
        let mut frontier = vec![id.to_owned()];
        while let Some(parent) = frontier.pop() {
            for child in repo::child_tokens(conn, &parent)? {
                repo::revoke_token(conn, &child, now)?;
                frontier.push(child);
            }
        }
        audit::success(conn, actor, "token.revoke", &format!("token:{id}"), None)
    })
}

/// [`revoke`] on the blocking pool, for the API and the "My access" page.
pub async fn revoke_async(state: &AppState, actor: Actor, id: String) -> AppResult<()> {
    state.db.run(move |conn| revoke(conn, &actor, &id)).await?;
    // This instance forgets the token (and those minted with it) at once.
    state.key_cache.clear();
    Ok(())
}

/// Revoke an access token.
///
/// The caller's own, or any for a global admin; tokens minted with it end too.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "credentials",
    params(("id" = String, Path, description = "The token's public id.")),
    responses((status = 204, description = "Revoked, with every token minted with it.")))]
async fn revoke_token(cx: Cx, id: web::Path<String>) -> Reply {
    revoke_async(&cx.state, cx.actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
