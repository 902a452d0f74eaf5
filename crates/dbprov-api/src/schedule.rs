//! Cron schedules of `DatabaseBackupSchedule`: a 5-field expression (minute, hour, day of month, month, day
//! of week, as robfig/cron's standard parser that upstream uses) read in an IANA time zone. Pure: times in,
//! times out.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Why a schedule cannot be used. Messages are lowercase and name the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The expression does not parse.
    #[error("{expression:?} is not a 5-field cron expression: {reason}")]
    InvalidExpression {
        /// The expression as written.
        expression: String,
        /// What is wrong.
        reason: String,
    },
    /// The time zone is not in the IANA database.
    #[error("{name:?} is not an IANA time zone (examples: UTC, Europe/Paris, Asia/Bangkok)")]
    UnknownTimezone {
        /// The name as written.
        name: String,
    },
}

/// A parsed schedule.
#[derive(Clone)]
pub struct CronSchedule {
    cron: Cron,
    timezone: chrono_tz::Tz,
    expression: String,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronSchedule")
            .field("expression", &self.expression)
            .field("timezone", &self.timezone.name())
            .finish()
    }
}

impl CronSchedule {
    /// Parses `schedule` in `timezone` (`None`, `""` and `UTC` mean UTC).
    pub fn parse(schedule: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let invalid = |reason: &str| ScheduleError::InvalidExpression {
            expression: schedule.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = schedule.trim();
        if trimmed.starts_with("@every") {
            return Err(invalid(
                "@every is not supported (write the interval as a cron expression, like */15 * * * *)",
            ));
        }
        if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") {
            return Err(invalid(
                "set the time zone with spec.timezone instead of a TZ= prefix",
            ));
        }
        if !trimmed.starts_with('@') && trimmed.split_whitespace().count() != 5 {
            return Err(invalid(
                "it must have exactly 5 fields (minute hour day-of-month month day-of-week)",
            ));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(trimmed)
            .map_err(|error| invalid(&error.to_string().to_lowercase()))?;
        let timezone = match timezone.map(str::trim) {
            None | Some("") | Some("UTC") => chrono_tz::UTC,
            Some(name) => chrono_tz::Tz::from_str(name).map_err(|_| ScheduleError::UnknownTimezone {
                name: name.to_owned(),
            })?,
        };
        let parsed = Self {
            cron,
            timezone,
            expression: trimmed.to_owned(),
        };
        // An expression such as `0 0 30 2 *` parses but never fires.
        if parsed.next_after(Utc::now()).is_none() {
            return Err(invalid("it never matches a date"));
        }
        Ok(parsed)
    }

    /// The expression as written (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone the expression is read in.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.timezone
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }

    /// The latest occurrence at or before `at`.
    pub fn latest_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.timezone);
        self.cron
            .find_previous_occurrence(&local, true)
            .ok()
            .map(|previous| previous.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn five_fields_in_a_time_zone() {
        let daily = CronSchedule::parse("0 2 * * *", Some("Asia/Bangkok")).unwrap();
        // 02:00 in Bangkok (UTC+7) is 19:00 UTC the day before.
        assert_eq!(
            daily.next_after(at("2025-01-06T12:00:00Z")),
            Some(at("2025-01-06T19:00:00Z"))
        );
        assert_eq!(
            daily.latest_until(at("2025-01-06T19:00:00Z")),
            Some(at("2025-01-06T19:00:00Z"))
        );
        let every_six_hours = CronSchedule::parse("0 */6 * * *", None).unwrap();
        assert_eq!(
            every_six_hours.next_after(at("2025-01-06T06:00:00Z")),
            Some(at("2025-01-06T12:00:00Z"))
        );
        let weekdays = CronSchedule::parse("30 1 * * MON-FRI", Some("UTC")).unwrap();
        assert_eq!(
            weekdays.next_after(at("2025-01-10T02:00:00Z")),
            Some(at("2025-01-13T01:30:00Z")),
            "Friday 02:00 → Monday 01:30"
        );
        let hourly = CronSchedule::parse("@hourly", None).unwrap();
        assert_eq!(
            hourly.next_after(at("2025-01-06T12:00:00Z")),
            Some(at("2025-01-06T13:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_named() {
        for bad in [
            "",
            "* * * *",
            "0 0 * * * *",
            "61 * * * *",
            "@every 1h",
            "TZ=UTC 0 * * * *",
        ] {
            let error = CronSchedule::parse(bad, None).unwrap_err();
            assert!(
                matches!(error, ScheduleError::InvalidExpression { .. }),
                "{bad}: {error}"
            );
        }
        let error = CronSchedule::parse("0 0 30 2 *", None).unwrap_err();
        assert!(error.to_string().contains("never matches"), "{error}");
        let error = CronSchedule::parse("0 * * * *", Some("Mars/Olympus")).unwrap_err();
        assert!(error.to_string().contains("\"Mars/Olympus\""), "{error}");
    }
}
