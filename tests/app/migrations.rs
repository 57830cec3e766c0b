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

/// Reverts the newest migration.
/// Reverts migrations, newest first, down to and including `version` (`yyyymmddnnnnnn`).
fn revert_through(conn: &mut DbConnection, version: &str) {
    use diesel_migrations::MigrationHarness;
    loop {
        let source = db::migrations::embedded(conn.dialect()).unwrap();
        let reverted = match conn {
            DbConnection::Sqlite(c) => c.revert_last_migration(source),
            DbConnection::Postgresql(c) => c.revert_last_migration(source),
        }
        .unwrap()
        .to_string();
        if reverted == version {
            return;
        }
        assert!(
            reverted.as_str() > version,
            "went past {version}: {reverted}"
        );
    }
}

/// Runs `sql`, saying whether the database took it.
fn takes(conn: &mut DbConnection, sql: &str) -> bool {
    conn.batch_execute(sql).is_ok()
}

fn count(conn: &mut DbConnection, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

const ACCOUNT_IN: &str = "INSERT INTO service_accounts (name, namespace_id, created_by, \
    created_at, updated_at) SELECT 'ci', id, 't', 0, 0 FROM namespaces WHERE name = ";
const CONNECTOR_IN: &str = "INSERT INTO connectors (name, namespace_id, connector_type, \
    auth_method, resource_types, configuration, secrets, labels, created_by, created_at, \
    updated_at) SELECT 'hub', id, 'aws', 'secret-key', '[]', '{}', '', '{}', 't', 0, 0 \
    FROM namespaces WHERE name = ";

#[test]
fn names_become_unique_per_namespace_and_every_row_survives() {
    let test_db = TestDb::new();
    let pool = migrated(&test_db);
    let mut conn = pool.get().unwrap();
    // Back before the change, with data of the old shape: an account with a key, a
    // connector with a resource row, and a deleted connector's id (never to be reused).
    revert_through(&mut conn, "20261130020000");
    let seed = format!(
        "INSERT INTO namespaces (name, description, created_at) VALUES ('team-a', '', 0);
         {ACCOUNT_IN} 'default';
         INSERT INTO api_keys (service_account_id, name, key_id, secret_hash, display, created_at)
             SELECT id, 'k', 'kid', 'h', 'd', 0 FROM service_accounts;
         {CONNECTOR_IN} 'default';
         INSERT INTO connector_resources (connector_id, resource_type, origin, checked_at)
             SELECT id, 's3-bucket', 'declared', 0 FROM connectors;
         INSERT INTO connectors (name, namespace_id, connector_type, auth_method,
             resource_types, configuration, secrets, labels, created_by, created_at, updated_at)
             SELECT 'gone', id, 'aws', 'secret-key', '[]', '{{}}', '', '{{}}', 't', 0, 0
             FROM namespaces WHERE name = 'default';
         DELETE FROM connectors WHERE name = 'gone';"
    );
    conn.batch_execute(&seed).unwrap();
    assert!(
        !takes(&mut conn, &format!("{ACCOUNT_IN} 'team-a'")),
        "unique server-wide before"
    );

    db::run_migrations(&mut conn).unwrap();

    for (table, rows) in [
        ("service_accounts", 1),
        ("api_keys", 1),
        ("connector_resources", 1),
    ] {
        assert_eq!(count(&mut conn, table), rows, "{table}");
    }
    assert!(takes(&mut conn, &format!("{ACCOUNT_IN} 'team-a'")));
    assert!(takes(&mut conn, &format!("{CONNECTOR_IN} 'team-a'")));
    assert!(
        !takes(&mut conn, &format!("{ACCOUNT_IN} 'team-a'")),
        "unique per namespace"
    );
    assert!(!takes(&mut conn, &format!("{CONNECTOR_IN} 'team-a'")));
    // The new connector's id is above the deleted one's.
    let ids = diesel::sql_query("SELECT max(id) AS n FROM connectors")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    assert_eq!(ids, 3, "ids are never reused");
    // Foreign keys still hold and cascade.
    conn.batch_execute("DELETE FROM service_accounts WHERE namespace_id = 1")
        .unwrap();
    assert_eq!(count(&mut conn, "api_keys"), 0);
    conn.batch_execute("DELETE FROM connectors WHERE namespace_id = 1")
        .unwrap();
    assert_eq!(count(&mut conn, "connector_resources"), 0);
    assert!(!takes(
        &mut conn,
        "INSERT INTO api_keys (service_account_id, name, key_id, secret_hash, display, \
         created_at) VALUES (999, 'x', 'y', 'h', 'd', 0)"
    ));
}
