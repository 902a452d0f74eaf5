//! `DatabaseRestore` as a run.

use dbprov_api::v1alpha1::{
    BackupStorage, DEFAULT_RESTORE_DEADLINE_SECONDS, DatabaseRestore, DatabaseRestoreStatus,
    EncryptionConfig, RunPhase, StorageType,
};
use dbprov_api::{FieldError, Kind, Resource, validate_for_engine};
use dbprov_backup::Progress;
use dbprov_reconcile::backup_settings::{BackupEnvironment, encryption_key, open_storage, resolve_database};
use dbprov_reconcile::instance::{instance_ref, resolve_instance};
use dbprov_reconcile::restore::reconcile_restore;
use dbprov_reconcile::{Context, Failure, Mode, ObjectRef, Outcome};
use tokio::sync::watch;

use super::{RunFields, RunObject, claims, storage_in_cluster};
use crate::jobs::{ClaimMount, JobAction, JobKind};

/// Where the artifact is, as the preflight needs it.
struct Source {
    storage: BackupStorage,
    storage_field: &'static str,
    namespace: String,
    encryption: Option<EncryptionConfig>,
    encryption_field: &'static str,
}

async fn source(ctx: &Context, restore: &DatabaseRestore, namespace: &str) -> Result<Source, Failure> {
    let spec = &restore.spec;
    if let Some(from) = &spec.from_path {
        return Ok(Source {
            storage: from.storage.clone(),
            storage_field: "spec.fromPath.storage",
            namespace: namespace.to_owned(),
            encryption: from.encryption.clone(),
            encryption_field: "spec.fromPath.encryption",
        });
    }
    let reference = spec
        .backup_ref
        .as_ref()
        .ok_or_else(|| Failure::invalid(FieldError::required("spec.backupRef")))?;
    let object = ObjectRef::new(
        Kind::DatabaseBackup,
        Some(reference.namespace.as_deref().unwrap_or(namespace)),
        &reference.name,
    );
    let Some(Resource::DatabaseBackup(backup)) = ctx
        .source
        .get(&object)
        .await
        .map_err(|error| Failure::Source { error })?
    else {
        return Err(Failure::ReferenceNotFound {
            object,
            field: "spec.backupRef",
        });
    };
    if backup.status.as_ref().and_then(|status| status.phase) != Some(RunPhase::Completed) {
        return Err(Failure::Backup {
            reason: "BackupNotCompleted",
            message: format!("{object} has not completed; there is nothing to restore yet"),
            transient: true,
        });
    }
    Ok(Source {
        storage: backup.spec.storage.clone(),
        storage_field: "spec.backupRef",
        namespace: object.namespace.clone().unwrap_or_else(|| namespace.to_owned()),
        encryption: backup.spec.encryption.clone(),
        encryption_field: "spec.backupRef",
    })
}

impl RunObject for DatabaseRestore {
    type Status = DatabaseRestoreStatus;
    const JOB_KIND: JobKind = JobKind::DatabaseRestore;
    const ACTION: JobAction = JobAction::Restore;
    const NOUN: &'static str = "restore";
    const INTERRUPTED: &'static str = "the restore was stopped before it finished (its Job was deleted or reached \
         activeDeadlineSeconds); the target database may hold part of the data";

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
            .unwrap_or(DEFAULT_RESTORE_DEADLINE_SECONDS)
    }

    /// Validation refuses an in-place restore without `confirmation.acknowledgeDataLoss` here, before any Job
    /// exists.
    async fn preflight(&self, ctx: &Context) -> Result<Vec<ClaimMount>, Failure> {
        let resource = Resource::DatabaseRestore(Box::new(self.clone()));
        dbprov_api::validate(&resource)?;
        let namespace = self
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let source = source(ctx, self, &namespace).await?;
        storage_in_cluster(&source.storage, source.storage_field)?;
        let target = &self.spec.target;
        let engine = match &target.database_ref {
            Some(reference) => {
                resolve_database(ctx, &namespace, reference, "spec.target.databaseRef")
                    .await?
                    .instance
                    .kind
            }
            None => {
                let instance = instance_ref(
                    target.instance_ref.as_ref(),
                    target.cluster_instance_ref.as_ref(),
                    &namespace,
                )?;
                resolve_instance(ctx, &instance, true).await?.kind
            }
        };
        validate_for_engine(&resource, engine)?;
        encryption_key(
            ctx,
            &source.namespace,
            source.encryption.as_ref(),
            source.encryption_field,
        )
        .await?;
        if source.storage.storage_type == StorageType::S3 {
            open_storage(
                ctx,
                &source.namespace,
                &source.storage,
                None,
                &BackupEnvironment::local(),
                source.storage_field,
            )
            .await?;
        }
        Ok(claims(&source.storage, true))
    }

    async fn execute(
        &self,
        ctx: &Context,
        previous: Option<&Self::Status>,
        env: &BackupEnvironment,
        progress: Option<watch::Sender<Progress>>,
    ) -> (Outcome, Self::Status) {
        reconcile_restore(ctx, self, previous, Mode::Apply, env, progress).await
    }
}
