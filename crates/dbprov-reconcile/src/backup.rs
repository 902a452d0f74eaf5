//! `DatabaseBackup`: resolve the database → instance → connection, read the encryption key and the storage
//! credentials from their Secrets, then stream the dump into storage with `dbprov_backup::backup`, under the
//! `activeDeadlineSeconds` limit. A backup that `Completed` is never run again (applying it again is a no-op).

use chrono::{DateTime, Utc};
use dbprov_api::v1alpha1::{
    BackupInfo, BackupSourceInfo, DEFAULT_BACKUP_DEADLINE_SECONDS, DatabaseBackup, DatabaseBackupStatus,
    RunPhase,
};
use dbprov_api::{Resource, validate_for_engine};
use dbprov_backup::artifact::{escape_prefix, extension};
use dbprov_backup::{BackupReport, BackupRequest, Progress};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tokio::sync::watch;

use crate::backup_settings::{
    BackupEnvironment, artifact_location, compression, deadline, dump_format, dump_options, encryption_key,
    namespace_of, open_storage, resolve_database, ttl,
};
use crate::backup_status::{self, BACKUP_COMPLETED, IN_PROGRESS, chrono_time, failed_phase, set_ready, time};
use crate::context::{Context, ObjectRef};
use crate::failure::Failure;
use crate::outcome::{Event, Info, Outcome};
use crate::run::Mode;

/// Reconciles a backup. `previous` is its recorded status; `progress` receives progress while it streams.
/// Returns the outcome and the new status.
pub async fn reconcile_backup(
    ctx: &Context,
    backup: &DatabaseBackup,
    previous: Option<&DatabaseBackupStatus>,
    mode: Mode,
    env: &BackupEnvironment,
    progress: Option<watch::Sender<Progress>>,
) -> (Outcome, DatabaseBackupStatus) {
    let object = ObjectRef::of(&Resource::DatabaseBackup(Box::new(backup.clone())))
        .expect("invariant: a DatabaseBackup is an API kind");
    let mut outcome = Outcome::new(object);
    let mut status = previous.cloned().unwrap_or_default();
    let generation = backup.metadata.generation;
    let now = time(Utc::now());
    if status.phase == Some(RunPhase::Completed) {
        // One-shot: a completed backup is a fact, not a declaration to converge again.
        outcome.exists_before = true;
        return (outcome, status);
    }
    match run(ctx, backup, mode, env, progress, &mut outcome).await {
        Ok(Run::Planned) => {}
        Ok(Run::Done {
            report,
            started_at,
            location,
        }) => {
            record_success(&mut status, &report, backup, location, started_at, generation);
        }
        Err((failure, started_at)) => {
            let phase = failed_phase(&failure);
            let message = failure.to_string();
            if mode == Mode::Apply {
                status.phase = Some(phase);
                status.message = Some(message.clone());
                if let Some(started_at) = started_at {
                    status.started_at = Some(time(started_at));
                    status.completed_at = Some(now.clone());
                }
                status.observed_generation = generation;
                set_ready(
                    &mut status.conditions,
                    phase,
                    failure.reason(),
                    message,
                    generation,
                    &now,
                );
            }
            outcome = outcome.failed(failure);
        }
    }
    (outcome, status)
}

enum Run {
    Planned,
    Done {
        report: Box<BackupReport>,
        started_at: DateTime<Utc>,
        /// `<location>/<artifact>`.
        location: String,
    },
}

/// A failure, and when the backup had started (if it had).
type RunFailure = (Failure, Option<DateTime<Utc>>);

async fn run(
    ctx: &Context,
    backup: &DatabaseBackup,
    mode: Mode,
    env: &BackupEnvironment,
    progress: Option<watch::Sender<Progress>>,
    outcome: &mut Outcome,
) -> Result<Run, RunFailure> {
    let not_started = |failure: Failure| (failure, None);
    let resource = Resource::DatabaseBackup(Box::new(backup.clone()));
    dbprov_api::validate(&resource).map_err(|errors| not_started(errors.into()))?;
    let namespace = namespace_of(backup.metadata.namespace.as_ref());
    let spec = &backup.spec;
    let database = resolve_database(ctx, &namespace, &spec.database_ref, "spec.databaseRef")
        .await
        .map_err(not_started)?;
    let engine = database.instance.kind;
    validate_for_engine(&resource, engine).map_err(|errors| not_started(errors.into()))?;
    let storage = open_storage(ctx, &namespace, &spec.storage, None, env, "spec.storage")
        .await
        .map_err(not_started)?;
    let key = encryption_key(ctx, &namespace, spec.encryption.as_ref(), "spec.encryption")
        .await
        .map_err(not_started)?;
    let mut request = BackupRequest::new(database.target.clone());
    request.dump = dump_options(spec).map_err(not_started)?;
    request.compression = compression(spec.compression.as_ref(), "spec.compression").map_err(not_started)?;
    request.encryption = key;
    request.name_prefix = spec.storage.name_prefix.clone();
    request.tools = env.tools.clone();
    outcome.info = Info::Backup { engine };

    let prefix = spec
        .storage
        .name_prefix
        .as_deref()
        .unwrap_or(&database.database.spec.name);
    let planned_name = format!(
        "{}-<YYYYMMDD-HHMMSS>.{}",
        escape_prefix(prefix).map_err(|error| not_started(Failure::invalid(
            dbprov_api::FieldError::invalid("spec.storage.namePrefix", error.to_string())
        )))?,
        extension(
            dump_format(engine, &request.dump),
            request.compression.algorithm(),
            request.encryption.is_some()
        )
    );
    let what = format!(
        "back up database {} on {} into {} ({}{})",
        database.target.database,
        database.instance.connection.label,
        artifact_location(&storage, &planned_name),
        match request.compression.level() {
            Some(level) => format!("{} level {level}", request.compression.algorithm().as_str()),
            None => "uncompressed".to_owned(),
        },
        request
            .encryption
            .as_ref()
            .map(|key| format!(", encrypted with {}", key.id()))
            .unwrap_or_default(),
    );
    if mode == Mode::Plan {
        outcome.notes.push(what);
        return Ok(Run::Planned);
    }

    let started_at = Utc::now();
    let limit = deadline(spec.active_deadline_seconds, DEFAULT_BACKUP_DEADLINE_SECONDS);
    // Dropping the backup future at the deadline kills the dump tool and discards the partial artifact.
    let report = match tokio::time::timeout(limit, dbprov_backup::backup(&request, &storage, progress)).await
    {
        Ok(Ok(report)) => report,
        Ok(Err(error)) => {
            return Err((
                Failure::Backup {
                    reason: error.kind(),
                    message: dbprov_core::error::error_chain(&error),
                    transient: !matches!(error.kind(), "InvalidSpec" | "ToolNotFound"),
                },
                Some(started_at),
            ));
        }
        Err(_) => {
            return Err((
                Failure::Backup {
                    reason: "DeadlineExceeded",
                    message: format!(
                        "the backup of {} did not finish within activeDeadlineSeconds ({}s); it was cancelled and left no artifact",
                        database.target.database,
                        limit.as_secs()
                    ),
                    transient: true,
                },
                Some(started_at),
            ));
        }
    };
    outcome.applied = true;
    outcome.created = true;
    outcome.executed.push(format!(
        "backup {} → {}",
        database.target.database,
        artifact_location(&storage, &report.artifact)
    ));
    outcome.events.push(Event::normal(
        BACKUP_COMPLETED,
        format!(
            "backed up {} into {} ({} bytes stored, sha256:{})",
            database.target.database,
            artifact_location(&storage, &report.artifact),
            report.metadata.stored_size_bytes,
            report.metadata.sha256
        ),
    ));
    let location = artifact_location(&storage, &report.artifact);
    Ok(Run::Done {
        report: Box::new(report),
        started_at,
        location,
    })
}

fn record_success(
    status: &mut DatabaseBackupStatus,
    report: &BackupReport,
    backup: &DatabaseBackup,
    location: String,
    started_at: DateTime<Utc>,
    generation: Option<i64>,
) {
    let metadata = &report.metadata;
    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    let completed = time(metadata.completed_at);
    status.phase = Some(RunPhase::Completed);
    status.observed_generation = generation;
    status.started_at = Some(time(started_at));
    status.completed_at = Some(completed.clone());
    status.message = Some(format!("backed up into {}", report.artifact));
    status.backup = Some(BackupInfo {
        path: Some(location),
        artifact: Some(report.artifact.clone()),
        size_bytes: Some(as_i64(metadata.raw_size_bytes)),
        compressed_size_bytes: Some(as_i64(metadata.stored_size_bytes)),
        checksum: Some(format!("sha256:{}", metadata.sha256)),
        format: Some(metadata.format.as_str().to_owned()),
        compression: Some(metadata.compression.algorithm.as_str().to_owned()),
        encryption_key_id: metadata.encryption.as_ref().map(|info| info.key_id.clone()),
    });
    status.source = Some(BackupSourceInfo {
        instance: Some(metadata.instance.clone()),
        database: Some(metadata.database.clone()),
        engine: Some(metadata.engine.as_str().to_owned()),
        version: Some(metadata.server_version.clone()),
        timestamp: Some(time(metadata.started_at)),
    });
    status.expires_at = ttl(&backup.spec)
        .ok()
        .flatten()
        .and_then(|ttl| chrono::TimeDelta::from_std(ttl).ok())
        .and_then(|ttl| chrono_time(&completed).checked_add_signed(ttl))
        .map(time);
    status.progress = Some(backup_status::progress(&Progress {
        phase: dbprov_backup::Phase::Done,
        raw_bytes: metadata.raw_size_bytes,
        stored_bytes: metadata.stored_size_bytes,
        stored_total: Some(metadata.stored_size_bytes),
        elapsed: std::time::Duration::ZERO,
    }));
    set_ready(
        &mut status.conditions,
        RunPhase::Completed,
        BACKUP_COMPLETED,
        format!("{} is complete", report.artifact),
        generation,
        &completed,
    );
}

/// Marks a backup as running (for hosts that record the status before streaming, as the operator does).
pub fn mark_running(status: &mut DatabaseBackupStatus, generation: Option<i64>, now: &Time) {
    status.phase = Some(RunPhase::Running);
    status.started_at = Some(now.clone());
    status.completed_at = None;
    status.observed_generation = generation;
    set_ready(
        &mut status.conditions,
        RunPhase::Running,
        IN_PROGRESS,
        "the backup is running",
        generation,
        now,
    );
}
