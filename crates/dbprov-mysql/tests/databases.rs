//! Databases on the throwaway MariaDB: create, inspect, alter, drop, hostile names.

mod common;

use common::{admin, apply, inspect, literal, name, sql};
use dbprov_core::model::{CatalogRequest, DatabaseSpec};
use dbprov_core::{Engine, NameKind};
use dbprov_testkit::unique_name;

fn request(database: &str) -> CatalogRequest {
    CatalogRequest::default().database(name(NameKind::Database, database), false)
}

#[tokio::test]
async fn create_inspect_alter_and_drop_round_trip() {
    let engine = admin().await;
    let database = unique_name("db");
    let mut spec = DatabaseSpec::new(name(NameKind::Database, &database));
    spec.mysql.charset = Some("latin1".into());
    spec.mysql.collation = Some("latin1_bin".into());

    let plan = engine
        .plan_database(&spec, &inspect(&engine, &request(&database)).await)
        .unwrap();
    assert_eq!(plan.steps.len(), 1);
    apply(&engine, &plan).await;

    let catalog = inspect(&engine, &request(&database)).await;
    let state = catalog.database(&spec.name).expect("the database exists");
    let mysql = state.mysql.as_ref().expect("MySQL state");
    assert_eq!(
        (mysql.charset.as_str(), mysql.collation.as_str()),
        ("latin1", "latin1_bin")
    );
    assert_eq!(
        sql(&format!(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA \
             WHERE SCHEMA_NAME = {}",
            literal(&database)
        ))
        .trim(),
        "latin1\tlatin1_bin"
    );
    assert!(
        engine.plan_database(&spec, &catalog).unwrap().is_empty(),
        "unchanged plans nothing"
    );

    // Changing one attribute plans exactly one statement.
    spec.mysql.collation = Some("latin1_general_ci".into());
    let plan = engine.plan_database(&spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![format!(
            "ALTER DATABASE `{database}` CHARACTER SET 'latin1' COLLATE 'latin1_general_ci'"
        )]
    );
    apply(&engine, &plan).await;
    let catalog = inspect(&engine, &request(&database)).await;
    assert_eq!(
        catalog
            .database(&spec.name)
            .unwrap()
            .mysql
            .as_ref()
            .unwrap()
            .collation,
        "latin1_general_ci"
    );
    assert!(engine.plan_database(&spec, &catalog).unwrap().is_empty());

    let plan = engine.plan_drop_database(&spec.name, &catalog).unwrap();
    assert!(plan.drift[0].destructive);
    apply(&engine, &plan).await;
    let catalog = inspect(&engine, &request(&database)).await;
    assert!(catalog.database(&spec.name).is_none());
    assert!(
        engine
            .plan_drop_database(&spec.name, &catalog)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn hostile_names_are_created_verbatim() {
    let engine = admin().await;
    let suffix = unique_name("h");
    let hostile = [
        format!("q'uote\"{suffix}"),
        format!("back`tick``{suffix}"),
        format!("back\\slash\\{suffix}"),
        format!("100%_{suffix}"),
        format!("x'; DROP DATABASE mysql; -- {suffix}"),
        format!("ünïcødé ☃ {suffix}"),
        format!("{}{suffix}", "ü".repeat(64 - suffix.chars().count())),
    ];
    for database in &hostile {
        let spec = DatabaseSpec::new(name(NameKind::Database, database));
        let plan = engine
            .plan_database(&spec, &inspect(&engine, &request(database)).await)
            .unwrap();
        apply(&engine, &plan).await;
        let catalog = inspect(&engine, &request(database)).await;
        assert!(catalog.database(&spec.name).is_some(), "{database:?} round-trips");
        let listed = sql(&format!(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
            literal(database)
        ));
        assert_eq!(listed.trim_end_matches('\n'), database, "created verbatim");
    }
    assert_eq!(
        sql("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'mysql'").trim(),
        "1",
        "nothing was executed from a name"
    );
    for database in &hostile {
        let catalog = inspect(&engine, &request(database)).await;
        let plan = engine
            .plan_drop_database(&name(NameKind::Database, database), &catalog)
            .unwrap();
        apply(&engine, &plan).await;
        assert_eq!(
            sql(&format!(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {}",
                literal(database)
            ))
            .trim(),
            "0"
        );
    }
}

#[tokio::test]
async fn impossible_names_are_rejected_before_any_sql() {
    let engine = admin().await;
    for (database, reason) in [
        ("x".repeat(200), "is 200 characters long"),
        ("trailing ".to_owned(), "ends with whitespace"),
        ("trailing\t".to_owned(), "ends with whitespace"),
        ("#mysql50#old".to_owned(), "reserves its prefix"),
        ("-".repeat(60), "too long for a file name"),
        ("emoji 😀".to_owned(), "Basic Multilingual Plane"),
    ] {
        let spec = DatabaseSpec::new(name(NameKind::Database, &database));
        let error = engine
            .plan_database(&spec, &Default::default())
            .expect_err("the name must be rejected");
        assert_eq!(error.kind(), "InvalidName");
        assert!(error.to_string().contains(reason), "{error}");
    }
}
