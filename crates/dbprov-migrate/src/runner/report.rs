//! What a command did.

use std::fmt;
use std::time::Duration;

use crate::driver::DatabaseVersion;
use crate::source::Direction;

/// One migration that ran to the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedStep {
    /// The version whose file ran (for a down migration, the version rolled back).
    pub version: u64,
    /// The database's version afterwards (`None`: no version).
    pub target: Option<u64>,
    pub direction: Direction,
    /// The file's identifier, or `<empty>` when the version has no file in this direction.
    pub identifier: String,
    pub file_name: Option<String>,
    /// SHA-256 of the file that ran.
    pub checksum: Option<String>,
    pub duration: Duration,
}

impl fmt::Display for AppliedStep {
    /// golang-migrate's line: `1/u create_users (12.48ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} {} ({:?})",
            self.version,
            self.direction.letter(),
            self.identifier,
            self.duration
        )
    }
}

/// The outcome of `up`, `down` or `goto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// The database URL, password masked.
    pub target: String,
    /// Where the migration files came from.
    pub source: String,
    /// The database's version before the command.
    pub start: DatabaseVersion,
    /// The migrations that completed, in order.
    pub applied: Vec<AppliedStep>,
    /// Nothing to do (golang-migrate's `no change`).
    pub no_change: bool,
    /// A stop was requested and the command ended after a completed migration.
    pub stopped: bool,
    pub duration: Duration,
}

impl RunReport {
    /// The database's version after the command (as far as the completed migrations go).
    pub fn end_version(&self) -> Option<u64> {
        self.applied.last().map_or(self.start.version, |step| step.target)
    }
}
