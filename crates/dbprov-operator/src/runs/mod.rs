//! Backups and restores: one-shot runs executed by a Kubernetes Job. [`RunObject`] is what the controller
//! (`reconcile::runs`) and the Job (`jobs::run`) need from each kind; [`decide`] is the controller's pure
//! decision.

mod backup;
pub mod decide;
mod restore;

use std::future::Future;

use chrono::Utc;
use dbprov_api::FieldError;
use dbprov_api::v1alpha1::{BackupStorage, RunPhase, StorageType, TransferProgress};
use dbprov_backup::Progress;
use dbprov_reconcile::backup_settings::BackupEnvironment;
use dbprov_reconcile::backup_status::{IN_PROGRESS, set_ready, time};
use dbprov_reconcile::{Context, Failure, Outcome};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use tokio::sync::watch;

pub use self::decide::{Decision, RunView, decide};
use crate::jobs::{ClaimMount, JobAction, JobKind};
use crate::kinds::Managed;

/// The status fields backups and restores share.
pub struct RunFields<'a> {
    pub phase: &'a mut Option<RunPhase>,
    pub observed_generation: &'a mut Option<i64>,
    pub message: &'a mut Option<String>,
    pub started_at: &'a mut Option<Time>,
    pub completed_at: &'a mut Option<Time>,
    pub progress: &'a mut Option<TransferProgress>,
    pub conditions: &'a mut Vec<Condition>,
}

/// A kind whose work runs once, in a Job.
pub trait RunObject: Managed {
    type Status: Clone + Default + Send + Sync + 'static;
    const JOB_KIND: JobKind;
    const ACTION: JobAction;
    /// "backup" or "restore", for messages.
    const NOUN: &'static str;
    /// What the status says when the Job's pod is stopped before the run finished.
    const INTERRUPTED: &'static str;

    fn run_status(&self) -> Option<&Self::Status>;
    fn set_run_status(&mut self, status: Self::Status);
    fn fields(status: &mut Self::Status) -> RunFields<'_>;
    /// `activeDeadlineSeconds`, or the kind's default.
    fn deadline_seconds(&self) -> i64;

    /// The checks the controller makes before it creates the Job (the spec is valid, what it refers to exists
    /// and is Ready, the Secrets are there), and the claims the Job mounts.
    fn preflight(&self, ctx: &Context) -> impl Future<Output = Result<Vec<ClaimMount>, Failure>> + Send;

    /// The run itself, in the Job: the shared reconciler, with progress.
    fn execute(
        &self,
        ctx: &Context,
        previous: Option<&Self::Status>,
        env: &BackupEnvironment,
        progress: Option<watch::Sender<Progress>>,
    ) -> impl Future<Output = (Outcome, Self::Status)> + Send;

    /// The claims a prune Job mounts, when deleting the object must delete its artifact first (a backup that
    /// retention removes); `None` otherwise.
    fn artifact_to_prune(&self) -> Option<Vec<ClaimMount>> {
        None
    }

    /// When a completed run is due for deletion with its artifact (a backup's `ttl`); `None` when never.
    fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        None
    }
}

/// The decision-relevant part of a status.
pub fn view<K: RunObject>(status: Option<&K::Status>) -> RunView {
    let mut copy = status.cloned().unwrap_or_default();
    let fields = K::fields(&mut copy);
    let ready = fields
        .conditions
        .iter()
        .find(|condition| condition.type_ == "Ready");
    RunView {
        phase: *fields.phase,
        observed_generation: *fields.observed_generation,
        reason: ready.map(|condition| condition.reason.clone()),
        message: fields.message.clone(),
    }
}

/// Records a phase with its `Ready` reason and message for `generation`. A run that ends here without having
/// ended before gets its completion time.
pub fn record<K: RunObject>(
    status: &mut K::Status,
    phase: RunPhase,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) {
    let now = time(Utc::now());
    let message = message.into();
    let fields = K::fields(status);
    *fields.phase = Some(phase);
    *fields.observed_generation = generation;
    *fields.message = Some(message.clone());
    if phase == RunPhase::Failed && fields.started_at.is_some() && fields.completed_at.is_none() {
        *fields.completed_at = Some(now.clone());
    }
    set_ready(fields.conditions, phase, reason, message, generation, &now);
}

/// Marks the run as started (in the Job, before it streams).
pub fn mark_running<K: RunObject>(status: &mut K::Status, generation: Option<i64>) {
    let now = time(Utc::now());
    let message = format!("the {} is running", K::NOUN);
    let fields = K::fields(status);
    *fields.phase = Some(RunPhase::Running);
    *fields.observed_generation = generation;
    *fields.started_at = Some(now.clone());
    *fields.completed_at = None;
    *fields.progress = None;
    *fields.message = Some(message.clone());
    set_ready(
        fields.conditions,
        RunPhase::Running,
        IN_PROGRESS,
        message,
        generation,
        &now,
    );
}

/// Sets the progress shown while running.
pub fn set_progress<K: RunObject>(status: &mut K::Status, progress: &Progress) {
    *K::fields(status).progress = Some(dbprov_reconcile::backup_status::progress(progress));
}

/// In a cluster a backup lives in a PersistentVolumeClaim or S3: a `local` path would be inside the Job's
/// container, thrown away with it.
pub fn storage_in_cluster(storage: &BackupStorage, field: &str) -> Result<(), Failure> {
    if storage.storage_type == StorageType::Local {
        return Err(Failure::invalid(FieldError::unsupported(
            format!("{field}.type"),
            "local storage in a cluster: the path would be inside the Job's container and lost with it \
             (use pvc or s3)",
        )));
    }
    Ok(())
}

/// The claim a storage needs mounted.
pub fn claims(storage: &BackupStorage, read_only: bool) -> Vec<ClaimMount> {
    match (&storage.storage_type, &storage.pvc) {
        (StorageType::Pvc, Some(pvc)) => vec![ClaimMount {
            claim_name: pvc.claim_name.clone(),
            read_only,
        }],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use dbprov_api::v1alpha1::{DatabaseBackup, DatabaseBackupStatus};

    use super::*;

    #[test]
    fn status_helpers_keep_phase_reason_and_times_together() {
        let mut status = DatabaseBackupStatus::default();
        mark_running::<DatabaseBackup>(&mut status, Some(3));
        let running = view::<DatabaseBackup>(Some(&status));
        assert_eq!(running.phase, Some(RunPhase::Running));
        assert_eq!(running.observed_generation, Some(3));
        assert_eq!(running.reason.as_deref(), Some(IN_PROGRESS));
        assert!(status.started_at.is_some() && status.completed_at.is_none());
        set_progress::<DatabaseBackup>(
            &mut status,
            &Progress {
                raw_bytes: 10,
                stored_bytes: 4,
                ..Progress::default()
            },
        );
        assert_eq!(status.progress.as_ref().and_then(|p| p.stored_bytes), Some(4));
        record::<DatabaseBackup>(&mut status, RunPhase::Failed, "Interrupted", "stopped", Some(3));
        assert!(status.completed_at.is_some());
        let failed = view::<DatabaseBackup>(Some(&status));
        assert_eq!(failed.reason.as_deref(), Some("Interrupted"));
        assert_eq!(failed.message.as_deref(), Some("stopped"));
        assert_eq!(status.conditions[0].status, "False");
    }

    #[test]
    fn local_storage_is_refused_in_a_cluster_and_claims_follow_the_storage() {
        let storage = |yaml: &str| -> BackupStorage { serde_json::from_str(yaml).expect("storage") };
        let local = storage(r#"{"type": "local", "local": {"path": "/b"}}"#);
        let failure = storage_in_cluster(&local, "spec.storage").expect_err("refused");
        assert!(failure.to_string().contains("spec.storage.type"), "{failure}");
        assert_eq!(failure.requeue_after(), None, "waits for a changed spec");
        let pvc = storage(r#"{"type": "pvc", "pvc": {"claimName": "backups", "subPath": "team"}}"#);
        storage_in_cluster(&pvc, "spec.storage").expect("allowed");
        assert_eq!(
            claims(&pvc, true),
            [ClaimMount {
                claim_name: "backups".into(),
                read_only: true
            }]
        );
        let s3 = storage(r#"{"type": "s3", "s3": {"bucket": "b", "region": "r"}}"#);
        assert!(claims(&s3, false).is_empty());
    }
}
