//! The overview page: counts of what the viewer can see, a card per area.

use actix_web::web;
use askama::Template;
use askama_web::WebTemplate;

use crate::access::Binding;
use crate::app::Cx;
use crate::auth;
use crate::connectors::registry;
use crate::db::now_ms;
use crate::environments::{self, EnvFilter, VisibleCounts};
use crate::errors::AppResult;
use crate::service_accounts;
use crate::web::attention::Attention;
use crate::web::layout::{Layout, Section};
use crate::web::{Reply, path_segment};

/// Routes of the area.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").get(show_overview))
        .service(web::resource("/attention").get(show_attention));
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

/// What needs attention (`dashboard/_attention.html`): the htmx answer of
/// `/attention`, loaded by the overview once it shows.
#[derive(Template, WebTemplate)]
#[template(path = "dashboard/_attention.html")]
pub struct AttentionList {
    items: Vec<Attention>,
}

/// `GET /attention` without JavaScript: the list as a page of its own.
#[derive(Template, WebTemplate)]
#[template(path = "dashboard/attention.html")]
pub struct AttentionPage {
    layout: Layout,
    list: AttentionList,
}

/// Connectors whose credentials expire within this long need attention.
const CONNECTOR_EXPIRY_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// Failed builds the viewer can read, as things needing attention.
fn failed_builds(
    conn: &mut crate::db::DbConnection,
    grants: &crate::access::Grants,
    totals: &environments::totals::TotalsCache,
) -> AppResult<Vec<Attention>> {
    let filter = EnvFilter {
        status: Some("FAILED".into()),
        limit: 20,
        ..Default::default()
    };
    let (failed, _) = environments::list_environments(conn, grants, &filter, totals)?;
    Ok(failed
        .iter()
        .take(20)
        .map(|(e, ns)| Attention {
            what: format!("The build of {ns}/{} failed", e.name),
            href: format!(
                "/environments/{}/{}",
                path_segment(ns),
                path_segment(&e.name)
            ),
        })
        .collect())
}

/// `GET /attention`: what needs attention among what the caller reads — keys expiring
/// within a week, unused keys, accounts holding nothing, connectors expiring within
/// two weeks, failed builds. Apart from `/` so that the overview stays cheap; the
/// overview loads it once it shows (htmx), or links to it.
async fn show_attention(cx: Cx) -> Reply {
    let items = cx
        .run(|conn, actor, st| {
            let (grants, now) = (actor.grants(), now_ms());
            let mut items = service_accounts::attention::needing_attention(conn, grants, now)?;
            let expiring = CONNECTOR_EXPIRY_MS;
            items.extend(registry::needing_attention(conn, grants, now, expiring)?);
            items.extend(failed_builds(conn, grants, &st.env_totals)?);
            Ok(items)
        })
        .await?;
    cx.rows_or_page(AttentionList { items }, async |list| {
        Ok(AttentionPage {
            layout: cx.layout(Section::Overview)?,
            list,
        })
    })
    .await
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
            let connectors = registry::count_readable(conn, &viewer)?;
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
