//! Dashboard pages: the connector catalog, registered connectors (list, register and
//! edit through one schema-driven form, detail with history) and resources.

use std::borrow::Cow;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::catalog::{AttributeKind, AuthMethod, ConnectorType};
use super::models::{Connector, ResourceRow};
use super::registry::{self, Draft, ListQuery, Patch};
use super::validate::{self, HIDDEN};
use super::views::{
    ConfigRow, ConnectorRow, ConnectorRows, ConnectorsPage, Field, FormPage, HistoryRow,
    MethodPage, MethodRow, ReachRow, ResourceLine, ResourceTypePage, ResourcesPage, ResourcesRow,
    ShowPage, TypePage, TypeRow, TypeRows, TypesPage,
};
use crate::access::Permission;
use crate::access::Principal;
use crate::app::AppState;
use crate::db::now_ms;
use crate::environments;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::web::format::when;
use crate::web::htmx::is_htmx;
use crate::web::layout::{Layout, Section};
use crate::web::{path_segment, see_other};

/// Page size of the connectors table.
const PAGE: i64 = 25;
/// How the forms show an expiry (a `datetime-local` value, UTC, to the second).
const EXPIRY_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
/// A week, in ms: expiry warnings start then.
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/connector-types", web::get().to(types_page))
        .route("/connector-types/{type}", web::get().to(type_page))
        .route(
            "/connector-types/{type}/auth-methods/{method}",
            web::get().to(method_page),
        )
        .route(
            "/connector-types/{type}/resource-types/{rt}",
            web::get().to(resource_type_page),
        )
        .route("/connectors", web::get().to(list_page))
        .route("/connectors", web::post().to(create))
        .route("/connectors/new", web::get().to(new_form))
        .route("/connectors/{name}", web::get().to(show))
        .route("/connectors/{name}/edit", web::get().to(edit_form))
        .route("/connectors/{name}/edit", web::post().to(save_edit))
        .route("/connectors/{name}/delete", web::post().to(delete))
        .route("/resources", web::get().to(resources_page));
}

fn html(page: impl Responder, req: &HttpRequest, status: StatusCode) -> HttpResponse {
    let mut res = page.respond_to(req).map_into_boxed_body();
    *res.status_mut() = status;
    res
}

/// "in 3 days" / "expired 2 hours ago" / "—", and whether to warn.
pub fn expires_in(expires_at: Option<i64>, now: i64) -> (String, bool) {
    let Some(at) = expires_at else {
        return ("—".into(), false);
    };
    let delta = at - now;
    let span = |ms: i64| {
        let minutes = ms / 60_000;
        if minutes < 60 {
            format!(
                "{} minute{}",
                minutes.max(1),
                if minutes == 1 { "" } else { "s" }
            )
        } else if minutes < 48 * 60 {
            let h = minutes / 60;
            format!("{h} hour{}", if h == 1 { "" } else { "s" })
        } else {
            format!("{} days", minutes / (24 * 60))
        }
    };
    if delta <= 0 {
        (format!("expired {} ago", span(-delta)), true)
    } else {
        (format!("in {}", span(delta)), delta < WEEK_MS)
    }
}

/// An attribute value as text: strings as they are, lists joined with `sep`.
fn value_text(v: &Value, sep: &str) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(sep),
        other => other.to_string(),
    }
}

/// Ids of a resource row for people.
fn ids_text(r: &ResourceRow) -> String {
    match r.ids() {
        Some(ids) if !ids.is_empty() => ids.join(", "),
        Some(_) => "none".into(),
        None => format!("any {} it can reach (not verified)", r.resource_type),
    }
}

// --- catalog pages ---------------------------------------------------------------------

/// Query of the types page.
#[derive(Debug, Default, Deserialize)]
pub struct TypesQuery {
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    auth_method: String,
}

async fn types_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    query: web::Query<TypesQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let catalog = &state.catalog;
    let rows = TypeRows {
        rows: catalog
            .filtered(
                Some(q.resource_type.as_str()).filter(|s| !s.is_empty()),
                Some(q.auth_method.as_str()).filter(|s| !s.is_empty()),
            )
            .into_iter()
            .map(|t| TypeRow {
                id: t.connector_type.clone(),
                name: t.name.clone(),
                description: t.description.clone(),
                resource_types: t
                    .resource_types
                    .iter()
                    .map(|r| (r.resource_type.clone(), r.name.clone()))
                    .collect(),
                auth_methods: t
                    .auth_methods
                    .iter()
                    .map(|m| (m.auth_method.clone(), catalog.disabled_reason(m).is_none()))
                    .collect(),
                temporary: t.issues_temporary_credentials(),
            })
            .collect(),
    };
    if is_htmx(&req) {
        return Ok(html(rows, &req, StatusCode::OK));
    }
    let page = TypesPage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        rows,
        resource_type: q.resource_type,
        auth_method: q.auth_method,
        resource_types: catalog.resource_type_ids(),
        auth_methods: catalog.auth_method_ids(),
        implicit_enabled: catalog.implicit_enabled,
    };
    Ok(html(page, &req, StatusCode::OK))
}

fn catalog_type<'a>(state: &'a AppState, id: &str) -> AppResult<&'a ConnectorType> {
    state.catalog.get(id).ok_or(AppError::NotFound)
}

/// Readable connectors matching filters (first `limit`).
async fn readable_connectors(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: &Principal,
    filter: ListQuery,
    limit: i64,
) -> AppResult<Vec<registry::Listed>> {
    super::api::with_ctx(state, req, principal.clone(), move |conn, ctx| {
        registry::list(conn, ctx.principal, &filter, None, limit).map(|(items, _)| items)
    })
    .await
}

async fn type_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let t = catalog_type(&state, &path)?.clone();
    let filter = ListQuery {
        connector_type: Some(t.connector_type.clone()),
        ..Default::default()
    };
    let connectors = readable_connectors(&state, &req, &principal, filter, 500).await?;
    let methods = t
        .auth_methods
        .iter()
        .map(|m| MethodRow {
            id: m.auth_method.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            kind: m.credential_kind.label().into(),
            expiration: m.expiration_text(),
            disabled: state.catalog.disabled_reason(m).map(str::to_owned),
        })
        .collect();
    let page = TypePage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        t,
        methods,
        connectors: connectors.len(),
    };
    Ok(html(page, &req, StatusCode::OK))
}

async fn method_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (type_id, method_id) = path.into_inner();
    let t = catalog_type(&state, &type_id)?.clone();
    let m = t.auth_method(&method_id).ok_or(AppError::NotFound)?.clone();
    let page = MethodPage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        attributes: m.attributes(),
        disabled: state.catalog.disabled_reason(&m).map(str::to_owned),
        expiration: m.expiration_text(),
        schema: serde_json::to_string_pretty(&m.config_schema).unwrap_or_default(),
        t,
        m,
    };
    Ok(html(page, &req, StatusCode::OK))
}

async fn resource_type_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (type_id, rt_id) = path.into_inner();
    let t = catalog_type(&state, &type_id)?.clone();
    let rt = t.resource_type(&rt_id).ok_or(AppError::NotFound)?.clone();
    let filter = ListQuery {
        connector_type: Some(t.connector_type.clone()),
        resource_type: Some(rt.resource_type.clone()),
        ..Default::default()
    };
    let connectors = readable_connectors(&state, &req, &principal, filter, 500)
        .await?
        .into_iter()
        .map(|(c, resources)| ReachRow {
            ids: resources
                .iter()
                .find(|r| r.resource_type == rt.resource_type)
                .map(ids_text)
                .unwrap_or_default(),
            name: c.row.name,
            namespace: c.namespace,
            auth_method: c.row.auth_method,
        })
        .collect();
    let page = ResourceTypePage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        t,
        rt,
        connectors,
    };
    Ok(html(page, &req, StatusCode::OK))
}

// --- connectors list ---------------------------------------------------------------------

/// Query of the list page.
#[derive(Debug, Default, Deserialize)]
pub struct ListPageQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    connector_type: String,
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    label: String,
    cursor: Option<String>,
}

fn list_url(q: &ListPageQuery, cursor: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &q.q)
        .append_pair("namespace", &q.namespace)
        .append_pair("connector_type", &q.connector_type)
        .append_pair("resource_type", &q.resource_type)
        .append_pair("label", &q.label)
        .append_pair("cursor", cursor)
        .finish();
    format!("/connectors?{query}")
}

fn row_of(c: &Connector, resources: &[ResourceRow], now: i64) -> ConnectorRow {
    let (expires, warn) = expires_in(c.row.expires_at, now);
    ConnectorRow {
        name: c.row.name.clone(),
        connector_type: c.row.connector_type.clone(),
        auth_method: c.row.auth_method.clone(),
        resource_types: c.resource_types.clone(),
        resource: c.resource_label(),
        namespace: c.namespace.clone(),
        owner: c.row.created_by.clone(),
        expires_in: expires,
        expiry_warning: warn,
        labels: c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        verified: when(Connector::verified_at(resources)),
    }
}

/// Namespaces the viewer may read, and those among them they may register in.
async fn namespaces_for(
    state: &web::Data<AppState>,
    principal: &Principal,
) -> AppResult<(Vec<String>, Vec<String>)> {
    let grants = principal.grants.clone();
    let readable = state
        .db
        .run(move |conn| {
            environments::list_readable_namespace_names(conn, &grants).map_err(AppError::from)
        })
        .await?;
    let creatable = readable
        .iter()
        .filter(|ns| {
            principal
                .grants
                .can_namespace(Permission::ConnectorCreate, ns)
        })
        .cloned()
        .collect();
    Ok((readable, creatable))
}

async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    query: web::Query<ListPageQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let filter = ListQuery {
        namespace: Some(q.namespace.clone()),
        connector_type: Some(q.connector_type.clone()),
        resource_type: Some(q.resource_type.clone()),
        label: Some(q.label.clone()),
        search: Some(q.q.clone()),
    };
    let cursor = crate::web::pagination::decode_cursor(q.cursor.as_deref())?;
    let (items, next) = super::api::with_ctx(&state, &req, principal.clone(), move |conn, ctx| {
        registry::list(conn, ctx.principal, &filter, cursor.as_deref(), PAGE)
    })
    .await?;
    let now = now_ms();
    let rows = ConnectorRows {
        rows: items.iter().map(|(c, r)| row_of(c, r, now)).collect(),
        next_url: next.map(|n| list_url(&q, &crate::web::pagination::encode_cursor(&n))),
    };
    if is_htmx(&req) {
        return Ok(html(rows, &req, StatusCode::OK));
    }
    let (namespaces, creatable) = namespaces_for(&state, &principal).await?;
    let page = ConnectorsPage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        rows,
        search: q.q,
        namespace: q.namespace,
        connector_type: q.connector_type,
        resource_type: q.resource_type,
        label: q.label,
        namespaces,
        types: state
            .catalog
            .types()
            .iter()
            .map(|t| t.connector_type.clone())
            .collect(),
        resource_types: state.catalog.resource_type_ids(),
        can_create: !creatable.is_empty(),
    };
    Ok(html(page, &req, StatusCode::OK))
}

// --- the form ----------------------------------------------------------------------------

/// What the form sent (or the query of a field swap).
#[derive(Debug, Default, Clone)]
struct FormInput {
    name: String,
    namespace: String,
    connector_type: String,
    auth_method: String,
    resource_types: Vec<String>,
    resource_id: String,
    resource_ids: String,
    labels: String,
    description: String,
    expires_at: String,
    expiration_seconds: String,
    /// `updated_at` of the connector the edit form was loaded from.
    version: String,
    cfg: Vec<(String, String)>,
}

impl FormInput {
    fn parse<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            let v = v.into_owned();
            match k.as_ref() {
                "name" => f.name = v.trim().to_owned(),
                "namespace" => f.namespace = v,
                "connector_type" => f.connector_type = v,
                "auth_method" => f.auth_method = v,
                "resource_type" => f.resource_types.push(v),
                "resource_id" => f.resource_id = v,
                "resource_ids" => f.resource_ids = v,
                "labels" => f.labels = v,
                "description" => f.description = v,
                "expires_at" => f.expires_at = v,
                "expiration_seconds" => f.expiration_seconds = v,
                "version" => f.version = v,
                other => {
                    if let Some(attr) = other.strip_prefix("cfg.") {
                        f.cfg.push((attr.to_owned(), v));
                    }
                }
            }
        }
        f
    }

    /// The form of an existing connector (`pinnable`: its resource id is the user's
    /// choice rather than what the configuration names).
    fn from_connector(c: &Connector, pinnable: bool) -> Self {
        let cfg = c
            .plain_configuration()
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v, "\n")))
            .collect();
        Self {
            name: c.row.name.clone(),
            namespace: c.namespace.clone(),
            connector_type: c.row.connector_type.clone(),
            auth_method: c.row.auth_method.clone(),
            resource_types: c.resource_types.clone(),
            resource_id: if pinnable {
                c.row.resource_id.clone().unwrap_or_default()
            } else {
                String::new()
            },
            resource_ids: String::new(),
            labels: c
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            description: c.row.description.clone(),
            expires_at: c
                .row
                .expires_at
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.format(EXPIRY_FORMAT).to_string())
                .unwrap_or_default(),
            expiration_seconds: c
                .row
                .expiration_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            version: c.row.updated_at.to_string(),
            cfg,
        }
    }

    fn value(&self, attr: &str) -> Option<&str> {
        self.cfg
            .iter()
            .rev()
            .find(|(k, _)| k == attr)
            .map(|(_, v)| v.as_str())
    }

    /// The configuration as typed values for `method`.
    fn configuration(&self, method: Option<&AuthMethod>) -> Map<String, Value> {
        let attrs = method.map(AuthMethod::attributes).unwrap_or_default();
        let mut out = Map::new();
        for (k, v) in &self.cfg {
            let kind = attrs.iter().find(|a| &a.name == k).map(|a| a.kind);
            let value = match kind {
                Some(AttributeKind::Boolean) => match v.as_str() {
                    "" => continue,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    other => Value::String(other.to_owned()),
                },
                Some(AttributeKind::List) => Value::Array(
                    v.split(['\n', ','])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Value::String(s.to_owned()))
                        .collect(),
                ),
                Some(AttributeKind::Text) => {
                    Value::String(v.trim_end_matches(['\r', '\n']).to_owned())
                }
                None if v.is_empty() => continue,
                None => Value::String(v.clone()),
            };
            out.insert(k.clone(), value);
        }
        out
    }

    /// Expiry as RFC 3339 (a `datetime-local` value is taken as UTC).
    fn expires_at(&self) -> Option<String> {
        let t = self.expires_at.trim();
        if t.is_empty() {
            None
        } else if t.len() == 16 && t.as_bytes().get(10) == Some(&b'T') {
            Some(format!("{t}:00Z"))
        } else if t.len() == 19 && t.as_bytes().get(10) == Some(&b'T') {
            Some(format!("{t}Z"))
        } else {
            Some(t.to_owned())
        }
    }

    fn resource_ids(&self) -> Option<Vec<String>> {
        let ids: Vec<String> = self
            .resource_ids
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        (!ids.is_empty()).then_some(ids)
    }

    /// Labels and session length, with their own errors.
    fn extras(
        &self,
        errors: &mut FieldErrors,
    ) -> (std::collections::BTreeMap<String, String>, Option<i64>) {
        let labels = validate::parse_label_lines(&self.labels).unwrap_or_else(|e| {
            errors.insert("labels".into(), e);
            Default::default()
        });
        let t = self.expiration_seconds.trim();
        let seconds = if t.is_empty() {
            None
        } else {
            match t.parse::<i64>() {
                Ok(s) => Some(s),
                Err(_) => {
                    errors.insert(
                        "expiration_seconds".into(),
                        "must be a whole number of seconds".into(),
                    );
                    None
                }
            }
        };
        (labels, seconds)
    }
}

/// Builds the form page for `input` (existing connector when editing).
async fn form_page(
    state: &web::Data<AppState>,
    principal: &Principal,
    session: &Session,
    editing: Option<&Connector>,
    input: &FormInput,
    errors: FieldErrors,
    error: Option<String>,
) -> AppResult<FormPage> {
    let catalog = &state.catalog;
    let t = catalog
        .get(&input.connector_type)
        .or_else(|| catalog.types().first())
        .ok_or(AppError::NotFound)?
        .clone();
    let m = t
        .auth_method(&input.auth_method)
        .filter(|m| catalog.disabled_reason(m).is_none())
        .or_else(|| {
            t.auth_methods
                .iter()
                .find(|m| catalog.disabled_reason(m).is_none())
        })
        .ok_or(AppError::NotFound)?
        .clone();
    let stored: Vec<String> = editing.map(Connector::secret_names).unwrap_or_default();
    let fields = m
        .attributes()
        .into_iter()
        .map(|a| Field {
            value: if a.secret {
                String::new()
            } else {
                input.value(&a.name).unwrap_or("").to_owned()
            },
            stored: a.secret && stored.contains(&a.name),
            error: errors.get(&format!("configuration.{}", a.name)).cloned(),
            a,
        })
        .collect();
    let (_, creatable) = namespaces_for(state, principal).await?;
    let namespace = if input.namespace.is_empty() {
        creatable
            .iter()
            .find(|n| *n == "default")
            .or_else(|| creatable.first())
            .cloned()
            .unwrap_or_default()
    } else {
        input.namespace.clone()
    };
    let mut unshown: FieldErrors = errors
        .into_iter()
        .filter(|(k, _)| !k.starts_with("configuration."))
        .collect();
    // Attribute errors for attributes the method does not have (e.g. unknown ones).
    let known: Vec<String> = m.attributes().into_iter().map(|a| a.name).collect();
    let stray: Vec<String> = input
        .cfg
        .iter()
        .filter(|(k, v)| !known.contains(k) && !v.is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    if !stray.is_empty() {
        unshown.insert(
            "auth_method".into(),
            format!("{} has no attribute {}", m.auth_method, stray.join(", ")),
        );
    }
    Ok(FormPage {
        layout: Layout::new(principal, session, Section::Connectors)?,
        editing: editing.is_some(),
        name: input.name.clone(),
        namespace,
        namespaces: creatable,
        types: catalog
            .types()
            .iter()
            .map(|t| {
                (
                    t.connector_type.clone(),
                    format!("{} ({})", t.name, t.connector_type),
                )
            })
            .collect(),
        methods: t
            .auth_methods
            .iter()
            .map(|x| {
                (
                    x.auth_method.clone(),
                    format!("{} ({})", x.name, x.auth_method),
                    catalog.disabled_reason(x).is_some(),
                )
            })
            .collect(),
        fields,
        resource_types: t
            .resource_types
            .iter()
            .map(|r| {
                (
                    r.resource_type.clone(),
                    r.name.clone(),
                    input.resource_types.contains(&r.resource_type),
                )
            })
            .collect(),
        resource_id: input.resource_id.clone(),
        resource_ids: input.resource_ids.clone(),
        labels: input.labels.clone(),
        description: input.description.clone(),
        expires_at: input.expires_at.clone(),
        expiration_seconds: input.expiration_seconds.clone(),
        // The version the form was opened at travels with it (also through field
        // swaps), so saving a stale form is refused rather than applied.
        version: input
            .version
            .parse()
            .ok()
            .or(editing.map(|c| c.row.updated_at))
            .unwrap_or_default(),
        errors: unshown,
        error,
        t,
        m,
    })
}

/// `GET /connectors/new[?connector_type=&auth_method=&…]` (htmx swaps the form when
/// the type or method changes; secrets are never part of that request).
async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
) -> AppResult<HttpResponse> {
    let input = FormInput::parse(url::form_urlencoded::parse(req.query_string().as_bytes()));
    let page = form_page(
        &state,
        &principal,
        &session,
        None,
        &input,
        FieldErrors::new(),
        None,
    )
    .await?;
    Ok(html(page, &req, StatusCode::OK))
}

/// Maps an operation's failure to the form's errors and status.
fn form_failure(
    err: AppError,
    editing: bool,
) -> AppResult<(FieldErrors, Option<String>, StatusCode)> {
    match err {
        AppError::Validation { fields, message } => {
            let summary = fields.is_empty().then_some(message);
            Ok((fields, summary, StatusCode::UNPROCESSABLE_ENTITY))
        }
        AppError::Conflict(m) if editing => Ok((FieldErrors::new(), Some(m), StatusCode::CONFLICT)),
        AppError::Conflict(m) => {
            let mut f = FieldErrors::new();
            f.insert("name".into(), m);
            Ok((f, None, StatusCode::CONFLICT))
        }
        AppError::Forbidden(m) => Ok((FieldErrors::new(), Some(m), StatusCode::FORBIDDEN)),
        other => Err(other),
    }
}

/// `POST /connectors`
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = FormInput::parse(url::form_urlencoded::parse(&body));
    let method = state
        .catalog
        .get(&input.connector_type)
        .and_then(|t| t.auth_method(&input.auth_method))
        .cloned();
    let mut pre = FieldErrors::new();
    let (labels, expiration_seconds) = input.extras(&mut pre);
    let draft = Draft {
        name: input.name.clone(),
        namespace: input.namespace.clone(),
        connector_type: input.connector_type.clone(),
        auth_method: input.auth_method.clone(),
        resource_types: input.resource_types.clone(),
        resource_id: Some(input.resource_id.clone()).filter(|s| !s.trim().is_empty()),
        resource_ids: input.resource_ids(),
        pin_inherited: false,
        configuration: input.configuration(method.as_ref()),
        labels,
        description: input.description.clone(),
        expires_at: input.expires_at(),
        expiration_seconds,
    };
    let result = if pre.is_empty() {
        super::api::with_ctx(&state, &req, principal.clone(), move |conn, ctx| {
            registry::create(conn, ctx, &draft)
        })
        .await
    } else {
        Err(AppError::Validation {
            message: "the connector is not valid".into(),
            fields: pre,
        })
    };
    match result {
        Ok(c) => Ok(see_other(&format!(
            "/connectors/{}",
            path_segment(&c.row.name)
        ))),
        Err(err) => {
            let (errors, error, status) = form_failure(err, false)?;
            let page = form_page(&state, &principal, &session, None, &input, errors, error).await?;
            Ok(html(page, &req, status))
        }
    }
}

async fn load(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    principal: &Principal,
    name: String,
) -> AppResult<(Connector, Vec<ResourceRow>)> {
    super::api::with_ctx(state, req, principal.clone(), move |conn, ctx| {
        registry::get(conn, ctx.principal, &name)
    })
    .await
}

/// `GET /connectors/{name}/edit[?auth_method=…]`
async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (c, _) = load(&state, &req, &principal, path.into_inner()).await?;
    crate::access::require_namespace(&principal, Permission::ConnectorUpdate, &c.namespace)?;
    let mut input = FormInput::from_connector(&c, registry::pinnable(&state.catalog, &c));
    if !req.query_string().is_empty() {
        // A field swap: what the form holds now, on the fixed identity.
        let swap = FormInput::parse(url::form_urlencoded::parse(req.query_string().as_bytes()));
        input = FormInput {
            name: c.row.name.clone(),
            namespace: c.namespace.clone(),
            connector_type: c.row.connector_type.clone(),
            ..swap
        };
    }
    let page = form_page(
        &state,
        &principal,
        &session,
        Some(&c),
        &input,
        FieldErrors::new(),
        None,
    )
    .await?;
    Ok(html(page, &req, StatusCode::OK))
}

/// `POST /connectors/{name}/edit`
async fn save_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let (c, _) = load(&state, &req, &principal, name.clone()).await?;
    crate::access::require_namespace(&principal, Permission::ConnectorUpdate, &c.namespace)?;
    let mut input = FormInput::parse(url::form_urlencoded::parse(&body));
    input.name = c.row.name.clone();
    input.namespace = c.namespace.clone();
    input.connector_type = c.row.connector_type.clone();
    let method = state
        .catalog
        .get(&c.row.connector_type)
        .and_then(|t| t.auth_method(&input.auth_method))
        .cloned();
    let mut pre = FieldErrors::new();
    let (labels, expiration_seconds) = input.extras(&mut pre);
    let patch = Patch {
        auth_method: Some(input.auth_method.clone()),
        resource_types: Some(input.resource_types.clone()),
        resource_id: Some(Some(input.resource_id.clone()).filter(|s| !s.trim().is_empty())),
        resource_ids: input.resource_ids(),
        configuration: Some(input.configuration(method.as_ref())),
        replace_configuration: true,
        labels: Some(labels),
        description: Some(input.description.clone()),
        // An expiry the form shows unchanged keeps its exact stored value.
        expires_at: if input.expires_at
            == FormInput::from_connector(&c, registry::pinnable(&state.catalog, &c)).expires_at
        {
            None
        } else {
            Some(input.expires_at())
        },
        expiration_seconds: Some(expiration_seconds),
        expected_version: input.version.parse().ok(),
    };
    let result = if pre.is_empty() {
        let n = name.clone();
        super::api::with_ctx(&state, &req, principal.clone(), move |conn, ctx| {
            registry::update(conn, ctx, &n, &patch)
        })
        .await
    } else {
        Err(AppError::Validation {
            message: "the change is not valid".into(),
            fields: pre,
        })
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/connectors/{}", path_segment(&name)))),
        Err(AppError::Conflict(_)) => {
            // Show the entries again on top of the current version: saving once more
            // applies them to it, knowingly.
            let (current, _) = load(&state, &req, &principal, name.clone()).await?;
            input.version = current.row.updated_at.to_string();
            let page = form_page(
                &state,
                &principal,
                &session,
                Some(&current),
                &input,
                FieldErrors::new(),
                Some(
                    "Someone changed this connector after you opened the form. Your entries \
                     are below; saving again applies them to the current version."
                        .into(),
                ),
            )
            .await?;
            Ok(html(page, &req, StatusCode::CONFLICT))
        }
        Err(err) => {
            let (errors, error, status) = form_failure(err, true)?;
            let page = form_page(
                &state,
                &principal,
                &session,
                Some(&c),
                &input,
                errors,
                error,
            )
            .await?;
            Ok(html(page, &req, status))
        }
    }
}

/// `GET /connectors/{name}`
async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let (c, resources) = load(&state, &req, &principal, name.clone()).await?;
    let target = format!("connector:{name}");
    let created_at = c.row.created_at;
    let history = state
        .db
        .run(move |conn| {
            crate::audit::list(
                conn,
                &crate::audit::Filter {
                    target: Some(target),
                    limit: 50,
                    ..Default::default()
                },
            )
            .map_err(AppError::from)
        })
        .await?
        .into_iter()
        // Names can be reused after a delete: only this connector's own events.
        .filter(|e| e.at >= created_at)
        .collect::<Vec<_>>();
    let t = catalog_type(&state, &c.row.connector_type)?.clone();
    let method = t.auth_method(&c.row.auth_method);
    let attributes = method.map(AuthMethod::attributes).unwrap_or_default();
    let mut config: Vec<ConfigRow> = attributes
        .iter()
        .map(|a| {
            let v = c.configuration.get(&a.name);
            ConfigRow {
                title: a.title.clone(),
                name: a.name.clone(),
                value: v.map(|v| value_text(v, ", ")).unwrap_or_default(),
                secret: a.secret,
                set: v.is_some(),
            }
        })
        .collect();
    // Attributes stored but not in the catalog any more are shown too (plain only).
    for (k, v) in &c.configuration {
        if !attributes.iter().any(|a| &a.name == k) {
            config.push(ConfigRow {
                title: k.clone(),
                name: k.clone(),
                value: if v.as_str() == Some(HIDDEN) {
                    HIDDEN.into()
                } else {
                    v.to_string()
                },
                secret: v.as_str() == Some(HIDDEN),
                set: true,
            });
        }
    }
    let now = now_ms();
    let (expires, warn) = expires_in(c.row.expires_at, now);
    let page = ShowPage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        name: c.row.name.clone(),
        namespace: c.namespace.clone(),
        method: (
            c.row.auth_method.clone(),
            method.map_or_else(|| c.row.auth_method.clone(), |m| m.name.clone()),
        ),
        description: c.row.description.clone(),
        config,
        resources: resources
            .iter()
            .map(|r| ResourceLine {
                resource_type: r.resource_type.clone(),
                ids: ids_text(r),
                error: r.error.clone(),
                origin: r.origin.clone(),
                when: when(Some(r.checked_at)),
            })
            .collect(),
        labels: c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        resource: c.resource_label(),
        expires_in: expires,
        expiry_warning: warn,
        session: c.row.expiration_seconds.map_or_else(
            || "credentials are handed out as stored".into(),
            super::catalog::duration_text,
        ),
        owner: c.row.created_by.clone(),
        created: when(Some(c.row.created_at)),
        updated: when(Some(c.row.updated_at)),
        verified: when(Connector::verified_at(&resources)),
        history: history
            .into_iter()
            .take(50)
            .map(|e| HistoryRow {
                at: when(Some(e.at)),
                actor: e.actor,
                action: e.action,
                detail: e.detail.unwrap_or_default(),
            })
            .collect(),
        can_update: principal
            .grants
            .can_namespace(Permission::ConnectorUpdate, &c.namespace),
        can_delete: principal
            .grants
            .can_namespace(Permission::ConnectorDelete, &c.namespace),
        t,
    };
    Ok(html(page, &req, StatusCode::OK))
}

/// `POST /connectors/{name}/delete`
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    super::api::with_ctx(&state, &req, principal, move |conn, ctx| {
        registry::delete(conn, ctx, &name)
    })
    .await?;
    Ok(see_other("/connectors"))
}

/// Query of the resources page.
#[derive(Debug, Default, Deserialize)]
pub struct ResourcesQuery {
    #[serde(default)]
    resource_type: String,
    #[serde(default)]
    connector_type: String,
}

/// `GET /resources`
async fn resources_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    query: web::Query<ResourcesQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let filter = ListQuery {
        resource_type: Some(q.resource_type.clone()),
        connector_type: Some(q.connector_type.clone()),
        ..Default::default()
    };
    let items = readable_connectors(&state, &req, &principal, filter, 500).await?;
    let rows = items
        .iter()
        .flat_map(|(c, resources)| {
            let rt = q.resource_type.clone();
            resources
                .iter()
                .filter(move |r| rt.is_empty() || r.resource_type == rt)
                .map(move |r| ResourcesRow {
                    connector: c.row.name.clone(),
                    connector_type: c.row.connector_type.clone(),
                    namespace: c.namespace.clone(),
                    resource_type: r.resource_type.clone(),
                    ids: ids_text(r),
                    error: r.error.clone(),
                    origin: r.origin.clone(),
                    when: when(Some(r.checked_at)),
                })
        })
        .collect();
    let page = ResourcesPage {
        layout: Layout::new(&principal, &session, Section::Connectors)?,
        resource_types: state.catalog.resource_type_ids(),
        types: state
            .catalog
            .types()
            .iter()
            .map(|t| t.connector_type.clone())
            .collect(),
        resource_type: q.resource_type,
        connector_type: q.connector_type,
        rows,
    };
    Ok(html(page, &req, StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::expires_in;

    #[test]
    fn expiry_reads_naturally_and_warns_within_a_week() {
        let now = 1_000_000_000_000;
        let h = 3_600_000;
        assert_eq!(expires_in(None, now), ("—".into(), false));
        assert_eq!(
            expires_in(Some(now + 3 * 24 * h), now),
            ("in 3 days".into(), true)
        );
        assert_eq!(
            expires_in(Some(now + 30 * 24 * h), now),
            ("in 30 days".into(), false)
        );
        assert_eq!(
            expires_in(Some(now + 5 * h), now),
            ("in 5 hours".into(), true)
        );
        assert_eq!(
            expires_in(Some(now - 2 * h), now),
            ("expired 2 hours ago".into(), true)
        );
    }
}
