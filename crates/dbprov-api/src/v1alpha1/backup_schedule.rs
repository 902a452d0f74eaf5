//! `DatabaseBackupSchedule`: `DatabaseBackup`s created on a cron schedule, with retention.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::backup::DatabaseBackupSpec;
use crate::v1alpha1::common::is_false;

/// Backups of a `Database` on a cron schedule. Each run creates a `DatabaseBackup` named
/// `<schedule>-YYYYMMDD-HHMMSS` (the scheduled time, UTC) from `template`; after each successful run,
/// `retention` prunes the older artifacts of this schedule (and their `DatabaseBackup` objects).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseBackupSchedule",
    namespaced,
    status = "DatabaseBackupScheduleStatus",
    shortname = "dbbaksched",
    category = "dbprov",
    doc = "DatabaseBackups created on a cron schedule, with retention.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(
        name = "Database",
        type_ = "string",
        json_path = ".spec.template.spec.databaseRef.name"
    ),
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(name = "Next Backup", type_ = "date", json_path = ".status.nextBackupTime"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Paused", type_ = "boolean", json_path = ".spec.paused", priority = 1),
    printcolumn(
        name = "Last Backup",
        type_ = "string",
        json_path = ".status.lastBackup.name",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseBackupScheduleSpec {
    /// A 5-field cron expression (minute, hour, day of month, month, day of week), or `@hourly`, `@daily`,
    /// `@weekly`, `@monthly`, `@yearly`. Names (`MON`, `JAN`), ranges, lists and steps are allowed.
    pub schedule: String,
    /// The IANA time zone the expression is read in (`Europe/Paris`). Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Stop creating backups (retention still applies to nothing new). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// What to do when a run is due while the previous one still runs: `Forbid` (default) skips the new
    /// run, `Replace` cancels the running one, `Allow` runs both.
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
    /// The `DatabaseBackup` each run creates.
    pub template: BackupTemplateSpec,
    /// Which artifacts of this schedule to keep. Default: keep everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionPolicy>,
    /// Completed runs listed in `status.recentBackups` (older `Completed` runs stay until retention
    /// deletes them). Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub successful_backups_history_limit: Option<i32>,
    /// Failed runs kept (listed in status, and their objects kept); older ones are removed. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub failed_backups_history_limit: Option<i32>,
    /// Refuse to delete this object until it is set to false. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletion_protection: bool,
}

/// The default `successfulBackupsHistoryLimit`.
pub const DEFAULT_SUCCESSFUL_HISTORY: i32 = 5;
/// The default `failedBackupsHistoryLimit`.
pub const DEFAULT_FAILED_HISTORY: i32 = 3;

/// `concurrencyPolicy`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum ConcurrencyPolicy {
    /// Run even if the previous run is still running.
    Allow,
    /// Skip the run while the previous one is still running (default).
    #[default]
    Forbid,
    /// Cancel the running backup (it leaves no artifact) and start the new one.
    Replace,
}

impl ConcurrencyPolicy {
    /// The exact string used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// The `DatabaseBackup` a schedule creates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupTemplateSpec {
    /// Labels and annotations of the created objects (plus `dbops.dbprovision.io/schedule: <schedule>` and
    /// `dbops.dbprovision.io/scheduled-backup: "true"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BackupTemplateMeta>,
    /// The backup's spec.
    pub spec: DatabaseBackupSpec,
}

/// Labels and annotations for the created backups.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupTemplateMeta {
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Which backups of a schedule to keep (restic's `forget --keep-*` semantics): `keepLast` keeps the newest N;
/// `keepHourly`/`Daily`/`Weekly`/`Monthly`/`Yearly` keep the newest backup of each of the N most recent
/// hours/days/ISO weeks/months/years that have one (in the schedule's time zone); `minAge` keeps everything
/// younger. A backup is kept when any rule keeps it. A policy without rules keeps everything; one with only
/// `minAge` deletes everything older.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Keep the N newest backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_last: Option<i32>,
    /// Keep the newest backup of each of the N most recent hours with a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_hourly: Option<i32>,
    /// Keep the newest backup of each of the N most recent days with a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_daily: Option<i32>,
    /// Keep the newest backup of each of the N most recent ISO weeks with a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_weekly: Option<i32>,
    /// Keep the newest backup of each of the N most recent months with a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_monthly: Option<i32>,
    /// Keep the newest backup of each of the N most recent years with a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub keep_yearly: Option<i32>,
    /// Keep every backup younger than this (`24h`, `7d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<String>,
}

/// `Active` or `Paused`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum SchedulePhase {
    /// Creating backups on schedule.
    Active,
    /// `spec.paused` is true.
    Paused,
}

/// Observed state of a schedule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseBackupScheduleStatus {
    /// `Active` or `Paused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<SchedulePhase>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The engine of the database's instance (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The most recent run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<ScheduledBackupInfo>,
    /// The scheduled time of the most recent run (dbprov addition, as a CronJob's): the next run is the
    /// first occurrence after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    /// When the next run is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_backup_time: Option<Time>,
    /// Totals over the runs still recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<BackupStatistics>,
    /// Running runs, then up to `successfulBackupsHistoryLimit` completed and `failedBackupsHistoryLimit`
    /// failed ones, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_backups: Vec<RecentBackupInfo>,
    /// Artifacts deleted by the last retention pass (dbprov addition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_pruned: Vec<String>,
    /// `Ready`: `True` when the last run (or, before any, the schedule itself) is fine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// One run of a schedule.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledBackupInfo {
    /// The `DatabaseBackup` the run created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
}

/// Totals over a schedule's recorded runs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatistics {
    /// Runs recorded (completed and failed).
    #[serde(default)]
    pub total_backups: i64,
    /// Completed runs recorded.
    #[serde(default)]
    pub successful_backups: i64,
    /// Failed runs recorded.
    #[serde(default)]
    pub failed_backups: i64,
    /// Mean duration of the completed runs.
    #[serde(default)]
    pub average_duration_seconds: i64,
    /// Mean uncompressed size of the completed runs.
    #[serde(default)]
    pub average_size_bytes: i64,
    /// Stored bytes of the artifacts kept.
    #[serde(default)]
    pub total_storage_bytes: i64,
}

/// A run listed in `recentBackups`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentBackupInfo {
    /// The `DatabaseBackup`.
    pub name: String,
    /// Its phase.
    pub status: String,
}
