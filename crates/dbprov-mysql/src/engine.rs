//! The `Engine` implementation for MySQL and MariaDB.

use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::engine::parse_version_number;
use dbprov_core::error::ConnectFailure;
use dbprov_core::model::validate::validate_catalog_request;
use dbprov_core::model::{Catalog, CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, RoleSpec};
use dbprov_core::{
    ApplyReport, Capabilities, ConnectionSpec, Engine, EngineError, EngineKind, MySqlStringMode, Name, Plan,
    ServerInfo, Statement, Step, StepAction, TlsMode,
};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use crate::connect::{connect_options, flavour, read_session, read_sql_mode, string_mode};
use crate::error::{apply_error, classify_connect_error, connect_error};
use crate::flavor::{MIN_MARIADB, MIN_MYSQL, ServerFacts, capabilities};
use crate::inspect::inspect;
use crate::plan::{Planner, database, grant, user};

/// A connected MySQL or MariaDB instance.
#[derive(Debug)]
pub struct MySqlEngine {
    pool: MySqlPool,
    server: ServerInfo,
    facts: ServerFacts,
    capabilities: Capabilities,
    target: String,
}

/// A statement a new session runs before anything else (tests use it to give sessions a `sql_mode`).
pub(crate) type SessionSetup = Option<&'static str>;

impl MySqlEngine {
    /// Connects, reads the server's flavour, version and `sql_mode`, and keeps a pool of at most
    /// `spec.max_connections` connections. The flavour found wins over `declared` (a `mysql` instance may be
    /// MariaDB) and is reported in [`Engine::server`].
    pub async fn connect(spec: &ConnectionSpec, declared: EngineKind) -> Result<Self, EngineError> {
        Self::connect_with_session(spec, declared, None).await
    }

    pub(crate) async fn connect_with_session(
        spec: &ConnectionSpec,
        declared: EngineKind,
        setup: SessionSetup,
    ) -> Result<Self, EngineError> {
        if !declared.is_mysql_family() {
            return Err(EngineError::invalid_spec(
                format!("connection {}", spec.label),
                "engine",
                format!(
                    "the MySQL engine cannot serve a {} instance",
                    declared.display_name()
                ),
            ));
        }
        let engine = declared.display_name();
        let target = spec.label.clone();
        let tls_requested = spec.tls.mode != TlsMode::Disable;
        let options = connect_options(spec, None)?;
        let failed = |error: sqlx::Error| {
            let failure = classify_connect_error(&error, tls_requested);
            connect_error(engine, &target, failure, Box::new(error))
        };

        let mut first = tokio::time::timeout(spec.connect_timeout, options.connect())
            .await
            .map_err(|elapsed| connect_error(engine, &target, ConnectFailure::Timeout, Box::new(elapsed)))?
            .map_err(&failed)?;
        if let Some(setup) = setup {
            first.execute(setup).await.map_err(&failed)?;
        }
        let (version, sql_mode) = read_session(&mut first).await.map_err(&failed)?;
        // The probe connection has done its job; a failure to say goodbye changes nothing.
        let _ = first.close().await;

        let kind = flavour(&version);
        if kind != declared {
            tracing::info!(target = %target, declared = %declared, found = %kind, "the server's flavour differs from the declared engine");
        }
        let version_number = parse_version_number(&version);
        let minimum = if kind == EngineKind::MariaDb {
            MIN_MARIADB
        } else {
            MIN_MYSQL
        };
        if version_number < minimum {
            return Err(EngineError::ServerTooOld {
                engine: kind.display_name(),
                feature: "provisioning with dbprov".into(),
                required: format!("{}.{}.{}", minimum.0, minimum.1, minimum.2),
                actual: version,
            });
        }
        let facts = ServerFacts::new(kind, version_number, string_mode(&sql_mode));
        let pool = pool(spec, options, facts.string_mode, setup);
        Ok(Self {
            pool,
            server: ServerInfo {
                kind,
                version,
                version_number,
            },
            capabilities: capabilities(kind, version_number),
            facts,
            target,
        })
    }

    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// The flavour, version and string mode found at connect time.
    pub fn facts(&self) -> &ServerFacts {
        &self.facts
    }

    fn planner(&self) -> Planner<'_> {
        Planner {
            facts: &self.facts,
            capabilities: &self.capabilities,
        }
    }

    async fn execute(
        &self,
        step: &Step,
        statement: &Statement,
        executor: impl Executor<'_, Database = sqlx::MySql>,
    ) -> Result<(), EngineError> {
        tracing::info!(target = %self.target, statement = %statement.display(), "applying");
        // Statements come from `SqlBuilder`: identifiers and literals are quoted for this session's mode.
        executor
            .execute(AssertSqlSafe(statement.sql()))
            .await
            .map_err(|error| apply_error(&self.target, step, statement, error))?;
        Ok(())
    }
}

/// The engine's pool. Every new connection must parse string literals the way the first one did: the
/// literals in a plan were written for that mode, and a `\` read differently could end a literal early.
fn pool(
    spec: &ConnectionSpec,
    options: sqlx::mysql::MySqlConnectOptions,
    expected: MySqlStringMode,
    setup: SessionSetup,
) -> MySqlPool {
    MySqlPoolOptions::new()
        .max_connections(spec.max_connections.max(1))
        .acquire_timeout(spec.connect_timeout.max(Duration::from_millis(100)))
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if let Some(setup) = setup {
                    connection.execute(setup).await?;
                }
                let sql_mode = read_sql_mode(connection).await?;
                if string_mode(&sql_mode) != expected {
                    return Err(sqlx::Error::Configuration(
                        "the server's sql_mode changed (NO_BACKSLASH_ESCAPES) since dbprov connected; reconnect"
                            .into(),
                    ));
                }
                Ok(())
            })
        })
        .connect_lazy_with(options)
}

fn step_statement<'a>(target: &str, step: &'a Step) -> Result<&'a Statement, EngineError> {
    match &step.action {
        StepAction::Sql(statement) => Ok(statement),
        StepAction::RemoveFiles(_) => Err(EngineError::invalid_spec(
            format!("plan for {target}"),
            "steps",
            format!("{}: removing files is not a MySQL step", step.summary),
        )),
    }
}

#[async_trait]
impl Engine for MySqlEngine {
    fn server(&self) -> &ServerInfo {
        &self.server
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn target(&self) -> &str {
        &self.target
    }

    async fn ping(&self) -> Result<(), EngineError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|error| {
                let failure = classify_connect_error(&error, false);
                connect_error(self.capabilities.engine, &self.target, failure, Box::new(error))
            })?;
        Ok(())
    }

    async fn inspect(&self, request: &CatalogRequest) -> Result<Catalog, EngineError> {
        validate_catalog_request(request, &self.capabilities)?;
        inspect(&self.pool, &self.facts, &self.target, request).await
    }

    fn plan_database(&self, spec: &DatabaseSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        database::plan_database(&self.planner(), spec, catalog)
    }

    fn plan_drop_database(&self, name: &Name, catalog: &Catalog) -> Result<Plan, EngineError> {
        database::plan_drop_database(&self.planner(), name, catalog)
    }

    fn plan_role(&self, spec: &RoleSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        user::plan_role(&self.planner(), spec, catalog)
    }

    fn plan_drop_role(
        &self,
        name: &Name,
        options: &DropRoleOptions,
        catalog: &Catalog,
    ) -> Result<Plan, EngineError> {
        user::plan_drop_role(&self.planner(), name, options, catalog)
    }

    fn plan_grants(&self, spec: &GrantSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        grant::plan_grants(&self.planner(), spec, catalog)
    }

    async fn apply(&self, plan: &Plan) -> Result<ApplyReport, EngineError> {
        let mut report = ApplyReport::default();
        for batch in plan.batches() {
            if let Some(database) = batch.database {
                return Err(EngineError::invalid_spec(
                    format!("plan for {}", self.target),
                    "steps",
                    format!("MySQL statements name their database; a step may not run inside {database}"),
                ));
            }
            if batch.transactional && batch.steps.len() > 1 {
                let mut transaction = self.pool.begin().await.map_err(|error| {
                    let failure = classify_connect_error(&error, false);
                    connect_error(self.capabilities.engine, &self.target, failure, Box::new(error))
                })?;
                for step in batch.steps {
                    let statement = step_statement(&self.target, step)?;
                    self.execute(step, statement, &mut *transaction).await?;
                    report.executed.push(statement.display().to_owned());
                }
                let last = batch
                    .steps
                    .last()
                    .expect("invariant: a batch has at least one step");
                let last_statement = step_statement(&self.target, last)?;
                transaction
                    .commit()
                    .await
                    .map_err(|error| apply_error(&self.target, last, last_statement, error))?;
            } else {
                for step in batch.steps {
                    let statement = step_statement(&self.target, step)?;
                    self.execute(step, statement, &self.pool).await?;
                    report.executed.push(statement.display().to_owned());
                }
            }
        }
        Ok(report)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests;
