//! Where database files live and how connections to them are opened.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dbprov_core::EngineError;
use dbprov_core::error::ConnectFailure;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

const ENGINE: &str = "SQLite";

/// The file of database `name` in the instance directory.
pub fn database_file(directory: &Path, name: &str) -> PathBuf {
    directory.join(format!("{name}.sqlite3"))
}

/// The database file and the companions SQLite creates next to it in WAL mode.
pub fn database_files(directory: &Path, name: &str) -> Vec<PathBuf> {
    let main = database_file(directory, name);
    let wal = PathBuf::from(format!("{}-wal", main.display()));
    let shm = PathBuf::from(format!("{}-shm", main.display()));
    vec![main, wal, shm]
}

/// Opens a small pool on one database file. `create` decides whether a missing file is created (apply) or
/// is an error (inspection never creates files).
pub async fn open_pool(path: &Path, create: bool, timeout: Duration) -> Result<SqlitePool, EngineError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .foreign_keys(true)
        .busy_timeout(timeout);
    SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(timeout)
        .connect_with(options)
        .await
        .map_err(|source| EngineError::Connect {
            engine: ENGINE,
            target: path.display().to_string(),
            failure: ConnectFailure::Other,
            source: source.into(),
        })
}

/// An in-memory connection, to ask the library for its version.
pub async fn open_memory() -> Result<SqlitePool, EngineError> {
    let options =
        SqliteConnectOptions::from_str("sqlite::memory:").map_err(|source| EngineError::Connect {
            engine: ENGINE,
            target: ":memory:".into(),
            failure: ConnectFailure::Other,
            source: source.into(),
        })?;
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|source| EngineError::Connect {
            engine: ENGINE,
            target: ":memory:".into(),
            failure: ConnectFailure::Other,
            source: source.into(),
        })
}
