//! JSON API of namespaces, shares and environments.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::envs::{self, EnvChanges, NewEnv};
use super::models::{EnvironmentJson, NamespaceJson};
use super::namespaces;
use super::repo::{self, EnvFilter};
use crate::access::Principal;
use crate::app::AppState;
use crate::errors::{AppError, AppResult};
use crate::web::client_addr;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/namespaces", web::get().to(list_namespaces))
        .route("/api/v1/namespaces", web::post().to(create_namespace))
        .route("/api/v1/namespaces/{ns}", web::get().to(get_namespace))
        .route(
            "/api/v1/namespaces/{ns}",
            web::delete().to(delete_namespace),
        )
        .route("/api/v1/namespaces/{ns}/shares", web::get().to(list_shares))
        .route(
            "/api/v1/namespaces/{ns}/shares/{principal}",
            web::put().to(put_share),
        )
        .route(
            "/api/v1/namespaces/{ns}/shares/{principal}",
            web::delete().to(delete_share),
        )
        .route("/api/v1/environments", web::get().to(list_environments))
        .route("/api/v1/environments", web::post().to(create_environment))
        .route(
            "/api/v1/environments/{ns}/{name}",
            web::get().to(get_environment),
        )
        .route(
            "/api/v1/environments/{ns}/{name}",
            web::patch().to(update_environment),
        )
        .route(
            "/api/v1/environments/{ns}/{name}",
            web::delete().to(delete_environment),
        );
}

/// Query of namespace lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceQuery {
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_namespaces(
    state: web::Data<AppState>,
    principal: Principal,
    q: web::Query<NamespaceQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let grants = principal.grants;
    let mut rows = state
        .db
        .run(move |conn| {
            repo::list_namespaces(conn, &grants, q.search.as_deref(), after.as_deref(), limit)
                .map_err(AppError::from)
        })
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|n| encode_cursor(&n.name))
    } else {
        None
    };
    let items: Vec<NamespaceJson> = rows.iter().map(NamespaceJson::from).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next})))
}

/// Body of namespace creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateNamespace {
    name: String,
    description: Option<String>,
    metadata: Option<serde_json::Value>,
}

async fn create_namespace(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<CreateNamespace>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let client = client_addr(&req);
    let ns = state
        .db
        .run(move |conn| {
            namespaces::create(
                conn,
                &principal,
                &client,
                &b.name,
                b.description.as_deref().unwrap_or(""),
                b.metadata.as_ref(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(NamespaceJson::from(&ns)))
}

async fn get_namespace(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let (ns, count) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let ns = namespaces::readable(conn, &principal.grants, &name)?;
            let count = repo::count_environments_in(conn, ns.id)?;
            Ok((ns, count))
        })
        .await?;
    let mut body = serde_json::to_value(NamespaceJson::from(&ns)).map_err(AppError::internal)?;
    body["environments"] = json!(count);
    Ok(HttpResponse::Ok().json(body))
}

async fn delete_namespace(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let client = client_addr(&req);
    let st = state.clone();
    state
        .db
        .run(move |conn| namespaces::delete(conn, &principal, &client, &st.key_cache, &name))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_shares(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let items = state
        .db
        .run(move |conn| namespaces::shares(conn, &principal.grants, &name))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}

/// Body of a share.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    role: String,
}

async fn put_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<ShareBody>,
) -> AppResult<HttpResponse> {
    let (name, target) = path.into_inner();
    let client = client_addr(&req);
    let st = state.clone();
    let role = body.into_inner().role;
    let items = state
        .db
        .run(move |conn| {
            namespaces::share(
                conn,
                &principal,
                &client,
                &st.key_cache,
                &name,
                &target,
                &role,
            )?;
            namespaces::shares(conn, &principal.grants, &name)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}

async fn delete_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (name, target) = path.into_inner();
    let client = client_addr(&req);
    let st = state.clone();
    state
        .db
        .run(move |conn| {
            namespaces::unshare(conn, &principal, &client, &st.key_cache, &name, &target)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Query of environment lists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvQuery {
    /// Name substring.
    pub search: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Build status.
    pub status: Option<String>,
    /// Page size.
    pub limit: Option<i64>,
    /// Cursor.
    pub cursor: Option<String>,
}

impl EnvQuery {
    /// The repository filter, validated.
    pub fn filter(&self) -> AppResult<EnvFilter> {
        let after = decode_cursor(self.cursor.as_deref())?
            .map(|c| {
                c.split_once('/')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .ok_or_else(|| AppError::bad_request("invalid cursor"))
            })
            .transpose()?;
        Ok(EnvFilter {
            namespace: self.namespace.clone().filter(|n| !n.is_empty()),
            search: self.search.clone().filter(|s| !s.is_empty()),
            status: self.status.clone().filter(|s| !s.is_empty()),
            after,
            limit: pagination::limit(self.limit)?,
        })
    }
}

/// The `{"items","next_cursor","total"}` answer of an environment list.
pub fn env_page(
    rows: Vec<(super::Environment, String)>,
    total: i64,
    limit: i64,
) -> serde_json::Value {
    let mut rows = rows;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|(e, ns)| encode_cursor(&format!("{ns}/{}", e.name)))
    } else {
        None
    };
    let items: Vec<EnvironmentJson> = rows
        .iter()
        .map(|(e, ns)| EnvironmentJson::new(e, ns, false))
        .collect();
    json!({"items": items, "next_cursor": next, "total": total})
}

async fn list_environments(
    state: web::Data<AppState>,
    principal: Principal,
    q: web::Query<EnvQuery>,
) -> AppResult<HttpResponse> {
    let filter = q.filter()?;
    let limit = filter.limit;
    let grants = principal.grants;
    let st = state.clone();
    let (rows, total) = state
        .db
        .run(move |conn| envs::list(conn, &grants, &filter, &st.env_totals))
        .await?;
    Ok(HttpResponse::Ok().json(env_page(rows, total, limit)))
}

/// Body of environment creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEnv {
    namespace: String,
    name: String,
    description: Option<String>,
    specification: Option<String>,
}

async fn create_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: web::Json<CreateEnv>,
) -> AppResult<HttpResponse> {
    let b = body.into_inner();
    let client = client_addr(&req);
    let ns = b.namespace.clone();
    let env = state
        .db
        .run(move |conn| {
            envs::create(
                conn,
                &principal,
                &client,
                &NewEnv {
                    namespace: b.namespace,
                    name: b.name,
                    description: b.description,
                    specification: b.specification,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(EnvironmentJson::new(&env, &ns, true)))
}

async fn get_environment(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let n = ns.clone();
    let (env, _) = state
        .db
        .run(move |conn| envs::readable(conn, &principal.grants, &n, &name))
        .await?;
    Ok(HttpResponse::Ok().json(EnvironmentJson::new(&env, &ns, true)))
}

/// Body of an environment update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchEnv {
    description: Option<String>,
    specification: Option<String>,
    current_build: Option<PatchBuild>,
}

/// Build part of an update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchBuild {
    status: String,
}

async fn update_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<PatchEnv>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let b = body.into_inner();
    let client = client_addr(&req);
    let n = ns.clone();
    let env = state
        .db
        .run(move |conn| {
            envs::update(
                conn,
                &principal,
                &client,
                &n,
                &name,
                &EnvChanges {
                    description: b.description,
                    specification: b.specification,
                    build_status: b.current_build.map(|c| c.status),
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(EnvironmentJson::new(&env, &ns, true)))
}

async fn delete_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let client = client_addr(&req);
    state
        .db
        .run(move |conn| envs::delete(conn, &principal, &client, &ns, &name))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
