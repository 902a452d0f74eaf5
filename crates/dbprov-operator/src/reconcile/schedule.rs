//! `DatabaseBackupSchedule`: the pure decisions of `dbprov_reconcile::schedule` (what is due, which backup a
//! run creates, what retention removes, the status), with `DatabaseBackup` objects as the runs. A due run
//! creates a `DatabaseBackup` (its own controller runs it in a Job); `concurrencyPolicy` Forbid skips while a
//! run of the schedule has not finished, Replace deletes it (its deletion cancels the Job). Retention deletes
//! the backups it does not keep, annotated so that their artifacts are deleted before the objects go.
//! Reconciles again at the next occurrence.

use std::time::Duration;

use chrono::{DateTime, Utc};
use dbprov_api::Resource;
use dbprov_api::conditions::{ConditionStatus, ConditionType, set_condition};
use dbprov_api::v1alpha1::{DatabaseBackup, DatabaseBackupSchedule, DatabaseBackupScheduleStatus, RunPhase};
use dbprov_reconcile::backup_status::time;
use dbprov_reconcile::schedule::{
    Due, created_at, due, last_scheduled, parse_schedule, plan_retention, retention_policy, runs_of,
    schedule_status, scheduled_backup,
};
use dbprov_reconcile::{Event, Failure, ObjectRef};
use kube::api::PostParams;
use kube::{Api, Resource as _, ResourceExt};

use super::Reconciled;
use super::kube_writes::{write_finalizers, write_status};
use crate::annotations;
use crate::context::OperatorContext;
use crate::error::Error;
use crate::events::{self, Action as EventAction};
use crate::finalizer;
use crate::kinds::Managed;
use crate::runs::storage_in_cluster;
use crate::secrets::FIELD_MANAGER;

/// The longest wait between reconciles: a changed clock, expiring TTLs and age-based retention are noticed
/// within it even when the next occurrence is far away.
const MAX_WAIT: Duration = Duration::from_secs(3600);

fn done(failure: Option<&'static str>) -> Reconciled {
    Reconciled {
        requeue_after: None,
        failure,
    }
}

fn is_finished(backup: &DatabaseBackup) -> bool {
    matches!(
        backup.status.as_ref().and_then(|status| status.phase),
        Some(RunPhase::Completed | RunPhase::Failed)
    )
}

/// The wait until `next` (a little after it, so the occurrence has passed), within [1 s, [`MAX_WAIT`]].
pub fn wait_until(next: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Duration {
    let wait = match next {
        // An occurrence in the past is due now.
        Some(next) => (next - now)
            .to_std()
            .map_or(Duration::ZERO, |wait| wait + Duration::from_secs(1)),
        None => MAX_WAIT,
    };
    wait.clamp(Duration::from_secs(1), MAX_WAIT)
}

pub(super) async fn run(
    ctx: &OperatorContext,
    schedule: &DatabaseBackupSchedule,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    if schedule.metadata.deletion_timestamp.is_some() {
        return finalize(ctx, schedule, reference).await;
    }
    let label = reference.to_string();
    let current = schedule.finalizers().to_vec();
    if let Some(finalizers) = finalizer::adopted(&current, DatabaseBackupSchedule::FINALIZERS) {
        write_finalizers(&ctx.client, schedule, &finalizers, &label).await?;
    }
    let now = Utc::now();
    let previous = schedule.status.clone().unwrap_or_default();
    let checked = dbprov_api::validate(&Resource::DatabaseBackupSchedule(Box::new(schedule.clone())))
        .map_err(Failure::from)
        .and_then(|()| storage_in_cluster(&schedule.spec.template.spec.storage, "spec.template.spec.storage"))
        .and_then(|()| Ok((parse_schedule(schedule)?, retention_policy(schedule)?)));
    let (cron, policy) = match checked {
        Ok(checked) => checked,
        Err(failure) => return invalid(ctx, schedule, previous, reference, &failure, now).await,
    };

    let namespace = schedule.namespace().unwrap_or_else(|| "default".to_owned());
    let backups: Vec<DatabaseBackup> = ctx
        .world
        .stores()
        .backups
        .all()
        .iter()
        .filter(|backup| backup.namespace().as_deref() == Some(namespace.as_str()))
        .map(|backup| backup.as_ref().clone())
        .collect();
    // Backups on their way out (replaced, pruned, deleted by hand) are neither running nor kept.
    let mut runs: Vec<DatabaseBackup> = runs_of(schedule, &backups)
        .into_values()
        .filter(|backup| backup.metadata.deletion_timestamp.is_none())
        .collect();
    let unfinished: Vec<String> = runs
        .iter()
        .filter(|backup| !is_finished(backup))
        .map(ResourceExt::name_any)
        .collect();
    let decision = due(
        &cron,
        schedule.spec.paused,
        schedule.spec.concurrency_policy,
        last_scheduled(&previous),
        created_at(schedule, now),
        now,
        !unfinished.is_empty(),
    );

    let api: Api<DatabaseBackup> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut published = Vec::new();
    let mut ran_at = None;
    match decision {
        Due::Run { scheduled, replace } => {
            if replace {
                for name in &unfinished {
                    delete_run(&api, name, false, &label).await?;
                    published.push(Event::normal(
                        "BackupReplaced",
                        format!("deleted backup {name}, still running (concurrencyPolicy Replace)"),
                    ));
                }
                runs.retain(|backup| !unfinished.contains(&backup.name_any()));
            }
            let backup = scheduled_backup(schedule, scheduled);
            let name = backup.name_any();
            let params = PostParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PostParams::default()
            };
            match api.create(&params, &backup).await {
                Ok(_) => {}
                // Created by an earlier reconcile whose status write was lost: the same occurrence, once.
                Err(kube::Error::Api(status)) if status.is_already_exists() => {}
                Err(source) => {
                    return Err(Error::CreateBackup {
                        schedule: label,
                        backup: name,
                        source,
                    });
                }
            }
            published.push(Event::normal(
                "BackupCreated",
                format!(
                    "created backup {name} for the run of {}",
                    scheduled.format("%Y-%m-%d %H:%M:%S UTC")
                ),
            ));
            ran_at = Some(scheduled);
            runs.push(backup);
        }
        Due::Skip { scheduled } => published.push(Event::normal(
            "BackupSkipped",
            format!(
                "the run of {} waits: backup {} has not finished (concurrencyPolicy Forbid)",
                scheduled.format("%Y-%m-%d %H:%M:%S UTC"),
                unfinished.join(", ")
            ),
        )),
        Due::Paused | Due::NotDue { .. } => {}
    }

    let plan = plan_retention(schedule, &runs, &policy, now, &cron.timezone());
    let mut pruned = Vec::new();
    for (name, why) in &plan.delete {
        let Some(backup) = runs.iter().find(|backup| backup.name_any() == *name) else {
            continue;
        };
        let artifact = backup
            .status
            .as_ref()
            .and_then(|status| status.backup.as_ref())
            .and_then(|info| info.artifact.clone());
        delete_run(&api, name, artifact.is_some(), &label).await?;
        let what = match &artifact {
            Some(artifact) => format!("deleting backup {name} and its artifact {artifact} ({why})"),
            None => format!("deleting backup {name} ({why})"),
        };
        published.push(Event::normal("BackupPruned", what));
        pruned.extend(artifact);
    }
    for name in &plan.forget {
        delete_run(&api, name, false, &label).await?;
    }
    runs.retain(|backup| {
        let name = backup.name_any();
        !plan.delete.iter().any(|(deleted, _)| *deleted == name) && !plan.forget.contains(&name)
    });

    let next = if schedule.spec.paused {
        None
    } else {
        cron.next_after(now.max(ran_at.unwrap_or(now)))
    };
    let mut status = schedule_status(&previous, schedule, &runs, ran_at, next, now);
    if !pruned.is_empty() {
        status.last_pruned = pruned;
    }
    write(ctx, schedule, status, &label).await?;
    events::publish(
        &ctx.recorder,
        &schedule.object_ref(&()),
        &published,
        EventAction::Reconcile,
    )
    .await;
    ctx.backoffs.reset(reference);
    Ok(Reconciled {
        requeue_after: Some(wait_until(next, now)),
        failure: None,
    })
}

async fn write(
    ctx: &OperatorContext,
    schedule: &DatabaseBackupSchedule,
    status: DatabaseBackupScheduleStatus,
    label: &str,
) -> Result<(), Error> {
    let mut updated = schedule.clone();
    updated.status = Some(status);
    write_status(&ctx.client, &updated, &updated.to_resource(), label).await
}

/// An invalid schedule: `Ready` says why; nothing runs until the spec changes.
async fn invalid(
    ctx: &OperatorContext,
    schedule: &DatabaseBackupSchedule,
    mut status: DatabaseBackupScheduleStatus,
    reference: &ObjectRef,
    failure: &Failure,
    now: DateTime<Utc>,
) -> Result<Reconciled, Error> {
    let generation = schedule.metadata.generation;
    status.observed_generation = generation;
    status.next_backup_time = None;
    status.message = Some(failure.to_string());
    set_condition(
        &mut status.conditions,
        ConditionType::Ready,
        ConditionStatus::False,
        failure.reason(),
        failure.to_string(),
        generation,
        time(now),
    );
    write(ctx, schedule, status, &reference.to_string()).await?;
    events::publish(
        &ctx.recorder,
        &schedule.object_ref(&()),
        &[Event::warning(failure.reason(), failure.to_string())],
        EventAction::Reconcile,
    )
    .await;
    Ok(done(Some(failure.reason())))
}

/// Deletes one of the schedule's backups (with its artifact when retention removes it).
async fn delete_run(
    api: &Api<DatabaseBackup>,
    name: &str,
    with_artifact: bool,
    schedule: &str,
) -> Result<(), Error> {
    super::kube_writes::delete_backup(api, name, with_artifact)
        .await
        .map_err(|source| Error::DeleteBackup {
            schedule: schedule.to_owned(),
            backup: name.to_owned(),
            source,
        })
}

/// Deleting a schedule: `deletionProtection` keeps it (unless `force-delete`); otherwise the finalizer goes,
/// and Kubernetes collects its backups (their artifacts stay: only retention deletes artifacts).
async fn finalize(
    ctx: &OperatorContext,
    schedule: &DatabaseBackupSchedule,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    let current = schedule.finalizers().to_vec();
    if !finalizer::is_guarded(&current, DatabaseBackupSchedule::FINALIZERS) {
        return Ok(done(None));
    }
    let label = reference.to_string();
    if schedule.spec.deletion_protection && !annotations::force_delete(&schedule.metadata) {
        let failure = Failure::DeletionProtected {
            field: "spec.deletionProtection",
        };
        let now = time(Utc::now());
        let generation = schedule.metadata.generation;
        let mut status = schedule.status.clone().unwrap_or_default();
        set_condition(
            &mut status.conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            failure.reason(),
            failure.to_string(),
            generation,
            now,
        );
        status.message = Some(failure.to_string());
        write(ctx, schedule, status, &label).await?;
        events::publish(
            &ctx.recorder,
            &schedule.object_ref(&()),
            &[Event::warning(failure.reason(), failure.to_string())],
            EventAction::Delete,
        )
        .await;
        return Ok(done(Some(failure.reason())));
    }
    if let Some(remaining) = finalizer::released(&current, DatabaseBackupSchedule::FINALIZERS) {
        write_finalizers(&ctx.client, schedule, &remaining, &label).await?;
    }
    ctx.metrics.forget(reference);
    ctx.backoffs.reset(reference);
    Ok(done(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_reaches_just_past_the_next_occurrence_within_bounds() {
        let now = DateTime::parse_from_rfc3339("2025-01-06T10:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            wait_until(Some(now + chrono::TimeDelta::seconds(90)), now),
            Duration::from_secs(91)
        );
        assert_eq!(
            wait_until(Some(now - chrono::TimeDelta::seconds(5)), now),
            Duration::from_secs(1)
        );
        assert_eq!(wait_until(Some(now), now), Duration::from_secs(1));
        assert_eq!(wait_until(Some(now + chrono::TimeDelta::days(1)), now), MAX_WAIT);
        assert_eq!(wait_until(None, now), MAX_WAIT);
    }
}
