//! Users (global admins): list, create, change, their explicit role bindings, and
//! "view as" — what a user can read and why. Plus `GET /api/v1/permissions` for anyone.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::ops::{self, Grantee, UserChange};
use crate::access::{self, AuthMethod, Grants, GroupsBySource};
use crate::app::{Admin, Cx};
use crate::auth::{self, User};
use crate::db::rfc3339;
use crate::environments::{self, EnvFilter};
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::pagination::{self, decode_cursor, encode_cursor};

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
fn user_json(u: &User, groups: &GroupsBySource) -> serde_json::Value {
    json!({
        "name": u.name,
        "groups": groups.0,
        "provider_groups": groups.1,
        "primary_namespace": u.primary_namespace,
        "active": u.active,
        "local_password": u.password_hash.is_some(),
        "created_at": rfc3339(u.created_at),
        "last_login_at": u.last_login_at.map(rfc3339),
    })
}

/// `GET /api/v1/permissions`: the caller's permission map.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    search: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

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
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next_cursor})))
}

/// Body of user creation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    name: String,
    password: Option<String>,
    primary_namespace: Option<String>,
    active: Option<bool>,
}

async fn create_user(Admin(cx): Admin, body: web::Json<CreateUser>) -> Reply {
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
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    active: Option<bool>,
    password: Option<String>,
    /// Replaces the memberships set through this API. Memberships the OpenID provider
    /// reports are the provider's (`provider_groups`, refreshed at each sign-in).
    groups: Option<Vec<String>>,
}

async fn update_user(
    Admin(cx): Admin,
    path: web::Path<String>,
    body: web::Json<PatchUser>,
) -> Reply {
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
    body: web::Json<BTreeMap<String, Vec<String>>>,
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
    Ok(HttpResponse::Ok().json(environments::api::env_page(rows, total, limit)))
}

/// `GET /api/v1/users/{name}/permissions`: that user's bindings with their sources.
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

/// `GET /api/v1/groups`: every group with bindings (global admins).
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
        .map(|(name, bindings)| json!({"name": name, "role_bindings": bindings}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}
