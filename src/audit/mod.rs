//! The audit log: every security-relevant action with actor, action, target, outcome,
//! time and client address — never a secret.

pub mod batch;
mod handlers;

use diesel::prelude::*;

use crate::db::schema::audit_events;
use crate::db::{DbConnection, now_ms};

/// Whether the action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was refused or failed.
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Who acted (`user:alice`, or the attempted name for failed sign-ins).
    pub actor: &'a str,
    /// What they did (`login`, `logout`, `user.create` …).
    pub action: &'a str,
    /// What it was done to.
    pub target: &'a str,
    /// Result.
    pub outcome: Outcome,
    /// Client address, if from a request.
    pub client_addr: Option<&'a str>,
    /// Extra non-secret context.
    pub detail: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event with no client address and no detail.
    pub fn new(actor: &'a str, action: &'a str, target: &'a str, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            target,
            outcome,
            client_addr: None,
            detail: None,
        }
    }

    /// The same event, from `client`.
    pub fn from(self, client: Option<&'a str>) -> Self {
        Self {
            client_addr: client,
            ..self
        }
    }

    /// The same event, with `detail`.
    pub fn detail(self, detail: Option<&'a str>) -> Self {
        Self { detail, ..self }
    }
}

/// Appends an event.
pub fn record(conn: &mut DbConnection, event: &Event<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::at.eq(now_ms()),
            audit_events::actor.eq(event.actor),
            audit_events::action.eq(event.action),
            audit_events::target.eq(event.target),
            audit_events::outcome.eq(event.outcome.as_str()),
            audit_events::client_addr.eq(event.client_addr),
            audit_events::detail.eq(event.detail),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_events)]
pub struct StoredEvent {
    /// Row id.
    pub id: i64,
    /// Time (ms).
    pub at: i64,
    /// Actor.
    pub actor: String,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// Client address.
    pub client_addr: Option<String>,
    /// Extra context.
    pub detail: Option<String>,
}

/// Routes of the area.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    handlers::configure(cfg);
}

/// Filters of the audit list (exact matches), keyset-paginated by id, newest first.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Actor (`user:alice`).
    pub actor: Option<String>,
    /// Action (`api_key.create`).
    pub action: Option<String>,
    /// Target (`service_account:ci`).
    pub target: Option<String>,
    /// Events older than this id.
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// A page of events (one more than `limit` when there is a next page).
pub fn list(conn: &mut DbConnection, filter: &Filter) -> QueryResult<Vec<StoredEvent>> {
    let mut q = audit_events::table
        .order(audit_events::id.desc())
        .limit(filter.limit + 1)
        .select(StoredEvent::as_select())
        .into_boxed();
    if let Some(a) = &filter.actor {
        q = q.filter(audit_events::actor.eq(a.clone()));
    }
    if let Some(a) = &filter.action {
        q = q.filter(audit_events::action.eq(a.clone()));
    }
    if let Some(t) = &filter.target {
        q = q.filter(audit_events::target.eq(t.clone()));
    }
    if let Some(b) = filter.before {
        q = q.filter(audit_events::id.lt(b));
    }
    q.load(conn)
}

/// The most recent events, newest first.
pub fn list_recent(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<StoredEvent>> {
    audit_events::table
        .order(audit_events::id.desc())
        .limit(limit)
        .select(StoredEvent::as_select())
        .load(conn)
}

/// Records what a principal did to itself (`login`, `logout`): `who` (`user:alice`) is
/// actor and target.
pub fn own(
    conn: &mut DbConnection,
    who: &str,
    action: &str,
    outcome: Outcome,
    client: Option<&str>,
    detail: Option<&str>,
) -> QueryResult<()> {
    let event = Event::new(who, action, who, outcome);
    record(conn, &event.from(client).detail(detail))
}

/// Records a refused attempt by a caller nobody could identify (`anonymous`).
pub fn anonymous_failure(
    conn: &mut DbConnection,
    action: &str,
    target: &str,
    client: &str,
    detail: Option<&str>,
) -> QueryResult<()> {
    let event = Event::new("anonymous", action, target, Outcome::Failure);
    record(conn, &event.from(Some(client)).detail(detail))
}

/// Records a successful action of the request's caller. The one way areas audit what
/// an [`Actor`](crate::access::Actor) did.
pub fn success(
    conn: &mut DbConnection,
    actor: &crate::access::Actor,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> crate::errors::AppResult<()> {
    let name = actor.name();
    let event = Event::new(&name, action, target, Outcome::Success);
    record(conn, &event.from(Some(&actor.client)).detail(detail))?;
    Ok(())
}
