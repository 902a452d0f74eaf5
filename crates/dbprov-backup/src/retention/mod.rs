//! Which backups a retention policy keeps. Pure: artifacts and a clock in, decisions with reasons out.
//!
//! The semantics are restic's `forget --keep-*` (which Velero-style schedules and most backup tools share):
//!
//! * Backups are considered newest first (ties broken by id).
//! * `keepLast: n` keeps the `n` newest backups.
//! * `keepHourly: n` walks the backups newest first and keeps a backup when its hour differs from the hour of
//!   the last backup this rule kept, until `n` were kept. So it keeps the newest backup of each of the `n`
//!   most recent hours *that have backups* — hours without a backup do not use up the count.
//! * `keepDaily`, `keepWeekly` (ISO 8601 weeks, starting on Monday), `keepMonthly` and `keepYearly` do the
//!   same with days, weeks, months and years. Buckets are computed in the given time zone (the schedule's).
//! * `minAge` keeps every backup younger than that age (also those dated in the future, from clock skew).
//! * A backup is kept when any rule keeps it; all the rules that keep it are reported. Every other backup is
//!   deleted.
//! * A policy with no rule at all keeps everything: an absent `retention` never deletes. A policy with only
//!   `minAge` deletes every backup older than it.
//!
//! Only complete artifacts should be passed in; incomplete ones are not backups and are cleaned up apart.

mod duration;

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Timelike, Utc};

pub use duration::{InvalidDuration, parse_duration};

/// `retention` of a `DatabaseBackupSchedule`. Zero means the rule is off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub keep_last: u32,
    pub keep_hourly: u32,
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
    pub keep_yearly: u32,
    pub min_age: Option<TimeDelta>,
}

impl RetentionPolicy {
    /// Sets `minAge` from its API form (`168h`, `7d`).
    pub fn with_min_age(mut self, min_age: &str) -> Result<Self, InvalidDuration> {
        self.min_age = Some(parse_duration(min_age)?);
        Ok(self)
    }

    /// No rule at all: everything is kept.
    pub fn is_empty(&self) -> bool {
        self.min_age.is_none()
            && [
                self.keep_last,
                self.keep_hourly,
                self.keep_daily,
                self.keep_weekly,
                self.keep_monthly,
                self.keep_yearly,
            ]
            .iter()
            .all(|&count| count == 0)
    }
}

/// Why a backup is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeepReason {
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
    YoungerThanMinAge,
    NoPolicy,
}

impl KeepReason {
    /// The policy field that keeps the backup.
    pub fn as_str(self) -> &'static str {
        match self {
            KeepReason::Last => "keepLast",
            KeepReason::Hourly => "keepHourly",
            KeepReason::Daily => "keepDaily",
            KeepReason::Weekly => "keepWeekly",
            KeepReason::Monthly => "keepMonthly",
            KeepReason::Yearly => "keepYearly",
            KeepReason::YoungerThanMinAge => "minAge",
            KeepReason::NoPolicy => "no retention policy",
        }
    }
}

/// A backup to decide about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The artifact name (or any id the caller uses).
    pub id: String,
    pub created_at: DateTime<Utc>,
}

/// What happens to one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// Empty when the backup is deleted.
    pub reasons: Vec<KeepReason>,
}

impl Decision {
    pub fn keep(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// Decisions for every candidate, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPlan {
    pub decisions: Vec<Decision>,
}

impl RetentionPlan {
    pub fn kept(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|decision| decision.keep())
    }

    pub fn deleted(&self) -> impl Iterator<Item = &Decision> {
        self.decisions.iter().filter(|decision| !decision.keep())
    }
}

type Bucket = fn(&DateTime<chrono::FixedOffset>) -> i64;

fn hour_bucket(time: &DateTime<chrono::FixedOffset>) -> i64 {
    day_bucket(time) * 100 + i64::from(time.hour())
}

fn day_bucket(time: &DateTime<chrono::FixedOffset>) -> i64 {
    i64::from(time.year()) * 10_000 + i64::from(time.month()) * 100 + i64::from(time.day())
}

fn week_bucket(time: &DateTime<chrono::FixedOffset>) -> i64 {
    let week = time.iso_week();
    i64::from(week.year()) * 100 + i64::from(week.week())
}

fn month_bucket(time: &DateTime<chrono::FixedOffset>) -> i64 {
    i64::from(time.year()) * 100 + i64::from(time.month())
}

fn year_bucket(time: &DateTime<chrono::FixedOffset>) -> i64 {
    i64::from(time.year())
}

/// Decides which candidates `policy` keeps at `now`, with calendar buckets in `timezone`.
pub fn plan<Tz: TimeZone>(
    candidates: &[Candidate],
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    timezone: &Tz,
) -> RetentionPlan {
    let mut ordered: Vec<&Candidate> = candidates.iter().collect();
    ordered.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));

    struct Rule {
        reason: KeepReason,
        remaining: u32,
        bucket: Bucket,
        last: Option<i64>,
    }
    let mut rules: Vec<Rule> = [
        (KeepReason::Hourly, policy.keep_hourly, hour_bucket as Bucket),
        (KeepReason::Daily, policy.keep_daily, day_bucket),
        (KeepReason::Weekly, policy.keep_weekly, week_bucket),
        (KeepReason::Monthly, policy.keep_monthly, month_bucket),
        (KeepReason::Yearly, policy.keep_yearly, year_bucket),
    ]
    .into_iter()
    .filter(|(_, count, _)| *count > 0)
    .map(|(reason, remaining, bucket)| Rule {
        reason,
        remaining,
        bucket,
        last: None,
    })
    .collect();

    let empty = policy.is_empty();
    let decisions = ordered
        .into_iter()
        .enumerate()
        .map(|(position, candidate)| {
            let mut reasons = Vec::new();
            if empty {
                reasons.push(KeepReason::NoPolicy);
            }
            if (position as u64) < u64::from(policy.keep_last) {
                reasons.push(KeepReason::Last);
            }
            let local = candidate.created_at.with_timezone(timezone).fixed_offset();
            for rule in &mut rules {
                let bucket = (rule.bucket)(&local);
                if rule.remaining > 0 && rule.last != Some(bucket) {
                    rule.remaining -= 1;
                    rule.last = Some(bucket);
                    reasons.push(rule.reason);
                }
            }
            if let Some(min_age) = policy.min_age
                && now.signed_duration_since(candidate.created_at) < min_age
            {
                reasons.push(KeepReason::YoungerThanMinAge);
            }
            Decision {
                id: candidate.id.clone(),
                created_at: candidate.created_at,
                reasons,
            }
        })
        .collect();
    RetentionPlan { decisions }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{FixedOffset, NaiveDateTime};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    fn candidates(times: &[&str]) -> Vec<Candidate> {
        times
            .iter()
            .map(|time| Candidate {
                id: time.to_string(),
                created_at: at(time),
            })
            .collect()
    }

    fn kept(plan: &RetentionPlan) -> Vec<&str> {
        plan.kept().map(|decision| decision.id.as_str()).collect()
    }

    fn reasons_of<'a>(plan: &'a RetentionPlan, id: &str) -> &'a [KeepReason] {
        &plan.decisions.iter().find(|d| d.id == id).unwrap().reasons
    }

    const NOW: &str = "2025-03-01 12:00";

    #[test]
    fn keep_last_keeps_the_newest() {
        let items = candidates(&[
            "2025-01-01 00:00",
            "2025-01-03 00:00",
            "2025-01-02 00:00",
            "2025-01-04 00:00",
        ]);
        let policy = RetentionPolicy {
            keep_last: 2,
            ..Default::default()
        };
        let plan = plan(&items, &policy, at(NOW), &Utc);
        assert_eq!(kept(&plan), ["2025-01-04 00:00", "2025-01-03 00:00"]);
        assert_eq!(plan.deleted().count(), 2);
        assert_eq!(reasons_of(&plan, "2025-01-04 00:00"), [KeepReason::Last]);
    }

    #[test]
    fn keep_daily_keeps_the_newest_of_each_day_with_backups() {
        // Three backups on the 10th, none on the 9th, two on the 8th, one on the 7th.
        let items = candidates(&[
            "2025-01-10 23:00",
            "2025-01-10 12:00",
            "2025-01-10 01:00",
            "2025-01-08 18:00",
            "2025-01-08 06:00",
            "2025-01-07 06:00",
        ]);
        let policy = RetentionPolicy {
            keep_daily: 2,
            ..Default::default()
        };
        let plan = plan(&items, &policy, at(NOW), &Utc);
        // The empty 9th does not use up the count.
        assert_eq!(kept(&plan), ["2025-01-10 23:00", "2025-01-08 18:00"]);
    }

    #[test]
    fn the_seeds_daily_backups_with_seven_day_retention() {
        let times: Vec<String> = (1..=30).map(|day| format!("2025-01-{day:02} 02:00")).collect();
        let items = candidates(&times.iter().map(String::as_str).collect::<Vec<_>>());
        let policy = RetentionPolicy {
            keep_daily: 7,
            ..Default::default()
        };
        let plan = plan(&items, &policy, at("2025-01-30 03:00"), &Utc);
        let expected: Vec<String> = (24..=30)
            .rev()
            .map(|day| format!("2025-01-{day:02} 02:00"))
            .collect();
        assert_eq!(kept(&plan), expected);
        assert_eq!(plan.deleted().count(), 23);
    }

    #[test]
    fn weeks_are_iso_weeks_starting_on_monday() {
        // 2025-01-05 is a Sunday, 2025-01-06 a Monday; 2024-12-30 (Monday) starts ISO week 2025-W01.
        let items = candidates(&[
            "2025-01-06 00:30",
            "2025-01-05 23:30",
            "2025-01-01 00:00",
            "2024-12-30 00:00",
            "2024-12-29 00:00",
        ]);
        let policy = RetentionPolicy {
            keep_weekly: 3,
            ..Default::default()
        };
        let plan = plan(&items, &policy, at(NOW), &Utc);
        assert_eq!(
            kept(&plan),
            ["2025-01-06 00:30", "2025-01-05 23:30", "2024-12-29 00:00"]
        );
    }

    #[test]
    fn hourly_monthly_and_yearly_buckets() {
        let items = candidates(&[
            "2025-02-01 10:59",
            "2025-02-01 10:01",
            "2025-02-01 09:30",
            "2025-01-31 23:00",
            "2024-12-31 23:59",
            "2024-06-01 00:00",
            "2023-12-31 00:00",
        ]);
        let hourly = plan(
            &items,
            &RetentionPolicy {
                keep_hourly: 3,
                ..Default::default()
            },
            at(NOW),
            &Utc,
        );
        assert_eq!(
            kept(&hourly),
            ["2025-02-01 10:59", "2025-02-01 09:30", "2025-01-31 23:00"]
        );
        let monthly = plan(
            &items,
            &RetentionPolicy {
                keep_monthly: 4,
                ..Default::default()
            },
            at(NOW),
            &Utc,
        );
        assert_eq!(
            kept(&monthly),
            [
                "2025-02-01 10:59",
                "2025-01-31 23:00",
                "2024-12-31 23:59",
                "2024-06-01 00:00"
            ]
        );
        let yearly = plan(
            &items,
            &RetentionPolicy {
                keep_yearly: 10,
                ..Default::default()
            },
            at(NOW),
            &Utc,
        );
        assert_eq!(
            kept(&yearly),
            ["2025-02-01 10:59", "2024-12-31 23:59", "2023-12-31 00:00"]
        );
    }

    #[test]
    fn rules_combine_and_report_every_reason() {
        let items = candidates(&[
            "2025-02-10 00:00",
            "2025-02-09 00:00",
            "2025-02-02 00:00",
            "2025-01-15 00:00",
        ]);
        let policy = RetentionPolicy {
            keep_last: 1,
            keep_daily: 2,
            keep_weekly: 2,
            keep_monthly: 2,
            ..Default::default()
        };
        let plan = plan(&items, &policy, at(NOW), &Utc);
        assert_eq!(
            reasons_of(&plan, "2025-02-10 00:00"),
            [
                KeepReason::Last,
                KeepReason::Daily,
                KeepReason::Weekly,
                KeepReason::Monthly
            ]
        );
        // The 9th is a Sunday: a different ISO week from Monday the 10th.
        assert_eq!(
            reasons_of(&plan, "2025-02-09 00:00"),
            [KeepReason::Daily, KeepReason::Weekly]
        );
        assert_eq!(reasons_of(&plan, "2025-02-02 00:00"), [] as [KeepReason; 0]);
        assert_eq!(reasons_of(&plan, "2025-01-15 00:00"), [KeepReason::Monthly]);
    }

    #[test]
    fn min_age_protects_young_backups_only() {
        let items = candidates(&[
            "2025-03-01 11:00",
            "2025-02-25 12:00",
            "2025-02-20 12:00",
            "2025-03-02 00:00",
        ]);
        let policy = RetentionPolicy::default().with_min_age("7d").unwrap();
        let plan = plan(&items, &policy, at(NOW), &Utc);
        // Exactly seven days old is no longer younger than seven days; the one from the future is kept.
        let policy_edge = RetentionPolicy::default().with_min_age("7d").unwrap();
        let edge = super::plan(&candidates(&["2025-02-22 12:00"]), &policy_edge, at(NOW), &Utc);
        assert_eq!(edge.kept().count(), 0);
        assert_eq!(
            kept(&plan),
            ["2025-03-02 00:00", "2025-03-01 11:00", "2025-02-25 12:00"]
        );
        assert_eq!(
            reasons_of(&plan, "2025-03-01 11:00"),
            [KeepReason::YoungerThanMinAge]
        );
    }

    #[test]
    fn an_empty_policy_keeps_everything() {
        let items = candidates(&["2020-01-01 00:00", "2025-01-01 00:00"]);
        let plan = plan(&items, &RetentionPolicy::default(), at(NOW), &Utc);
        assert_eq!(plan.kept().count(), 2);
        assert!(plan.decisions.iter().all(|d| d.reasons == [KeepReason::NoPolicy]));
        assert!(
            super::plan(&[], &RetentionPolicy::default(), at(NOW), &Utc)
                .decisions
                .is_empty()
        );
    }

    #[test]
    fn buckets_follow_the_time_zone() {
        // 23:30 UTC on the 5th is already the 6th in UTC+2.
        let items = candidates(&["2025-01-05 23:30", "2025-01-05 20:00"]);
        let policy = RetentionPolicy {
            keep_daily: 5,
            ..Default::default()
        };
        assert_eq!(plan(&items, &policy, at(NOW), &Utc).kept().count(), 1);
        let plus_two = FixedOffset::east_opt(2 * 3600).unwrap();
        assert_eq!(plan(&items, &policy, at(NOW), &plus_two).kept().count(), 2);
    }

    #[test]
    fn ties_are_broken_by_id_deterministically() {
        let items = vec![
            Candidate {
                id: "a".into(),
                created_at: at("2025-01-01 00:00"),
            },
            Candidate {
                id: "b".into(),
                created_at: at("2025-01-01 00:00"),
            },
        ];
        let policy = RetentionPolicy {
            keep_last: 1,
            ..Default::default()
        };
        assert_eq!(kept(&plan(&items, &policy, at(NOW), &Utc)), ["b"]);
    }

    /// A second, independent formulation: for each rule, group by bucket, take the newest of each group, and
    /// keep the groups of the `n` newest buckets. Checked against `plan` on many pseudo-random histories.
    #[test]
    fn matches_a_reference_implementation_on_random_histories() {
        let mut seed = 0x9e37_79b9_u64;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let base = at("2023-01-01 00:00");
        for round in 0..300 {
            let count = next(40) as usize;
            let items: Vec<Candidate> = (0..count)
                .map(|i| Candidate {
                    id: format!("{round}-{i}"),
                    created_at: base + TimeDelta::minutes(next(60 * 24 * 800) as i64),
                })
                .collect();
            let policy = RetentionPolicy {
                keep_last: next(4) as u32,
                keep_hourly: next(4) as u32,
                keep_daily: next(5) as u32,
                keep_weekly: next(4) as u32,
                keep_monthly: next(4) as u32,
                keep_yearly: next(3) as u32,
                min_age: (next(3) == 0).then(|| TimeDelta::days(next(400) as i64)),
            };
            let now = base + TimeDelta::days(800);
            let actual: BTreeSet<String> = plan(&items, &policy, now, &Utc)
                .kept()
                .map(|d| d.id.clone())
                .collect();
            assert_eq!(
                actual,
                reference(&items, &policy, now),
                "round {round}: {policy:?}"
            );
        }
    }

    fn reference(items: &[Candidate], policy: &RetentionPolicy, now: DateTime<Utc>) -> BTreeSet<String> {
        let mut sorted: Vec<&Candidate> = items.iter().collect();
        sorted.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        if policy.is_empty() {
            return sorted.iter().map(|c| c.id.clone()).collect();
        }
        let mut keep: BTreeSet<String> = sorted
            .iter()
            .take(policy.keep_last as usize)
            .map(|c| c.id.clone())
            .collect();
        let rules: [(u32, Bucket); 5] = [
            (policy.keep_hourly, hour_bucket),
            (policy.keep_daily, day_bucket),
            (policy.keep_weekly, week_bucket),
            (policy.keep_monthly, month_bucket),
            (policy.keep_yearly, year_bucket),
        ];
        for (count, bucket) in rules {
            // Newest first within a bucket, buckets newest first: BTreeMap by bucket, first seen wins.
            let mut newest_per_bucket: BTreeMap<i64, &Candidate> = BTreeMap::new();
            for candidate in &sorted {
                newest_per_bucket
                    .entry(bucket(&candidate.created_at.fixed_offset()))
                    .or_insert(candidate);
            }
            keep.extend(
                newest_per_bucket
                    .values()
                    .rev()
                    .take(count as usize)
                    .map(|c| c.id.clone()),
            );
        }
        if let Some(min_age) = policy.min_age {
            keep.extend(
                sorted
                    .iter()
                    .filter(|c| now.signed_duration_since(c.created_at) < min_age)
                    .map(|c| c.id.clone()),
            );
        }
        keep
    }
}
