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
use crate::db::{Db, Dialect, write_transaction};
use crate::errors::{AppError, AppResult};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 256;

/// An event with owned fields, as it crosses to the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// Who acted.
    pub actor: String,
    /// What they did.
    pub action: String,
    /// To what.
    pub target: String,
    /// Client address.
    pub client_addr: Option<String>,
    /// Non-secret context.
    pub detail: Option<String>,
}

impl Owned {
    /// A successful action of the request's caller.
    pub fn success(actor: &crate::access::Actor, action: &str, target: &str, detail: &str) -> Self {
        Self {
            actor: actor.name(),
            action: action.into(),
            target: target.into(),
            client_addr: Some(actor.client.clone()),
            detail: Some(detail.into()),
        }
    }

    /// Writes the event on `conn` (see [`Batcher::direct`]).
    pub fn write(&self, conn: &mut crate::db::DbConnection) -> AppResult<()> {
        record(conn, &self.event())?;
        Ok(())
    }

    fn event(&self) -> Event<'_> {
        Event::new(&self.actor, &self.action, &self.target, Outcome::Success)
            .from(self.client_addr.as_deref())
            .detail(self.detail.as_deref())
    }
}

type Ack = oneshot::Sender<Result<(), String>>;

/// The hand-over to the writer thread (SQLite), or direct writes (PostgreSQL).
#[derive(Clone)]
pub struct Batcher {
    queue: Option<mpsc::Sender<(Owned, Ack)>>,
    db: Db,
}

impl Batcher {
    /// Starts the writer thread on `db` when it is SQLite.
    pub fn start(db: Db) -> std::io::Result<Self> {
        if db.dialect() != Dialect::Sqlite {
            return Ok(Self { queue: None, db });
        }
        let writer = db.clone();
        let (queue, incoming) = mpsc::channel::<(Owned, Ack)>();
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
                    let result = commit(&writer, &batch);
                    for (_, ack) in batch {
                        let _ = ack.send(result.clone());
                    }
                }
            })?;
        Ok(Self {
            queue: Some(queue),
            db,
        })
    }

    /// Whether events are written directly (PostgreSQL): then a caller already holding
    /// a connection writes them with [`Owned::write`] in its own database call.
    pub fn direct(&self) -> bool {
        self.queue.is_none()
    }

    /// Records `event`; returns once it is committed.
    pub async fn record(&self, event: Owned) -> AppResult<()> {
        let Some(queue) = &self.queue else {
            return self
                .db
                .run(move |conn| record(conn, &event.event()).map_err(AppError::from))
                .await;
        };
        let (ack, committed) = oneshot::channel();
        queue
            .send((event, ack))
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

/// Commits a batch in one transaction.
fn commit(db: &Db, batch: &[(Owned, Ack)]) -> Result<(), String> {
    let mut conn = db.get().map_err(|e| e.to_string())?;
    write_transaction(&mut conn, |conn| {
        batch.iter().try_for_each(|(e, _)| record(conn, &e.event()))
    })
    .map_err(|e: diesel::result::Error| e.to_string())
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
                let event = Owned {
                    actor: format!("user:u{i}"),
                    action: "connector.credentials".into(),
                    target: "connector:c".into(),
                    client_addr: None,
                    detail: Some(format!("#{i}")),
                };
                b.record(event).await
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
