//! Unit tests of the database kernel.
use super::{Rfc3339, rfc3339};
use proptest::prelude::*;

proptest! {
    #[test]
    fn rfc3339_written_in_place_matches_the_string_form(ms in any::<i64>()) {
        prop_assert_eq!(Rfc3339(ms).to_string(), rfc3339(ms));
    }

    #[test]
    fn rfc3339_in_the_usual_years_matches_too(ms in 0i64..253_402_300_800_000) {
        prop_assert_eq!(
            serde_json::to_string(&Rfc3339(ms)).unwrap(),
            serde_json::to_string(&rfc3339(ms)).unwrap()
        );
    }
}

/// A fresh SQLite database with the schema, `readers` read-only connections and, when
/// asked, the checkpointer.
fn sqlite(readers: u32) -> (tempfile::TempDir, super::Db) {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::config::DatabaseUrl::Sqlite(dir.path().join("test.db"));
    let db = super::Db::connect(&url, 2).unwrap();
    super::run_migrations(&mut db.get().unwrap()).unwrap();
    (dir, db.with_readers(readers))
}

/// Pages in the write-ahead log now.
fn log_pages(db: &super::Db) -> i32 {
    #[derive(diesel::QueryableByName)]
    struct Log {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
    }
    diesel::RunQueryDsl::get_result::<Log>(
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)"),
        &mut *db.get().unwrap(),
    )
    .unwrap()
    .log
}

/// Inserts namespaces `ns-{from}`… `ns-{from + rows - 1}`, one transaction each.
async fn write_rows(db: &super::Db, from: usize, rows: usize) {
    for i in from..from + rows {
        db.run(move |conn| {
            super::write_transaction(conn, |conn| {
                diesel::RunQueryDsl::execute(
                    diesel::sql_query(format!(
                        "INSERT INTO namespaces (name, description, created_at, metadata) \
                         VALUES ('ns-{i}', '{}', 0, '{{}}')",
                        "x".repeat(2000)
                    )),
                    conn,
                )
            })
            .map_err(super::DbError::from)
        })
        .await
        .unwrap();
    }
}

#[actix_web::test]
async fn reads_run_in_place_on_read_only_connections() {
    let (_dir, db) = sqlite(1);
    // The reader opens in the background: wait until one is idle.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let here = std::thread::current().id();
    loop {
        let ran_on = db
            .read(|_| Ok::<_, super::DbError>(std::thread::current().id()))
            .await
            .unwrap();
        if ran_on == here {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no reader opened");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let write = db
        .read(|conn| {
            diesel::RunQueryDsl::execute(diesel::sql_query("CREATE TABLE t (a)"), conn)
                .map_err(super::DbError::from)
        })
        .await;
    let message = write.unwrap_err().to_string();
    assert!(message.contains("readonly"), "{message}");
    // A read sees what was committed.
    write_rows(&db, 0, 1).await;
    let names = db
        .read(|conn| {
            use diesel::prelude::*;
            crate::db::schema::namespaces::table
                .select(crate::db::schema::namespaces::name)
                .filter(crate::db::schema::namespaces::name.eq("ns-0"))
                .load::<String>(conn)
                .map_err(super::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(names, ["ns-0"]);
}

#[actix_web::test]
async fn without_readers_a_read_runs_on_a_database_thread() {
    let (_dir, db) = sqlite(0);
    let name = db
        .read(|_| Ok::<_, super::DbError>(std::thread::current().name().map(str::to_owned)))
        .await
        .unwrap();
    assert!(name.is_some_and(|n| n.starts_with("db-")));
}

#[actix_web::test]
async fn the_checkpointer_lets_the_log_start_over() {
    // Without it, every page written stays in the log (the automatic checkpoint waits
    // for 10,000 pages).
    let (_dir, db) = sqlite(0);
    write_rows(&db, 0, 40).await;
    let without = log_pages(&db);
    assert!(without > 40, "{without} pages");

    let (_dir, db) = sqlite(0);
    db.checkpoint_in_background().unwrap();
    write_rows(&db, 0, 40).await;
    // Wait for a checkpoint to complete; the next write then starts the log over.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for next in 40.. {
        std::thread::sleep(std::time::Duration::from_millis(150));
        write_rows(&db, next, 1).await;
        let pages = log_pages(&db);
        if pages < 10 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "log still {pages} pages"
        );
    }
}

#[test]
fn sqlite_is_built_for_one_thread_per_connection_without_memory_statistics() {
    #[derive(diesel::QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        used: i32,
    }
    let (_dir, db) = sqlite(0);
    for option in ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0"] {
        let sql = format!("SELECT sqlite_compileoption_used('{option}') AS used");
        let used: Used =
            diesel::RunQueryDsl::get_result(diesel::sql_query(sql), &mut *db.get().unwrap())
                .unwrap();
        assert_eq!(used.used, 1, "{option} (see .cargo/config.toml)");
    }
}
