//! JSON API of service accounts and API keys (`/api/v1/service-accounts…`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

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

/// Query of the list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    namespace: Option<String>,
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl Namespaced for ListQuery {
    fn namespace_mut(&mut self) -> &mut Option<String> {
        &mut self.namespace
    }
}

async fn list_accounts(cx: Cx, query: Scoped<web::Query<ListQuery>>) -> Reply {
    let q = query.0.into_inner();
    let limit = pagination::limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let page = cx
        .run(move |conn, actor, _| {
            let filter = ListFilter {
                namespace: q.namespace.as_deref(),
                search: q.search.as_deref(),
                after: cursor.as_deref(),
                limit,
            };
            accounts::list_accounts(conn, actor.grants(), &filter)
        })
        .await?;
    let items: Vec<AccountJson> = page.items.iter().map(AccountJson::from).collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": page.next_cursor.as_deref().map(encode_cursor),
    })))
}

async fn create_account(cx: Cx, body: Scoped<web::Json<NewAccount>>) -> Reply {
    let input = body.0.into_inner();
    let created = cx
        .run(move |conn, actor, _| accounts::create_account(conn, actor, &input))
        .await?;
    Ok(HttpResponse::Created().json(AccountJson::from(&created)))
}

async fn get_account(cx: Cx, at: Address) -> Reply {
    let found = cx
        .run(move |conn, actor, _| accounts::summary(conn, actor.grants(), &at))
        .await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&found)))
}

async fn update_account(cx: Cx, at: Address, body: web::Json<Edit>) -> Reply {
    let updated = actions::update_account(&cx, at, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&updated)))
}

async fn delete_account(cx: Cx, at: Address) -> Reply {
    actions::delete_account(&cx, at).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_bindings(cx: Cx, at: Address) -> Reply {
    let map = cx
        .run(move |conn, actor, _| grants::bindings(conn, actor.grants(), &at))
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

async fn put_bindings(
    cx: Cx,
    at: Address,
    body: web::Json<BTreeMap<String, Vec<String>>>,
) -> Reply {
    let bindings = access::parse_binding_map(&body)?;
    let map = cx
        .run(move |conn, actor, st| {
            grants::set_bindings(conn, actor, &st.key_cache, &at, &bindings)
        })
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

/// `GET …/service-accounts/{sa}/environments`: what the account can read, for a global
/// admin, or within the namespaces a namespace admin administers (the account must be
/// readable: 404 otherwise; 403 when its bindings reach none of the caller's
/// namespaces); same filters and paging as `/api/v1/environments`.
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
    Ok(HttpResponse::Ok().json(crate::environments::api::env_page(rows, total, limit)))
}

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

/// A new or rotated key with its plaintext, shown this once.
fn issued_json(issued: IssuedKey, account: &str) -> KeyJson {
    KeyJson::new(&issued.key, account, now_ms(), Some(issued.plaintext))
}

/// A key as shown (without its plaintext).
fn key_json(key: &ApiKey, account: &str) -> KeyJson {
    KeyJson::new(key, account, now_ms(), None)
}

async fn create_key(cx: Cx, account: Address, body: web::Json<CreateKeyBody>) -> Reply {
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

async fn get_key(cx: Cx, at: KeyAt) -> Reply {
    let name = at.account.name.clone();
    let key = cx
        .run(move |conn, actor, _| api_keys::get_key(conn, actor.grants(), &at.account, &at.key))
        .await?;
    Ok(HttpResponse::Ok().json(key_json(&key, &name)))
}

async fn update_key(cx: Cx, at: KeyAt, body: web::Json<Edit>) -> Reply {
    let name = at.account.name.clone();
    let key = actions::update_key(&cx, at, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(key_json(&key, &name)))
}

async fn delete_key(cx: Cx, at: KeyAt) -> Reply {
    actions::delete_key(&cx, at).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of rotation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    retain_period_minutes: Option<i64>,
}

async fn rotate_key(cx: Cx, at: KeyAt, body: web::Json<RotateBody>) -> Reply {
    let name = at.account.name.clone();
    let retain = body.into_inner().retain_period_minutes.unwrap_or(0);
    let issued = actions::rotate_key(&cx, at, retain).await?;
    Ok(HttpResponse::Ok().json(issued_json(issued, &name)))
}
