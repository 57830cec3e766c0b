//! The JSON API described as OpenAPI 3.1, generated from the handlers' own types
//! (`utoipa`): each area's `api` module declares its operations next to its handlers,
//! and this module joins them, adds what every operation shares (the bearer scheme,
//! the error answers) and the `/api/v1/namespaces/{ns}/…` form of the routes that have
//! one. Served at `GET /api/v1/openapi.json` and shown as the API reference page.

mod reference;

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{PathItem, RefOr, Response};

use crate::web::api::ErrorBody;

/// Routes of the document and its page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/openapi.json").get(serve))
        .service(web::resource("/api-reference").get(reference::show));
}

/// Top of the document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis API",
        description = "Service accounts and their API keys, service connectors, namespaces, \
            environments and role bindings. Every list shows only what the caller may read. \
            Authenticate with `Authorization: Bearer <credential>`: an API key (`pck_…`), or an \
            access token (`pct_…`) from `POST /api/v1/login` or `POST /api/v1/tokens`. A browser \
            session works too, with the CSRF token on changes.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(serve),
    components(schemas(ErrorBody)),
    security(("bearer" = [])),
    tags(
        (name = "credentials", description = "Sign-in, access tokens, who am I"),
        (name = "service accounts", description = "Service accounts, their API keys and role bindings"),
        (name = "connectors", description = "The connector catalog, registered connectors, resources, brokered credentials"),
        (name = "namespaces", description = "Namespaces and who they are shared with"),
        (name = "environments", description = "Environments of the namespaces"),
        (name = "users", description = "Users, groups, their role bindings, and what anyone can read"),
        (name = "audit", description = "The audit log"),
        (name = "meta", description = "This document"),
    )
)]
struct Top;

/// The document.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(generated()).unwrap_or_default();
    add_namespaced_forms(&mut doc);
    describe_query_parameters(&mut doc);
    doc
}

/// What utoipa generates from the areas' declarations, with the shared parts.
fn generated() -> utoipa::openapi::OpenApi {
    let mut doc = Top::openapi();
    for part in [
        crate::identity::api_doc(),
        crate::auth::api_doc(),
        crate::service_accounts::api_doc(),
        crate::connectors::api_doc(),
        crate::namespaces::api_doc(),
        crate::environments::api_doc(),
        crate::users::api_doc(),
        crate::audit::api_doc(),
    ] {
        doc.merge(part);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key (`pck_…`) or an access token (`pct_…`)."))
                .build(),
        ),
    );
    components.responses.insert(
        "Error".to_owned(),
        RefOr::T(
            Response::builder()
                .description("An error, as `{\"error\": {\"code\", \"message\", …}}`.")
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        ),
    );
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            add_error_answers(op);
        }
    }
    doc
}

/// The document as served, made once.
static JSON: LazyLock<String> = LazyLock::new(|| DOCUMENT.to_string());

/// The document, made once (the reference page renders from it).
static DOCUMENT: LazyLock<Value> = LazyLock::new(document);

/// This API as OpenAPI 3.1.
///
/// Public: it holds no data.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.", content_type = "application/json", body = Object)))]
async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(JSON.as_str())
}

/// Routes that also answer under `/api/v1/namespaces/{ns}/…` (the canonical form; the
/// shorter one answers where a name is unambiguous).
const NAMESPACED: [&str; 2] = ["/api/v1/service-accounts", "/api/v1/connectors"];

/// Adds, for each route under [`NAMESPACED`], its `/api/v1/namespaces/{ns}/…` form:
/// an `ns` path parameter first, its own operation id, and no `namespace` of its own
/// (the path names it: a query parameter is dropped, a body gets a variant without it).
fn add_namespaced_forms(doc: &mut Value) {
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let mut bodies = serde_json::Map::new();
    for (path, mut item) in paths {
        if !NAMESPACED.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let mut parameters = vec![json!({
                "name": "ns",
                "in": "path",
                "required": true,
                "description": "The namespace.",
                "schema": {"type": "string", "pattern": crate::web::api::NAME_PATTERN},
            })];
            let own = op["parameters"].as_array().cloned().unwrap_or_default();
            parameters.extend(
                own.into_iter()
                    .filter(|p| !(p["in"] == "query" && p["name"] == "namespace")),
            );
            op["parameters"] = Value::Array(parameters);
            if let Some(id) = op["operationId"].as_str() {
                op["operationId"] = json!(format!("{id}{}", reference::NAMESPACED_SUFFIX));
            }
            let body = "/requestBody/content/application~1json/schema/$ref";
            let Some(name) = op.pointer(body).and_then(Value::as_str) else {
                continue;
            };
            let name = name.rsplit('/').next().unwrap_or_default().to_owned();
            let mut schema = doc["components"]["schemas"][&name].clone();
            if let Some(props) = schema["properties"].as_object_mut()
                && props.remove("namespace").is_some()
            {
                let variant = format!("{name}InNamespace");
                bodies.insert(variant.clone(), schema);
                if let Some(r) = op.pointer_mut(body) {
                    *r = json!(format!("#/components/schemas/{variant}"));
                }
            }
        }
        let rest = &path["/api/v1/".len()..];
        doc["paths"][format!("/api/v1/namespaces/{{ns}}/{rest}")] = item;
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.extend(bodies);
    }
}

/// What every query parameter of a kind shares, said once: the paging parameters'
/// bounds and form (`crate::web::pagination`), and that no text holds a NUL character
/// (`web::api::refuse_nul_in_query`).
fn describe_query_parameters(doc: &mut Value) {
    use crate::web::pagination::{DEFAULT_LIMIT, MAX_LIMIT};
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    let parameters = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("parameters").and_then(Value::as_array_mut))
        .flatten();
    for p in parameters.filter(|p| p["in"] == "query") {
        match p["name"].as_str() {
            Some("limit") => {
                p["description"] = json!(format!(
                    "Page size (1–{MAX_LIMIT}, default {DEFAULT_LIMIT})."
                ));
                p["schema"]["minimum"] = json!(1);
                p["schema"]["maximum"] = json!(MAX_LIMIT);
            }
            Some("cursor") if p.get("description").is_none() => {
                p["description"] = json!("`next_cursor` of the previous page.");
                // Base64url without padding, as `pagination::encode_cursor` writes it.
                p["schema"]["pattern"] = json!("^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$");
            }
            _ => {}
        }
        let schema = &mut p["schema"];
        let text = schema["type"] == "string" || schema["type"] == json!(["string", "null"]);
        if text && schema.get("pattern").is_none() {
            schema["pattern"] = json!("^[^\\u0000]*$");
        }
    }
}

/// The operations of `item`, whatever their method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The error answers every operation may give, where it does not document them itself:
/// a request that cannot be read (400), a missing or bad credential (401), a refusal
/// (403), something absent or unreadable (404), a body that is not JSON (415), a
/// conflict or a name that more than one namespace holds (409), a refused value (422),
/// throttling (429), and the database away (503).
fn add_error_answers(op: &mut Operation) {
    let mut codes = vec!["400", "401", "403", "404", "409", "422", "429", "503"];
    if op.request_body.is_some() {
        codes.push("415");
    }
    let public = op
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
    for code in codes {
        if public && (code == "401" || code == "403") {
            continue;
        }
        op.responses
            .responses
            .entry(code.to_owned())
            .or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name("Error")));
    }
}

#[cfg(test)]
mod tests;
