//! Statuses of backups and restores: the phase, the `Ready` condition (with the failure's PascalCase reason)
//! and progress. Runs are one-shot, so there is no drift and no `Synced` condition.

use chrono::{DateTime, Utc};
use dbprov_api::conditions::{ConditionStatus, ConditionType, set_condition};
use dbprov_api::v1alpha1::{RunPhase, TransferProgress};
use dbprov_backup::Progress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::failure::Failure;

/// Reason of `Ready=Unknown` while a run is in progress.
pub const IN_PROGRESS: &str = "InProgress";
/// Reason of `Ready=True` for a completed backup.
pub const BACKUP_COMPLETED: &str = "BackupCompleted";
/// Reason of `Ready=True` for a completed restore.
pub const RESTORE_COMPLETED: &str = "RestoreCompleted";

/// A `metav1.Time` from a chrono time.
pub fn time(at: DateTime<Utc>) -> Time {
    let nanoseconds = i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0);
    Time(
        k8s_openapi::jiff::Timestamp::new(at.timestamp(), nanoseconds)
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

/// A chrono time from a `metav1.Time`.
pub fn chrono_time(at: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(at.0.as_second(), at.0.subsec_nanosecond().max(0) as u32).unwrap_or_default()
}

/// The phase a failure leaves a run in: waiting for something (`Pending`), or `Failed`.
pub fn failed_phase(failure: &Failure) -> RunPhase {
    if failure.is_waiting() {
        RunPhase::Pending
    } else {
        RunPhase::Failed
    }
}

/// Sets `Ready` for a run in `phase`.
pub fn set_ready(
    conditions: &mut Vec<Condition>,
    phase: RunPhase,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) {
    let status = match phase {
        RunPhase::Completed => ConditionStatus::True,
        RunPhase::Running => ConditionStatus::Unknown,
        RunPhase::Pending | RunPhase::Failed => ConditionStatus::False,
    };
    set_condition(
        conditions,
        ConditionType::Ready,
        status,
        reason,
        message,
        generation,
        now.clone(),
    );
}

/// The status form of a progress snapshot.
pub fn progress(progress: &Progress) -> TransferProgress {
    let as_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    TransferProgress {
        current_phase: Some(progress.phase.as_str().to_owned()),
        raw_bytes: Some(as_i64(progress.raw_bytes)),
        stored_bytes: Some(as_i64(progress.stored_bytes)),
        stored_total_bytes: progress.stored_total.map(as_i64),
        percentage: progress
            .fraction()
            .map(|fraction| (fraction * 100.0).round().clamp(0.0, 100.0) as i32),
    }
}
