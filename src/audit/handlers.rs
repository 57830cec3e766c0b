//! The audit log page (`/audit`) and API (`/api/v1/audit-events`): everything for a
//! global admin; for anyone else the events of the namespaces they administer and
//! their own actions. Filters live in the URL.

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use super::{Exact, Filter, StoredEvent, Visible};
use crate::app::Cx;
use crate::db::rfc3339;
use crate::errors::{AppError, AppResult};
use crate::web::Reply;
use crate::web::api::Page;
use crate::web::format::{Moment, moment};
use crate::web::layout::{Layout, Section};
use crate::web::pagination;

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_events), components(schemas(DayOrInstant)))]
pub(super) struct Doc;

/// A day or an instant, as the time filters take them; blank is no filter.
pub struct DayOrInstant;

impl utoipa::PartialSchema for DayOrInstant {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{
            AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type,
        };
        let string = |format| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
        };
        AnyOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(0)),
            )
            .into()
    }
}

impl utoipa::ToSchema for DayOrInstant {}

/// One event as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventJson {
    /// Its id (newer events have larger ids).
    id: i64,
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    time: String,
    /// Who: `user:<name>`, `service_account:<ns>/<name>`, or `anonymous`.
    actor: String,
    /// What, e.g. `api_key.create`.
    action: String,
    /// On what, e.g. `api_key:team-a/ci/deploy`.
    target: String,
    /// `success` or `failure`.
    outcome: String,
    /// The client's address.
    client_addr: Option<String>,
    /// Extra context.
    detail: Option<String>,
}

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/audit").get(show_audit))
        .service(web::resource("/api/v1/audit-events").get(list_events));
}

/// Query of both routes (and what the page's "older" link carries).
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only events of this actor (exact, e.g. `user:alice`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    actor: String,
    /// An action, or a prefix of its dot-separated parts (`api_key` matches `api_key.create`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    /// Only events on this target (exact).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    target: String,
    /// `success` or `failure`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(pattern = "^(success|failure)?$")]
    outcome: String,
    /// From this day (`YYYY-MM-DD`), or from an instant (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(value_type = DayOrInstant)]
    since: String,
    /// Up to this day, included (`YYYY-MM-DD`), or before an instant (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(value_type = DayOrInstant)]
    until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<i64>,
    /// `next_cursor` of the previous page (an event id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[param(pattern = "^([0-9]{1,18})?$")]
    cursor: String,
}

/// `text` as a time (ms): an RFC 3339 instant, or a day (its start; with `day_end`
/// the start of the next day, so that "until" includes it).
fn time(field: &str, text: &str, day_end: bool) -> AppResult<Option<i64>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.timestamp_millis()));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| AppError::invalid(field, "must be a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    let day = if day_end {
        day + TimeDelta::days(1)
    } else {
        day
    };
    Ok(day
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis()))
}

impl AuditQuery {
    fn filter(&self) -> AppResult<Filter> {
        let nonempty = |v: &str| Some(v.trim().to_owned()).filter(|s| !s.is_empty());
        let before = match nonempty(&self.cursor) {
            None => None,
            Some(c) => Some(
                c.parse::<i64>()
                    .map_err(|_| AppError::bad_request("invalid cursor"))?,
            ),
        };
        let outcome = nonempty(&self.outcome);
        if outcome
            .as_deref()
            .is_some_and(|o| o != "success" && o != "failure")
        {
            return Err(AppError::invalid("outcome", "must be success or failure"));
        }
        let exact = [
            (Exact::Actor, nonempty(&self.actor)),
            (Exact::Target, nonempty(&self.target)),
            (Exact::Outcome, outcome),
        ];
        Ok(Filter {
            exact: exact
                .into_iter()
                .filter_map(|(c, v)| Some((c, v?)))
                .collect(),
            action: nonempty(&self.action),
            during: (
                time("since", &self.since, false)?,
                time("until", &self.until, true)?,
            ),
            before,
            limit: pagination::limit(self.limit)?,
        })
    }
}

/// The events the caller may read under `f`, and the cursor of the next page.
async fn load(cx: &Cx, f: Filter) -> AppResult<(Vec<StoredEvent>, Option<String>)> {
    let limit = f.limit;
    let events = cx
        .run(move |conn, actor, _| {
            let grants = actor.grants();
            let name = actor.name();
            let visible = (!grants.is_global_admin()).then_some(Visible {
                grants,
                name: &name,
            });
            super::list(conn, &f, visible).map_err(AppError::from)
        })
        .await?;
    Ok(pagination::split_page(events, limit, |e| e.id.to_string()))
}

/// List audit events.
#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit",
    params(AuditQuery),
    responses((status = 200, description = "Events, newest first: every event for a global admin; otherwise those of the namespaces the caller administers and the caller's own.", body = Page<EventJson>)))]
async fn list_events(cx: Cx, query: web::Query<AuditQuery>) -> Reply {
    let (events, next) = load(&cx, query.filter()?).await?;
    let items: Vec<EventJson> = events
        .iter()
        .map(|e| EventJson {
            id: e.id,
            time: rfc3339(e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.clone(),
            client_addr: e.client_addr.clone(),
            detail: e.detail.clone(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(items, next)))
}

/// One row of the page.
pub struct EventRow {
    time: Moment,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    client: String,
    detail: String,
}

/// The rows of the page and its "older events" link (also the htmx answer).
#[derive(Template, WebTemplate)]
#[template(path = "audit/_rows.html")]
pub struct EventRows {
    rows: Vec<EventRow>,
    next_url: Option<String>,
}

/// `GET /audit`
#[derive(Template, WebTemplate)]
#[template(path = "audit/index.html")]
pub struct AuditPage {
    layout: Layout,
    rows: EventRows,
    filter: AuditQuery,
    /// Actions recorded so far (the dropdown).
    actions: Vec<String>,
    /// Whether the viewer sees every event (a global admin) or their namespaces'.
    everything: bool,
}

async fn show_audit(cx: Cx, query: web::Query<AuditQuery>) -> Reply {
    let q = query.into_inner();
    let (events, next) = load(&cx, q.filter()?).await?;
    let next_url = match next {
        Some(cursor) => {
            let older = AuditQuery {
                cursor,
                ..q.clone()
            };
            let qs = serde_urlencoded::to_string(&older).map_err(AppError::internal)?;
            Some(format!("/audit?{qs}"))
        }
        None => None,
    };
    let rows = EventRows {
        rows: events
            .into_iter()
            .map(|e| EventRow {
                time: moment(Some(e.at)),
                actor: e.actor,
                action: e.action,
                target: e.target,
                outcome: e.outcome,
                client: e.client_addr.unwrap_or_default(),
                detail: e.detail.unwrap_or_default(),
            })
            .collect(),
        next_url,
    };
    cx.rows_or_page(rows, async |rows| {
        let actions = cx
            .run(|conn, _, _| super::list_actions(conn).map_err(AppError::from))
            .await?;
        Ok(AuditPage {
            layout: cx.layout(Section::Audit)?,
            rows,
            filter: q,
            actions,
            everything: cx.actor.grants().is_global_admin(),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_instants_bound_the_time_range() {
        let day = time("since", "2026-11-30", false).unwrap();
        let next = time("until", "2026-11-30", true).unwrap();
        assert_eq!(next.unwrap() - day.unwrap(), 86_400_000);
        assert_eq!(time("since", "2026-11-30T00:00:00Z", false).unwrap(), day);
        assert_eq!(time("since", " ", false).unwrap(), None);
        let err = time("until", "yesterday", true).unwrap_err();
        assert!(err.fields().is_some_and(|f| f.contains_key("until")));
    }
}
