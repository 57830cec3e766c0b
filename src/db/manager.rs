//! Opening connections: SQLite files (read-write, or read-only for reads in place) and
//! PostgreSQL, chosen by the URL's scheme.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;

use super::{DbConnection, writers};
use crate::config::DatabaseUrl;

/// Opens connections of the backend chosen by URL scheme (diesel's own
/// `establish` would try each backend in turn and hide the real error).
#[derive(Debug, Clone)]
pub struct Manager {
    pub(super) target: DatabaseUrl,
    /// SQLite: open the file read-only.
    pub(super) read_only: bool,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            DatabaseUrl::Sqlite(path) if self.read_only => {
                use std::os::unix::ffi::OsStrExt;
                // A URI filename: `?`, `#` and `%` in the path are escaped.
                const ESCAPED: &percent_encoding::AsciiSet =
                    &percent_encoding::CONTROLS.add(b'?').add(b'#').add(b'%');
                let path = percent_encoding::percent_encode(path.as_os_str().as_bytes(), ESCAPED);
                let mut conn = SqliteConnection::establish(&format!("file:{path}?mode=ro"))
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute("PRAGMA busy_timeout = 5000;")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; NORMAL sync in WAL mode keeps
                // every committed transaction across a process crash.
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                         PRAGMA wal_autocheckpoint = {};",
                    writers::AUTOCHECKPOINT_PAGES
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection whose transaction was left open (a panic inside it) or whose
    /// transaction state is broken is dropped, not reused: it could hold SQLite's write
    /// lock or turn the next transaction into a savepoint that never commits.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        if std::thread::panicking() {
            return true;
        }
        let status =
            <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn);
        !matches!(status.transaction_depth(), Ok(None))
    }
}
