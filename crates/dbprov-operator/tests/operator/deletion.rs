//! Deletion: protection, force-delete, Retain, Delete, adopted objects, dependents, and deleting without the
//! instance's credentials Secret.

use std::time::Duration;

use dbprov_api::v1alpha1::{Database, DatabaseInstance, DatabaseUser};
use dbprov_operator::annotations::ANNOTATION_FORCE_DELETE;
use dbprov_operator::secrets::copy_name;
use dbprov_testkit::{postgres, psql, unique_name};
use serde_json::{Value, json};

use crate::support::*;

async fn ready_postgres(harness: &Harness) {
    harness.api.create(admin_secret("pg-admin", postgres()));
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", postgres()));
    assert_eq!(harness.reconcile::<DatabaseInstance>("pg").await.failure, None);
    harness.api.take_calls();
}

/// A database created by the operator (so `Delete` may drop it).
async fn created_database(harness: &Harness, spec: Value) -> String {
    let name = unique_name("opdel");
    harness.api.create(database("app", "pg", &name, spec));
    assert_eq!(harness.reconcile::<Database>("app").await.failure, None);
    assert!(pg_database_exists(postgres(), &name));
    harness.api.take_calls();
    name
}

fn drop_database(name: &str) {
    psql(
        postgres(),
        "postgres",
        &format!("DROP DATABASE IF EXISTS \"{name}\""),
    );
}

#[tokio::test]
async fn delete_policy_drops_the_database_and_removes_the_finalizer() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = created_database(
        &harness,
        json!({"deletionPolicy": "Delete", "deletionProtection": false}),
    )
    .await;
    harness.api.delete("Database", Some(NS), "app");
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_eq!(reconciled.requeue_after, None);
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/pg-admin",
            "EVENT Normal Deleted",
            "PATCH databases team/app finalizers=[]",
        ],
    );
    assert!(
        harness.api.get("Database", Some(NS), "app").is_none(),
        "the object is gone"
    );
    assert!(!pg_database_exists(postgres(), &name), "the database was dropped");
}

#[tokio::test]
async fn protection_keeps_object_finalizer_and_database_until_force_delete() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    // deletionProtection defaults to true.
    let name = created_database(&harness, json!({"deletionPolicy": "Delete"})).await;
    harness.api.delete("Database", Some(NS), "app");
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "APPLY databases/status team/app phase=PendingDeletion",
            "EVENT Warning DeletionProtected",
        ],
    );
    assert_eq!(
        reconciled.requeue_after, None,
        "waits for the field or the annotation to change"
    );
    let (ready, reason, message) = harness.condition("Database", "app", "Ready");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "DeletionProtected"));
    assert!(message.contains("spec.deletionProtection"), "{message}");
    let object = harness.api.get("Database", Some(NS), "app").expect("still there");
    assert_eq!(
        object["metadata"]["finalizers"],
        json!(["dbops.dbprovision.io/database"])
    );
    assert!(pg_database_exists(postgres(), &name));

    harness.api.update("Database", Some(NS), "app", |object| {
        object["metadata"]["annotations"] = json!({ANNOTATION_FORCE_DELETE: "true"});
    });
    harness.reconcile::<Database>("app").await;
    assert!(harness.api.get("Database", Some(NS), "app").is_none());
    assert!(
        !pg_database_exists(postgres(), &name),
        "force-delete overrides protection"
    );
}

#[tokio::test]
async fn retain_removes_only_the_finalizer() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = created_database(
        &harness,
        json!({"deletionPolicy": "Retain", "deletionProtection": false}),
    )
    .await;
    harness.api.delete("Database", Some(NS), "app");
    harness.reconcile::<Database>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &["EVENT Normal Released", "PATCH databases team/app finalizers=[]"],
    );
    assert!(harness.api.get("Database", Some(NS), "app").is_none());
    assert!(pg_database_exists(postgres(), &name), "Retain keeps the database");
    drop_database(&name);
}

#[tokio::test]
async fn an_adopted_database_is_released_not_dropped() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = unique_name("opadopt");
    psql(postgres(), "postgres", &format!("CREATE DATABASE \"{name}\""));
    harness.api.create(database(
        "app",
        "pg",
        &name,
        json!({"deletionPolicy": "Delete", "deletionProtection": false}),
    ));
    assert_eq!(harness.reconcile::<Database>("app").await.failure, None);
    assert!(
        harness.status("Database", "app")["database"]["createdAt"].is_null(),
        "dbprov did not create it"
    );
    harness.api.delete("Database", Some(NS), "app");
    harness.reconcile::<Database>("app").await;
    assert!(harness.api.get("Database", Some(NS), "app").is_none());
    assert!(
        pg_database_exists(postgres(), &name),
        "what dbprov did not create is not dropped"
    );
    let released = harness
        .api
        .events()
        .into_iter()
        .find(|(reason, _, _)| reason == "Released");
    assert!(released.is_some_and(|(_, _, note)| note.contains("existed before")));
    drop_database(&name);
}

#[tokio::test]
async fn deleting_works_with_the_operator_copy_when_the_admin_secret_is_gone() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = created_database(
        &harness,
        json!({"deletionPolicy": "Delete", "deletionProtection": false}),
    )
    .await;
    // The namespace is being deleted: the Secret goes at once, the Database waits for its finalizer.
    harness.api.delete("Secret", Some(NS), "pg-admin");
    harness.api.delete("Database", Some(NS), "app");
    harness.reconcile::<Database>("app").await;
    let copy = copy_name(NS, "pg-admin");
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/pg-admin",
            &format!("GET secret {OPERATOR_NS}/{copy}"),
            "EVENT Normal Deleted",
            "PATCH databases team/app finalizers=[]",
        ],
    );
    assert!(!pg_database_exists(postgres(), &name));

    // A live object does not use the copy: it waits for the Secret, naming it.
    let other = unique_name("opdel");
    harness.api.create(database("other", "pg", &other, json!({})));
    let reconciled = harness.reconcile::<Database>("other").await;
    assert_eq!(reconciled.failure, Some("SecretNotFound"));
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(30)));
    assert!(!pg_database_exists(postgres(), &other));
}

#[tokio::test]
async fn instance_deletion_waits_for_dependents_then_removes_the_copy() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = created_database(
        &harness,
        json!({"deletionPolicy": "Retain", "deletionProtection": false}),
    )
    .await;
    harness.api.delete("DatabaseInstance", Some(NS), "pg");
    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(10)));
    assert_calls(
        &harness.api.take_calls(),
        &[
            "APPLY databaseinstances/status team/pg phase=PendingDeletion",
            "EVENT Warning DeletionBlocked",
        ],
    );
    let (_, reason, message) = harness.condition("DatabaseInstance", "pg", "Ready");
    assert_eq!(reason, "DependenciesExist");
    assert!(message.contains("Database/app"), "{message}");

    harness.api.delete("Database", Some(NS), "app");
    harness.reconcile::<Database>("app").await;
    harness.api.take_calls();
    harness.reconcile::<DatabaseInstance>("pg").await;
    let copy = copy_name(NS, "pg-admin");
    assert_calls(
        &harness.api.take_calls(),
        &[
            &format!("DELETE secret {OPERATOR_NS}/{copy}"),
            "PATCH databaseinstances team/pg finalizers=[]",
        ],
    );
    assert!(harness.api.get("DatabaseInstance", Some(NS), "pg").is_none());
    drop_database(&name);
}

#[tokio::test]
async fn a_retained_user_keeps_its_credentials_and_a_dropped_one_loses_them() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let kept = unique_name("opkeep");
    let dropped = unique_name("opdrop");
    harness.api.create(user(
        "kept",
        "pg",
        &kept,
        json!({"passwordSecret": {"secretName": "kept-credentials"}}),
    ));
    harness.api.create(user(
        "dropped",
        "pg",
        &dropped,
        json!({"passwordSecret": {"secretName": "dropped-credentials"}, "deletionPolicy": "Delete"}),
    ));
    assert_eq!(harness.reconcile::<DatabaseUser>("kept").await.failure, None);
    assert_eq!(harness.reconcile::<DatabaseUser>("dropped").await.failure, None);
    harness.api.take_calls();

    harness.api.delete("DatabaseUser", Some(NS), "kept");
    harness.reconcile::<DatabaseUser>("kept").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/kept-credentials",
            "PATCH secret team/kept-credentials",
            "EVENT Normal Released",
            "PATCH databaseusers team/kept finalizers=[]",
        ],
    );
    let secret = harness
        .api
        .get("Secret", Some(NS), "kept-credentials")
        .expect("kept");
    assert_eq!(
        secret["metadata"]["ownerReferences"],
        json!([]),
        "not garbage-collected with the object"
    );
    let password = harness
        .api
        .secret_value(NS, "kept-credentials", "password")
        .expect("password");
    assert!(
        pg_login(postgres(), &kept, &password),
        "the retained user still logs in with it"
    );

    harness.api.delete("DatabaseUser", Some(NS), "dropped");
    harness.reconcile::<DatabaseUser>("dropped").await;
    assert!(!pg_role_exists(postgres(), &dropped));
    assert!(
        harness
            .api
            .get("Secret", Some(NS), "dropped-credentials")
            .is_none()
    );
    assert!(harness.api.get("DatabaseUser", Some(NS), "dropped").is_none());
    psql(postgres(), "postgres", &format!("DROP ROLE \"{kept}\""));
}

#[tokio::test]
async fn an_object_only_the_upstream_operator_guarded_is_cleaned_up_on_deletion() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = unique_name("opup");
    let mut object = database(
        "app",
        "pg",
        &name,
        json!({"deletionPolicy": "Retain", "deletionProtection": false}),
    );
    object["metadata"]["finalizers"] = json!(["dbops.dbprovision.io/database-protection"]);
    harness.api.create(object);
    harness.api.delete("Database", Some(NS), "app");
    harness.reconcile::<Database>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &["EVENT Normal Released", "PATCH databases team/app finalizers=[]"],
    );
    assert!(harness.api.get("Database", Some(NS), "app").is_none());
}
