//! `dbprov plan` and `dbprov apply`: the same pipeline, planning only or applying.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dbprov_api::Resource;
use dbprov_api::v1alpha1::{AppliedMigration, OAuth2ClientStatus};
use dbprov_core::model::GrantScope;
use dbprov_reconcile::index::GrantIndex;
use dbprov_reconcile::migration::{MigrationState, reconcile_migration};
use dbprov_reconcile::oauth2_client::{self, reconcile_oauth2_client};
use dbprov_reconcile::run::Phase;
use dbprov_reconcile::{
    Context, Failure, Mode, ObjectRef, Outcome, Prepared, prepare, reconcile_instance, run,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::ExitStatus;
use crate::cli::{GlobalOptions, OutputFormat};
use crate::host::{CliWorld, key_of};
use crate::loader::{self, Document, ManifestProblem};
use crate::output;
use crate::record::{extra_of, hints_from, spec_hash, status_of};
use crate::runs;
use crate::secret_files::{SecretDocument, SecretFiles, SecretMetadata};
use crate::state::{ObjectKey, ObjectRecord, StateStore};

/// Failures that mean the manifests are wrong (not the servers): reported before anything runs.
fn is_manifest_problem(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::Invalid { .. }
            | Failure::InstanceNotFound { .. }
            | Failure::ReferenceNotFound { .. }
            | Failure::SecretNotFound { .. }
    )
}

pub async fn converge(
    global: &GlobalOptions,
    paths: &[PathBuf],
    mode: Mode,
    detailed_exitcode: bool,
) -> anyhow::Result<ExitStatus> {
    let mut documents = match loader::load(paths) {
        Ok(documents) => documents,
        Err(problems) => return Ok(report_problems(&problems)),
    };
    loader::dependency_order(&mut documents);
    let state = StateStore::open(&global.state_dir).await?;
    let world = Arc::new(CliWorld::new(
        documents.iter().map(|d| d.loaded.clone()).collect(),
        state.clone(),
    ));
    let ctx = Context::new(world.clone(), world.clone());

    // Everything that can be checked without a server is checked before anything runs.
    world.set_assume_ready(true);
    let index = match GrantIndex::build(&ctx).await {
        Ok(index) => index,
        Err(failure) => {
            return Ok(report_problems(&[ManifestProblem {
                origin: None,
                message: failure.to_string(),
            }]));
        }
    };
    let mut prepared: Vec<(usize, Result<Prepared, Failure>)> = Vec::new();
    let mut problems = Vec::new();
    let mut previous: BTreeMap<ObjectRef, Option<ObjectRecord>> = BTreeMap::new();
    // Every earlier record in one query, not one per object.
    let stored: BTreeMap<ObjectKey, ObjectRecord> = state
        .list(None)
        .await?
        .into_iter()
        .map(|record| (record.key.clone(), record))
        .collect();
    for (position, document) in documents.iter().enumerate() {
        let resource = &document.loaded.resource;
        let Some(object) = ObjectRef::of(resource) else {
            continue;
        };
        let record = stored.get(&key_of(&object)).cloned();
        previous.insert(object.clone(), record.clone());
        if matches!(
            resource,
            Resource::DatabaseInstance(_) | Resource::ClusterDatabaseInstance(_)
        ) {
            // The instance's own Secrets are checked here, so a missing one is reported against the instance.
            if let Err(failure) = dbprov_reconcile::resolve_instance(&ctx, &object, false).await
                && is_manifest_problem(&failure)
            {
                problems.push(ManifestProblem {
                    origin: Some(document.loaded.origin.clone()),
                    message: failure.to_string(),
                });
            }
            continue;
        }
        if matches!(
            resource,
            Resource::DatabaseBackup(_)
                | Resource::DatabaseBackupSchedule(_)
                | Resource::DatabaseRestore(_)
                | Resource::DatabaseMigration(_)
                | Resource::OAuth2Client(_)
        ) {
            // Migrations, backups, schedules, restores and OAuth2 clients run last, in manifest order; here only
            // their references are checked.
            if let Err(failure) = run_references(&ctx, resource).await {
                problems.push(ManifestProblem {
                    origin: Some(document.loaded.origin.clone()),
                    message: failure.to_string(),
                });
            }
            continue;
        }
        let result = prepare(
            &ctx,
            resource,
            &index,
            hints_from(record.as_ref(), &document.value),
        )
        .await;
        if let Err(failure) = &result
            && is_manifest_problem(failure)
        {
            problems.push(ManifestProblem {
                origin: Some(document.loaded.origin.clone()),
                message: failure.to_string(),
            });
        }
        prepared.push((position, result));
    }
    world.set_assume_ready(false);
    if !problems.is_empty() {
        return Ok(report_problems(&problems));
    }

    if mode == Mode::Apply {
        keep_manifest_secrets(&state, &documents)?;
    }
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut outcomes: BTreeMap<ObjectRef, Outcome> = BTreeMap::new();
    for document in &documents {
        let resource = &document.loaded.resource;
        if !matches!(
            resource,
            Resource::DatabaseInstance(_) | Resource::ClusterDatabaseInstance(_)
        ) {
            continue;
        }
        let object = ObjectRef::of(resource).expect("instances are API kinds");
        let outcome = reconcile_instance(&ctx, &object).await;
        world.mark_ready(&object, outcome.is_ok());
        outcomes.insert(object, outcome);
    }

    let mut ready = Vec::new();
    for (position, result) in prepared {
        let object =
            ObjectRef::of(&documents[position].loaded.resource).expect("prepared objects are API kinds");
        match result {
            Ok(item) => ready.push(item),
            Err(failure) => {
                outcomes.insert(object.clone(), Outcome::new(object).failed(failure));
            }
        }
    }
    let of_kind = |kind: dbprov_api::Kind| {
        ready
            .iter()
            .filter(|item| item.object.kind == kind)
            .cloned()
            .collect::<Vec<_>>()
    };
    // Roles, then users (a user may be a member of a role), then databases (an owner must exist), then every
    // grant (they need the grantee and the database).
    let roles = of_kind(dbprov_api::Kind::DatabaseRole);
    let users = of_kind(dbprov_api::Kind::DatabaseUser);
    run(&ctx, &roles, Phase::Roles, mode, &mut outcomes).await;
    run(&ctx, &users, Phase::Roles, mode, &mut outcomes).await;
    run(&ctx, &ready, Phase::Databases, mode, &mut outcomes).await;
    run(&ctx, &ready, Phase::Grants, mode, &mut outcomes).await;
    // Schema migrations last: the database, its users and their privileges exist by now.
    let mut migrations: BTreeMap<ObjectRef, MigrationState> = BTreeMap::new();
    for document in &documents {
        let Resource::DatabaseMigration(migration) = &document.loaded.resource else {
            continue;
        };
        let object = ObjectRef::of(&document.loaded.resource).expect("a migration is an API kind");
        let recorded: Vec<AppliedMigration> = previous
            .get(&object)
            .and_then(|record| record.as_ref())
            .and_then(|record| serde_json::from_value(record.status["applied"].clone()).ok())
            .unwrap_or_default();
        let (outcome, migration_state) = reconcile_migration(&ctx, migration, &recorded, mode).await;
        outcomes.insert(object.clone(), outcome);
        migrations.insert(object, migration_state);
    }
    // Backups, schedules and restores after everything else, in manifest order: a restore may use a backup
    // made earlier in the same run.
    let mut run_statuses: BTreeMap<ObjectRef, serde_json::Value> = BTreeMap::new();
    for document in &documents {
        let resource = &document.loaded.resource;
        let Some(object) = ObjectRef::of(resource) else {
            continue;
        };
        let record = previous.get(&object).and_then(Option::as_ref);
        let (outcome, status) = match resource {
            Resource::DatabaseBackup(backup) => {
                let (outcome, status) = runs::backup(&ctx, &world, backup, record, mode).await;
                (outcome, serde_json::to_value(status)?)
            }
            Resource::DatabaseRestore(restore) => {
                let (outcome, status) = runs::restore(&ctx, restore, record, mode).await;
                (outcome, serde_json::to_value(status)?)
            }
            Resource::DatabaseBackupSchedule(schedule) => {
                let spec_changed = hints_from(record, &document.value).spec_changed;
                let (outcome, status) = runs::schedule(&state, schedule, record, spec_changed, mode).await?;
                (outcome, serde_json::to_value(status)?)
            }
            Resource::OAuth2Client(client) => {
                let mut status: OAuth2ClientStatus = record
                    .and_then(|record| serde_json::from_value(record.status.clone()).ok())
                    .unwrap_or_default();
                let (outcome, client_state) = reconcile_oauth2_client(&ctx, client, &status, mode).await;
                oauth2_client::status(&mut status, &outcome, &client_state, None, &now);
                (outcome, serde_json::to_value(status)?)
            }
            _ => continue,
        };
        outcomes.insert(object.clone(), outcome);
        run_statuses.insert(object, status);
    }
    ctx.engines.close_all().await;

    if mode == Mode::Apply {
        let mut records = Vec::new();
        for document in &documents {
            let Some(object) = ObjectRef::of(&document.loaded.resource) else {
                continue;
            };
            let Some(outcome) = outcomes.get(&object) else {
                continue;
            };
            let prepared = ready.iter().find(|item| item.object == object);
            let recorded = Recorded {
                document,
                object: &object,
                outcome,
                previous: previous.get(&object).cloned().flatten(),
                prepared,
                migration: migrations.get(&object),
                status: run_statuses.get(&object),
            };
            records.push(record(recorded, &now));
        }
        // One transaction for the whole run: one fsync, not one per object.
        state.put_all(&records).await?;
    }
    state.close().await;

    let ordered: Vec<&Outcome> = documents
        .iter()
        .filter_map(|document| ObjectRef::of(&document.loaded.resource))
        .filter_map(|object| outcomes.get(&object))
        .collect();
    match global.output {
        Some(OutputFormat::Json) => output::print_json(&ordered, mode),
        Some(OutputFormat::Yaml) => output::print_yaml(&ordered, mode),
        _ => output::print_human(&ordered, mode),
    }
    let failed = ordered.iter().any(|outcome| !outcome.is_ok());
    let pending = ordered
        .iter()
        .any(|outcome| outcome.has_changes() || !outcome.drift_left.is_empty());
    Ok(if failed {
        ExitStatus::Failure
    } else if detailed_exitcode && pending {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

fn report_problems(problems: &[ManifestProblem]) -> ExitStatus {
    for problem in problems {
        eprintln!("dbprov: error: {problem}");
    }
    eprintln!(
        "dbprov: {} problem(s) in the manifests; nothing was changed",
        problems.len()
    );
    ExitStatus::Failure
}

/// Secrets given in manifests (admin credentials, existing passwords) are kept, private to the user, in the
/// state directory: deleting an object later must not depend on the manifest that carried them.
fn keep_manifest_secrets(state: &StateStore, documents: &[Document]) -> anyhow::Result<()> {
    let files = SecretFiles::new(state.dir());
    for document in documents {
        let Resource::Secret(secret) = &document.loaded.resource else {
            continue;
        };
        let Some(name) = secret.metadata.name.clone() else {
            continue;
        };
        let namespace = secret
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let mut values = BTreeMap::new();
        for key in secret
            .data
            .iter()
            .flat_map(|d| d.keys())
            .chain(secret.string_data.iter().flat_map(|d| d.keys()))
        {
            if let Some(value) = dbprov_api::document::secret_value(secret, key) {
                values.insert(key.clone(), value);
            }
        }
        let metadata = SecretMetadata {
            name,
            namespace: Some(namespace.clone()),
            labels: secret.metadata.labels.clone().unwrap_or_default(),
            annotations: Default::default(),
        };
        let secret_type = secret.type_.clone().unwrap_or_else(|| "Opaque".to_owned());
        files.write_copy(&namespace, &SecretDocument::new(metadata, &secret_type, &values))?;
    }
    Ok(())
}

/// Everything known about one object after a run, to be saved in the state.
struct Recorded<'a> {
    document: &'a Document,
    object: &'a ObjectRef,
    outcome: &'a Outcome,
    previous: Option<ObjectRecord>,
    prepared: Option<&'a Prepared>,
    migration: Option<&'a MigrationState>,
    /// The status a backup, schedule or restore reconciler computed.
    status: Option<&'a serde_json::Value>,
}

fn record(recorded: Recorded<'_>, now: &Time) -> ObjectRecord {
    let Recorded {
        document,
        object,
        outcome,
        previous,
        prepared,
        migration,
        status,
    } = recorded;
    let previous_status = previous
        .as_ref()
        .map(|record| record.status.clone())
        .unwrap_or_default();
    let status = match status {
        Some(status) => status.clone(),
        None => status_of(object.kind, &previous_status, outcome, migration, now),
    };
    // The declaration counts as applied when the reconcile succeeded; drift left in place under `detect`
    // does not make it pending again.
    let applied_spec_hash = if outcome.is_ok() {
        Some(spec_hash(&document.value))
    } else {
        previous
            .as_ref()
            .and_then(|record| record.applied_spec_hash.clone())
    };
    let scopes: Vec<GrantScope> = prepared
        .map(|item| {
            item.grants
                .iter()
                .filter(|grant| grant.is_database_level_only())
                .map(|grant| GrantScope {
                    grantee: grant.grantee.clone(),
                    database: grant.database.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    // `kubectl get` shows an AGE: the object's first apply stands in for the API server's creation time.
    let mut manifest = document.value.clone();
    let created_at = previous
        .as_ref()
        .and_then(|record| {
            record.manifest["metadata"]["creationTimestamp"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| now.0.to_string());
    manifest["metadata"]["creationTimestamp"] = serde_json::Value::from(created_at);
    ObjectRecord {
        key: key_of(object),
        manifest,
        status,
        applied_spec_hash,
        created: previous.as_ref().is_some_and(|record| record.created) || outcome.created,
        last_sql: if outcome.executed.is_empty() {
            previous
                .as_ref()
                .map(|record| record.last_sql.clone())
                .unwrap_or_default()
        } else {
            outcome.executed.clone()
        },
        extra: extra_of(previous.as_ref(), outcome, &scopes),
        updated_at: chrono::Utc::now(),
    }
}

/// The objects a migration, backup, schedule, restore or OAuth2 client refers to must exist (in the manifests or
/// the state).
async fn run_references(ctx: &Context, resource: &Resource) -> Result<(), Failure> {
    let namespace = resource.namespace().unwrap_or("default");
    let mut references = Vec::new();
    let mut reference = |kind, name: &str, ns: Option<&String>, field| {
        references.push((
            ObjectRef::new(kind, Some(ns.map_or(namespace, String::as_str)), name),
            field,
        ));
    };
    match resource {
        Resource::DatabaseMigration(migration) => {
            let database = &migration.spec.database_ref;
            reference(
                dbprov_api::Kind::Database,
                &database.name,
                database.namespace.as_ref(),
                "spec.databaseRef",
            );
        }
        Resource::OAuth2Client(client) => {
            let database = &client.spec.database_ref;
            reference(
                dbprov_api::Kind::Database,
                &database.name,
                database.namespace.as_ref(),
                "spec.databaseRef",
            );
        }
        Resource::DatabaseBackup(backup) => {
            let database = &backup.spec.database_ref;
            reference(
                dbprov_api::Kind::Database,
                &database.name,
                database.namespace.as_ref(),
                "spec.databaseRef",
            );
        }
        Resource::DatabaseBackupSchedule(schedule) => {
            let database = &schedule.spec.template.spec.database_ref;
            reference(
                dbprov_api::Kind::Database,
                &database.name,
                database.namespace.as_ref(),
                "spec.template.spec.databaseRef",
            );
        }
        Resource::DatabaseRestore(restore) => {
            if let Some(backup) = &restore.spec.backup_ref {
                reference(
                    dbprov_api::Kind::DatabaseBackup,
                    &backup.name,
                    backup.namespace.as_ref(),
                    "spec.backupRef",
                );
            }
            let target = &restore.spec.target;
            if let Some(database) = &target.database_ref {
                reference(
                    dbprov_api::Kind::Database,
                    &database.name,
                    database.namespace.as_ref(),
                    "spec.target.databaseRef",
                );
            }
            if let Some(instance) = &target.instance_ref {
                reference(
                    dbprov_api::Kind::DatabaseInstance,
                    &instance.name,
                    instance.namespace.as_ref(),
                    "spec.target.instanceRef",
                );
            }
            if let Some(instance) = &target.cluster_instance_ref {
                references.push((
                    ObjectRef::new(dbprov_api::Kind::ClusterDatabaseInstance, None, &instance.name),
                    "spec.target.clusterInstanceRef",
                ));
            }
        }
        _ => {}
    }
    for (object, field) in references {
        let found = ctx
            .source
            .get(&object)
            .await
            .map_err(|error| Failure::Source { error })?;
        if found.is_none() {
            return Err(Failure::ReferenceNotFound { object, field });
        }
    }
    Ok(())
}
