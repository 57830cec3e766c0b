//! JSON API of the connector catalog, registered connectors and their resources.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::brokering;
use super::calls;
use super::catalog::TypeJson;
use super::models::ConnectorJson;
use super::providers::Verification;
use super::registry::{self, Draft, ListQuery, Listed, Patch};
use crate::app::Cx;
use crate::db::rfc3339;
use crate::errors::{AppError, AppResult};
use crate::names::{Address, Namespaced, Scoped};
use crate::web::Reply;
use crate::web::api::{Json, Page};

/// The operations of this module in the OpenAPI document (those under
/// `/api/v1/connectors` also under `/api/v1/namespaces/{ns}/connectors`: added by
/// `crate::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_types,
    get_type,
    list_connectors,
    create_connector,
    get_connector,
    update_connector,
    delete_connector,
    verify_connector,
    client_credentials,
    list_resources
))]
pub(super) struct Doc;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Query of the type list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TypeQuery {
    /// Only types with this resource type.
    resource_type: Option<String>,
    /// Only types with this auth method.
    auth_method: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// List connector types.
#[utoipa::path(get, path = "/api/v1/connector-types", tag = "connectors",
    params(TypeQuery),
    responses((status = 200, description = "Connector types in catalog order, with their auth methods and resource types.", body = Page<TypeJson>)))]
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

/// Show a connector type.
#[utoipa::path(get, path = "/api/v1/connector-types/{type}", tag = "connectors",
    params(("type" = String, Path, description = "The type's id, e.g. `aws`.")),
    responses((status = 200, description = "The type.", body = TypeJson)))]
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

/// The path of a connector (read by `names::Address`), described.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(dead_code, reason = "describes the path; `Address` reads it")]
struct ConnectorPath {
    /// The connector.
    name: String,
}

/// Query of the connector list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConnectorQuery {
    /// Only this namespace.
    namespace: Option<String>,
    /// Only this type.
    connector_type: Option<String>,
    /// Only connectors reaching this resource type.
    resource_type: Option<String>,
    /// Only with this label: `key` or `key=value`.
    label: Option<String>,
    /// Names containing this text.
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

impl Namespaced for ConnectorQuery {
    fn namespace_mut(&mut self) -> &mut Option<String> {
        crate::names::blank_as_none(&mut self.namespace)
    }
}

/// List connectors.
#[utoipa::path(get, path = "/api/v1/connectors", tag = "connectors",
    params(ConnectorQuery),
    responses((status = 200, description = "The connectors the caller may read.", body = Page<ConnectorJson>)))]
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
    Ok(HttpResponse::Ok().json(Page::new(items, next)))
}

/// Body of `POST /api/v1/connectors`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Name, unique in the namespace.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    name: String,
    /// Namespace (default `default`).
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    namespace: Option<String>,
    /// Connector type (`GET /api/v1/connector-types`).
    connector_type: String,
    /// One of the type's auth methods.
    auth_method: String,
    /// Resource types to reach (default: every type the method supports).
    resource_types: Option<Vec<String>>,
    /// The one resource to reach (for a single resource type).
    resource_id: Option<String>,
    /// Or several resources.
    resource_ids: Option<Vec<String>>,
    /// Attributes of the auth method (its `config_schema`); secrets are sealed.
    #[serde(default)]
    #[schema(value_type = Object)]
    configuration: Map<String, Value>,
    /// Labels (`key` → `value`).
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// When the stored credentials expire (RFC 3339), for reminders.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Session length of issued credentials, seconds (within the method's bounds).
    expiration_seconds: Option<i64>,
    /// Description.
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

/// Register a connector.
#[utoipa::path(post, path = "/api/v1/connectors", tag = "connectors",
    request_body = CreateBody,
    responses((status = 201, description = "Registered (secrets sealed; never shown back).", body = ConnectorJson)))]
pub async fn create_connector(cx: Cx, body: Scoped<Json<CreateBody>>) -> Reply {
    let (c, resources) = calls::create(&cx, body.0.into_inner().into()).await?;
    Ok(HttpResponse::Created().json(c.json(&resources)))
}

/// Show a connector.
#[utoipa::path(get, path = "/api/v1/connectors/{name}", tag = "connectors",
    params(ConnectorPath),
    responses((status = 200, description = "The connector.", body = ConnectorJson)))]
pub async fn get_connector(cx: Cx, at: Address) -> Reply {
    let (c, resources) = calls::get(&cx, at).await?;
    Ok(HttpResponse::Ok().json(c.json(&resources)))
}

/// Change a connector.
#[utoipa::path(patch, path = "/api/v1/connectors/{name}", tag = "connectors",
    params(ConnectorPath),
    request_body = ConnectorPatch,
    responses((status = 200, description = "Changed.", body = ConnectorJson)))]
pub async fn update_connector(cx: Cx, at: Address, body: Json<Map<String, Value>>) -> Reply {
    // Who may change it is answered before what the change says.
    let current = calls::editable(&cx, at).await?;
    let patch = Patch::from_json(body.into_inner(), &current)?;
    let (c, resources) = calls::update(&cx, current.address(), patch).await?;
    Ok(HttpResponse::Ok().json(c.json(&resources)))
}

/// Delete a connector.
#[utoipa::path(delete, path = "/api/v1/connectors/{name}", tag = "connectors",
    params(ConnectorPath),
    responses((status = 204, description = "Deleted.")))]
pub async fn delete_connector(cx: Cx, at: Address) -> Reply {
    calls::delete(&cx, at).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Body of `POST /api/v1/connectors/{name}/verify` (all optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// Check only this resource type.
    resource_type: Option<String>,
    /// Check only this resource.
    resource_id: Option<String>,
}

/// Verify a connector.
///
/// Asks the provider what the connector reaches: 200 with the result; a provider's
/// refusal is the `error` of the body, not a failed request.
#[utoipa::path(post, path = "/api/v1/connectors/{name}/verify", tag = "connectors",
    params(ConnectorPath),
    request_body(content = Option<VerifyBody>, description = "Optional: check one resource type or id only."),
    responses((status = 200, description = "What the connector reaches; a provider's refusal is the `error` here, not a failed request.", body = Verification)))]
pub async fn verify_connector(cx: Cx, at: Address, body: Json<Option<VerifyBody>>) -> Reply {
    let b = body.into_inner().unwrap_or_default();
    let v = brokering::verify(&cx, at, b.resource_type, b.resource_id).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Body of `POST /api/v1/connectors/{name}/client-credentials`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    /// The resource type the credentials are for.
    resource_type: String,
    /// The resource (default: the connector's own, or the type's default).
    resource_id: Option<String>,
}

/// Broker short-lived credentials.
///
/// Needs `connector::use`. Issued credentials are cached until shortly before they
/// expire.
#[utoipa::path(post, path = "/api/v1/connectors/{name}/client-credentials", tag = "connectors",
    params(ConnectorPath),
    request_body = CredentialsBody,
    responses( (status = 200, description = "Short-lived credentials for one resource (`Cache-Control: no-store`).", body = IssuedJson), (status = 502, description = "The provider refused or could not be reached.", body = crate::web::api::ErrorBody), ))]
pub async fn client_credentials(cx: Cx, at: Address, body: Json<CredentialsBody>) -> Reply {
    let b = body.into_inner();
    let (rt, id, issued) =
        brokering::client_credentials(&cx, at, b.resource_type, b.resource_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(IssuedJson {
            resource_type: rt,
            resource_id: id,
            credentials: issued.credentials,
            expires_at: issued.expires_at.map(rfc3339),
        }))
}

/// The body of `PATCH …/connectors/{name}`: what is present changes, `null` clears.
// Read by `Patch::from_json` (which tells absent from `null`); this is its description.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "describes the body; `Patch::from_json` reads it")]
pub struct ConnectorPatch {
    /// May be repeated, not changed.
    #[schema(nullable = false)]
    name: Option<String>,
    /// May be repeated, not changed.
    #[schema(nullable = false)]
    namespace: Option<String>,
    /// May be repeated, not changed.
    #[schema(nullable = false)]
    connector_type: Option<String>,
    /// Another auth method of the type (its secrets must then be given).
    auth_method: Option<String>,
    /// Resource types to reach.
    #[schema(nullable = false)]
    resource_types: Option<Vec<String>>,
    /// The one resource to reach.
    resource_id: Option<String>,
    /// Or several resources.
    #[schema(nullable = false)]
    resource_ids: Option<Vec<String>>,
    /// Attributes to change; an omitted secret keeps its stored value unless an
    /// attribute that says where credentials go (a destination) changes.
    #[schema(value_type = Option<Object>, nullable = false)]
    configuration: Option<Map<String, Value>>,
    /// Labels (replace them all).
    #[schema(nullable = false)]
    labels: Option<BTreeMap<String, String>>,
    /// Description.
    description: Option<String>,
    /// When the stored credentials expire (RFC 3339).
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Session length of issued credentials, seconds.
    expiration_seconds: Option<i64>,
}

/// Answer of `POST …/client-credentials`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedJson {
    /// The resource type they are for.
    resource_type: String,
    /// The resource they are for.
    resource_id: String,
    /// The credential fields; their shape depends on the connector type (README).
    #[schema(value_type = Object)]
    credentials: Map<String, Value>,
    /// When they stop working (RFC 3339); `null` for stored long-lived credentials.
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

/// One row of `GET /api/v1/resources`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResourceListRow {
    /// The connector's name.
    connector: String,
    /// Its namespace.
    namespace: String,
    /// Its type.
    connector_type: String,
    /// Its auth method.
    auth_method: String,
    /// The resource type.
    resource_type: String,
    /// The ids reached, or `null` when not known.
    resource_ids: Option<Vec<String>>,
    /// What the last verification reported, if it failed.
    error: Option<String>,
    /// `declared` or `verified`.
    origin: String,
    /// When this was recorded (RFC 3339).
    #[schema(format = DateTime)]
    checked_at: String,
}

/// Query of the resources list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResourcesQuery {
    /// Only this resource type.
    resource_type: Option<String>,
    /// Only connectors of this type.
    connector_type: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// List what connectors reach.
///
/// One row per readable connector and resource type (a page holds up to `limit`
/// connectors).
#[utoipa::path(get, path = "/api/v1/resources", tag = "connectors",
    params(ResourcesQuery),
    responses((status = 200, description = "One row per readable connector and resource type.", body = Page<ResourceListRow>)))]
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
        .map(|(c, r)| ResourceListRow {
            connector: c.row.name.clone(),
            namespace: c.namespace.clone(),
            connector_type: c.row.connector_type.clone(),
            auth_method: c.row.auth_method.clone(),
            resource_type: r.resource_type.clone(),
            resource_ids: r.ids(),
            error: r.error.clone(),
            origin: r.origin.clone(),
            checked_at: rfc3339(r.checked_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(rows, next)))
}
