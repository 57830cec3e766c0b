//! HTTP handlers of the auth area: sign-in/out pages, token login, whoami.

use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::credential::{self, CredentialKind};
use super::models::AccessTokenRow;
use crate::access::{AuthMethod, KIND_SERVICE_ACCOUNT, KIND_USER, MaybeActor, Principal};
use super::session_keys as keys;
use super::ratelimit::{DEVICE_COOKIE, DEVICE_LIFETIME};
use super::views::LoginPage;
use super::{password, repo};
use crate::app::AppState;
use crate::audit::{self, Outcome};
use crate::db::{now_ms, rfc3339};
use crate::errors::{AppError, AppResult};
use crate::names::validate_name;
use crate::web::layout::Layout;
use crate::web::{client_addr, csrf, see_other};

/// The one message for unknown users, wrong passwords and inactive accounts.
const INVALID_CREDENTIALS: &str = "Invalid user name or password.";

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

/// Only same-origin relative paths are accepted as redirect targets; anything else
/// (`//evil.example`, `https://…`, `/\evil`, control characters) becomes `/`.
pub fn safe_return_to(target: Option<&str>) -> String {
    match target {
        Some(t)
            if t.starts_with('/')
                && !t.starts_with("//")
                && !t.contains('\\')
                && !t.chars().any(|c| c.is_control())
                && t.len() <= 2048 =>
        {
            t.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `GET /login`
pub async fn login_page(
    state: web::Data<AppState>,
    session: Session,
    who: MaybeActor,
    query: web::Query<LoginQuery>,
) -> AppResult<HttpResponse> {
    let return_to = safe_return_to(query.return_to.as_deref());
    if who.0.is_some() {
        return Ok(see_other(&return_to));
    }
    render_login(
        &state,
        &session,
        return_to,
        String::new(),
        None,
        actix_web::http::StatusCode::OK,
    )
}

fn render_login(
    state: &AppState,
    session: &Session,
    return_to: String,
    username: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> AppResult<HttpResponse> {
    let page = LoginPage {
        layout: Layout::anonymous(session)?,
        oidc_name: state.oidc.as_ref().map(|o| o.display_name().to_owned()),
        password_login: state.config.password_login,
        return_to,
        username,
        error,
    };
    let html = askama::Template::render(&page).map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// Form of `POST /login`.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    return_to: Option<String>,
}

/// What a credential check concluded.
enum Checked {
    Ok { user_id: i64, name: String },
    Refused,
}

/// Throttles, verifies on the blocking pool, audits. Shared by the form and the API.
async fn check_password(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    password_text: &str,
) -> AppResult<Checked> {
    let client = client_addr(req);
    let known = state.login_limiter.is_known_device(
        req.cookie(DEVICE_COOKIE).as_ref().map(|c| c.value()),
        username,
        now_ms() / 1000,
    );
    if let Err(wait) = state
        .login_limiter
        .check(&client, truncate(username), known)
    {
        tracing::info!(%client, "sign-in throttled");
        return Err(AppError::RateLimited(wait));
    }
    let name = username.to_owned();
    let valid_name = validate_name(&name).is_ok();
    // Names outside the name alphabet cannot exist: no lookup (and no NUL byte ever
    // reaches PostgreSQL).
    let user = if valid_name && password_text.len() <= 1024 {
        let lookup = name.clone();
        state
            .db
            .run(move |conn| repo::find_user_by_name(conn, &lookup).map_err(AppError::from))
            .await?
    } else {
        None
    };
    // With password sign-in off, only break-glass users may use one; others get the
    // same answer as a wrong password (after the same argon2 work).
    let allowed = state.config.password_login || state.config.break_glass_users.contains(&name);
    let usable = user.filter(|u| u.active && allowed);
    // Always run argon2 (against a dummy hash if need be): no timing oracle. On the
    // blocking pool, without holding a database connection.
    let stored = usable.as_ref().and_then(|u| u.password_hash.clone());
    let pw = password_text.to_owned();
    let ok = web::block(move || password::verify(&pw, stored.as_deref()))
        .await
        .map_err(AppError::internal)?;
    let actor = if valid_name {
        format!("user:{name}")
    } else {
        format!("user:{:?}", truncate(&name))
    };
    let verified = usable.filter(|_| ok);
    let user_id = verified.as_ref().map(|u| u.id);
    state
        .db
        .run(move |conn| -> AppResult<()> {
            let outcome = if user_id.is_some() {
                Outcome::Success
            } else {
                Outcome::Failure
            };
            audit::record(
                conn,
                &audit::Event {
                    actor: &actor,
                    action: "login",
                    target: &actor,
                    outcome,
                    client_addr: Some(&client),
                    detail: Some("password"),
                },
            )?;
            if let Some(id) = user_id {
                repo::update_last_login(conn, id, now_ms())?;
            }
            Ok(())
        })
        .await?;
    Ok(match verified {
        Some(u) => Checked::Ok {
            user_id: u.id,
            name: u.name,
        },
        None => Checked::Refused,
    })
}

fn truncate(name: &str) -> &str {
    match name.char_indices().nth(crate::names::MAX_NAME_LEN) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

/// `POST /login`
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let checked = match check_password(&state, &req, &form.username, &form.password).await {
        Err(AppError::RateLimited(wait)) => {
            let mut res = render_login(
                &state,
                &session,
                return_to,
                form.username,
                Some(format!("Too many attempts. Try again in {wait} seconds.")),
                actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            )?;
            res.headers_mut().insert(header::RETRY_AFTER, wait.into());
            return Ok(res);
        }
        other => other?,
    };
    match checked {
        Checked::Refused => render_login(
            &state,
            &session,
            return_to,
            form.username,
            Some(INVALID_CREDENTIALS.into()),
            actix_web::http::StatusCode::UNAUTHORIZED,
        ),
        Checked::Ok { user_id, name } => {
            establish_session(&session, user_id)?;
            let now = now_ms();
            let lifetime = DEVICE_LIFETIME.as_secs() as i64;
            let device = Cookie::build(
                DEVICE_COOKIE,
                state
                    .login_limiter
                    .device_token(&name, now / 1000 + lifetime),
            )
            .path("/login")
            .http_only(true)
            .secure(state.config.secure_cookies())
            .same_site(SameSite::Strict)
            .max_age(actix_web::cookie::time::Duration::seconds(lifetime))
            .finish();
            let mut res = see_other(&return_to);
            res.add_cookie(&device).map_err(AppError::internal)?;
            Ok(res)
        }
    }
}

/// Signs `user_id` in: nothing of the previous session survives (its pending one-time
/// reveals included), a new session id (no fixation) and a new CSRF token.
fn establish_session(session: &Session, user_id: i64) -> AppResult<()> {
    session.clear();
    session.renew();
    let now = now_ms();
    let write = |k: &str, v: i64| {
        session
            .insert(k, v)
            .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))
    };
    write(keys::USER_ID, user_id)?;
    write(keys::AUTH_AT, now)?;
    write(keys::SEEN_AT, now)?;
    csrf::rotate(session).map(|_| ())
}

/// `GET /auth/oidc/login?return_to=`: starts the authorization-code flow (PKCE S256,
/// `state`, `nonce` kept in the session) and sends the browser to the provider.
pub async fn oidc_login(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<LoginQuery>,
) -> AppResult<HttpResponse> {
    let Some(oidc) = state.oidc.clone() else {
        return Err(AppError::NotFound);
    };
    let return_to = safe_return_to(query.return_to.as_deref());
    match oidc.start(return_to.clone(), now_ms()).await {
        Ok((url, pending)) => {
            session
                .insert(keys::OIDC_PENDING, pending)
                .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))?;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, url.as_str()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish())
        }
        Err(e) => {
            tracing::warn!(error = %e, "OpenID sign-in could not start");
            render_login(
                &state,
                &session,
                return_to,
                String::new(),
                Some(format!(
                    "{} cannot be reached right now. Try again later.",
                    oidc.display_name()
                )),
                actix_web::http::StatusCode::BAD_GATEWAY,
            )
        }
    }
}

/// Query of `GET /auth/oidc/callback`.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/oidc/callback`: the provider's answer. The pending sign-in is taken out
/// of the session first, so a `state`, `nonce` and PKCE verifier serve one answer only.
pub async fn oidc_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> AppResult<HttpResponse> {
    let Some(oidc) = state.oidc.clone() else {
        return Err(AppError::NotFound);
    };
    let client = client_addr(&req);
    let pending = session
        .remove_as::<super::oidc::PendingSignIn>(keys::OIDC_PENDING)
        .and_then(Result::ok);
    let query = query.into_inner();
    let checked = match pending {
        None => Err("no sign-in was started in this browser, or it was already used".to_owned()),
        Some(pending) => {
            let same_state = query.state.as_deref().is_some_and(|s| {
                subtle::ConstantTimeEq::ct_eq(s.as_bytes(), pending.state.as_bytes()).into()
            });
            if !same_state {
                Err("the answer does not belong to the sign-in started here (state)".to_owned())
            } else if now_ms() - pending.started_at > super::oidc::FLOW_LIFETIME_MS {
                Err("the sign-in took too long".to_owned())
            } else if let Some(error) = &query.error {
                Err(format!("the provider answered {:?}", truncate(error)))
            } else if let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) {
                match oidc.finish(&pending, code).await {
                    Ok(identity) => Ok((identity, pending.return_to)),
                    Err(e) => Err(e.to_string()),
                }
            } else {
                Err("the answer has no authorization code".to_owned())
            }
        }
    };
    use actix_web::http::StatusCode;
    let checked = checked
        .map_err(|reason| (reason, StatusCode::BAD_REQUEST, None))
        .and_then(|(identity, return_to)| {
            let allowed = &oidc.config().allowed_groups;
            if allowed.is_empty() || identity.groups.iter().any(|g| allowed.contains(g)) {
                Ok((identity, return_to))
            } else {
                Err((
                    format!(
                        "your account is not in a group allowed to use Portcullis ({})",
                        allowed.join(", ")
                    ),
                    StatusCode::FORBIDDEN,
                    // Someone no longer allowed keeps no provider memberships either.
                    Some(Box::new(identity)),
                ))
            }
        });
    let (identity, return_to) = match checked {
        Ok(ok) => ok,
        Err((reason, status, refused)) => {
            tracing::info!(%client, %reason, "OpenID sign-in refused");
            let detail = format!("oidc: {reason}");
            let audit_client = client.clone();
            state
                .db
                .run(move |conn| {
                    if let Some(identity) = &refused {
                        super::federated::forget_provider_groups(conn, identity)?;
                    }
                    audit::record(
                        conn,
                        &audit::Event {
                            actor: "anonymous",
                            action: "login",
                            target: "oidc",
                            outcome: Outcome::Failure,
                            client_addr: Some(&audit_client),
                            detail: Some(&detail),
                        },
                    )
                    .map_err(AppError::from)
                })
                .await?;
            return render_login(
                &state,
                &session,
                "/".into(),
                String::new(),
                Some(format!(
                    "Sign-in with {} failed: {reason}.",
                    oidc.display_name()
                )),
                status,
            );
        }
    };
    let options = super::federated::GroupOptions {
        create_group_namespaces: state.config.grant_rules.group_namespaces
            && oidc.config().create_group_namespaces,
    };
    let audit_client = client.clone();
    let outcome = state
        .db
        .run(move |conn| {
            super::federated::sign_in(conn, &identity, options, &audit_client).map_err(
                |e| match e {
                    super::CreateUserError::Db(e) => AppError::from(e),
                    // Two first sign-ins of one person racing, or no usable name.
                    super::CreateUserError::Exists(_) => AppError::Conflict(
                        "the account was being created at the same time; sign in again".into(),
                    ),
                    super::CreateUserError::Invalid(m) => AppError::bad_request(m),
                },
            )
        })
        .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e @ (AppError::Conflict(_) | AppError::BadRequest { .. })) => {
            let status = if matches!(e, AppError::Conflict(_)) {
                actix_web::http::StatusCode::CONFLICT
            } else {
                actix_web::http::StatusCode::BAD_REQUEST
            };
            return render_login(
                &state,
                &session,
                "/".into(),
                String::new(),
                Some(format!("Sign-in with {} failed: {e}.", oidc.display_name())),
                status,
            );
        }
        Err(e) => return Err(e),
    };
    match outcome {
        super::federated::SignIn::User { id, .. } => {
            establish_session(&session, id)?;
            Ok(see_other(&return_to))
        }
        super::federated::SignIn::Deactivated(_) => render_login(
            &state,
            &session,
            "/".into(),
            String::new(),
            Some("This account is deactivated. Ask an administrator.".into()),
            actix_web::http::StatusCode::FORBIDDEN,
        ),
    }
}

/// `POST /logout`: destroys the server-side session.
pub async fn logout(
    session: Session,
    who: MaybeActor,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    if let Some(a) = who.0 {
        let actor = a.name();
        let client = a.client;
        state
            .db
            .run(move |conn| {
                audit::record(
                    conn,
                    &audit::Event {
                        actor: &actor,
                        action: "logout",
                        target: &actor,
                        outcome: Outcome::Success,
                        client_addr: Some(&client),
                        detail: None,
                    },
                )
                .map_err(AppError::from)
            })
            .await?;
    }
    session.purge();
    Ok(see_other("/login"))
}

/// Body of `POST /api/v1/login`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiLogin {
    username: Option<String>,
    password: Option<String>,
    api_key: Option<String>,
}

/// Answer of `POST /api/v1/login`.
#[derive(Serialize)]
pub struct AccessTokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_at: String,
}

/// `POST /api/v1/login`: exchanges a password (users) or an API key (service
/// accounts) for a bearer access token. A token minted from a key remembers the key's
/// secret generation and dies with that secret.
pub async fn api_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<ApiLogin>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let client = client_addr(&req);
    let (kind, principal_id, api_key, audit_actor) =
        match (body.username, body.password, body.api_key) {
            (Some(username), Some(password_text), None) => {
                let Checked::Ok { user_id, .. } =
                    check_password(&state, &req, &username, &password_text).await?
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
                            return Err(AppError::RateLimited(wait));
                        }
                        return Err(AppError::Unauthenticated);
                    }
                    Err(e) => return Err(e),
                };
                let AuthMethod::ApiKey { key, generation } = principal.method else {
                    return Err(AppError::Unauthenticated);
                };
                let actor = format!("service_account:{}", principal.name);
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
    let issued = credential::generate(CredentialKind::AccessToken, &state.keys.credential_pepper);
    let now = now_ms();
    let expires_at = now + state.config.access_token_ttl.as_millis() as i64;
    let row = AccessTokenRow {
        id: issued.id.clone(),
        principal_kind: kind.into(),
        principal_id,
        secret_hash: issued.secret_hash.clone(),
        role_bindings: None,
        created_at: now,
        expires_at,
        revoked_at: None,
        api_key_id: api_key.map(|(k, _)| k),
        key_generation: api_key.map(|(_, g)| g),
        parent_id: None,
    };
    state
        .db
        .run(move |conn| -> AppResult<()> {
            crate::db::write_transaction(conn, |conn| {
                repo::insert_access_token(conn, &row)?;
                if let Some(actor) = &audit_actor {
                    audit::record(
                        conn,
                        &audit::Event {
                            actor,
                            action: "login",
                            target: actor,
                            outcome: Outcome::Success,
                            client_addr: Some(&client),
                            detail: Some(&format!("api key, token {}", row.id)),
                        },
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
#[derive(Serialize)]
pub struct WhoAmI {
    id: i64,
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

/// `GET /api/v1/whoami`
pub async fn whoami(principal: Principal) -> HttpResponse {
    HttpResponse::Ok().json(WhoAmI {
        id: principal.id,
        kind: principal.kind.as_str(),
        name: principal.name,
        namespace: principal.primary_namespace,
    })
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn only_local_paths_are_redirect_targets() {
        for ok in ["/", "/service-accounts?x=1", "/a/b#c"] {
            assert_eq!(safe_return_to(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "\\\\evil",
            "evil",
            "/\nx",
            "",
            "%2F%2Fevil.example",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
