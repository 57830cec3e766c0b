//! Signing in with OpenID Connect: starting the authorization-code flow and taking
//! the provider's answer.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::session_keys as keys;
use super::signin::{LoginQuery, establish_session, render_login, safe_return_to, truncate};
use crate::app::AppState;
use crate::audit;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::{client_addr, see_other};

/// The configured provider; without one these routes do not exist (404).
fn provider(state: &AppState) -> AppResult<std::sync::Arc<super::oidc::Oidc>> {
    state.oidc.clone().ok_or(AppError::NotFound)
}

/// `GET /auth/oidc/login?return_to=`: starts the authorization-code flow (PKCE S256,
/// `state`, `nonce` kept in the session) and sends the browser to the provider.
pub(super) async fn oidc_login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<LoginQuery>,
) -> Reply {
    let oidc = provider(&state)?;
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
                &req,
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
pub(super) async fn oidc_callback(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<CallbackQuery>,
) -> Reply {
    let oidc = provider(&state)?;
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
                    audit::anonymous_failure(conn, "login", "oidc", &audit_client, Some(&detail))
                        .map_err(AppError::from)
                })
                .await?;
            // The user's other sessions lose the forgotten groups at once.
            state.user_cache.clear();
            return render_login(
                &state,
                &req,
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
    // Provider groups were replaced: the user's other sessions see them at once.
    state.user_cache.clear();
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
                &req,
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
            &req,
            "/".into(),
            String::new(),
            Some("This account is deactivated. Ask an administrator.".into()),
            actix_web::http::StatusCode::FORBIDDEN,
        ),
    }
}
