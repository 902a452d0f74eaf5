//! Database drivers: golang-migrate's `database.Driver`, one implementation per engine.
//!
//! Each driver owns exactly one connection for its whole life: PostgreSQL's advisory lock and MySQL's
//! `GET_LOCK` belong to a session, so the lock, the version table and the migration bodies all go through the
//! same session, as in golang-migrate. What each driver writes is golang-migrate's, statement for statement
//! (see `sql.rs` and the tests that compare the resulting tables with ones golang-migrate's DDL created).

mod error;
mod mysql;
mod postgres;
pub(crate) mod sql;
mod sqlite;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::EngineKind;

use crate::source::MigrationFile;
use crate::url::MigrationTarget;

pub use error::{DriverError, MigrationError};
pub use mysql::MySqlDriver;
pub use postgres::PostgresDriver;
pub use sqlite::SqliteDriver;

/// How long a connection attempt may take when the URL sets no timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a migrations table says: the version (`None` is golang-migrate's -1, "no version") and the dirty
/// flag. An empty table reads as `{ version: None, dirty: false }`; golang-migrate leaves the row
/// `(-1, dirty)` behind when rolling back the first migration fails, which reads as `{ None, true }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatabaseVersion {
    pub version: Option<u64>,
    pub dirty: bool,
}

impl DatabaseVersion {
    /// golang-migrate's integer form: -1 for no version.
    pub fn as_i64(&self) -> i64 {
        self.version
            .map(|version| i64::try_from(version).unwrap_or(i64::MAX))
            .unwrap_or(-1)
    }
}

impl fmt::Display for DatabaseVersion {
    /// `3` or `3 (dirty)`, as `migrate version` prints it (`-1` for no version).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_i64())?;
        if self.dirty {
            f.write_str(" (dirty)")?;
        }
        Ok(())
    }
}

/// golang-migrate's `database.Driver`, reduced to what the runner needs.
#[async_trait]
pub trait MigrationDriver: Send {
    fn engine(&self) -> EngineKind;

    /// The database URL with the password masked, for messages.
    fn target(&self) -> &str;

    /// The migrations table as it appears in SQL (`"public"."schema_migrations"`).
    fn migrations_table(&self) -> &str;

    /// Creates the migrations table with golang-migrate's DDL when it does not exist. Call it under the lock.
    async fn ensure_table(&mut self) -> Result<(), DriverError>;

    /// Takes the migration lock, waiting at most `timeout`: PostgreSQL `pg_advisory_lock` and MySQL
    /// `GET_LOCK` with golang-migrate's keys, SQLite a lock inside this process.
    async fn lock(&mut self, timeout: Duration) -> Result<(), DriverError>;

    async fn unlock(&mut self) -> Result<(), DriverError>;

    /// Reads the migrations table (an empty or missing table is no version, clean).
    async fn version(&mut self) -> Result<DatabaseVersion, DriverError>;

    /// Replaces the table's content in one transaction: delete everything, then insert `(version, dirty)`
    /// unless `version` is `None` and `dirty` is false (which leaves the table empty).
    async fn set_version(&mut self, version: Option<u64>, dirty: bool) -> Result<(), DriverError>;

    /// Runs one migration file as golang-migrate sends it.
    async fn run(&mut self, migration: &MigrationFile) -> Result<(), DriverError>;

    /// Closes the connection (which also releases a session lock still held).
    async fn close(self: Box<Self>) -> Result<(), DriverError>;
}

/// Connects the driver `target` names.
pub async fn connect(target: &MigrationTarget) -> Result<Box<dyn MigrationDriver>, DriverError> {
    Ok(match target {
        MigrationTarget::Postgres(target) => Box::new(PostgresDriver::connect(target).await?),
        MigrationTarget::MySql(target) => Box::new(MySqlDriver::connect(target).await?),
        MigrationTarget::Sqlite(target) => Box::new(SqliteDriver::connect(target).await?),
    })
}

/// The signed form the version column stores; versions above `i64::MAX` cannot be stored.
pub(crate) fn stored_version(version: Option<u64>) -> Result<i64, DriverError> {
    match version {
        None => Ok(-1),
        Some(version) => i64::try_from(version).map_err(|_| DriverError::VersionTooLarge { version }),
    }
}

/// The inverse of [`stored_version`]: -1 is no version; any other negative number is not golang-migrate's.
pub(crate) fn read_version(
    value: i64,
    dirty: bool,
    target: &str,
    table: &str,
) -> Result<DatabaseVersion, DriverError> {
    match value {
        -1 => Ok(DatabaseVersion { version: None, dirty }),
        value if value >= 0 => Ok(DatabaseVersion {
            version: Some(value as u64),
            dirty,
        }),
        value => Err(DriverError::InvalidStoredVersion {
            target: target.to_owned(),
            table: table.to_owned(),
            value,
        }),
    }
}

/// Whether a body is empty for golang-migrate's purposes (`strings.TrimSpace(query) == ""`).
pub(crate) fn is_blank(body: &str) -> bool {
    body.trim().is_empty()
}

pub(crate) fn body_text(migration: &MigrationFile) -> Result<&str, DriverError> {
    std::str::from_utf8(migration.body()).map_err(|_| DriverError::NotUtf8 {
        file: migration.file_name().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rendering_matches_migrate_version() {
        assert_eq!(
            DatabaseVersion {
                version: Some(3),
                dirty: false
            }
            .to_string(),
            "3"
        );
        assert_eq!(
            DatabaseVersion {
                version: Some(3),
                dirty: true
            }
            .to_string(),
            "3 (dirty)"
        );
        assert_eq!(
            DatabaseVersion {
                version: None,
                dirty: true
            }
            .to_string(),
            "-1 (dirty)"
        );
    }

    #[test]
    fn stored_versions_round_trip() {
        assert_eq!(stored_version(None).unwrap(), -1);
        assert_eq!(stored_version(Some(7)).unwrap(), 7);
        assert!(matches!(
            stored_version(Some(u64::MAX)),
            Err(DriverError::VersionTooLarge { .. })
        ));
        assert_eq!(
            read_version(-1, true, "t", "m").unwrap(),
            DatabaseVersion {
                version: None,
                dirty: true
            }
        );
        assert_eq!(read_version(7, false, "t", "m").unwrap().version, Some(7));
        assert!(read_version(-2, false, "t", "m").is_err());
    }
}
