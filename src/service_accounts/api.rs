//! JSON API of service accounts and API keys (`/api/v1/service-accounts…`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::accounts::{self, Edit, NewAccount};
use super::actions;
use super::api_keys::{self, IssuedKey, KeyAt, NewKeyInput};
use super::grants;
use super::models::{AccountJson, ApiKey, KeyJson};
use super::repo::ListFilter;
use crate::access;
use crate::app::Cx;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::names::{Address, Namespaced, Scoped};
use crate::web::Reply;
use crate::web::api::{Json, Page};

/// The operations of this module in the OpenAPI document (each also under
/// `/api/v1/namespaces/{ns}/…`: added by `crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_accounts,
    create_account,
    get_account,
    update_account,
    delete_account,
    get_bindings,
    put_bindings,
    get_environments,
    list_keys,
    create_key,
    get_key,
    update_key,
    delete_key,
    rotate_key,
    super::trust::get_trust,
    super::trust::put_trust
))]
pub(super) struct Doc;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Routes, each under `/api/v1/namespaces/{ns}/service-accounts` and the older
/// `/api/v1/service-accounts` (answered where a name is unambiguous); a method a path
/// does not take is answered 405 with `Allow`.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    for prefix in [
        "/api/v1/namespaces/{ns}/service-accounts",
        "/api/v1/service-accounts",
    ] {
        cfg.service(routes(prefix));
    }
}

/// The routes under `prefix`.
fn routes(prefix: &str) -> actix_web::Scope {
    let key = "/{name}/api-keys/{key}";
    web::scope(prefix)
        .service(web::resource("").get(list_accounts).post(create_account))
        .service(
            web::resource("/{name}")
                .get(get_account)
                .patch(update_account)
                .delete(delete_account),
        )
        .service(
            web::resource("/{name}/role-bindings")
                .get(get_bindings)
                .put(put_bindings),
        )
        .service(web::resource("/{name}/environments").get(get_environments))
        .service(
            web::resource("/{name}/trust")
                .get(super::trust::get_trust)
                .put(super::trust::put_trust),
        )
        .service(
            web::resource("/{name}/api-keys")
                .get(list_keys)
                .post(create_key),
        )
        .service(
            web::resource(key)
                .get(get_key)
                .patch(update_key)
                .delete(delete_key),
        )
        .service(web::resource(format!("{key}/rotate")).post(rotate_key))
}

/// The path of an account (read by `names::Address`), described.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "describes the path; `Address` reads it")]
struct AccountPath {
    /// The service account.
    name: String,
}

/// The path of a key (read by `KeyAt`), described.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "describes the path; `KeyAt` reads it")]
struct KeyPath {
    /// The service account.
    name: String,
    /// The key's name.
    key: String,
}

/// Query of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this namespace.
    namespace: Option<String>,
    /// Names containing this text.
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl Namespaced for ListQuery {
    fn namespace_mut(&mut self) -> &mut Option<String> {
        crate::names::blank_as_none(&mut self.namespace)
    }
}

/// List service accounts.
#[utoipa::path(get, path = "/api/v1/service-accounts", tag = "service accounts",
    params(ListQuery),
    responses((status = 200, description = "The accounts the caller may read, by name.", body = Page<AccountJson>)))]
async fn list_accounts(cx: Cx, query: Scoped<web::Query<ListQuery>>) -> Reply {
    let q = query.0.into_inner();
    let limit = pagination::limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let page = cx
        .read(move |conn, actor, _| {
            let filter = ListFilter {
                namespace: q.namespace.as_deref(),
                search: q.search.as_deref(),
                after: cursor.as_deref(),
                limit,
            };
            accounts::list_accounts(conn, actor.grants(), &filter)
        })
        .await?;
    let items: Vec<AccountJson<'_>> = page.items.iter().map(AccountJson::from).collect();
    let size_hint = 64
        + items
            .iter()
            .map(|a| 256 + a.description.len())
            .sum::<usize>();
    let next = page.next_cursor.as_deref().map(encode_cursor);
    Ok(crate::web::api::json_ok(&Page::new(items, next), size_hint))
}

/// Create a service account.
#[utoipa::path(post, path = "/api/v1/service-accounts", tag = "service accounts",
    request_body = NewAccount,
    responses((status = 201, description = "Created.", body = AccountJson)))]
async fn create_account(cx: Cx, body: Scoped<Json<NewAccount>>) -> Reply {
    let input = body.0.into_inner();
    let created = cx
        .run(move |conn, actor, _| accounts::create_account(conn, actor, &input))
        .await?;
    Ok(HttpResponse::Created().json(AccountJson::from(&created)))
}

/// Show a service account.
#[utoipa::path(get, path = "/api/v1/service-accounts/{name}", tag = "service accounts",
    params(AccountPath),
    responses((status = 200, description = "The account.", body = AccountJson)))]
async fn get_account(cx: Cx, at: Address) -> Reply {
    let found = cx
        .run(move |conn, actor, _| accounts::summary(conn, actor.grants(), &at))
        .await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&found)))
}

/// Change a service account.
#[utoipa::path(patch, path = "/api/v1/service-accounts/{name}", tag = "service accounts",
    params(AccountPath),
    request_body = Edit,
    responses((status = 200, description = "Changed.", body = AccountJson)))]
async fn update_account(cx: Cx, at: Address, body: Json<Edit>) -> Reply {
    let updated = actions::update_account(&cx, at, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&updated)))
}

/// Delete a service account.
#[utoipa::path(delete, path = "/api/v1/service-accounts/{name}", tag = "service accounts",
    params(AccountPath),
    responses((status = 204, description = "Deleted, with its keys and bindings.")))]
async fn delete_account(cx: Cx, at: Address) -> Reply {
    actions::delete_account(&cx, at).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Show a service account's role bindings.
#[utoipa::path(get, path = "/api/v1/service-accounts/{name}/role-bindings", tag = "service accounts",
    params(AccountPath),
    responses((status = 200, description = "Its role bindings: pattern → roles.", body = access::RoleBindings)))]
async fn get_bindings(cx: Cx, at: Address) -> Reply {
    let map = cx
        .run(move |conn, actor, _| grants::bindings(conn, actor.grants(), &at))
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

/// Replace a service account's role bindings.
#[utoipa::path(put, path = "/api/v1/service-accounts/{name}/role-bindings", tag = "service accounts",
    params(AccountPath),
    request_body(content = access::RoleBindings, description = "Pattern (`ns/env`, globs allowed) → roles; replaces every binding. Never more than the caller holds."),
    responses((status = 200, description = "The bindings now held.", body = access::RoleBindings)))]
async fn put_bindings(cx: Cx, at: Address, body: Json<BTreeMap<String, Vec<String>>>) -> Reply {
    let bindings = access::parse_binding_map(&body)?;
    let map = cx
        .run(move |conn, actor, st| {
            grants::set_bindings(conn, actor, &st.key_cache, &at, &bindings)
        })
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

/// What a service account can read.
///
/// For a global
/// admin, or within the namespaces a namespace admin administers (the account must be
/// readable: 404 otherwise; 403 when its bindings reach none of the caller's
/// namespaces); same filters and paging as `/api/v1/environments`.
#[utoipa::path(get, path = "/api/v1/service-accounts/{name}/environments", tag = "service accounts",
    params(AccountPath, crate::environments::api::EnvQuery),
    responses((status = 200, description = "What the account can read (within what the caller administers).", body = crate::environments::api::EnvPage)))]
async fn get_environments(
    cx: Cx,
    at: Address,
    q: web::Query<crate::environments::api::EnvQuery>,
) -> Reply {
    let filter = q.filter()?;
    let limit = filter.limit;
    let cap = cx.actor.oversight()?;
    let (rows, total) = cx
        .run(move |conn, actor, st| {
            let (account, _) = accounts::readable_account(conn, actor.grants(), &at)?;
            let held = access::load_service_account_grants(conn, account.id)?;
            let grants = match cap {
                Some(overseer) if held.seen_by(&overseer).bindings().is_empty() => {
                    return Err(AppError::Forbidden(
                        "this account's bindings reach no namespace you administer".into(),
                    ));
                }
                Some(overseer) => access::Grants::capped_by(held.bindings().to_vec(), overseer),
                None => held,
            };
            crate::environments::list_environments(conn, &grants, &filter, &st.env_totals)
        })
        .await?;
    Ok(crate::environments::api::env_page(rows, total, limit))
}

/// List a service account's API keys.
#[utoipa::path(get, path = "/api/v1/service-accounts/{name}/api-keys", tag = "service accounts",
    params(AccountPath),
    responses((status = 200, description = "Its keys (never their secrets).", body = Page<KeyJson>)))]
async fn list_keys(cx: Cx, account: Address) -> Reply {
    let name = account.name.clone();
    let keys = cx
        .run(move |conn, actor, _| api_keys::list_keys(conn, actor.grants(), &account))
        .await?;
    let now = now_ms();
    let items: Vec<KeyJson> = keys
        .iter()
        .map(|k| KeyJson::new(k, &name, now, None))
        .collect();
    Ok(HttpResponse::Ok().json(Page::all(items)))
}

/// Body of key creation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// Unique among the account's keys.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    name: String,
    /// What it is for.
    description: Option<String>,
    /// When it stops working (RFC 3339); none: it does not expire.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

/// Parses an RFC 3339 time into ms.
fn parse_time(field: &str, text: &str) -> AppResult<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| AppError::invalid(field, "must be an RFC 3339 time like 2027-01-31T00:00:00Z"))
}

/// A new or rotated key with its plaintext, shown this once.
fn issued_json(issued: IssuedKey, account: &str) -> KeyJson {
    KeyJson::new(&issued.key, account, now_ms(), Some(issued.plaintext))
}

/// A key as shown (without its plaintext).
fn key_json(key: &ApiKey, account: &str) -> KeyJson {
    KeyJson::new(key, account, now_ms(), None)
}

/// Create an API key.
#[utoipa::path(post, path = "/api/v1/service-accounts/{name}/api-keys", tag = "service accounts",
    params(AccountPath),
    request_body = CreateKeyBody,
    responses((status = 201, description = "The new key, with its secret `key` shown this once.", body = KeyJson)))]
async fn create_key(cx: Cx, account: Address, body: Json<CreateKeyBody>) -> Reply {
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
    let name = account.name.clone();
    let issued = actions::create_key(&cx, account, input).await?;
    Ok(HttpResponse::Created().json(issued_json(issued, &name)))
}

/// Show an API key.
#[utoipa::path(get, path = "/api/v1/service-accounts/{name}/api-keys/{key}", tag = "service accounts",
    params(KeyPath),
    responses((status = 200, description = "The key.", body = KeyJson)))]
async fn get_key(cx: Cx, at: KeyAt) -> Reply {
    let name = at.account.name.clone();
    let key = cx
        .run(move |conn, actor, _| api_keys::get_key(conn, actor.grants(), &at.account, &at.key))
        .await?;
    Ok(HttpResponse::Ok().json(key_json(&key, &name)))
}

/// Change an API key.
#[utoipa::path(patch, path = "/api/v1/service-accounts/{name}/api-keys/{key}", tag = "service accounts",
    params(KeyPath),
    request_body = Edit,
    responses((status = 200, description = "Changed.", body = KeyJson)))]
async fn update_key(cx: Cx, at: KeyAt, body: Json<Edit>) -> Reply {
    let name = at.account.name.clone();
    let key = actions::update_key(&cx, at, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(key_json(&key, &name)))
}

/// Delete an API key.
#[utoipa::path(delete, path = "/api/v1/service-accounts/{name}/api-keys/{key}", tag = "service accounts",
    params(KeyPath),
    responses((status = 204, description = "Revoked and deleted.")))]
async fn delete_key(cx: Cx, at: KeyAt) -> Reply {
    actions::delete_key(&cx, at).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of rotation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// How long the old secret keeps working, in minutes (default 0: not at all).
    #[schema(minimum = 0, maximum = 43200)]
    retain_period_minutes: Option<i64>,
}

/// Rotate an API key.
#[utoipa::path(post, path = "/api/v1/service-accounts/{name}/api-keys/{key}/rotate", tag = "service accounts",
    params(KeyPath),
    request_body = RotateBody,
    responses((status = 200, description = "The new secret `key`, shown this once; the old one works until `retain_until`.", body = KeyJson)))]
async fn rotate_key(cx: Cx, at: KeyAt, body: Json<RotateBody>) -> Reply {
    let name = at.account.name.clone();
    let retain = body.into_inner().retain_period_minutes.unwrap_or(0);
    let issued = actions::rotate_key(&cx, at, retain).await?;
    Ok(HttpResponse::Ok().json(issued_json(issued, &name)))
}
