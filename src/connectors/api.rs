//! JSON API of the connector catalog, registered connectors and their resources.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::models::Connector;
use super::registry::{self, Ctx, Draft, ListQuery, Patch};
use crate::access::Permission;
use crate::access::Principal;
use crate::app::AppState;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::web::client_addr;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/connector-types", web::get().to(list_types))
        .route("/api/v1/connector-types/{type}", web::get().to(get_type))
        .route("/api/v1/resources", web::get().to(list_resources))
        .service(
            web::scope("/api/v1/connectors")
                .route("", web::get().to(list_connectors))
                .route("", web::post().to(create_connector))
                .route("/{name}", web::get().to(get_connector))
                .route("/{name}", web::patch().to(update_connector))
                .route("/{name}", web::delete().to(delete_connector))
                .route("/{name}/verify", web::post().to(verify_connector))
                .route(
                    "/{name}/client-credentials",
                    web::post().to(client_credentials),
                ),
        );
}

/// Runs a connector operation on the blocking pool with the caller's context.
pub(super) async fn with_ctx<T, F>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: Principal,
    f: F,
) -> AppResult<T>
where
    F: FnOnce(&mut crate::db::DbConnection, &Ctx<'_>) -> AppResult<T> + Send + 'static,
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
                catalog: &st.catalog,
                sealer: &st.connector_sealer,
            };
            f(conn, &ctx)
        })
        .await
}

/// Query of the type list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeQuery {
    resource_type: Option<String>,
    auth_method: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_types(
    state: web::Data<AppState>,
    _principal: Principal,
    query: web::Query<TypeQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)? as usize;
    let after = decode_cursor(q.cursor.as_deref())?;
    let matching = state.catalog.filtered(
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
    let items: Vec<&str> = page.iter().map(|t| state.catalog.serialized(t)).collect();
    let body = format!(
        "{{\"items\":[{}],\"next_cursor\":{}}}",
        items.join(","),
        Value::from(next)
    );
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

async fn get_type(
    state: web::Data<AppState>,
    _principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let t = state.catalog.get(&path).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(state.catalog.serialized(t).to_owned()))
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

async fn list_connectors(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    query: web::Query<ConnectorQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let filter = ListQuery {
        namespace: q.namespace,
        connector_type: q.connector_type,
        resource_type: q.resource_type,
        label: q.label,
        search: q.search,
    };
    let (items, next) = with_ctx(&state, &req, principal, move |conn, ctx| {
        registry::list(conn, ctx.principal, &filter, cursor.as_deref(), limit)
    })
    .await?;
    let items: Vec<Value> = items.iter().map(|(c, r)| c.json(r)).collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": next.as_deref().map(encode_cursor),
    })))
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

async fn create_connector(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<CreateBody>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let draft = Draft {
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
    };
    let (c, resources) = with_ctx(&state, &req, principal, move |conn, ctx| {
        let c = registry::create(conn, ctx, &draft)?;
        registry::with_resources(conn, c)
    })
    .await?;
    Ok(HttpResponse::Created().json(c.json(&resources)))
}

async fn get_connector(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let (c, resources) = with_ctx(&state, &req, principal, move |conn, ctx| {
        registry::get(conn, ctx.principal, &name)
    })
    .await?;
    Ok(HttpResponse::Ok().json(c.json(&resources)))
}

/// Reads a PATCH body: absent keeps, `null` clears (where that means something).
fn parse_patch(body: Map<String, Value>, current: &Connector) -> AppResult<Patch> {
    let mut p = Patch::default();
    let mut fields = FieldErrors::new();
    let text = |k: &str, v: &Value| -> AppResult<Option<String>> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(AppError::BadRequest {
                message: format!("{k} must be a string or null"),
                fields: FieldErrors::new(),
            }),
        }
    };
    let strings = |k: &str, v: Value| -> AppResult<Vec<String>> {
        serde_json::from_value(v)
            .map_err(|_| AppError::bad_request(format!("{k} must be a list of strings")))
    };
    for (k, v) in body {
        match k.as_str() {
            "name" | "namespace" | "connector_type" => {
                let now = match k.as_str() {
                    "name" => &current.row.name,
                    "namespace" => &current.namespace,
                    _ => &current.row.connector_type,
                };
                if v.as_str() != Some(now.as_str()) {
                    fields.insert(
                        k.clone(),
                        "cannot be changed; register a new connector".into(),
                    );
                }
            }
            "auth_method" => p.auth_method = text(&k, &v)?,
            "resource_types" => p.resource_types = Some(strings(&k, v)?),
            "resource_id" => p.resource_id = Some(text(&k, &v)?),
            "resource_ids" => p.resource_ids = Some(strings(&k, v)?),
            "configuration" => match v {
                Value::Object(m) => p.configuration = Some(m),
                _ => return Err(AppError::bad_request("configuration must be an object")),
            },
            "labels" => {
                p.labels =
                    Some(serde_json::from_value(v).map_err(|_| {
                        AppError::bad_request("labels must be an object of strings")
                    })?)
            }
            "description" => p.description = Some(text(&k, &v)?.unwrap_or_default()),
            "expires_at" => p.expires_at = Some(text(&k, &v)?),
            "expiration_seconds" => {
                p.expiration_seconds = Some(match v {
                    Value::Null => None,
                    other => Some(other.as_i64().ok_or_else(|| {
                        AppError::bad_request("expiration_seconds must be an integer or null")
                    })?),
                })
            }
            other => {
                return Err(AppError::bad_request(format!("unknown field {other:?}")));
            }
        }
    }
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the change is not valid".into(),
            fields,
        });
    }
    Ok(p)
}

async fn update_connector(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let body = body.into_inner();
    let (c, resources) = with_ctx(&state, &req, principal, move |conn, ctx| {
        let current = registry::readable(conn, ctx.principal, &name)?;
        // Who may change it is answered before what the change says.
        crate::access::require_namespace(
            ctx.principal,
            Permission::ConnectorUpdate,
            &current.namespace,
        )?;
        let patch = parse_patch(body, &current)?;
        let c = registry::update(conn, ctx, &name, &patch)?;
        registry::with_resources(conn, c)
    })
    .await?;
    Ok(HttpResponse::Ok().json(c.json(&resources)))
}

async fn delete_connector(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    with_ctx(&state, &req, principal, move |conn, ctx| {
        registry::delete(conn, ctx, &name)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The connector if the caller may use it (`connector::use`); 404 if unreadable.
fn usable(
    conn: &mut crate::db::DbConnection,
    principal: &Principal,
    name: &str,
) -> AppResult<Connector> {
    let c = registry::readable(conn, principal, name)?;
    crate::access::require_namespace(principal, Permission::ConnectorUse, &c.namespace)?;
    Ok(c)
}

async fn verify_connector(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let c = with_ctx(&state, &req, principal, move |conn, ctx| {
        usable(conn, ctx.principal, &name)
    })
    .await?;
    Err(AppError::NotImplemented(format!(
        "verification is not available for the {}/{} auth method yet; the connector's \
         resources are the ones it declared",
        c.row.connector_type, c.row.auth_method
    )))
}

/// Body of `POST /api/v1/connectors/{name}/client-credentials`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    resource_type: String,
    resource_id: Option<String>,
}

async fn client_credentials(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<CredentialsBody>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let b = body.into_inner();
    let c = with_ctx(&state, &req, principal, move |conn, ctx| {
        usable(conn, ctx.principal, &name)
    })
    .await?;
    if !c.resource_types.contains(&b.resource_type) {
        return Err(AppError::invalid(
            "resource_type",
            format!(
                "connector {} does not reach {:?}; it reaches {}",
                c.row.name,
                b.resource_type,
                c.resource_types.join(", ")
            ),
        ));
    }
    let _ = b.resource_id;
    Err(AppError::NotImplemented(format!(
        "short-lived credentials are not available for the {}/{} auth method yet",
        c.row.connector_type, c.row.auth_method
    )))
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
async fn list_resources(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    query: web::Query<ResourcesQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let cursor = decode_cursor(q.cursor.as_deref())?;
    let resource_type = q.resource_type.clone().filter(|s| !s.is_empty());
    let filter = ListQuery {
        connector_type: q.connector_type,
        resource_type: resource_type.clone(),
        ..Default::default()
    };
    let (items, next) = with_ctx(&state, &req, principal, move |conn, ctx| {
        registry::list(conn, ctx.principal, &filter, cursor.as_deref(), limit)
    })
    .await?;
    let rows: Vec<Value> = items
        .iter()
        .flat_map(|(c, resources)| {
            let resource_type = resource_type.clone();
            resources
                .iter()
                .filter(move |r| {
                    resource_type
                        .as_deref()
                        .is_none_or(|t| r.resource_type == t)
                })
                .map(move |r| {
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
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": rows,
        "next_cursor": next.as_deref().map(encode_cursor),
    })))
}
