//! The audit log: every security-relevant action with actor, action, target, outcome,
//! time and client address — never a secret.

pub mod batch;
mod handlers;
mod query;

pub use query::{Exact, Filter, Visible, list, list_actions};

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
    /// The namespace the target lies in, when the target does not say (a service
    /// account, a key, a connector); `namespace:` and `environment:` targets do.
    pub namespace: Option<&'a str>,
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
            namespace: None,
        }
    }

    /// The same event, its target in `namespace`.
    pub fn within(self, namespace: Option<&'a str>) -> Self {
        Self { namespace, ..self }
    }

    /// The namespace of the target: as given, or read from a `namespace:NS` or
    /// `environment:NS/NAME` target.
    fn target_namespace(&self) -> Option<&'a str> {
        self.namespace
            .or_else(|| match self.target.split_once(':') {
                Some(("namespace", ns)) => Some(ns),
                Some(("environment", path)) => path.split_once('/').map(|(ns, _)| ns),
                _ => None,
            })
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
            audit_events::namespace.eq(event.target_namespace()),
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

/// The area's operations in the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    <handlers::Doc as utoipa::OpenApi>::openapi()
}

/// Routes of the area.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    handlers::configure(cfg);
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

/// How the audit log names a sign-in attempt for a user name nobody has: a keyed hash
/// of what was typed (`user:unknown-3f9a…`), never the text itself — a password typed
/// into the name field must not end up in the log. The same typed name always gives
/// the same mark, so repeated attempts still line up.
pub fn unknown_user(key: &[u8; 32], typed: &str) -> String {
    let tag = crate::crypto::mac(
        key,
        &[b"portcullis audit: unknown user name\0", typed.as_bytes()],
    );
    format!("user:unknown-{}", hex::encode(&tag[..6]))
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
    success_in(conn, actor, None, action, target, detail)
}

/// [`success`] on a target in `namespace` that its name does not show (a service
/// account, a key, a connector), so that the namespace's admins read it in its trail.
pub fn success_in(
    conn: &mut DbConnection,
    actor: &crate::access::Actor,
    namespace: Option<&str>,
    action: &str,
    target: &str,
    detail: Option<&str>,
) -> crate::errors::AppResult<()> {
    let name = actor.name();
    let event = Event::new(&name, action, target, Outcome::Success);
    let event = event.from(Some(&actor.client)).detail(detail);
    record(conn, &event.within(namespace))?;
    Ok(())
}
