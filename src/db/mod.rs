//! Database access: one `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool, the
//! migrations (written once, rendered per dialect), and [`Db::run`] to call synchronous
//! diesel code off the async workers.

mod manager;
pub mod migrations;
pub mod schema;
mod workers;
mod writers;

pub use manager::Manager;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, MultiConnection};
use diesel_migrations::MigrationHarness;

use crate::config::DatabaseUrl;

/// Serialises concurrent migrations of several instances sharing one PostgreSQL.
const MIGRATION_LOCK_ID: i64 = 0x706f_7274_6375_6c6c;

/// Which SQL dialect a connection speaks (where SQL text differs by backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection to either backend.
#[derive(MultiConnection)]
pub enum DbConnection {
    /// SQLite (the embedded default).
    Sqlite(SqliteConnection),
    /// PostgreSQL (several instances may share it).
    Postgresql(PgConnection),
}

impl DbConnection {
    /// The SQL dialect of this connection.
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(_) => Dialect::Sqlite,
            Self::Postgresql(_) => Dialect::Postgres,
        }
    }
}

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had in time.
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::PoolError),
    /// A query failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    /// The blocking task could not run or panicked.
    #[error("database task failed: {0}")]
    Blocking(anyhow::Error),
}

/// The pool plus what callers need to know about the backend.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    dialect: Dialect,
    /// Opens connections (the pool's; the checkpointer's own).
    manager: Manager,
    /// SQLite: read-only connections for [`Db::read`] (see [`Db::with_readers`]).
    readers: Option<Pool<Manager>>,
    /// The thread that opens and closes the pools' connections.
    pool_thread: std::sync::Arc<scheduled_thread_pool::ScheduledThreadPool>,
    /// SQLite's writers in this process: the queue for the write lock, the checkpointer.
    writers: std::sync::Arc<writers::Writers>,
    /// The threads database work runs on (one per connection).
    workers: workers::Workers,
}

thread_local! {
    /// The write lock of the [`Db`] whose work this thread is running (see
    /// [`Db::writing`]); `write_transaction` takes it around a SQLite write.
    static WRITERS: std::cell::RefCell<Option<std::sync::Arc<writers::Writers>>> =
        const { std::cell::RefCell::new(None) };
}

impl Db {
    /// Builds a pool and checks that one connection can be opened.
    pub fn connect(url: &DatabaseUrl, size: u32) -> Result<Self, DbError> {
        let db = Self::connect_lazily(url, size);
        db.pool.get()?;
        Ok(db)
    }

    /// Builds a pool without connecting (connections are opened on first use).
    pub fn connect_lazily(url: &DatabaseUrl, size: u32) -> Self {
        let dialect = match url {
            DatabaseUrl::Sqlite(_) => Dialect::Sqlite,
            DatabaseUrl::Postgres(_) => Dialect::Postgres,
        };
        let manager = Manager {
            target: url.clone(),
            read_only: false,
        };
        let pool_thread = std::sync::Arc::new(
            scheduled_thread_pool::ScheduledThreadPool::builder()
                .num_threads(1)
                .thread_name_pattern("db-pool-{}")
                .build(),
        );
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .test_on_check_out(false)
            .thread_pool(pool_thread.clone())
            .build_unchecked(manager.clone());
        Self {
            pool,
            dialect,
            manager,
            readers: None,
            pool_thread,
            writers: Default::default(),
            workers: workers::Workers::start(size, "db"),
        }
    }

    /// SQLite: keeps `n` read-only connections open for [`Db::read`] (one per thread
    /// that serves requests is enough: each runs one read at a time). Nothing on
    /// PostgreSQL.
    pub fn with_readers(mut self, n: u32) -> Self {
        if self.dialect == Dialect::Sqlite && n > 0 {
            let manager = Manager {
                read_only: true,
                ..self.manager.clone()
            };
            self.readers = Some(
                Pool::builder()
                    .max_size(n)
                    .min_idle(Some(n))
                    .connection_timeout(Duration::from_secs(5))
                    .test_on_check_out(false)
                    .thread_pool(self.pool_thread.clone())
                    .build_unchecked(manager),
            );
        }
        self
    }

    /// SQLite: checkpoints the write-ahead log on a thread of its own from now on, not
    /// inside commits (see `writers`). Nothing to do on PostgreSQL.
    pub fn checkpoint_in_background(&self) -> std::io::Result<()> {
        if self.dialect != Dialect::Sqlite {
            return Ok(());
        }
        let manager = self.manager.clone();
        writers::Writers::start_checkpointer(&self.writers, move || match manager.connect() {
            Ok(conn) => Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "no connection for the checkpointer");
                None
            }
        })
    }

    /// Runs `f` (on this thread) with this database's in-process write lock in reach of
    /// [`write_transaction`].
    pub fn writing<T>(&self, f: impl FnOnce() -> T) -> T {
        let previous = WRITERS.with(|l| l.replace(Some(self.writers.clone())));
        let out = f();
        WRITERS.with(|l| *l.borrow_mut() = previous);
        out
    }

    /// The backend's SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A connection for synchronous code (CLI, start-up, tests).
    pub fn get(&self) -> Result<PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` with a pooled connection on one of the database threads.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        self.workers
            .run(move || {
                db.writing(|| {
                    let mut conn = db.pool.get().map_err(DbError::from)?;
                    f(&mut conn)
                })
            })
            .await
            .unwrap_or_else(|| {
                let e = anyhow::anyhow!("the database work failed (see the log)");
                Err(E::from(DbError::Blocking(e)))
            })
    }

    /// Runs `f`, a short read. On SQLite, with one of the read-only connections idle, it
    /// runs right here on the calling thread: the handoff to a database thread and back
    /// cost more than a page of rows on a 2-core machine (BENCHMARKS.md, "Close to the
    /// machine's limit"). Those connections are opened read-only, so a write in `f`
    /// fails rather than run beside the writers' queue. Otherwise, and on PostgreSQL
    /// (whose queries wait on the network), it is [`Db::run`].
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        if let Some(mut conn) = self.readers.as_ref().and_then(Pool::try_get) {
            let out = catch_unwind(AssertUnwindSafe(|| f(&mut conn)));
            return out.unwrap_or_else(|_| {
                let e = anyhow::anyhow!("the database read failed (see the log)");
                Err(E::from(DbError::Blocking(e)))
            });
        }
        self.run(f).await
    }

    /// Whether the database answers a trivial query within a second.
    pub async fn ping(&self) -> bool {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get_timeout(Duration::from_secs(1))?;
            conn.batch_execute("SELECT 1").map_err(DbError::from)
        })
        .await
        .is_ok_and(|r| r.is_ok())
    }
}

/// Applies every pending migration.
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    let source = migrations::embedded(conn.dialect()).map_err(anyhow::Error::msg)?;
    match conn {
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(source)
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        }
        DbConnection::Postgresql(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
            let result = c
                .run_pending_migrations(source)
                .map(|_| ())
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
            result?;
        }
    }
    Ok(())
}

/// Reverts every applied migration (used by the migration round-trip test).
pub fn revert_all_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    let source = migrations::embedded(conn.dialect()).map_err(anyhow::Error::msg)?;
    match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(source),
        DbConnection::Postgresql(c) => c.revert_all_migrations(source),
    }
    .map(|_| ())
    .map_err(|e| anyhow::anyhow!("revert failed: {e}"))
}

/// Milliseconds since the Unix epoch, the unit of every time column.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats a stored time as RFC 3339 UTC (`2026-11-23T10:00:00Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// A stored time that serializes as RFC 3339 UTC, written straight into the output (no
/// string of its own): what JSON lists use, where [`rfc3339`] would allocate per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339(pub i64);

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::{Datelike, Timelike};
        match chrono::DateTime::from_timestamp_millis(self.0) {
            Some(t) if (0..=9999).contains(&t.year()) => {
                // `YYYY-MM-DDTHH:MM:SSZ`, digit by digit (`write!` with widths costs
                // several times more, and lists write five of these per row).
                let mut out = *b"0000-00-00T00:00:00Z";
                let year = t.year().unsigned_abs();
                let digits = |out: &mut [u8; 20], at: usize, value: u32| {
                    out[at] = b'0' + (value / 10 % 10) as u8;
                    out[at + 1] = b'0' + (value % 10) as u8;
                };
                digits(&mut out, 0, year / 100);
                digits(&mut out, 2, year);
                digits(&mut out, 5, t.month());
                digits(&mut out, 8, t.day());
                digits(&mut out, 11, t.hour());
                digits(&mut out, 14, t.minute());
                digits(&mut out, 17, t.second());
                f.write_str(std::str::from_utf8(&out).map_err(|_| std::fmt::Error)?)
            }
            _ => f.write_str(&rfc3339(self.0)),
        }
    }
}

impl serde::Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The backend type of [`DbConnection`] (diesel's generated multi-backend).
pub type DbBackend = <DbConnection as Connection>::Backend;

/// A constant SQL expression of type `ST` over known columns — a column with a
/// `COLLATE` clause for ordering ([`ConstExpr`]), or a portable `SUM` cast
/// ([`ConstAggregate`]) — as a query fragment that keeps statements cacheable, unlike
/// `diesel::dsl::sql`, which marks every statement it appears in as not preparable.
/// `A` says whether it aggregates.
#[derive(Debug)]
pub struct ConstSql<ST, A> {
    sql: &'static str,
    _type: std::marker::PhantomData<fn() -> (ST, A)>,
}

impl<ST, A> Clone for ConstSql<ST, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<ST, A> Copy for ConstSql<ST, A> {}

/// A constant, non-aggregate SQL expression.
pub type ConstExpr<ST> = ConstSql<ST, diesel::expression::is_aggregate::No>;
/// A constant SQL aggregate expression.
pub type ConstAggregate<ST> = ConstSql<ST, diesel::expression::is_aggregate::Yes>;

impl<ST, A> ConstSql<ST, A> {
    /// `sql` must be a constant expression over known columns (never user input).
    pub const fn new(sql: &'static str) -> Self {
        Self {
            sql,
            _type: std::marker::PhantomData,
        }
    }
}

impl<ST, A> diesel::Expression for ConstSql<ST, A>
where
    ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
{
    type SqlType = ST;
}

impl<ST, A, QS> diesel::expression::AppearsOnTable<QS> for ConstSql<ST, A> where
    Self: diesel::Expression
{
}

impl<ST, A, QS> diesel::expression::SelectableExpression<QS> for ConstSql<ST, A> where
    Self: diesel::Expression
{
}

impl<ST, A> diesel::expression::ValidGrouping<()> for ConstSql<ST, A> {
    type IsAggregate = A;
}

impl<ST, A> diesel::query_builder::QueryId for ConstSql<ST, A> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, A, DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB>
    for ConstSql<ST, A>
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> diesel::QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

/// Runs `f` in a transaction that may write. On SQLite the outermost one starts with
/// `BEGIN IMMEDIATE`: a deferred transaction that reads before it writes cannot wait
/// for another writer (SQLite answers "database is locked" at once instead of using
/// the busy timeout), so every write transaction takes the write lock up front and
/// queues behind the busy timeout. Nested calls are savepoints; PostgreSQL is unchanged.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    let outermost = Manager::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_none();
    // SQLite: wait in this process's queue for the database's one write lock (a
    // poisoned lock still serialises: what panicked rolled back).
    let queue = match conn {
        DbConnection::Sqlite(_) if outermost => WRITERS.with(|l| l.borrow().clone()),
        _ => None,
    };
    let _turn = queue.as_ref().map(|q| {
        q.lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    });
    match conn {
        DbConnection::Sqlite(inner) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        _ => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            if let Some(writers) = &queue {
                writers.committed();
            }
            Ok(value)
        }
        Err(e) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(e),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
