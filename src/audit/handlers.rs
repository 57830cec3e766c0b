//! The audit log page (`/audit`) and API (`/api/v1/audit-events`), for global admins.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;
use serde_json::json;

use super::{Filter, StoredEvent};
use crate::app::{Admin, AppState};
use crate::db::rfc3339;
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::layout::{Layout, Section};
use crate::web::pagination;

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").get(show_audit))
        .service(web::resource("/api/v1/audit-events").get(list_events));
}

/// Query of both routes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

fn filter(q: &AuditQuery) -> AppResult<Filter> {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let before = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| AppError::bad_request("invalid cursor"))?,
        ),
    };
    Ok(Filter {
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        target: nonempty(&q.target),
        before,
        limit: pagination::limit(q.limit)?,
    })
}

async fn load(state: &AppState, f: Filter) -> AppResult<(Vec<StoredEvent>, Option<String>)> {
    let limit = f.limit;
    let events = state
        .db
        .run(move |conn| super::list(conn, &f).map_err(AppError::from))
        .await?;
    Ok(pagination::split_page(events, limit, |e| e.id.to_string()))
}

/// `GET /api/v1/audit-events`
async fn list_events(Admin(cx): Admin, query: web::Query<AuditQuery>) -> Reply {
    let (events, next) = load(&cx.state, filter(&query)?).await?;
    let items: Vec<_> = events
        .iter()
        .map(|e| {
            json!({
                "id": e.id, "time": rfc3339(e.at), "cx.actor": e.actor, "action": e.action,
                "target": e.target, "outcome": e.outcome, "client_addr": e.client_addr, "detail": e.detail,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next})))
}

/// One row of the page.
pub struct EventRow {
    time: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    client: String,
    detail: String,
}

/// `GET /audit`
#[derive(Template, WebTemplate)]
#[template(path = "audit/index.html")]
pub struct AuditPage {
    layout: Layout,
    rows: Vec<EventRow>,
    actor: String,
    action: String,
    target: String,
    next_url: Option<String>,
}

async fn show_audit(Admin(cx): Admin, query: web::Query<AuditQuery>) -> Reply {
    let q = query.into_inner();
    let (events, next) = load(&cx.state, filter(&q)?).await?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let next_url = next.map(|c| {
        let qs = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("cx.actor", &text(&q.actor))
            .append_pair("action", &text(&q.action))
            .append_pair("target", &text(&q.target))
            .append_pair("cursor", &c)
            .finish();
        format!("/audit?{qs}")
    });
    let page = AuditPage {
        layout: cx.layout(Section::Audit)?,
        rows: events
            .into_iter()
            .map(|e| EventRow {
                time: rfc3339(e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                outcome: e.outcome,
                client: e.client_addr.unwrap_or_default(),
                detail: e.detail.unwrap_or_default(),
            })
            .collect(),
        actor: text(&q.actor),
        action: text(&q.action),
        target: text(&q.target),
        next_url,
    };
    Ok(cx.render(page))
}
