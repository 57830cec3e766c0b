//! Cross-site request forgery defence, applied to every unsafe method in one middleware
//! so no handler can forget it:
//! 1. `Sec-Fetch-Site: cross-site|same-site` (any case) and a foreign `Origin` are
//!    refused.
//! 2. Requests riding on a cookie session (everything except calls carrying a `Bearer`
//!    credential, and cookie-less API calls) must present the session's synchronizer
//!    token, as the `csrf_token` form field or the `X-CSRF-Token` header (htmx sends
//!    it). Another `Authorization` scheme exempts nothing: only a bearer credential
//!    replaces the cookie (`crate::identity` answers any other scheme with 401).

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use crate::app::AppState;
use crate::errors::AppError;

/// Session key of the token.
const SESSION_KEY: &str = "csrf";
/// Cookie of a browser without a session: the nonce its form token is signed from.
const FORM_NONCE_COOKIE: &str = "portcullis_form";
/// Form field carrying the token.
pub const FORM_FIELD: &str = "csrf_token";
/// Header carrying the token.
pub const HEADER: &str = "X-CSRF-Token";

/// The session's token, created on first use.
pub fn token(session: &Session) -> Result<String, AppError> {
    if let Ok(Some(t)) = session.get::<String>(SESSION_KEY) {
        return Ok(t);
    }
    rotate(session)
}

/// The token for a form shown to `req`'s browser: its session's, or for a browser
/// without a session (the sign-in form) HMAC(key, nonce) of a random nonce kept in a
/// cookie — so an anonymous visit stores nothing on the server. The cookie to set is
/// returned when a new nonce was made.
pub fn page_token(
    state: &AppState,
    req: &actix_web::HttpRequest,
) -> Result<(String, Option<Cookie<'static>>), AppError> {
    if let Ok(Some(t)) = req.get_session().get::<String>(SESSION_KEY) {
        return Ok((t, None));
    }
    let name = nonce_cookie_name(state);
    if let Some(nonce) = req.cookie(name).filter(|c| c.value().len() == 43) {
        return Ok((sign_nonce(state, nonce.value()), None));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = URL_SAFE_NO_PAD.encode(bytes);
    let token = sign_nonce(state, &nonce);
    let cookie = Cookie::build(name, nonce)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .finish();
    Ok((token, Some(cookie)))
}

/// The nonce cookie's name (`__Host-` prefixed over https, like the session's).
fn nonce_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        "__Host-portcullis_form"
    } else {
        FORM_NONCE_COOKIE
    }
}

/// The form token of `nonce`.
fn sign_nonce(state: &AppState, nonce: &str) -> String {
    let key = &state.keys.credential_pepper;
    let tag = crate::crypto::mac(key, &[b"portcullis csrf: form nonce\0", nonce.as_bytes()]);
    URL_SAFE_NO_PAD.encode(tag)
}

/// Replaces the token (at sign-in), returning the new one.
pub fn rotate(session: &Session) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let t = URL_SAFE_NO_PAD.encode(bytes);
    session
        .insert(SESSION_KEY, &t)
        .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))?;
    Ok(t)
}

/// The middleware: refusals are answered as error responses so the error renderer
/// can shape them for the caller.
pub async fn csrf_guard<B: MessageBody>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    match check(&mut req).await {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(err) => Ok(req.error_response(err).map_into_right_body()),
    }
}

fn forbidden(reason: &str) -> AppError {
    AppError::Forbidden(reason.to_owned())
}

/// Whether an unsafe request may proceed.
async fn check(req: &mut ServiceRequest) -> Result<(), AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?;
    let headers = req.headers();
    if let Some(site) = headers.get("Sec-Fetch-Site")
        && ["cross-site", "same-site"]
            .iter()
            .any(|s| site.as_bytes().eq_ignore_ascii_case(s.as_bytes()))
    {
        return Err(forbidden("cross-site request refused"));
    }
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != state.public_origin.as_bytes()
    {
        return Err(forbidden("request from a foreign origin refused"));
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "));
    let has_session_cookie = req.cookie(&state.session_cookie_name).is_some();
    let is_api = req.path().starts_with("/api/");
    if bearer || (is_api && !has_session_cookie) {
        // No ambient credential rides on this request.
        return Ok(());
    }
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let header_token = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let presented = if is_form(req) {
        let body = req
            .extract::<Bytes>()
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        // A form that is not UTF-8 would be decoded lossily (U+FFFD for each bad byte)
        // and stored altered: refuse it whole.
        if !is_utf8_form(&body) {
            return Err(AppError::bad_request("the form is not valid UTF-8"));
        }
        let token = header_token.or_else(|| form_token(&body));
        req.set_payload(Payload::from(body));
        token
    } else {
        header_token
    };
    // Without a session, the token must be the one signed from the browser's nonce.
    let expected = expected.or_else(|| {
        req.cookie(nonce_cookie_name(&state))
            .map(|c| sign_nonce(&state, c.value()))
    });
    let valid = match (expected, presented) {
        (Some(e), Some(p)) => subtle::ConstantTimeEq::ct_eq(e.as_bytes(), p.as_bytes()).into(),
        _ => false,
    };
    if !valid {
        return Err(forbidden(
            "the form expired or its security token is missing; reload the page and try again",
        ));
    }
    Ok(())
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Whether every name and value of an `application/x-www-form-urlencoded` body decodes
/// to UTF-8.
fn is_utf8_form(body: &[u8]) -> bool {
    body.split(|b| *b == b'&').all(|pair| {
        let plus_as_space: Vec<u8> = pair
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        percent_encoding::percent_decode(&plus_as_space)
            .decode_utf8()
            .is_ok()
    })
}

fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == FORM_FIELD)
        .map(|(_, v)| v.into_owned())
}
