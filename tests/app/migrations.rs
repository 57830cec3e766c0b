//! Migrations are reversible: up → down → up on the test backend.

use diesel::connection::SimpleConnection;
use portcullis::db::{self, Db};

use crate::helpers::TestDb;

#[test]
fn migrations_run_up_down_up() {
    let test_db = TestDb::new();
    let pool = Db::connect(&test_db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
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
    let pool = Db::connect(&test_db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    db::run_migrations(&mut conn).unwrap();
    db::run_migrations(&mut conn).unwrap();
}
