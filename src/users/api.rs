//! Users (global admins): list, create, change, their explicit role bindings, and
//! "view as" — what a user can read and why. Plus `GET /api/v1/permissions` for anyone.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::ops::{self, Grantee, UserChange};
use crate::access::{self, AuthMethod, Grants, GroupsBySource};
use crate::app::{Admin, Cx};
use crate::auth::{self, User};
use crate::db::rfc3339;
use crate::environments::{self, EnvFilter};
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::api::{Json, Page};
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// The operations of this module in the OpenAPI document. Users' and groups' role
/// bindings share their handlers; each route is declared on its own.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    my_permissions,
    list_users,
    create_user,
    get_user,
    update_user,
    user_environments,
    user_permissions,
    list_groups,
    doc::get_user_bindings,
    doc::put_user_bindings,
    doc::get_group_bindings,
    doc::put_group_bindings
))]
pub(super) struct Doc;

/// The role-binding routes of users and groups, described (they share handlers).
#[expect(
    dead_code,
    reason = "only described: `get_bindings` and `put_bindings` serve them"
)]
mod doc {
    use crate::access;

    /// Show a user's role bindings.
    #[utoipa::path(get, path = "/api/v1/users/{name}/role-bindings", tag = "users",
        params(("name" = String, Path, description = "The user.")),
        responses((status = 200, description = "The user's own role bindings: pattern → roles.", body = access::RoleBindings)))]
    pub(super) fn get_user_bindings() {}

    /// Replace a user's role bindings.
    #[utoipa::path(put, path = "/api/v1/users/{name}/role-bindings", tag = "users",
        params(("name" = String, Path, description = "The user.")),
        request_body(content = access::RoleBindings, description = "Pattern → roles; replaces the user's own bindings."),
        responses((status = 200, description = "The bindings now held.", body = access::RoleBindings)))]
    pub(super) fn put_user_bindings() {}

    /// Show a group's role bindings.
    #[utoipa::path(get, path = "/api/v1/groups/{group}/role-bindings", tag = "users",
        params(("group" = crate::web::api::Name, Path, description = "The group.")),
        responses((status = 200, description = "The group's role bindings: pattern → roles.", body = access::RoleBindings)))]
    pub(super) fn get_group_bindings() {}

    /// Replace a group's role bindings.
    #[utoipa::path(put, path = "/api/v1/groups/{group}/role-bindings", tag = "users",
        params(("group" = crate::web::api::Name, Path, description = "The group.")),
        request_body(content = access::RoleBindings, description = "Pattern → roles; replaces the group's bindings (members get them at once)."),
        responses((status = 200, description = "The bindings now held.", body = access::RoleBindings)))]
    pub(super) fn put_group_bindings() {}
}

/// Routes; a method a path does not take is answered 405 with `Allow`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let user = "/api/v1/users/{name}";
    cfg.service(web::resource("/api/v1/permissions").get(my_permissions))
        .service(
            web::resource("/api/v1/users")
                .get(list_users)
                .post(create_user),
        )
        .service(web::resource(user).get(get_user).patch(update_user))
        .service(web::resource(format!("{user}/environments")).get(user_environments))
        .service(web::resource(format!("{user}/permissions")).get(user_permissions))
        .service(web::resource("/api/v1/groups").get(list_groups));
    // Users' and groups' bindings share their handlers.
    for path in [user, "/api/v1/groups/{group}"] {
        cfg.service(
            web::resource(format!("{path}/role-bindings"))
                .get(get_bindings)
                .put(put_bindings),
        );
    }
}

/// `groups`: memberships set through this API (PATCH replaces them);
/// `provider_groups`: those the OpenID provider reported and that still count
/// (read-only here; the next sign-in refreshes them).
fn user_json(u: &User, groups: &GroupsBySource) -> UserJson {
    UserJson {
        name: u.name.clone(),
        groups: groups.0.clone(),
        provider_groups: groups.1.clone(),
        primary_namespace: u.primary_namespace.clone(),
        active: u.active,
        local_password: u.password_hash.is_some(),
        created_at: rfc3339(u.created_at),
        last_login_at: u.last_login_at.map(rfc3339),
    }
}

/// A user as the API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UserJson {
    /// Name.
    name: String,
    /// Groups set through this API.
    groups: Vec<String>,
    /// Groups the OpenID provider reported (read-only here).
    provider_groups: Vec<String>,
    /// The namespace the user administers by default.
    primary_namespace: String,
    /// Whether the user may sign in.
    active: bool,
    /// Whether the user has a local password.
    local_password: bool,
    /// RFC 3339.
    #[schema(format = DateTime)]
    created_at: String,
    /// RFC 3339, or `null` before the first sign-in.
    #[schema(format = DateTime)]
    last_login_at: Option<String>,
}

/// A group and its role bindings.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct GroupJson {
    /// Group name.
    name: String,
    /// Pattern → roles.
    #[schema(value_type = access::RoleBindings)]
    role_bindings: BTreeMap<String, Vec<String>>,
}

/// What the caller may do.
///
/// The caller's permission map (conda-store compatible), with each binding's source.
#[utoipa::path(get, path = "/api/v1/permissions", tag = "users",
    responses((status = 200, description = "What the caller may do, and why.", body = access::PermissionsJson)))]
async fn my_permissions(cx: Cx) -> Reply {
    let principal = cx.actor.principal;
    let expiration = match &principal.method {
        AuthMethod::AccessToken(id) => {
            let id = id.clone();
            cx.state
                .db
                .run(move |conn| auth::find_access_token(conn, &id).map_err(AppError::from))
                .await?
                .map(|t| rfc3339(t.expires_at))
        }
        _ => None,
    };
    Ok(HttpResponse::Ok().json(access::permissions_json(
        &principal.grants,
        principal.primary_namespace.as_deref(),
        expiration,
    )))
}

/// Query of the user list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Names containing this text.
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// List users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    params(UserQuery),
    responses((status = 200, description = "Users by name (global admins).", body = Page<UserJson>)))]
async fn list_users(Admin(cx): Admin, q: web::Query<UserQuery>) -> Reply {
    let q = q.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let since = ops::provider_groups_since(&cx.state);
    let (users, groups) = cx
        .state
        .db
        .run(move |conn| -> AppResult<_> {
            let users = auth::list_users_after(conn, q.search.as_deref(), after.as_deref(), limit)?;
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            Ok((users, access::groups_by_source_of(conn, &ids, since)?))
        })
        .await?;
    let (users, next) = pagination::split_page(users, limit, |u| u.name.clone());
    let none = GroupsBySource::default();
    let items: Vec<_> = users
        .iter()
        .map(|u| user_json(u, groups.get(&u.id).unwrap_or(&none)))
        .collect();
    let next_cursor = next.as_deref().map(encode_cursor);
    Ok(HttpResponse::Ok().json(Page::new(items, next_cursor)))
}

/// Body of user creation.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Name.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    name: String,
    /// Local password, at least 12 characters (none: the user signs in with OpenID
    /// Connect only).
    #[schema(min_length = 12, max_length = 1024)]
    password: Option<String>,
    /// A new namespace the user administers (default: the user's name).
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    primary_namespace: Option<String>,
    /// Whether the user may sign in (default true).
    active: Option<bool>,
}

/// Create a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = CreateUser,
    responses((status = 201, description = "Created, with a new primary namespace it administers.", body = UserJson)))]
async fn create_user(Admin(cx): Admin, body: Json<CreateUser>) -> Reply {
    let b = body.into_inner();
    let hash = ops::hash_password(b.password.clone()).await?;
    let user = cx
        .run(move |conn, actor, _| {
            let names = (b.name.as_str(), b.primary_namespace.as_deref());
            ops::create_user(
                conn,
                actor,
                names,
                hash.as_deref(),
                b.active.unwrap_or(true),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(user_json(&user, &Default::default())))
}

/// Show a user.
#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user.")),
    responses((status = 200, description = "The user.", body = UserJson)))]
async fn get_user(Admin(cx): Admin, path: web::Path<String>) -> Reply {
    let since = ops::provider_groups_since(&cx.state);
    let (user, groups) = cx
        .state
        .db
        .run(move |conn| ops::with_groups(conn, &path, since))
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user, &groups)))
}

/// Body of a user change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// Whether the user may sign in (deactivating ends their sessions and tokens).
    active: Option<bool>,
    /// A new local password, at least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    password: Option<String>,
    /// Replaces the memberships set through this API. Memberships the OpenID provider
    /// reports are the provider's (`provider_groups`, refreshed at each sign-in).
    #[schema(value_type = Option<Vec<crate::web::api::Name>>)]
    groups: Option<Vec<String>>,
}

/// Change a user.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The user.")),
    request_body = PatchUser,
    responses((status = 200, description = "Changed.", body = UserJson)))]
async fn update_user(Admin(cx): Admin, path: web::Path<String>, body: Json<PatchUser>) -> Reply {
    let name = path.into_inner();
    let b = body.into_inner();
    let change = UserChange {
        active: b.active,
        password_hash: ops::hash_password(b.password).await?,
        groups: b.groups,
    };
    let since = ops::provider_groups_since(&cx.state);
    let (user, groups) = cx
        .run(move |conn, actor, st| {
            ops::update_user(conn, st, actor, &name, &change)?;
            ops::with_groups(conn, &name, since)
        })
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user, &groups)))
}

/// `GET /api/v1/users/{name}/role-bindings` and `GET /api/v1/groups/{group}/role-bindings`.
async fn get_bindings(Admin(cx): Admin, path: web::Path<String>) -> Reply {
    let of_group = is_group_route(&cx.req);
    if of_group && crate::names::validate_name(&path).is_err() {
        return Err(AppError::NotFound);
    }
    let map = cx
        .state
        .db
        .run(move |conn| ops::bindings_of(conn, grantee(of_group, &path)))
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

/// `PUT /api/v1/users/{name}/role-bindings`, and `PUT /api/v1/groups/{group}/role-bindings`
/// (what every member of the group gets).
async fn put_bindings(
    Admin(cx): Admin,
    path: web::Path<String>,
    body: Json<BTreeMap<String, Vec<String>>>,
) -> Reply {
    let of_group = is_group_route(&cx.req);
    if of_group {
        crate::names::validate_name(&path)
            .map_err(|e| AppError::invalid("group", format!("group name {e}")))?;
    }
    let bindings = access::parse_binding_map(&body)?;
    let st = cx.state.clone();
    let map = cx
        .state
        .db
        .run(move |conn| {
            ops::replace_bindings(conn, &st, &cx.actor, grantee(of_group, &path), &bindings)
        })
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

fn is_group_route(req: &HttpRequest) -> bool {
    req.path().starts_with("/api/v1/groups/")
}

fn grantee(of_group: bool, name: &str) -> Grantee<'_> {
    if of_group {
        Grantee::Group(name)
    } else {
        Grantee::User(name)
    }
}

/// `GET /api/v1/users/{name}/environments`: what that user can read (the notebook
/// spawner's one call), same filters and paging as `/api/v1/environments`.
/// A user's grants as a namespace admin may see them; 404 when none of them reaches
/// the admin's namespaces (so that nobody else's existence leaks).
fn seen_by(grants: &Grants, overseer: &Grants) -> AppResult<Grants> {
    let seen = grants.seen_by(overseer);
    if seen.bindings().is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(seen)
}

/// What a user can read.
#[utoipa::path(get, path = "/api/v1/users/{name}/environments", tag = "users",
    params(("name" = String, Path, description = "The user."), crate::environments::api::EnvQuery),
    responses((status = 200, description = "What the user can read (a namespace admin sees it within what they administer).", body = crate::environments::api::EnvPage)))]
async fn user_environments(
    cx: Cx,
    path: web::Path<String>,
    q: web::Query<environments::api::EnvQuery>,
) -> Reply {
    let filter: EnvFilter = q.filter()?;
    let limit = filter.limit;
    let cap = cx.actor.oversight()?;
    let (rows, total) = cx
        .run(move |conn, _, st| {
            let (_, grants) = ops::grants_of(conn, st, &path)?;
            let grants = match cap {
                Some(overseer) => {
                    seen_by(&grants, &overseer)?;
                    Grants::capped_by(grants.bindings().to_vec(), overseer)
                }
                None => grants,
            };
            environments::list_environments(conn, &grants, &filter, &st.env_totals)
        })
        .await?;
    Ok(environments::api::env_page(rows, total, limit))
}

/// What a user may do.
///
/// That user's bindings with their sources (global admins; a namespace admin sees those
/// within the namespaces they administer).
#[utoipa::path(get, path = "/api/v1/users/{name}/permissions", tag = "users",
    params(("name" = String, Path, description = "The user.")),
    responses((status = 200, description = "What the user may do, and why.", body = access::PermissionsJson)))]
async fn user_permissions(cx: Cx, path: web::Path<String>) -> Reply {
    let cap = cx.actor.oversight()?;
    let (user, grants) = cx
        .run(move |conn, _, st| ops::grants_of(conn, st, &path))
        .await?;
    let grants = match cap {
        Some(overseer) => seen_by(&grants, &overseer)?,
        None => grants,
    };
    Ok(HttpResponse::Ok().json(access::permissions_json(
        &grants,
        Some(&user.primary_namespace),
        None,
    )))
}

/// List groups.
///
/// Every group with role bindings (global admins).
#[utoipa::path(get, path = "/api/v1/groups", tag = "users",
    responses((status = 200, description = "Groups with role bindings (global admins).", body = Page<GroupJson>)))]
async fn list_groups(Admin(cx): Admin) -> Reply {
    let rows = cx
        .state
        .db
        .run(move |conn| access::list_all_group_bindings(conn).map_err(AppError::from))
        .await?;
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (group, pattern, role) in rows {
        let roles = groups.entry(group).or_default().entry(pattern).or_default();
        roles.push(role);
    }
    let items: Vec<_> = groups
        .into_iter()
        .map(|(name, role_bindings)| GroupJson {
            name,
            role_bindings,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::all(items)))
}
