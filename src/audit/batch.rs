//! Group commit for audit events that stand alone (not part of another change's
//! transaction), on SQLite: a request hands its event to one writer thread and waits
//! until it is committed, so the answer still follows the audit record; the writer
//! commits all events waiting at that moment in one transaction. Under concurrent load
//! this keeps the writes from meeting at SQLite's single write lock one by one (and its
//! busy-handler back-off sleeps of 1, 2, 5, 10 ms: the p99 of a busy endpoint). On
//! PostgreSQL, whose writers do not queue on one lock, each event is written directly.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{Event, Outcome, record};
use diesel::QueryResult;

use crate::db::{Db, DbConnection, Dialect, write_transaction};
use crate::errors::{AppError, AppResult};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 256;

/// One audit write, as it crosses to the writer: a closure that records the event on
/// the connection it is given (see [`event`]).
pub type Write = Box<dyn FnOnce(&mut DbConnection) -> QueryResult<()> + Send>;

/// The write of a successful action of the request's caller.
pub fn event(
    actor: &crate::access::Actor,
    action: &'static str,
    (target, namespace): (String, String),
    detail: String,
) -> Write {
    let (who, client) = (actor.name(), actor.client.clone());
    Box::new(move |conn| {
        let event = Event::new(&who, action, &target, Outcome::Success);
        let event = event.from(Some(&client)).detail(Some(&detail));
        record(conn, &event.within(Some(&namespace)))
    })
}

/// The write of a refusal of the request's caller (a 403): what they asked for, and why
/// it was refused.
pub fn refused(actor: &crate::access::Actor, target: String, detail: String) -> Write {
    let (who, client) = (actor.name(), actor.client.clone());
    Box::new(move |conn| {
        let event = Event::new(&who, "request.forbidden", &target, Outcome::Failure);
        record(conn, &event.from(Some(&client)).detail(Some(&detail)))
    })
}

type Ack = oneshot::Sender<Result<(), String>>;

/// The hand-over to the writer thread (SQLite), or direct writes (PostgreSQL).
#[derive(Clone)]
pub struct Batcher {
    queue: Option<mpsc::Sender<(Write, Ack)>>,
    db: Db,
}

impl Batcher {
    /// Starts the writer thread on `db` when it is SQLite.
    pub fn start(db: Db) -> std::io::Result<Self> {
        if db.dialect() != Dialect::Sqlite {
            return Ok(Self { queue: None, db });
        }
        let writer = db.clone();
        let (queue, incoming) = mpsc::channel::<(Write, Ack)>();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                while let Ok(first) = incoming.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match incoming.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                    for (ack, result) in commit(&writer, batch) {
                        let _ = ack.send(result);
                    }
                }
            })?;
        Ok(Self {
            queue: Some(queue),
            db,
        })
    }

    /// Whether events are written directly (PostgreSQL): then a caller already holding
    /// a connection runs the [`Write`] itself, in its own database call.
    pub fn direct(&self) -> bool {
        self.queue.is_none()
    }

    /// Records `event`; returns once it is committed.
    pub async fn record(&self, write: Write) -> AppResult<()> {
        let Some(queue) = &self.queue else {
            return self
                .db
                .run(move |conn| write(conn).map_err(AppError::from))
                .await;
        };
        let (ack, committed) = oneshot::channel();
        queue
            .send((write, ack))
            .map_err(|_| AppError::internal(anyhow::anyhow!("the audit writer stopped")))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AppError::internal(anyhow::anyhow!(
                "audit write failed: {e}"
            ))),
            Err(_) => Err(AppError::internal(anyhow::anyhow!(
                "the audit writer stopped"
            ))),
        }
    }
}

/// Commits a batch in one transaction; the acknowledgements to send.
fn commit(db: &Db, batch: Vec<(Write, Ack)>) -> Vec<(Ack, Result<(), String>)> {
    let (writes, acks): (Vec<Write>, Vec<Ack>) = batch.into_iter().unzip();
    let result = db.writing(|| {
        db.get().map_err(|e| e.to_string()).and_then(|mut conn| {
            write_transaction(&mut conn, |conn| {
                writes.into_iter().try_for_each(|w| w(conn))
            })
            .map_err(|e: diesel::result::Error| e.to_string())
        })
    });
    acks.into_iter().map(|ack| (ack, result.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;

    #[tokio::test]
    async fn concurrent_events_are_all_committed_before_their_callers_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("audit.db"));
        let db = Db::connect(&url, 4).unwrap();
        crate::db::run_migrations(&mut db.get().unwrap()).unwrap();
        let batcher = Batcher::start(db.clone()).unwrap();
        let mut waiting = Vec::new();
        for i in 0..100 {
            let b = batcher.clone();
            waiting.push(tokio::spawn(async move {
                let write: Write = Box::new(move |conn| {
                    let actor = format!("user:u{i}");
                    record(
                        conn,
                        &Event::new(
                            &actor,
                            "connector.credentials",
                            "connector:c",
                            Outcome::Success,
                        ),
                    )
                });
                b.record(write).await
            }));
        }
        for w in waiting {
            w.await.unwrap().unwrap();
        }
        let stored = super::super::list_recent(&mut db.get().unwrap(), 1000).unwrap();
        let ours = stored
            .iter()
            .filter(|e| e.action == "connector.credentials")
            .count();
        assert_eq!(ours, 100);
    }
}
