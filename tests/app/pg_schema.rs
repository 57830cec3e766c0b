//! A PostgreSQL schema made for one test and dropped with it, so that a run on
//! PostgreSQL leaves no schema behind. Shared by the integration and browser suites.

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

/// A schema on the server at `base`; dropped, with everything in it, on drop.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    /// Creates schema `name` on the server at `base` (`TEST_DATABASE_URL`).
    pub fn create(base: &str, name: &str) -> Self {
        let mut conn = PgConnection::establish(base)
            .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL: {e}"));
        conn.batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap_or_else(|e| panic!("cannot create schema {name}: {e}"));
        Self {
            base: base.to_owned(),
            name: name.to_owned(),
        }
    }

    /// A URL whose connections work in this schema.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }
}

impl Drop for PgSchema {
    /// Drops the schema over a connection of its own. Never panics (this may run while a
    /// failed test unwinds): a schema that cannot be dropped is reported on stderr. The
    /// lock timeout keeps a connection left inside a transaction from hanging the run.
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.base)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                conn.batch_execute(&format!(
                    "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {} CASCADE",
                    self.name
                ))
                .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("could not drop the test schema {}: {e}", self.name);
        }
    }
}
