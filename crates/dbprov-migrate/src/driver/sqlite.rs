//! golang-migrate's `sqlite3` and `sqlite` drivers.
//!
//! * The table is `schema_migrations (version uint64,dirty bool)` plus the unique index `version_unique`,
//!   created with golang-migrate's exact text (SQLite keeps it in `sqlite_master`).
//! * `SetVersion` is `DELETE` and `INSERT` in one transaction.
//! * A file runs inside `BEGIN`/`COMMIT`, or as written with `x-no-tx-wrap`.
//! * SQLite has no server-side lock: golang-migrate's lock is a flag in the process, and so is this one,
//!   shared by every driver of this process that opens the same file and table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::EngineKind;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::sql::{self, SqliteStatements};
use super::{
    DatabaseVersion, DriverError, MigrationDriver, MigrationError, body_text, is_blank, read_version,
    stored_version,
};
use crate::source::MigrationFile;
use crate::url::{SqliteOpenMode, SqliteTarget};

/// A connected SQLite driver.
pub struct SqliteDriver {
    connection: SqliteConnection,
    target: String,
    statements: SqliteStatements,
    no_tx_wrap: bool,
    lock: Arc<Mutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl SqliteDriver {
    pub async fn connect(target: &SqliteTarget) -> Result<Self, DriverError> {
        let label = target.to_string();
        let mut options = SqliteConnectOptions::new()
            .filename(&target.path)
            // mattn and modernc leave foreign keys off unless asked; sqlx would turn them on.
            .foreign_keys(target.foreign_keys.unwrap_or(false))
            .busy_timeout(target.busy_timeout);
        options = match target.mode {
            SqliteOpenMode::ReadWriteCreate => options.create_if_missing(true),
            SqliteOpenMode::ReadWrite => options,
            SqliteOpenMode::ReadOnly => options.read_only(true),
            SqliteOpenMode::Memory => options.in_memory(true),
        };
        for (name, value) in &target.pragmas {
            options = options.pragma(name.clone(), value.clone());
        }
        let connection = options
            .disable_statement_logging()
            .connect()
            .await
            .map_err(|source| DriverError::Connect {
                target: label.clone(),
                source,
            })?;
        let statements = sql::sqlite(&target.migrations_table)?;
        let lock = match target.mode {
            SqliteOpenMode::Memory => Arc::new(Mutex::new(())),
            _ => process_lock(&target.path, &target.migrations_table),
        };
        Ok(Self {
            connection,
            target: label,
            statements,
            no_tx_wrap: target.no_tx_wrap,
            lock,
            guard: None,
        })
    }
}

/// The lock of `(file, table)` in this process. The file exists once connected, so its canonical path
/// identifies it whatever relative path or symbolic link named it.
fn process_lock(path: &Path, table: &str) -> Arc<Mutex<()>> {
    type Registry = StdMutex<HashMap<(PathBuf, String), Arc<Mutex<()>>>>;
    static LOCKS: OnceLock<Registry> = OnceLock::new();
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry((canonical, table.to_owned())).or_default().clone()
}

fn query_error(action: &'static str, target: &str, source: sqlx::Error) -> DriverError {
    DriverError::Query {
        action,
        target: target.to_owned(),
        source,
    }
}

fn is_missing_table(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|error| error.message().starts_with("no such table"))
}

fn migration_error(migration: &MigrationFile, error: sqlx::Error) -> DriverError {
    let (message, code) = match error.as_database_error() {
        Some(database_error) => (
            database_error.message().to_owned(),
            database_error.code().map(|code| code.into_owned()),
        ),
        None => (error.to_string(), None),
    };
    DriverError::Migration(Box::new(MigrationError {
        version: migration.version(),
        file: migration.file_name().to_owned(),
        message,
        line: 0,
        column: None,
        detail: None,
        code,
    }))
}

#[async_trait]
impl MigrationDriver for SqliteDriver {
    fn engine(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn migrations_table(&self) -> &str {
        &self.statements.table
    }

    async fn ensure_table(&mut self) -> Result<(), DriverError> {
        // golang-migrate's two statements in one call; `IF NOT EXISTS` makes it a no-op for an existing table.
        sqlx::raw_sql(AssertSqlSafe(self.statements.ensure_table.as_str()))
            .execute(&mut self.connection)
            .await
            .map_err(|source| query_error("create the migrations table", &self.target, source))?;
        Ok(())
    }

    async fn lock(&mut self, timeout: Duration) -> Result<(), DriverError> {
        if self.guard.is_some() {
            return Err(DriverError::Locked {
                target: self.target.clone(),
                lock: "in-process".into(),
            });
        }
        let guard = tokio::time::timeout(timeout, self.lock.clone().lock_owned())
            .await
            .map_err(|_| DriverError::LockTimeout {
                target: self.target.clone(),
                timeout,
            })?;
        self.guard = Some(guard);
        Ok(())
    }

    async fn unlock(&mut self) -> Result<(), DriverError> {
        match self.guard.take() {
            Some(_released) => Ok(()),
            None => Err(DriverError::NotLocked {
                target: self.target.clone(),
            }),
        }
    }

    async fn version(&mut self) -> Result<DatabaseVersion, DriverError> {
        let row = sqlx::query(AssertSqlSafe(self.statements.select_version.as_str()))
            .fetch_optional(&mut self.connection)
            .await;
        match row {
            Ok(None) => Ok(DatabaseVersion::default()),
            Ok(Some(row)) => {
                let version: i64 = row
                    .try_get(0)
                    .map_err(|source| query_error("read the migration version", &self.target, source))?;
                // `bool` has NUMERIC affinity: golang-migrate's drivers store 0 and 1.
                let dirty: i64 = row
                    .try_get(1)
                    .map_err(|source| query_error("read the migration version", &self.target, source))?;
                read_version(version, dirty != 0, &self.target, &self.statements.table)
            }
            // golang-migrate reads *any* error as "no version"; only a missing table is that.
            Err(error) if is_missing_table(&error) => Ok(DatabaseVersion::default()),
            Err(source) => Err(query_error("read the migration version", &self.target, source)),
        }
    }

    async fn set_version(&mut self, version: Option<u64>, dirty: bool) -> Result<(), DriverError> {
        let stored = stored_version(version)?;
        let target = self.target.clone();
        let error = |source| query_error("write the migration version", &target, source);
        let mut transaction = self.connection.begin().await.map_err(error)?;
        sqlx::query(AssertSqlSafe(self.statements.delete.as_str()))
            .execute(&mut *transaction)
            .await
            .map_err(error)?;
        if version.is_some() || dirty {
            sqlx::query(AssertSqlSafe(self.statements.insert.as_str()))
                .bind(stored)
                .bind(dirty)
                .execute(&mut *transaction)
                .await
                .map_err(error)?;
        }
        transaction.commit().await.map_err(error)?;
        Ok(())
    }

    async fn run(&mut self, migration: &MigrationFile) -> Result<(), DriverError> {
        let body = body_text(migration)?;
        if is_blank(body) {
            return Ok(());
        }
        // The migration file is the user's SQL, sent as written.
        if self.no_tx_wrap {
            let result = sqlx::raw_sql(AssertSqlSafe(body))
                .execute(&mut self.connection)
                .await;
            let Err(error) = result else { return Ok(()) };
            // A file with its own BEGIN would leave its transaction (and the write lock) open.
            if let Err(rollback) = sqlx::raw_sql("ROLLBACK").execute(&mut self.connection).await {
                tracing::debug!(target = %self.target, error = %rollback, "no transaction to roll back");
            }
            return Err(migration_error(migration, error));
        }
        let target = self.target.clone();
        let mut transaction = self
            .connection
            .begin()
            .await
            .map_err(|source| query_error("begin the migration transaction", &target, source))?;
        sqlx::raw_sql(AssertSqlSafe(body))
            .execute(&mut *transaction)
            .await
            .map_err(|error| migration_error(migration, error))?;
        transaction
            .commit()
            .await
            .map_err(|error| migration_error(migration, error))?;
        Ok(())
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        let target = self.target.clone();
        self.connection
            .close()
            .await
            .map_err(|source| query_error("close the connection", &target, source))
    }
}
