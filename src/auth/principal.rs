//! Who is calling: resolved from a bearer credential (`Authorization: Bearer …`, never
//! a query string) or from the session cookie, once per request.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::credential::{self, CredentialKind};
use super::models::{KIND_SERVICE_ACCOUNT, KIND_USER};
use super::repo;
use crate::access::{self, Grants};
use crate::app::AppState;
use crate::db::now_ms;
use crate::errors::AppError;

/// Session keys.
pub(crate) mod keys {
    /// Signed-in user's row id.
    pub const USER_ID: &str = "uid";
    /// Sign-in time (ms), for the absolute timeout.
    pub const AUTH_AT: &str = "auth_at";
    /// Last request time (ms, coarse), for the idle timeout.
    pub const SEEN_AT: &str = "seen_at";
    /// A started OpenID Connect sign-in ([`crate::auth::oidc::PendingSignIn`]).
    pub const OIDC_PENDING: &str = "oidc_pending";
}

/// Only refresh the idle clock when it is this stale, to avoid a write per request.
const SEEN_GRANULARITY_MS: i64 = 60_000;

/// What kind of principal is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A human.
    User,
    /// A non-human principal of one namespace (API keys only).
    ServiceAccount,
}

impl PrincipalKind {
    /// Wire name (`user`, `service_account`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ServiceAccount => "service_account",
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// Browser session cookie.
    Session,
    /// Bearer access token with this id.
    AccessToken(String),
    /// Bearer API key (row id), and the secret generation that matched.
    ApiKey {
        /// Key row id.
        key: i64,
        /// Generation of the secret presented (current, or previous in its grace window).
        generation: i64,
    },
}

/// An authenticated caller and its effective grants.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Row id of the user.
    pub id: i64,
    /// Kind.
    pub kind: PrincipalKind,
    /// Name.
    pub name: String,
    /// Primary namespace (users).
    pub primary_namespace: Option<String>,
    /// Union of every binding.
    pub grants: Grants,
    /// How it authenticated.
    pub method: AuthMethod,
}

/// A request's caller, if any (for pages that also render anonymously).
#[derive(Debug, Clone)]
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequest for Principal {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(&req).await?.ok_or(AppError::Unauthenticated) })
    }
}

impl FromRequest for MaybePrincipal {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(&req).await.map(MaybePrincipal) })
    }
}

/// Cached per request so several extractors resolve the caller once.
#[derive(Clone)]
struct Resolved(Option<Principal>);

async fn resolve(req: &HttpRequest) -> Result<Option<Principal>, AppError> {
    if let Some(Resolved(p)) = req.extensions().get::<Resolved>() {
        return Ok(p.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?
        .clone();
    let principal = match bearer_credential(req)? {
        Some(token) => Some(from_bearer_throttled(&state, req, token).await?),
        None => from_session(&state, &req.get_session()).await?,
    };
    req.extensions_mut().insert(Resolved(principal.clone()));
    Ok(principal)
}

/// The bearer credential, if an `Authorization` header is present. Any other scheme
/// or a malformed header is a 401, never a silent anonymous caller.
fn bearer_credential(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AppError::Unauthenticated)?;
    let (scheme, token) = value.split_once(' ').ok_or(AppError::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AppError::Unauthenticated);
    }
    Ok(Some(token.trim().to_owned()))
}

/// [`from_bearer`], plus throttling and auditing of failures: a client's failed bearer
/// attempts come from a refilling bucket (429 when empty; successes never count), and
/// a failure with a well-formed credential is audited with its public id.
async fn from_bearer_throttled(
    state: &AppState,
    req: &HttpRequest,
    token: String,
) -> Result<Principal, AppError> {
    let result = from_bearer(state, &token).await;
    if !matches!(result, Err(AppError::Unauthenticated)) {
        return result;
    }
    let client = crate::web::client_addr(req);
    if let Err(wait) = state.login_limiter.bearer_failure(&client) {
        return Err(AppError::RateLimited(wait));
    }
    if let Some(presented) = credential::parse(&token) {
        let (action, target) = match presented.kind {
            CredentialKind::ApiKey => ("api_key.authenticate", format!("key_id:{}", presented.id)),
            CredentialKind::AccessToken => {
                ("token.authenticate", format!("token:{}", presented.id))
            }
        };
        state
            .db
            .run(move |conn| {
                crate::audit::record(
                    conn,
                    &crate::audit::Event {
                        actor: "anonymous",
                        action,
                        target: &target,
                        outcome: crate::audit::Outcome::Failure,
                        client_addr: Some(&client),
                        detail: None,
                    },
                )
                .map_err(AppError::from)
            })
            .await?;
    }
    result
}

async fn from_bearer(state: &AppState, token: &str) -> Result<Principal, AppError> {
    // Malformed or mistyped credentials are refused here, without a database query.
    let presented = credential::parse(token).ok_or(AppError::Unauthenticated)?;
    if presented.kind == CredentialKind::ApiKey {
        return crate::service_accounts::principal_for_key(state, &presented).await;
    }
    let id = presented.id.to_owned();
    let secret_hash = presented.secret_hash(&state.keys.credential_pepper);
    let rules = state.config.grant_rules.clone();
    state
        .db
        .run(move |conn| {
            let now = now_ms();
            let row = repo::find_access_token(conn, &id)?.ok_or(AppError::Unauthenticated)?;
            let valid_secret: bool =
                subtle::ConstantTimeEq::ct_eq(row.secret_hash.as_bytes(), secret_hash.as_bytes())
                    .into();
            if !valid_secret || row.revoked_at.is_some() || row.expires_at <= now {
                return Err(AppError::Unauthenticated);
            }
            if row.principal_kind == KIND_SERVICE_ACCOUNT {
                let (Some(key), Some(generation)) = (row.api_key_id, row.key_generation) else {
                    return Err(AppError::Unauthenticated);
                };
                return crate::service_accounts::principal_for_key_token(
                    conn,
                    key,
                    generation,
                    &row.id,
                    row.role_bindings.as_deref(),
                )?
                .ok_or(AppError::Unauthenticated);
            }
            if row.principal_kind != KIND_USER {
                return Err(AppError::Unauthenticated);
            }
            let user = repo::find_user(conn, row.principal_id)?
                .filter(|u| u.active)
                .ok_or(AppError::Unauthenticated)?;
            let mut grants =
                access::load_user_grants(conn, user.id, &user.primary_namespace, &rules)?;
            if let Some(json) = &row.role_bindings {
                // A down-scoped token: only its bindings, within the issuer's grants.
                grants = access::token_grants(json, grants)?;
            }
            Ok(Principal {
                id: user.id,
                kind: PrincipalKind::User,
                name: user.name,
                primary_namespace: Some(user.primary_namespace),
                grants,
                method: AuthMethod::AccessToken(row.id),
            })
        })
        .await
}

async fn from_session(state: &AppState, session: &Session) -> Result<Option<Principal>, AppError> {
    let read = |key: &str| session.get::<i64>(key).ok().flatten();
    let Some(user_id) = read(keys::USER_ID) else {
        return Ok(None);
    };
    let now = now_ms();
    let auth_at = read(keys::AUTH_AT).unwrap_or(0);
    let seen_at = read(keys::SEEN_AT).unwrap_or(0);
    let limits = state.config.session;
    let expired = now.saturating_sub(auth_at) > limits.absolute.as_millis() as i64
        || now.saturating_sub(seen_at) > limits.idle.as_millis() as i64;
    if expired {
        session.purge();
        return Ok(None);
    }
    if now.saturating_sub(seen_at) > SEEN_GRANULARITY_MS {
        session
            .insert(keys::SEEN_AT, now)
            .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))?;
    }
    let rules = state.config.grant_rules.clone();
    let loaded = state
        .db
        .run(move |conn| -> Result<_, AppError> {
            let Some(user) = repo::find_user(conn, user_id)?.filter(|u| u.active) else {
                return Ok(None);
            };
            let grants = access::load_user_grants(conn, user.id, &user.primary_namespace, &rules)?;
            Ok(Some((user, grants)))
        })
        .await?;
    match loaded {
        None => {
            // Deleted or deactivated since sign-in.
            session.purge();
            Ok(None)
        }
        Some((user, grants)) => Ok(Some(Principal {
            id: user.id,
            kind: PrincipalKind::User,
            name: user.name,
            primary_namespace: Some(user.primary_namespace),
            grants,
            method: AuthMethod::Session,
        })),
    }
}
