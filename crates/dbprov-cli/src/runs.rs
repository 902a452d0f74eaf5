//! Running backups and restores in-process, with a progress display, for `apply` and `schedule tick`; and
//! what `apply` does with a schedule (records it and says when it runs next: `schedule tick`/`run` run it).

use chrono::Utc;
use dbprov_api::Resource;
use dbprov_api::v1alpha1::{
    DatabaseBackup, DatabaseBackupSchedule, DatabaseBackupScheduleStatus, DatabaseBackupStatus,
    DatabaseRestore, DatabaseRestoreStatus,
};
use dbprov_reconcile::backup::reconcile_backup;
use dbprov_reconcile::backup_settings::BackupEnvironment;
use dbprov_reconcile::restore::reconcile_restore;
use dbprov_reconcile::schedule::{
    Due, created_at, due, expired, last_scheduled, parse_schedule, prune, runs_of, schedule_status,
};
use dbprov_reconcile::{Context, Mode, ObjectRef, Outcome};

use crate::host::{CliWorld, key_of};
use crate::output::resource_name;
use crate::progress::ProgressDisplay;
use crate::state::{ObjectRecord, StateStore};

fn previous_status<T: serde::de::DeserializeOwned>(record: Option<&ObjectRecord>) -> Option<T> {
    record.and_then(|record| serde_json::from_value(record.status.clone()).ok())
}

fn is_completed(status: &Option<impl serde::Serialize>) -> bool {
    status
        .as_ref()
        .and_then(|status| serde_json::to_value(status).ok())
        .is_some_and(|value| value["phase"] == "Completed")
}

/// Runs (or plans) a backup; in apply mode with a progress display. The status is also given to `world`,
/// so a restore later in the same run finds the artifact.
pub async fn backup(
    ctx: &Context,
    world: &CliWorld,
    backup: &DatabaseBackup,
    previous: Option<&ObjectRecord>,
    mode: Mode,
) -> (Outcome, DatabaseBackupStatus) {
    let object = ObjectRef::of(&Resource::DatabaseBackup(Box::new(backup.clone())))
        .expect("invariant: a DatabaseBackup is an API kind");
    let previous: Option<DatabaseBackupStatus> = previous_status(previous);
    let env = BackupEnvironment::local();
    let (outcome, status) = if mode == Mode::Apply && !is_completed(&previous) {
        let (sender, display) = ProgressDisplay::start(format!("backup {}", object.name));
        let result = reconcile_backup(ctx, backup, previous.as_ref(), mode, &env, Some(sender)).await;
        display.finish().await;
        result
    } else {
        reconcile_backup(ctx, backup, previous.as_ref(), mode, &env, None).await
    };
    if mode == Mode::Apply {
        world.set_status(&object, serde_json::to_value(&status).unwrap_or_default());
    }
    (outcome, status)
}

/// Runs (or plans) a restore; in apply mode with a progress display.
pub async fn restore(
    ctx: &Context,
    restore: &DatabaseRestore,
    previous: Option<&ObjectRecord>,
    mode: Mode,
) -> (Outcome, DatabaseRestoreStatus) {
    let object = ObjectRef::of(&Resource::DatabaseRestore(Box::new(restore.clone())))
        .expect("invariant: a DatabaseRestore is an API kind");
    let previous: Option<DatabaseRestoreStatus> = previous_status(previous);
    let env = BackupEnvironment::local();
    if mode == Mode::Apply && !is_completed(&previous) {
        let (sender, display) = ProgressDisplay::start(format!("restore {}", object.name));
        let result = reconcile_restore(ctx, restore, previous.as_ref(), mode, &env, Some(sender)).await;
        display.finish().await;
        result
    } else {
        reconcile_restore(ctx, restore, previous.as_ref(), mode, &env, None).await
    }
}

/// What `apply` does with a schedule: checks it, computes its next run and records it; the backups
/// themselves are run by `dbprov schedule tick` (from system cron) or `dbprov schedule run`.
pub async fn schedule(
    state: &StateStore,
    schedule: &DatabaseBackupSchedule,
    previous: Option<&ObjectRecord>,
    spec_changed: bool,
    mode: Mode,
) -> anyhow::Result<(Outcome, DatabaseBackupScheduleStatus)> {
    let object = ObjectRef::of(&Resource::DatabaseBackupSchedule(Box::new(schedule.clone())))
        .expect("invariant: a DatabaseBackupSchedule is an API kind");
    let mut outcome = Outcome::new(object);
    let previous_status: DatabaseBackupScheduleStatus = previous_status(previous).unwrap_or_default();
    let now = Utc::now();
    let cron = match parse_schedule(schedule) {
        Ok(cron) => cron,
        Err(failure) => return Ok((outcome.failed(failure), previous_status)),
    };
    let runs: Vec<DatabaseBackup> = runs_of(schedule, &recorded_backups(state).await?)
        .into_values()
        .collect();
    let since = previous
        .and_then(|record| record.manifest["metadata"]["creationTimestamp"].as_str())
        .and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
        .unwrap_or_else(|| created_at(schedule, now));
    let last = last_scheduled(&previous_status);
    let next = match due(
        &cron,
        schedule.spec.paused,
        schedule.spec.concurrency_policy,
        last,
        since,
        now,
        false,
    ) {
        Due::NotDue { next } => next,
        Due::Paused => None,
        Due::Run { scheduled, .. } | Due::Skip { scheduled } => Some(scheduled),
    };
    let status = schedule_status(&previous_status, schedule, &runs, None, next, now);
    outcome.exists_before = previous.is_some();
    if spec_changed {
        let when = match next {
            Some(next) => format!("next backup at {}", next.format("%Y-%m-%d %H:%M:%S UTC")),
            None => "paused".to_owned(),
        };
        outcome.notes.push(format!(
            "schedule {} ({}): {when}; `dbprov schedule tick` (from cron) or `dbprov schedule run` runs it",
            schedule.spec.schedule,
            cron.timezone().name()
        ));
        outcome.applied = mode == Mode::Apply;
    }
    Ok((outcome, status))
}

/// Every `DatabaseBackup` in the state, with its status.
pub async fn recorded_backups(state: &StateStore) -> anyhow::Result<Vec<DatabaseBackup>> {
    let mut backups = Vec::new();
    for record in state.list(Some("DatabaseBackup")).await? {
        let mut value = record.manifest.clone();
        value["status"] = record.status.clone();
        if let Ok(Resource::DatabaseBackup(backup)) = dbprov_api::parse_document(value) {
            backups.push(*backup);
        }
    }
    Ok(backups)
}

/// Deletes the artifact of a recorded backup and forgets the backup; prints one line per artifact deleted
/// (`why` says for what). Returns the artifacts deleted.
pub async fn prune_and_forget(
    ctx: &Context,
    state: &StateStore,
    backup: &DatabaseBackup,
    why: &str,
) -> anyhow::Result<Vec<String>> {
    let deleted = prune(ctx, &BackupEnvironment::local(), &[backup])
        .await
        .map_err(|failure| anyhow::anyhow!("{failure}"))?;
    let object = ObjectRef::of(&Resource::DatabaseBackup(Box::new(backup.clone())))
        .expect("invariant: a backup is an API kind");
    state.remove(&key_of(&object)).await?;
    for artifact in &deleted {
        println!("{} pruned: {artifact} ({why})", resource_name(&object));
    }
    Ok(deleted)
}

/// Deletes the artifacts of recorded backups whose `ttl` has passed, then forgets them. Scheduled or not:
/// `schedule tick`/`run` and `backup prune` call it. Stops at the first failure (what was deleted stays
/// deleted and forgotten). Returns the artifacts deleted.
pub async fn prune_expired(
    ctx: &Context,
    state: &StateStore,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let mut pruned = Vec::new();
    for backup in recorded_backups(state).await? {
        if expired(&backup, now) {
            pruned.extend(prune_and_forget(ctx, state, &backup, "ttl expired").await?);
        }
    }
    Ok(pruned)
}
