//! The `Engine` implementation: an instance directory and a pool per open database file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::engine::parse_version_number;
use dbprov_core::error::ConnectFailure;
use dbprov_core::model::validate::{validate_catalog_request, validate_database};
use dbprov_core::model::{Catalog, CatalogRequest, DatabaseSpec};
use dbprov_core::{
    ApplyReport, Capabilities, ConnectionSpec, Endpoint, Engine, EngineError, EngineKind, Name, Plan,
    ServerInfo, StepAction,
};
use sqlx::SqlitePool;
use tokio::sync::Mutex;

use crate::connect::{database_file, open_memory, open_pool};
use crate::{inspect, plan};

pub const CAPABILITIES: Capabilities = Capabilities {
    engine: "SQLite",
    transactional_ddl: true,
    users: false,
    roles: false,
    grants: false,
    database_owner: false,
    schemas: false,
    extensions: false,
    default_privileges: false,
    tablespaces: false,
    role_attributes: false,
    accounts: false,
    account_lock: false,
    failed_login_lock: false,
    mariadb_privileges: false,
    charset_collation: false,
    advisory_locks: false,
    name_limits: dbprov_core::engine::default_name_limits(EngineKind::Sqlite),
};

/// A SQLite "instance": a directory of database files.
pub struct SqliteEngine {
    directory: PathBuf,
    label: String,
    server: ServerInfo,
    timeout: Duration,
    pools: Mutex<HashMap<String, SqlitePool>>,
}

impl SqliteEngine {
    /// Opens the instance directory (creating it when missing) and reads the SQLite library version.
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self, EngineError> {
        let Endpoint::Directory { path } = &spec.endpoint else {
            return Err(EngineError::invalid_spec(
                format!("instance {}", spec.label),
                "sqlite.path",
                "a SQLite instance is a directory; no host or port",
            ));
        };
        tokio::fs::create_dir_all(path)
            .await
            .map_err(|source| EngineError::Io {
                action: "create the instance directory",
                path: path.clone(),
                source,
            })?;
        let metadata = tokio::fs::metadata(path)
            .await
            .map_err(|source| EngineError::Io {
                action: "read the instance directory",
                path: path.clone(),
                source,
            })?;
        if metadata.permissions().readonly() {
            return Err(EngineError::Connect {
                engine: CAPABILITIES.engine,
                target: path.display().to_string(),
                failure: ConnectFailure::Other,
                source: "the instance directory is read-only".into(),
            });
        }
        let memory = open_memory().await?;
        let version: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&memory)
            .await
            .map_err(|source| EngineError::Inspect {
                target: spec.label.clone(),
                action: "read the SQLite version".into(),
                source: source.into(),
            })?;
        memory.close().await;
        Ok(Self {
            directory: path.clone(),
            label: spec.label.clone(),
            server: ServerInfo {
                kind: EngineKind::Sqlite,
                version_number: parse_version_number(&version),
                version,
            },
            timeout: spec.connect_timeout,
            pools: Mutex::new(HashMap::new()),
        })
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The path of database `name`.
    pub fn database_path(&self, name: &str) -> PathBuf {
        database_file(&self.directory, name)
    }

    /// A pool on database `name`, creating the file when it does not exist (for migrations and applications).
    pub async fn database_pool(&self, name: &str) -> Result<SqlitePool, EngineError> {
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(name) {
            return Ok(pool.clone());
        }
        let pool = open_pool(&self.database_path(name), true, self.timeout).await?;
        pools.insert(name.to_owned(), pool.clone());
        Ok(pool)
    }

    async fn close_database_pool(&self, name: &str) {
        if let Some(pool) = self.pools.lock().await.remove(name) {
            pool.close().await;
        }
    }
}

#[async_trait]
impl Engine for SqliteEngine {
    fn server(&self) -> &ServerInfo {
        &self.server
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn target(&self) -> &str {
        &self.label
    }

    async fn ping(&self) -> Result<(), EngineError> {
        tokio::fs::metadata(&self.directory)
            .await
            .map(|_| ())
            .map_err(|source| EngineError::Io {
                action: "read the instance directory",
                path: self.directory.clone(),
                source,
            })
    }

    async fn inspect(&self, request: &CatalogRequest) -> Result<Catalog, EngineError> {
        validate_catalog_request(request, &CAPABILITIES)?;
        inspect::inspect(
            &self.directory,
            request,
            self.timeout.min(inspect::INSPECT_TIMEOUT),
        )
        .await
    }

    fn plan_database(&self, spec: &DatabaseSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        validate_database(spec, &CAPABILITIES)?;
        plan::plan_database(spec, catalog)
    }

    fn plan_drop_database(&self, name: &Name, catalog: &Catalog) -> Result<Plan, EngineError> {
        CAPABILITIES
            .name_limits
            .check_new(CAPABILITIES.engine, dbprov_core::NameKind::Database, name)?;
        Ok(plan::plan_drop_database(
            &self.directory,
            name.as_str(),
            catalog.database(name).is_some(),
        ))
    }

    async fn apply(&self, plan: &Plan) -> Result<ApplyReport, EngineError> {
        let mut report = ApplyReport::default();
        for batch in plan.batches() {
            let database = batch.database.unwrap_or_default();
            for step in batch.steps {
                if let StepAction::RemoveFiles(paths) = &step.action {
                    self.close_database_pool(database).await;
                    for path in paths {
                        match tokio::fs::remove_file(path).await {
                            Ok(()) => {}
                            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                            Err(source) => {
                                return Err(EngineError::Io {
                                    action: "remove",
                                    path: path.clone(),
                                    source,
                                });
                            }
                        }
                    }
                    report.executed.push(step.display());
                }
            }
            let statements: Vec<_> = batch
                .steps
                .iter()
                .filter_map(|step| step.statement().map(|s| (step, s)))
                .collect();
            if statements.is_empty() {
                continue;
            }
            let pool = self.database_pool(database).await?;
            let mut connection = pool.acquire().await.map_err(|source| EngineError::Connect {
                engine: CAPABILITIES.engine,
                target: self.database_path(database).display().to_string(),
                failure: ConnectFailure::Other,
                source: source.into(),
            })?;
            let fail = |step: &dbprov_core::Step, source: sqlx::Error| EngineError::Apply {
                target: self.label.clone(),
                summary: step.summary.clone(),
                statement: step.display(),
                source: source.into(),
            };
            if batch.transactional {
                let mut transaction = sqlx::Connection::begin(&mut *connection)
                    .await
                    .map_err(|e| fail(statements[0].0, e))?;
                for (step, statement) in &statements {
                    // Built by SqlBuilder: identifiers and literals are quoted by dbprov_core::quote.
                    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.sql().to_owned()))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| fail(step, e))?;
                    report.executed.push(step.display());
                }
                transaction
                    .commit()
                    .await
                    .map_err(|e| fail(statements[statements.len() - 1].0, e))?;
            } else {
                for (step, statement) in &statements {
                    // Built by SqlBuilder: identifiers and literals are quoted by dbprov_core::quote.
                    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.sql().to_owned()))
                        .execute(&mut *connection)
                        .await
                        .map_err(|e| fail(step, e))?;
                    report.executed.push(step.display());
                }
            }
        }
        Ok(report)
    }

    async fn close(&self) {
        let pools: Vec<SqlitePool> = self.pools.lock().await.drain().map(|(_, pool)| pool).collect();
        for pool in pools {
            pool.close().await;
        }
    }
}
