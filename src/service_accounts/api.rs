//! JSON API of service accounts and API keys (`/api/v1/service-accounts…`).

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::accounts::{self, Edit, NewAccount};
use super::actions;
use super::api_keys::{self, IssuedKey, NewKeyInput};
use super::grants;
use super::models::{AccountJson, ApiKey, KeyJson};
use super::repo::ListFilter;
use crate::access;
use crate::app::Cx;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Routes; a method a path does not take is answered 405 with `Allow`.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let key = "/{sa}/api-keys/{key}";
    cfg.service(
        web::scope("/api/v1/service-accounts")
            .service(web::resource("").get(list_accounts).post(create_account))
            .service(
                web::resource("/{sa}")
                    .get(get_account)
                    .patch(update_account)
                    .delete(delete_account),
            )
            .service(
                web::resource("/{sa}/role-bindings")
                    .get(get_bindings)
                    .put(put_bindings),
            )
            .service(
                web::resource("/{sa}/api-keys")
                    .get(list_keys)
                    .post(create_key),
            )
            .service(
                web::resource(key)
                    .get(get_key)
                    .patch(update_key)
                    .delete(delete_key),
            )
            .service(web::resource(format!("{key}/rotate")).post(rotate_key)),
    );
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

async fn list_accounts(cx: Cx, query: web::Query<ListQuery>) -> Reply {
    let q = query.into_inner();
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

async fn create_account(cx: Cx, body: web::Json<NewAccount>) -> Reply {
    let input = body.into_inner();
    let created = cx
        .run(move |conn, actor, _| accounts::create_account(conn, actor, &input))
        .await?;
    Ok(HttpResponse::Created().json(AccountJson::from(&created)))
}

async fn get_account(cx: Cx, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let found = cx
        .run(move |conn, actor, _| accounts::summary(conn, actor.grants(), &name))
        .await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&found)))
}

async fn update_account(cx: Cx, path: web::Path<String>, body: web::Json<Edit>) -> Reply {
    let updated = actions::update_account(&cx, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(AccountJson::from(&updated)))
}

async fn delete_account(cx: Cx, path: web::Path<String>) -> Reply {
    actions::delete_account(&cx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn get_bindings(cx: Cx, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let map = cx
        .run(move |conn, actor, _| grants::bindings(conn, actor.grants(), &name))
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

async fn put_bindings(
    cx: Cx,
    path: web::Path<String>,
    body: web::Json<BTreeMap<String, Vec<String>>>,
) -> Reply {
    let name = path.into_inner();
    let bindings = access::parse_binding_map(&body)?;
    let map = cx
        .run(move |conn, actor, st| {
            grants::set_bindings(conn, actor, &st.key_cache, &name, &bindings)
        })
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

async fn list_keys(cx: Cx, path: web::Path<String>) -> Reply {
    let account = path.into_inner();
    let acc = account.clone();
    let keys = cx
        .run(move |conn, actor, _| api_keys::list_keys(conn, actor.grants(), &acc))
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

/// A new or rotated key with its plaintext, shown this once.
fn issued_json(issued: IssuedKey, account: &str) -> KeyJson {
    KeyJson::new(&issued.key, account, now_ms(), Some(issued.plaintext))
}

/// A key as shown (without its plaintext).
fn key_json(key: &ApiKey, account: &str) -> KeyJson {
    KeyJson::new(key, account, now_ms(), None)
}

async fn create_key(cx: Cx, path: web::Path<String>, body: web::Json<CreateKeyBody>) -> Reply {
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
    let issued = actions::create_key(&cx, account.clone(), input).await?;
    Ok(HttpResponse::Created().json(issued_json(issued, &account)))
}

async fn get_key(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    let (account, name) = path.into_inner();
    let acc = account.clone();
    let key = cx
        .run(move |conn, actor, _| api_keys::get_key(conn, actor.grants(), &acc, &name))
        .await?;
    Ok(HttpResponse::Ok().json(key_json(&key, &account)))
}

async fn update_key(cx: Cx, path: web::Path<(String, String)>, body: web::Json<Edit>) -> Reply {
    let path = path.into_inner();
    let account = path.0.clone();
    let key = actions::update_key(&cx, path, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(key_json(&key, &account)))
}

async fn delete_key(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    actions::delete_key(&cx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of rotation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    retain_period_minutes: Option<i64>,
}

async fn rotate_key(
    cx: Cx,
    path: web::Path<(String, String)>,
    body: web::Json<RotateBody>,
) -> Reply {
    let path = path.into_inner();
    let account = path.0.clone();
    let retain = body.into_inner().retain_period_minutes.unwrap_or(0);
    let issued = actions::rotate_key(&cx, path, retain).await?;
    Ok(HttpResponse::Ok().json(issued_json(issued, &account)))
}
