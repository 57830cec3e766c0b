//! The delivery worker: leases due deliveries in batches (so several instances never
//! send the same one), sends them in parallel, and records each result — delivered,
//! or retried later with exponential backoff until [`MAX_ATTEMPTS`], then failed. A
//! crash mid-batch leaves the batch leased; the lease runs out and only that batch is
//! sent again (at-least-once; receivers drop repeats by `Portcullis-Delivery`).

use std::time::Duration;

use diesel::prelude::*;
use futures_util::StreamExt;

use super::{Alerts, signature};
use crate::db::schema::{webhook_deliveries as d, webhooks};
use crate::db::{Db, DbConnection, now_ms, write_transaction};
use crate::errors::AppResult;

/// Deliveries leased at a time: two rounds of [`PARALLEL`].
pub const BATCH: i64 = 32;
/// How long a lease holds, in ms: longer than a batch can take (two rounds of sends,
/// each at most the outbound timeout of 10 s), so no lease runs out mid-batch.
pub const LEASE_MS: i64 = 30_000;
/// Attempts before a delivery is given up as failed.
pub const MAX_ATTEMPTS: i64 = 12;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Deliveries in flight at once.
const PARALLEL: usize = 16;

/// A leased delivery with where it goes.
struct Due {
    id: i64,
    mark: i64,
    webhook_id: i64,
    event: String,
    payload: String,
    attempts: i64,
    url: String,
    sealed: String,
}

/// What one attempt came to: the delivery, its lease mark, the attempts so far, the
/// receiver's status, and why it failed (if it did).
type Outcome = (i64, i64, i64, Option<i64>, Option<String>);

/// Leases up to [`BATCH`] due deliveries at `now`.
fn lease(conn: &mut DbConnection, now: i64) -> QueryResult<Vec<Due>> {
    write_transaction(conn, |conn| {
        let ids: Vec<i64> = d::table
            .filter(d::state.eq("pending"))
            .filter(d::next_attempt_at.le(now))
            .filter(d::leased_until.is_null().or(d::leased_until.lt(now)))
            .order(d::next_attempt_at)
            .limit(BATCH)
            .select(d::id)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A lease value of this call alone: another instance leasing the same rows at
        // the same moment re-checks the condition after this one commits, and loses.
        let mark = now + LEASE_MS + i64::from(rand::random::<u16>() % 1000);
        diesel::update(
            d::table
                .filter(d::id.eq_any(&ids))
                .filter(d::leased_until.is_null().or(d::leased_until.lt(now))),
        )
        .set(d::leased_until.eq(mark))
        .execute(conn)?;
        let rows: Vec<(i64, i64, String, String, i64, String, String)> = d::table
            .inner_join(webhooks::table)
            .filter(d::id.eq_any(&ids))
            .filter(d::leased_until.eq(mark))
            .select((
                d::id,
                d::webhook_id,
                d::event,
                d::payload,
                d::attempts,
                webhooks::url,
                webhooks::secret,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, webhook_id, event, payload, attempts, url, sealed)| Due {
                    id,
                    mark,
                    webhook_id,
                    event,
                    payload,
                    attempts,
                    url,
                    sealed,
                },
            )
            .collect())
    })
}

/// One attempt: `(id, attempts so far, status, error)`.
async fn send(alerts: &Alerts, due: Due) -> Outcome {
    let attempts = due.attempts + 1;
    let secret = match alerts
        .sealer
        .open(&due.sealed, &due.webhook_id.to_be_bytes())
    {
        Ok(s) => s,
        Err(_) => {
            return (
                due.id,
                due.mark,
                attempts,
                None,
                Some("the signing secret does not open".into()),
            );
        }
    };
    let t = now_ms() / 1000;
    let client = match alerts.outbound.client(&crate::outbound::Tls::default()) {
        Ok(c) => c,
        Err(e) => {
            return (
                due.id,
                due.mark,
                attempts,
                None,
                Some(super::webhook_words(&e)),
            );
        }
    };
    let request = client
        .post(&due.url)
        .header("content-type", "application/json")
        .header("portcullis-event", &due.event)
        .header("portcullis-delivery", due.id.to_string())
        .header(
            "portcullis-signature",
            signature(&secret, t, due.payload.as_bytes()),
        )
        .body(due.payload);
    match alerts.outbound.send(request).await {
        Ok(res) if res.status().is_success() => (
            due.id,
            due.mark,
            attempts,
            Some(res.status().as_u16().into()),
            None,
        ),
        Ok(res) => {
            let status = res.status();
            (
                due.id,
                due.mark,
                attempts,
                Some(status.as_u16().into()),
                Some(format!("the receiver answered {status}")),
            )
        }
        Err(e) => (
            due.id,
            due.mark,
            attempts,
            None,
            Some(super::webhook_words(&e)),
        ),
    }
}

/// When to try again after `attempts` failed ones: `base` doubled each time, at most
/// an hour.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    base.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

/// Records the outcomes of a batch.
fn record(conn: &mut DbConnection, outcomes: &[Outcome], base: Duration) -> QueryResult<()> {
    let now = now_ms();
    write_transaction(conn, |conn| {
        for (id, mark, attempts, status, error) in outcomes {
            // Only while the lease is still this batch's: a batch that outlived its
            // lease must not overwrite what another worker has since recorded.
            let row = d::table.find(*id).filter(d::leased_until.eq(*mark));
            match error {
                None => {
                    diesel::update(row)
                        .set((
                            d::state.eq("delivered"),
                            d::attempts.eq(attempts),
                            d::last_status.eq(status),
                            d::last_error.eq(None::<String>),
                            d::delivered_at.eq(now),
                            d::leased_until.eq(None::<i64>),
                        ))
                        .execute(conn)?;
                }
                Some(why) => {
                    let state = if *attempts >= MAX_ATTEMPTS {
                        "failed"
                    } else {
                        "pending"
                    };
                    let wait =
                        i64::try_from(backoff(base, *attempts).as_millis()).unwrap_or(i64::MAX);
                    diesel::update(row)
                        .set((
                            d::state.eq(state),
                            d::attempts.eq(attempts),
                            d::last_status.eq(status),
                            d::last_error.eq(why),
                            d::next_attempt_at.eq(now.saturating_add(wait)),
                            d::leased_until.eq(None::<i64>),
                        ))
                        .execute(conn)?;
                }
            }
        }
        Ok(())
    })
}

/// Leases, sends and records one batch of due deliveries; how many were attempted.
pub async fn deliver_due(db: &Db, alerts: &Alerts) -> AppResult<usize> {
    let now = now_ms();
    let due = db
        .run(move |conn| lease(conn, now).map_err(crate::errors::AppError::from))
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let outcomes: Vec<Outcome> =
        futures_util::stream::iter(due.into_iter().map(|d| send(alerts, d)))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
    let n = outcomes.len();
    let base = alerts.retry_base;
    db.run(move |conn| record(conn, &outcomes, base).map_err(crate::errors::AppError::from))
        .await?;
    Ok(n)
}

/// Delivers until the process ends: batch after batch while there are due deliveries,
/// else waiting for a wake-up or a second.
pub async fn run(db: Db, alerts: super::Shared) {
    loop {
        match deliver_due(&db, &alerts).await {
            Ok(0) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), alerts.wake.notified()).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery failed; retrying in a second");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(5);
        assert_eq!(backoff(base, 1), Duration::from_secs(5));
        assert_eq!(backoff(base, 2), Duration::from_secs(10));
        assert_eq!(backoff(base, 4), Duration::from_secs(40));
        assert_eq!(backoff(base, 11), Duration::from_secs(3600));
        assert_eq!(backoff(base, 1000), Duration::from_secs(3600));
    }
}
