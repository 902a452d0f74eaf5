//! Checksums of applied migrations, for the `DatabaseMigration` kind: its status records which up files ran
//! (version, name, SHA-256); a later source whose applied files differ is reported, never re-run (golang-migrate
//! only ever looks at versions, so an edited file would silently never run again).

use std::fmt;

use crate::runner::RunReport;
use crate::source::{Direction, Source};

/// An up file recorded as applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppliedFile {
    pub version: u64,
    pub file_name: String,
    /// Lower-case hex SHA-256.
    pub checksum: String,
}

/// An applied file that is not in the source the way it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumMismatch {
    /// Same name, different content.
    Modified {
        version: u64,
        file_name: String,
        recorded: String,
        current: String,
    },
    /// The version's up file has another name now (its content may or may not have changed).
    Renamed {
        version: u64,
        recorded_file: String,
        current_file: String,
        content_changed: bool,
    },
    /// The version has no up file any more.
    Missing { version: u64, file_name: String },
}

impl ChecksumMismatch {
    pub fn version(&self) -> u64 {
        match self {
            ChecksumMismatch::Modified { version, .. }
            | ChecksumMismatch::Renamed { version, .. }
            | ChecksumMismatch::Missing { version, .. } => *version,
        }
    }
}

impl fmt::Display for ChecksumMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumMismatch::Modified {
                version,
                file_name,
                recorded,
                current,
            } => write!(
                f,
                "applied migration {version} ({file_name}) changed since it ran: sha256 was {recorded}, is {current}"
            ),
            ChecksumMismatch::Renamed {
                version,
                recorded_file,
                current_file,
                content_changed,
            } => write!(
                f,
                "applied migration {version} was {recorded_file} and is now {current_file}{}",
                if *content_changed {
                    ", with different content"
                } else {
                    ""
                }
            ),
            ChecksumMismatch::Missing { version, file_name } => {
                write!(
                    f,
                    "applied migration {version} ({file_name}) is no longer in the source"
                )
            }
        }
    }
}

/// The up files of `source` up to and including `version`: what a database at `version` has applied, for
/// recording the first time a database is seen.
pub fn applied_files(source: &Source, version: Option<u64>) -> Vec<AppliedFile> {
    let Some(version) = version else {
        return Vec::new();
    };
    source
        .files()
        .filter(|file| file.direction() == Direction::Up && file.version() <= version)
        .map(|file| AppliedFile {
            version: file.version(),
            file_name: file.file_name().to_owned(),
            checksum: file.checksum().to_owned(),
        })
        .collect()
}

/// Updates the recorded list with what a run did: up migrations are added (replacing the version's entry),
/// rolled-back versions are removed. The list stays ordered by version.
pub fn record_run(recorded: &mut Vec<AppliedFile>, report: &RunReport) {
    for step in &report.applied {
        recorded.retain(|file| file.version != step.version);
        if step.direction == Direction::Up
            && let (Some(file_name), Some(checksum)) = (&step.file_name, &step.checksum)
        {
            recorded.push(AppliedFile {
                version: step.version,
                file_name: file_name.clone(),
                checksum: checksum.clone(),
            });
        }
    }
    recorded.sort_by_key(|file| file.version);
}

/// Compares recorded applied files with the current source.
pub fn verify(recorded: &[AppliedFile], source: &Source) -> Vec<ChecksumMismatch> {
    recorded
        .iter()
        .filter_map(|applied| {
            let Some(current) = source.up(applied.version) else {
                return Some(ChecksumMismatch::Missing {
                    version: applied.version,
                    file_name: applied.file_name.clone(),
                });
            };
            let content_changed = current.checksum() != applied.checksum;
            if current.file_name() != applied.file_name {
                Some(ChecksumMismatch::Renamed {
                    version: applied.version,
                    recorded_file: applied.file_name.clone(),
                    current_file: current.file_name().to_owned(),
                    content_changed,
                })
            } else if content_changed {
                Some(ChecksumMismatch::Modified {
                    version: applied.version,
                    file_name: applied.file_name.clone(),
                    recorded: applied.checksum.clone(),
                    current: current.checksum().to_owned(),
                })
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::driver::DatabaseVersion;
    use crate::runner::AppliedStep;

    fn source(files: &[(&str, &str)]) -> Source {
        Source::from_files(
            "test",
            files
                .iter()
                .map(|(name, body)| (name.to_string(), body.as_bytes().to_vec())),
        )
        .unwrap()
    }

    #[test]
    fn unchanged_sources_verify_clean() {
        let source = source(&[("1_a.up.sql", "A"), ("2_b.up.sql", "B"), ("2_b.down.sql", "b")]);
        let recorded = applied_files(&source, Some(2));
        assert_eq!(recorded.len(), 2);
        assert!(verify(&recorded, &source).is_empty());
        assert!(applied_files(&source, None).is_empty());
        assert_eq!(applied_files(&source, Some(1)).len(), 1);
    }

    #[test]
    fn changes_are_reported() {
        let before = source(&[("1_a.up.sql", "A"), ("2_b.up.sql", "B"), ("3_c.up.sql", "C")]);
        let recorded = applied_files(&before, Some(3));
        let after = source(&[
            ("1_a.up.sql", "A changed"),
            ("2_renamed.up.sql", "B"),
            ("4_d.up.sql", "D"),
        ]);
        let mismatches = verify(&recorded, &after);
        assert_eq!(mismatches.len(), 3);
        assert!(matches!(
            &mismatches[0],
            ChecksumMismatch::Modified { version: 1, .. }
        ));
        assert!(matches!(
            &mismatches[1],
            ChecksumMismatch::Renamed {
                version: 2,
                content_changed: false,
                ..
            }
        ));
        assert!(matches!(
            &mismatches[2],
            ChecksumMismatch::Missing { version: 3, .. }
        ));
        assert!(mismatches[0].to_string().contains("1_a.up.sql"));
    }

    #[test]
    fn runs_update_the_record() {
        let step = |version, target, direction, file: Option<&str>| AppliedStep {
            version,
            target,
            direction,
            identifier: "x".into(),
            file_name: file.map(str::to_owned),
            checksum: file.map(|_| format!("sum{version}")),
            duration: Duration::ZERO,
        };
        let mut report = RunReport {
            target: "t".into(),
            source: "s".into(),
            start: DatabaseVersion::default(),
            applied: vec![
                step(2, Some(2), Direction::Up, Some("2_b.up.sql")),
                step(1, Some(1), Direction::Up, Some("1_a.up.sql")),
                step(3, Some(3), Direction::Up, None),
            ],
            no_change: false,
            stopped: false,
            duration: Duration::ZERO,
        };
        let mut recorded = Vec::new();
        record_run(&mut recorded, &report);
        assert_eq!(recorded.iter().map(|f| f.version).collect::<Vec<_>>(), vec![1, 2]);
        report.applied = vec![step(2, Some(1), Direction::Down, Some("2_b.down.sql"))];
        record_run(&mut recorded, &report);
        assert_eq!(recorded.iter().map(|f| f.version).collect::<Vec<_>>(), vec![1]);
    }
}
