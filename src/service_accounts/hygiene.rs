//! Key hygiene alerts: the periodic scan that queues `api_key.expiring` and
//! `api_key.unused` for the namespaces whose webhooks ask, and the names the
//! new-network alerts give a key.

use diesel::prelude::*;
use serde_json::json;

use crate::alerts;
use crate::db::schema::{api_keys, namespaces, service_accounts};
use crate::db::{DbConnection, rfc3339};
use crate::key_policy::DAY_MS;

/// Active keys of namespace `ns`: `(key row id, account, key, expires_at, last used or
/// created)`.
type KeyFacts = (i64, String, String, Option<i64>, i64);

fn active_keys(conn: &mut DbConnection, ns: &str) -> QueryResult<Vec<KeyFacts>> {
    type Row = (i64, String, String, Option<i64>, Option<i64>, i64);
    let rows: Vec<Row> = api_keys::table
        .inner_join(service_accounts::table.inner_join(namespaces::table))
        .filter(namespaces::name.eq(ns))
        .filter(api_keys::active.eq(true))
        .filter(service_accounts::active.eq(true))
        .select((
            api_keys::id,
            service_accounts::name,
            api_keys::name,
            api_keys::expires_at,
            api_keys::last_used_at,
            api_keys::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, a, k, exp, used, created)| (id, a, k, exp, used.unwrap_or(created)))
        .collect())
}

/// Queues the alerts due at `now`: keys expiring within a webhook's days, keys unused
/// for them. Each condition alerts once (per expiry; per last use). The number queued.
pub fn scan(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    let mut queued = 0;
    for (ns, hook, days) in alerts::subscriptions(conn, "api_key.expiring")? {
        for (id, account, key, expires, _) in active_keys(conn, &ns)? {
            let Some(e) = expires.filter(|e| *e > now && *e <= now + days * DAY_MS) else {
                continue;
            };
            let data =
                json!({"service_account": account, "api_key": key, "expires_at": rfc3339(e)});
            let dedupe = format!("api_key.expiring:{id}:{e}");
            let about = (ns.as_str(), "api_key.expiring");
            queued += alerts::enqueue_to(conn, hook, about, &dedupe, data)?;
        }
    }
    for (ns, hook, days) in alerts::subscriptions(conn, "api_key.unused")? {
        for (id, account, key, _, last) in active_keys(conn, &ns)? {
            if now - last < days * DAY_MS {
                continue;
            }
            let data = json!({"service_account": account, "api_key": key, "unused_since": rfc3339(last), "days": days});
            let dedupe = format!("api_key.unused:{id}:{last}");
            let about = (ns.as_str(), "api_key.unused");
            queued += alerts::enqueue_to(conn, hook, about, &dedupe, data)?;
        }
    }
    Ok(queued)
}

/// `(namespace, account, key)` of key row `id`.
pub fn key_names(
    conn: &mut DbConnection,
    id: i64,
) -> QueryResult<Option<(String, String, String)>> {
    api_keys::table
        .inner_join(service_accounts::table.inner_join(namespaces::table))
        .filter(api_keys::id.eq(id))
        .select((namespaces::name, service_accounts::name, api_keys::name))
        .first(conn)
        .optional()
}
