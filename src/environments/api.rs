//! JSON API of environments (`/api/v1/environments…`), and the list query and answer
//! that other environment lists (a user's, in `crate::users`) share.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::envs::{self, EnvChanges, NewEnv};
use super::models::{Environment, EnvironmentJson};
use super::repo::EnvFilter;
use crate::app::Cx;
use crate::errors::AppResult;
use crate::web::Reply;
use crate::web::api::Json;

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_environments,
    create_environment,
    get_environment,
    update_environment,
    delete_environment
))]
pub(super) struct Doc;

/// A page of environments with the exact number of all that match.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EnvPage<'a> {
    /// The environments of this page.
    pub items: Vec<EnvironmentJson<'a>>,
    /// Pass as `cursor` for the next page; `null` when this is the last.
    pub next_cursor: Option<String>,
    /// How many match, over every page.
    pub total: i64,
}
use crate::web::pagination::{self, decode_cursor, encode_cursor, split_page};

/// Path of one environment.
const ONE: &str = "/api/v1/environments/{ns}/{name}";

/// Routes; a method a path does not take is answered 405 with `Allow`.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/environments")
            .get(list_environments)
            .post(create_environment),
    )
    .service(
        web::resource(ONE)
            .get(get_environment)
            .patch(update_environment)
            .delete(delete_environment),
    );
}

/// Query of environment lists.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EnvQuery {
    /// Names containing this text.
    pub search: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only with this build status (QUEUED, BUILDING, COMPLETED, FAILED, CANCELED).
    #[param(pattern = "^(QUEUED|BUILDING|COMPLETED|FAILED|CANCELED)?$")]
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl EnvQuery {
    /// The repository filter, validated.
    pub fn filter(&self) -> AppResult<EnvFilter> {
        Ok(EnvFilter {
            namespace: self.namespace.clone().filter(|n| !n.is_empty()),
            search: self.search.clone().filter(|s| !s.is_empty()),
            status: self.status.clone().filter(|s| !s.is_empty()),
            after: decode_env_cursor(self.cursor.as_deref())?,
            limit: pagination::limit(self.limit)?,
        })
    }
}

/// The `(namespace, environment)` an environment cursor continues after.
pub(super) fn decode_env_cursor(cursor: Option<&str>) -> AppResult<Option<(String, String)>> {
    // A key without `/` is a namespace alone: the page starts with that namespace.
    Ok(decode_cursor(cursor)?.map(|c| match c.split_once('/') {
        Some((ns, name)) => (ns.to_owned(), name.to_owned()),
        None => (c, String::new()),
    }))
}

/// A page of environment rows read with one row more than `limit`: the first `limit`
/// rows and the raw `namespace/name` key to continue after, when more follow.
pub(super) fn split_env_page(
    rows: Vec<(Environment, String)>,
    limit: i64,
) -> (Vec<(Environment, String)>, Option<String>) {
    split_page(rows, limit, |(e, ns)| format!("{ns}/{}", e.name))
}

/// The 200 answer `{"items","next_cursor","total"}` of an environment list.
pub fn env_page(rows: Vec<(Environment, String)>, total: i64, limit: i64) -> HttpResponse {
    /// About what one item takes in JSON, without its description.
    const ITEM_BYTES: usize = 256;
    let (rows, next) = split_env_page(rows, limit);
    let items: Vec<EnvironmentJson<'_>> = rows
        .iter()
        .map(|(e, ns)| EnvironmentJson::new(e, ns, false))
        .collect();
    let size_hint = 64
        + items
            .iter()
            .map(|e| ITEM_BYTES + e.description.len())
            .sum::<usize>();
    let next_cursor = next.as_deref().map(encode_cursor);
    let page = EnvPage {
        items,
        next_cursor,
        total,
    };
    crate::web::api::json_ok(&page, size_hint)
}

/// List environments.
#[utoipa::path(get, path = "/api/v1/environments", tag = "environments",
    params(EnvQuery),
    responses((status = 200, description = "The environments the caller may read, by namespace and name, with the exact total.", body = EnvPage)))]
async fn list_environments(cx: Cx, q: web::Query<EnvQuery>) -> Reply {
    let filter = q.filter()?;
    let limit = filter.limit;
    let (rows, total) = cx
        .read(move |conn, actor, st| envs::list(conn, actor.grants(), &filter, &st.env_totals))
        .await?;
    Ok(env_page(rows, total, limit))
}

/// Create an environment.
#[utoipa::path(post, path = "/api/v1/environments", tag = "environments",
    request_body = NewEnv,
    responses((status = 201, description = "Created (a build is queued).", body = EnvironmentJson)))]
async fn create_environment(cx: Cx, body: Json<NewEnv>) -> Reply {
    let input = body.into_inner();
    let ns = input.namespace.clone();
    let env = cx
        .run(move |conn, actor, _| envs::create(conn, actor, &input))
        .await?;
    Ok(HttpResponse::Created().json(EnvironmentJson::new(&env, &ns, true)))
}

/// Show an environment.
#[utoipa::path(get, path = "/api/v1/environments/{ns}/{name}", tag = "environments",
    params(("ns" = String, Path, description = "The namespace."), ("name" = String, Path, description = "The environment.")),
    responses((status = 200, description = "The environment with its specification.", body = EnvironmentJson)))]
async fn get_environment(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    let (ns, name) = path.into_inner();
    let n = ns.clone();
    let (env, _) = cx
        .run(move |conn, actor, _| envs::readable(conn, actor.grants(), &n, &name))
        .await?;
    Ok(HttpResponse::Ok().json(EnvironmentJson::new(&env, &ns, true)))
}

/// Changes environment `(ns, name)` as the caller (the JSON and dashboard edits alike).
pub(super) async fn update(
    cx: &Cx,
    (ns, name): (String, String),
    changes: EnvChanges,
) -> AppResult<Environment> {
    cx.run(move |conn, actor, _| envs::update(conn, actor, &ns, &name, &changes))
        .await
}

/// Change an environment.
#[utoipa::path(patch, path = "/api/v1/environments/{ns}/{name}", tag = "environments",
    params(("ns" = String, Path, description = "The namespace."), ("name" = String, Path, description = "The environment.")),
    request_body = EnvChanges,
    responses((status = 200, description = "Changed.", body = EnvironmentJson)))]
async fn update_environment(
    cx: Cx,
    path: web::Path<(String, String)>,
    body: Json<EnvChanges>,
) -> Reply {
    let (ns, name) = path.into_inner();
    let env = update(&cx, (ns.clone(), name), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(EnvironmentJson::new(&env, &ns, true)))
}

/// Deletes environment `(ns, name)` as the caller (the JSON and dashboard deletes alike).
pub(super) async fn delete(cx: &Cx, (ns, name): (String, String)) -> AppResult<()> {
    cx.run(move |conn, actor, _| envs::delete(conn, actor, &ns, &name))
        .await
}

/// Delete an environment.
#[utoipa::path(delete, path = "/api/v1/environments/{ns}/{name}", tag = "environments",
    params(("ns" = String, Path, description = "The namespace."), ("name" = String, Path, description = "The environment.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_environment(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    delete(&cx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
