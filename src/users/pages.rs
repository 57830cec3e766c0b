//! Pages: "My access" (bindings with sources, permission map, tokens) and user
//! administration with "view as" — what a user can read, and which binding allows it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::web;
use serde::Deserialize;

use super::ops::{self, Grantee};
use super::views::{AccessPage, NewUserForm, TokenRow, UserPage, UsersPage};
use crate::access::{self, KIND_USER, Pattern, Principal, PrincipalKind, Role};
use crate::app::{Admin, AppState, Cx};
use crate::auth::{self, tokens};
use crate::db::{DbConnection, now_ms};
use crate::environments::{self, EnvFilter};
use crate::errors::{AppError, AppResult};
use crate::service_accounts::reveal;
use crate::web::Reply;
use crate::web::format::moment;
use crate::web::grants::{binding_rows, why_rows};
use crate::web::layout::{Layout, Section};
use crate::web::{form_errors, respond_with_status, see_other};

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/access").get(show_access))
        .service(web::resource("/tokens").post(mint_token))
        .service(web::resource("/tokens/{id}/revoke").post(revoke_token))
        .service(
            web::resource("/users")
                .get(list_users)
                .post(super::admin::create_user),
        )
        .service(
            web::resource("/users/{name}")
                .get(show_user)
                .post(super::admin::edit_user),
        )
        .service(web::resource("/users/{name}/role-bindings").post(save_bindings));
}

pub(super) async fn access_page(
    state: &AppState,
    principal: &Principal,
    session: &Session,
    error: Option<String>,
) -> AppResult<AccessPage> {
    let p = principal.clone();
    let since = now_ms() - state.config.grant_rules.provider_groups_ttl_ms;
    let (tokens, groups) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let groups = if p.kind == PrincipalKind::User {
                access::list_user_groups_since(conn, p.id, since)?
            } else {
                Vec::new()
            };
            Ok((tokens::list_for(conn, &p)?, groups))
        })
        .await?;
    let now = now_ms();
    let map = access::permissions_json(&principal.grants, None, None);
    let permissions = map
        .entity_permissions
        .into_iter()
        .map(|(pattern, perms)| (pattern, Vec::from_iter(perms).join(", ")))
        .collect();
    Ok(AccessPage {
        layout: Layout::new(principal, session, Section::Access)?,
        bindings: binding_rows(&principal.grants),
        groups,
        permissions,
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id.clone(),
                created: moment(Some(t.created_at)),
                expires: moment(Some(t.expires_at)),
                revoked: t.revoked_at.map(|r| moment(Some(r))),
                expired: t.expires_at <= now,
                scope: t
                    .role_bindings
                    .as_deref()
                    .and_then(|b| {
                        serde_json::from_str::<std::collections::BTreeMap<String, Vec<String>>>(b)
                            .ok()
                    })
                    .map(|m| {
                        m.iter()
                            .map(|(p, r)| format!("{p}={}", r.join("|")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_else(|| "all of your access".into()),
            })
            .collect(),
        max_days: state.config.token_max_ttl.as_secs() / 86_400,
        roles: Role::ALL.map(Role::as_str),
        error,
        password_error: None,
        has_password: principal.kind == PrincipalKind::User,
    })
}

async fn show_access(cx: Cx) -> Reply {
    let page = access_page(&cx.state, &cx.actor.principal, &cx.session, None).await?;
    Ok(cx.render(page))
}

/// What the mint form asks for: bindings ticked from the viewer's own
/// (`binding=pattern=role`, repeated) and/or a narrower `pattern` + `role` typed, and
/// the lifetime in days (`expires_days`).
fn mint_request(body: &[u8]) -> AppResult<(Vec<(Pattern, Role)>, i64)> {
    let parse = |field: &str, p: &str, r: &str| -> AppResult<(Pattern, Role)> {
        Ok((
            Pattern::parse(p.trim()).map_err(|e| AppError::invalid(field, e))?,
            Role::parse(r.trim()).map_err(|e| AppError::invalid(field, e))?,
        ))
    };
    let (mut bindings, mut days) = (Vec::new(), 7i64);
    let (mut pattern, mut role) = (String::new(), String::from("viewer"));
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "pattern" => pattern = v.trim().to_owned(),
            "role" => role = v.into_owned(),
            "binding" => {
                let (p, r) = v
                    .split_once('=')
                    .ok_or_else(|| AppError::invalid("binding", "must be pattern=role"))?;
                bindings.push(parse("binding", p, r)?);
            }
            "expires_days" => {
                days = v.trim().parse().map_err(|_| {
                    AppError::invalid("expires_days", "must be a whole number of days")
                })?;
            }
            _ => {}
        }
    }
    if !pattern.is_empty() {
        bindings.push(parse("pattern", &pattern, &role)?);
    }
    Ok((bindings, days))
}

/// `POST /tokens` (see [`mint_request`]) → the token's reveal, or the page again with
/// the message (a binding beyond the viewer's, a bad pattern or lifetime).
async fn mint_token(cx: Cx, body: web::Bytes) -> Reply {
    let binding = reveal::session_binding(&cx.session)?;
    let (a, st) = (cx.actor.clone(), cx.state.clone());
    let result = match mint_request(&body) {
        Ok((bindings, days)) => {
            let scoped = (!bindings.is_empty()).then_some(bindings);
            cx.state
                .db
                .run(move |conn: &mut DbConnection| -> AppResult<String> {
                    let minted = tokens::mint(conn, &st, &a, scoped, days.saturating_mul(86_400))?;
                    Ok(reveal::store(
                        conn,
                        &st.reveal_sealer,
                        &binding,
                        &minted.plaintext,
                        &format!("access token {}", minted.row.id),
                        &a.principal.name,
                        now_ms(),
                    )?)
                })
                .await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(id) => Ok(see_other(&format!("/reveal/{id}"))),
        Err(err @ (AppError::Validation { .. } | AppError::Forbidden(_))) => {
            let (fields, message, status) = form_errors(&err);
            let message = message.or_else(|| fields.into_values().next());
            let page = access_page(&cx.state, &cx.actor.principal, &cx.session, message).await?;
            Ok(cx.render_with(page, status))
        }
        Err(other) => Err(other),
    }
}

async fn revoke_token(cx: Cx, id: web::Path<String>) -> Reply {
    let id = id.into_inner();
    let done = format!("Token {id} revoked.");
    tokens::revoke_async(&cx.state, cx.actor.clone(), id).await?;
    cx.done("/access", done)
}

/// Query of the users page.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    search: String,
}

async fn list_users(Admin(cx): Admin, query: web::Query<UsersQuery>) -> Reply {
    let search = query.into_inner().search;
    let page = users_page(&cx, search, NewUserForm::default()).await?;
    Ok(cx.render(page))
}

/// The users list under `search`, its creation form showing `form`.
pub(super) async fn users_page(cx: &Cx, search: String, form: NewUserForm) -> AppResult<UsersPage> {
    let s = search.clone();
    let users = cx
        .run(move |conn, _, _| auth::list_users(conn, Some(&s), 500).map_err(AppError::from))
        .await?;
    Ok(UsersPage {
        layout: Layout::new(&cx.actor.principal, &cx.session, Section::Users)?,
        rows: users
            .into_iter()
            .map(|u| {
                (
                    u.name,
                    u.primary_namespace,
                    u.active,
                    moment(u.last_login_at),
                )
            })
            .collect(),
        search,
        form,
    })
}

async fn user_page(
    state: &web::Data<AppState>,
    principal: &Principal,
    session: &Session,
    name: String,
    error: Option<String>,
) -> AppResult<UserPage> {
    let since = ops::provider_groups_since(state);
    let st = state.clone();
    let n = name.clone();
    let (user, grants, explicit, envs, total, identities, groups) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let (user, grants) = ops::grants_of(conn, &st, &n)?;
            let explicit = access::stored_bindings(conn, KIND_USER, user.id)?;
            let filter = EnvFilter {
                limit: 100,
                ..Default::default()
            };
            let (envs, total) =
                environments::list_environments(conn, &grants, &filter, &st.env_totals)?;
            let identities = auth::list_identities(conn, user.id)?;
            let groups = access::user_groups_by_source(conn, user.id, since)?;
            Ok((user, grants, explicit, envs, total, identities, groups))
        })
        .await?;
    let environments = why_rows(
        &grants,
        envs.iter().map(|(e, ns)| (ns.as_str(), e.name.as_str())),
    );
    Ok(UserPage {
        layout: Layout::new(principal, session, Section::Users)?,
        name: user.name,
        primary_namespace: user.primary_namespace,
        active: user.active,
        local_password: user.password_hash.is_some(),
        identities: identities
            .into_iter()
            .map(|(issuer, subject, email)| match email {
                Some(e) => format!("{issuer} as {subject} ({e})"),
                None => format!("{issuer} as {subject}"),
            })
            .collect(),
        admin_groups: groups.0.join(", "),
        groups: groups.0.iter().chain(&groups.1).cloned().collect(),
        bindings: binding_rows(&grants),
        explicit: explicit
            .iter()
            .flat_map(|(p, roles)| roles.iter().map(move |r| format!("{p}={r}")))
            .collect::<Vec<_>>()
            .join("\n"),
        environments,
        total,
        error,
    })
}

async fn show_user(Admin(cx): Admin, path: web::Path<String>) -> Reply {
    let page = user_page(
        &cx.state,
        &cx.actor.principal,
        &cx.session,
        path.into_inner(),
        None,
    )
    .await?;
    Ok(cx.render(page))
}

/// Form of the bindings editor. The field is required: a submission without it is a
/// 400, never "no bindings" (that is an empty field).
#[derive(Debug, Deserialize)]
pub struct BindingsForm {
    bindings: String,
}

async fn save_bindings(
    Admin(cx): Admin,
    path: web::Path<String>,
    form: web::Form<BindingsForm>,
) -> Reply {
    let name = path.into_inner();
    let bindings = match super::admin::parse_lines(&form.into_inner().bindings) {
        Ok(b) => b,
        Err(e) => {
            let page =
                user_page(&cx.state, &cx.actor.principal, &cx.session, name, Some(e)).await?;
            return Ok(respond_with_status(
                page,
                &cx.req,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let (n, st) = (name.clone(), cx.state.clone());
    cx.state
        .db
        .run(move |conn| ops::replace_bindings(conn, &st, &cx.actor, Grantee::User(&n), &bindings))
        .await?;
    Ok(see_other(&format!(
        "/users/{}",
        crate::web::path_segment(&name)
    )))
}
