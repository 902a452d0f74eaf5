//! `DatabaseBackupSchedule`. The decisions are pure — what is due at time T (cron, time zone, concurrency
//! policy, last run), which `DatabaseBackup` a run creates, what retention prunes, what the status says — so
//! the CLI (`dbprov schedule tick`/`run`) and the operator share them and only differ in how they run the
//! backup and where they keep the objects. [`prune`] is the one step that changes the world: it deletes
//! artifacts.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use dbprov_api::duration::parse_age;
use dbprov_api::schedule::{CronSchedule, ScheduleError};
use dbprov_api::v1alpha1::{
    BackupStatistics, ConcurrencyPolicy, DEFAULT_FAILED_HISTORY, DEFAULT_SUCCESSFUL_HISTORY, DatabaseBackup,
    DatabaseBackupSchedule, DatabaseBackupScheduleStatus, RecentBackupInfo, RunPhase, SchedulePhase,
    ScheduledBackupInfo,
};
use dbprov_api::{FieldError, Kind, Resource};
use dbprov_backup::retention::{self, Candidate, RetentionPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::backup_settings::{BackupEnvironment, namespace_of, open_storage};
use crate::backup_status::{chrono_time, time};
use crate::context::{Context, ObjectRef};
use crate::failure::Failure;

/// Label naming the schedule that created a backup (upstream's).
pub const LABEL_SCHEDULE: &str = "dbops.dbprovision.io/schedule";
/// Label marking a backup created by a schedule (upstream's).
pub const LABEL_SCHEDULED_BACKUP: &str = "dbops.dbprovision.io/scheduled-backup";

/// What a schedule should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// `spec.paused`.
    Paused,
    /// Nothing to run; the next occurrence.
    NotDue { next: Option<DateTime<Utc>> },
    /// Run the occurrence at `scheduled`; `replace` cancels the running backup first (`Replace`).
    Run { scheduled: DateTime<Utc>, replace: bool },
    /// The occurrence at `scheduled` is due, but the previous backup still runs (`Forbid`): it runs once
    /// that one has finished, if no later occurrence replaced it by then.
    Skip { scheduled: DateTime<Utc> },
}

/// The schedule's cron expression in its time zone.
pub fn parse_schedule(schedule: &DatabaseBackupSchedule) -> Result<CronSchedule, Failure> {
    CronSchedule::parse(&schedule.spec.schedule, schedule.spec.timezone.as_deref()).map_err(|error| {
        let field = match error {
            ScheduleError::UnknownTimezone { .. } => "spec.timezone",
            _ => "spec.schedule",
        };
        Failure::invalid(FieldError::invalid(field, error.to_string()))
    })
}

/// Decides what is due at `now`. The reference is the last run's scheduled time or, before any run, `since`
/// (when the schedule was created): only occurrences after it count, and of several missed occurrences only
/// the latest runs (as a CronJob does), so a machine that was off does not run a burst of backups.
pub fn due(
    cron: &CronSchedule,
    paused: bool,
    policy: ConcurrencyPolicy,
    last_scheduled: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    running: bool,
) -> Due {
    if paused {
        return Due::Paused;
    }
    let reference = last_scheduled.unwrap_or(since);
    match cron.latest_until(now) {
        Some(scheduled) if scheduled > reference => match (running, policy) {
            (true, ConcurrencyPolicy::Forbid) => Due::Skip { scheduled },
            (true, ConcurrencyPolicy::Replace) => Due::Run {
                scheduled,
                replace: true,
            },
            _ => Due::Run {
                scheduled,
                replace: false,
            },
        },
        _ => Due::NotDue {
            next: cron.next_after(now.max(reference)),
        },
    }
}

/// The name of the backup a run at `scheduled` creates: `<schedule>-YYYYMMDD-HHMMSS` (UTC).
pub fn backup_name(schedule: &str, scheduled: DateTime<Utc>) -> String {
    format!("{schedule}-{}", scheduled.format("%Y%m%d-%H%M%S"))
}

/// The `DatabaseBackup` a run at `scheduled` creates from the template, labelled as upstream labels it and
/// owned by the schedule when the schedule has a uid.
pub fn scheduled_backup(schedule: &DatabaseBackupSchedule, scheduled: DateTime<Utc>) -> DatabaseBackup {
    let schedule_name = schedule.metadata.name.clone().unwrap_or_default();
    let template = &schedule.spec.template;
    let mut labels = template
        .metadata
        .as_ref()
        .map(|metadata| metadata.labels.clone())
        .unwrap_or_default();
    labels.insert(LABEL_SCHEDULE.to_owned(), schedule_name.clone());
    labels.insert(LABEL_SCHEDULED_BACKUP.to_owned(), "true".to_owned());
    let annotations = template
        .metadata
        .as_ref()
        .map(|metadata| metadata.annotations.clone())
        .filter(|annotations| !annotations.is_empty());
    let owner_references = schedule.metadata.uid.clone().map(|uid| {
        vec![OwnerReference {
            api_version: dbprov_api::v1alpha1::API_VERSION.to_owned(),
            kind: Kind::DatabaseBackupSchedule.as_str().to_owned(),
            name: schedule_name.clone(),
            uid,
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    DatabaseBackup {
        metadata: ObjectMeta {
            name: Some(backup_name(&schedule_name, scheduled)),
            namespace: schedule.metadata.namespace.clone(),
            labels: Some(labels),
            annotations,
            owner_references,
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// Whether `backup` was created by `schedule`.
pub fn belongs_to(backup: &DatabaseBackup, schedule: &DatabaseBackupSchedule) -> bool {
    backup.metadata.namespace.as_deref().unwrap_or("default")
        == schedule.metadata.namespace.as_deref().unwrap_or("default")
        && backup
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(LABEL_SCHEDULE))
            == schedule.metadata.name.as_ref()
}

fn phase(backup: &DatabaseBackup) -> Option<RunPhase> {
    backup.status.as_ref().and_then(|status| status.phase)
}

/// Whether a completed backup's `ttl` has passed (`status.expiresAt`): its artifact is due for deletion,
/// whether a schedule made it or not.
pub fn expired(backup: &DatabaseBackup, now: DateTime<Utc>) -> bool {
    phase(backup) == Some(RunPhase::Completed)
        && backup
            .status
            .as_ref()
            .and_then(|status| status.expires_at.as_ref())
            .is_some_and(|expires| chrono_time(expires) <= now)
}

/// When a run started: its dump's timestamp, else its start time, else its name's scheduled time.
fn started(backup: &DatabaseBackup) -> Option<DateTime<Utc>> {
    let status = backup.status.as_ref()?;
    status
        .source
        .as_ref()
        .and_then(|source| source.timestamp.as_ref())
        .or(status.started_at.as_ref())
        .map(chrono_time)
}

fn name_of(backup: &DatabaseBackup) -> String {
    backup.metadata.name.clone().unwrap_or_default()
}

/// Runs newest first (by start time, then name).
fn newest_first(runs: &[DatabaseBackup]) -> Vec<&DatabaseBackup> {
    let mut ordered: Vec<&DatabaseBackup> = runs.iter().collect();
    ordered.sort_by(|a, b| {
        started(b)
            .cmp(&started(a))
            .then_with(|| name_of(b).cmp(&name_of(a)))
    });
    ordered
}

/// What retention does to a schedule's runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPlan {
    /// Completed runs whose artifact is deleted (and then their object), with why.
    pub delete: Vec<(String, &'static str)>,
    /// Failed runs beyond `failedBackupsHistoryLimit`: their object is removed (they have no artifact).
    pub forget: Vec<String>,
    /// Completed runs kept, with the rules that keep them.
    pub keep: Vec<(String, Vec<&'static str>)>,
}

/// The `retention` of a schedule as the backup library's policy.
pub fn retention_policy(schedule: &DatabaseBackupSchedule) -> Result<RetentionPolicy, Failure> {
    let Some(retention) = &schedule.spec.retention else {
        return Ok(RetentionPolicy::default());
    };
    let count = |value: Option<i32>| u32::try_from(value.unwrap_or(0)).unwrap_or(0);
    let min_age = match &retention.min_age {
        Some(value) => {
            let age = parse_age(value)
                .map_err(|message| Failure::invalid(FieldError::invalid("spec.retention.minAge", message)))?;
            Some(
                TimeDelta::from_std(age).map_err(|_| {
                    Failure::invalid(FieldError::invalid("spec.retention.minAge", "is too long"))
                })?,
            )
        }
        None => None,
    };
    Ok(RetentionPolicy {
        keep_last: count(retention.keep_last),
        keep_hourly: count(retention.keep_hourly),
        keep_daily: count(retention.keep_daily),
        keep_weekly: count(retention.keep_weekly),
        keep_monthly: count(retention.keep_monthly),
        keep_yearly: count(retention.keep_yearly),
        min_age,
    })
}

/// Decides which of `runs` (the schedule's `DatabaseBackup`s) retention deletes at `now`, with calendar
/// buckets in `timezone`. Expired artifacts (`status.expiresAt` passed) are deleted whatever the rules say;
/// failed runs beyond `failedBackupsHistoryLimit` are forgotten. Runs that are not finished are left alone.
pub fn plan_retention<Tz: TimeZone>(
    schedule: &DatabaseBackupSchedule,
    runs: &[DatabaseBackup],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    timezone: &Tz,
) -> RetentionPlan {
    let mut plan = RetentionPlan::default();
    let mut candidates = Vec::new();
    for run in runs.iter().filter(|run| phase(run) == Some(RunPhase::Completed)) {
        if expired(run, now) {
            plan.delete.push((name_of(run), "ttl expired"));
            continue;
        }
        match started(run) {
            Some(created_at) => candidates.push(Candidate {
                id: name_of(run),
                created_at,
            }),
            // A completed run without a start time cannot be dated: keep it rather than guess.
            None => plan.keep.push((name_of(run), vec!["undated"])),
        }
    }
    let decisions = retention::plan(&candidates, policy, now, timezone);
    for decision in decisions.decisions {
        if decision.keep() {
            plan.keep.push((
                decision.id,
                decision.reasons.iter().map(|reason| reason.as_str()).collect(),
            ));
        } else {
            plan.delete
                .push((decision.id, "not kept by the retention policy"));
        }
    }
    let limit = usize::try_from(
        schedule
            .spec
            .failed_backups_history_limit
            .unwrap_or(DEFAULT_FAILED_HISTORY),
    )
    .unwrap_or(0);
    plan.forget = newest_first(runs)
        .into_iter()
        .filter(|run| phase(run) == Some(RunPhase::Failed))
        .skip(limit)
        .map(name_of)
        .collect();
    plan
}

/// Deletes the artifacts of `runs` (metadata first, so an interrupted deletion never leaves a
/// complete-looking artifact). Stops at the first failure; what was deleted stays deleted. Returns the
/// artifacts deleted.
pub async fn prune(
    ctx: &Context,
    env: &BackupEnvironment,
    runs: &[&DatabaseBackup],
) -> Result<Vec<String>, Failure> {
    let mut deleted = Vec::new();
    for run in runs {
        let Some(artifact) = run
            .status
            .as_ref()
            .and_then(|status| status.backup.as_ref())
            .and_then(|info| info.artifact.clone())
        else {
            continue;
        };
        let namespace = namespace_of(run.metadata.namespace.as_ref());
        let storage = open_storage(ctx, &namespace, &run.spec.storage, None, env, "spec.storage").await?;
        dbprov_backup::artifact::delete(&storage, &artifact)
            .await
            .map_err(|error| Failure::Backup {
                reason: error.kind(),
                message: format!(
                    "failed to prune {} of {}: {}",
                    artifact,
                    ObjectRef::of(&Resource::DatabaseBackup(Box::new((*run).clone())))
                        .map(|object| object.to_string())
                        .unwrap_or_default(),
                    dbprov_core::error::error_chain(&error)
                ),
                transient: true,
            })?;
        deleted.push(artifact);
    }
    Ok(deleted)
}

/// The schedule's status from its runs (after a tick): phase, last run, recent runs, statistics and the
/// `Ready` condition. `next` is the next occurrence; `last_scheduled` the scheduled time of the latest run.
pub fn schedule_status(
    previous: &DatabaseBackupScheduleStatus,
    schedule: &DatabaseBackupSchedule,
    runs: &[DatabaseBackup],
    last_scheduled: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DatabaseBackupScheduleStatus {
    let generation = schedule.metadata.generation;
    let mut status = previous.clone();
    status.observed_generation = generation;
    status.phase = Some(if schedule.spec.paused {
        SchedulePhase::Paused
    } else {
        SchedulePhase::Active
    });
    status.next_backup_time = if schedule.spec.paused {
        None
    } else {
        next.map(time)
    };
    if let Some(scheduled) = last_scheduled {
        status.last_schedule_time = Some(time(scheduled));
    }
    let ordered = newest_first(runs);
    if let Some(engine) = ordered.iter().find_map(|run| {
        run.status
            .as_ref()
            .and_then(|status| status.source.as_ref())
            .and_then(|source| source.engine.clone())
    }) {
        status.engine = Some(engine);
    }
    status.last_backup = ordered.first().map(|run| {
        let run_status = run.status.as_ref();
        ScheduledBackupInfo {
            name: run.metadata.name.clone(),
            status: run_status
                .and_then(|s| s.phase)
                .map(|phase| phase.as_str().to_owned()),
            started_at: run_status.and_then(|s| s.started_at.clone()),
            completed_at: run_status.and_then(|s| s.completed_at.clone()),
        }
    });
    status.recent_backups = recent(schedule, &ordered);
    status.statistics = Some(statistics(&ordered));
    let (ready, reason, message) = match ordered.first() {
        _ if schedule.spec.paused => (true, "Paused".to_owned(), "the schedule is paused".to_owned()),
        Some(run) if phase(run) == Some(RunPhase::Failed) => (
            false,
            run.status
                .as_ref()
                .and_then(|status| {
                    dbprov_api::conditions::find(
                        &status.conditions,
                        dbprov_api::conditions::ConditionType::Ready,
                    )
                })
                .map(|condition| condition.reason.clone())
                .unwrap_or_else(|| "BackupFailed".to_owned()),
            format!(
                "the last backup {} failed: {}",
                name_of(run),
                run.status
                    .as_ref()
                    .and_then(|status| status.message.clone())
                    .unwrap_or_default()
            ),
        ),
        _ => (
            true,
            "Scheduled".to_owned(),
            match next {
                Some(next) => format!("next backup at {}", next.format("%Y-%m-%d %H:%M:%S UTC")),
                None => "the expression has no further occurrence".to_owned(),
            },
        ),
    };
    dbprov_api::conditions::set_condition(
        &mut status.conditions,
        dbprov_api::conditions::ConditionType::Ready,
        dbprov_api::conditions::ConditionStatus::from_bool(ready),
        &reason,
        message.clone(),
        generation,
        time(now),
    );
    status.message = Some(message);
    status
}

fn recent(schedule: &DatabaseBackupSchedule, ordered: &[&DatabaseBackup]) -> Vec<RecentBackupInfo> {
    let limit = |value: Option<i32>, default: i32| usize::try_from(value.unwrap_or(default)).unwrap_or(0);
    let mut completed = limit(
        schedule.spec.successful_backups_history_limit,
        DEFAULT_SUCCESSFUL_HISTORY,
    );
    let mut failed = limit(schedule.spec.failed_backups_history_limit, DEFAULT_FAILED_HISTORY);
    let mut recent = Vec::new();
    for run in ordered {
        let phase = phase(run);
        let listed = match phase {
            Some(RunPhase::Completed) if completed > 0 => {
                completed -= 1;
                true
            }
            Some(RunPhase::Failed) if failed > 0 => {
                failed -= 1;
                true
            }
            Some(RunPhase::Running | RunPhase::Pending) | None => true,
            _ => false,
        };
        if listed {
            recent.push(RecentBackupInfo {
                name: name_of(run),
                status: phase.map_or("Pending", RunPhase::as_str).to_owned(),
            });
        }
    }
    recent
}

fn statistics(ordered: &[&DatabaseBackup]) -> BackupStatistics {
    let mut statistics = BackupStatistics::default();
    let mut durations = Vec::new();
    let mut sizes = Vec::new();
    for run in ordered {
        let Some(status) = run.status.as_ref() else {
            continue;
        };
        match status.phase {
            Some(RunPhase::Completed) => {
                statistics.successful_backups += 1;
                if let (Some(started), Some(completed)) = (&status.started_at, &status.completed_at) {
                    durations.push(
                        (chrono_time(completed) - chrono_time(started))
                            .num_seconds()
                            .max(0),
                    );
                }
                if let Some(info) = &status.backup {
                    sizes.extend(info.size_bytes);
                    statistics.total_storage_bytes += info.compressed_size_bytes.unwrap_or(0);
                }
            }
            Some(RunPhase::Failed) => statistics.failed_backups += 1,
            _ => continue,
        }
        statistics.total_backups += 1;
    }
    let mean = |values: &[i64]| {
        if values.is_empty() {
            0
        } else {
            values.iter().sum::<i64>() / values.len() as i64
        }
    };
    statistics.average_duration_seconds = mean(&durations);
    statistics.average_size_bytes = mean(&sizes);
    statistics
}

/// The schedule's runs among `backups`, by name.
pub fn runs_of(
    schedule: &DatabaseBackupSchedule,
    backups: &[DatabaseBackup],
) -> BTreeMap<String, DatabaseBackup> {
    backups
        .iter()
        .filter(|backup| belongs_to(backup, schedule))
        .map(|backup| (name_of(backup), backup.clone()))
        .collect()
}

/// When the schedule's last run was scheduled (its status, else its newest run's name).
pub fn last_scheduled(status: &DatabaseBackupScheduleStatus) -> Option<DateTime<Utc>> {
    status.last_schedule_time.as_ref().map(chrono_time)
}

/// When the schedule was created, or `now` for a schedule seen for the first time.
pub fn created_at(schedule: &DatabaseBackupSchedule, now: DateTime<Utc>) -> DateTime<Utc> {
    schedule
        .metadata
        .creation_timestamp
        .as_ref()
        .map(chrono_time)
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use dbprov_api::v1alpha1::{BackupInfo, BackupSourceInfo, DatabaseBackupStatus};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn schedule(extra: &str) -> DatabaseBackupSchedule {
        let yaml = format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackupSchedule
metadata: {{name: clients-daily, namespace: shop}}
spec:
  schedule: \"0 2 * * *\"
  timezone: Asia/Bangkok
  template:
    metadata: {{labels: {{team: billing}}}}
    spec:
      databaseRef: {{name: clients}}
      storage: {{type: local, local: {{path: backups}}}}
{extra}"
        );
        let document = dbprov_api::document::parse_yaml(&yaml).unwrap().remove(0);
        match dbprov_api::parse_document(document).unwrap() {
            Resource::DatabaseBackupSchedule(schedule) => *schedule,
            _ => unreachable!(),
        }
    }

    fn run(schedule: &DatabaseBackupSchedule, started: &str, phase: RunPhase) -> DatabaseBackup {
        let mut backup = scheduled_backup(schedule, at(started));
        backup.status = Some(DatabaseBackupStatus {
            phase: Some(phase),
            started_at: Some(time(at(started))),
            completed_at: Some(time(at(started) + TimeDelta::minutes(2))),
            source: Some(BackupSourceInfo {
                timestamp: Some(time(at(started))),
                engine: Some("mariadb".into()),
                ..BackupSourceInfo::default()
            }),
            backup: (phase == RunPhase::Completed).then(|| BackupInfo {
                artifact: Some(format!("clients-{}.sql.gz", at(started).format("%Y%m%d-%H%M%S"))),
                size_bytes: Some(1000),
                compressed_size_bytes: Some(100),
                ..BackupInfo::default()
            }),
            ..DatabaseBackupStatus::default()
        });
        backup
    }

    #[test]
    fn due_follows_the_cron_in_its_time_zone_and_the_last_run() {
        let schedule = schedule("");
        let cron = parse_schedule(&schedule).unwrap();
        // 02:00 in Bangkok is 19:00 UTC.
        let created = at("2025-01-06T10:00:00Z");
        let due_at = |now: &str, last: Option<&str>, running: bool, policy| {
            due(&cron, false, policy, last.map(at), created, at(now), running)
        };
        assert_eq!(
            due_at("2025-01-06T18:59:00Z", None, false, ConcurrencyPolicy::Forbid),
            Due::NotDue {
                next: Some(at("2025-01-06T19:00:00Z"))
            }
        );
        assert_eq!(
            due_at("2025-01-06T19:00:30Z", None, false, ConcurrencyPolicy::Forbid),
            Due::Run {
                scheduled: at("2025-01-06T19:00:00Z"),
                replace: false
            }
        );
        // Done once: not again until the next day.
        assert!(matches!(
            due_at(
                "2025-01-06T23:00:00Z",
                Some("2025-01-06T19:00:00Z"),
                false,
                ConcurrencyPolicy::Forbid
            ),
            Due::NotDue { .. }
        ));
        // Three days off: only the latest occurrence runs.
        assert_eq!(
            due_at(
                "2025-01-09T20:00:00Z",
                Some("2025-01-06T19:00:00Z"),
                false,
                ConcurrencyPolicy::Forbid
            ),
            Due::Run {
                scheduled: at("2025-01-09T19:00:00Z"),
                replace: false
            }
        );
        let late = "2025-01-07T19:00:10Z";
        let last = Some("2025-01-06T19:00:00Z");
        assert_eq!(
            due_at(late, last, true, ConcurrencyPolicy::Forbid),
            Due::Skip {
                scheduled: at("2025-01-07T19:00:00Z")
            }
        );
        assert_eq!(
            due_at(late, last, true, ConcurrencyPolicy::Replace),
            Due::Run {
                scheduled: at("2025-01-07T19:00:00Z"),
                replace: true
            }
        );
        assert!(matches!(
            due_at(late, last, true, ConcurrencyPolicy::Allow),
            Due::Run { replace: false, .. }
        ));
        assert_eq!(
            due(
                &cron,
                true,
                ConcurrencyPolicy::Forbid,
                None,
                created,
                at(late),
                false
            ),
            Due::Paused
        );
    }

    #[test]
    fn runs_are_named_and_labelled_like_upstream() {
        let schedule = schedule("");
        let backup = scheduled_backup(&schedule, at("2025-01-06T19:00:00Z"));
        assert_eq!(
            backup.metadata.name.as_deref(),
            Some("clients-daily-20250106-190000")
        );
        assert_eq!(backup.metadata.namespace.as_deref(), Some("shop"));
        let labels = backup.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[LABEL_SCHEDULE], "clients-daily");
        assert_eq!(labels[LABEL_SCHEDULED_BACKUP], "true");
        assert_eq!(labels["team"], "billing");
        assert_eq!(backup.spec, schedule.spec.template.spec);
        assert!(belongs_to(&backup, &schedule));
        let mut other = schedule.clone();
        other.metadata.name = Some("other".into());
        assert!(!belongs_to(&backup, &other));
        let resource = Resource::DatabaseBackup(Box::new(backup));
        dbprov_api::validate(&resource).expect("a created run is a valid object");
    }

    #[test]
    fn retention_keeps_what_the_policy_says_and_forgets_old_failures() {
        let schedule = schedule("  retention: {keepLast: 2, keepDaily: 3}\n  failedBackupsHistoryLimit: 1\n");
        let policy = retention_policy(&schedule).unwrap();
        let mut runs = vec![
            run(&schedule, "2025-01-01T19:00:00Z", RunPhase::Completed),
            run(&schedule, "2025-01-02T19:00:00Z", RunPhase::Completed),
            run(&schedule, "2025-01-03T07:00:00Z", RunPhase::Completed),
            run(&schedule, "2025-01-03T19:00:00Z", RunPhase::Completed),
            run(&schedule, "2025-01-04T19:00:00Z", RunPhase::Failed),
            run(&schedule, "2025-01-05T19:00:00Z", RunPhase::Failed),
            run(&schedule, "2025-01-06T19:00:00Z", RunPhase::Completed),
        ];
        let now = at("2025-01-07T00:00:00Z");
        let bangkok = parse_schedule(&schedule).unwrap().timezone();
        let plan = plan_retention(&schedule, &runs, &policy, now, &bangkok);
        let kept: Vec<&str> = plan.keep.iter().map(|(name, _)| name.as_str()).collect();
        // keepLast 2: the two newest. keepDaily 3 counts Bangkok days (UTC+7): 01-07 (06 19:00Z), 01-04
        // (03 19:00Z) and 01-03, whose newest backup is 03 07:00Z (14:00 local), not 02 19:00Z (02:00 local).
        assert_eq!(
            kept,
            [
                "clients-daily-20250106-190000",
                "clients-daily-20250103-190000",
                "clients-daily-20250103-070000"
            ]
        );
        let deleted: Vec<&str> = plan.delete.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            deleted,
            ["clients-daily-20250102-190000", "clients-daily-20250101-190000"]
        );
        assert_eq!(plan.forget, ["clients-daily-20250104-190000"]);

        // An expired artifact goes whatever the rules say.
        runs[6].status.as_mut().unwrap().expires_at = Some(time(at("2025-01-06T23:00:00Z")));
        let plan = plan_retention(&schedule, &runs, &policy, now, &Utc);
        assert!(
            plan.delete
                .contains(&("clients-daily-20250106-190000".into(), "ttl expired"))
        );

        // No retention section: everything is kept.
        let keep_all = schedule_without_retention();
        let plan = plan_retention(&keep_all, &runs, &RetentionPolicy::default(), now, &Utc);
        assert_eq!(plan.delete.len(), 1, "only the expired one: {plan:?}");
    }

    fn schedule_without_retention() -> DatabaseBackupSchedule {
        schedule("")
    }

    #[test]
    fn status_lists_recent_runs_statistics_and_readiness() {
        let schedule = schedule("  successfulBackupsHistoryLimit: 1\n");
        let runs = vec![
            run(&schedule, "2025-01-04T19:00:00Z", RunPhase::Completed),
            run(&schedule, "2025-01-05T19:00:00Z", RunPhase::Completed),
            run(&schedule, "2025-01-06T19:00:00Z", RunPhase::Failed),
        ];
        let status = schedule_status(
            &DatabaseBackupScheduleStatus::default(),
            &schedule,
            &runs,
            Some(at("2025-01-06T19:00:00Z")),
            Some(at("2025-01-07T19:00:00Z")),
            at("2025-01-06T19:05:00Z"),
        );
        assert_eq!(status.phase, Some(SchedulePhase::Active));
        assert_eq!(
            status.last_backup.as_ref().unwrap().name.as_deref(),
            Some("clients-daily-20250106-190000")
        );
        let recent: Vec<(&str, &str)> = status
            .recent_backups
            .iter()
            .map(|r| (r.name.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            recent,
            [
                ("clients-daily-20250106-190000", "Failed"),
                ("clients-daily-20250105-190000", "Completed")
            ]
        );
        let statistics = status.statistics.as_ref().unwrap();
        assert_eq!(
            (
                statistics.total_backups,
                statistics.successful_backups,
                statistics.failed_backups
            ),
            (3, 2, 1)
        );
        assert_eq!(statistics.average_duration_seconds, 120);
        assert_eq!(statistics.total_storage_bytes, 200);
        assert_eq!(status.engine.as_deref(), Some("mariadb"));
        let ready = &status.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "BackupFailed")
        );
    }
}
