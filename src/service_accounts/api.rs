//! JSON API of service accounts and API keys (`/api/v1/service-accounts…`).

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::accounts::{self, Ctx, NewAccount};
use super::api_keys::{self, NewKeyInput};
use super::models::{AccountJson, KeyJson};
use crate::access;
use crate::access::Principal;
use crate::app::AppState;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::web::client_addr;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/service-accounts")
            .route("", web::get().to(list_accounts))
            .route("", web::post().to(create_account))
            .route("/{sa}", web::get().to(get_account))
            .route("/{sa}", web::patch().to(update_account))
            .route("/{sa}", web::delete().to(delete_account))
            .route("/{sa}/role-bindings", web::get().to(get_bindings))
            .route("/{sa}/role-bindings", web::put().to(put_bindings))
            .route("/{sa}/api-keys", web::get().to(list_keys))
            .route("/{sa}/api-keys", web::post().to(create_key))
            .route("/{sa}/api-keys/{key}", web::get().to(get_key))
            .route("/{sa}/api-keys/{key}", web::patch().to(update_key))
            .route("/{sa}/api-keys/{key}", web::delete().to(delete_key))
            .route("/{sa}/api-keys/{key}/rotate", web::post().to(rotate_key)),
    );
}

/// Runs a service-account operation on the blocking pool with the caller's context.
pub(super) async fn with_ctx<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: Principal,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&mut crate::db::DbConnection, &Ctx<'_>, &AppState) -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let client = client_addr(req);
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            let ctx = Ctx {
                principal: &principal,
                client: &client,
                cache: &st.key_cache,
            };
            f(conn, &ctx, &st)
        })
        .await
}

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    namespace: Option<String>,
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_accounts(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let page = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::list_accounts(
            conn,
            ctx.principal,
            q.namespace.as_deref(),
            q.search.as_deref(),
            cursor.as_deref(),
            limit,
        )
    })
    .await?;
    let items: Vec<AccountJson> = page.items.iter().map(AccountJson::from).collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": page.next_cursor.as_deref().map(encode_cursor),
    })))
}

/// Body of account creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountBody {
    name: String,
    namespace: Option<String>,
    description: Option<String>,
    active: Option<bool>,
}

async fn create_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<CreateAccountBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let input = NewAccount {
        name: b.name,
        namespace: b.namespace,
        description: b.description,
        active: b.active,
    };
    let created = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::create_account(conn, ctx, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(AccountJson::from(&created)))
}

async fn get_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let found = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::summary(conn, ctx.principal, &name)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&found)))
}

/// Body of PATCH (account or key).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBody {
    description: Option<String>,
    active: Option<bool>,
}

async fn update_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<PatchBody>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let b = body.into_inner();
    let updated = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::update_account(conn, ctx, &name, b.description.as_deref(), b.active)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&updated)))
}

async fn delete_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::delete_account(conn, ctx, &name)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_bindings(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let map = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::bindings(conn, ctx.principal, &name)
    })
    .await?;
    Ok(HttpResponse::Ok().json(map))
}

async fn put_bindings(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<BTreeMap<String, Vec<String>>>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let bindings = access::parse_binding_map(&body)?;
    let map = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        accounts::set_bindings(conn, ctx, &name, &bindings)
    })
    .await?;
    Ok(HttpResponse::Ok().json(map))
}

async fn list_keys(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let account = path.into_inner();
    let acc = account.clone();
    let keys = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        api_keys::list_keys(conn, ctx, &acc)
    })
    .await?;
    let now = now_ms();
    let items: Vec<KeyJson> = keys
        .iter()
        .map(|k| KeyJson::new(k, &account, now, None))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}

/// Body of key creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    name: String,
    description: Option<String>,
    expires_at: Option<String>,
}

/// Parses an RFC 3339 time into ms.
fn parse_time(field: &str, text: &str) -> AppResult<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time like 2027-01-31T00:00:00Z"))
}

async fn create_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<CreateKeyBody>,
) -> AppResult<HttpResponse> {
    let account = path.into_inner();
    let b = body.into_inner();
    let input = NewKeyInput {
        name: b.name,
        description: b.description,
        expires_at: b
            .expires_at
            .as_deref()
            .map(|t| parse_time("expires_at", t))
            .transpose()?,
    };
    let acc = account.clone();
    let issued = with_ctx(&state, &req, principal, move |conn, ctx, st| {
        api_keys::create_key(conn, ctx, &st.keys.credential_pepper, &acc, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(KeyJson::new(
        &issued.key,
        &account,
        now_ms(),
        Some(issued.plaintext),
    )))
}

async fn get_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let acc = account.clone();
    let key = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        api_keys::get_key(conn, ctx, &acc, &name)
    })
    .await?;
    Ok(HttpResponse::Ok().json(KeyJson::new(&key, &account, now_ms(), None)))
}

async fn update_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<PatchBody>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let b = body.into_inner();
    let acc = account.clone();
    let key = with_ctx(&state, &req, principal, move |conn, ctx, _| {
        api_keys::update_key(conn, ctx, &acc, &name, b.description.as_deref(), b.active)
    })
    .await?;
    Ok(HttpResponse::Ok().json(KeyJson::new(&key, &account, now_ms(), None)))
}

async fn delete_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    with_ctx(&state, &req, principal, move |conn, ctx, _| {
        api_keys::delete_key(conn, ctx, &account, &name)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of rotation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    retain_period_minutes: Option<i64>,
}

async fn rotate_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<RotateBody>,
) -> AppResult<HttpResponse> {
    let (account, name) = path.into_inner();
    let retain = body.into_inner().retain_period_minutes.unwrap_or(0);
    let acc = account.clone();
    let issued = with_ctx(&state, &req, principal, move |conn, ctx, st| {
        api_keys::rotate_key(conn, ctx, &st.keys.credential_pepper, &acc, &name, retain)
    })
    .await?;
    Ok(HttpResponse::Ok().json(KeyJson::new(
        &issued.key,
        &account,
        now_ms(),
        Some(issued.plaintext),
    )))
}
