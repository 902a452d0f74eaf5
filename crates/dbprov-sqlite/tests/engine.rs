//! The SQLite engine against real database files, verified with the `sqlite3` command-line shell.

use std::path::Path;
use std::process::Command;

use dbprov_core::model::{CatalogRequest, DatabaseSpec, DropRoleOptions, RoleSpec};
use dbprov_core::{ConnectionSpec, Engine, EngineError, ErrorCategory, Name, NameKind};
use dbprov_sqlite::SqliteEngine;

fn sqlite3(path: &Path, sql: &str) -> String {
    dbprov_testkit::ensure_debian_packages(|| Path::new("/usr/bin/sqlite3").exists(), &["sqlite3"]);
    let output = Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .output()
        .expect("run sqlite3");
    assert!(
        output.status.success(),
        "sqlite3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn name(value: &str) -> Name {
    Name::parse(NameKind::Database, value).unwrap()
}

async fn engine(dir: &Path) -> SqliteEngine {
    SqliteEngine::connect(&ConnectionSpec::directory(dir))
        .await
        .unwrap()
}

async fn reconcile(engine: &SqliteEngine, spec: &DatabaseSpec) -> Vec<String> {
    let catalog = engine
        .inspect(&CatalogRequest::default().database(spec.name.clone(), true))
        .await
        .unwrap();
    let plan = engine.plan_database(spec, &catalog).unwrap();
    engine.apply(&plan).await.unwrap();
    plan.statements()
}

#[tokio::test]
async fn create_inspect_and_replan() {
    let dir = dbprov_testkit::sqlite_dir();
    let engine = engine(dir.path()).await;
    assert!(
        engine.server().version.starts_with('3'),
        "{}",
        engine.server().version
    );
    let spec = DatabaseSpec::new(name("client_db"));

    assert_eq!(reconcile(&engine, &spec).await, vec!["PRAGMA journal_mode = WAL"]);
    let file = dir.path().join("client_db.sqlite3");
    assert!(file.exists());
    assert_eq!(sqlite3(&file, "PRAGMA journal_mode"), "wal");

    let catalog = engine
        .inspect(&CatalogRequest::default().database(spec.name.clone(), true))
        .await
        .unwrap();
    let state = catalog.database(&spec.name).unwrap().sqlite.as_ref().unwrap();
    assert_eq!(state.journal_mode, "wal");
    assert_eq!(state.path, file);
    assert_eq!(catalog.queries, 1);
    assert!(
        engine.plan_database(&spec, &catalog).unwrap().is_empty(),
        "an unchanged database plans nothing"
    );
    engine.close().await;
}

#[tokio::test]
async fn journal_mode_drift_is_reported_and_corrected() {
    let dir = dbprov_testkit::sqlite_dir();
    let engine = engine(dir.path()).await;
    let spec = DatabaseSpec::new(name("drifty"));
    reconcile(&engine, &spec).await;
    engine.close().await;
    let file = dir.path().join("drifty.sqlite3");
    assert_eq!(sqlite3(&file, "PRAGMA journal_mode = DELETE"), "delete");

    let catalog = engine
        .inspect(&CatalogRequest::default().database(spec.name.clone(), true))
        .await
        .unwrap();
    let plan = engine.plan_database(&spec, &catalog).unwrap();
    assert_eq!(plan.drift.len(), 1);
    assert_eq!(
        (plan.drift[0].declared.as_str(), plan.drift[0].actual.as_str()),
        ("wal", "delete")
    );
    engine.apply(&plan).await.unwrap();
    engine.close().await;
    assert_eq!(sqlite3(&file, "PRAGMA journal_mode"), "wal");
}

#[tokio::test]
async fn drop_removes_the_file_and_its_companions() {
    let dir = dbprov_testkit::sqlite_dir();
    let engine = engine(dir.path()).await;
    let spec = DatabaseSpec::new(name("doomed"));
    reconcile(&engine, &spec).await;
    let pool = engine.database_pool("doomed").await.unwrap();
    sqlx::raw_sql("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
        .execute(&pool)
        .await
        .unwrap();
    let wal = dir.path().join("doomed.sqlite3-wal");
    assert!(wal.exists(), "WAL mode keeps a -wal file while connected");

    let catalog = engine
        .inspect(&CatalogRequest::default().database(spec.name.clone(), false))
        .await
        .unwrap();
    let plan = engine.plan_drop_database(&spec.name, &catalog).unwrap();
    engine.apply(&plan).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        assert!(
            !dir.path().join(format!("doomed.sqlite3{suffix}")).exists(),
            "{suffix} left behind"
        );
    }
    let catalog = engine
        .inspect(&CatalogRequest::default().database(spec.name.clone(), false))
        .await
        .unwrap();
    assert!(
        engine
            .plan_drop_database(&spec.name, &catalog)
            .unwrap()
            .is_empty(),
        "dropping twice is a no-op"
    );
}

#[tokio::test]
async fn hostile_names_are_files_named_verbatim_or_rejected() {
    let dir = dbprov_testkit::sqlite_dir();
    let engine = engine(dir.path()).await;
    for hostile in [
        "a'b\"c`d",
        "100%_off",
        "back\\slash",
        "ünïcødé ☃",
        "x'; DROP TABLE t; --",
        " padded ",
        "..",
    ] {
        let spec = DatabaseSpec::new(name(hostile));
        reconcile(&engine, &spec).await;
        let file = dir.path().join(format!("{hostile}.sqlite3"));
        assert!(file.exists(), "{hostile:?} was not created verbatim");
        assert_eq!(sqlite3(&file, "PRAGMA journal_mode"), "wal");
    }
    for rejected in ["a/b", &"x".repeat(248)] {
        let spec = DatabaseSpec::new(name(rejected));
        let error = engine.plan_database(&spec, &Default::default()).unwrap_err();
        assert_eq!(error.category(), ErrorCategory::InvalidName, "{error}");
    }
    engine.close().await;
}

#[tokio::test]
async fn users_roles_and_grants_are_unsupported() {
    let dir = dbprov_testkit::sqlite_dir();
    let engine = engine(dir.path()).await;
    let user = RoleSpec::user(Name::parse(NameKind::User, "app").unwrap());
    let error = engine.plan_role(&user, &Default::default()).unwrap_err();
    assert!(matches!(error, EngineError::Unsupported { .. }), "{error}");
    assert_eq!(error.to_string(), "managing user app is not supported by SQLite");
    let error = engine
        .plan_drop_role(&user.name, &DropRoleOptions::default(), &Default::default())
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Unsupported);
    let mut spec = DatabaseSpec::new(name("owned"));
    spec.owner = Some(Name::parse(NameKind::Role, "app").unwrap());
    let error = engine.plan_database(&spec, &Default::default()).unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Unsupported, "{error}");
}

#[tokio::test]
async fn a_host_and_port_is_not_a_sqlite_instance() {
    let error = SqliteEngine::connect(&ConnectionSpec::tcp("localhost", 5432))
        .await
        .err()
        .unwrap();
    assert_eq!(error.category(), ErrorCategory::InvalidSpec, "{error}");
}
