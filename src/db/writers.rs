//! What SQLite writers of one database share in this process: the queue for its one
//! write lock, and the thread that checkpoints its write-ahead log.
//!
//! SQLite copies the log back into the database file (a checkpoint, with an fsync)
//! inside whichever commit pushes the log past `wal_autocheckpoint` pages, while it
//! still holds the write lock: every writer queued behind it waits too, and that was
//! the write tail (BENCHMARKS.md, "Writes: checkpoints off the commit path"). With the
//! checkpointer running, a commit only marks the log as grown; the thread checkpoints
//! soon after: two `PASSIVE` passes beside readers and writers, then the last few
//! pages while holding the writers' queue, so that the next writer starts the log over.
//! SQLite's own automatic checkpoint stays on at a larger size as the backstop should
//! the thread fall behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// Pages of log after which a commit checkpoints by itself (SQLite's default is 1,000):
/// reached only when the checkpointer falls behind.
pub const AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// How long the checkpointer lets writes gather after the first one it is told of.
const GATHER: Duration = Duration::from_millis(100);

/// Shared by the writers of one database.
#[derive(Default)]
pub struct Writers {
    /// Writers queue here for the write lock, woken in turn, instead of sleeping in
    /// SQLite's busy handler.
    pub lock: Mutex<()>,
    /// Set by a commit, cleared by the checkpointer when it starts a checkpoint.
    grown: AtomicBool,
    /// The checkpointer, once started.
    checkpointer: OnceLock<std::thread::Thread>,
}

impl Writers {
    /// Called after a commit: wakes the checkpointer if it is not already due to run.
    pub fn committed(&self) {
        if let Some(thread) = self.checkpointer.get()
            && !self.grown.swap(true, Ordering::AcqRel)
        {
            thread.unpark();
        }
    }

    /// Starts the checkpointer with a connection of its own (`connect`); it ends soon
    /// after the last handle to `writers` is dropped.
    pub fn start_checkpointer<C>(writers: &Arc<Self>, connect: C) -> std::io::Result<()>
    where
        C: FnOnce() -> Option<crate::db::DbConnection> + Send + 'static,
    {
        let weak = Arc::downgrade(writers);
        let handle = std::thread::Builder::new()
            .name("db-checkpoint".into())
            .spawn(move || {
                if let Some(mut conn) = connect() {
                    checkpoint_while_alive(&weak, &mut conn);
                }
            })?;
        // Only one checkpointer: a second start's thread finds itself not registered.
        let _ = writers.checkpointer.set(handle.thread().clone());
        Ok(())
    }
}

/// The checkpointer's loop: wait to be told of a commit, let more gather, checkpoint.
fn checkpoint_while_alive(writers: &Weak<Writers>, conn: &mut crate::db::DbConnection) {
    loop {
        std::thread::park_timeout(Duration::from_secs(30));
        let Some(shared) = writers.upgrade() else {
            return;
        };
        if shared
            .checkpointer
            .get()
            .is_none_or(|t| t.id() != std::thread::current().id())
        {
            return;
        }
        if !shared.grown.load(Ordering::Acquire) {
            continue;
        }
        drop(shared);
        std::thread::sleep(GATHER);
        if let Some(shared) = writers.upgrade() {
            shared.grown.store(false, Ordering::Release);
        }
        // Copy the bulk beside the writers, twice (the second pass copies only what
        // was committed during the first); then the last few pages while holding the
        // writers' queue, so the log is complete in the database and the next writer
        // starts it over from the beginning instead of letting it grow.
        let started = std::time::Instant::now();
        let passes = (|| {
            checkpoint(conn)?;
            checkpoint(conn)?;
            let Some(shared) = writers.upgrade() else {
                return Ok(None);
            };
            let _turn = shared
                .lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let held = std::time::Instant::now();
            checkpoint(conn).map(|last| Some((last, held.elapsed())))
        })();
        match passes {
            Ok(Some((last, held))) => tracing::debug!(
                log_pages = last.log,
                copied = last.checkpointed,
                total_ms = started.elapsed().as_millis(),
                writers_held_ms = held.as_millis(),
                "checkpoint"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(diesel::QueryableByName)]
struct Checkpoint {
    /// Pages in the log.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    /// Of those, copied into the database.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// A checkpoint that waits for no reader or writer.
fn checkpoint(conn: &mut crate::db::DbConnection) -> diesel::QueryResult<Checkpoint> {
    use diesel::RunQueryDsl;
    diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(conn)
}
