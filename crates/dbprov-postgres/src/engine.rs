//! [`PgEngine`]: the admin pool, one cached pool per database, and the `Engine` implementation.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::error::ConnectFailure;
use dbprov_core::model::{Catalog, CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, RoleSpec};
use dbprov_core::{
    ApplyReport, Batch, Capabilities, ConnectionSpec, Engine, EngineError, Name, Plan, ServerInfo, Step,
    StepAction, TlsMode,
};
use sqlx::Connection as _;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions, Postgres};

use crate::connect::{DEFAULT_ADMIN_DATABASE, ServerFacts, connect_options, probe};
use crate::error::{PgError, classify_connect_error, connect_error};
use crate::{CAPABILITIES, inspect, plan, sql};

/// How long an idle connection to a managed database is kept: an instance may have hundreds of databases,
/// and a reconcile touches each briefly.
const DATABASE_POOL_IDLE: Duration = Duration::from_secs(30);

/// A PostgreSQL instance: an admin pool on the maintenance database, plus a pool per database dbprov works
/// inside (extensions, schemas, grants), created on first use and cached.
pub struct PgEngine {
    spec: ConnectionSpec,
    admin_database: String,
    admin: PgPool,
    pools: Mutex<HashMap<String, PgPool>>,
    facts: ServerFacts,
}

impl fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgEngine")
            .field("target", &self.spec.label)
            .field("admin_database", &self.admin_database)
            .field("server", &self.facts.server.version)
            .field("current_user", &self.facts.current_user)
            .finish_non_exhaustive()
    }
}

impl PgEngine {
    /// Connects to `spec.database` (or `postgres`), within `spec.connect_timeout`, and reads the server version,
    /// the admin's name and whether it is a superuser.
    pub async fn connect(spec: &ConnectionSpec) -> Result<Self, EngineError> {
        let admin_database = spec
            .database
            .clone()
            .unwrap_or_else(|| DEFAULT_ADMIN_DATABASE.to_owned());
        let options = connect_options(spec, &admin_database)?;
        let facts = probe(spec, &options).await?;
        tracing::debug!(target = %spec.label, version = %facts.server.version, user = %facts.current_user, "connected");
        let admin = pool_options(spec).connect_lazy_with(options);
        Ok(Self {
            spec: spec.clone(),
            admin_database,
            admin,
            pools: Mutex::new(HashMap::new()),
            facts,
        })
    }

    /// A pool on one database of the instance, created (and checked with one connection) on first use.
    pub async fn database_pool(&self, database: &str) -> Result<PgPool, EngineError> {
        // A connection that proved a new pool works goes back into that pool.
        let (pool, _checked) = self.open_database(database).await?;
        Ok(pool)
    }

    /// The pool of `database` and, when this call created the pool, the connection that proved it works.
    async fn open_database(
        &self,
        database: &str,
    ) -> Result<(PgPool, Option<PoolConnection<Postgres>>), EngineError> {
        if database == self.admin_database {
            return Ok((self.admin.clone(), None));
        }
        if let Some(pool) = self.cached_pool(database) {
            return Ok((pool, None));
        }
        let options = connect_options(&self.spec, database)?;
        let pool = pool_options(&self.spec)
            .idle_timeout(DATABASE_POOL_IDLE)
            .connect_lazy_with(options);
        // Open one connection now, so a failure is reported as a connection failure naming the database.
        let tls_requested = self.spec.tls.mode != TlsMode::Disable;
        let connection = match tokio::time::timeout(self.spec.connect_timeout, pool.acquire()).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                let failure = classify_connect_error(&error, tls_requested);
                return Err(connect_error(&self.database_label(database), failure, error));
            }
            Err(_elapsed) => {
                return Err(connect_error(
                    &self.database_label(database),
                    ConnectFailure::Timeout,
                    PgError::ConnectTimeout(self.spec.connect_timeout),
                ));
            }
        };
        let mut pools = self
            .pools
            .lock()
            .expect("invariant: the pool map lock is never poisoned");
        // Another task may have created one meanwhile; keep a single pool per database.
        let pool = pools.entry(database.to_owned()).or_insert(pool).clone();
        Ok((pool, Some(connection)))
    }

    /// Closes and forgets the cached pool of one database (before it is dropped or moved).
    pub async fn close_database_pool(&self, database: &str) {
        let pool = self
            .pools
            .lock()
            .expect("invariant: the pool map lock is never poisoned")
            .remove(database);
        if let Some(pool) = pool {
            pool.close().await;
        }
    }

    fn cached_pool(&self, database: &str) -> Option<PgPool> {
        self.pools
            .lock()
            .expect("invariant: the pool map lock is never poisoned")
            .get(database)
            .cloned()
    }

    fn database_label(&self, database: &str) -> String {
        format!("{} (database {database})", self.spec.label)
    }

    pub(crate) fn admin_pool(&self) -> &PgPool {
        &self.admin
    }

    pub(crate) fn facts(&self) -> &ServerFacts {
        &self.facts
    }

    pub(crate) fn target_label(&self) -> &str {
        &self.spec.label
    }

    /// Closes our own pooled connections to a database before a statement that needs every session of it
    /// gone (`DROP DATABASE`, `SET TABLESPACE`).
    async fn release_exclusive(&self, step: &Step) -> Result<(), EngineError> {
        let Some(statement) = step.statement() else {
            return Ok(());
        };
        let cached: Vec<String> = self
            .pools
            .lock()
            .expect("invariant: the pool map lock is never poisoned")
            .keys()
            .cloned()
            .collect();
        for database in cached {
            if sql::database::needs_exclusive_access(statement.sql(), &database)? {
                self.close_database_pool(&database).await;
            }
        }
        Ok(())
    }

    /// A failed statement (or a connection lost while running it), with the statement as shown to people.
    fn apply_error(&self, step: &Step, source: sqlx::Error) -> EngineError {
        EngineError::Apply {
            target: self.spec.label.clone(),
            summary: step.summary.clone(),
            statement: step.display(),
            source: source.into(),
        }
    }

    /// One connection to `database` (`None`: the admin database) for a unit of dbprov's own work, with a
    /// failure to connect classified. Give it back with [`PgEngine::release`].
    pub(crate) async fn connection(
        &self,
        database: Option<&str>,
    ) -> Result<PoolConnection<Postgres>, EngineError> {
        let (pool, label) = match database {
            None => (self.admin.clone(), self.spec.label.clone()),
            Some(database) => match self.open_database(database).await? {
                (_, Some(checked)) => return Ok(checked),
                (pool, None) => (pool, self.database_label(database)),
            },
        };
        pool.acquire().await.map_err(|error| {
            let failure = classify_connect_error(&error, self.spec.tls.mode != TlsMode::Disable);
            connect_error(&label, failure, error)
        })
    }

    /// Returns a connection from [`PgEngine::connection`]: admin connections go back to the pool; connections
    /// to other databases are closed, so an instance with hundreds of databases does not accumulate an idle
    /// session per database (each database's pool stays available for callers that want one).
    pub(crate) async fn release(&self, connection: PoolConnection<Postgres>, database: Option<&str>) {
        if database.is_some_and(|database| database != self.admin_database) {
            let _ = connection.close().await;
        }
    }

    /// Runs one batch: a transaction for transactional steps, the single statement alone otherwise.
    async fn run_batch(&self, connection: &mut PgConnection, batch: &Batch<'_>) -> Result<(), EngineError> {
        if !batch.transactional {
            for step in batch.steps {
                self.execute(&mut *connection, step, batch.database).await?;
            }
            return Ok(());
        }
        let Some(first) = batch.steps.first() else {
            return Ok(());
        };
        let mut transaction = connection
            .begin()
            .await
            .map_err(|error| self.apply_error(first, error))?;
        for step in batch.steps {
            self.execute(&mut transaction, step, batch.database).await?;
        }
        let last = batch.steps.last().unwrap_or(first);
        transaction
            .commit()
            .await
            .map_err(|error| self.apply_error(last, error))
    }

    async fn execute(
        &self,
        connection: &mut PgConnection,
        step: &Step,
        database: Option<&str>,
    ) -> Result<(), EngineError> {
        let sql = sql_of(step)?;
        tracing::info!(target = %self.spec.label, database = ?database, statement = %step.display(), "applying");
        // The statement was built by SqlBuilder: identifiers and literals are quoted there.
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(connection)
            .await
            .map_err(|error| self.apply_error(step, error))?;
        Ok(())
    }

    /// How many databases dbprov reads from at the same time.
    pub(crate) fn parallelism(&self) -> usize {
        usize::try_from(self.spec.max_connections).unwrap_or(1).max(1)
    }
}

fn pool_options(spec: &ConnectionSpec) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(spec.max_connections.max(1))
        .min_connections(0)
        .acquire_timeout(spec.connect_timeout)
}

/// The SQL of a step; file steps belong to SQLite.
fn sql_of(step: &Step) -> Result<&str, EngineError> {
    match &step.action {
        StepAction::Sql(statement) => Ok(statement.sql()),
        StepAction::RemoveFiles(_) => Err(EngineError::unsupported(
            CAPABILITIES.engine,
            format!("step {:?} (removing files)", step.summary),
        )),
    }
}

#[async_trait]
impl Engine for PgEngine {
    fn server(&self) -> &ServerInfo {
        &self.facts.server
    }

    fn capabilities(&self) -> &Capabilities {
        &CAPABILITIES
    }

    fn target(&self) -> &str {
        &self.spec.label
    }

    async fn ping(&self) -> Result<(), EngineError> {
        sqlx::query("SELECT 1")
            .execute(&self.admin)
            .await
            .map_err(|error| {
                let failure = classify_connect_error(&error, self.spec.tls.mode != TlsMode::Disable);
                connect_error(&self.spec.label, failure, error)
            })?;
        Ok(())
    }

    async fn inspect(&self, request: &CatalogRequest) -> Result<Catalog, EngineError> {
        inspect::inspect(self, request).await
    }

    fn plan_database(&self, spec: &DatabaseSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        plan::plan_database(spec, catalog)
    }

    fn plan_drop_database(&self, name: &Name, catalog: &Catalog) -> Result<Plan, EngineError> {
        plan::plan_drop_database(name, catalog, &self.facts)
    }

    fn plan_role(&self, spec: &RoleSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        plan::plan_role(spec, catalog)
    }

    fn plan_drop_role(
        &self,
        name: &Name,
        options: &DropRoleOptions,
        catalog: &Catalog,
    ) -> Result<Plan, EngineError> {
        plan::plan_drop_role(name, options, catalog)
    }

    fn plan_grants(&self, spec: &GrantSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        plan::plan_grants(spec, catalog)
    }

    async fn apply(&self, plan: &Plan) -> Result<ApplyReport, EngineError> {
        let mut report = ApplyReport::default();
        for batch in plan.batches() {
            let Some(first) = batch.steps.first() else {
                continue;
            };
            if !batch.transactional {
                self.release_exclusive(first).await?;
            }
            let mut connection = self.connection(batch.database).await?;
            let result = self.run_batch(&mut connection, &batch).await;
            self.release(connection, batch.database).await;
            result?;
            report.executed.extend(batch.steps.iter().map(Step::display));
        }
        Ok(report)
    }

    async fn close(&self) {
        let pools: Vec<PgPool> = self
            .pools
            .lock()
            .expect("invariant: the pool map lock is never poisoned")
            .drain()
            .map(|(_, pool)| pool)
            .collect();
        for pool in pools {
            pool.close().await;
        }
        self.admin.close().await;
    }
}
