//! `DatabaseBackupSchedule`.

use dbprov_core::EngineKind;

use crate::duration::parse_age;
use crate::error::{Errors, FieldPath};
use crate::schedule::{CronSchedule, ScheduleError};
use crate::v1alpha1::DatabaseBackupScheduleSpec;
use crate::validate::backup;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseBackupScheduleSpec, engine: Option<EngineKind>) {
    let path = FieldPath::root("spec");
    match CronSchedule::parse(&spec.schedule, spec.timezone.as_deref()) {
        Ok(_) => {}
        Err(error @ ScheduleError::UnknownTimezone { .. }) => {
            errors.invalid(&path.field("timezone"), error.to_string())
        }
        Err(error) => errors.invalid(&path.field("schedule"), error.to_string()),
    }
    let template = path.field("template");
    if let Some(metadata) = &spec.template.metadata {
        for key in metadata.labels.keys().chain(metadata.annotations.keys()) {
            if key.is_empty() || key.contains(char::is_whitespace) {
                errors.invalid(
                    &template.field("metadata").key(key),
                    "is not a label or annotation key",
                );
            }
        }
    }
    backup::check_spec(errors, &template.field("spec"), &spec.template.spec, engine);
    if let Some(retention) = &spec.retention {
        let path = path.field("retention");
        for (field, value) in [
            ("keepLast", retention.keep_last),
            ("keepHourly", retention.keep_hourly),
            ("keepDaily", retention.keep_daily),
            ("keepWeekly", retention.keep_weekly),
            ("keepMonthly", retention.keep_monthly),
            ("keepYearly", retention.keep_yearly),
        ] {
            if value.is_some_and(|count| count < 0) {
                errors.invalid(&path.field(field), "must not be negative");
            }
        }
        if let Some(min_age) = &retention.min_age
            && let Err(message) = parse_age(min_age)
        {
            errors.invalid(&path.field("minAge"), message);
        }
    }
    for (field, value) in [
        (
            "successfulBackupsHistoryLimit",
            spec.successful_backups_history_limit,
        ),
        ("failedBackupsHistoryLimit", spec.failed_backups_history_limit),
    ] {
        if value.is_some_and(|count| count < 0) {
            errors.invalid(&path.field(field), "must not be negative");
        }
    }
}
