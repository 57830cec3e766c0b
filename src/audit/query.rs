//! Reading the audit log: filters (actor, action or action prefix, target, outcome,
//! time range) and what a caller may see of it — everything for a global admin; for
//! anyone else the events of namespaces they administer, and their own actions.

use diesel::prelude::*;

use super::StoredEvent;
use crate::access::sql::{Columns, permission_filter};
use crate::access::{Grants, Permission};
use crate::db::DbConnection;
use crate::db::schema::audit_events;

/// A column an audit filter matches exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exact {
    /// Who acted (`user:alice`).
    Actor,
    /// What it was done to (`service_account:ci`).
    Target,
    /// `success` or `failure`.
    Outcome,
}

/// Filters of the audit list, keyset-paginated by id, newest first.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Columns that must equal a value.
    pub exact: Vec<(Exact, String)>,
    /// An action, or a prefix of dot-separated parts: `api_key` matches `api_key` and
    /// `api_key.*`.
    pub action: Option<String>,
    /// From (included) and until (excluded), in ms.
    pub during: (Option<i64>, Option<i64>),
    /// Events older than this id.
    pub before: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Who reads the log when it is not a global admin: they see the events of the
/// namespaces they administer, and their own actions.
pub struct Visible<'a> {
    /// The viewer's grants.
    pub grants: &'a Grants,
    /// The viewer as audit actors are named (`user:alice`).
    pub name: &'a str,
}

/// `text` with the `LIKE` wildcards escaped (`\` is the escape character).
fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A page of the events `visible` may read (one more than `limit` when there is a
/// next page); `visible` is `None` for a global admin.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    visible: Option<Visible<'_>>,
) -> QueryResult<Vec<StoredEvent>> {
    let mut q = audit_events::table
        .order(audit_events::id.desc())
        .limit(filter.limit + 1)
        .select(StoredEvent::as_select())
        .into_boxed();
    if let Some(v) = visible {
        let columns = Columns {
            namespace: "audit_events.namespace",
            environment: None,
        };
        let administered = permission_filter(
            v.grants,
            Permission::NamespaceRoleMappingCreate,
            columns,
            conn.dialect(),
        );
        q = q.filter(administered.or(audit_events::actor.eq(v.name.to_owned())));
    }
    for (column, value) in &filter.exact {
        let value = value.clone();
        q = match column {
            Exact::Actor => q.filter(audit_events::actor.eq(value)),
            Exact::Target => q.filter(audit_events::target.eq(value)),
            Exact::Outcome => q.filter(audit_events::outcome.eq(value)),
        };
    }
    if let Some(a) = &filter.action {
        let below = format!("{}.%", like_literal(a));
        q = q.filter(
            audit_events::action
                .eq(a.clone())
                .or(audit_events::action.like(below).escape('\\')),
        );
    }
    if let (Some(t), _) = filter.during {
        q = q.filter(audit_events::at.ge(t));
    }
    if let (_, Some(t)) = filter.during {
        q = q.filter(audit_events::at.lt(t));
    }
    if let Some(b) = filter.before {
        q = q.filter(audit_events::id.lt(b));
    }
    q.load(conn)
}

/// The actions recorded so far, for the filter's dropdown.
pub fn list_actions(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    audit_events::table
        .select(audit_events::action)
        .distinct()
        .order(audit_events::action)
        .limit(500)
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_an_action_are_literal() {
        assert_eq!(like_literal("api_key"), "api\\_key");
        assert_eq!(like_literal("a%b\\c"), "a\\%b\\\\c");
    }
}
