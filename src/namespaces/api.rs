//! JSON API of namespaces and their shares (`/api/v1/namespaces…`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::{manage, sharing};
use crate::app::Cx;
use crate::environments::{self, NamespaceJson};
use crate::errors::AppResult;
use crate::web::Reply;
use crate::web::api::{Json, Page};
use sharing::ShareJson;

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_namespaces,
    create_namespace,
    get_namespace,
    delete_namespace,
    list_shares,
    put_share,
    delete_share
))]
pub(super) struct Doc;

/// A namespace with the number of its environments.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NamespaceDetail {
    /// The namespace.
    #[serde(flatten)]
    namespace: NamespaceJson,
    /// How many environments it holds.
    environments: i64,
}
use crate::web::pagination::{self, decode_cursor, encode_cursor, split_page};

/// Path of one namespace.
const ONE: &str = "/api/v1/namespaces/{ns}";
/// Path of one share.
const SHARE: &str = "/api/v1/namespaces/{ns}/shares/{principal}";

/// Routes; a method a path does not take is answered 405 with `Allow`.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/namespaces")
            .get(list_namespaces)
            .post(create_namespace),
    )
    .service(
        web::resource(ONE)
            .get(get_namespace)
            .delete(delete_namespace),
    )
    .service(web::resource(format!("{ONE}/shares")).get(list_shares))
    .service(web::resource(SHARE).put(put_share).delete(delete_share));
}

/// Query of namespace lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NamespaceQuery {
    /// Names containing this text.
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// List namespaces.
#[utoipa::path(get, path = "/api/v1/namespaces", tag = "namespaces",
    params(NamespaceQuery),
    responses((status = 200, description = "The namespaces the caller may read.", body = Page<NamespaceJson>)))]
async fn list_namespaces(cx: Cx, q: web::Query<NamespaceQuery>) -> Reply {
    let q = q.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let rows = cx
        .run(move |conn, actor, _| {
            let (search, after) = (q.search.as_deref(), after.as_deref());
            let grants = actor.grants();
            Ok(environments::list_namespaces(
                conn, grants, search, after, limit,
            )?)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |n| n.name.clone());
    let items: Vec<NamespaceJson> = rows.iter().map(NamespaceJson::from).collect();
    let next_cursor = next.as_deref().map(encode_cursor);
    Ok(HttpResponse::Ok().json(Page::new(items, next_cursor)))
}

/// Body of namespace creation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNamespace {
    /// Name: letters, digits and `- _ . + @`, starting with a letter or digit.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    name: String,
    /// Description.
    description: Option<String>,
    /// Any JSON object.
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

/// Create a namespace.
#[utoipa::path(post, path = "/api/v1/namespaces", tag = "namespaces",
    request_body = CreateNamespace,
    responses((status = 201, description = "Created; the creator administers it.", body = NamespaceJson)))]
async fn create_namespace(cx: Cx, body: Json<CreateNamespace>) -> Reply {
    let b = body.into_inner();
    let description = b.description.unwrap_or_default();
    let ns = cx
        .run(move |conn, actor, _| {
            manage::create(conn, actor, &b.name, &description, b.metadata.as_ref())
        })
        .await?;
    Ok(HttpResponse::Created().json(NamespaceJson::from(&ns)))
}

/// Show a namespace.
#[utoipa::path(get, path = "/api/v1/namespaces/{ns}", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    responses((status = 200, description = "The namespace and how many environments it holds.", body = NamespaceDetail)))]
async fn get_namespace(cx: Cx, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let (ns, count) = cx
        .run(move |conn, actor, _| {
            let ns = environments::readable_namespace(conn, actor.grants(), &name)?;
            let count = environments::count_environments_in(conn, ns.id)?;
            Ok((ns, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(NamespaceDetail {
        namespace: NamespaceJson::from(&ns),
        environments: count,
    }))
}

/// Delete a namespace.
#[utoipa::path(delete, path = "/api/v1/namespaces/{ns}", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_namespace(cx: Cx, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    cx.run(move |conn, actor, st| manage::delete(conn, actor, &st.key_cache, &name))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The `{"items","next_cursor"}` answer of a namespace's shares (never paged).
fn shares_answer(items: Vec<ShareJson>) -> HttpResponse {
    HttpResponse::Ok().json(Page::all(items))
}

/// List a namespace's shares.
#[utoipa::path(get, path = "/api/v1/namespaces/{ns}/shares", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    responses((status = 200, description = "Who it is shared with.", body = Page<ShareJson>)))]
async fn list_shares(cx: Cx, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let items = cx
        .run(move |conn, actor, _| sharing::shares(conn, actor, &name))
        .await?;
    Ok(shares_answer(items))
}

/// Body of a share.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// `viewer`, `developer` (alias `editor`) or `admin` (never more than the caller
    /// holds).
    #[schema(pattern = "^(viewer|developer|editor|admin)$")]
    role: String,
}

/// Share a namespace.
#[utoipa::path(put, path = "/api/v1/namespaces/{ns}/shares/{principal}", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace."), ("principal" = String, Path, description = "A user (`name` or `user:name`) or a service account (`ns/name` or `service_account:ns/name`).")),
    request_body = ShareBody,
    responses((status = 200, description = "Shared; every share of the namespace.", body = Page<ShareJson>)))]
async fn put_share(cx: Cx, path: web::Path<(String, String)>, body: Json<ShareBody>) -> Reply {
    let path = path.into_inner();
    let name = path.0.clone();
    share(&cx, path, body.into_inner().role).await?;
    let items = cx
        .run(move |conn, actor, _| sharing::shares(conn, actor, &name))
        .await?;
    Ok(shares_answer(items))
}

/// Shares namespace `name` with `target` as `role`, as the caller (the JSON and
/// dashboard shares alike).
pub(super) async fn share(
    cx: &Cx,
    (name, target): (String, String),
    role: String,
) -> AppResult<()> {
    cx.run(move |conn, actor, st| sharing::share(conn, actor, &st.key_cache, &name, &target, &role))
        .await
}

/// Stops sharing namespace `name` with `target`, as the caller (the JSON and dashboard
/// removals alike).
pub(super) async fn unshare(cx: &Cx, (name, target): (String, String)) -> AppResult<()> {
    cx.run(move |conn, actor, st| sharing::unshare(conn, actor, &st.key_cache, &name, &target))
        .await
}

/// Stop sharing a namespace.
#[utoipa::path(delete, path = "/api/v1/namespaces/{ns}/shares/{principal}", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace."), ("principal" = String, Path, description = "A user (`name` or `user:name`) or a service account (`ns/name` or `service_account:ns/name`).")),
    responses((status = 204, description = "No longer shared.")))]
async fn delete_share(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    unshare(&cx, path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
