//! The runner's behaviour, written once and run on PostgreSQL, MariaDB and SQLite: golang-migrate's state
//! transitions (up, down, goto, force), dirty handling, taking over a golang-migrate table, and the example
//! migrations.

mod common;

use common::{Engine, TestDatabase, example_directory, source};
use dbprov_migrate::{DatabaseVersion, Direction, DriverError, RunError, Source};

/// Three migrations every engine accepts; version 3 has no down file.
fn three_migrations() -> Source {
    source(&[
        ("1_create_t1.up.sql", "CREATE TABLE t1 (id INTEGER PRIMARY KEY);"),
        ("1_create_t1.down.sql", "DROP TABLE t1;"),
        (
            "2_create_t2.up.sql",
            "CREATE TABLE t2 (id INTEGER PRIMARY KEY);\nINSERT INTO t2 (id) VALUES (42);",
        ),
        ("2_create_t2.down.sql", "DROP TABLE t2;"),
        (
            "3_add_t3.up.sql",
            "CREATE TABLE IF NOT EXISTS t3 (id INTEGER PRIMARY KEY);",
        ),
    ])
}

fn version(version: Option<u64>, dirty: bool) -> DatabaseVersion {
    DatabaseVersion { version, dirty }
}

async fn up_down_goto_force(engine: Engine) {
    let db = TestDatabase::new(engine, "updown");
    let mut migrator = db.migrator(three_migrations()).await;

    assert_eq!(migrator.version().await.unwrap(), version(None, false));
    assert_eq!(
        db.version_rows("schema_migrations").await,
        vec![],
        "a new table is empty"
    );

    let one = migrator.up(Some(1)).await.unwrap();
    assert_eq!(one.applied.len(), 1);
    assert_eq!(
        one.applied[0].to_string().split(' ').take(2).collect::<Vec<_>>(),
        ["1/u", "create_t1"]
    );
    assert!(db.table_exists("t1").await && !db.table_exists("t2").await);
    assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);

    let rest = migrator.up(None).await.unwrap();
    assert_eq!(
        rest.applied.iter().map(|s| s.version).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(rest.end_version(), Some(3));
    assert_eq!(db.sql("SELECT id FROM t2").await, "42");
    assert_eq!(db.version_rows("schema_migrations").await, vec![(3, false)]);

    let again = migrator.up(None).await.unwrap();
    assert!(again.no_change && again.applied.is_empty());
    let error = migrator.up(Some(1)).await.unwrap_err();
    assert!(matches!(error, RunError::NothingToApply { .. }), "{error}");
    assert!(error.to_string().starts_with("file does not exist"), "{error}");

    // Version 3 has no down file: the step still records version 2.
    let down = migrator.down(Some(1)).await.unwrap();
    assert_eq!(down.applied[0].identifier, "<empty>");
    assert_eq!(down.applied[0].direction, Direction::Down);
    assert!(db.table_exists("t3").await, "no down file, nothing ran");
    assert_eq!(db.version_rows("schema_migrations").await, vec![(2, false)]);

    migrator.goto(1).await.unwrap();
    assert!(!db.table_exists("t2").await);
    assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    migrator.goto(3).await.unwrap();
    assert_eq!(db.version_rows("schema_migrations").await, vec![(3, false)]);
    assert!(migrator.goto(3).await.unwrap().no_change);
    assert!(matches!(
        migrator.goto(9).await.unwrap_err(),
        RunError::VersionNotInSource { version: 9, .. }
    ));

    let all = migrator.down_all().await.unwrap();
    assert_eq!(
        all.applied.iter().map(|s| s.target).collect::<Vec<_>>(),
        vec![Some(2), Some(1), None]
    );
    assert!(!db.table_exists("t1").await && !db.table_exists("t2").await);
    assert_eq!(
        db.version_rows("schema_migrations").await,
        vec![],
        "no version is an empty table"
    );
    assert!(migrator.down(None).await.unwrap().no_change);
    assert!(matches!(
        migrator.down(Some(1)).await.unwrap_err(),
        RunError::NothingToApply { .. }
    ));

    // force records a version without running anything and ignores the source.
    migrator.force(2).await.unwrap();
    assert_eq!(db.version_rows("schema_migrations").await, vec![(2, false)]);
    assert!(!db.table_exists("t1").await);
    migrator.force(-1).await.unwrap();
    assert_eq!(db.version_rows("schema_migrations").await, vec![]);
    assert_eq!(
        migrator.force(-2).await.unwrap_err().to_string(),
        "version must be >= -1, got -2"
    );

    // Asking for more than there is applies what exists, then reports the shortfall.
    let error = migrator.up(Some(5)).await.unwrap_err();
    assert_eq!(error.to_string(), "limit 2 short");
    assert_eq!(error.report().unwrap().applied.len(), 3);
    assert_eq!(db.version_rows("schema_migrations").await, vec![(3, false)]);
    migrator.close().await.unwrap();
}

async fn failed_up_leaves_dirty_until_forced(engine: Engine) {
    let db = TestDatabase::new(engine, "dirtyup");
    let broken = source(&[
        ("1_ok.up.sql", "CREATE TABLE t1 (id INTEGER PRIMARY KEY);"),
        (
            "2_broken.up.sql",
            "CREATE TABLE t2 (id INTEGER PRIMARY KEY);\nCREATE TABLEE oops (id INTEGER);",
        ),
        ("3_later.up.sql", "CREATE TABLE t3 (id INTEGER PRIMARY KEY);"),
    ]);
    let mut migrator = db.migrator(broken).await;
    let error = migrator.up(None).await.unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("migration failed: "), "{message}");
    assert!(
        message.contains("2_broken.up.sql") && message.contains("(version 2)"),
        "{message}"
    );
    assert!(!message.contains(&db.url()), "{message}");
    let RunError::Failed(failed) = &error else {
        panic!("{error:?}")
    };
    let DriverError::Migration(migration) = &failed.error else {
        panic!("{:?}", failed.error)
    };
    assert_eq!(migration.version, 2);
    assert_eq!(
        failed.report.applied.len(),
        1,
        "version 1 completed before the failure"
    );
    assert_eq!(error.kind(), "MigrationFailed");
    assert_eq!(db.version_rows("schema_migrations").await, vec![(2, true)]);
    assert!(!db.table_exists("t3").await);

    for attempt in [
        migrator.up(None).await,
        migrator.down(None).await,
        migrator.goto(1).await,
    ] {
        let error = attempt.unwrap_err();
        assert_eq!(
            error.to_string(),
            "Dirty database version 2. Fix and force version."
        );
    }
    assert_eq!(migrator.version().await.unwrap(), version(Some(2), true));
    drop(migrator);

    // The operator fixes the file, forces the last good version and runs again.
    let fixed = source(&[
        ("1_ok.up.sql", "CREATE TABLE t1 (id INTEGER PRIMARY KEY);"),
        ("2_broken.up.sql", "CREATE TABLE t2b (id INTEGER PRIMARY KEY);"),
        ("3_later.up.sql", "CREATE TABLE t3 (id INTEGER PRIMARY KEY);"),
    ]);
    let mut migrator = db.migrator(fixed).await;
    migrator.force(1).await.unwrap();
    assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
    let report = migrator.up(None).await.unwrap();
    assert_eq!(report.applied.len(), 2);
    assert_eq!(db.version_rows("schema_migrations").await, vec![(3, false)]);
}

async fn failed_down_records_the_previous_version(engine: Engine) {
    let db = TestDatabase::new(engine, "dirtydown");
    let files = source(&[
        ("1_a.up.sql", "CREATE TABLE t1 (id INTEGER PRIMARY KEY);"),
        ("1_a.down.sql", "DROP TABLE no_such_table_here;"),
        ("2_b.up.sql", "CREATE TABLE t2 (id INTEGER PRIMARY KEY);"),
        ("2_b.down.sql", "DROP TABLE no_such_table_either;"),
    ]);
    let mut migrator = db.migrator(files).await;
    migrator.up(None).await.unwrap();
    migrator.down(Some(1)).await.unwrap_err();
    // golang-migrate marks the *target* of a down migration dirty.
    assert_eq!(db.version_rows("schema_migrations").await, vec![(1, true)]);

    migrator.force(1).await.unwrap();
    migrator.down(None).await.unwrap_err();
    // Rolling back the first migration writes (-1, dirty) before it runs.
    assert_eq!(db.version_rows("schema_migrations").await, vec![(-1, true)]);
    assert_eq!(migrator.version().await.unwrap(), version(None, true));
    assert_eq!(
        migrator.up(None).await.unwrap_err().to_string(),
        "Dirty database version -1. Fix and force version."
    );
    migrator.force(-1).await.unwrap();
    assert_eq!(db.version_rows("schema_migrations").await, vec![]);
}

async fn takes_over_a_golang_migrate_table(engine: Engine) {
    let db = TestDatabase::new(engine, "takeover");
    db.sql("CREATE TABLE t1 (id INTEGER PRIMARY KEY)").await;
    db.create_golang_migrate_table("schema_migrations", 1, false)
        .await;
    let mut migrator = db.migrator(three_migrations()).await;
    assert_eq!(migrator.version().await.unwrap(), version(Some(1), false));
    let report = migrator.up(None).await.unwrap();
    assert_eq!(report.start, version(Some(1), false));
    assert_eq!(
        report.applied.iter().map(|s| s.version).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(db.version_rows("schema_migrations").await, vec![(3, false)]);
}

async fn refuses_a_dirty_golang_migrate_table(engine: Engine) {
    let db = TestDatabase::new(engine, "takedirty");
    db.create_golang_migrate_table("schema_migrations", 2, true).await;
    let mut migrator = db.migrator(three_migrations()).await;
    assert_eq!(
        migrator.up(None).await.unwrap_err().to_string(),
        "Dirty database version 2. Fix and force version."
    );
    assert_eq!(
        db.version_rows("schema_migrations").await,
        vec![(2, true)],
        "nothing was written"
    );
}

async fn a_version_missing_from_the_source_is_an_error(engine: Engine) {
    let db = TestDatabase::new(engine, "missing");
    db.create_golang_migrate_table("schema_migrations", 7, false)
        .await;
    let mut migrator = db.migrator(three_migrations()).await;
    let error = migrator.up(None).await.unwrap_err();
    assert!(
        matches!(error, RunError::VersionNotInSource { version: 7, .. }),
        "{error}"
    );
    assert!(
        error.to_string().starts_with("no migration found for version 7"),
        "{error}"
    );
}

async fn custom_migrations_table(engine: Engine) {
    let db = TestDatabase::new(engine, "customtab");
    let mut migrator = db
        .migrator_with("x-migrations-table=app_versions", three_migrations())
        .await;
    migrator.up(Some(2)).await.unwrap();
    assert_eq!(db.version_rows("app_versions").await, vec![(2, false)]);
    assert!(!db.table_exists("schema_migrations").await);
}

async fn stop_after_the_current_migration(engine: Engine) {
    let db = TestDatabase::new(engine, "stop");
    let stopped = std::sync::Arc::new(std::sync::Mutex::new(None));
    let migrator = db.migrator(three_migrations()).await;
    let stop = migrator.stop_handle();
    let seen = stopped.clone();
    let mut migrator = migrator.with_progress(move |event: dbprov_migrate::ProgressEvent<'_>| {
        if let dbprov_migrate::ProgressEvent::Finished(step) = event {
            *seen.lock().unwrap() = Some(step.version);
            stop.request_stop();
        }
    });
    let report = migrator.up(None).await.unwrap();
    assert!(report.stopped);
    assert_eq!(report.applied.len(), 1);
    assert_eq!(*stopped.lock().unwrap(), Some(1));
    assert_eq!(db.version_rows("schema_migrations").await, vec![(1, false)]);
}

async fn example_migrations_apply_and_roll_back(engine: Engine) {
    let db = TestDatabase::new(engine, "example");
    let source = Source::from_directory(example_directory(engine)).unwrap();
    let mut migrator = db.migrator(source.clone()).await;
    let report = migrator.up(None).await.unwrap();
    assert_eq!(report.end_version(), source.last());
    assert!(db.table_exists("oauth2_clients").await);
    let columns = match engine {
        Engine::Sqlite => db.sql("SELECT name FROM pragma_table_info('oauth2_clients') ORDER BY cid").await,
        Engine::Postgres => db
            .sql("SELECT column_name FROM information_schema.columns WHERE table_name = 'oauth2_clients' ORDER BY ordinal_position")
            .await,
        Engine::MariaDb => db
            .sql(&format!(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = '{}' AND table_name = 'oauth2_clients' ORDER BY ordinal_position",
                db.name
            ))
            .await,
    };
    // The seeds' columns; later migrations (clientdb's) may add more.
    let columns: Vec<&str> = columns.lines().collect();
    for expected in [
        "client_id",
        "client_secret_hash",
        "client_name",
        "grant_types",
        "scopes",
        "redirect_uris",
        "is_active",
        "created_at",
        "updated_at",
        "created_by",
    ] {
        assert!(columns.contains(&expected), "{expected} missing from {columns:?}");
    }
    // The schema accepts what the auth service stores.
    db.sql(
        "INSERT INTO oauth2_clients (client_id, client_secret_hash, client_name, grant_types, scopes, redirect_uris, created_by) \
         VALUES ('svc', '$2a$10$abcdefghijklmnopqrstuv', 'Service', '[\"client_credentials\"]', '[\"read\"]', '[]', 'test')",
    )
    .await;
    assert_eq!(
        db.sql("SELECT count(*) FROM oauth2_clients WHERE is_active")
            .await,
        "1"
    );

    migrator.down_all().await.unwrap();
    assert!(!db.table_exists("oauth2_clients").await);
    assert_eq!(db.version_rows("schema_migrations").await, vec![]);
    // And up again: the down files leave nothing behind that would block a second run.
    migrator.up(None).await.unwrap();
    assert!(db.table_exists("oauth2_clients").await);
}

macro_rules! conformance {
    ($($engine:ident => $value:expr),* $(,)?) => {
        $(
            mod $engine {
                use super::*;

                #[tokio::test]
                async fn up_down_goto_force() {
                    super::up_down_goto_force($value).await;
                }

                #[tokio::test]
                async fn failed_up_leaves_dirty_until_forced() {
                    super::failed_up_leaves_dirty_until_forced($value).await;
                }

                #[tokio::test]
                async fn failed_down_records_the_previous_version() {
                    super::failed_down_records_the_previous_version($value).await;
                }

                #[tokio::test]
                async fn takes_over_a_golang_migrate_table() {
                    super::takes_over_a_golang_migrate_table($value).await;
                }

                #[tokio::test]
                async fn refuses_a_dirty_golang_migrate_table() {
                    super::refuses_a_dirty_golang_migrate_table($value).await;
                }

                #[tokio::test]
                async fn a_version_missing_from_the_source_is_an_error() {
                    super::a_version_missing_from_the_source_is_an_error($value).await;
                }

                #[tokio::test]
                async fn custom_migrations_table() {
                    super::custom_migrations_table($value).await;
                }

                #[tokio::test]
                async fn stop_after_the_current_migration() {
                    super::stop_after_the_current_migration($value).await;
                }

                #[tokio::test]
                async fn example_migrations_apply_and_roll_back() {
                    super::example_migrations_apply_and_roll_back($value).await;
                }
            }
        )*
    };
}

conformance! {
    postgres => Engine::Postgres,
    mariadb => Engine::MariaDb,
    sqlite => Engine::Sqlite,
}
