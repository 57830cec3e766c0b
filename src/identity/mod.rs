//! Who is calling, resolved once per request in one place, above the areas: a bearer
//! credential (`Authorization: Bearer …`, never a query string) or the session cookie
//! becomes one [`Actor`] — principal with its grants, client address, request id —
//! that every handler, HTML and JSON alike, takes as an extractor.
//!
//! Resolution only calls *down*: the credential format (`crate::credential`), then the
//! area that owns the credential (service-account keys, access tokens and users in
//! `auth`), then the access kernel for grants. Session users' grants come from the same
//! epoch-guarded per-instance cache that API keys use, so a page view costs no query
//! for identity beyond reading the session.

mod exchange;
mod leaks;
mod login;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::access::cache::TtlCache;
use crate::access::{
    self, Actor, AuthMethod, KIND_SERVICE_ACCOUNT, KIND_USER, MaybeActor, Principal, PrincipalKind,
};
use crate::app::AppState;
use crate::auth::session_keys as keys;
use crate::credential::{self, CredentialKind};
use crate::db::{DbConnection, now_ms};
use crate::errors::AppError;
use crate::web::layout::SignedIn;
use crate::{audit, auth, service_accounts};

/// Routes: the credential exchange and whoami.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/login").post(login::api_login))
        .service(web::resource("/api/v1/whoami").get(login::whoami))
        .service(web::resource("/api/v1/token-exchange").post(exchange::token_exchange));
    leaks::configure(cfg);
}

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = <login::Doc as utoipa::OpenApi>::openapi();
    doc.merge(<exchange::Doc as utoipa::OpenApi>::openapi());
    doc.merge(<leaks::Doc as utoipa::OpenApi>::openapi());
    doc
}

/// Only refresh the idle clock when it is this stale, to avoid a write per request.
const SEEN_GRANULARITY_MS: i64 = 60_000;

/// Recent session users by row id: the principal as a session would see it.
pub type UserCache = TtlCache<i64, Principal>;

/// An extractor future: resolve the caller, then `finish` decides what the handler gets.
fn extract<T: 'static>(
    req: &HttpRequest,
    finish: fn(Option<Actor>) -> Result<T, AppError>,
) -> LocalBoxFuture<'static, Result<T, AppError>> {
    let req = req.clone();
    Box::pin(async move { finish(resolve(&req).await?) })
}

impl FromRequest for Actor {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |actor| actor.ok_or(AppError::Unauthenticated))
    }
}

impl FromRequest for crate::app::Cx {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let actor = resolve(&req).await?.ok_or(AppError::Unauthenticated)?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?
                .clone();
            let session = req.get_session();
            Ok(crate::app::Cx {
                state,
                actor,
                req,
                session,
            })
        })
    }
}

impl FromRequest for crate::app::Admin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let cx = crate::app::Cx::from_request(req, payload);
        Box::pin(async move {
            let cx = cx.await?;
            cx.actor.require_global_admin()?;
            Ok(crate::app::Admin(cx))
        })
    }
}

impl FromRequest for MaybeActor {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        extract(req, |actor| Ok(MaybeActor(actor)))
    }
}

/// The caller of `req` if a handler resolved one (without resolving it now).
pub fn resolved_actor(req: &HttpRequest) -> Option<Actor> {
    req.extensions()
        .get::<Resolved>()
        .and_then(|Resolved(actor)| actor.clone())
}

/// Middleware: audits a 403 of an identified caller (`request.forbidden`: what they
/// asked for and why it was refused). Anonymous refusals (a missing CSRF token, a
/// signed-out form) are not written: anyone could make those, and the log must not be
/// theirs to fill.
pub async fn audit_refusals(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if res.status() != actix_web::http::StatusCode::FORBIDDEN {
        return Ok(res);
    }
    let request = res.request();
    if let (Some(actor), Some(state)) = (
        resolved_actor(request),
        request.app_data::<web::Data<AppState>>(),
    ) {
        let why = res
            .response()
            .error()
            .map_or_else(|| "forbidden".to_owned(), ToString::to_string);
        let target = format!("{} {}", request.method(), request.path());
        let write = audit::batch::refused(&actor, target, why);
        if let Err(e) = state.audit_batch.record(write).await {
            tracing::warn!(error = %e, "could not audit a refusal");
        }
    }
    Ok(res)
}

/// Cached per request so several extractors resolve the caller once.
#[derive(Clone)]
struct Resolved(Option<Actor>);

async fn resolve(req: &HttpRequest) -> Result<Option<Actor>, AppError> {
    if let Some(Resolved(actor)) = req.extensions().get::<Resolved>() {
        return Ok(actor.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?
        .clone();
    let client = crate::web::client_addr(req);
    let principal = match bearer_credential(req)? {
        Some(token) => {
            let principal = from_bearer_throttled(&state, req, token).await?;
            check_network(&state, &client, &principal).await?;
            if let AuthMethod::ApiKey { key, .. } = principal.method {
                state.key_networks.touch(key, &client);
            }
            Some(principal)
        }
        None => from_session(&state, &req.get_session()).await?,
    };
    let actor = principal.map(|principal| Actor {
        principal,
        client,
        request_id: crate::web::request_id(req),
    });
    req.extensions_mut().insert(Resolved(actor.clone()));
    // A signed-in browser user, for the error pages the middleware renders with the
    // navigation (API callers need none of it).
    if let Some(actor) = actor
        .as_ref()
        .filter(|a| a.principal.method == AuthMethod::Session)
    {
        req.extensions_mut().insert(SignedIn::of(&actor.principal));
    }
    Ok(actor)
}

/// A service account's key or token used from a network its namespace's key policy
/// does not allow: 403, audited as a policy violation (the credential itself is good,
/// so it is not a failed sign-in).
async fn check_network(
    state: &AppState,
    client: &str,
    principal: &Principal,
) -> Result<(), AppError> {
    let (PrincipalKind::ServiceAccount, Some(namespace)) =
        (principal.kind, principal.primary_namespace.as_deref())
    else {
        return Ok(());
    };
    let policy = state.key_policies.get(&state.db, namespace).await?;
    if policy.admits(client) {
        return Ok(());
    }
    // A good credential from the wrong place counts as a failed one: someone holding
    // a leaked key cannot fill the audit log and the alert queue from many addresses.
    if let Err(wait) = state.login_limiter.bearer_failure(client) {
        return Err(crate::auth::audit_throttled(
            state,
            client.to_owned(),
            "policy.violation",
            wait,
        )
        .await);
    }
    let client = client.to_owned();
    let who = principal.actor_name();
    let detail = format!("{client} is outside the allowed networks of {namespace}");
    let ns = namespace.to_owned();
    let network = crate::alerts::networks_of(&client);
    let write: audit::batch::Write = Box::new(move |conn| {
        let event = audit::Event::new(&who, "policy.violation", &who, audit::Outcome::Failure);
        let event = event.from(Some(&client)).detail(Some(&detail));
        audit::record(conn, &event.within(Some(&ns)))
    });
    if let Err(e) = state.audit_batch.record(write).await {
        tracing::warn!(error = %e, "could not audit a policy violation");
    }
    let (ns, account) = (namespace.to_owned(), principal.name.clone());
    let day = crate::db::now_ms() / crate::key_policy::DAY_MS;
    let queued = state
        .db
        .run(move |conn| {
            let data = serde_json::json!({
                "service_account": account,
                "violation": "credential used from a network the key policy does not allow",
                "network": network,
            });
            // Once per account and day, wherever the requests come from.
            let dedupe = format!("policy.violation:network:{account}:{day}");
            Ok::<_, AppError>(crate::alerts::enqueue(
                conn,
                &ns,
                "policy.violation",
                &dedupe,
                data,
            )?)
        })
        .await;
    match queued {
        Ok(0) => {}
        Ok(_) => state.alerts.wake(),
        Err(e) => tracing::warn!(error = %e, "could not queue a policy-violation alert"),
    }
    Err(AppError::Forbidden(format!(
        "the key policy of {namespace} allows its service accounts' credentials only from its allowed networks"
    )))
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
        return Err(crate::auth::audit_throttled(state, client, "bearer.authenticate", wait).await);
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
                audit::anonymous_failure(conn, action, &target, &client, None)
                    .map_err(AppError::from)
            })
            .await?;
    }
    result
}

/// The principal behind a bearer credential: an API key (cached lookup in
/// `service_accounts`) or an access token (stored in `auth`).
async fn from_bearer(state: &AppState, token: &str) -> Result<Principal, AppError> {
    // Malformed or mistyped credentials are refused here, without a database query.
    let presented = credential::parse(token).ok_or(AppError::Unauthenticated)?;
    if presented.kind == CredentialKind::ApiKey {
        return service_accounts::principal_for_key(state, &presented).await;
    }
    let id = presented.id.to_owned();
    let secret_hash = presented.secret_hash(&state.keys.credential_pepper);
    // A recent lookup of this token answers without the database; every check that
    // time can change (its expiry, its key's) is made again on each request.
    if let Some(hit) = state.token_cache.get(&id) {
        return hit.verify(&secret_hash, now_ms());
    }
    let generation = state.token_cache.generation();
    let rules = state.config.grant_rules.clone();
    let key = id.clone();
    let hash = secret_hash.clone();
    let found = state
        .db
        .run(move |conn| lookup_token(conn, &id, &hash, &rules))
        .await?;
    state.token_cache.put(key, found.clone(), generation);
    found.verify(&secret_hash, now_ms())
}

/// What a token lookup found, as the token cache keeps it: the secret's hash (never
/// the secret), until when the token holds, and its principal.
#[derive(Debug, Clone)]
pub struct CachedToken {
    secret_hash: String,
    valid_until: i64,
    principal: Principal,
}

impl CachedToken {
    /// The principal, if `secret_hash` is the token's and it still holds at `now`.
    fn verify(&self, secret_hash: &str, now: i64) -> Result<Principal, AppError> {
        let valid_secret: bool =
            subtle::ConstantTimeEq::ct_eq(self.secret_hash.as_bytes(), secret_hash.as_bytes())
                .into();
        if !valid_secret || self.valid_until <= now {
            return Err(AppError::Unauthenticated);
        }
        Ok(self.principal.clone())
    }
}

/// Recent access-token lookups by public token id; the same staleness rules as keys
/// (this instance's changes clear it at once, through the identity epoch).
pub type TokenCache = TtlCache<String, CachedToken>;

/// Token `id` and its principal, if it is not revoked and `secret_hash` is its
/// secret's (nothing is built, or cached, for a wrong secret).
fn lookup_token(
    conn: &mut DbConnection,
    id: &str,
    secret_hash: &str,
    rules: &access::GrantRules,
) -> Result<CachedToken, AppError> {
    let row = auth::find_access_token(conn, id)?.ok_or(AppError::Unauthenticated)?;
    let valid_secret: bool =
        subtle::ConstantTimeEq::ct_eq(row.secret_hash.as_bytes(), secret_hash.as_bytes()).into();
    if !valid_secret || row.revoked_at.is_some() || row.expires_at <= now_ms() {
        return Err(AppError::Unauthenticated);
    }
    let (principal, until) = if row.principal_kind == KIND_SERVICE_ACCOUNT {
        let bindings = row.role_bindings.as_deref();
        match (row.api_key_id, row.key_generation) {
            (Some(key), Some(generation)) => {
                service_accounts::principal_for_key_token(conn, key, generation, &row.id, bindings)?
                    .ok_or(AppError::Unauthenticated)?
            }
            // Issued by a token exchange: no key behind it, only the account.
            _ => {
                let id = row.principal_id;
                let p = service_accounts::principal_for_account_token(conn, id, &row.id, bindings)?
                    .ok_or(AppError::Unauthenticated)?;
                (p, None)
            }
        }
    } else if row.principal_kind == KIND_USER {
        let mut principal =
            load_user(conn, row.principal_id, rules)?.ok_or(AppError::Unauthenticated)?;
        if let Some(json) = &row.role_bindings {
            // A down-scoped token: only its bindings, within the issuer's grants.
            principal.grants = access::token_grants(json, principal.grants)?;
        }
        principal.method = AuthMethod::AccessToken(row.id.clone());
        (principal, None)
    } else {
        return Err(AppError::Unauthenticated);
    };
    Ok(CachedToken {
        secret_hash: row.secret_hash,
        valid_until: until.map_or(row.expires_at, |u| u.min(row.expires_at)),
        principal,
    })
}

/// User `id` as a session principal, if active.
fn load_user(
    conn: &mut DbConnection,
    id: i64,
    rules: &access::GrantRules,
) -> Result<Option<Principal>, AppError> {
    let Some(user) = auth::find_active_user(conn, id)? else {
        return Ok(None);
    };
    let grants = auth::user_grants(conn, &user, rules)?;
    Ok(Some(Principal {
        id: user.id,
        kind: PrincipalKind::User,
        name: user.name,
        primary_namespace: Some(user.primary_namespace),
        grants,
        method: AuthMethod::Session,
    }))
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
    if let Some(principal) = state.user_cache.get(&user_id) {
        return Ok(Some(principal));
    }
    let generation = state.user_cache.generation();
    let rules = state.config.grant_rules.clone();
    let loaded = state
        .db
        .run(move |conn| load_user(conn, user_id, &rules))
        .await?;
    match loaded {
        None => {
            // Deleted or deactivated since sign-in.
            session.purge();
            Ok(None)
        }
        Some(principal) => {
            state.user_cache.put(user_id, principal.clone(), generation);
            Ok(Some(principal))
        }
    }
}
