//! Dashboard pages of environments. Buttons appear only when allowed; every action is
//! checked again on the server.

use actix_web::http::StatusCode;
use actix_web::web;
use serde::{Deserialize, Serialize};

use super::api::{decode_env_cursor, split_env_page};
use super::envs::{self, EnvChanges, NewEnv};
use super::models::BUILD_STATUSES;
use super::repo::{self, EnvFilter};
use super::views::{EnvForm, EnvRow, EnvRows, EnvironmentPage, EnvironmentsPage};
use crate::access::Permission;
use crate::app::Cx;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::web::Reply;
use crate::web::form::NamespaceChoices;
use crate::web::form::Rejected;
use crate::web::format::moment;
use crate::web::layout::Section;
use crate::web::pagination::encode_cursor;
use crate::web::{path_segment, see_other};

const PAGE: i64 = 50;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const ONE: &str = "/environments/{ns}/{name}";
    cfg.service(
        web::resource("/environments")
            .get(list_environments)
            .post(create_environment),
    )
    .service(
        web::resource(ONE)
            .get(show_environment)
            .post(update_environment),
    )
    .service(web::resource(format!("{ONE}/delete")).post(delete_environment));
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

/// The rows of a list page and its namespace choices.
struct Listing {
    rows: EnvRows,
    namespaces: NamespaceChoices,
}

async fn listing(cx: &Cx, q: &ListQuery) -> AppResult<Listing> {
    let after = decode_env_cursor(q.cursor.as_deref())?;
    let first_page = after.is_none();
    let filter = EnvFilter {
        namespace: Some(q.namespace.clone()).filter(|s| !s.is_empty()),
        search: Some(q.search.clone()).filter(|s| !s.is_empty()),
        status: Some(q.status.clone()).filter(|s| !s.is_empty()),
        after,
        limit: PAGE,
    };
    let (list, total, namespaces) = cx
        .run(move |conn, actor, st| {
            let (list, total) = envs::list(conn, actor.grants(), &filter, &st.env_totals)?;
            let names = repo::list_readable_namespace_names(conn, actor.grants())?;
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
    let grants = cx.actor.grants();
    let namespaces = NamespaceChoices::new(grants, Permission::EnvironmentCreate, namespaces);
    Ok(Listing {
        rows: EnvRows {
            rows: list.iter().map(|(e, ns)| EnvRow::new(e, ns)).collect(),
            next_url,
            total,
            with_total: first_page,
        },
        namespaces,
    })
}

/// The list page with its creation form (open when shown again with errors).
fn environments_page(
    cx: &Cx,
    listing: Listing,
    q: ListQuery,
    form: Option<EnvForm>,
) -> AppResult<EnvironmentsPage> {
    Ok(EnvironmentsPage {
        layout: cx.layout(Section::Environments)?,
        rows: listing.rows,
        search: q.search,
        namespace: q.namespace,
        status: q.status,
        namespaces: listing.namespaces,
        statuses: BUILD_STATUSES.map(str::to_owned).to_vec(),
        form_open: form.is_some(),
        form: form.unwrap_or_default(),
    })
}

async fn list_environments(cx: Cx, query: web::Query<ListQuery>) -> Reply {
    let q = query.into_inner();
    let Listing { rows, namespaces } = listing(&cx, &q).await?;
    cx.rows_or_page(rows, async |rows| {
        environments_page(&cx, Listing { rows, namespaces }, q, None)
    })
    .await
}

/// `/environments/{ns}/{name}`.
fn environment_url(ns: &str, name: &str) -> String {
    format!("/environments/{}/{}", path_segment(ns), path_segment(name))
}

async fn create_environment(cx: Cx, form: web::Form<EnvForm>) -> Reply {
    let mut form = form.into_inner();
    let input = NewEnv {
        namespace: form.namespace.clone(),
        name: form.name.trim().to_owned(),
        description: Some(form.description.clone()),
        specification: Some(form.specification.clone()),
    };
    let result = cx
        .run(move |conn, actor, _| envs::create(conn, actor, &input))
        .await;
    let rejected = match result {
        Ok(env) => return Ok(see_other(&environment_url(&form.namespace, &env.name))),
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let listing = listing(&cx, &ListQuery::default()).await?;
    let page = environments_page(&cx, listing, ListQuery::default(), Some(form))?;
    Ok(cx.render_with(page, rejected.status))
}

async fn environment_page(
    cx: &Cx,
    (ns, name): (String, String),
    errors: FieldErrors,
) -> AppResult<EnvironmentPage> {
    let (n, e) = (ns.clone(), name.clone());
    let (env, _) = cx
        .run(move |conn, actor, _| envs::readable(conn, actor.grants(), &n, &e))
        .await?;
    let may = |permission| cx.actor.grants().can_environment(permission, &ns, &name);
    Ok(EnvironmentPage {
        layout: cx.layout(Section::Environments)?,
        env: EnvRow::new(&env, &ns),
        specification: env.specification.clone(),
        namespace_readable: cx
            .actor
            .grants()
            .can_namespace(Permission::NamespaceRead, &ns),
        scheduled: moment(env.build_scheduled_at),
        started: moment(env.build_started_at),
        ended: moment(env.build_ended_at),
        can_update: may(Permission::EnvironmentUpdate),
        can_delete: may(Permission::EnvironmentDelete),
        errors,
    })
}

async fn show_environment(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    let page = environment_page(&cx, path.into_inner(), FieldErrors::new()).await?;
    Ok(cx.render(page))
}

/// Form of an environment edit.
#[derive(Debug, Deserialize)]
pub struct EditForm {
    description: Option<String>,
    specification: Option<String>,
}

async fn update_environment(
    cx: Cx,
    path: web::Path<(String, String)>,
    form: web::Form<EditForm>,
) -> Reply {
    let (ns, name) = path.into_inner();
    let f = form.into_inner();
    if f.description.is_none() && f.specification.is_none() {
        return Err(AppError::bad_request("the form sent nothing to change"));
    }
    // Browsers send CRLF; store what the user sees.
    let typed = f.specification.map(|s| s.replace("\r\n", "\n"));
    let changes = EnvChanges {
        description: f.description,
        specification: typed.clone(),
        current_build: None,
    };
    let result = super::api::update(&cx, (ns.clone(), name.clone()), changes).await;
    match result {
        Ok(_) => cx.done(&environment_url(&ns, &name), "Saved."),
        Err(AppError::Validation { fields, .. }) => {
            let mut page = environment_page(&cx, (ns, name), fields).await?;
            // The editor keeps what was typed, to be fixed.
            if let Some(typed) = typed {
                page.specification = typed;
            }
            Ok(cx.render_with(page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(other) => Err(other),
    }
}

async fn delete_environment(cx: Cx, path: web::Path<(String, String)>) -> Reply {
    let (ns, name) = path.into_inner();
    let done = format!("{ns}/{name} deleted.");
    super::api::delete(&cx, (ns, name)).await?;
    cx.done("/environments", done)
}
