//! Driver errors. Messages name the target with its password masked and never include migration bodies.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A migration file that the database refused, reported like golang-migrate's `database.Error`
/// (`migration failed: <message> (column <c>), <detail> in line <n>: <file>`), with the file name where
/// golang-migrate prints the whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationError {
    pub version: u64,
    pub file: String,
    /// The server's message (MySQL: go-sql-driver's `Error <number> (<state>): <message>` form).
    pub message: String,
    /// 1-based line of the error position in the file; 0 when the server gave no position.
    pub line: u64,
    pub column: Option<u64>,
    pub detail: Option<String>,
    /// SQLSTATE (PostgreSQL, MySQL) or the extended result code (SQLite).
    pub code: Option<String>,
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "migration failed: {}", self.message)?;
        if let Some(column) = self.column {
            write!(f, " (column {column})")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ", {detail}")?;
        }
        write!(
            f,
            " in line {}: {} (version {})",
            self.line, self.file, self.version
        )
    }
}

impl std::error::Error for MigrationError {}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    #[error("failed to connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },

    #[error("failed to connect to {target}: no answer within {timeout:?}")]
    ConnectTimeout { target: String, timeout: Duration },

    #[error("failed to read TLS file {} for {target}", path.display())]
    TlsFile {
        target: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to {action} on {target}")]
    Query {
        action: &'static str,
        target: String,
        #[source]
        source: sqlx::Error,
    },

    /// golang-migrate's `ErrLockTimeout`.
    #[error("timeout: can't acquire database lock on {target} within {timeout:?}")]
    LockTimeout { target: String, timeout: Duration },

    /// golang-migrate's `database.ErrLocked` (MySQL `GET_LOCK` gave up, or this driver is already locked).
    #[error("can't acquire lock {lock} on {target}")]
    Locked { target: String, lock: String },

    /// golang-migrate's `database.ErrNotLocked`.
    #[error("can't unlock {target}, as not currently locked")]
    NotLocked { target: String },

    #[error("no schema: the search_path of {target} names no existing schema")]
    NoSchema { target: String },

    #[error("no database name: {target} names no database and the account has no default database")]
    NoDatabaseName { target: String },

    #[error("migrations table {table} on {target} holds version {value}, which golang-migrate never writes")]
    InvalidStoredVersion {
        target: String,
        table: String,
        value: i64,
    },

    #[error("version {version} does not fit the migrations table's bigint column")]
    VersionTooLarge { version: u64 },

    #[error("migration file {file} is not valid UTF-8")]
    NotUtf8 { file: String },

    #[error(
        "migration file {file} has a statement longer than {max_size} bytes (raise x-multi-statement-max-size)"
    )]
    StatementTooLong { file: String, max_size: usize },

    #[error("invalid migrations table name {table:?}: {reason}")]
    InvalidTableName { table: String, reason: String },

    #[error(transparent)]
    Migration(Box<MigrationError>),
}

impl DriverError {
    /// A stable identifier for metrics and condition reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            DriverError::Connect { .. }
            | DriverError::ConnectTimeout { .. }
            | DriverError::TlsFile { .. } => "ConnectionFailed",
            DriverError::Query { .. } => "QueryFailed",
            DriverError::LockTimeout { .. } | DriverError::Locked { .. } => "LockTimeout",
            DriverError::NotLocked { .. } => "NotLocked",
            DriverError::NoSchema { .. } | DriverError::NoDatabaseName { .. } => "NoSchema",
            DriverError::InvalidStoredVersion { .. } => "InvalidStoredVersion",
            DriverError::VersionTooLarge { .. } => "VersionTooLarge",
            DriverError::NotUtf8 { .. } | DriverError::StatementTooLong { .. } => "InvalidMigrationFile",
            DriverError::InvalidTableName { .. } => "InvalidTableName",
            DriverError::Migration(_) => "MigrationFailed",
        }
    }
}

/// golang-migrate's `computeLineFromPos`: the 1-based line and column of a 1-based character position,
/// counting `\r\n` as one line break.
pub(crate) fn line_and_column(query: &str, position: usize) -> Option<(u64, u64)> {
    let text = query.replace("\r\n", "\n");
    let chars: Vec<char> = text.chars().collect();
    if position > chars.len() {
        return None;
    }
    let selected = &chars[..position];
    let line = selected.iter().filter(|c| **c == '\n').count() as u64 + 1;
    let last_newline = selected
        .iter()
        .rposition(|c| *c == '\n')
        .map_or(-1, |index| index as i64);
    let column = (position as i64 - 1 - last_newline).max(0) as u64;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_follow_golang_migrate() {
        // The upstream pgx test: "CREATE TABLEE" starts at character 37.
        let query = "CREATE TABLE foo (foo text); CREATE TABLEE bar (bar text);";
        assert_eq!(line_and_column(query, 37), Some((1, 37)));
        assert_eq!(line_and_column("a\nbc\nde", 6), Some((3, 1)));
        assert_eq!(line_and_column("a\r\nbc", 3), Some((2, 1)));
        assert_eq!(line_and_column("abc", 4), None);
    }

    #[test]
    fn migration_error_format() {
        let error = MigrationError {
            version: 3,
            file: "3_bad.up.sql".into(),
            message: "syntax error at or near \"TABLEE\"".into(),
            line: 1,
            column: Some(37),
            detail: None,
            code: Some("42601".into()),
        };
        assert_eq!(
            error.to_string(),
            "migration failed: syntax error at or near \"TABLEE\" (column 37) in line 1: 3_bad.up.sql (version 3)"
        );
    }
}
