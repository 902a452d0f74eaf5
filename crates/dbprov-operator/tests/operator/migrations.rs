//! `DatabaseMigration` with golang-migrate files from a ConfigMap, on a real PostgreSQL server: files run
//! once and are recorded with their checksums; a newer source migrates up; an edited applied file is
//! reported, not re-run; a failing file leaves the database dirty.

use dbprov_api::v1alpha1::DatabaseMigration;
use dbprov_testkit::{postgres, psql, unique_name};
use serde_json::{Value, json};

use crate::support::*;

const CREATE_ITEMS: &str = "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);";

fn migration() -> Value {
    custom(
        "DatabaseMigration",
        "schema",
        json!({"databaseRef": {"name": "app"}, "source": {"configMapRef": {"name": "schema-sql"}}}),
    )
}

fn columns(database: &str) -> String {
    psql(
        postgres(),
        database,
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns \
         WHERE table_name = 'items'",
    )
    .trim()
    .to_owned()
}

fn applied(harness: &Harness) -> Vec<(u64, String, String)> {
    harness.status("DatabaseMigration", "schema")["applied"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    (
                        item["version"].as_u64().unwrap_or_default(),
                        item["name"].as_str().unwrap_or_default().to_owned(),
                        item["checksum"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn config_map_files_are_applied_recorded_and_migrated_up() {
    let harness = Harness::start();
    let database = unique_name("mig");
    postgres_database(&harness, "app", &database).await;
    harness.api.create(config_map(
        "schema-sql",
        json!({"1_create_items.up.sql": CREATE_ITEMS, "1_create_items.down.sql": "DROP TABLE items;"}),
    ));
    harness.api.create(migration());

    let reconciled = harness.reconcile::<DatabaseMigration>("schema").await;
    let status = harness.status("DatabaseMigration", "schema");
    assert_eq!(reconciled.failure, None, "{status:#}");
    let calls = harness.api.take_calls();
    assert_eq!(
        calls[0],
        "PATCH databasemigrations team/schema finalizers=[dbops.dbprovision.io/database-migration]"
    );
    assert!(
        calls.contains(&"GET configmap team/schema-sql".to_owned()),
        "{calls:#?}"
    );
    assert_eq!(columns(&database), "id,name", "the file ran on the server");
    assert_eq!(status["currentVersion"], 1, "{status:#}");
    assert_ne!(status["dirty"], true);
    assert_eq!(
        harness.condition("DatabaseMigration", "schema", "Ready").0,
        "True"
    );
    let first = applied(&harness);
    assert_eq!(first.len(), 1, "{status:#}");
    assert_eq!((first[0].0, first[0].1.as_str()), (1, "1_create_items.up.sql"));
    assert!(
        first[0].2.len() >= 32 && first[0].2.chars().all(|c| c.is_ascii_hexdigit()),
        "a checksum: {}",
        first[0].2
    );
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, _, note)| reason == "Migrated" && note.contains("version 1")),
        "{:?}",
        harness.api.events()
    );

    // Nothing new: nothing runs, the record stays.
    harness.reconcile::<DatabaseMigration>("schema").await;
    assert_eq!(applied(&harness), first);

    // A newer file in the ConfigMap migrates up.
    harness
        .api
        .update("ConfigMap", Some(NS), "schema-sql", |config_map| {
            config_map["data"]["2_add_price.up.sql"] =
                Value::from("ALTER TABLE items ADD COLUMN price integer;");
        });
    let reconciled = harness.reconcile::<DatabaseMigration>("schema").await;
    assert_eq!(reconciled.failure, None);
    assert_eq!(columns(&database), "id,name,price");
    let status = harness.status("DatabaseMigration", "schema");
    assert_eq!(status["currentVersion"], 2, "{status:#}");
    let second = applied(&harness);
    assert_eq!(second.len(), 2);
    assert_eq!(second[0], first[0], "the first file's record is kept");

    // Editing an applied file is reported; it does not run again.
    harness
        .api
        .update("ConfigMap", Some(NS), "schema-sql", |config_map| {
            config_map["data"]["1_create_items.up.sql"] =
                Value::from("CREATE TABLE items (id bigint PRIMARY KEY, name text, note text);");
        });
    harness.reconcile::<DatabaseMigration>("schema").await;
    let (synced, reason, message) = harness.condition("DatabaseMigration", "schema", "Synced");
    assert_eq!((synced.as_str(), reason.as_str()), ("False", "ChecksumMismatch"));
    assert!(message.contains("1_create_items.up.sql"), "{message}");
    assert_eq!(columns(&database), "id,name,price", "not re-run");
    assert_eq!(
        applied(&harness),
        second,
        "the recorded checksum is the one that ran"
    );
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, kind, _)| reason == "ChecksumMismatch" && kind == "Warning")
    );
}

#[tokio::test]
async fn a_failing_file_leaves_the_database_dirty_with_a_clear_condition() {
    let harness = Harness::start();
    let database = unique_name("migbad");
    postgres_database(&harness, "app", &database).await;
    harness.api.create(config_map(
        "schema-sql",
        json!({
            "1_create_items.up.sql": CREATE_ITEMS,
            "2_broken.up.sql": "ALTER TABLE no_such_table ADD COLUMN x integer;"
        }),
    ));
    harness.api.create(migration());

    let reconciled = harness.reconcile::<DatabaseMigration>("schema").await;
    assert_eq!(reconciled.failure, Some("MigrationFailed"));
    let status = harness.status("DatabaseMigration", "schema");
    assert_eq!(status["dirty"], true, "{status:#}");
    assert_eq!(columns(&database), "id,name", "the first file ran");
    let (ready, reason, message) = harness.condition("DatabaseMigration", "schema", "Ready");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "MigrationFailed"));
    assert!(message.contains("no_such_table"), "{message}");
    assert_eq!(
        psql(
            postgres(),
            &database,
            "SELECT version || ':' || dirty FROM schema_migrations"
        )
        .trim(),
        "2:true",
        "golang-migrate's table says dirty"
    );

    // Dirty: nothing runs until someone forces the version, and the operator does not retry on its own.
    let reconciled = harness.reconcile::<DatabaseMigration>("schema").await;
    assert_eq!(reconciled.failure, Some("Dirty"));
    assert_eq!(reconciled.requeue_after, None);
    let (_, reason, message) = harness.condition("DatabaseMigration", "schema", "Ready");
    assert_eq!(reason, "Dirty");
    assert!(message.contains("Dirty database version 2"), "{message}");
}
