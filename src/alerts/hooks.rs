//! Webhooks of a namespace: made, listed and deleted by its admins
//! (`namespace::update`), with their delivery log; the secret is shown once.

use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{Alerts, EVENTS};
use crate::access::{Actor, Permission};
use crate::db::schema::{namespaces, webhook_deliveries, webhooks};
use crate::db::{DbConnection, now_ms, rfc3339};
use crate::errors::{AppError, AppResult, FieldErrors};

/// Most webhooks per namespace.
const MAX_WEBHOOKS: i64 = 20;

/// Body of `POST /api/v1/namespaces/{ns}/webhooks`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST: https (http and private addresses only when the server allows).
    pub url: String,
    /// Events to send (`api_key.expiring`, `api_key.unused`, `api_key.new_network`,
    /// `api_key.leaked`, `connector.expiring`, `policy.violation`).
    pub events: Vec<String>,
    /// "Expiring within" and "unused for" this many days (default 7).
    #[schema(minimum = 1, maximum = 365)]
    pub within_days: Option<i64>,
}

/// A webhook as listed (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookJson {
    /// Its id.
    pub id: i64,
    /// Its namespace.
    pub namespace: String,
    /// Where it POSTs.
    pub url: String,
    /// Its events.
    pub events: Vec<String>,
    /// Days for `expiring` and `unused`.
    pub within_days: i64,
    /// RFC 3339.
    pub created_at: String,
    /// Who made it.
    pub created_by: String,
}

/// A webhook just made: with its signing secret, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookJson,
    /// The signing secret (`whsec_…`): verify `Portcullis-Signature` with it.
    pub secret: String,
}

/// One delivery of the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryJson {
    /// Its id (the `Portcullis-Delivery` header).
    pub id: i64,
    /// The event.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// The next attempt (RFC 3339), while pending.
    pub next_attempt_at: Option<String>,
    /// RFC 3339, once delivered.
    pub delivered_at: Option<String>,
}

/// A webhook row.
type Row = (i64, String, String, i64, i64, String);

fn json_of(
    namespace: &str,
    (id, url, events, within_days, created_at, created_by): Row,
) -> WebhookJson {
    WebhookJson {
        id,
        namespace: namespace.to_owned(),
        url,
        events: serde_json::from_str(&events).unwrap_or_default(),
        within_days,
        created_at: rfc3339(created_at),
        created_by,
    }
}

/// Namespace `ns`'s row id, for an admin of it: 404 when it is unreadable or missing,
/// 403 for a reader who is not its admin.
fn administered(conn: &mut DbConnection, actor: &Actor, ns: &str) -> AppResult<i64> {
    if !actor.grants().can_namespace(Permission::NamespaceRead, ns) {
        return Err(AppError::NotFound);
    }
    let id: Option<i64> = namespaces::table
        .filter(namespaces::name.eq(ns))
        .select(namespaces::id)
        .first(conn)
        .optional()?;
    let id = id.ok_or(AppError::NotFound)?;
    actor.require_namespace(Permission::NamespaceUpdate, ns)?;
    Ok(id)
}

/// Checks the events and days of `body` (its URL is checked, with DNS, beforehand by
/// [`Alerts::check_url`]).
fn check(body: &NewWebhook) -> AppResult<i64> {
    let mut fields = FieldErrors::new();
    if body.events.is_empty() {
        fields.insert("events".into(), "name at least one event".into());
    }
    if let Some(bad) = body.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
        fields.insert(
            "events".into(),
            format!("{bad:?} is not an event: {}", EVENTS.join(", ")),
        );
    }
    let days = body.within_days.unwrap_or(7);
    if !(1..=365).contains(&days) {
        fields.insert("within_days".into(), "must be between 1 and 365".into());
    }
    if fields.is_empty() {
        Ok(days)
    } else {
        Err(AppError::Validation {
            message: "the webhook is not valid".into(),
            fields,
        })
    }
}

/// Makes a webhook of `ns` posting to `url` (already checked); its secret in the answer
/// only.
pub fn create(
    conn: &mut DbConnection,
    alerts: &Alerts,
    actor: &Actor,
    ns: &str,
    (body, url): (&NewWebhook, &url::Url),
) -> AppResult<CreatedWebhook> {
    let namespace_id = administered(conn, actor, ns)?;
    let days = check(body)?;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let secret = format!("whsec_{}", hex::encode(raw));
    let mut events = body.events.clone();
    events.sort_unstable();
    events.dedup();
    let events = serde_json::to_string(&events).map_err(AppError::internal)?;
    let now = now_ms();
    let id = crate::db::write_transaction(conn, |conn| -> AppResult<i64> {
        let count: i64 = webhooks::table
            .filter(webhooks::namespace_id.eq(namespace_id))
            .count()
            .get_result(conn)?;
        if count >= MAX_WEBHOOKS {
            return Err(AppError::Conflict(format!(
                "{ns} already has {MAX_WEBHOOKS} webhooks"
            )));
        }
        let id: i64 = diesel::insert_into(webhooks::table)
            .values((
                webhooks::namespace_id.eq(namespace_id),
                webhooks::url.eq(url.as_str()),
                webhooks::events.eq(&events),
                webhooks::within_days.eq(days),
                webhooks::secret.eq(""),
                webhooks::created_at.eq(now),
                webhooks::created_by.eq(actor.name()),
            ))
            .returning(webhooks::id)
            .get_result(conn)?;
        // Sealed with its row id as associated data: a sealed secret moved to another
        // webhook does not open.
        let sealed = alerts.sealer.seal(secret.as_bytes(), &id.to_be_bytes());
        diesel::update(webhooks::table.find(id))
            .set(webhooks::secret.eq(sealed))
            .execute(conn)?;
        crate::audit::success(
            conn,
            actor,
            "webhook.create",
            &format!("namespace:{ns}"),
            Some(&format!(
                "webhook {id} → {} ({events})",
                crate::outbound::redact(url)
            )),
        )?;
        Ok(id)
    })?;
    let row = (id, url.to_string(), events, days, now, actor.name());
    Ok(CreatedWebhook {
        webhook: json_of(ns, row),
        secret,
    })
}

/// The webhooks of `ns` (its admins).
pub fn list(conn: &mut DbConnection, actor: &Actor, ns: &str) -> AppResult<Vec<WebhookJson>> {
    let namespace_id = administered(conn, actor, ns)?;
    let rows: Vec<Row> = webhooks::table
        .filter(webhooks::namespace_id.eq(namespace_id))
        .order(webhooks::id)
        .select((
            webhooks::id,
            webhooks::url,
            webhooks::events,
            webhooks::within_days,
            webhooks::created_at,
            webhooks::created_by,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|r| json_of(ns, r)).collect())
}

/// Deletes webhook `id` of `ns` with its queued deliveries.
pub fn delete(conn: &mut DbConnection, actor: &Actor, ns: &str, id: i64) -> AppResult<()> {
    let namespace_id = administered(conn, actor, ns)?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
            .execute(conn)?;
        let gone = diesel::delete(
            webhooks::table
                .filter(webhooks::id.eq(id))
                .filter(webhooks::namespace_id.eq(namespace_id)),
        )
        .execute(conn)?;
        if gone == 0 {
            return Err(AppError::NotFound);
        }
        crate::audit::success(
            conn,
            actor,
            "webhook.delete",
            &format!("namespace:{ns}"),
            Some(&format!("webhook {id}")),
        )
    })
}

/// The newest `limit` deliveries of webhook `id` of `ns`.
pub fn deliveries(
    conn: &mut DbConnection,
    actor: &Actor,
    ns: &str,
    id: i64,
    limit: i64,
) -> AppResult<Vec<DeliveryJson>> {
    let namespace_id = administered(conn, actor, ns)?;
    let mine: Option<i64> = webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::namespace_id.eq(namespace_id))
        .select(webhooks::id)
        .first(conn)
        .optional()?;
    mine.ok_or(AppError::NotFound)?;
    type D = (
        i64,
        String,
        String,
        i64,
        Option<i64>,
        Option<String>,
        i64,
        i64,
        Option<i64>,
    );
    let rows: Vec<D> = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhook_deliveries::event,
            webhook_deliveries::state,
            webhook_deliveries::attempts,
            webhook_deliveries::last_status,
            webhook_deliveries::last_error,
            webhook_deliveries::created_at,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::delivered_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, event, state, attempts, last_status, last_error, created, next, delivered)| {
                DeliveryJson {
                    next_attempt_at: (state == "pending").then(|| rfc3339(next)),
                    id,
                    event,
                    state,
                    attempts,
                    last_status,
                    last_error,
                    created_at: rfc3339(created),
                    delivered_at: delivered.map(rfc3339),
                }
            },
        )
        .collect())
}
