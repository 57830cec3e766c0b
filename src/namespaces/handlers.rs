//! Dashboard pages of namespaces: the list, one namespace with its environments,
//! service accounts and shares, and the share editor. Buttons appear only when
//! allowed; every action is checked again on the server.

use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, Responder, web};
use serde::Deserialize;

use super::sharing;
use super::views::{NamespacePage, NamespacesPage, ShareRow};
use crate::access::{Actor, Pattern, Permission, Role};
use crate::app::AppState;
use crate::environments::{self, EnvFilter, EnvRow};
use crate::errors::{AppError, AppResult};
use crate::service_accounts;
use crate::web::layout::{Layout, Section};
use crate::web::{form_errors, path_segment, respond_with_status, see_other};

/// Environments shown on a namespace's page.
const ENV_PAGE: i64 = 25;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const SHARES: &str = "/namespaces/{ns}/shares";
    cfg.route("/namespaces", web::get().to(list_namespaces))
        .route("/namespaces/{ns}", web::get().to(show_namespace))
        .route(SHARES, web::post().to(add_share))
        .route(&format!("{SHARES}/delete"), web::post().to(remove_share));
}

async fn list_namespaces(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
) -> AppResult<HttpResponse> {
    let grants = actor.grants().clone();
    let list = state
        .db
        .run(move |conn| {
            environments::list_namespaces(conn, &grants, None, None, 1000).map_err(AppError::from)
        })
        .await?;
    let page = NamespacesPage {
        layout: Layout::new(&actor.principal, &session, Section::Namespaces)?,
        rows: list.into_iter().map(|n| (n.name, n.description)).collect(),
    };
    Ok(page.respond_to(&req).map_into_boxed_body())
}

async fn namespace_page(
    state: &web::Data<AppState>,
    actor: &Actor,
    session: &Session,
    name: String,
    share_error: Option<String>,
) -> AppResult<NamespacePage> {
    let (a, n, st) = (actor.clone(), name.clone(), state.clone());
    let (ns, envs_page, total, accounts, shares) = state
        .db
        .run(move |conn| -> AppResult<_> {
            let grants = a.grants();
            let ns = environments::readable_namespace(conn, grants, &n)?;
            let filter = EnvFilter {
                namespace: Some(n.clone()),
                limit: ENV_PAGE,
                ..Default::default()
            };
            let (list, total) =
                environments::list_environments(conn, grants, &filter, &st.env_totals)?;
            let accounts = service_accounts::accounts_in(conn, ns.id)?;
            let shares = if grants.can_namespace(Permission::NamespaceRoleMappingRead, &n) {
                Some(sharing::shares(conn, &a, &n)?)
            } else {
                None
            };
            Ok((ns, list, total, accounts, shares))
        })
        .await?;
    let grants = actor.grants();
    let pattern = Pattern::parse(&format!("{name}/*")).map_err(AppError::bad_request)?;
    Ok(NamespacePage {
        layout: Layout::new(&actor.principal, session, Section::Namespaces)?,
        name: ns.name,
        description: ns.description,
        envs: envs_page
            .iter()
            .take(ENV_PAGE as usize)
            .map(|(e, ns)| EnvRow::new(e, ns))
            .collect(),
        env_total: total,
        accounts,
        shares: shares.map(|list| list.into_iter().map(ShareRow::from).collect()),
        can_share: grants.can_namespace(Permission::NamespaceRoleMappingCreate, &name),
        shareable_roles: Role::ALL
            .iter()
            .filter(|r| grants.covers(&pattern, **r))
            .map(|r| r.as_str())
            .collect(),
        share_error,
    })
}

async fn show_namespace(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let page = namespace_page(&state, &actor, &session, path.into_inner(), None).await?;
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
    actor: Actor,
    session: Session,
    path: web::Path<String>,
    form: web::Form<ShareForm>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let f = form.into_inner();
    let (a, n, st) = (actor.clone(), name.clone(), state.clone());
    let role = f.role.unwrap_or_else(|| "viewer".into());
    let target = f.principal.trim().to_owned();
    let result = state
        .db
        .run(move |conn| sharing::share(conn, &a, &st.key_cache, &n, &target, &role))
        .await;
    match result {
        Ok(()) => Ok(see_other(&format!("/namespaces/{}", path_segment(&name)))),
        Err(err @ (AppError::Validation { .. } | AppError::Forbidden(_))) => {
            // The form has one message line: the first field's message, or the error's.
            let (fields, message, status) = form_errors(&err);
            let message = fields
                .into_values()
                .next()
                .or(message)
                .unwrap_or_else(|| err.to_string());
            let page = namespace_page(&state, &actor, &session, name, Some(message)).await?;
            Ok(respond_with_status(page, &req, status))
        }
        Err(other) => Err(other),
    }
}

async fn remove_share(
    state: web::Data<AppState>,
    actor: Actor,
    path: web::Path<String>,
    form: web::Form<ShareForm>,
) -> AppResult<HttpResponse> {
    let name = path.into_inner();
    let url = format!("/namespaces/{}", path_segment(&name));
    super::api::unshare(&state, actor, (name, form.into_inner().principal)).await?;
    Ok(see_other(&url))
}
