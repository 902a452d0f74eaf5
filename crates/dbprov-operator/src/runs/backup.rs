//! `DatabaseBackup` as a run.

use dbprov_api::v1alpha1::{
    DEFAULT_BACKUP_DEADLINE_SECONDS, DatabaseBackup, DatabaseBackupStatus, RunPhase, StorageType,
};
use dbprov_api::{Resource, validate_for_engine};
use dbprov_backup::Progress;
use dbprov_reconcile::backup::reconcile_backup;
use dbprov_reconcile::backup_settings::{BackupEnvironment, encryption_key, open_storage, resolve_database};
use dbprov_reconcile::backup_status::chrono_time;
use dbprov_reconcile::schedule::LABEL_SCHEDULE;
use dbprov_reconcile::{Context, Failure, Mode, Outcome};
use tokio::sync::watch;

use super::{RunFields, RunObject, claims, storage_in_cluster};
use crate::annotations::ANNOTATION_DELETE_ARTIFACT;
use crate::jobs::{ClaimMount, JobAction, JobKind};

fn namespace(backup: &DatabaseBackup) -> String {
    backup
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned())
}

impl RunObject for DatabaseBackup {
    type Status = DatabaseBackupStatus;
    const JOB_KIND: JobKind = JobKind::DatabaseBackup;
    const ACTION: JobAction = JobAction::Backup;
    const NOUN: &'static str = "backup";
    const INTERRUPTED: &'static str = "the backup was stopped before it finished (its Job was deleted or reached \
         activeDeadlineSeconds); the partial artifact was discarded";

    fn run_status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn set_run_status(&mut self, status: Self::Status) {
        self.status = Some(status);
    }

    fn fields(status: &mut Self::Status) -> RunFields<'_> {
        RunFields {
            phase: &mut status.phase,
            observed_generation: &mut status.observed_generation,
            message: &mut status.message,
            started_at: &mut status.started_at,
            completed_at: &mut status.completed_at,
            progress: &mut status.progress,
            conditions: &mut status.conditions,
        }
    }

    fn deadline_seconds(&self) -> i64 {
        self.spec
            .active_deadline_seconds
            .unwrap_or(DEFAULT_BACKUP_DEADLINE_SECONDS)
    }

    async fn preflight(&self, ctx: &Context) -> Result<Vec<ClaimMount>, Failure> {
        let resource = Resource::DatabaseBackup(Box::new(self.clone()));
        dbprov_api::validate(&resource)?;
        let spec = &self.spec;
        storage_in_cluster(&spec.storage, "spec.storage")?;
        let namespace = namespace(self);
        let database = resolve_database(ctx, &namespace, &spec.database_ref, "spec.databaseRef").await?;
        validate_for_engine(&resource, database.instance.kind)?;
        encryption_key(ctx, &namespace, spec.encryption.as_ref(), "spec.encryption").await?;
        if spec.storage.storage_type == StorageType::S3 {
            // Reads the S3 credentials Secret; nothing is sent to the bucket here.
            open_storage(
                ctx,
                &namespace,
                &spec.storage,
                None,
                &BackupEnvironment::local(),
                "spec.storage",
            )
            .await?;
        }
        Ok(claims(&spec.storage, false))
    }

    async fn execute(
        &self,
        ctx: &Context,
        previous: Option<&Self::Status>,
        env: &BackupEnvironment,
        progress: Option<watch::Sender<Progress>>,
    ) -> (Outcome, Self::Status) {
        reconcile_backup(ctx, self, previous, Mode::Apply, env, progress).await
    }

    fn artifact_to_prune(&self) -> Option<Vec<ClaimMount>> {
        let asked = self
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(ANNOTATION_DELETE_ARTIFACT))
            .is_some_and(|value| value == "true");
        let recorded = self
            .status
            .as_ref()
            .and_then(|status| status.backup.as_ref())
            .and_then(|info| info.artifact.as_ref())
            .is_some();
        (asked && recorded).then(|| claims(&self.spec.storage, false))
    }

    /// `status.expiresAt` of a completed backup (its `ttl` after completion). A schedule's runs expire through
    /// the schedule's retention, which also keeps its statistics.
    fn expires_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        if belongs_to_a_schedule(self) {
            return None;
        }
        let status = self.status.as_ref()?;
        if status.phase != Some(RunPhase::Completed) {
            return None;
        }
        status.expires_at.as_ref().map(chrono_time)
    }
}

fn belongs_to_a_schedule(backup: &DatabaseBackup) -> bool {
    backup
        .metadata
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(LABEL_SCHEDULE))
}
