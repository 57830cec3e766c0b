//! Hygiene alerts: signed webhooks of a namespace (keys or connector credentials
//! expiring, keys unused or used from a new network, policy violations, leaked keys),
//! queued durably in the database and delivered by a background worker ([`worker`])
//! with retries and exponential backoff, at least once.
//!
//! Each delivery is a JSON `POST` with `Portcullis-Signature: t=<unix>,v1=<hex
//! HMAC-SHA-256 of "t.body">` under the webhook's secret (shown once, stored sealed),
//! `Portcullis-Event` and `Portcullis-Delivery` (its id: receivers drop repeats by it).
//! URLs must be public https unless `PORTCULLIS_WEBHOOK_ALLOW_PRIVATE=true`, checked on
//! the resolved addresses when the webhook is made and again on every delivery.

mod hooks;
mod networks;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::{Value, json};

pub use hooks::{
    CreatedWebhook, DeliveryJson, NewWebhook, WebhookJson, create, delete, deliveries, list,
};
pub use networks::{NetworkTracker, network_of, record as record_networks};

/// The network of `client` for alerts (`/24`, `/64`), or the address as given.
pub fn networks_of(client: &str) -> String {
    network_of(client).unwrap_or_else(|| client.to_owned())
}

use crate::crypto::Sealer;
use crate::db::schema::{namespaces, webhook_deliveries, webhooks};
use crate::db::{DbConnection, now_ms, rfc3339};
use crate::outbound::{Outbound, OutboundError, Policy};

/// The events a webhook may subscribe to.
pub const EVENTS: [&str; 6] = [
    "api_key.expiring",
    "api_key.unused",
    "api_key.new_network",
    "api_key.leaked",
    "connector.expiring",
    "policy.violation",
];

/// Label of the key that seals webhook secrets.
pub const SECRETS_KEY_LABEL: &str = "webhook-secrets";

/// Delivery settings and the means to deliver: the sealer of secrets, the outbound
/// client under the webhook policy, and the worker's wake-up call.
pub struct Alerts {
    sealer: Sealer,
    outbound: Outbound,
    retry_base: Duration,
    wake: tokio::sync::Notify,
}

impl Alerts {
    /// Alerts sealing with `sealer`, calling out under `policy` (private targets only
    /// when it allows them), retrying after `retry_base`, doubling.
    pub fn new(
        sealer: Sealer,
        policy: Policy,
        retry_base: Duration,
    ) -> Result<Self, OutboundError> {
        Ok(Self {
            sealer,
            outbound: Outbound::new(policy)?,
            retry_base,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// Wakes the worker (new deliveries are queued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Checks a webhook URL: https to a public host (or http/private when allowed),
    /// on the addresses its host resolves to now.
    pub async fn check_url(&self, text: &str) -> Result<url::Url, String> {
        let url = url::Url::parse(text.trim()).map_err(|e| format!("not a URL: {e}"))?;
        if url.scheme() != "https" && !self.outbound.policy().allow_private {
            return Err(
                "must be an https URL (plain http needs PORTCULLIS_WEBHOOK_ALLOW_PRIVATE=true)"
                    .into(),
            );
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry a user name or password".into());
        }
        self.outbound
            .check_url(&url)
            .map_err(|e| webhook_words(&e))?;
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(443);
        crate::outbound::resolve_checked(host, port, self.outbound.policy())
            .await
            .map_err(|e| webhook_words(&e))?;
        Ok(url)
    }
}

/// An outbound refusal in the words of webhooks.
fn webhook_words(e: &OutboundError) -> String {
    e.to_string().replace(
        "connectors reach only public endpoints unless PORTCULLIS_CONNECTOR_ALLOW_PRIVATE=true",
        "webhooks reach only public endpoints unless PORTCULLIS_WEBHOOK_ALLOW_PRIVATE=true",
    )
}

/// The `Portcullis-Signature` value of `body` sent at `t` (unix seconds).
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Queues alert `event` about something of namespace `namespace` for each of its
/// webhooks subscribed to it, once per `dedupe` (a condition already alerted is not
/// alerted again); `data` describes it. The number queued.
pub fn enqueue(
    conn: &mut DbConnection,
    namespace: &str,
    event: &str,
    dedupe: &str,
    data: Value,
) -> QueryResult<usize> {
    let hooks: Vec<(i64, String)> = webhooks::table
        .inner_join(namespaces::table)
        .filter(namespaces::name.eq(namespace))
        .select((webhooks::id, webhooks::events))
        .load(conn)?;
    let alert = Alert::new(namespace, event, dedupe, data);
    let mut queued = 0;
    for (id, events) in hooks {
        let subscribed: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        if subscribed.iter().any(|e| e == event) {
            queued += alert.queue(conn, id)?;
        }
    }
    Ok(queued)
}

/// As [`enqueue`], for webhook `webhook` alone (the periodic scans, which look as far
/// ahead as each webhook's `within_days` says).
pub fn enqueue_to(
    conn: &mut DbConnection,
    webhook: i64,
    (namespace, event): (&str, &str),
    dedupe: &str,
    data: Value,
) -> QueryResult<usize> {
    Alert::new(namespace, event, dedupe, data).queue(conn, webhook)
}

/// One alert, ready to queue for webhooks.
struct Alert<'a> {
    event: &'a str,
    dedupe: &'a str,
    payload: String,
    now: i64,
}

impl<'a> Alert<'a> {
    fn new(namespace: &str, event: &'a str, dedupe: &'a str, data: Value) -> Self {
        let now = now_ms();
        let payload = json!({
            "event": event,
            "namespace": namespace,
            "occurred_at": rfc3339(now),
            "data": data,
        })
        .to_string();
        Self {
            event,
            dedupe,
            payload,
            now,
        }
    }

    /// Queues it for webhook `id` unless it is already queued there: 1 or 0.
    fn queue(&self, conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        let known = webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id))
            .filter(webhook_deliveries::dedupe.eq(self.dedupe));
        if diesel::select(diesel::dsl::exists(known)).get_result(conn)? {
            return Ok(0);
        }
        insert_once(conn, |conn| {
            diesel::insert_into(webhook_deliveries::table)
                .values((
                    webhook_deliveries::webhook_id.eq(id),
                    webhook_deliveries::event.eq(self.event),
                    webhook_deliveries::dedupe.eq(self.dedupe),
                    webhook_deliveries::payload.eq(&self.payload),
                    webhook_deliveries::state.eq("pending"),
                    webhook_deliveries::next_attempt_at.eq(self.now),
                    webhook_deliveries::created_at.eq(self.now),
                ))
                .execute(conn)
        })
    }
}

/// Runs `insert` in a savepoint, a row that is already there (another instance got
/// there first) counting as nothing inserted.
pub(crate) fn insert_once(
    conn: &mut DbConnection,
    insert: impl FnOnce(&mut DbConnection) -> QueryResult<usize>,
) -> QueryResult<usize> {
    use diesel::result::{DatabaseErrorKind, Error};
    match conn.transaction(insert) {
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(0),
        other => other,
    }
}

/// The webhooks subscribed to `event`, as `(namespace, webhook id, within_days)`:
/// what the periodic scans look for, each as far ahead as its webhook says.
pub fn subscriptions(conn: &mut DbConnection, event: &str) -> QueryResult<Vec<(String, i64, i64)>> {
    let rows: Vec<(String, i64, String, i64)> = webhooks::table
        .inner_join(namespaces::table)
        .select((
            namespaces::name,
            webhooks::id,
            webhooks::events,
            webhooks::within_days,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, events, _)| {
            serde_json::from_str::<Vec<String>>(events).is_ok_and(|l| l.iter().any(|e| e == event))
        })
        .map(|(ns, id, _, days)| (ns, id, days))
        .collect())
}

/// How long the delivery log keeps what is done (delivered or failed): 30 days.
pub const LOG_KEPT_MS: i64 = 30 * 24 * 3600 * 1000;

/// Deletes deliveries done (delivered or failed) before `before` (housekeeping); how
/// many went.
pub fn purge_done(conn: &mut DbConnection, before: i64) -> QueryResult<usize> {
    diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::state.ne("pending"))
            .filter(webhook_deliveries::created_at.lt(before)),
    )
    .execute(conn)
}

/// The shared alerts, as the application state holds them.
pub type Shared = Arc<Alerts>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let sig = signature(b"whsec_test", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            sig,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
        assert_ne!(sig, signature(b"whsec_test", 1_700_000_001, br#"{"a":1}"#));
        assert_ne!(sig, signature(b"whsec_other", 1_700_000_000, br#"{"a":1}"#));
    }
}
