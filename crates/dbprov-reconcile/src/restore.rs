//! `DatabaseRestore`: find the artifact (a `DatabaseBackup`'s, or `fromPath`), resolve the target database
//! and its instance, then restore with `dbprov_backup::restore`, which verifies the whole artifact (size,
//! SHA-256, every encrypted chunk) before it touches the target and refuses a non-empty target unless the
//! restore is in place and acknowledged. A `databaseName` target that does not exist is created first (and
//! dropped again if the restore fails before touching it). A restore that `Completed` is never run again.

use chrono::Utc;
use dbprov_api::v1alpha1::{
    BackupStorage, DEFAULT_RESTORE_DEADLINE_SECONDS, DatabaseRestore, DatabaseRestoreStatus,
    EncryptionConfig, RestoreInfo, RunPhase,
};
use dbprov_api::{FieldError, Kind, Resource, validate_for_engine};
use dbprov_backup::artifact::{self, ArtifactMetadata};
use dbprov_backup::{DatabaseTarget, Progress, RestoreError, RestoreMode, RestoreReport, RestoreRequest};
use dbprov_core::model::{CatalogRequest, DatabaseSpec};
use dbprov_core::{EngineKind, Name, NameKind};
use tokio::sync::watch;

use crate::backup_settings::{
    BackupEnvironment, artifact_location, deadline, encryption_key, namespace_of, open_storage,
    resolve_database, restore_options, split_artifact_path,
};
use crate::backup_status::{self, RESTORE_COMPLETED, failed_phase, set_ready, time};
use crate::context::{Context, ObjectRef};
use crate::database_ref::database_exists;
use crate::failure::Failure;
use crate::instance::{ResolvedInstance, instance_ref, resolve_instance};
use crate::outcome::{Event, Info, Outcome};
use crate::run::Mode;

/// Reconciles a restore. `previous` is its recorded status; `progress` receives progress while it runs.
pub async fn reconcile_restore(
    ctx: &Context,
    restore: &DatabaseRestore,
    previous: Option<&DatabaseRestoreStatus>,
    mode: Mode,
    env: &BackupEnvironment,
    progress: Option<watch::Sender<Progress>>,
) -> (Outcome, DatabaseRestoreStatus) {
    let object = ObjectRef::of(&Resource::DatabaseRestore(Box::new(restore.clone())))
        .expect("invariant: a DatabaseRestore is an API kind");
    let mut outcome = Outcome::new(object);
    let mut status = previous.cloned().unwrap_or_default();
    if status.phase == Some(RunPhase::Completed) {
        // Never again: running a completed restore twice could replace newer data.
        outcome.exists_before = true;
        return (outcome, status);
    }
    let generation = restore.metadata.generation;
    let started_at = Utc::now();
    let mut facts = Facts::default();
    let result = run(ctx, restore, mode, env, progress, &mut outcome, &mut facts).await;
    let now = time(Utc::now());
    if mode == Mode::Plan {
        if let Err(failure) = result {
            outcome = outcome.failed(failure);
        }
        return (outcome, status);
    }
    status.observed_generation = generation;
    status.engine = facts.engine.map(|engine| engine.as_str().to_owned());
    status.restore = Some(RestoreInfo {
        source_backup: restore
            .spec
            .backup_ref
            .as_ref()
            .map(|reference| reference.name.clone()),
        source_artifact: facts.artifact_location.clone(),
        target_instance: facts.instance.clone(),
        target_database: facts.database.clone(),
        in_place: restore.spec.target.in_place,
    });
    if facts.started {
        status.started_at = Some(time(started_at));
        status.completed_at = Some(now.clone());
    }
    match result {
        Ok(Some(report)) => {
            status.phase = Some(RunPhase::Completed);
            let message = format!(
                "restored {} into {}{}",
                report.artifact,
                report.database,
                if report.in_place { " (in place)" } else { "" }
            );
            status.message = Some(message.clone());
            status.progress = Some(backup_status::progress(&Progress {
                phase: dbprov_backup::Phase::Done,
                raw_bytes: report.raw_bytes,
                stored_bytes: report.metadata.stored_size_bytes,
                stored_total: Some(report.metadata.stored_size_bytes),
                elapsed: std::time::Duration::ZERO,
            }));
            set_ready(
                &mut status.conditions,
                RunPhase::Completed,
                RESTORE_COMPLETED,
                message,
                generation,
                &now,
            );
        }
        Ok(None) => {}
        Err(failure) => {
            let phase = failed_phase(&failure);
            let message = failure.to_string();
            status.phase = Some(phase);
            status.message = Some(message.clone());
            set_ready(
                &mut status.conditions,
                phase,
                failure.reason(),
                message,
                generation,
                &now,
            );
            outcome = outcome.failed(failure);
        }
    }
    (outcome, status)
}

/// What was learned along the way, for the status (also when the restore fails).
#[derive(Debug, Default)]
struct Facts {
    engine: Option<EngineKind>,
    instance: Option<String>,
    database: Option<String>,
    artifact_location: Option<String>,
    /// The restore itself started (the library was called).
    started: bool,
}

/// Where the artifact is and how to read it.
struct Source {
    storage: BackupStorage,
    /// The namespace its Secrets (S3 credentials, key) are read from.
    namespace: String,
    directory: Option<String>,
    artifact: String,
    encryption: Option<EncryptionConfig>,
    encryption_field: &'static str,
}

async fn run(
    ctx: &Context,
    restore: &DatabaseRestore,
    mode: Mode,
    env: &BackupEnvironment,
    progress: Option<watch::Sender<Progress>>,
    outcome: &mut Outcome,
    facts: &mut Facts,
) -> Result<Option<RestoreReport>, Failure> {
    let resource = Resource::DatabaseRestore(Box::new(restore.clone()));
    dbprov_api::validate(&resource)?;
    let namespace = namespace_of(restore.metadata.namespace.as_ref());
    let spec = &restore.spec;
    let source = source(ctx, restore, &namespace).await?;
    let (instance, database, database_object) = target(ctx, restore, &namespace).await?;
    let engine = instance.kind;
    facts.engine = Some(engine);
    facts.instance = Some(instance.connection.label.clone());
    facts.database = Some(database.clone());
    outcome.info = Info::Restore { engine };
    validate_for_engine(&resource, engine)?;

    let storage_field = if spec.from_path.is_some() {
        "spec.fromPath.storage"
    } else {
        "spec.backupRef"
    };
    let storage = open_storage(
        ctx,
        &source.namespace,
        &source.storage,
        source.directory.as_deref(),
        env,
        storage_field,
    )
    .await?;
    let location = artifact_location(&storage, &source.artifact);
    facts.artifact_location = Some(location.clone());
    let key = encryption_key(
        ctx,
        &source.namespace,
        source.encryption.as_ref(),
        source.encryption_field,
    )
    .await?;
    let metadata = artifact::read_metadata(&storage, &source.artifact)
        .await
        .map_err(|error| Failure::Backup {
            reason: error.kind(),
            message: dbprov_core::error::error_chain(&error),
            transient: error.kind() == "StorageFailed",
        })?;
    check_declared_compression(restore, &metadata)?;

    let in_place = spec.target.in_place;
    let mut request = RestoreRequest::new(
        source.artifact.clone(),
        DatabaseTarget::new(engine, instance.connection.clone(), database.clone()),
    );
    request.mode = if in_place {
        RestoreMode::InPlace {
            acknowledgement: spec
                .confirmation
                .as_ref()
                .and_then(|confirmation| confirmation.acknowledge_data_loss.clone())
                .unwrap_or_default(),
        }
    } else {
        RestoreMode::NewDatabase
    };
    request.encryption = key;
    request.options = restore_options(spec);
    request.tools = env.tools.clone();

    // A database named on an instance is created when missing; a `Database` object's database is dbprov's
    // to create (it was applied before this restore).
    let create = !in_place
        && database_object.is_none()
        && engine != EngineKind::Sqlite
        && create_database_allowed(restore, engine)
        && !database_exists(ctx, &instance, database_name(&database)?).await?;
    let what = format!(
        "restore {location} ({} bytes, sha256:{}, {} from {} on {}) into {database} on {}{}, after verifying it",
        metadata.stored_size_bytes,
        metadata.sha256,
        metadata.database,
        metadata.engine.display_name(),
        metadata.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        instance.connection.label,
        if in_place {
            " in place (replacing its objects)"
        } else {
            ""
        },
    );
    if mode == Mode::Plan {
        if create {
            outcome.notes.push(format!(
                "create database {database} on {}",
                instance.connection.label
            ));
        }
        outcome.notes.push(what);
        return Ok(None);
    }
    if create {
        change_database(ctx, &instance, &database, true).await?;
        outcome.created = true;
        outcome.executed.push(format!(
            "create database {database} on {}",
            instance.connection.label
        ));
    }
    facts.started = true;
    let limit = deadline(spec.active_deadline_seconds, DEFAULT_RESTORE_DEADLINE_SECONDS);
    let result = tokio::time::timeout(limit, dbprov_backup::restore(&request, &storage, progress)).await;
    let failure = match result {
        Ok(Ok(report)) => {
            outcome.applied = true;
            outcome.executed.push(format!(
                "restore {location} into {database} on {}{}",
                instance.connection.label,
                if in_place { " (in place)" } else { "" }
            ));
            outcome.events.push(Event::normal(
                RESTORE_COMPLETED,
                format!("restored {location} into {database}"),
            ));
            return Ok(Some(report));
        }
        Ok(Err(error)) => restore_failure(&error, &database),
        Err(_) => (
            Failure::Backup {
                reason: "DeadlineExceeded",
                message: format!(
                    "the restore into {database} did not finish within activeDeadlineSeconds ({}s) and was cancelled; {database} may hold part of the data",
                    limit.as_secs()
                ),
                transient: false,
            },
            true,
        ),
    };
    let (failure, touched) = failure;
    if create && !touched {
        // Leave nothing behind: the database was created for this restore and never written to.
        if let Err(error) = change_database(ctx, &instance, &database, false).await {
            outcome.events.push(Event::warning(
                "CleanupFailed",
                format!("failed to drop database {database} created for the restore: {error}"),
            ));
        }
    }
    Err(failure)
}

fn restore_failure(error: &RestoreError, database: &str) -> (Failure, bool) {
    let touched = error.target_touched();
    let mut message = dbprov_core::error::error_chain(error);
    if !touched && !message.contains("not touched") {
        message.push_str(&format!(" ({database} was not touched)"));
    }
    let reason = error.kind();
    let transient = matches!(reason, "StorageFailed" | "InspectFailed" | "StreamFailed");
    (
        Failure::Backup {
            reason,
            message,
            transient,
        },
        touched,
    )
}

/// `fromPath.compression`, when given, must say what the artifact is.
fn check_declared_compression(restore: &DatabaseRestore, metadata: &ArtifactMetadata) -> Result<(), Failure> {
    let Some(declared) = restore
        .spec
        .from_path
        .as_ref()
        .and_then(|from| from.compression.as_ref())
    else {
        return Ok(());
    };
    let declared =
        crate::backup_settings::compression(Some(declared), "spec.fromPath.compression")?.algorithm();
    if declared != metadata.compression.algorithm {
        return Err(Failure::invalid(FieldError::invalid(
            "spec.fromPath.compression",
            format!(
                "says {}, but {} is compressed with {}",
                declared.as_str(),
                metadata.artifact,
                metadata.compression.algorithm.as_str()
            ),
        )));
    }
    Ok(())
}

fn create_database_allowed(restore: &DatabaseRestore, engine: EngineKind) -> bool {
    let spec = &restore.spec;
    let setting = match engine {
        EngineKind::Postgres => spec.postgres.as_ref().and_then(|p| p.create_database),
        _ => spec.mysql.as_ref().and_then(|m| m.create_database),
    };
    setting.unwrap_or(true)
}

async fn source(ctx: &Context, restore: &DatabaseRestore, namespace: &str) -> Result<Source, Failure> {
    let spec = &restore.spec;
    if let Some(from) = &spec.from_path {
        let path = from
            .artifact_path()
            .ok_or_else(|| Failure::invalid(FieldError::required("spec.fromPath.backupPath")))?;
        let (directory, artifact) = split_artifact_path(path);
        return Ok(Source {
            storage: from.storage.clone(),
            namespace: namespace.to_owned(),
            directory: directory.map(str::to_owned),
            artifact: artifact.to_owned(),
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
    let status = backup.status.as_ref();
    let artifact = status
        .filter(|status| status.phase == Some(RunPhase::Completed))
        .and_then(|status| status.backup.as_ref())
        .and_then(|info| info.artifact.clone())
        .ok_or_else(|| Failure::Backup {
            reason: "BackupNotCompleted",
            message: format!("{object} has not completed; there is nothing to restore yet"),
            transient: true,
        })?;
    Ok(Source {
        storage: backup.spec.storage.clone(),
        namespace: object.namespace.clone().unwrap_or_else(|| namespace.to_owned()),
        directory: None,
        artifact,
        encryption: backup.spec.encryption.clone(),
        encryption_field: "spec.backupRef",
    })
}

/// The target instance, the database name on it, and the `Database` object when `databaseRef` was used.
async fn target(
    ctx: &Context,
    restore: &DatabaseRestore,
    namespace: &str,
) -> Result<(ResolvedInstance, String, Option<ObjectRef>), Failure> {
    let target = &restore.spec.target;
    if let Some(reference) = &target.database_ref {
        let resolved = resolve_database(ctx, namespace, reference, "spec.target.databaseRef").await?;
        let name = resolved.database.spec.name.clone();
        return Ok((resolved.instance, name, Some(resolved.object)));
    }
    let instance_object = instance_ref(
        target.instance_ref.as_ref(),
        target.cluster_instance_ref.as_ref(),
        namespace,
    )?;
    let instance = resolve_instance(ctx, &instance_object, true).await?;
    let name = target
        .database_name
        .clone()
        .ok_or_else(|| Failure::invalid(FieldError::required("spec.target.databaseName")))?;
    Ok((instance, name, None))
}

fn database_name(database: &str) -> Result<Name, Failure> {
    Name::parse(NameKind::Database, database)
        .map_err(|error| Failure::invalid(FieldError::invalid("spec.target.databaseName", error.to_string())))
}

/// Creates (`create`) or drops the target database through the engine, as a `Database` would.
async fn change_database(
    ctx: &Context,
    instance: &ResolvedInstance,
    database: &str,
    create: bool,
) -> Result<(), Failure> {
    let name = database_name(database)?;
    let engine = ctx
        .engines
        .get(&instance.cache_key(), instance.kind, &instance.connection)
        .await
        .map_err(|error| Failure::Connect { error })?;
    let catalog = engine
        .inspect(&CatalogRequest::default().database(name.clone(), false))
        .await
        .map_err(|error| Failure::Engine { error })?;
    let plan = if create {
        engine.plan_database(&DatabaseSpec::new(name), &catalog)
    } else {
        engine.plan_drop_database(&name, &catalog)
    }
    .map_err(|error| Failure::Engine { error })?;
    engine
        .apply(&plan)
        .await
        .map_err(|error| Failure::Engine { error })?;
    Ok(())
}
