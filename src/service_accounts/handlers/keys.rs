//! API-key pages: the new-key and rotation forms (each answered with a 303 to the
//! one-time reveal), and the (de)activate and delete actions.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::Deserialize;

use super::{ActiveForm, account_url, store_reveal};
use crate::access::{Actor, Permission};
use crate::app::AppState;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::service_accounts::accounts::authorized_account;
use crate::service_accounts::actions;
use crate::service_accounts::api_keys::{self, NewKeyInput};
use crate::service_accounts::keys::{DAY_MS, MAX_RETAIN_MINUTES};
use crate::service_accounts::reveal;
use crate::service_accounts::views::{KeyForm, KeyRow, NewKeyPage, RotateKeyPage};
use crate::web::layout::{Layout, Section};
use crate::web::{form_errors, respond_with_status, see_other};

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const KEYS: &str = "/service-accounts/{sa}/api-keys";
    const ONE: &str = "/service-accounts/{sa}/api-keys/{key}";
    cfg.route(&format!("{KEYS}/new"), web::get().to(new_key_form))
        .route(KEYS, web::post().to(create_key))
        .route(&format!("{ONE}/rotate"), web::get().to(rotate_key_form))
        .route(&format!("{ONE}/rotate"), web::post().to(rotate_key))
        .route(&format!("{ONE}/active"), web::post().to(set_key_active))
        .route(&format!("{ONE}/delete"), web::post().to(delete_key));
}

/// `GET /service-accounts/{sa}/api-keys/new`
async fn new_key_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let account = path.into_inner();
    let (a, n) = (actor.clone(), account.clone());
    state
        .db
        .run(move |conn| authorized_account(conn, &a, Permission::ApiKeyManage, &n))
        .await?;
    let page = NewKeyPage {
        layout: Layout::new(&actor.principal, &session, Section::ServiceAccounts)?,
        account,
        form: KeyForm {
            expires: "90".into(),
            ..Default::default()
        },
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Turns the expiry choice into ms.
fn expiry(choice: &str, on: &str, now: i64) -> AppResult<Option<i64>> {
    match choice {
        "" | "none" => Ok(None),
        "30" | "90" | "365" => Ok(Some(now + choice.parse::<i64>().unwrap_or(0) * DAY_MS)),
        "date" => chrono::NaiveDate::parse_from_str(on, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| Some(t.and_utc().timestamp_millis()))
            .ok_or_else(|| AppError::invalid("expires_on", "pick a date")),
        _ => Err(AppError::invalid(
            "expires",
            "choose none, 30, 90 or 365 days, or a date",
        )),
    }
}

/// `POST /service-accounts/{sa}/api-keys` → 303 to the reveal page.
async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<String>,
    form: web::Form<KeyForm>,
) -> AppResult<HttpResponse> {
    let account = path.into_inner();
    let mut form = form.into_inner();
    let binding = reveal::session_binding(&session)?;
    let (a, acc, st) = (actor.clone(), account.clone(), state.clone());
    let (name, description) = (form.name.trim().to_owned(), form.description.clone());
    let (expires, expires_on) = (form.expires.clone(), form.expires_on.clone());
    let result = state
        .db
        .run(move |conn| {
            let input = NewKeyInput {
                name,
                description: Some(description),
                expires_at: expiry(&expires, &expires_on, now_ms())?,
            };
            let pepper = &st.keys.credential_pepper;
            let issued = api_keys::create_key(conn, &a, pepper, &acc, &input)?;
            store_reveal(conn, &st, &binding, &issued, &acc)
        })
        .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/reveal/{id}"))),
        Err(err @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            (form.errors, form.error, _) = form_errors(&err);
            let page = NewKeyPage {
                layout: Layout::new(&actor.principal, &session, Section::ServiceAccounts)?,
                account,
                form,
            };
            Ok(respond_with_status(
                page,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(other) => Err(other),
    }
}

/// The rotation form of key `name` of `account`, for a caller who may manage it.
async fn rotate_page(
    state: &web::Data<AppState>,
    actor: &Actor,
    session: &Session,
    (account, name): (String, String),
    form: KeyForm,
) -> AppResult<RotateKeyPage> {
    let (a, acc) = (actor.clone(), account.clone());
    let key = state
        .db
        .run(move |conn| api_keys::managed_key(conn, &a, &acc, &name))
        .await?;
    Ok(RotateKeyPage {
        layout: Layout::new(&actor.principal, session, Section::ServiceAccounts)?,
        account,
        key: KeyRow::new(&key, now_ms()),
        max_retain: MAX_RETAIN_MINUTES,
        form,
    })
}

/// `GET /service-accounts/{sa}/api-keys/{key}/rotate`
async fn rotate_key_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let form = KeyForm {
        retain: "0".into(),
        ..Default::default()
    };
    let page = rotate_page(&state, &actor, &session, path.into_inner(), form).await?;
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of a rotation.
#[derive(Debug, Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    retain_period_minutes: String,
}

/// `POST /service-accounts/{sa}/api-keys/{key}/rotate` → 303 to the reveal page.
async fn rotate_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<RotateForm>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let text = form.into_inner().retain_period_minutes;
    let binding = reveal::session_binding(&session)?;
    let (a, acc, n, t, st) = (
        actor.clone(),
        account.clone(),
        name.clone(),
        text.clone(),
        state.clone(),
    );
    let result = state
        .db
        .run(move |conn| {
            let retain = match t.trim() {
                "" => 0,
                s => s.parse::<i64>().map_err(|_| {
                    AppError::invalid("retain_period_minutes", "must be a whole number of minutes")
                })?,
            };
            let (cache, pepper) = (&st.key_cache, &st.keys.credential_pepper);
            let issued = api_keys::rotate_key(conn, &a, cache, pepper, &acc, &n, retain)?;
            store_reveal(conn, &st, &binding, &issued, &acc)
        })
        .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/reveal/{id}"))),
        Err(err @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            let (errors, error, _) = form_errors(&err);
            let form = KeyForm {
                retain: text,
                errors,
                error,
                ..Default::default()
            };
            let page = rotate_page(&state, &actor, &session, (account, name), form).await?;
            Ok(respond_with_status(
                page,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(other) => Err(other),
    }
}

/// `POST /service-accounts/{sa}/api-keys/{key}/active`
async fn set_key_active(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let path = path.into_inner();
    let url = account_url(&path.0);
    actions::update_key(&state, actor, path, None, Some(form.active()?)).await?;
    Ok(see_other(&url))
}

/// `POST /service-accounts/{sa}/api-keys/{key}/delete`
async fn delete_key(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let path = path.into_inner();
    let url = account_url(&path.0);
    actions::delete_key(&state, actor, path).await?;
    Ok(see_other(&url))
}
