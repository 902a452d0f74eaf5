//! golang-migrate's `postgres` and `pgx` drivers.
//!
//! * One dedicated connection holds the session-level advisory lock (`pg_advisory_lock` with
//!   golang-migrate's key) and runs everything else.
//! * The table is `"<current_schema>"."schema_migrations"` (`version bigint not null primary key, dirty
//!   boolean not null`); `SetVersion` is `DELETE` (as golang-migrate's pgx driver) and `INSERT` in one
//!   transaction.
//! * A file is one simple-protocol query (several statements, one implicit transaction), or with
//!   `x-multi-statement` one query per `;`-terminated piece.
//! * The session is the server's: sqlx sends `TimeZone=UTC` at startup, which lib/pq and pgx do not, so the
//!   time zone the session would otherwise have had is restored right after connecting.

use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::EngineKind;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgErrorPosition, PgSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

use super::error::line_and_column;
use super::sql::{self, PostgresStatements};
use super::{
    DEFAULT_CONNECT_TIMEOUT, DatabaseVersion, DriverError, MigrationDriver, MigrationError, body_text,
    is_blank, read_version, stored_version,
};
use crate::lock_key::postgres_lock_key;
use crate::source::MigrationFile;
use crate::url::{CertificateSource, KeySource, PgHost, PostgresFlavor, PostgresTarget, SslMode};

/// SQLSTATE `undefined_table`.
const UNDEFINED_TABLE: &str = "42P01";
/// SQLSTATE `lock_not_available`, raised when `lock_timeout` expires.
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// A connected PostgreSQL driver.
pub struct PostgresDriver {
    connection: PgConnection,
    target: String,
    schema: String,
    table: String,
    statements: PostgresStatements,
    lock_key: i64,
    multi_statement: Option<usize>,
    locked: bool,
}

impl PostgresDriver {
    pub async fn connect(target: &PostgresTarget) -> Result<Self, DriverError> {
        let label = target.to_string();
        let options = connect_options(target)?;
        let timeout = target.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let mut connection = tokio::time::timeout(timeout, options.connect())
            .await
            .map_err(|_| DriverError::ConnectTimeout {
                target: label.clone(),
                timeout,
            })?
            .map_err(|source| DriverError::Connect {
                target: label.clone(),
                source,
            })?;

        let explicit_time_zone = target
            .settings
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("timezone"))
            .map(|(_, value)| value.clone())
            .or_else(|| std::env::var("PGTZ").ok());
        restore_time_zone(&mut connection, explicit_time_zone.as_deref())
            .await
            .map_err(|source| query_error("restore the session time zone", &label, source))?;

        let database_name = match &target.lock_database_name {
            Some(name) => name.clone(),
            None => sqlx::query_scalar::<_, String>("SELECT CURRENT_DATABASE()")
                .fetch_one(&mut connection)
                .await
                .map_err(|source| query_error("read the current database", &label, source))?,
        };
        let schema = match &target.migrations_schema {
            Some(schema) => schema.clone(),
            None => sqlx::query_scalar::<_, Option<String>>("SELECT CURRENT_SCHEMA()")
                .fetch_one(&mut connection)
                .await
                .map_err(|source| query_error("read the current schema", &label, source))?
                .ok_or_else(|| DriverError::NoSchema {
                    target: label.clone(),
                })?,
        };
        let table = target.migrations_table.clone();
        let statements = sql::postgres(&schema, &table)?;
        tracing::debug!(target = %label, schema, table, "connected to PostgreSQL");
        Ok(Self {
            connection,
            lock_key: postgres_lock_key(&database_name, &schema, &table),
            target: label,
            schema,
            table,
            statements,
            multi_statement: target.multi_statement.then_some(target.multi_statement_max_size),
            locked: false,
        })
    }

    /// The advisory lock key this driver takes (golang-migrate's for the same URL).
    pub fn lock_key(&self) -> i64 {
        self.lock_key
    }

    async fn run_statement(&mut self, migration: &MigrationFile, statement: &str) -> Result<(), DriverError> {
        if is_blank(statement) {
            return Ok(());
        }
        // The migration file is the user's SQL, sent as written: that is the point of a migration runner.
        let result = sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(&mut self.connection)
            .await;
        let Err(error) = result else { return Ok(()) };
        // A file with its own BEGIN leaves the session in an aborted transaction; end it so the unlock and
        // any later command work. Outside a transaction this is only a warning.
        if let Err(rollback) = sqlx::raw_sql("ROLLBACK").execute(&mut self.connection).await {
            tracing::debug!(target = %self.target, error = %rollback, "rollback after a failed migration failed");
        }
        Err(migration_error(migration, statement, error))
    }
}

fn connect_options(target: &PostgresTarget) -> Result<PgConnectOptions, DriverError> {
    // `new()` reads PGHOST, PGUSER, PGPASSWORD, ~/.pgpass, ... as lib/pq does; the URL overrides them.
    let mut options = PgConnectOptions::new();
    match &target.host {
        Some(PgHost::Tcp { host }) => options = options.host(host),
        Some(PgHost::Socket { directory }) => options = options.socket(directory),
        // lib/pq's default is TCP to localhost, where sqlx would look for a Unix socket first.
        None if std::env::var_os("PGHOST").is_none() => options = options.host("localhost"),
        None => {}
    }
    if let Some(port) = target.port {
        options = options.port(port);
    }
    if let Some(user) = &target.user {
        options = options.username(user);
    }
    if let Some(password) = &target.password {
        options = options.password(password.expose());
    }
    if let Some(database) = &target.database {
        options = options.database(database);
    }
    let ssl_mode = match target.ssl_mode {
        Some(mode) => Some(mode),
        None if std::env::var_os("PGSSLMODE").is_some() => None,
        None => Some(match target.flavor {
            PostgresFlavor::LibPq => SslMode::Require,
            PostgresFlavor::Pgx => SslMode::Prefer,
        }),
    };
    if let Some(mode) = ssl_mode {
        options = options.ssl_mode(match mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            // libpq (and lib/pq) treat `require` with a root certificate as `verify-ca`.
            SslMode::Require if target.ssl_root_cert.is_some() => PgSslMode::VerifyCa,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        });
    }
    match &target.ssl_root_cert {
        Some(CertificateSource::File(path)) => options = options.ssl_root_cert(path),
        Some(CertificateSource::Pem(pem)) => options = options.ssl_root_cert_from_pem(pem.clone()),
        None => {}
    }
    match &target.ssl_cert {
        Some(CertificateSource::File(path)) => options = options.ssl_client_cert(path),
        Some(CertificateSource::Pem(pem)) => options = options.ssl_client_cert_from_pem(pem),
        None => {}
    }
    match &target.ssl_key {
        Some(KeySource::File(path)) => options = options.ssl_client_key(path),
        Some(KeySource::Pem(pem)) => options = options.ssl_client_key_from_pem(pem.expose().as_bytes()),
        None => {}
    }
    if let Some(name) = &target.application_name {
        options = options.application_name(name);
    }
    // lib/pq sends extra_float_digits=2 (sqlx's default too); pgx sends nothing.
    if target.flavor == PostgresFlavor::Pgx {
        options = options.extra_float_digits(None);
    }
    let settings: Vec<&(String, String)> = target
        .settings
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("timezone"))
        .collect();
    if !settings.is_empty() {
        options = options.options(settings.iter().map(|(name, value)| (name, value)));
    }
    // Statement logging would put migration bodies (which may hold passwords) into the logs.
    Ok(options.disable_statement_logging())
}

/// Undoes sqlx's `TimeZone=UTC` startup parameter: an explicit time zone (a `timezone` URL parameter or
/// `PGTZ`, which lib/pq sends) is set as given; otherwise the session gets the value PostgreSQL would have
/// chosen: `ALTER ROLE ... IN DATABASE`, `ALTER ROLE`, `ALTER DATABASE`, `ALTER ROLE ALL` settings, then the
/// configuration file (readable by superusers and `pg_read_all_settings` members), then `log_timezone`, which
/// initdb sets to the same zone as `timezone`.
async fn restore_time_zone(connection: &mut PgConnection, explicit: Option<&str>) -> Result<(), sqlx::Error> {
    let zone = match explicit {
        Some(zone) => Some(zone.to_owned()),
        None => server_time_zone(connection).await,
    };
    let Some(zone) = zone else {
        tracing::warn!("could not determine the server's time zone; the migration session keeps UTC");
        return Ok(());
    };
    sqlx::query("SELECT set_config('TimeZone', $1, false)")
        .bind(zone)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// The time zone a lib/pq session would get, looked up in PostgreSQL's order of precedence. A lookup the
/// account may not perform (restricted catalogs on managed services) moves on to the next source.
async fn server_time_zone(connection: &mut PgConnection) -> Option<String> {
    match role_or_database_time_zone(connection).await {
        Ok(Some(zone)) => return Some(zone),
        Ok(None) => {}
        Err(error) => tracing::debug!(%error, "cannot read role and database settings"),
    }
    match configured_time_zone(connection).await {
        Ok(Some(zone)) => return Some(zone),
        Ok(None) => {}
        Err(error) => tracing::debug!(%error, "cannot read the configuration file settings"),
    }
    sqlx::query_scalar::<_, String>("SELECT current_setting('log_timezone')")
        .fetch_one(&mut *connection)
        .await
        .inspect_err(|error| tracing::debug!(%error, "cannot read log_timezone"))
        .ok()
}

async fn role_or_database_time_zone(connection: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    // The order is PostgreSQL's (`process_settings`): database+role, role, database, all roles.
    sqlx::query_scalar::<_, String>(
        "SELECT substr(setting, strpos(setting, '=') + 1) \
         FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS setting \
         WHERE lower(split_part(setting, '=', 1)) = 'timezone' \
           AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())) \
           AND s.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user)) \
         ORDER BY s.setrole = 0, s.setdatabase = 0 \
         LIMIT 1",
    )
    .fetch_optional(&mut *connection)
    .await
}

async fn configured_time_zone(connection: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    let readable: bool = sqlx::query_scalar(
        "SELECT has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE')",
    )
    .fetch_one(&mut *connection)
    .await?;
    if !readable {
        return Ok(None);
    }
    sqlx::query_scalar::<_, String>(
        "SELECT setting FROM pg_catalog.pg_file_settings \
         WHERE lower(name) = 'timezone' AND applied AND error IS NULL \
         ORDER BY seqno DESC LIMIT 1",
    )
    .fetch_optional(&mut *connection)
    .await
}

fn migration_error(migration: &MigrationFile, statement: &str, error: sqlx::Error) -> DriverError {
    let mut failure = MigrationError {
        version: migration.version(),
        file: migration.file_name().to_owned(),
        message: error.to_string(),
        line: 0,
        column: None,
        detail: None,
        code: None,
    };
    if let Some(database_error) = error.as_database_error()
        && let Some(pg) = database_error.try_downcast_ref::<PgDatabaseError>()
    {
        failure.message = pg.message().to_owned();
        failure.detail = pg.detail().map(str::to_owned);
        failure.code = Some(pg.code().to_owned());
        if let Some(PgErrorPosition::Original(position)) = pg.position()
            && let Some((line, column)) = line_and_column(statement, position)
        {
            failure.line = line;
            failure.column = Some(column);
        }
    }
    DriverError::Migration(Box::new(failure))
}

fn query_error(action: &'static str, target: &str, source: sqlx::Error) -> DriverError {
    DriverError::Query {
        action,
        target: target.to_owned(),
        source,
    }
}

fn sql_state(error: &sqlx::Error) -> Option<String> {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .map(|code| code.into_owned())
}

#[async_trait]
impl MigrationDriver for PostgresDriver {
    fn engine(&self) -> EngineKind {
        EngineKind::Postgres
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn migrations_table(&self) -> &str {
        &self.statements.qualified_table
    }

    async fn ensure_table(&mut self) -> Result<(), DriverError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(1) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2 LIMIT 1",
        )
        .bind(&self.schema)
        .bind(&self.table)
        .fetch_one(&mut self.connection)
        .await
        .map_err(|source| query_error("look for the migrations table", &self.target, source))?;
        if count == 1 {
            return Ok(());
        }
        // Built by `sql::postgres` from quoted identifiers.
        sqlx::raw_sql(AssertSqlSafe(self.statements.create_table.as_str()))
            .execute(&mut self.connection)
            .await
            .map_err(|source| query_error("create the migrations table", &self.target, source))?;
        Ok(())
    }

    async fn lock(&mut self, timeout: Duration) -> Result<(), DriverError> {
        if self.locked {
            return Err(DriverError::Locked {
                target: self.target.clone(),
                lock: self.lock_key.to_string(),
            });
        }
        // golang-migrate waits in `pg_advisory_lock` and gives up on the client side; here the server gives up
        // (lock_timeout, local to this transaction) so the connection stays usable. A session-level advisory
        // lock taken inside a transaction outlives the transaction.
        let millis = timeout.as_millis().clamp(1, i32::MAX as u128).to_string();
        let target = self.target.clone();
        let mut transaction = self
            .connection
            .begin()
            .await
            .map_err(|source| query_error("take the migration lock", &target, source))?;
        sqlx::query("SELECT set_config('lock_timeout', $1, true)")
            .bind(millis)
            .execute(&mut *transaction)
            .await
            .map_err(|source| query_error("take the migration lock", &target, source))?;
        let locked = sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(self.lock_key)
            .execute(&mut *transaction)
            .await;
        match locked {
            Ok(_) => {}
            Err(error) if sql_state(&error).as_deref() == Some(LOCK_NOT_AVAILABLE) => {
                return Err(DriverError::LockTimeout { target, timeout });
            }
            Err(source) => return Err(query_error("take the migration lock", &target, source)),
        }
        transaction
            .commit()
            .await
            .map_err(|source| query_error("take the migration lock", &target, source))?;
        self.locked = true;
        Ok(())
    }

    async fn unlock(&mut self) -> Result<(), DriverError> {
        if !self.locked {
            return Err(DriverError::NotLocked {
                target: self.target.clone(),
            });
        }
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.lock_key)
            .execute(&mut self.connection)
            .await
            .map_err(|source| query_error("release the migration lock", &self.target, source))?;
        self.locked = false;
        Ok(())
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
                let dirty: bool = row
                    .try_get(1)
                    .map_err(|source| query_error("read the migration version", &self.target, source))?;
                read_version(version, dirty, &self.target, &self.statements.qualified_table)
            }
            Err(error) if sql_state(&error).as_deref() == Some(UNDEFINED_TABLE) => {
                Ok(DatabaseVersion::default())
            }
            Err(source) => Err(query_error("read the migration version", &self.target, source)),
        }
    }

    async fn set_version(&mut self, version: Option<u64>, dirty: bool) -> Result<(), DriverError> {
        // golang-migrate issue #330: an empty table means "no version"; (-1, dirty) records a failed rollback
        // of the first migration. One message, so one implicit transaction and one round trip.
        let statement =
            sql::postgres_set_version(&self.schema, &self.table, stored_version(version)?, dirty)?;
        sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(&mut self.connection)
            .await
            .map_err(|source| query_error("write the migration version", &self.target, source))?;
        Ok(())
    }

    async fn run(&mut self, migration: &MigrationFile) -> Result<(), DriverError> {
        let body = body_text(migration)?;
        let Some(max_size) = self.multi_statement else {
            return self.run_statement(migration, body).await;
        };
        for statement in split_statements(body) {
            if statement.len() > max_size {
                return Err(DriverError::StatementTooLong {
                    file: migration.file_name().to_owned(),
                    max_size,
                });
            }
            self.run_statement(migration, statement).await?;
        }
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

/// golang-migrate's `multistmt.Parse` with `;`: every `;` ends a piece (which keeps its `;`), quotes and
/// comments are not understood, and the text after the last `;` is the final piece.
pub(crate) fn split_statements(body: &str) -> impl Iterator<Item = &str> {
    body.split_inclusive(';')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_statement_splitting_is_golang_migrates() {
        let pieces: Vec<&str> =
            split_statements("CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);\n").collect();
        assert_eq!(
            pieces,
            vec!["CREATE TABLE a (x int);", "\nINSERT INTO a VALUES (1);", "\n"]
        );
        // Naive on purpose: a ';' inside a string splits too, as in golang-migrate.
        let pieces: Vec<&str> = split_statements("SELECT ';'").collect();
        assert_eq!(pieces, vec!["SELECT ';", "'"]);
    }
}
