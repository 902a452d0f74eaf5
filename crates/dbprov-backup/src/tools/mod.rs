//! The programs that read and write databases: `pg_dump`/`pg_restore`/`psql`, `mariadb-dump`/`mysqldump`
//! and the `mariadb`/`mysql` client, and SQLite's `VACUUM INTO`. One file per engine; this module is the
//! one place in the crate that branches on the engine kind.
//!
//! Connections come from a [`dbprov_core::ConnectionSpec`]. Passwords and TLS keys are never put on a
//! command line or in the environment of other programs: PostgreSQL tools read a `0600` password file
//! (`PGPASSFILE`), MySQL tools a `0600` option file (`--defaults-file`), both in a private temporary
//! directory removed when the tool is done. Tools run with a clean environment.

mod mysql;
mod postgres;
mod process;
mod sqlite;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbprov_core::{ConnectionSpec, EngineKind};
use tokio::io::{AsyncRead, AsyncWrite};

pub use mysql::MySqlDumpOptions;
pub use postgres::{PostgresDumpOptions, PostgresFormat, PostgresRestoreOptions};

use crate::artifact::ArtifactFormat;
use process::{Tool, ToolProcess};

/// One database on one server: what is dumped, or restored into.
#[derive(Debug, Clone)]
pub struct DatabaseTarget {
    /// The engine declared for the instance (`mysql` also covers MariaDB).
    pub engine: EngineKind,
    pub connection: ConnectionSpec,
    pub database: String,
}

impl DatabaseTarget {
    pub fn new(engine: EngineKind, connection: ConnectionSpec, database: impl Into<String>) -> Self {
        Self {
            engine,
            connection,
            database: database.into(),
        }
    }
}

/// Engine-specific dump settings (`spec.postgres`, `spec.mysql` of a `DatabaseBackup`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpOptions {
    pub postgres: PostgresDumpOptions,
    pub mysql: MySqlDumpOptions,
}

/// Engine-specific restore settings (`spec.postgres` of a `DatabaseRestore`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    pub postgres: PostgresRestoreOptions,
}

/// Where the programs are: one configured directory, or the usual places (the newest
/// `/usr/lib/postgresql/<version>/bin` for PostgreSQL, then `PATH`, `/usr/local/bin`, `/usr/bin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolLocator {
    directory: Option<PathBuf>,
}

impl ToolLocator {
    pub fn system() -> Self {
        Self::default()
    }

    /// Only this directory is searched.
    pub fn in_directory(directory: impl Into<PathBuf>) -> Self {
        Self {
            directory: Some(directory.into()),
        }
    }

    fn search_path(&self, postgres: bool) -> Vec<PathBuf> {
        if let Some(directory) = &self.directory {
            return vec![directory.clone()];
        }
        let mut directories = Vec::new();
        if postgres {
            directories.extend(newest_postgres_bin());
        }
        if let Some(path) = std::env::var_os("PATH") {
            directories.extend(std::env::split_paths(&path));
        }
        directories.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        directories
    }

    /// The first of `names` found, trying every name in a directory before the next directory.
    fn find(&self, names: &[&str], postgres: bool) -> Result<Tool, ToolError> {
        let directories = self.search_path(postgres);
        for directory in &directories {
            for name in names {
                let path = directory.join(name);
                if is_executable(&path) {
                    return Ok(Tool {
                        name: (*name).to_owned(),
                        path,
                    });
                }
            }
        }
        Err(ToolError::NotFound {
            candidates: names.join(" or "),
            searched: directories
                .iter()
                .map(|directory| directory.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        })
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// `/usr/lib/postgresql/<newest>/bin` (Debian's layout): `pg_dump` must not be older than the server.
fn newest_postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.is_dir())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    #[error("{candidates} was not found (searched {searched})")]
    NotFound { candidates: String, searched: String },
    #[error("failed to run {tool}")]
    Spawn {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} failed with {status}: {stderr}")]
    Failed {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("failed to write {what} for the tool")]
    SecretFile {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid {engine} target: {reason}")]
    InvalidTarget { engine: &'static str, reason: String },
    #[error("{operation} is not supported for {engine}")]
    Unsupported { engine: &'static str, operation: String },
    #[error("database {database:?} does not exist on {instance}")]
    DatabaseMissing { database: String, instance: String },
    #[error("unexpected output from {tool}: {output:?}")]
    UnexpectedOutput { tool: String, output: String },
    #[error("failed to {action} SQLite database {path}")]
    Sqlite {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to build a statement")]
    Quote(#[from] dbprov_core::quote::QuoteError),
}

impl ToolError {
    pub fn kind(&self) -> &'static str {
        match self {
            ToolError::NotFound { .. } => "ToolNotFound",
            ToolError::Spawn { .. } | ToolError::Failed { .. } | ToolError::UnexpectedOutput { .. } => {
                "ToolFailed"
            }
            ToolError::SecretFile { .. } | ToolError::Io { .. } => "IoFailed",
            ToolError::InvalidTarget { .. } | ToolError::Quote(_) => "InvalidSpec",
            ToolError::Unsupported { .. } => "Unsupported",
            ToolError::DatabaseMissing { .. } => "DatabaseMissing",
            ToolError::Sqlite { .. } => "SqliteFailed",
        }
    }
}

/// Which programs produced a stream, and from which server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolInfo {
    /// The engine actually found (a `mysql` instance may be MariaDB).
    pub engine: EngineKind,
    pub tool: String,
    pub tool_version: String,
    pub server_version: String,
}

/// What a restore target holds before the restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// The database does not exist. PostgreSQL and MySQL targets must be created first; a SQLite file is
    /// created by the restore.
    Missing,
    /// It exists and has no tables, views, sequences, routines, types, events or (PostgreSQL) extra
    /// schemas or extensions.
    Empty,
    /// It holds this many objects.
    NonEmpty { objects: u64 },
}

/// A running dump: read `reader` to its end, then call [`Dump::finish`]; the stream is complete only when
/// `finish` succeeds (the tool exited 0). Dropping a `Dump` kills the tool.
pub struct Dump {
    pub reader: Box<dyn AsyncRead + Send + Unpin>,
    pub info: ToolInfo,
    pub format: ArtifactFormat,
    completion: Completion,
}

impl std::fmt::Debug for Dump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dump")
            .field("info", &self.info)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

enum Completion {
    Process(ToolProcess),
    SqliteSnapshot(sqlite::Snapshot),
    SqliteRestore(sqlite::StagedRestore),
}

impl Completion {
    async fn finish(self) -> Result<(), ToolError> {
        match self {
            Completion::Process(process) => process.finish().await,
            Completion::SqliteSnapshot(snapshot) => {
                snapshot.remove().await;
                Ok(())
            }
            Completion::SqliteRestore(staged) => staged.install().await,
        }
    }

    async fn abort(self) {
        match self {
            Completion::Process(process) => process.kill().await,
            Completion::SqliteSnapshot(snapshot) => snapshot.remove().await,
            Completion::SqliteRestore(staged) => staged.discard().await,
        }
    }
}

impl Dump {
    /// Waits for the tool and checks it succeeded (for SQLite: removes the snapshot).
    pub async fn finish(self) -> Result<(), ToolError> {
        self.completion.finish().await
    }

    /// Stops the tool: the stream is abandoned.
    pub async fn abort(self) {
        self.completion.abort().await
    }
}

/// A running restore: write the dump into `writer`, then call [`Restore::finish`] (which closes the input
/// and waits). Dropping a `Restore` kills the tool; a SQLite restore is then discarded.
pub struct Restore {
    pub writer: Box<dyn AsyncWrite + Send + Unpin>,
    pub tool: String,
    completion: Completion,
}

impl std::fmt::Debug for Restore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restore")
            .field("tool", &self.tool)
            .finish_non_exhaustive()
    }
}

impl Restore {
    /// Closes the tool's input and waits for it to apply everything (for SQLite: checks the staged file
    /// and moves it into place).
    pub async fn finish(self) -> Result<(), ToolError> {
        let Restore {
            writer, completion, ..
        } = self;
        drop(writer);
        completion.finish().await
    }

    /// Kills the tool without closing its input first, so it does not treat a partial stream as complete.
    pub async fn abort(self) {
        let Restore {
            writer, completion, ..
        } = self;
        completion.abort().await;
        drop(writer);
    }
}

/// Starts dumping `target`.
pub async fn start_dump(
    target: &DatabaseTarget,
    options: &DumpOptions,
    tools: &ToolLocator,
) -> Result<Dump, ToolError> {
    match target.engine {
        EngineKind::Postgres => postgres::start_dump(target, &options.postgres, tools).await,
        EngineKind::MySql | EngineKind::MariaDb => mysql::start_dump(target, &options.mysql, tools).await,
        EngineKind::Sqlite => sqlite::start_dump(target).await,
    }
}

/// Looks at what the restore target holds, without changing anything.
pub async fn inspect_target(target: &DatabaseTarget, tools: &ToolLocator) -> Result<TargetState, ToolError> {
    match target.engine {
        EngineKind::Postgres => postgres::inspect_target(target, tools).await,
        EngineKind::MySql | EngineKind::MariaDb => mysql::inspect_target(target, tools).await,
        EngineKind::Sqlite => sqlite::inspect_target(target).await,
    }
}

/// Starts restoring an artifact of `format` into `target`. `in_place` asks the tool to replace objects that
/// exist (PostgreSQL custom format: `--clean --if-exists`; MySQL dumps drop their tables themselves; SQLite
/// replaces the file atomically).
pub async fn start_restore(
    target: &DatabaseTarget,
    format: ArtifactFormat,
    in_place: bool,
    options: &RestoreOptions,
    tools: &ToolLocator,
) -> Result<Restore, ToolError> {
    match (target.engine, format) {
        (EngineKind::Postgres, ArtifactFormat::PostgresCustom | ArtifactFormat::PostgresPlain) => {
            postgres::start_restore(target, format, in_place, &options.postgres, tools).await
        }
        (EngineKind::MySql | EngineKind::MariaDb, ArtifactFormat::MySqlSql) => {
            mysql::start_restore(target, tools).await
        }
        (EngineKind::Sqlite, ArtifactFormat::SqliteDatabase) => sqlite::start_restore(target).await,
        (engine, format) => Err(ToolError::Unsupported {
            engine: engine.display_name(),
            operation: format!("restoring a {} artifact", format.as_str()),
        }),
    }
}

/// Whether an artifact dumped from `source` can be restored into a `target` instance.
pub fn engines_compatible(source: EngineKind, target: EngineKind) -> bool {
    source == target || (source.is_mysql_family() && target.is_mysql_family())
}

/// libpq and the MySQL clients count connect timeouts in whole seconds; libpq treats 1 as 2.
fn timeout_seconds(timeout: Duration) -> u64 {
    timeout.as_secs().max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_directory_is_the_only_place_searched() {
        let directory = tempfile::tempdir().unwrap();
        let locator = ToolLocator::in_directory(directory.path());
        let error = locator.find(&["pg_dump"], true).unwrap_err();
        assert!(matches!(error, ToolError::NotFound { .. }));
        let fake = directory.path().join("mysqldump");
        std::fs::write(&fake, "#!/bin/sh\n").unwrap();
        assert!(
            locator.find(&["mariadb-dump", "mysqldump"], false).is_err(),
            "not executable yet"
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = locator.find(&["mariadb-dump", "mysqldump"], false).unwrap();
        assert_eq!(found.name, "mysqldump");
    }

    #[test]
    fn mysql_family_artifacts_restore_across_flavours() {
        assert!(engines_compatible(EngineKind::MariaDb, EngineKind::MySql));
        assert!(engines_compatible(EngineKind::Postgres, EngineKind::Postgres));
        assert!(!engines_compatible(EngineKind::Postgres, EngineKind::MySql));
        assert!(!engines_compatible(EngineKind::Sqlite, EngineKind::Postgres));
    }
}
