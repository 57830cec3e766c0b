//! Dashboard pages of environments and namespaces (with sharing). Buttons appear only
//! when allowed; every action is checked again on the server.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::Deserialize;

use super::envs::{self, EnvChanges, NewEnv};
use super::models::BUILD_STATUSES;
use super::namespaces;
use super::repo::{self, EnvFilter};
use super::views::{
    EnvForm, EnvRow, EnvRows, EnvironmentPage, EnvironmentsPage, NamespacePage, NamespacesPage,
    ShareRow,
};
use crate::access::Principal;
use crate::access::{Pattern, Permission, Role};
use crate::app::AppState;
use crate::db::DbConnection;
use crate::errors::{AppError, AppResult};
use crate::web::client_addr;
use crate::web::format::when;
use crate::web::htmx::is_htmx;
use crate::web::layout::{Layout, Section};
use crate::web::pagination::{decode_cursor, encode_cursor};
use crate::web::{path_segment, see_other};

const PAGE: i64 = 50;

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/environments", web::get().to(list_environments))
        .route("/environments", web::post().to(create_environment))
        .route("/environments/{ns}/{name}", web::get().to(show_environment))
        .route(
            "/environments/{ns}/{name}",
            web::post().to(update_environment),
        )
        .route(
            "/environments/{ns}/{name}/delete",
            web::post().to(delete_environment),
        )
        .route("/namespaces", web::get().to(list_namespaces))
        .route("/namespaces/{ns}", web::get().to(show_namespace))
        .route("/namespaces/{ns}/shares", web::post().to(add_share))
        .route(
            "/namespaces/{ns}/shares/delete",
            web::post().to(remove_share),
        );
}

/// Query of the list page.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    status: String,
    cursor: Option<String>,
}

fn next_url(q: &ListQuery, cursor: &str) -> String {
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("search", &q.search)
        .append_pair("namespace", &q.namespace)
        .append_pair("status", &q.status)
        .append_pair("cursor", cursor)
        .finish();
    format!("/environments?{qs}")
}

async fn rows(
    state: &web::Data<AppState>,
    principal: &Principal,
    q: &ListQuery,
) -> AppResult<(EnvRows, Vec<String>, Vec<String>)> {
    let after = decode_cursor(q.cursor.as_deref())?
        .map(|c| {
            c.split_once('/')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| AppError::bad_request("invalid cursor"))
        })
        .transpose()?;
    let first_page = after.is_none();
    let filter = EnvFilter {
        namespace: Some(q.namespace.clone()).filter(|s| !s.is_empty()),
        search: Some(q.search.clone()).filter(|s| !s.is_empty()),
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
        after,
        limit: PAGE,
    };
    let grants = principal.grants.clone();
    let st = state.clone();
    let (mut list, total, names) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let (list, total) = envs::list(conn, &grants, &filter, &st.env_totals)?;
            let names = repo::list_readable_namespace_names(conn, &grants)?;
            Ok((list, total, names))
        })
        .await?;
    let next = if list.len() as i64 > PAGE {
        list.truncate(PAGE as usize);
        list.last()
            .map(|(e, ns)| next_url(q, &encode_cursor(&format!("{ns}/{}", e.name))))
    } else {
        None
    };
    let creatable = names
        .iter()
        .filter(|ns| {
            principal
                .grants
                .can_namespace(Permission::EnvironmentCreate, ns)
        })
        .cloned()
        .collect();
    Ok((
        EnvRows {
            rows: list.iter().map(|(e, ns)| EnvRow::new(e, ns)).collect(),
            next_url: next,
            total,
            with_total: first_page,
        },
        names,
        creatable,
    ))
}

async fn list_environments(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let (rows, namespaces, creatable) = rows(&state, &principal, &q).await?;
    if is_htmx(&req) {
        return Ok(rows.respond_to(&req).map_into_boxed_body());
    }
    let page = EnvironmentsPage {
        layout: Layout::new(&principal, &session, Section::Environments)?,
        rows,
        search: q.search,
        namespace: q.namespace,
        status: q.status,
        namespaces,
        creatable,
        statuses: BUILD_STATUSES.to_vec(),
        form: EnvForm::default(),
        form_open: false,
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of a new environment.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    namespace: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    specification: String,
}

async fn create_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    form: web::Form<CreateForm>,
) -> AppResult<HttpResponse> {
    let f = form.into_inner();
    let client = client_addr(&req);
    let p = principal.clone();
    let input = NewEnv {
        namespace: f.namespace.clone(),
        name: f.name.trim().to_owned(),
        description: Some(f.description.clone()),
        specification: Some(f.specification.clone()),
    };
    match state
        .db
        .run(move |conn| envs::create(conn, &p, &client, &input))
        .await
    {
        Ok(env) => Ok(see_other(&format!(
            "/environments/{}/{}",
            path_segment(&f.namespace),
            path_segment(&env.name)
        ))),
        Err(
            err @ (AppError::Validation { .. } | AppError::Conflict(_) | AppError::Forbidden(_)),
        ) => {
            let (rows, namespaces, creatable) =
                rows(&state, &principal, &ListQuery::default()).await?;
            let (errors, error) = match &err {
                AppError::Validation { fields, .. } => (fields.clone(), None),
                other => (Default::default(), Some(other.to_string())),
            };
            let page = EnvironmentsPage {
                layout: Layout::new(&principal, &session, Section::Environments)?,
                rows,
                search: String::new(),
                namespace: String::new(),
                status: String::new(),
                namespaces,
                creatable,
                statuses: BUILD_STATUSES.to_vec(),
                form: EnvForm {
                    namespace: f.namespace,
                    name: f.name,
                    description: f.description,
                    specification: f.specification,
                    errors,
                    error,
                },
                form_open: true,
            };
            let mut res = page.respond_to(&req).map_into_boxed_body();
            *res.status_mut() = if matches!(err, AppError::Forbidden(_)) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(res)
        }
        Err(other) => Err(other),
    }
}

async fn environment_page(
    state: &AppState,
    principal: &Principal,
    session: &Session,
    ns: String,
    name: String,
    errors: crate::errors::FieldErrors,
) -> AppResult<EnvironmentPage> {
    let grants = principal.grants.clone();
    let (n, e) = (ns.clone(), name.clone());
    let (env, _) = state
        .db
        .run(move |conn| envs::readable(conn, &grants, &n, &e))
        .await?;
    Ok(EnvironmentPage {
        layout: Layout::new(principal, session, Section::Environments)?,
        env: EnvRow::new(&env, &ns),
        specification: env.specification.clone(),
        scheduled: when(env.build_scheduled_at),
        started: when(env.build_started_at),
        ended: when(env.build_ended_at),
        can_update: principal
            .grants
            .can_environment(Permission::EnvironmentUpdate, &ns, &name),
        can_delete: principal
            .grants
            .can_environment(Permission::EnvironmentDelete, &ns, &name),
        errors,
    })
}

async fn show_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let page = environment_page(&state, &principal, &session, ns, name, Default::default()).await?;
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of an environment edit.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    description: Option<String>,
    specification: Option<String>,
}

async fn update_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<EditForm>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let f = form.into_inner();
    let client = client_addr(&req);
    let p = principal.clone();
    let (n, e) = (ns.clone(), name.clone());
    let changes = EnvChanges {
        description: f.description,
        // Browsers send CRLF; store what the user sees.
        specification: f.specification.map(|s| s.replace("\r\n", "\n")),
        build_status: None,
    };
    match state
        .db
        .run(move |conn| envs::update(conn, &p, &client, &n, &e, &changes))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/environments/{}/{}",
            path_segment(&ns),
            path_segment(&name)
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let page = environment_page(&state, &principal, &session, ns, name, fields).await?;
            let mut res = page.respond_to(&req).map_into_boxed_body();
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(other) => Err(other),
    }
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
    Ok(see_other("/environments"))
}

async fn list_namespaces(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
) -> AppResult<HttpResponse> {
    let grants = principal.grants.clone();
    let list = state
        .db
        .run(move |conn| {
            repo::list_namespaces(conn, &grants, None, None, 1000).map_err(AppError::from)
        })
        .await?;
    let page = NamespacesPage {
        layout: Layout::new(&principal, &session, Section::Namespaces)?,
        rows: list.into_iter().map(|n| (n.name, n.description)).collect(),
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

async fn namespace_page(
    state: &web::Data<AppState>,
    principal: &Principal,
    session: &Session,
    name: String,
    share_error: Option<String>,
) -> AppResult<NamespacePage> {
    let grants = principal.grants.clone();
    let n = name.clone();
    let st = state.clone();
    let (ns, envs_page, total, accounts, shares) = state
        .db
        .run(move |conn: &mut DbConnection| -> AppResult<_> {
            let ns = namespaces::readable(conn, &grants, &n)?;
            let filter = EnvFilter {
                namespace: Some(n.clone()),
                limit: 25,
                ..Default::default()
            };
            let (list, total) = envs::list(conn, &grants, &filter, &st.env_totals)?;
            let accounts = crate::service_accounts::accounts_in(conn, ns.id)?;
            let shares = if grants.can_namespace(Permission::NamespaceRoleMappingRead, &n) {
                Some(namespaces::shares(conn, &grants, &n)?)
            } else {
                None
            };
            Ok((ns, list, total, accounts, shares))
        })
        .await?;
    let can_share = principal
        .grants
        .can_namespace(Permission::NamespaceRoleMappingCreate, &name);
    let pattern = Pattern::parse(&format!("{name}/*")).map_err(AppError::bad_request)?;
    let shareable_roles = Role::ALL
        .iter()
        .filter(|r| principal.grants.covers(&pattern, **r))
        .map(|r| r.as_str())
        .collect();
    Ok(NamespacePage {
        layout: Layout::new(principal, session, Section::Namespaces)?,
        name: ns.name,
        description: ns.description,
        envs: envs_page
            .iter()
            .take(25)
            .map(|(e, ns)| EnvRow::new(e, ns))
            .collect(),
        env_total: total,
        accounts,
        shares: shares.map(|list| {
            list.into_iter()
                .map(|s| ShareRow {
                    kind: s.principal_kind,
                    name: s.principal_name,
                    role: s.role,
                    by: format!("{} on {}", s.created_by, s.created_at),
                })
                .collect()
        }),
        can_share,
        shareable_roles,
        share_error,
    })
}

async fn show_namespace(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let page = namespace_page(&state, &principal, &session, path.into_inner(), None).await?;
    Ok(page.respond_to(&req).map_into_boxed_body())
}

/// Form of the share editor.
#[derive(Debug, Deserialize)]
pub struct ShareForm {
    principal: String,
    role: Option<String>,
}

async fn add_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ShareForm>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let f = form.into_inner();
    let client = client_addr(&req);
    let (p, n, st) = (principal.clone(), name.clone(), state.clone());
    let role = f.role.unwrap_or_else(|| "viewer".into());
    let target = f.principal.trim().to_owned();
    match state
        .db
        .run(move |conn| namespaces::share(conn, &p, &client, &st.key_cache, &n, &target, &role))
        .await
    {
        Ok(()) => Ok(see_other(&format!("/namespaces/{}", path_segment(&name)))),
        Err(err @ (AppError::Validation { .. } | AppError::Forbidden(_))) => {
            let message = match &err {
                AppError::Validation { fields, message } => fields
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| message.clone()),
                other => other.to_string(),
            };
            let status = if matches!(err, AppError::Forbidden(_)) {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let page = namespace_page(&state, &principal, &session, name, Some(message)).await?;
            let mut res = page.respond_to(&req).map_into_boxed_body();
            *res.status_mut() = status;
            Ok(res)
        }
        Err(other) => Err(other),
    }
}

async fn remove_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<String>,
    form: web::Form<ShareForm>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let client = client_addr(&req);
    let (n, st) = (name.clone(), state.clone());
    let target = form.into_inner().principal;
    state
        .db
        .run(move |conn| namespaces::unshare(conn, &principal, &client, &st.key_cache, &n, &target))
        .await?;
    Ok(see_other(&format!("/namespaces/{}", path_segment(&name))))
}
