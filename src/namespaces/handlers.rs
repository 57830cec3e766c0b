//! Dashboard pages of namespaces: the list, one namespace with its environments,
//! service accounts and shares, and the share editor. Buttons appear only when
//! allowed; every action is checked again on the server.

use actix_web::web;
use serde::Deserialize;

use super::sharing;
use super::views::{NamespacePage, NamespacesPage, ShareRow};
use crate::access::{Pattern, Permission, Role};
use crate::app::Cx;
use crate::environments::{self, EnvFilter, EnvRow};
use crate::errors::{AppError, AppResult};
use crate::service_accounts;
use crate::web::Reply;
use crate::web::layout::Section;
use crate::web::{form_errors, path_segment, see_other};

/// Environments shown on a namespace's page.
const ENV_PAGE: i64 = 25;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const SHARES: &str = "/namespaces/{ns}/shares";
    cfg.service(web::resource("/namespaces").get(list_namespaces))
        .service(web::resource("/namespaces/{ns}").get(show_namespace))
        .service(web::resource(SHARES).post(add_share))
        .service(web::resource(format!("{SHARES}/delete")).post(remove_share));
}

async fn list_namespaces(cx: Cx) -> Reply {
    let list = cx
        .run(move |conn, actor, _| {
            Ok(environments::list_namespaces(
                conn,
                actor.grants(),
                None,
                None,
                1000,
            )?)
        })
        .await?;
    let page = NamespacesPage {
        layout: cx.layout(Section::Namespaces)?,
        rows: list.into_iter().map(|n| (n.name, n.description)).collect(),
    };
    Ok(cx.render(page))
}

async fn namespace_page(
    cx: &Cx,
    name: String,
    share_error: Option<String>,
) -> AppResult<NamespacePage> {
    let n = name.clone();
    let (ns, envs_page, total, accounts, shares) = cx
        .run(move |conn, a, st| {
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
                Some(sharing::shares(conn, a, &n)?)
            } else {
                None
            };
            Ok((ns, list, total, accounts, shares))
        })
        .await?;
    let grants = cx.actor.grants();
    let pattern = Pattern::parse(&format!("{name}/*")).map_err(AppError::bad_request)?;
    Ok(NamespacePage {
        layout: cx.layout(Section::Namespaces)?,
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

async fn show_namespace(cx: Cx, path: web::Path<String>) -> Reply {
    let page = namespace_page(&cx, path.into_inner(), None).await?;
    Ok(cx.render(page))
}

/// Form of the share editor.
#[derive(Debug, Deserialize)]
pub struct ShareForm {
    principal: String,
    role: Option<String>,
}

/// `/namespaces/{ns}`.
fn namespace_url(name: &str) -> String {
    format!("/namespaces/{}", path_segment(name))
}

async fn add_share(cx: Cx, path: web::Path<String>, form: web::Form<ShareForm>) -> Reply {
    let name = path.into_inner();
    let f = form.into_inner();
    let role = f.role.unwrap_or_else(|| "viewer".into());
    let target = f.principal.trim().to_owned();
    match super::api::share(&cx, (name.clone(), target), role).await {
        Ok(()) => Ok(see_other(&namespace_url(&name))),
        Err(err @ (AppError::Validation { .. } | AppError::Forbidden(_))) => {
            // The form has one message line: the first field's message, or the error's.
            let (fields, message, status) = form_errors(&err);
            let message = fields
                .into_values()
                .next()
                .or(message)
                .unwrap_or_else(|| err.to_string());
            let page = namespace_page(&cx, name, Some(message)).await?;
            Ok(cx.render_with(page, status))
        }
        Err(other) => Err(other),
    }
}

async fn remove_share(cx: Cx, path: web::Path<String>, form: web::Form<ShareForm>) -> Reply {
    let name = path.into_inner();
    let url = namespace_url(&name);
    super::api::unshare(&cx, (name, form.into_inner().principal)).await?;
    Ok(see_other(&url))
}
