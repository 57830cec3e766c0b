//! JSON API of the connector catalog, registered connectors and their resources.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::brokering;
use super::calls;
use super::providers::Verification;
use super::registry::{self, Draft, ListQuery, Listed, Patch};
use crate::app::Cx;
use crate::db::rfc3339;
use crate::errors::{AppError, AppResult};
use crate::names::{Address, Namespaced, Scoped};
use crate::web::Reply;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Query of the type list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeQuery {
    resource_type: Option<String>,
    auth_method: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn list_types(cx: Cx, query: web::Query<TypeQuery>) -> Reply {
    let (q, catalog) = (query.into_inner(), &cx.state.catalog);
    let limit = pagination::limit(q.limit)? as usize;
    let after = decode_cursor(q.cursor.as_deref())?;
    let matching = catalog.filtered(
        q.resource_type.as_deref().filter(|s| !s.is_empty()),
        q.auth_method.as_deref().filter(|s| !s.is_empty()),
    );
    // Catalog order; the cursor is the last type id of the previous page.
    let start = match &after {
        Some(id) => matching
            .iter()
            .position(|t| &t.connector_type == id)
            .map_or(matching.len(), |i| i + 1),
        None => 0,
    };
    let page: Vec<_> = matching.iter().skip(start).take(limit).collect();
    let next = (start + page.len() < matching.len())
        .then(|| page.last().map(|t| encode_cursor(&t.connector_type)))
        .flatten();
    // The types' JSON is serialized once at start-up; a page only joins it.
    let items: Vec<&str> = page.iter().map(|t| catalog.serialized(t)).collect();
    let body = format!(
        "{{\"items\":[{}],\"next_cursor\":{}}}",
        items.join(","),
        Value::from(next)
    );
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

pub async fn get_type(cx: Cx, path: web::Path<String>) -> Reply {
    let catalog = &cx.state.catalog;
    let t = catalog.get(&path).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(catalog.serialized(t).to_owned()))
}

/// A page of readable connectors for the list parameters `limit` and `cursor`, and the
/// cursor of the next page.
async fn page(
    cx: &Cx,
    filter: ListQuery,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> AppResult<(Vec<Listed>, Option<String>)> {
    let limit = pagination::limit(limit)?;
    let after = decode_cursor(cursor)?;
    let (items, next) = calls::list(cx, filter, after, limit).await?;
    Ok((items, next.as_deref().map(encode_cursor)))
}

/// The body of a list: `{"items": […], "next_cursor": …}`.
fn list_body(items: Vec<Value>, next_cursor: Option<String>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": next_cursor,
    }))
}

/// Query of the connector list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorQuery {
    namespace: Option<String>,
    connector_type: Option<String>,
    resource_type: Option<String>,
    label: Option<String>,
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl Namespaced for ConnectorQuery {
    fn namespace_mut(&mut self) -> &mut Option<String> {
        &mut self.namespace
    }
}

pub async fn list_connectors(cx: Cx, query: Scoped<web::Query<ConnectorQuery>>) -> Reply {
    let q = query.0.into_inner();
    let filter = ListQuery {
        namespace: q.namespace,
        connector_type: q.connector_type,
        resource_type: q.resource_type,
        label: q.label,
        search: q.search,
    };
    let (items, next) = page(&cx, filter, q.limit, q.cursor.as_deref()).await?;
    let items = items.iter().map(|(c, r)| c.json(r)).collect();
    Ok(list_body(items, next))
}

/// Body of `POST /api/v1/connectors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    namespace: Option<String>,
    connector_type: String,
    auth_method: String,
    resource_types: Option<Vec<String>>,
    resource_id: Option<String>,
    resource_ids: Option<Vec<String>>,
    #[serde(default)]
    configuration: Map<String, Value>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    expires_at: Option<String>,
    expiration_seconds: Option<i64>,
    description: Option<String>,
}

impl From<CreateBody> for Draft {
    fn from(b: CreateBody) -> Self {
        Self {
            name: b.name,
            namespace: b.namespace.unwrap_or_else(|| "default".into()),
            connector_type: b.connector_type,
            auth_method: b.auth_method,
            resource_types: b.resource_types.unwrap_or_default(),
            resource_id: b.resource_id,
            resource_ids: b.resource_ids,
            pin_inherited: false,
            configuration: b.configuration,
            labels: b.labels,
            description: b.description.unwrap_or_default(),
            expires_at: b.expires_at,
            expiration_seconds: b.expiration_seconds,
            unread: Default::default(),
        }
    }
}

impl Namespaced for CreateBody {
    fn namespace_mut(&mut self) -> &mut Option<String> {
        &mut self.namespace
    }
}

pub async fn create_connector(cx: Cx, body: Scoped<web::Json<CreateBody>>) -> Reply {
    let (c, resources) = calls::create(&cx, body.0.into_inner().into()).await?;
    Ok(HttpResponse::Created().json(c.json(&resources)))
}

pub async fn get_connector(cx: Cx, at: Address) -> Reply {
    let (c, resources) = calls::get(&cx, at).await?;
    Ok(HttpResponse::Ok().json(c.json(&resources)))
}

pub async fn update_connector(cx: Cx, at: Address, body: web::Json<Map<String, Value>>) -> Reply {
    // Who may change it is answered before what the change says.
    let current = calls::editable(&cx, at).await?;
    let patch = Patch::from_json(body.into_inner(), &current)?;
    let (c, resources) = calls::update(&cx, current.address(), patch).await?;
    Ok(HttpResponse::Ok().json(c.json(&resources)))
}

pub async fn delete_connector(cx: Cx, at: Address) -> Reply {
    calls::delete(&cx, at).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of `POST /api/v1/connectors/{name}/verify` (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    resource_type: Option<String>,
    resource_id: Option<String>,
}

/// `POST /api/v1/connectors/{name}/verify`: 200 with what the connector reaches; a
/// provider's refusal is the `error` of the body, not a failed request.
pub async fn verify_connector(cx: Cx, at: Address, body: Option<web::Json<VerifyBody>>) -> Reply {
    let b = body.map(|b| b.into_inner()).unwrap_or_default();
    let v = brokering::verify(&cx, at, b.resource_type, b.resource_id).await?;
    Ok(HttpResponse::Ok().json(verification_json(&v)))
}

/// The API shape of a verification.
pub(super) fn verification_json(v: &Verification) -> Value {
    json!({
        "resources": v.resources.iter().map(|r| json!({
            "resource_type": r.resource_type,
            "resource_ids": r.resource_ids,
            "error": r.error,
        })).collect::<Vec<_>>(),
        "error": v.error,
    })
}

/// Body of `POST /api/v1/connectors/{name}/client-credentials`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    resource_type: String,
    resource_id: Option<String>,
}

/// `POST /api/v1/connectors/{name}/client-credentials` (`connector::use`).
pub async fn client_credentials(cx: Cx, at: Address, body: web::Json<CredentialsBody>) -> Reply {
    let b = body.into_inner();
    let (rt, id, issued) =
        brokering::client_credentials(&cx, at, b.resource_type, b.resource_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({
            "resource_type": rt,
            "resource_id": id,
            "credentials": issued.credentials,
            "expires_at": issued.expires_at.map(rfc3339),
        })))
}

/// Query of the resources list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesQuery {
    resource_type: Option<String>,
    connector_type: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// `GET /api/v1/resources`: one row per readable connector and resource type (a page
/// holds up to `limit` connectors).
pub async fn list_resources(cx: Cx, query: web::Query<ResourcesQuery>) -> Reply {
    let q = query.into_inner();
    let resource_type = q.resource_type.filter(|s| !s.is_empty());
    let filter = ListQuery {
        connector_type: q.connector_type,
        resource_type: resource_type.clone(),
        ..Default::default()
    };
    let (items, next) = page(&cx, filter, q.limit, q.cursor.as_deref()).await?;
    let rows = registry::resources_of(&items, resource_type.as_deref())
        .map(|(c, r)| {
            json!({
                "connector": c.row.name,
                "namespace": c.namespace,
                "connector_type": c.row.connector_type,
                "auth_method": c.row.auth_method,
                "resource_type": r.resource_type,
                "resource_ids": r.ids(),
                "error": r.error,
                "origin": r.origin,
                "checked_at": crate::db::rfc3339(r.checked_at),
            })
        })
        .collect();
    Ok(list_body(rows, next))
}
