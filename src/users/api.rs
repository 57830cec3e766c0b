//! Users (global admins): list, create, change, their explicit role bindings, and
//! "view as" — what a user can read and why. Plus `GET /api/v1/permissions` for anyone.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::access::{self, Actor, AuthMethod, GroupsBySource, KIND_USER};
use crate::app::AppState;
use crate::audit;
use crate::auth::{self, CreateUserError, User, hash_new_password};
use crate::db::{DbConnection, now_ms, rfc3339};
use crate::environments::{self, EnvFilter};
use crate::errors::{AppError, AppResult};
use crate::web::pagination::{self, decode_cursor, encode_cursor};

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/permissions", web::get().to(my_permissions))
        .route("/api/v1/users", web::get().to(list_users))
        .route("/api/v1/users", web::post().to(create_user))
        .route("/api/v1/users/{name}", web::get().to(get_user))
        .route("/api/v1/users/{name}", web::patch().to(update_user))
        .route(
            "/api/v1/users/{name}/role-bindings",
            web::get().to(get_bindings),
        )
        .route(
            "/api/v1/users/{name}/role-bindings",
            web::put().to(put_bindings),
        )
        .route(
            "/api/v1/users/{name}/environments",
            web::get().to(user_environments),
        )
        .route(
            "/api/v1/users/{name}/permissions",
            web::get().to(user_permissions),
        )
        .route("/api/v1/groups", web::get().to(list_groups))
        .route(
            "/api/v1/groups/{group}/role-bindings",
            web::get().to(get_group_bindings),
        )
        .route(
            "/api/v1/groups/{group}/role-bindings",
            web::put().to(put_group_bindings),
        );
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

fn find(conn: &mut DbConnection, name: &str) -> AppResult<User> {
    if crate::names::validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    auth::find_user_by_name(conn, name)?.ok_or(AppError::NotFound)
}

/// `GET /api/v1/permissions`: the caller's permission map.
async fn my_permissions(actor: Actor, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let principal = actor.principal;
    let expiration = match &principal.method {
        AuthMethod::AccessToken(id) => {
            let id = id.clone();
            state
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

async fn list_users(
    state: web::Data<AppState>,
    actor: Actor,
    q: web::Query<UserQuery>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let q = q.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref())?;
    let since = now_ms() - state.config.grant_rules.provider_groups_ttl_ms;
    let (users, groups) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let users = auth::list_users_after(conn, q.search.as_deref(), after.as_deref(), limit)?;
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            Ok((users, access::groups_by_source_of(conn, &ids, since)?))
        })
        .await?;
    let (users, next) = pagination::split_page(users, limit, |u| u.name.clone());
    let next = next.as_deref().map(encode_cursor);
    let none = GroupsBySource::default();
    let items: Vec<_> = users
        .iter()
        .map(|u| user_json(u, groups.get(&u.id).unwrap_or(&none)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next})))
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

async fn create_user(
    state: web::Data<AppState>,
    actor: Actor,
    body: web::Json<CreateUser>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let b = body.into_inner();
    let hash = match &b.password {
        Some(pw) => {
            let pw = pw.clone();
            Some(
                web::block(move || hash_new_password(&pw))
                    .await
                    .map_err(AppError::internal)?
                    .map_err(|e| AppError::invalid("password", e.to_string()))?,
            )
        }
        None => None,
    };
    let user = state
        .db
        .run(move |conn| -> AppResult<User> {
            let primary = b
                .primary_namespace
                .clone()
                .unwrap_or_else(|| b.name.clone());
            let actor = actor.name();
            match auth::create_user(
                conn,
                &b.name,
                hash.as_deref(),
                &primary,
                b.active.unwrap_or(true),
                false,
                &actor,
            ) {
                Ok(_) => {}
                Err(CreateUserError::Invalid(e)) => {
                    let field = if e.starts_with("primary") {
                        "primary_namespace"
                    } else {
                        "name"
                    };
                    return Err(AppError::invalid(field, e));
                }
                Err(CreateUserError::Exists(n)) => {
                    return Err(AppError::Conflict(format!("user {n:?} already exists")));
                }
                Err(CreateUserError::Db(e)) => return Err(e.into()),
            }
            find(conn, &b.name)
        })
        .await?;
    Ok(HttpResponse::Created().json(user_json(&user, &Default::default())))
}

async fn get_user(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let name = path.into_inner();
    let since = now_ms() - state.config.grant_rules.provider_groups_ttl_ms;
    let (user, groups) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let user = find(conn, &name)?;
            let groups = access::user_groups_by_source(conn, user.id, since)?;
            Ok((user, groups))
        })
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
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: web::Json<PatchUser>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let name = path.into_inner();
    let b = body.into_inner();
    let hash = match b.password {
        Some(pw) => Some(
            web::block(move || hash_new_password(&pw))
                .await
                .map_err(AppError::internal)?
                .map_err(|e| AppError::invalid("password", e.to_string()))?,
        ),
        None => None,
    };
    if let Some(bad) = b
        .groups
        .iter()
        .flatten()
        .find(|g| crate::names::validate_name(g).is_err())
    {
        return Err(AppError::invalid(
            "groups",
            format!("{bad:?} is not a valid group name"),
        ));
    }
    let st = state.clone();
    let since = now_ms() - state.config.grant_rules.provider_groups_ttl_ms;
    let (user, groups) = state
        .db
        .run(move |conn| -> AppResult<(User, GroupsBySource)> {
            let user = find(conn, &name)?;
            crate::db::write_transaction(conn, |conn| -> AppResult<()> {
                auth::update_user(conn, user.id, b.active, hash.as_deref())?;
                if let Some(groups) = &b.groups {
                    access::replace_user_groups(conn, user.id, groups)?;
                    audit::success(
                        conn,
                        &actor,
                        "user.groups",
                        &format!("user:{name}"),
                        Some(&groups.join(",")),
                    )?;
                }
                let target = format!("user:{name}");
                match b.active {
                    Some(true) if !user.active => {
                        audit::success(conn, &actor, "user.activate", &target, None)?
                    }
                    Some(false) if user.active => {
                        audit::success(conn, &actor, "user.deactivate", &target, None)?
                    }
                    _ => {}
                }
                if hash.is_some() {
                    audit::success(conn, &actor, "user.password", &target, None)?;
                }
                Ok(())
            })?;
            st.key_cache.clear();
            let user = find(conn, &name)?;
            let groups = access::user_groups_by_source(conn, user.id, since)?;
            Ok((user, groups))
        })
        .await?;
    Ok(HttpResponse::Ok().json(user_json(&user, &groups)))
}

async fn get_bindings(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let name = path.into_inner();
    let map = state
        .db
        .run(move |conn| -> AppResult<_> {
            let user = find(conn, &name)?;
            Ok(access::stored_bindings(conn, KIND_USER, user.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

async fn put_bindings(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: web::Json<BTreeMap<String, Vec<String>>>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let name = path.into_inner();
    let bindings = access::parse_binding_map(&body)?;
    access::require_can_grant(actor.grants(), &bindings, "a user binding")?;
    let st = state.clone();
    let map = state
        .db
        .run(move |conn| -> AppResult<_> {
            let user = find(conn, &name)?;
            crate::db::write_transaction(conn, |conn| -> AppResult<()> {
                access::replace_bindings(conn, KIND_USER, user.id, &bindings)?;
                let detail: Vec<String> =
                    bindings.iter().map(|(p, r)| format!("{p}={r}")).collect();
                audit::success(
                    conn,
                    &actor,
                    "role_binding.update",
                    &format!("user:{name}"),
                    Some(&detail.join(",")),
                )
            })?;
            st.key_cache.clear();
            Ok(access::stored_bindings(conn, KIND_USER, user.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(map))
}

/// The effective grants of user `name` (defaults, primary namespace, explicit, shares).
fn grants_of(
    conn: &mut DbConnection,
    state: &AppState,
    name: &str,
) -> AppResult<(User, access::Grants)> {
    let user = find(conn, name)?;
    let grants = auth::user_grants(conn, &user, &state.config.grant_rules)?;
    Ok((user, grants))
}

/// `GET /api/v1/users/{name}/environments`: what that user can read (the notebook
/// spawner's one call), same filters and paging as `/api/v1/environments`.
async fn user_environments(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    q: web::Query<environments::api::EnvQuery>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let name = path.into_inner();
    let filter: EnvFilter = q.filter()?;
    let limit = filter.limit;
    let st = state.clone();
    let (rows, total) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let (_, grants) = grants_of(conn, &st, &name)?;
            environments::list_environments(conn, &grants, &filter, &st.env_totals)
        })
        .await?;
    Ok(HttpResponse::Ok().json(environments::api::env_page(rows, total, limit)))
}

/// `GET /api/v1/users/{name}/permissions`: that user's bindings with their sources.
async fn user_permissions(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let name = path.into_inner();
    let st = state.clone();
    let (user, grants) = state
        .db
        .run(move |conn| grants_of(conn, &st, &name))
        .await?;
    Ok(HttpResponse::Ok().json(access::permissions_json(
        &grants,
        Some(&user.primary_namespace),
        None,
    )))
}

/// `GET /api/v1/groups`: every group with bindings (global admins).
async fn list_groups(state: web::Data<AppState>, actor: Actor) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let rows = state
        .db
        .run(move |conn| access::list_all_group_bindings(conn).map_err(AppError::from))
        .await?;
    let mut groups: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for (group, pattern, role) in rows {
        groups
            .entry(group)
            .or_default()
            .entry(pattern)
            .or_default()
            .push(role);
    }
    let items: Vec<_> = groups
        .into_iter()
        .map(|(name, bindings)| json!({"name": name, "role_bindings": bindings}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}

fn group_map(rows: Vec<(String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (pattern, role) in rows {
        map.entry(pattern).or_default().push(role);
    }
    map
}

/// `GET /api/v1/groups/{group}/role-bindings`
async fn get_group_bindings(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let group = path.into_inner();
    if crate::names::validate_name(&group).is_err() {
        return Err(AppError::NotFound);
    }
    let rows = state
        .db
        .run(move |conn| access::list_group_bindings(conn, &group).map_err(AppError::from))
        .await?;
    Ok(HttpResponse::Ok().json(group_map(rows)))
}

/// `PUT /api/v1/groups/{group}/role-bindings`: what every member of the group gets.
async fn put_group_bindings(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    body: web::Json<BTreeMap<String, Vec<String>>>,
) -> AppResult<HttpResponse> {
    actor.require_global_admin()?;
    let group = path.into_inner();
    crate::names::validate_name(&group)
        .map_err(|e| AppError::invalid("group", format!("group name {e}")))?;
    let bindings = access::parse_binding_map(&body)?;
    access::require_can_grant(actor.grants(), &bindings, "a group binding")?;
    let st = state.clone();
    let rows = state
        .db
        .run(move |conn| -> AppResult<_> {
            let pairs: Vec<(String, String)> = bindings
                .iter()
                .map(|(p, r)| (p.to_string(), r.as_str().to_owned()))
                .collect();
            crate::db::write_transaction(conn, |conn| -> AppResult<()> {
                access::replace_group_bindings(conn, &group, &pairs, crate::db::now_ms())?;
                let detail: Vec<String> = pairs.iter().map(|(p, r)| format!("{p}={r}")).collect();
                audit::success(
                    conn,
                    &actor,
                    "role_binding.update",
                    &format!("group:{group}"),
                    Some(&detail.join(",")),
                )
            })?;
            st.key_cache.clear();
            Ok(access::list_group_bindings(conn, &group)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(group_map(rows)))
}
