//! Backups and restores as Jobs: the Job the controller creates (once per generation), what it mirrors when
//! the Job's pod could not report, the Job's body run in-process against the fake API and a real
//! PostgreSQL server, refusals that never create a Job, and deletion stopping a running Job.

use std::path::Path;

use dbprov_api::v1alpha1::{DatabaseBackup, DatabaseRestore};
use dbprov_operator::jobs::run::run_job_with;
use dbprov_operator::jobs::{
    DEFAULT_PVC_ROOT, JobAction, JobArgs, JobKind, JobTemplate, LABEL_JOB_ACTION, LABEL_OWNER_UID, job_name,
};
use dbprov_testkit::{postgres, psql, unique_name};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::*;

const BACKUP_UID: &str = "uid-databasebackup-nightly";

fn backup(extra: Value) -> Value {
    let mut spec = json!({
        "databaseRef": {"name": "app"},
        "storage": {"type": "pvc", "pvc": {"claimName": "backups"}},
        "activeDeadlineSeconds": 900
    });
    if let Value::Object(fields) = extra {
        for (key, value) in fields {
            spec[key] = value;
        }
    }
    custom("DatabaseBackup", "nightly", spec)
}

/// A database with three rows to back up.
async fn seeded(harness: &Harness, prefix: &str) -> String {
    let database = unique_name(prefix);
    postgres_database(harness, "app", &database).await;
    psql(
        postgres(),
        &database,
        "CREATE TABLE orders (id integer PRIMARY KEY, item text); \
         INSERT INTO orders VALUES (1, 'tea'), (2, 'cake'), (3, 'jam');",
    );
    database
}

fn creates(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|call| call.starts_with("CREATE jobs"))
        .collect()
}

fn jobs(harness: &Harness) -> Vec<Value> {
    harness.api.list("Job", NS)
}

/// Runs a Job's body (`dbprov job`) in-process, as the Job's pod would.
async fn run_job(harness: &Harness, kind: JobKind, name: &str, pvc_root: &Path) -> anyhow::Result<()> {
    let args = JobArgs {
        kind,
        namespace: NS.to_owned(),
        name: name.to_owned(),
        pvc_root: pvc_root.to_owned(),
        generation: Some(1),
        prune_artifact: false,
        progress_interval_seconds: 1,
    };
    run_job_with(harness.ctx.client.clone(), &args, CancellationToken::new()).await
}

/// Sets a Job's condition as the Job controller would.
fn finish_job(harness: &Harness, name: &str, condition: &str, reason: &str) {
    harness.api.update("Job", Some(NS), name, |job| {
        job["status"] = json!({"conditions": [{
            "type": condition, "status": "True", "reason": reason, "message": format!("{condition} {reason}")
        }]});
    });
}

#[tokio::test]
async fn a_backup_creates_one_job_of_the_expected_shape() {
    let harness = Harness::start();
    seeded(&harness, "bkjob").await;
    harness.api.create(backup(json!({})));

    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseBackup", "nightly")
    );
    let calls = harness.api.take_calls();
    let name = job_name("nightly", BACKUP_UID, Some(1), JobAction::Backup);
    assert_eq!(
        creates(&calls),
        [&format!("CREATE jobs team/{name}")],
        "{calls:#?}"
    );
    assert_eq!(
        calls[0],
        "PATCH databasebackups team/nightly finalizers=[dbops.dbprovision.io/database-backup]"
    );
    assert!(calls.contains(&"LIST jobs team".to_owned()), "{calls:#?}");

    let job = harness.api.get("Job", Some(NS), &name).expect("the Job exists");
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], JOB_IMAGE);
    assert_eq!(
        container["args"],
        json!([
            "job",
            "--log-format",
            "json",
            "--kind",
            "DatabaseBackup",
            "--namespace",
            NS,
            "--name",
            "nightly",
            "--pvc-root",
            DEFAULT_PVC_ROOT,
            "--generation",
            "1"
        ])
    );
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 900);
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    let owner = &job["metadata"]["ownerReferences"][0];
    assert_eq!(
        (
            &owner["kind"],
            &owner["name"],
            &owner["uid"],
            &owner["controller"]
        ),
        (
            &json!("DatabaseBackup"),
            &json!("nightly"),
            &json!(BACKUP_UID),
            &json!(true)
        )
    );
    assert_eq!(job["metadata"]["labels"][LABEL_OWNER_UID], BACKUP_UID);
    assert_eq!(job["metadata"]["labels"][LABEL_JOB_ACTION], "backup");
    let volumes = job["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes");
    assert!(
        volumes
            .iter()
            .any(|volume| volume["persistentVolumeClaim"]
                == json!({"claimName": "backups", "readOnly": false})),
        "{volumes:#?}"
    );
    let mounts = container["volumeMounts"].as_array().expect("mounts");
    assert!(
        mounts
            .iter()
            .any(|mount| mount["mountPath"] == format!("{DEFAULT_PVC_ROOT}/backups")),
        "{mounts:#?}"
    );
    let status = harness.status("DatabaseBackup", "nightly");
    assert_eq!(status["phase"], "Pending", "{status:#}");
    let (_, reason, message) = harness.condition("DatabaseBackup", "nightly", "Ready");
    assert_eq!(reason, "JobCreated");
    assert!(message.contains(&name), "{message}");

    // The Job runs: the next reconcile waits and creates nothing.
    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_eq!(reconciled.failure, None);
    let calls = harness.api.take_calls();
    assert!(creates(&calls).is_empty(), "{calls:#?}");
    assert_eq!(jobs(&harness).len(), 1);
}

#[tokio::test]
async fn a_failed_or_vanished_job_is_recorded_as_failed() {
    let harness = Harness::start();
    seeded(&harness, "bklost").await;
    harness.api.create(backup(json!({})));
    harness.reconcile::<DatabaseBackup>("nightly").await;
    let name = job_name("nightly", BACKUP_UID, Some(1), JobAction::Backup);

    // The pod crashed before it wrote a result; the Job failed.
    finish_job(&harness, &name, "Failed", "BackoffLimitExceeded");
    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_eq!(reconciled.failure, Some("JobFailed"));
    let status = harness.status("DatabaseBackup", "nightly");
    assert_eq!(status["phase"], "Failed", "{status:#}");
    let (_, reason, message) = harness.condition("DatabaseBackup", "nightly", "Ready");
    assert_eq!(reason, "JobFailed");
    assert!(message.contains("failed without reporting a result"), "{message}");
    // Final for this generation: no new Job.
    harness.api.take_calls();
    harness.reconcile::<DatabaseBackup>("nightly").await;
    assert!(creates(&harness.api.take_calls()).is_empty());

    // Another run whose pod started (the status says Running) and whose Job was then deleted by hand.
    harness
        .api
        .update("DatabaseBackup", Some(NS), "nightly", |backup| {
            backup["spec"]["activeDeadlineSeconds"] = json!(600);
        });
    harness.reconcile::<DatabaseBackup>("nightly").await;
    let second = job_name("nightly", BACKUP_UID, Some(2), JobAction::Backup);
    assert!(
        harness.api.get("Job", Some(NS), &second).is_some(),
        "a Job for generation 2"
    );
    harness
        .api
        .update("DatabaseBackup", Some(NS), "nightly", |backup| {
            backup["status"]["phase"] = json!("Running");
            backup["status"]["observedGeneration"] = json!(2);
        });
    harness.api.remove("Job", Some(NS), &name);
    harness.api.remove("Job", Some(NS), &second);
    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_eq!(reconciled.failure, Some("JobLost"));
    let (_, reason, message) = harness.condition("DatabaseBackup", "nightly", "Ready");
    assert_eq!(reason, "JobLost");
    assert!(
        message.contains("disappeared before it reported a result"),
        "{message}"
    );
    assert_eq!(harness.status("DatabaseBackup", "nightly")["phase"], "Failed");
}

#[tokio::test]
async fn without_an_image_no_job_is_created_and_the_condition_says_why() {
    let harness = Harness::start_with(JobTemplate::from_pod(None, None));
    seeded(&harness, "bknoimg").await;
    harness.api.create(backup(json!({})));
    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_eq!(reconciled.failure, Some("JobImageUnknown"));
    assert!(creates(&harness.api.take_calls()).is_empty());
    assert!(jobs(&harness).is_empty());
    let (ready, reason, message) = harness.condition("DatabaseBackup", "nightly", "Ready");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "JobImageUnknown"));
    assert!(message.contains("DBPROV_IMAGE"), "{message}");
    assert_eq!(harness.status("DatabaseBackup", "nightly")["phase"], "Pending");
}

#[tokio::test]
async fn the_job_body_backs_up_and_a_restore_job_restores_into_a_new_database() {
    let harness = Harness::start();
    let database = seeded(&harness, "bkrun").await;
    let claims = tempfile::tempdir().expect("temporary directory");
    harness.api.create(backup(json!({})));
    harness.reconcile::<DatabaseBackup>("nightly").await;

    run_job(&harness, JobKind::DatabaseBackup, "nightly", claims.path())
        .await
        .expect("the backup Job succeeds");
    let status = harness.status("DatabaseBackup", "nightly");
    assert_eq!(status["phase"], "Completed", "{status:#}");
    assert_eq!(harness.condition("DatabaseBackup", "nightly", "Ready").0, "True");
    let info = &status["backup"];
    let checksum = info["checksum"].as_str().expect("a checksum is recorded");
    assert!(!checksum.is_empty());
    let artifact = info["artifact"].as_str().expect("an artifact is recorded");
    let on_disk: Vec<_> = walk(&claims.path().join("backups"));
    assert!(
        on_disk
            .iter()
            .any(|path| path.to_string_lossy().contains(artifact)),
        "artifact {artifact} under the claim: {on_disk:?}"
    );
    assert!(
        on_disk
            .iter()
            .any(|path| std::fs::metadata(path).is_ok_and(|m| m.len() > 0)),
        "{on_disk:?}"
    );

    // The Job succeeded; the pod's Completed stays, and no second Job is created.
    let name = job_name("nightly", BACKUP_UID, Some(1), JobAction::Backup);
    finish_job(&harness, &name, "Complete", "");
    harness.api.take_calls();
    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_eq!(reconciled.failure, None);
    assert!(creates(&harness.api.take_calls()).is_empty());
    assert_eq!(harness.status("DatabaseBackup", "nightly")["phase"], "Completed");

    // Restore into a new database.
    let restored = format!("{database}_copy");
    harness.api.create(custom(
        "DatabaseRestore",
        "copy",
        json!({"backupRef": {"name": "nightly"}, "target": {"instanceRef": {"name": "pg"}, "databaseName": restored}}),
    ));
    let reconciled = harness.reconcile::<DatabaseRestore>("copy").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseRestore", "copy")
    );
    let restore_job = job_name("copy", "uid-databaserestore-copy", Some(1), JobAction::Restore);
    let job = harness
        .api
        .get("Job", Some(NS), &restore_job)
        .expect("the restore Job exists");
    assert!(
        job["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(
                |volume| volume["persistentVolumeClaim"] == json!({"claimName": "backups", "readOnly": true})
            ),
        "a restore reads its source claim read-only"
    );
    run_job(&harness, JobKind::DatabaseRestore, "copy", claims.path())
        .await
        .expect("the restore Job succeeds");
    let status = harness.status("DatabaseRestore", "copy");
    assert_eq!(status["phase"], "Completed", "{status:#}");
    assert_eq!(
        psql(
            postgres(),
            &restored,
            "SELECT string_agg(item, ',' ORDER BY id) FROM orders"
        )
        .trim(),
        "tea,cake,jam"
    );
    psql(
        postgres(),
        "postgres",
        &format!("DROP DATABASE IF EXISTS \"{restored}\""),
    );
}

fn walk(directory: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(directory) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn an_in_place_restore_without_confirmation_is_refused_without_a_job() {
    let harness = Harness::start();
    seeded(&harness, "rsinplace").await;
    harness.api.create(custom(
        "DatabaseRestore",
        "overwrite",
        json!({
            "fromPath": {"storage": {"type": "pvc", "pvc": {"claimName": "backups"}}, "path": "nightly.dump"},
            "target": {"databaseRef": {"name": "app"}, "inPlace": true}
        }),
    ));
    let reconciled = harness.reconcile::<DatabaseRestore>("overwrite").await;
    assert!(reconciled.failure.is_some());
    assert!(creates(&harness.api.take_calls()).is_empty());
    assert!(jobs(&harness).is_empty());
    let status = harness.status("DatabaseRestore", "overwrite");
    assert_eq!(status["phase"], "Failed", "{status:#}");
    let (ready, _, message) = harness.condition("DatabaseRestore", "overwrite", "Ready");
    assert_eq!(ready, "False");
    assert!(
        message.contains("acknowledgeDataLoss") && message.contains("I-UNDERSTAND-DATA-LOSS"),
        "{message}"
    );
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(_, kind, note)| kind == "Warning" && note.contains("acknowledgeDataLoss"))
    );
}

#[tokio::test]
async fn deleting_a_backup_stops_its_job_before_the_finalizer_goes() {
    let harness = Harness::start();
    seeded(&harness, "bkdel").await;
    harness.api.create(backup(json!({})));
    harness.reconcile::<DatabaseBackup>("nightly").await;
    let name = job_name("nightly", BACKUP_UID, Some(1), JobAction::Backup);
    harness.api.take_calls();

    harness.api.delete("DatabaseBackup", Some(NS), "nightly");
    let reconciled = harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "LIST jobs team",
            &format!("DELETE job team/{name} propagation=Foreground"),
            "EVENT Normal JobDeleted",
        ],
    );
    assert!(reconciled.requeue_after.is_some(), "checks again soon");
    assert!(
        harness.api.get("DatabaseBackup", Some(NS), "nightly").is_some(),
        "the finalizer stays"
    );

    // The pods are still stopping: the Job is marked; it is not deleted twice and the finalizer stays.
    harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_calls(&harness.api.take_calls(), &["LIST jobs team"]);
    assert!(harness.api.get("DatabaseBackup", Some(NS), "nightly").is_some());

    // The garbage collector removed the Job: the finalizer goes and with it the object.
    harness.api.remove("Job", Some(NS), &name);
    harness.reconcile::<DatabaseBackup>("nightly").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "LIST jobs team",
            "PATCH databasebackups team/nightly finalizers=[]",
        ],
    );
    assert!(harness.api.get("DatabaseBackup", Some(NS), "nightly").is_none());
}

/// A completed backup with its artifact recorded, expiring at `expires_at`.
fn completed(name: &str, expires_at: &str) -> Value {
    let mut object = backup(json!({"ttl": "1h"}));
    object["metadata"]["name"] = json!(name);
    object["metadata"]["finalizers"] = json!(["dbops.dbprovision.io/database-backup"]);
    object["status"] = json!({
        "phase": "Completed",
        "observedGeneration": 1,
        "expiresAt": expires_at,
        "backup": {"artifact": format!("{NS}/{name}.dump")}
    });
    object
}

#[tokio::test]
async fn a_backup_past_its_ttl_is_deleted_with_its_artifact() {
    let harness = Harness::start();
    let in_half_an_hour = (chrono::Utc::now() + chrono::TimeDelta::minutes(30)).to_rfc3339();
    harness.api.create(completed("fresh", &in_half_an_hour));
    harness.api.create(completed("old", "2026-01-01T00:00:00Z"));
    harness.api.take_calls();

    // Not expired yet: nothing is deleted, and it is looked at again when it expires.
    let reconciled = harness.reconcile::<DatabaseBackup>("fresh").await;
    let wait = reconciled.requeue_after.expect("a requeue at expiry");
    assert!((29 * 60..=31 * 60).contains(&wait.as_secs()), "{wait:?}");
    let calls = harness.api.take_calls();
    assert!(
        !calls
            .iter()
            .any(|call| call.starts_with("DELETE") || call.starts_with("CREATE")),
        "{calls:#?}"
    );

    // Expired: marked for artifact deletion, then deleted.
    let reconciled = harness.reconcile::<DatabaseBackup>("old").await;
    assert_eq!(reconciled.failure, None);
    let calls = harness.api.take_calls();
    assert!(
        calls.contains(&format!("DELETE databasebackups {NS}/old")),
        "{calls:#?}"
    );
    let marked = harness
        .api
        .get("DatabaseBackup", Some(NS), "old")
        .expect("kept by its finalizer");
    assert_eq!(
        marked["metadata"]["annotations"]["dbops.dbprovision.io/delete-artifact"],
        "true"
    );
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, _, message)| reason == "Expired" && message.contains("ttl")),
        "{:#?}",
        harness.api.events()
    );

    // Its deletion deletes the artifact through a prune Job before the finalizer goes.
    harness.reconcile::<DatabaseBackup>("old").await;
    let prune = job_name("old", "uid-databasebackup-old", None, JobAction::Prune);
    let job = harness.api.get("Job", Some(NS), &prune).expect("a prune Job");
    assert_eq!(job["metadata"]["labels"][LABEL_JOB_ACTION], "prune");
    finish_job(&harness, &prune, "Complete", "Done");
    harness.reconcile::<DatabaseBackup>("old").await;
    assert!(harness.api.get("DatabaseBackup", Some(NS), "old").is_none());
    assert!(harness.api.get("DatabaseBackup", Some(NS), "fresh").is_some());
}
