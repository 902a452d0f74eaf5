//! `DatabaseBackupSchedule`: a due run creates a `DatabaseBackup`, Forbid skips while a run has not
//! finished, and retention deletes the oldest completed backups (asking for the artifact's deletion first,
//! which the backup's controller carries out with a prune Job).

use dbprov_api::v1alpha1::{DatabaseBackup, DatabaseBackupSchedule};
use dbprov_operator::jobs::{JobAction, LABEL_JOB_ACTION, job_name};
use serde_json::{Value, json};

use crate::support::*;

const LABEL_SCHEDULE: &str = "dbops.dbprovision.io/schedule";

fn schedule(extra: Value) -> Value {
    let mut spec = json!({
        "schedule": "*/5 * * * *",
        "concurrencyPolicy": "Forbid",
        "template": {"spec": {
            "databaseRef": {"name": "app"},
            "storage": {"type": "pvc", "pvc": {"claimName": "backups"}}
        }}
    });
    if let Value::Object(fields) = extra {
        for (key, value) in fields {
            spec[key] = value;
        }
    }
    let mut object = custom("DatabaseBackupSchedule", "hourly", spec);
    // Created a while ago, so an occurrence has passed since.
    object["metadata"]["creationTimestamp"] = json!("2000-01-01T00:00:00Z");
    object
}

/// A backup of the schedule, as an earlier run created it, in `phase` (started `started`).
fn scheduled(name: &str, phase: &str, started: &str, artifact: Option<&str>) -> Value {
    let mut object = custom(
        "DatabaseBackup",
        name,
        json!({"databaseRef": {"name": "app"}, "storage": {"type": "pvc", "pvc": {"claimName": "backups"}}}),
    );
    object["metadata"]["labels"] = json!({LABEL_SCHEDULE: "hourly"});
    object["status"] = json!({"phase": phase, "observedGeneration": 1, "startedAt": started});
    if let Some(artifact) = artifact {
        object["status"]["backup"] = json!({"artifact": artifact});
        object["metadata"]["finalizers"] = json!(["dbops.dbprovision.io/database-backup"]);
    }
    object
}

/// Creates an object; `creationTimestamp` given in the fixture is kept.
fn create(harness: &Harness, object: Value) {
    let created = object["metadata"]["creationTimestamp"].clone();
    let kind = object["kind"].as_str().expect("kind").to_owned();
    let name = object["metadata"]["name"].as_str().expect("name").to_owned();
    harness.api.create(object);
    if created.is_string() {
        harness.api.update(&kind, Some(NS), &name, |object| {
            object["metadata"]["creationTimestamp"] = created;
        });
    }
}

fn backup_creates(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|call| call.starts_with("CREATE databasebackups"))
        .collect()
}

#[tokio::test]
async fn a_due_schedule_creates_one_backup_per_occurrence() {
    let harness = Harness::start();
    create(&harness, schedule(json!({})));

    let reconciled = harness.reconcile::<DatabaseBackupSchedule>("hourly").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseBackupSchedule", "hourly")
    );
    let calls = harness.api.take_calls();
    let created = backup_creates(&calls);
    assert_eq!(created.len(), 1, "{calls:#?}");
    let name = created[0]
        .trim_start_matches("CREATE databasebackups team/")
        .to_owned();
    assert!(name.starts_with("hourly-"), "{name}");
    let backup = harness
        .api
        .get("DatabaseBackup", Some(NS), &name)
        .expect("the backup exists");
    assert_eq!(backup["metadata"]["labels"][LABEL_SCHEDULE], "hourly");
    assert_eq!(backup["spec"]["databaseRef"]["name"], "app");
    assert_eq!(
        backup["metadata"]["ownerReferences"][0]["kind"],
        "DatabaseBackupSchedule"
    );
    let status = harness.status("DatabaseBackupSchedule", "hourly");
    assert!(status["lastScheduleTime"].is_string(), "{status:#}");
    assert!(status["nextBackupTime"].is_string(), "{status:#}");
    assert!(
        reconciled
            .requeue_after
            .is_some_and(|after| after <= std::time::Duration::from_secs(301)),
        "{reconciled:?}"
    );
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, _, note)| reason == "BackupCreated" && note.contains(&name))
    );

    // The same occurrence never runs twice.
    harness.reconcile::<DatabaseBackupSchedule>("hourly").await;
    assert!(backup_creates(&harness.api.take_calls()).is_empty());
    assert_eq!(harness.api.list("DatabaseBackup", NS).len(), 1);
}

#[tokio::test]
async fn forbid_skips_while_a_run_has_not_finished() {
    let harness = Harness::start();
    harness.api.create(scheduled(
        "hourly-running",
        "Running",
        "2000-01-01T00:00:00Z",
        None,
    ));
    create(&harness, schedule(json!({})));

    let reconciled = harness.reconcile::<DatabaseBackupSchedule>("hourly").await;
    assert_eq!(reconciled.failure, None);
    assert!(backup_creates(&harness.api.take_calls()).is_empty());
    assert_eq!(harness.api.list("DatabaseBackup", NS).len(), 1);
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, _, note)| reason == "BackupSkipped" && note.contains("hourly-running")),
        "{:?}",
        harness.api.events()
    );

    // The run finished: the next reconcile runs the occurrence.
    harness
        .api
        .update("DatabaseBackup", Some(NS), "hourly-running", |backup| {
            backup["status"]["phase"] = json!("Completed");
        });
    harness.reconcile::<DatabaseBackupSchedule>("hourly").await;
    assert_eq!(backup_creates(&harness.api.take_calls()).len(), 1);
    assert_eq!(harness.api.list("DatabaseBackup", NS).len(), 2);
}

#[tokio::test]
async fn retention_deletes_the_oldest_completed_backups() {
    let harness = Harness::start();
    harness.api.create(scheduled(
        "hourly-1",
        "Completed",
        "2026-01-01T01:00:00Z",
        Some("team/hourly-1.dump"),
    ));
    harness
        .api
        .create(scheduled("hourly-2", "Completed", "2026-01-01T02:00:00Z", None));
    harness
        .api
        .create(scheduled("hourly-3", "Completed", "2026-01-01T03:00:00Z", None));
    harness
        .api
        .create(scheduled("hourly-4", "Completed", "2026-01-01T04:00:00Z", None));
    // Paused: only retention acts.
    create(
        &harness,
        schedule(json!({"paused": true, "retention": {"keepLast": 2}})),
    );

    let reconciled = harness.reconcile::<DatabaseBackupSchedule>("hourly").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseBackupSchedule", "hourly")
    );
    let calls = harness.api.take_calls();
    assert!(backup_creates(&calls).is_empty(), "paused: {calls:#?}");
    let mut deletes: Vec<&String> = calls.iter().filter(|call| call.starts_with("DELETE")).collect();
    deletes.sort();
    assert_eq!(
        deletes,
        [
            "DELETE databasebackups team/hourly-1",
            "DELETE databasebackups team/hourly-2"
        ],
        "{calls:#?}"
    );
    assert!(
        calls.contains(
            &"PATCH databasebackups team/hourly-1 finalizers=[dbops.dbprovision.io/database-backup]"
                .to_owned()
        ),
        "the backup with an artifact is marked before it is deleted: {calls:#?}"
    );
    let mut left: Vec<String> = harness
        .api
        .list("DatabaseBackup", NS)
        .iter()
        .map(|backup| backup["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["hourly-1", "hourly-3", "hourly-4"],
        "hourly-1 waits for its artifact"
    );
    let marked = harness
        .api
        .get("DatabaseBackup", Some(NS), "hourly-1")
        .expect("kept");
    assert_eq!(
        marked["metadata"]["annotations"]["dbops.dbprovision.io/delete-artifact"],
        "true"
    );
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    let status = harness.status("DatabaseBackupSchedule", "hourly");
    assert_eq!(status["lastPruned"], json!(["team/hourly-1.dump"]), "{status:#}");

    // The backup's own deletion deletes the artifact through a prune Job before its finalizer goes.
    harness.reconcile::<DatabaseBackup>("hourly-1").await;
    let prune = job_name("hourly-1", "uid-databasebackup-hourly-1", None, JobAction::Prune);
    let job = harness.api.get("Job", Some(NS), &prune).expect("a prune Job");
    assert_eq!(job["metadata"]["labels"][LABEL_JOB_ACTION], "prune");
    assert!(
        job["metadata"]["ownerReferences"].is_null(),
        "prune Jobs have no owner"
    );
    assert!(harness.api.get("DatabaseBackup", Some(NS), "hourly-1").is_some());
    harness.api.update("Job", Some(NS), &prune, |job| {
        job["status"] = json!({"conditions": [{"type": "Complete", "status": "True"}]});
    });
    harness.reconcile::<DatabaseBackup>("hourly-1").await;
    assert!(harness.api.get("DatabaseBackup", Some(NS), "hourly-1").is_none());
}
