//! Credentials for programs: `POST /api/v1/login` exchanges a password or an API key
//! for a bearer access token, and `GET /api/v1/whoami` says who a credential is. Lives
//! above the areas because it resolves both kinds of principal.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::access::{Actor, AuthMethod, KIND_SERVICE_ACCOUNT, KIND_USER};
use crate::app::AppState;
use crate::audit::{self, Outcome};
use crate::auth::{self, AccessTokenRow, Checked};
use crate::credential::{self, CredentialKind};
use crate::db::{now_ms, rfc3339};
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::api::Json;
use crate::web::client_addr;

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(api_login, whoami))]
pub(super) struct Doc;

/// Body of `POST /api/v1/login`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiLogin {
    /// A local user's name (with `password`).
    username: Option<String>,
    /// That user's password.
    password: Option<String>,
    /// Or instead: a service account's API key (`pck_…`).
    api_key: Option<String>,
}

/// The body of `POST /api/v1/login`: a user's name and password, or an API key.
// The OpenAPI document's view of `ApiLogin`, which the handler reads (a flat struct,
// to say precisely what is missing).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
#[expect(dead_code, reason = "describes the body; `ApiLogin` reads it")]
pub enum LoginRequest {
    /// A local user.
    Password(PasswordLogin),
    /// A service account's API key.
    Key(KeyLogin),
}

/// A local user's sign-in.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the body; `ApiLogin` reads it")]
pub struct PasswordLogin {
    /// The user's name.
    #[schema(min_length = 1)]
    username: String,
    /// The user's password.
    #[schema(min_length = 1)]
    password: String,
}

/// A service account's sign-in.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the body; `ApiLogin` reads it")]
pub struct KeyLogin {
    /// The key (`pck_…`).
    #[schema(min_length = 1)]
    api_key: String,
}

/// Answer of `POST /api/v1/login`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessTokenResponse {
    /// Send as `Authorization: Bearer <access_token>` (`pct_…`).
    access_token: String,
    /// Always `bearer`.
    token_type: &'static str,
    /// When the token stops working (RFC 3339).
    #[schema(format = DateTime)]
    expires_at: String,
}

/// Sign in for a bearer access token.
///
/// Exchanges a password (users) or an API key (service accounts) for an access token.
/// A token minted from a key remembers the key's secret generation and dies with that
/// secret. Failed attempts are throttled per client and per account.
#[utoipa::path(post, path = "/api/v1/login", tag = "credentials",
    security(()),
    request_body = LoginRequest,
    responses( (status = 200, description = "A bearer access token for the user or the key's service account.", body = AccessTokenResponse), (status = 401, description = "Wrong password, unknown user, or a key that is not valid.", body = crate::web::api::ErrorBody), ))]
pub async fn api_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Json<ApiLogin>,
) -> Reply {
    let body = body.into_inner();
    let client = client_addr(&req);
    let mut policy_namespace = None;
    let (kind, principal_id, api_key, audit_actor) =
        match (body.username, body.password, body.api_key) {
            (Some(username), Some(password_text), None) => {
                let Checked::Ok { user_id, .. } =
                    auth::check_password(&state, &req, &username, &password_text).await?
                else {
                    return Err(AppError::Unauthenticated);
                };
                (KIND_USER, user_id, None, None)
            }
            (None, None, Some(key)) => {
                let principal = match credential::parse(&key) {
                    Some(p) if p.kind == CredentialKind::ApiKey => {
                        crate::service_accounts::principal_for_key(&state, &p).await
                    }
                    _ => Err(AppError::Unauthenticated),
                };
                let principal = match principal {
                    Ok(p) => p,
                    Err(AppError::Unauthenticated) => {
                        if let Err(wait) = state.login_limiter.bearer_failure(&client) {
                            return Err(auth::audit_throttled(&state, client, "login", wait).await);
                        }
                        // Audited with the key's public id (never the secret).
                        let target = credential::parse(&key)
                            .filter(|p| p.kind == CredentialKind::ApiKey)
                            .map_or_else(
                                || "api key (malformed)".to_owned(),
                                |p| format!("key_id:{}", p.id),
                            );
                        state
                            .db
                            .run(move |conn| {
                                audit::anonymous_failure(
                                    conn,
                                    "login",
                                    &target,
                                    &client,
                                    Some("api key"),
                                )
                                .map_err(AppError::from)
                            })
                            .await?;
                        return Err(AppError::Unauthenticated);
                    }
                    Err(e) => return Err(e),
                };
                let AuthMethod::ApiKey { key, generation } = principal.method else {
                    return Err(AppError::Unauthenticated);
                };
                let actor = principal.actor_name();
                policy_namespace = principal.primary_namespace.clone();
                (
                    KIND_SERVICE_ACCOUNT,
                    principal.id,
                    Some((key, generation)),
                    Some(actor),
                )
            }
            _ => {
                return Err(AppError::Validation {
                    message: "send either username and password, or api_key".into(),
                    fields: Default::default(),
                });
            }
        };
    let mut ttl_ms = state.config.access_token_ttl.as_millis() as i64;
    if let Some(namespace) = &policy_namespace {
        let policy = state.key_policies.get(&state.db, namespace).await?;
        // The token could not be used from here: no token, and it counts as a failure.
        if !policy.admits(&client) {
            if let Err(wait) = state.login_limiter.bearer_failure(&client) {
                return Err(auth::audit_throttled(&state, client, "login", wait).await);
            }
            return Err(AppError::Forbidden(format!(
                "the key policy of {namespace} allows its service accounts' credentials only from its allowed networks"
            )));
        }
        ttl_ms = policy
            .max_token_seconds()
            .map_or(ttl_ms, |max| ttl_ms.min(max * 1000));
    }
    let issued = credential::generate(CredentialKind::AccessToken, &state.keys.credential_pepper);
    let now = now_ms();
    let expires_at = now + ttl_ms;
    let row = AccessTokenRow::issued(&issued, (kind, principal_id), now, expires_at, api_key);
    state
        .db
        .run(move |conn| -> AppResult<()> {
            crate::db::write_transaction(conn, |conn| {
                auth::insert_access_token(conn, &row)?;
                if let Some(actor) = &audit_actor {
                    audit::own(
                        conn,
                        actor,
                        "login",
                        Outcome::Success,
                        Some(&client),
                        Some(&format!("api key, token {}", row.id)),
                    )?;
                }
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(AccessTokenResponse {
        access_token: issued.plaintext,
        token_type: "bearer",
        expires_at: rfc3339(expires_at),
    }))
}

/// Answer of `GET /api/v1/whoami`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// The principal's id.
    id: i64,
    /// `user` or `service_account`.
    kind: &'static str,
    /// Its name.
    name: String,
    /// A user's primary namespace, or a service account's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

/// Who the credential is.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "credentials",
    responses((status = 200, description = "Who the credential belongs to.", body = WhoAmI)))]
pub async fn whoami(actor: Actor) -> HttpResponse {
    let principal = actor.principal;
    HttpResponse::Ok().json(WhoAmI {
        id: principal.id,
        kind: principal.kind.as_str(),
        name: principal.name,
        namespace: principal.primary_namespace,
    })
}
