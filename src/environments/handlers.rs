//! Dashboard pages of environments. Buttons appear only when allowed; every action is
//! checked again on the server.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::{Deserialize, Serialize};

use super::api::{decode_env_cursor, split_env_page};
use super::envs::{self, EnvChanges, NewEnv};
use super::models::BUILD_STATUSES;
use super::repo::{self, EnvFilter};
use super::views::{EnvForm, EnvRow, EnvRows, EnvironmentPage, EnvironmentsPage};
use crate::access::{Actor, Permission};
use crate::app::AppState;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::web::format::when;
use crate::web::htmx::is_htmx;
use crate::web::layout::{Layout, Section};
use crate::web::pagination::encode_cursor;
use crate::web::{form_errors, path_segment, respond_with_status, see_other};

const PAGE: i64 = 50;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const ONE: &str = "/environments/{ns}/{name}";
    cfg.route("/environments", web::get().to(list_environments))
        .route("/environments", web::post().to(create_environment))
        .route(ONE, web::get().to(show_environment))
        .route(ONE, web::post().to(update_environment))
        .route(&format!("{ONE}/delete"), web::post().to(delete_environment));
}

/// Query of the list page; also what its "load more" link carries.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    status: String,
    cursor: Option<String>,
}

/// The rows of a list page, the readable namespaces, and those the caller may create
/// environments in.
struct Listing {
    rows: EnvRows,
    namespaces: Vec<String>,
    creatable: Vec<String>,
}

async fn listing(state: &web::Data<AppState>, actor: &Actor, q: &ListQuery) -> AppResult<Listing> {
    let after = decode_env_cursor(q.cursor.as_deref())?;
    let first_page = after.is_none();
    let filter = EnvFilter {
        namespace: Some(q.namespace.clone()).filter(|s| !s.is_empty()),
        search: Some(q.search.clone()).filter(|s| !s.is_empty()),
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
        after,
        limit: PAGE,
    };
    let grants = actor.grants().clone();
    let st = state.clone();
    let (list, total, namespaces) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let (list, total) = envs::list(conn, &grants, &filter, &st.env_totals)?;
            let names = repo::list_readable_namespace_names(conn, &grants)?;
            Ok((list, total, names))
        })
        .await?;
    let (list, next) = split_env_page(list, PAGE);
    let next_url = match next {
        Some(key) => {
            let next = ListQuery {
                cursor: Some(encode_cursor(&key)),
                search: q.search.clone(),
                namespace: q.namespace.clone(),
                status: q.status.clone(),
            };
            let query = serde_urlencoded::to_string(&next).map_err(AppError::internal)?;
            Some(format!("/environments?{query}"))
        }
        None => None,
    };
    let creatable = namespaces
        .iter()
        .filter(|ns| {
            actor
                .grants()
                .can_namespace(Permission::EnvironmentCreate, ns)
        })
        .cloned()
        .collect();
    Ok(Listing {
        rows: EnvRows {
            rows: list.iter().map(|(e, ns)| EnvRow::new(e, ns)).collect(),
            next_url,
            total,
            with_total: first_page,
        },
        namespaces,
        creatable,
    })
}

/// The list page with its creation form (open when shown again with errors).
fn environments_page(
    actor: &Actor,
    session: &Session,
    listing: Listing,
    q: ListQuery,
    form: Option<EnvForm>,
) -> AppResult<EnvironmentsPage> {
    Ok(EnvironmentsPage {
        layout: Layout::new(&actor.principal, session, Section::Environments)?,
        rows: listing.rows,
        search: q.search,
        namespace: q.namespace,
        status: q.status,
        namespaces: listing.namespaces,
        creatable: listing.creatable,
        statuses: BUILD_STATUSES.to_vec(),
        form_open: form.is_some(),
        form: form.unwrap_or_default(),
    })
}

async fn list_environments(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let listing = listing(&state, &actor, &q).await?;
    if is_htmx(&req) {
        return Ok(listing.rows.respond_to(&req).map_into_boxed_body());
    }
    let page = environments_page(&actor, &session, listing, q, None)?;
    Ok(page.respond_to(&req).map_into_boxed_body())
}

async fn create_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    form: web::Form<EnvForm>,
) -> AppResult<HttpResponse> {
    let mut form = form.into_inner();
    let input = NewEnv {
        namespace: form.namespace.clone(),
        name: form.name.trim().to_owned(),
        description: Some(form.description.clone()),
        specification: Some(form.specification.clone()),
    };
    let a = actor.clone();
    let result = state
        .db
        .run(move |conn| envs::create(conn, &a, &input))
        .await;
    match result {
        Ok(env) => Ok(see_other(&format!(
            "/environments/{}/{}",
            path_segment(&form.namespace),
            path_segment(&env.name)
        ))),
        Err(
            err @ (AppError::Validation { .. } | AppError::Conflict(_) | AppError::Forbidden(_)),
        ) => {
            let q = ListQuery::default();
            let listing = listing(&state, &actor, &q).await?;
            let status;
            (form.errors, form.error, status) = form_errors(&err);
            let page = environments_page(&actor, &session, listing, q, Some(form))?;
            // A name already taken is shown on the form like any other invalid input.
            let status = match status {
                StatusCode::CONFLICT => StatusCode::UNPROCESSABLE_ENTITY,
                other => other,
            };
            Ok(respond_with_status(page, &req, status))
        }
        Err(other) => Err(other),
    }
}

async fn environment_page(
    state: &AppState,
    actor: &Actor,
    session: &Session,
    ns: String,
    name: String,
    errors: FieldErrors,
) -> AppResult<EnvironmentPage> {
    let grants = actor.grants().clone();
    let (n, e) = (ns.clone(), name.clone());
    let (env, _) = state
        .db
        .run(move |conn| envs::readable(conn, &grants, &n, &e))
        .await?;
    let may = |permission| actor.grants().can_environment(permission, &ns, &name);
    Ok(EnvironmentPage {
        layout: Layout::new(&actor.principal, session, Section::Environments)?,
        env: EnvRow::new(&env, &ns),
        specification: env.specification.clone(),
        scheduled: when(env.build_scheduled_at),
        started: when(env.build_started_at),
        ended: when(env.build_ended_at),
        can_update: may(Permission::EnvironmentUpdate),
        can_delete: may(Permission::EnvironmentDelete),
        errors,
    })
}

async fn show_environment(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let page = environment_page(&state, &actor, &session, ns, name, FieldErrors::new()).await?;
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
    actor: Actor,
    session: Session,
    path: web::Path<(String, String)>,
    form: web::Form<EditForm>,
) -> AppResult<HttpResponse> {
    let (ns, name) = path.into_inner();
    let f = form.into_inner();
    let changes = EnvChanges {
        description: f.description,
        // Browsers send CRLF; store what the user sees.
        specification: f.specification.map(|s| s.replace("\r\n", "\n")),
        current_build: None,
    };
    let (a, n, e) = (actor.clone(), ns.clone(), name.clone());
    let result = state
        .db
        .run(move |conn| envs::update(conn, &a, &n, &e, &changes))
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/environments/{}/{}",
            path_segment(&ns),
            path_segment(&name)
        ))),
        Err(AppError::Validation { fields, .. }) => {
            let page = environment_page(&state, &actor, &session, ns, name, fields).await?;
            Ok(respond_with_status(
                page,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(other) => Err(other),
    }
}

async fn delete_environment(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    super::api::delete(&state, actor, path.into_inner()).await?;
    Ok(see_other("/environments"))
}
