//! SQLite: a database is the file `<directory>/<name>.sqlite3`.
//!
//! A backup is an online snapshot taken with `VACUUM INTO` (built with `SqlBuilder`), then streamed like any
//! dump. `VACUUM INTO` rather than the `sqlite3_backup_*` API because it is one statement on a read-only
//! connection (no `unsafe` FFI on sqlx's raw handle), it reads inside one read transaction so the snapshot
//! is consistent while writers continue in WAL mode (the backup API restarts whenever another connection
//! writes, and may never finish on a busy database), and it writes a compacted, defragmented file. The
//! snapshot is staged as a hidden temporary file in the instance directory (same file system, and the
//! database's owner can write there) and removed afterwards.
//!
//! A restore streams into a hidden temporary file in the instance directory, checks it with
//! `PRAGMA integrity_check`, and renames it over `<name>.sqlite3`, so the target changes atomically or not
//! at all. An in-place restore needs the database to be idle: its `-wal`/`-shm` files are removed first
//! (a stale WAL must never be replayed into the restored file).

use std::io;
use std::path::{Path, PathBuf};

use dbprov_core::{Dialect, Endpoint, EngineKind, SqlBuilder};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::{Completion, DatabaseTarget, Dump, Restore, TargetState, ToolError, ToolInfo};
use crate::artifact::ArtifactFormat;

const ENGINE: &str = "SQLite";
const TOOL: &str = "sqlite VACUUM INTO";

fn instance_directory(target: &DatabaseTarget) -> Result<&Path, ToolError> {
    match &target.connection.endpoint {
        Endpoint::Directory { path } => Ok(path),
        _ => Err(ToolError::InvalidTarget {
            engine: ENGINE,
            reason: "a SQLite instance is a directory".into(),
        }),
    }
}

/// `<directory>/<name>.sqlite3`, refusing names that would leave the directory.
fn database_file(target: &DatabaseTarget) -> Result<PathBuf, ToolError> {
    let name = &target.database;
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(ToolError::InvalidTarget {
            engine: ENGINE,
            reason: format!("database name {name:?} is not a file name"),
        });
    }
    Ok(instance_directory(target)?.join(format!("{name}.sqlite3")))
}

fn companion(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn hidden_temporary(directory: &Path, purpose: &str) -> PathBuf {
    directory.join(format!(".dbprov-{purpose}-{}.tmp", uuid::Uuid::new_v4().simple()))
}

async fn open_read_only(path: &Path, target: &DatabaseTarget) -> Result<SqliteConnection, ToolError> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(target.connection.connect_timeout)
        .connect()
        .await
        .map_err(|source| ToolError::Sqlite {
            action: "open",
            path: path.to_owned(),
            source,
        })
}

/// The snapshot file of a backup; removed when done or dropped.
#[derive(Debug)]
pub struct Snapshot {
    path: PathBuf,
}

impl Snapshot {
    pub async fn remove(mut self) {
        let path = std::mem::take(&mut self.path);
        let _ = tokio::fs::remove_file(&path).await;
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub async fn start_dump(target: &DatabaseTarget) -> Result<Dump, ToolError> {
    let file = database_file(target)?;
    if !tokio::fs::try_exists(&file).await.unwrap_or(false) {
        return Err(ToolError::DatabaseMissing {
            database: target.database.clone(),
            instance: target.connection.label.clone(),
        });
    }
    let directory = instance_directory(target)?;
    let snapshot = Snapshot {
        path: hidden_temporary(directory, "snapshot"),
    };
    let snapshot_path = snapshot.path.to_str().ok_or_else(|| ToolError::InvalidTarget {
        engine: ENGINE,
        reason: "the instance directory's path is not UTF-8".into(),
    })?;

    let mut connection = open_read_only(&file, target).await?;
    let sqlite_error = |action: &'static str| {
        let path = file.clone();
        move |source| ToolError::Sqlite { action, path, source }
    };
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&mut connection)
        .await
        .map_err(sqlite_error("read the version of"))?;
    let mut builder = SqlBuilder::new(Dialect::Sqlite);
    builder.push("VACUUM INTO ").literal(snapshot_path);
    let statement = builder.build()?;
    // The statement was built by SqlBuilder: the only dynamic part is a quoted literal.
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.sql().to_owned()))
        .execute(&mut connection)
        .await
        .map_err(sqlite_error("snapshot"))?;
    connection.close().await.map_err(sqlite_error("close"))?;

    let reader = tokio::fs::File::open(&snapshot.path)
        .await
        .map_err(|source| ToolError::Io {
            action: "open the snapshot",
            path: snapshot.path.clone(),
            source,
        })?;
    Ok(Dump {
        reader: Box::new(reader),
        info: ToolInfo {
            engine: EngineKind::Sqlite,
            tool: TOOL.into(),
            tool_version: version.clone(),
            server_version: version,
        },
        format: ArtifactFormat::SqliteDatabase,
        completion: Completion::SqliteSnapshot(snapshot),
    })
}

pub async fn inspect_target(target: &DatabaseTarget) -> Result<TargetState, ToolError> {
    let file = database_file(target)?;
    match tokio::fs::metadata(&file).await {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(TargetState::Missing),
        Err(source) => {
            return Err(ToolError::Io {
                action: "read the metadata of",
                path: file,
                source,
            });
        }
        Ok(metadata) if metadata.len() == 0 => return Ok(TargetState::Empty),
        Ok(_) => {}
    }
    let mut connection = open_read_only(&file, target).await?;
    let objects: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema")
        .fetch_one(&mut connection)
        .await
        .map_err(|source| ToolError::Sqlite {
            action: "inspect",
            path: file.clone(),
            source,
        })?;
    let _ = connection.close().await;
    Ok(if objects == 0 {
        TargetState::Empty
    } else {
        TargetState::NonEmpty {
            objects: objects as u64,
        }
    })
}

/// A restore being written to a temporary file; [`StagedRestore::install`] checks it and moves it into
/// place. Dropped without `install`, the temporary file is removed.
#[derive(Debug)]
pub struct StagedRestore {
    staged: PathBuf,
    target: PathBuf,
    database: DatabaseTarget,
}

impl StagedRestore {
    pub async fn install(mut self) -> Result<(), ToolError> {
        let staged = self.staged.clone();
        let io_error = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| ToolError::Io { action, path, source }
        };
        // The writer was dropped; sync the data through a new descriptor of the same file.
        tokio::fs::File::open(&staged)
            .await
            .map_err(io_error("reopen", &staged))?
            .sync_all()
            .await
            .map_err(io_error("sync", &staged))?;

        let mut connection = open_read_only(&staged, &self.database).await?;
        let result: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut connection)
            .await
            .map_err(|source| ToolError::Sqlite {
                action: "check the restored",
                path: staged.clone(),
                source,
            })?;
        let _ = connection.close().await;
        if result != "ok" {
            return Err(ToolError::UnexpectedOutput {
                tool: "PRAGMA integrity_check".into(),
                output: result,
            });
        }

        // A stale WAL next to the new file would be replayed into it.
        for suffix in ["-wal", "-shm"] {
            let companion = companion(&self.target, suffix);
            match tokio::fs::remove_file(&companion).await {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ToolError::Io {
                        action: "remove",
                        path: companion,
                        source,
                    });
                }
            }
        }
        tokio::fs::rename(&staged, &self.target)
            .await
            .map_err(io_error("move the restored database to", &self.target))?;
        self.staged = PathBuf::new();
        if let Some(directory) = self.target.parent() {
            let directory = directory.to_owned();
            let synced = tokio::task::spawn_blocking(move || std::fs::File::open(&directory)?.sync_all())
                .await
                .map_err(io::Error::other)
                .and_then(|result| result);
            synced.map_err(io_error("sync the directory of", &self.target))?;
        }
        Ok(())
    }

    pub async fn discard(mut self) {
        let staged = std::mem::take(&mut self.staged);
        let _ = tokio::fs::remove_file(&staged).await;
    }
}

impl Drop for StagedRestore {
    fn drop(&mut self) {
        if !self.staged.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.staged);
        }
    }
}

pub async fn start_restore(target: &DatabaseTarget) -> Result<Restore, ToolError> {
    let file = database_file(target)?;
    let directory = instance_directory(target)?;
    let staged = hidden_temporary(directory, "restore");
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(0o600);
    let writer = options.open(&staged).await.map_err(|source| ToolError::Io {
        action: "create the staging file",
        path: staged.clone(),
        source,
    })?;
    Ok(Restore {
        writer: Box::new(writer),
        tool: "sqlite file restore".into(),
        completion: Completion::SqliteRestore(StagedRestore {
            staged,
            target: file,
            database: target.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use dbprov_core::ConnectionSpec;

    use super::*;

    #[test]
    fn database_names_stay_inside_the_directory() {
        let target =
            |name: &str| DatabaseTarget::new(EngineKind::Sqlite, ConnectionSpec::directory("/data"), name);
        assert_eq!(
            database_file(&target("app")).unwrap(),
            PathBuf::from("/data/app.sqlite3")
        );
        for bad in ["", "..", "../etc/passwd", "a/b", "nul\0"] {
            assert!(database_file(&target(bad)).is_err(), "{bad:?}");
        }
        let tcp = DatabaseTarget::new(EngineKind::Sqlite, ConnectionSpec::tcp("h", 1), "app");
        assert!(database_file(&tcp).is_err());
    }
}
