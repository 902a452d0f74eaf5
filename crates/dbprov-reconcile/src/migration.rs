//! `DatabaseMigration`: golang-migrate-compatible migrations against a `Database`, through `dbprov-migrate`.
//! Applied files are recorded with their checksum; a later source whose applied files changed is reported,
//! never re-run.

use dbprov_api::v1alpha1::{AppliedMigration, DatabaseMigration};
use dbprov_api::{FieldError, Kind, Resource};
use dbprov_core::{ConnectionSpec, Endpoint, EngineKind};
use dbprov_migrate::checksum::{AppliedFile, record_run, verify};
use dbprov_migrate::url::{MySqlTarget, PostgresTarget, SqliteTarget};
use dbprov_migrate::{DatabaseVersion, MigrationTarget, Migrator, Source};

use crate::context::{Context, ObjectRef};
use crate::database_ref::{DatabaseAndInstance, database_and_instance, user_credentials};
use crate::failure::Failure;
use crate::outcome::{Event, Info, Outcome};
use crate::run::Mode;

/// What the migration found and did, for the status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MigrationState {
    pub current_version: Option<u64>,
    pub dirty: bool,
    /// Every applied up file this object knows of (recorded ones plus those run now).
    pub applied: Vec<AppliedMigration>,
    /// Files that would run (plan mode).
    pub pending: Vec<String>,
    /// Applied files that changed since they ran.
    pub mismatches: Vec<String>,
}

fn invalid(path: &str, message: impl Into<String>) -> Failure {
    Failure::invalid(FieldError::invalid(path, message.into()))
}

/// Reconciles a `DatabaseMigration`. `recorded` is what the status says was applied before.
pub async fn reconcile_migration(
    ctx: &Context,
    migration: &DatabaseMigration,
    recorded: &[AppliedMigration],
    mode: Mode,
) -> (Outcome, MigrationState) {
    let object = ObjectRef::of(&Resource::DatabaseMigration(Box::new(migration.clone())))
        .expect("a DatabaseMigration is an API kind");
    let mut outcome = Outcome::new(object);
    let mut state = MigrationState {
        applied: recorded.to_vec(),
        ..MigrationState::default()
    };
    match converge(ctx, migration, &mut outcome, &mut state, mode).await {
        Ok(()) => (outcome, state),
        Err(failure) => (outcome.failed(failure), state),
    }
}

async fn converge(
    ctx: &Context,
    migration: &DatabaseMigration,
    outcome: &mut Outcome,
    state: &mut MigrationState,
    mode: Mode,
) -> Result<(), Failure> {
    let resource = Resource::DatabaseMigration(Box::new(migration.clone()));
    dbprov_api::validate(&resource).map_err(Failure::from)?;
    let namespace = migration
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let spec = &migration.spec;
    let DatabaseAndInstance {
        database, instance, ..
    } = database_and_instance(ctx, &namespace, &spec.database_ref, "spec.databaseRef").await?;
    let mut connection = instance.connection.clone();
    if let Some(credentials) = &spec.credentials {
        connection.credentials = Some(
            user_credentials(
                ctx,
                &namespace,
                &credentials.user_ref.name,
                "spec.credentials.userRef",
            )
            .await?,
        );
    }
    let mut target = target_for(instance.kind, &connection, &database.spec.name)?;
    if let Some(table) = &spec.table {
        target.set_migrations_table(table.clone());
    }
    let source = load_source(ctx, migration, &namespace).await?;

    let recorded: Vec<AppliedFile> = state
        .applied
        .iter()
        .map(|applied| AppliedFile {
            version: applied.version,
            file_name: applied.name.clone(),
            checksum: applied.checksum.clone(),
        })
        .collect();
    state.mismatches = verify(&recorded, &source)
        .iter()
        .map(ToString::to_string)
        .collect();
    if !state.mismatches.is_empty() {
        outcome
            .events
            .push(Event::warning("ChecksumMismatch", state.mismatches.join("; ")));
    }

    let mut migrator = Migrator::connect(&target, source)
        .await
        .map_err(|error| migration_failure("connect", error))?
        .with_lock_timeout(std::time::Duration::from_secs(u64::from(
            spec.lock_timeout_seconds.unwrap_or(15),
        )));
    let result = run(&mut migrator, spec.target_version, mode, outcome, state, recorded).await;
    let closed = migrator.close().await;
    outcome.info = Info::Migration {
        engine: instance.kind,
    };
    result?;
    closed.map_err(|error| migration_failure("disconnect", error))?;
    outcome.exists_before = true;
    Ok(())
}

async fn run(
    migrator: &mut Migrator,
    target_version: Option<u64>,
    mode: Mode,
    outcome: &mut Outcome,
    state: &mut MigrationState,
    mut recorded: Vec<AppliedFile>,
) -> Result<(), Failure> {
    let version = migrator
        .version()
        .await
        .map_err(|error| migration_failure("read the version", error))?;
    state.current_version = version.version;
    state.dirty = version.dirty;
    if version.dirty {
        return Err(Failure::Migration {
            reason: "Dirty",
            message: format!(
                "Dirty database version {}. Fix and force version (dbprov migrate ... force V).",
                version.as_i64()
            ),
            transient: false,
        });
    }
    let wanted = target_version.or_else(|| migrator.source().last());
    let pending = pending_files(migrator.source(), version, wanted);
    match mode {
        Mode::Plan => {
            state.pending = pending.clone();
            outcome
                .notes
                .extend(pending.iter().map(|file| format!("migrate: run {file}")));
            Ok(())
        }
        Mode::Apply if pending.is_empty() => Ok(()),
        Mode::Apply => {
            let report = match target_version {
                Some(version) => migrator.goto(version).await,
                None => migrator.up(None).await,
            };
            let report = match report {
                Ok(report) => report,
                Err(error) => {
                    if let Some(partial) = error.report() {
                        record_run(&mut recorded, partial);
                        state.applied = to_status(&recorded);
                    }
                    state.dirty = matches!(error, dbprov_migrate::RunError::Failed(_));
                    return Err(migration_failure("migrate", error));
                }
            };
            record_run(&mut recorded, &report);
            state.applied = to_status(&recorded);
            state.current_version = report.end_version();
            outcome.applied = !report.applied.is_empty();
            outcome
                .executed
                .extend(report.applied.iter().map(ToString::to_string));
            outcome.events.push(Event::normal(
                "Migrated",
                format!(
                    "{} migration(s) ran; version {}",
                    report.applied.len(),
                    state.current_version.map_or("none".into(), |v| v.to_string())
                ),
            ));
            Ok(())
        }
    }
}

/// The files a run would execute to go from `version` to `wanted`.
fn pending_files(source: &Source, version: DatabaseVersion, wanted: Option<u64>) -> Vec<String> {
    let current = version.version;
    let mut files = Vec::new();
    for file in source.files() {
        let v = file.version();
        match (file.direction(), current, wanted) {
            (dbprov_migrate::Direction::Up, _, Some(wanted))
                if current.is_none_or(|c| v > c) && v <= wanted =>
            {
                files.push(file.file_name().to_owned());
            }
            (dbprov_migrate::Direction::Down, Some(c), Some(wanted)) if v <= c && v > wanted => {
                files.push(file.file_name().to_owned());
            }
            _ => {}
        }
    }
    files
}

fn to_status(recorded: &[AppliedFile]) -> Vec<AppliedMigration> {
    recorded
        .iter()
        .map(|file| AppliedMigration {
            version: file.version,
            name: file.file_name.clone(),
            checksum: file.checksum.clone(),
            applied_at: Some(chrono::Utc::now().to_rfc3339()),
        })
        .collect()
}

fn migration_failure(action: &str, error: impl std::error::Error + 'static) -> Failure {
    let message = format!("failed to {action}: {}", dbprov_core::error::error_chain(&error));
    Failure::Migration {
        reason: "MigrationFailed",
        message,
        transient: true,
    }
}

fn target_for(
    engine: EngineKind,
    connection: &ConnectionSpec,
    database: &str,
) -> Result<MigrationTarget, Failure> {
    // The SQLite engine keeps database `name` in `<instance directory>/<name>.sqlite3`.
    let bad = |error: dbprov_migrate::UrlError| invalid("spec.databaseRef", error.to_string());
    Ok(match engine {
        EngineKind::Postgres => {
            MigrationTarget::Postgres(PostgresTarget::from_connection(connection, database).map_err(bad)?)
        }
        EngineKind::MySql | EngineKind::MariaDb => {
            MigrationTarget::MySql(MySqlTarget::from_connection(connection, database).map_err(bad)?)
        }
        EngineKind::Sqlite => match &connection.endpoint {
            Endpoint::Directory { path } => {
                MigrationTarget::Sqlite(SqliteTarget::from_path(path.join(format!("{database}.sqlite3"))))
            }
            _ => {
                return Err(invalid(
                    "spec.databaseRef",
                    "the SQLite instance has no directory",
                ));
            }
        },
    })
}

async fn load_source(
    ctx: &Context,
    migration: &DatabaseMigration,
    namespace: &str,
) -> Result<Source, Failure> {
    let spec = &migration.spec.source;
    let bad = |error: dbprov_migrate::SourceError| invalid("spec.source", error.to_string());
    if let Some(directory) = &spec.directory {
        return Source::from_directory(directory).map_err(bad);
    }
    if !spec.inline.is_empty() {
        let files = spec
            .inline
            .iter()
            .map(|file| (file.name.clone(), file.content.clone().into_bytes()));
        return Source::from_files(
            format!(
                "{}/{} inline",
                namespace,
                migration.metadata.name.as_deref().unwrap_or("")
            ),
            files,
        )
        .map_err(bad);
    }
    if let Some(reference) = &spec.config_map_ref {
        let namespace = reference.namespace.as_deref().unwrap_or(namespace);
        let files = ctx
            .source
            .config_map(namespace, &reference.name)
            .await
            .map_err(|error| Failure::Source { error })?
            .ok_or_else(|| Failure::ReferenceNotFound {
                object: ObjectRef::new(Kind::DatabaseMigration, Some(namespace), &reference.name),
                field: "spec.source.configMapRef",
            })?;
        return Source::from_files(
            format!("configmap {namespace}/{}", reference.name),
            files.into_iter().map(|(k, v)| (k, v.into_bytes())),
        )
        .map_err(bad);
    }
    Err(invalid(
        "spec.source",
        "exactly one of directory, configMapRef and inline must be set",
    ))
}
