//! Dashboard pages of service accounts and keys, and the one-time reveal page.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::Deserialize;

use super::accounts::{self, Ctx, NewAccount};
use super::api_keys::{self, IssuedKey, NewKeyInput};
use super::keys::{DAY_MS, MAX_RETAIN_MINUTES};
use super::reveal;
use super::views::{
    AccountForm, AccountPage, AccountRow, AccountsPage, AccountsTable, KeyForm, KeyRow, NewKeyPage,
    RevealPage, RevealedPage, RotateKeyPage, when,
};
use crate::access::Permission;
use crate::access::Principal;
use crate::app::AppState;
use crate::db::{DbConnection, now_ms};
use crate::environments;
use crate::errors::{AppError, AppResult};
use crate::web::htmx::is_htmx;
use crate::web::layout::{Layout, Section};
use crate::web::{path_segment, see_other};

/// Page size of the accounts table.
const PAGE: i64 = 25;

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/service-accounts", web::get().to(list_accounts))
        .route("/service-accounts", web::post().to(create_account))
        .route("/service-accounts/{sa}", web::get().to(show_account))
        .route("/service-accounts/{sa}", web::post().to(update_account))
        .route(
            "/service-accounts/{sa}/active",
            web::post().to(set_account_active),
        )
        .route(
            "/service-accounts/{sa}/delete",
            web::post().to(delete_account),
        )
        .route(
            "/service-accounts/{sa}/api-keys/new",
            web::get().to(new_key_form),
        )
        .route(
            "/service-accounts/{sa}/api-keys",
            web::post().to(create_key),
        )
        .route(
            "/service-accounts/{sa}/api-keys/{key}/rotate",
            web::get().to(rotate_key_form),
        )
        .route(
            "/service-accounts/{sa}/api-keys/{key}/rotate",
            web::post().to(rotate_key),
        )
        .route(
            "/service-accounts/{sa}/api-keys/{key}/active",
            web::post().to(set_key_active),
        )
        .route(
            "/service-accounts/{sa}/api-keys/{key}/delete",
            web::post().to(delete_key),
        )
        .route("/reveal/{id}", web::get().to(show_reveal));
}

/// Runs an operation with the caller's context on the blocking pool.
async fn run<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: &Principal,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&mut DbConnection, &Ctx<'_>, &AppState) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    super::api::with_ctx(state, req, principal.clone(), f).await
}

/// Query of the list page.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    namespace: String,
    cursor: Option<String>,
}

fn list_url(q: &ListQuery, cursor: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &q.q)
        .append_pair("namespace", &q.namespace)
        .append_pair("cursor", cursor)
        .finish();
    format!("/service-accounts?{query}")
}

async fn load_table(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: &Principal,
    session: &Session,
    q: &ListQuery,
) -> AppResult<(AccountsTable, Vec<String>)> {
    let namespace = Some(q.namespace.clone()).filter(|n| !n.is_empty());
    let search = q.q.clone();
    let cursor = q.cursor.clone().filter(|c| !c.is_empty());
    let (page, namespaces) = run(state, req, principal, move |conn, ctx, _| {
        let page = accounts::list_accounts(
            conn,
            ctx.principal,
            namespace.as_deref(),
            Some(&search),
            cursor.as_deref(),
            PAGE,
        )?;
        let namespaces = environments::list_readable_namespace_names(conn, &ctx.principal.grants)?;
        Ok((page, namespaces))
    })
    .await?;
    Ok((
        AccountsTable {
            csrf: crate::web::csrf::token(session)?,
            rows: page
                .items
                .iter()
                .map(|s| AccountRow::for_viewer(s, &principal.grants))
                .collect(),
            next_url: page.next_cursor.map(|c| list_url(q, &c)),
        },
        namespaces,
    ))
}

/// `GET /service-accounts` (htmx: just the rows).
async fn list_accounts(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let (table, namespaces) = load_table(&state, &req, &principal, &session, &q).await?;
    if is_htmx(&req) {
        return Ok(table.respond_to(&req).map_into_boxed_body());
    }
    let page = AccountsPage {
        layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
        table,
        search: q.q,
        namespace: q.namespace,
        namespaces,
        form: AccountForm {
            create_key: true,
            ..Default::default()
        },
        form_open: false,
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of a new account.
#[derive(Debug, Deserialize)]
pub struct CreateAccountForm {
    name: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    description: String,
    create_key: Option<String>,
}

/// `POST /service-accounts`
async fn create_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    form: web::Form<CreateAccountForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let input = NewAccount {
        name: f.name.trim().to_owned(),
        namespace: Some(f.namespace.clone()).filter(|n| !n.is_empty()),
        description: Some(f.description.clone()),
        active: Some(true),
    };
    let with_key = f.create_key.is_some();
    let binding = reveal::session_binding(&session)?;
    let result = run(&state, &req, &principal, move |conn, ctx, st| {
        let created = accounts::create_account(conn, ctx, &input)?;
        if !with_key {
            return Ok(None);
        }
        let key_input = NewKeyInput {
            name: "default".into(),
            description: Some("Created with the account.".into()),
            expires_at: None,
        };
        let issued = api_keys::create_key(
            conn,
            ctx,
            &st.keys.credential_pepper,
            &created.account.name,
            &key_input,
        )?;
        Ok(Some(store_reveal(
            conn,
            st,
            &binding,
            &issued,
            &created.account.name,
        )?))
    })
    .await;
    match result {
        Ok(Some(reveal_id)) => Ok(see_other(&format!("/reveal/{reveal_id}"))),
        Ok(None) => Ok(see_other(&format!(
            "/service-accounts/{}",
            path_segment(f.name.trim())
        ))),
        Err(
            err @ (AppError::Validation { .. } | AppError::Conflict(_) | AppError::Forbidden(_)),
        ) => {
            let q = ListQuery::default();
            let (table, namespaces) = load_table(&state, &req, &principal, &session, &q).await?;
            let (errors, error) = match &err {
                AppError::Validation { fields, .. } => (fields.clone(), None),
                other => (Default::default(), Some(other.to_string())),
            };
            let status = if matches!(err, AppError::Forbidden(_)) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let page = AccountsPage {
                layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
                table,
                search: String::new(),
                namespace: String::new(),
                namespaces,
                form: AccountForm {
                    name: f.name,
                    namespace: f.namespace,
                    description: f.description,
                    create_key: with_key,
                    errors,
                    error,
                },
                form_open: true,
            };
            let mut res = page.respond_to(&req).map_into_boxed_body();
            *res.status_mut() = status;
            Ok(res)
        }
        Err(other) => Err(other),
    }
}

fn store_reveal(
    conn: &mut DbConnection,
    st: &AppState,
    binding: &str,
    issued: &IssuedKey,
    account: &str,
) -> AppResult<String> {
    Ok(reveal::store(
        conn,
        &st.reveal_sealer,
        binding,
        &issued.plaintext,
        &format!("API key {}", issued.key.name),
        account,
        now_ms(),
    )?)
}

/// `GET /service-accounts/{sa}`
async fn show_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let (summary, keys) = run(&state, &req, &principal, move |conn, ctx, _| {
        let summary = accounts::summary(conn, ctx.principal, &name)?;
        let keys = api_keys::list_keys(conn, ctx, &name)?;
        Ok((summary, keys))
    })
    .await?;
    let now = now_ms();
    let grants = &principal.grants;
    let ns = summary.namespace.clone();
    let page = AccountPage {
        layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
        account: AccountRow::from(&summary),
        created: when(Some(summary.account.created_at)),
        created_by: summary.account.created_by.clone(),
        keys: keys.iter().map(|k| KeyRow::new(k, now)).collect(),
        can_update: grants.can_namespace(Permission::ServiceAccountUpdate, &ns),
        can_delete: grants.can_namespace(Permission::ServiceAccountDelete, &ns),
        can_manage_keys: grants.can_namespace(Permission::ApiKeyManage, &ns),
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of the description edit.
#[derive(Debug, Deserialize)]
pub struct DescriptionForm {
    description: String,
}

/// `POST /service-accounts/{sa}`: edit the description.
async fn update_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    form: web::Form<DescriptionForm>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let n = name.clone();
    let description = form.into_inner().description;
    run(&state, &req, &principal, move |conn, ctx, _| {
        accounts::update_account(conn, ctx, &n, Some(&description), None)
    })
    .await?;
    Ok(see_other(&format!(
        "/service-accounts/{}",
        path_segment(&name)
    )))
}

/// Form of the active toggles.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    active: String,
    back: Option<String>,
}

fn parse_active(text: &str) -> AppResult<bool> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(AppError::invalid("active", "must be true or false")),
    }
}

/// `POST /service-accounts/{sa}/active`
async fn set_account_active(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let active = parse_active(&form.active)?;
    let back_to_list = form.back.as_deref() == Some("list");
    let n = name.clone();
    run(&state, &req, &principal, move |conn, ctx, _| {
        accounts::update_account(conn, ctx, &n, None, Some(active))
    })
    .await?;
    // The list's row toggles send `back=list`.
    if back_to_list {
        return Ok(see_other("/service-accounts"));
    }
    Ok(see_other(&format!(
        "/service-accounts/{}",
        path_segment(&name)
    )))
}

/// `POST /service-accounts/{sa}/delete`
async fn delete_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    run(&state, &req, &principal, move |conn, ctx, _| {
        accounts::delete_account(conn, ctx, &name)
    })
    .await?;
    Ok(see_other("/service-accounts"))
}

/// `GET /service-accounts/{sa}/api-keys/new`
async fn new_key_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let n = name.clone();
    run(&state, &req, &principal, move |conn, ctx, _| {
        let (_, ns) = accounts::readable_account(conn, ctx.principal, &n)?;
        crate::access::require_namespace(ctx.principal, Permission::ApiKeyManage, &ns)
    })
    .await?;
    let page = NewKeyPage {
        layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
        account: name,
        form: KeyForm {
            expires: "90".into(),
            ..Default::default()
        },
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of a new key.
#[derive(Debug, Deserialize)]
pub struct CreateKeyForm {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    expires_on: String,
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
    principal: Principal,
    session: Session,
    path: web::Path<String>,
    form: web::Form<CreateKeyForm>,
) -> AppResult<HttpResponse> {
    let account = path.into_inner();
    let f = form.into_inner();
    let binding = reveal::session_binding(&session)?;
    let acc = account.clone();
    let (name, description, expires, expires_on) = (
        f.name.clone(),
        f.description.clone(),
        f.expires.clone(),
        f.expires_on.clone(),
    );
    let result = run(&state, &req, &principal, move |conn, ctx, st| {
        let input = NewKeyInput {
            name: name.trim().to_owned(),
            description: Some(description),
            expires_at: expiry(&expires, &expires_on, now_ms())?,
        };
        let issued = api_keys::create_key(conn, ctx, &st.keys.credential_pepper, &acc, &input)?;
        store_reveal(conn, st, &binding, &issued, &acc)
    })
    .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/reveal/{id}"))),
        Err(err @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            let (errors, error) = match &err {
                AppError::Validation { fields, .. } => (fields.clone(), None),
                other => (Default::default(), Some(other.to_string())),
            };
            let page = NewKeyPage {
                layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
                account,
                form: KeyForm {
                    name: f.name,
                    description: f.description,
                    expires: f.expires,
                    expires_on: f.expires_on,
                    errors,
                    error,
                    ..Default::default()
                },
            };
            let mut res = page.respond_to(&req).map_into_boxed_body();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(other) => Err(other),
    }
}

/// `GET /service-accounts/{sa}/api-keys/{key}/rotate`
async fn rotate_key_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let acc = account.clone();
    let key = run(&state, &req, &principal, move |conn, ctx, _| {
        let key = api_keys::get_key(conn, ctx, &acc, &name)?;
        let (_, ns) = accounts::readable_account(conn, ctx.principal, &acc)?;
        crate::access::require_namespace(ctx.principal, Permission::ApiKeyManage, &ns)?;
        Ok(key)
    })
    .await?;
    let page = RotateKeyPage {
        layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
        account,
        key: KeyRow::new(&key, now_ms()),
        max_retain: MAX_RETAIN_MINUTES,
        form: KeyForm {
            retain: "0".into(),
            ..Default::default()
        },
    };
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
    principal: Principal,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<RotateForm>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let text = form.into_inner().retain_period_minutes;
    let binding = reveal::session_binding(&session)?;
    let (acc, n, t) = (account.clone(), name.clone(), text.clone());
    let result = run(&state, &req, &principal, move |conn, ctx, st| {
        let retain = match t.trim() {
            "" => 0,
            s => s.parse::<i64>().map_err(|_| {
                AppError::invalid("retain_period_minutes", "must be a whole number of minutes")
            })?,
        };
        let issued = api_keys::rotate_key(conn, ctx, &st.keys.credential_pepper, &acc, &n, retain)?;
        store_reveal(conn, st, &binding, &issued, &acc)
    })
    .await;
    match result {
        Ok(id) => Ok(see_other(&format!("/reveal/{id}"))),
        Err(err @ (AppError::Validation { .. } | AppError::Conflict(_))) => {
            let (acc, n) = (account.clone(), name.clone());
            let key = run(&state, &req, &principal, move |conn, ctx, _| {
                api_keys::get_key(conn, ctx, &acc, &n)
            })
            .await?;
            let (errors, error) = match &err {
                AppError::Validation { fields, .. } => (fields.clone(), None),
                other => (Default::default(), Some(other.to_string())),
            };
            let page = RotateKeyPage {
                layout: Layout::new(&principal, &session, Section::ServiceAccounts)?,
                account,
                key: KeyRow::new(&key, now_ms()),
                max_retain: MAX_RETAIN_MINUTES,
                form: KeyForm {
                    retain: text,
                    errors,
                    error,
                    ..Default::default()
                },
            };
            let mut res = page.respond_to(&req).map_into_boxed_body();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(other) => Err(other),
    }
}

/// `POST /service-accounts/{sa}/api-keys/{key}/active`
async fn set_key_active(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    form: web::Form<ActiveForm>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let active = parse_active(&form.active)?;
    let acc = account.clone();
    run(&state, &req, &principal, move |conn, ctx, _| {
        api_keys::update_key(conn, ctx, &acc, &name, None, Some(active))
    })
    .await?;
    Ok(see_other(&format!(
        "/service-accounts/{}",
        path_segment(&account)
    )))
}

/// `POST /service-accounts/{sa}/api-keys/{key}/delete`
async fn delete_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let acc = account.clone();
    run(&state, &req, &principal, move |conn, ctx, _| {
        api_keys::delete_key(conn, ctx, &acc, &name)
    })
    .await?;
    Ok(see_other(&format!(
        "/service-accounts/{}",
        path_segment(&account)
    )))
}

/// `GET /reveal/{id}`: the key once, to the session that created it; 410 afterwards.
async fn show_reveal(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let binding = reveal::session_binding(&session)?;
    let st = state.clone();
    let revealed = state
        .db
        .run(move |conn| reveal::take(conn, &st.reveal_sealer, &id, &binding, now_ms()))
        .await?;
    let layout = Layout::new(&principal, &session, Section::ServiceAccounts)?;
    match revealed {
        Some(r) => {
            let is_key = r.label.starts_with("API key");
            let done_url = if is_key {
                format!("/service-accounts/{}", path_segment(&r.account))
            } else {
                "/access".to_owned()
            };
            let page = RevealPage {
                layout,
                key: r.key,
                label: r.label,
                done_url,
                is_key,
                account: r.account,
                base_url: state
                    .config
                    .public_url
                    .as_str()
                    .trim_end_matches('/')
                    .to_owned(),
            };
            let mut res = page.respond_to(&req).map_into_boxed_body();
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        None => {
            let mut res = RevealedPage { layout }
                .respond_to(&req)
                .map_into_boxed_body();
            *res.status_mut() = StatusCode::GONE;
            Ok(res)
        }
    }
}
