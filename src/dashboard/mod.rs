//! The overview page: counts of what the viewer can see, a card per area.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::access::Binding;
use crate::app::Cx;
use crate::auth;
use crate::environments::{self, VisibleCounts};
use crate::errors::AppResult;
use crate::service_accounts;
use crate::web::layout::{Layout, Section};

/// Routes of the area.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(show_overview));
}

/// The overview page.
#[derive(Template, WebTemplate)]
#[template(path = "dashboard/overview.html")]
pub struct OverviewPage {
    layout: Layout,
    name: String,
    primary_namespace: String,
    counts: VisibleCounts,
    bindings: Vec<Binding>,
    user_count: Option<i64>,
    service_accounts: i64,
    connectors: i64,
}

/// `GET /`
async fn show_overview(cx: Cx) -> AppResult<OverviewPage> {
    let principal = cx.actor.principal;
    let grants = principal.grants.clone();
    let is_admin = grants.is_global_admin();
    let viewer = principal.clone();
    let (counts, user_count, service_accounts, connectors) = cx
        .state
        .db
        .run(move |conn| -> AppResult<_> {
            let counts = environments::visible_counts(conn, &grants)?;
            let accounts = service_accounts::count_readable(conn, &viewer)?;
            let connectors = crate::connectors::registry::count_readable(conn, &viewer)?;
            let users = if is_admin {
                Some(auth::count_users(conn)?)
            } else {
                None
            };
            Ok((counts, users, accounts, connectors))
        })
        .await?;
    Ok(OverviewPage {
        layout: Layout::new(&principal, &cx.session, Section::Overview)?,
        name: principal.name.clone(),
        primary_namespace: principal.primary_namespace.clone().unwrap_or_default(),
        counts,
        bindings: principal.grants.bindings().to_vec(),
        user_count,
        service_accounts,
        connectors,
    })
}
