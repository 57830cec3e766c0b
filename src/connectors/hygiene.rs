//! Connector hygiene alerts: `connector.expiring` for connectors whose credentials
//! expire within the days of a namespace's webhook (queued by the periodic scan, once
//! per expiry).

use diesel::prelude::*;
use serde_json::json;

use crate::alerts;
use crate::db::schema::{connectors, namespaces};
use crate::db::{DbConnection, rfc3339};
use crate::key_policy::DAY_MS;

/// Queues the `connector.expiring` alerts due at `now`; the number queued.
pub fn scan(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    let mut queued = 0;
    for (ns, hook, days) in alerts::subscriptions(conn, "connector.expiring")? {
        let soon: Vec<(i64, String, String, Option<i64>)> = connectors::table
            .inner_join(namespaces::table)
            .filter(namespaces::name.eq(&ns))
            .filter(connectors::expires_at.gt(now))
            .filter(connectors::expires_at.le(now + days * DAY_MS))
            .select((
                connectors::id,
                connectors::name,
                connectors::connector_type,
                connectors::expires_at,
            ))
            .load(conn)?;
        for (id, name, kind, expires) in soon {
            let Some(e) = expires else { continue };
            let data = json!({"connector": name, "connector_type": kind, "expires_at": rfc3339(e)});
            let dedupe = format!("connector.expiring:{id}:{e}");
            let about = (ns.as_str(), "connector.expiring");
            queued += alerts::enqueue_to(conn, hook, about, &dedupe, data)?;
        }
    }
    Ok(queued)
}
