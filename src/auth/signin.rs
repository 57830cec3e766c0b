//! Signing in and out with a password: the sign-in page and form, the one password
//! check (throttled, constant-time, audited) that the form and the token API share,
//! establishing a fresh session, and signing out.

use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::ratelimit::{DEVICE_COOKIE, DEVICE_LIFETIME};
use super::session_keys as keys;
use super::views::LoginPage;
use super::{password, repo};
use crate::access::MaybeActor;
use crate::app::AppState;
use crate::audit::{self, Outcome};
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::names::validate_name;
use crate::web::Reply;
use crate::web::layout::Layout;
use crate::web::{client_addr, csrf, see_other};

/// The one message for unknown users, wrong passwords and inactive accounts.
const INVALID_CREDENTIALS: &str = "Invalid user name or password.";

/// Query of `GET /login`.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub(super) return_to: Option<String>,
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
    req: HttpRequest,
    state: web::Data<AppState>,
    who: MaybeActor,
    query: web::Query<LoginQuery>,
) -> Reply {
    let return_to = safe_return_to(query.return_to.as_deref());
    if who.0.is_some() {
        return Ok(see_other(&return_to));
    }
    render_login(
        &state,
        &req,
        return_to,
        String::new(),
        None,
        actix_web::http::StatusCode::OK,
    )
}

pub(super) fn render_login(
    state: &AppState,
    req: &HttpRequest,
    return_to: String,
    username: String,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Reply {
    let (token, cookie) = csrf::page_token(state, req)?;
    let page = LoginPage {
        layout: Layout::anonymous(token),
        oidc_name: state.oidc.as_ref().map(|o| o.display_name().to_owned()),
        password_login: state.config.password_login,
        return_to,
        username,
        error,
    };
    let html = askama::Template::render(&page).map_err(AppError::internal)?;
    let mut res = HttpResponse::build(status);
    if let Some(cookie) = cookie {
        res.cookie(cookie);
    }
    Ok(res.content_type("text/html; charset=utf-8").body(html))
}

/// Form of `POST /login`.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    return_to: Option<String>,
}

/// What a password check concluded.
pub enum Checked {
    /// The password is right for this active user.
    Ok {
        /// Row id.
        user_id: i64,
        /// Name.
        name: String,
    },
    /// Wrong name or password, inactive, or password sign-in off for this user.
    Refused,
}

/// Throttles, verifies on the blocking pool, audits as `login`. Shared by the form and
/// the API.
pub async fn check_password(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    password_text: &str,
) -> AppResult<Checked> {
    check_password_as(state, req, (username, password_text), "login").await
}

/// [`check_password`] for another purpose, audited as `action` (e.g. confirming the
/// current password before changing it; only `login` records a sign-in time).
pub async fn check_password_as(
    state: &AppState,
    req: &HttpRequest,
    (username, password_text): (&str, &str),
    action: &'static str,
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
        return Err(audit_throttled(state, client, action, wait).await);
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
    // A name nobody has is logged as a keyed hash: it may be a mistyped password.
    let actor = match &user {
        Some(u) => format!("user:{}", u.name),
        None => audit::unknown_user(&state.keys.credential_pepper, &name),
    };
    let usable = user.filter(|u| u.active && allowed);
    // Always run argon2 (against a dummy hash if need be): no timing oracle. On the
    // blocking pool, without holding a database connection.
    let stored = usable.as_ref().and_then(|u| u.password_hash.clone());
    let pw = password_text.to_owned();
    let ok = web::block(move || password::verify(&pw, stored.as_deref()))
        .await
        .map_err(AppError::internal)?;
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
            audit::own(
                conn,
                &actor,
                action,
                outcome,
                Some(&client),
                Some("password"),
            )?;
            if let Some(id) = user_id.filter(|_| action == "login") {
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

/// The 429 of a throttled sign-in (`action`) from `client`, audited: the first, then at
/// most one a minute per client, so a flood of refusals is not a flood of writes.
pub async fn audit_throttled(
    state: &AppState,
    client: String,
    action: &'static str,
    wait: u64,
) -> AppError {
    if state.login_limiter.should_audit_throttle(&client) {
        let detail = format!("throttled; retry in {wait} s");
        let written = state
            .db
            .run(move |conn| {
                audit::anonymous_failure(conn, action, "throttled", &client, Some(&detail))
                    .map_err(AppError::from)
            })
            .await;
        if let Err(e) = written {
            return e;
        }
    }
    AppError::RateLimited(wait)
}

pub(super) fn truncate(name: &str) -> &str {
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
) -> Reply {
    let form = form.into_inner();
    let return_to = safe_return_to(form.return_to.as_deref());
    let checked = match check_password(&state, &req, &form.username, &form.password).await {
        Err(AppError::RateLimited(wait)) => {
            let mut res = render_login(
                &state,
                &req,
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
            &req,
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
pub(super) fn establish_session(session: &Session, user_id: i64) -> AppResult<()> {
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

/// `POST /logout`: destroys the server-side session.
pub async fn logout(session: Session, who: MaybeActor, state: web::Data<AppState>) -> Reply {
    if let Some(a) = who.0 {
        let actor = a.name();
        let client = a.client;
        state
            .db
            .run(move |conn| {
                audit::own(
                    conn,
                    &actor,
                    "logout",
                    Outcome::Success,
                    Some(&client),
                    None,
                )
                .map_err(AppError::from)
            })
            .await?;
    }
    session.purge();
    Ok(see_other("/login"))
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
