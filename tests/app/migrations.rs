//! Migrations are reversible (up → down → up) and idempotent, on the test backend.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use portcullis::db::{self, Db, DbConnection};

use crate::helpers::TestDb;

diesel::table! {
    /// Diesel's record of the applied migrations.
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

/// A pool of one connection to the test database, migrated once.
fn migrated(test_db: &TestDb) -> Db {
    let pool = Db::connect(&test_db.url, 1).unwrap();
    db::run_migrations(&mut pool.get().unwrap()).unwrap();
    pool
}

#[test]
fn migrations_run_up_down_up() {
    let test_db = TestDb::new();
    let pool = migrated(&test_db);
    let mut conn = pool.get().unwrap();
    conn.batch_execute("SELECT count(*) FROM users").unwrap();
    db::revert_all_migrations(&mut conn).unwrap();
    assert!(
        conn.batch_execute("SELECT count(*) FROM users").is_err(),
        "users table dropped"
    );
    db::run_migrations(&mut conn).unwrap();
    conn.batch_execute("SELECT count(*) FROM users").unwrap();
    // The default namespace always exists after migrating.
    let default = portcullis::environments::find_namespace(&mut conn, "default").unwrap();
    assert!(default.is_some());
}

#[test]
fn migrating_twice_is_a_no_op() {
    let test_db = TestDb::new();
    let pool = migrated(&test_db);
    let mut conn = pool.get().unwrap();
    let applied = |conn: &mut DbConnection| -> Vec<String> {
        __diesel_schema_migrations::table
            .select(__diesel_schema_migrations::version)
            .order(__diesel_schema_migrations::version)
            .load(conn)
            .unwrap()
    };
    let before = applied(&mut conn);
    assert!(!before.is_empty(), "the first run applied the migrations");
    let user =
        portcullis::auth::create_local_user(&mut conn, "survivor", None, false, "test").unwrap();

    db::run_migrations(&mut conn).unwrap();

    assert_eq!(applied(&mut conn), before, "the second run applied nothing");
    let kept = portcullis::auth::find_user_by_name(&mut conn, "survivor").unwrap();
    assert_eq!(kept.map(|u| u.id), Some(user), "rows survive");
    assert!(
        portcullis::environments::find_namespace(&mut conn, "default")
            .unwrap()
            .is_some()
    );
}
