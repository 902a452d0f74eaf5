//! Which migrations a command runs, decided from the source and the database's version alone (no I/O).
//! This is golang-migrate's `read`, `readUp` and `readDown`, including where each stops and what it reports.

use crate::source::{Direction, MigrationFile, Source};

/// One migration to run: the file of `version` in `direction`, after which the database is at `target`
/// (`None` = no version). `file` is `None` when the version has no file in that direction: golang-migrate
/// still records the version change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedStep<'s> {
    pub version: u64,
    pub target: Option<u64>,
    pub direction: Direction,
    pub file: Option<&'s MigrationFile>,
}

impl PlannedStep<'_> {
    /// golang-migrate's identifier for logs: the file's identifier, or `<empty>` without a file.
    pub fn identifier(&self) -> &str {
        self.file.map_or("<empty>", MigrationFile::identifier)
    }
}

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// `up [N]` (`None`: all).
    Up(Option<usize>),
    /// `down [N]` (`None`: all).
    Down(Option<usize>),
    /// `goto V`.
    Goto(u64),
}

/// The steps, and how many short of the requested count they are (golang-migrate's `ErrShortLimit`,
/// reported after the steps ran).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan<'s> {
    pub steps: Vec<PlannedStep<'s>>,
    pub short_limit: Option<usize>,
}

/// Why nothing runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlanStop {
    /// golang-migrate's `ErrNoChange`.
    NoChange,
    /// The database's version (or the goto target) has neither an up nor a down file.
    VersionNotInSource(u64),
    /// golang-migrate's `os.ErrNotExist`: `up N` at the last version, `down N` with no version.
    NothingToApply(&'static str),
    /// The source has no migrations at all.
    EmptySource,
}

pub(crate) fn plan(source: &Source, current: Option<u64>, command: Command) -> Result<Plan<'_>, PlanStop> {
    if let Some(current) = current
        && !source.contains(current)
    {
        return Err(PlanStop::VersionNotInSource(current));
    }
    match command {
        Command::Up(limit) => plan_up(source, current, limit),
        Command::Down(limit) => plan_down(source, current, limit),
        Command::Goto(target) => plan_goto(source, current, target),
    }
}

fn up_step(source: &Source, version: u64) -> PlannedStep<'_> {
    PlannedStep {
        version,
        target: Some(version),
        direction: Direction::Up,
        file: source.up(version),
    }
}

fn down_step(source: &Source, version: u64, target: Option<u64>) -> PlannedStep<'_> {
    PlannedStep {
        version,
        target,
        direction: Direction::Down,
        file: source.down(version),
    }
}

fn plan_up(source: &Source, current: Option<u64>, limit: Option<usize>) -> Result<Plan<'_>, PlanStop> {
    if limit == Some(0) {
        return Err(PlanStop::NoChange);
    }
    let mut steps = Vec::new();
    let mut at = current;
    while limit.is_none_or(|limit| steps.len() < limit) {
        let next = match at {
            None => source.first().ok_or(PlanStop::EmptySource)?,
            Some(version) => match source.next(version) {
                Some(next) => next,
                None => {
                    return match (limit, steps.len()) {
                        (None, 0) => Err(PlanStop::NoChange),
                        (None, _) => Ok(Plan {
                            steps,
                            short_limit: None,
                        }),
                        (Some(_), 0) => {
                            Err(PlanStop::NothingToApply("no migration after the current version"))
                        }
                        (Some(limit), count) => Ok(Plan {
                            steps,
                            short_limit: Some(limit - count),
                        }),
                    };
                }
            },
        };
        steps.push(up_step(source, next));
        at = Some(next);
    }
    Ok(Plan {
        steps,
        short_limit: None,
    })
}

fn plan_down(source: &Source, current: Option<u64>, limit: Option<usize>) -> Result<Plan<'_>, PlanStop> {
    if limit == Some(0) {
        return Err(PlanStop::NoChange);
    }
    let Some(mut at) = current else {
        return match limit {
            None => Err(PlanStop::NoChange),
            Some(_) => Err(PlanStop::NothingToApply(
                "the database has no version to roll back",
            )),
        };
    };
    let mut steps = Vec::new();
    while limit.is_none_or(|limit| steps.len() < limit) {
        match source.prev(at) {
            Some(previous) => {
                steps.push(down_step(source, at, Some(previous)));
                at = previous;
            }
            None => {
                // Rolling back the first migration leaves no version.
                steps.push(down_step(source, at, None));
                let short_limit = limit
                    .filter(|limit| steps.len() < *limit)
                    .map(|limit| limit - steps.len());
                return Ok(Plan { steps, short_limit });
            }
        }
    }
    Ok(Plan {
        steps,
        short_limit: None,
    })
}

fn plan_goto(source: &Source, current: Option<u64>, target: u64) -> Result<Plan<'_>, PlanStop> {
    if !source.contains(target) {
        return Err(PlanStop::VersionNotInSource(target));
    }
    if current == Some(target) {
        return Err(PlanStop::NoChange);
    }
    let mut steps = Vec::new();
    match current {
        Some(mut at) if at > target => {
            while at > target {
                let previous = source
                    .prev(at)
                    .expect("invariant: the target is in the source and below the current version");
                steps.push(down_step(source, at, Some(previous)));
                at = previous;
            }
        }
        _ => {
            let mut at = match current {
                Some(at) => at,
                None => {
                    let first = source.first().expect("invariant: the target is in the source");
                    steps.push(up_step(source, first));
                    first
                }
            };
            while at < target {
                let next = source
                    .next(at)
                    .expect("invariant: the target is in the source and above the current version");
                steps.push(up_step(source, next));
                at = next;
            }
        }
    }
    Ok(Plan {
        steps,
        short_limit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions 1, 3 (no down file), 5, 7 (no up file).
    fn source() -> Source {
        Source::from_files(
            "test",
            [
                "1_a.up.sql",
                "1_a.down.sql",
                "3_b.up.sql",
                "5_c.up.sql",
                "5_c.down.sql",
                "7_d.down.sql",
            ]
            .map(|name| (name.to_string(), Vec::new())),
        )
        .unwrap()
    }

    /// `(version, target, direction letter, has file)` for each step.
    fn steps(plan: &Plan<'_>) -> Vec<(u64, i64, char, bool)> {
        plan.steps
            .iter()
            .map(|step| {
                (
                    step.version,
                    step.target.map_or(-1, |t| t as i64),
                    step.direction.letter(),
                    step.file.is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn up_all_from_nothing() {
        let source = source();
        let plan = plan(&source, None, Command::Up(None)).unwrap();
        assert_eq!(
            steps(&plan),
            vec![
                (1, 1, 'u', true),
                (3, 3, 'u', true),
                (5, 5, 'u', true),
                (7, 7, 'u', false)
            ]
        );
        assert_eq!(plan.short_limit, None);
    }

    #[test]
    fn up_at_the_end_is_no_change_or_not_exist() {
        let source = source();
        assert_eq!(plan(&source, Some(7), Command::Up(None)), Err(PlanStop::NoChange));
        assert!(matches!(
            plan(&source, Some(7), Command::Up(Some(1))),
            Err(PlanStop::NothingToApply(_))
        ));
        assert_eq!(
            plan(&source, Some(1), Command::Up(Some(0))),
            Err(PlanStop::NoChange)
        );
    }

    #[test]
    fn up_with_a_limit_and_a_short_limit() {
        let source = source();
        let plan_two = plan(&source, Some(1), Command::Up(Some(2))).unwrap();
        assert_eq!(steps(&plan_two), vec![(3, 3, 'u', true), (5, 5, 'u', true)]);
        let short = plan(&source, Some(3), Command::Up(Some(5))).unwrap();
        assert_eq!(steps(&short), vec![(5, 5, 'u', true), (7, 7, 'u', false)]);
        assert_eq!(short.short_limit, Some(3));
    }

    #[test]
    fn down_records_the_previous_version_and_ends_with_none() {
        let source = source();
        let all = plan(&source, Some(5), Command::Down(None)).unwrap();
        assert_eq!(
            steps(&all),
            vec![(5, 3, 'd', true), (3, 1, 'd', false), (1, -1, 'd', true)]
        );
        let one = plan(&source, Some(5), Command::Down(Some(1))).unwrap();
        assert_eq!(steps(&one), vec![(5, 3, 'd', true)]);
        let short = plan(&source, Some(3), Command::Down(Some(4))).unwrap();
        assert_eq!(steps(&short), vec![(3, 1, 'd', false), (1, -1, 'd', true)]);
        assert_eq!(short.short_limit, Some(2));
    }

    #[test]
    fn down_with_no_version() {
        let source = source();
        assert_eq!(plan(&source, None, Command::Down(None)), Err(PlanStop::NoChange));
        assert!(matches!(
            plan(&source, None, Command::Down(Some(1))),
            Err(PlanStop::NothingToApply(_))
        ));
    }

    #[test]
    fn goto_both_ways() {
        let source = source();
        let up = plan(&source, None, Command::Goto(3)).unwrap();
        assert_eq!(steps(&up), vec![(1, 1, 'u', true), (3, 3, 'u', true)]);
        let first = plan(&source, None, Command::Goto(1)).unwrap();
        assert_eq!(steps(&first), vec![(1, 1, 'u', true)]);
        let down = plan(&source, Some(7), Command::Goto(3)).unwrap();
        assert_eq!(steps(&down), vec![(7, 5, 'd', true), (5, 3, 'd', true)]);
        let through_missing_down = plan(&source, Some(5), Command::Goto(1)).unwrap();
        assert_eq!(
            steps(&through_missing_down),
            vec![(5, 3, 'd', true), (3, 1, 'd', false)]
        );
        assert_eq!(plan(&source, Some(3), Command::Goto(3)), Err(PlanStop::NoChange));
        assert_eq!(
            plan(&source, Some(3), Command::Goto(4)),
            Err(PlanStop::VersionNotInSource(4))
        );
    }

    #[test]
    fn a_database_version_missing_from_the_source_stops_every_command() {
        let source = source();
        for command in [Command::Up(None), Command::Down(None), Command::Goto(1)] {
            assert_eq!(
                plan(&source, Some(4), command),
                Err(PlanStop::VersionNotInSource(4))
            );
        }
    }

    #[test]
    fn an_empty_source() {
        let empty = Source::from_files("empty", Vec::new()).unwrap();
        assert_eq!(plan(&empty, None, Command::Up(None)), Err(PlanStop::EmptySource));
        assert_eq!(plan(&empty, None, Command::Down(None)), Err(PlanStop::NoChange));
    }

    #[test]
    fn missing_files_read_as_empty() {
        let source = source();
        let plan = plan(&source, Some(5), Command::Up(None)).unwrap();
        assert_eq!(plan.steps[0].identifier(), "<empty>");
    }
}
