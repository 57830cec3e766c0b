//! Application assembly: shared state, middleware stack and routes. Production and
//! tests build the app through [`build_app`], so tests exercise the real routing.

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpRequest, web};

use crate::auth::ratelimit::LoginLimiter;
use crate::auth::session_store::DbSessionStore;
use crate::config::Config;
use crate::crypto::Sealer;
use crate::db::Db;
use crate::errors::AppError;
use crate::ops::Metrics;
use crate::secrets::ServerSecret;
use crate::service_accounts::cache::KeyCache;
use crate::service_accounts::usage::UsageTracker;
use crate::web::{assets, csrf, errors, headers};
use crate::{audit, auth, connectors, dashboard, environments, ops, service_accounts, users};

/// Keys derived from the server secret.
pub struct Keys {
    /// HMAC key for credential secrets at rest.
    pub credential_pepper: [u8; 32],
    /// Session cookie key (signing + encryption).
    pub cookie: Key,
}

/// State shared by every request.
pub struct AppState {
    /// Validated configuration.
    pub config: Config,
    /// Database pool.
    pub db: Db,
    /// Derived keys.
    pub keys: Keys,
    /// Sign-in throttling.
    pub login_limiter: LoginLimiter,
    /// Request metrics.
    pub metrics: Metrics,
    /// `scheme://host[:port]` of the public URL, compared with `Origin`.
    pub public_origin: String,
    /// Session cookie name (`__Host-` prefixed over https).
    pub session_cookie_name: String,
    /// Encrypts one-time key reveals.
    pub reveal_sealer: Sealer,
    /// Invalidates every identity cache of this instance at once.
    pub identity_epoch: std::sync::Arc<crate::access::cache::Epoch>,
    /// Recent API-key lookups.
    pub key_cache: KeyCache,
    /// Recent session users and their grants.
    pub user_cache: crate::identity::UserCache,
    /// Recent access-token lookups.
    pub token_cache: crate::identity::TokenCache,
    /// Coalesced `last_used_at` writes.
    pub key_usage: UsageTracker,
    /// Cached exact totals of environment lists.
    pub env_totals: crate::environments::totals::TotalsCache,
    /// The OpenID provider, when configured.
    pub oidc: Option<std::sync::Arc<crate::auth::oidc::Oidc>>,
    /// The connector catalog.
    pub catalog: crate::connectors::catalog::Catalog,
    /// Seals connector secrets.
    pub connector_sealer: Sealer,
    /// Outbound calls of connectors to their providers (policy and time limits).
    pub outbound: crate::outbound::Outbound,
    /// Credentials issued by connectors, until shortly before they expire.
    pub credential_cache: crate::connectors::CredentialCache,
    /// Group commit of standalone audit events (brokered credentials).
    pub audit_batch: crate::audit::batch::Batcher,
    /// Signing keys of the issuers that service accounts trust (token exchange).
    pub jwks: crate::federation::JwksCache,
    /// Effective key policies by namespace (the per-request network check).
    pub key_policies: crate::key_policy::PolicyCache,
    /// Webhooks: sealing, outbound policy, the delivery worker's wake-up.
    pub alerts: crate::alerts::Shared,
    /// Networks keys were used from, for `api_key.new_network`.
    pub key_networks: crate::alerts::NetworkTracker,
    /// GitHub's secret-scanning public keys (leak reports).
    pub leak_keys: crate::leaks::LeakKeys,
}

impl AppState {
    /// Builds the state from configuration, a pool and the server secret.
    pub fn new(config: Config, db: Db, secret: &ServerSecret) -> anyhow::Result<Self> {
        let mut cookie_key = [0u8; 64];
        cookie_key[..32].copy_from_slice(&secret.derive("session-cookie-signing"));
        cookie_key[32..].copy_from_slice(&secret.derive("session-cookie-encryption"));
        let session_cookie_name = if config.secure_cookies() {
            "__Host-portcullis".to_owned()
        } else {
            "portcullis".to_owned()
        };
        let oidc = match &config.oidc {
            Some(c) => Some(std::sync::Arc::new(crate::auth::oidc::Oidc::new(
                c.clone(),
                &config.public_url,
            )?)),
            None => None,
        };
        let identity_epoch = std::sync::Arc::new(crate::access::cache::Epoch::default());
        let catalog = crate::connectors::catalog::Catalog::load(config.connector_implicit_auth)
            .map_err(anyhow::Error::msg)?;
        Ok(Self {
            oidc,
            catalog,
            connector_sealer: Sealer::new(&secret.derive(crate::connectors::SECRETS_KEY_LABEL)),
            outbound: crate::outbound::Outbound::new(config.outbound.clone())?,
            credential_cache: crate::connectors::CredentialCache::default(),
            audit_batch: crate::audit::batch::Batcher::start(db.clone())?,
            jwks: crate::federation::JwksCache::default(),
            alerts: std::sync::Arc::new(crate::alerts::Alerts::new(
                Sealer::new(&secret.derive(crate::alerts::SECRETS_KEY_LABEL)),
                crate::outbound::Policy {
                    allow_private: config.webhooks.allow_private,
                    timeout: std::time::Duration::from_secs(10),
                    extra_ca_pem: config.outbound.extra_ca_pem.clone(),
                },
                config.webhooks.retry_base,
            )?),
            key_networks: crate::alerts::NetworkTracker::default(),
            leak_keys: crate::leaks::LeakKeys::default(),
            key_policies: crate::key_policy::PolicyCache::new(
                config.key_policy.clone(),
                config.key_cache_ttl,
                identity_epoch.clone(),
            ),
            keys: Keys {
                credential_pepper: secret.derive("credential-pepper"),
                cookie: Key::from(&cookie_key),
            },
            login_limiter: LoginLimiter::new(config.login_limits, secret.derive("device-cookie")),
            metrics: Metrics::default(),
            reveal_sealer: Sealer::new(&secret.derive("key-reveal-encryption")),
            key_cache: KeyCache::new(config.key_cache_ttl, identity_epoch.clone()),
            user_cache: crate::identity::UserCache::new(
                config.key_cache_ttl,
                identity_epoch.clone(),
            ),
            token_cache: crate::identity::TokenCache::new(
                config.key_cache_ttl,
                identity_epoch.clone(),
            ),
            identity_epoch,
            key_usage: UsageTracker::default(),
            env_totals: Default::default(),
            public_origin: config.public_origin(),
            session_cookie_name,
            config,
            db,
        })
    }
}

/// What a handler works with, as one extractor: the shared state, the caller (one
/// [`Actor`](crate::access::Actor), resolved by `crate::identity`), the request and its
/// session. Handlers take `cx: Cx` plus their path, query or body.
pub struct Cx {
    /// Shared state.
    pub state: web::Data<AppState>,
    /// The caller.
    pub actor: crate::access::Actor,
    /// The request (for rendering and headers).
    pub req: HttpRequest,
    /// The session (layout, CSRF token, one-time reveals).
    pub session: actix_session::Session,
}

/// A [`Cx`] whose caller holds global administration (`*/*: admin`). As an extractor
/// it refuses everyone else with 403: the one guard of admin-only routes. Handlers
/// take it as `Admin(cx): Admin`.
pub struct Admin(pub Cx);

impl Cx {
    /// Runs `f` on a database thread with a pooled connection, as the caller, with the
    /// shared state: how handlers call an area's operations.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(
                &mut crate::db::DbConnection,
                &crate::access::Actor,
                &AppState,
            ) -> Result<T, AppError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let (actor, state) = (self.actor.clone(), self.state.clone());
        self.state.db.run(move |conn| f(conn, &actor, &state)).await
    }

    /// Like [`Cx::run`], for a short read: on SQLite it may run in place on a
    /// read-only connection (`Db::read`), where any write fails.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(
                &mut crate::db::DbConnection,
                &crate::access::Actor,
                &AppState,
            ) -> Result<T, AppError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let (actor, state) = (self.actor.clone(), self.state.clone());
        self.state
            .db
            .read(move |conn| f(conn, &actor, &state))
            .await
    }

    /// The layout of a signed-in page in `section`.
    pub fn layout(
        &self,
        section: crate::web::layout::Section,
    ) -> Result<crate::web::layout::Layout, AppError> {
        let mut layout =
            crate::web::layout::Layout::new(&self.actor.principal, &self.session, section)?;
        // An htmx fragment shows only part of the page: its message goes in a header.
        if crate::web::htmx::is_htmx(&self.req)
            && let Some(message) = layout.flash.take()
        {
            actix_web::HttpMessage::extensions_mut(&self.req)
                .insert(crate::web::flash::Toast(message));
        }
        Ok(layout)
    }

    /// `page` as the response (a page, or a fragment for htmx).
    pub fn render(&self, page: impl actix_web::Responder) -> actix_web::HttpResponse {
        page.respond_to(&self.req).map_into_boxed_body()
    }

    /// A 303 to `location`, where `message` shows once (a success toast).
    pub fn done(&self, location: &str, message: impl Into<String>) -> crate::web::Reply {
        crate::web::flash::set(&self.session, message)?;
        Ok(crate::web::see_other(location))
    }

    /// `rows` alone when htmx asks for them (live filters, "load more"), else the
    /// page that `page` builds around them (built only then).
    pub async fn rows_or_page<R, P>(
        &self,
        rows: R,
        page: impl AsyncFnOnce(R) -> Result<P, AppError>,
    ) -> crate::web::Reply
    where
        R: actix_web::Responder,
        P: actix_web::Responder,
    {
        if crate::web::htmx::is_htmx(&self.req) {
            return Ok(self.render(rows));
        }
        Ok(self.render(page(rows).await?))
    }

    /// `page` answered with `status` (a form shown again with its messages …).
    pub fn render_with(
        &self,
        page: impl actix_web::Responder,
        status: actix_web::http::StatusCode,
    ) -> actix_web::HttpResponse {
        crate::web::respond_with_status(page, &self.req, status)
    }
}

/// Registers every area's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/static/{path:.*}").get(assets::serve_asset));
    ops::configure(cfg);
    auth::configure(cfg);
    crate::identity::configure(cfg);
    dashboard::configure(cfg);
    service_accounts::configure(cfg);
    environments::configure(cfg);
    crate::namespaces::configure(cfg);
    users::configure(cfg);
    connectors::configure(cfg);
    audit::configure(cfg);
    crate::openapi::configure(cfg);
}

/// Unknown paths are 404. The caller is resolved first (a failure to is ignored), so
/// that a signed-in user's 404 page keeps the navigation.
async fn not_found(_caller: Result<crate::access::MaybeActor, AppError>) -> Result<(), AppError> {
    Err(AppError::NotFound)
}

/// Error messages of extractors that never echo the input back (a mistyped password
/// field must not come back in the error text).
fn payload_error(err: impl std::fmt::Display, _req: &HttpRequest) -> actix_web::Error {
    let text = err.to_string();
    let message = match text.split_once(", expected") {
        Some((head, expected)) if head.contains("invalid") => {
            format!("invalid value: expected{expected}")
        }
        _ => text,
    };
    AppError::bad_request(message).into()
}

/// The whole application: middleware stack, extractor limits and routes.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let limit = state.config.max_body_bytes;
    let session = SessionMiddleware::builder(
        DbSessionStore::new(state.db.clone()),
        state.keys.cookie.clone(),
    )
    .cookie_name(state.session_cookie_name.clone())
    .cookie_secure(state.config.secure_cookies())
    .cookie_http_only(true)
    .cookie_same_site(SameSite::Lax)
    .cookie_path("/".into())
    .cookie_content_security(CookieContentSecurity::Private)
    .session_lifecycle(
        BrowserSession::default().state_ttl(actix_web::cookie::time::Duration::milliseconds(
            state
                .config
                .session
                .absolute
                .as_millis()
                .min(i64::MAX as u128) as i64,
        )),
    )
    .build();
    App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(limit))
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(|e, r| {
                    if matches!(
                        e,
                        actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                            | actix_web::error::JsonPayloadError::Overflow { .. }
                    ) {
                        return AppError::PayloadTooLarge.into();
                    }
                    payload_error(e, r)
                }),
        )
        .app_data(
            web::FormConfig::default()
                .limit(limit)
                .error_handler(|e, r| {
                    if matches!(e, actix_web::error::UrlencodedError::Overflow { .. }) {
                        return AppError::PayloadTooLarge.into();
                    }
                    payload_error(e, r)
                }),
        )
        .app_data(web::QueryConfig::default().error_handler(payload_error))
        .app_data(web::PathConfig::default().error_handler(payload_error))
        .configure(configure)
        .default_service(web::to(not_found))
        .wrap(from_fn(crate::identity::audit_refusals))
        .wrap(from_fn(csrf::csrf_guard))
        .wrap(from_fn(crate::web::api::refuse_nul_in_query))
        .wrap(session)
        .wrap(from_fn(errors::render_errors))
        .wrap(from_fn(headers::security_headers))
        .wrap(Compress::default())
        .wrap(from_fn(ops::record_metrics))
}
