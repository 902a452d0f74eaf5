//! golang-migrate's `mysql` driver (MySQL and MariaDB).
//!
//! * One dedicated connection: `GET_LOCK('<crc32 key of "db:table">', 10)` and `RELEASE_LOCK` must come from
//!   the same session, and so does everything in between.
//! * The table is `` `schema_migrations` `` (`version bigint not null primary key, dirty boolean not null`,
//!   which MySQL stores as `tinyint(1)`); `SetVersion` is `DELETE ... LIMIT 1` and `INSERT` in one
//!   SERIALIZABLE transaction.
//! * A file is one multi-statement `COM_QUERY`, no transaction (MySQL DDL commits implicitly).
//! * The session is go-sql-driver's: utf8mb4 with utf8mb4_general_ci from the handshake, the server's
//!   `sql_mode` and `time_zone` (sqlx's defaults would add `PIPES_AS_CONCAT`/`NO_ENGINE_SUBSTITUTION` to
//!   `sql_mode` and set `time_zone='+00:00'`, and its handshake adds `IGNORE_SPACE`; all of these change what
//!   migration SQL means and are avoided or undone). One difference remains: sqlx always sets
//!   CLIENT_FOUND_ROWS, so `ROW_COUNT()` after an UPDATE counts matched rather than changed rows.

use std::time::Duration;

use async_trait::async_trait;
use dbprov_core::EngineKind;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlSslMode};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};

use super::sql::{self, MySqlStatements};
use super::{
    DEFAULT_CONNECT_TIMEOUT, DatabaseVersion, DriverError, MigrationDriver, MigrationError, body_text,
    is_blank, read_version, stored_version,
};
use crate::lock_key::mysql_lock_name;
use crate::source::MigrationFile;
use crate::url::{CertificateSource, KeySource, MySqlAddress, MySqlTarget, MySqlTlsMode};

/// golang-migrate's `GET_LOCK` timeout, in seconds.
const GET_LOCK_TIMEOUT_SECONDS: u64 = 10;
/// ER_NO_SUCH_TABLE.
const NO_SUCH_TABLE: u16 = 1146;

/// A connected MySQL or MariaDB driver.
pub struct MySqlDriver {
    connection: MySqlConnection,
    target: String,
    database: String,
    table: String,
    statements: MySqlStatements,
    lock_name: String,
    no_lock: bool,
    locked: bool,
}

impl MySqlDriver {
    pub async fn connect(target: &MySqlTarget) -> Result<Self, DriverError> {
        let label = target.to_string();
        let options = connect_options(target, &label)?;
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
        // sqlx always announces CLIENT_IGNORE_SPACE, which makes the server add IGNORE_SPACE to the session's
        // sql_mode (built-in function names become reserved words). go-sql-driver does not; take it out again
        // unless the server's own sql_mode has it.
        sqlx::raw_sql(
            "SET SESSION sql_mode = IF(FIND_IN_SET('IGNORE_SPACE', @@GLOBAL.sql_mode) > 0, @@SESSION.sql_mode, \
             TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',IGNORE_SPACE,', ',')))",
        )
        .execute(&mut connection)
        .await
        .map_err(|source| query_error("restore the session sql_mode", &label, source))?;
        let database = match &target.database {
            Some(database) => database.clone(),
            None => sqlx::query_scalar::<_, Option<String>>("SELECT DATABASE()")
                .fetch_one(&mut connection)
                .await
                .map_err(|source| query_error("read the current database", &label, source))?
                .ok_or_else(|| DriverError::NoDatabaseName {
                    target: label.clone(),
                })?,
        };
        let table = target.migrations_table.clone();
        let statements = sql::mysql(&table)?;
        tracing::debug!(target = %label, database, table, "connected to MySQL");
        Ok(Self {
            connection,
            lock_name: mysql_lock_name(&database, &table),
            target: label,
            database,
            table,
            statements,
            no_lock: target.no_lock,
            locked: false,
        })
    }

    /// The `GET_LOCK` name this driver takes (golang-migrate's for the same database and table).
    pub fn lock_name(&self) -> &str {
        &self.lock_name
    }
}

fn connect_options(target: &MySqlTarget, label: &str) -> Result<MySqlConnectOptions, DriverError> {
    let mut options = MySqlConnectOptions::new()
        .username(&target.user)
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
        .set_names(false)
        .enable_cleartext_plugin(target.allow_cleartext_passwords)
        .ssl_mode(match target.tls.mode {
            MySqlTlsMode::Disabled => MySqlSslMode::Disabled,
            MySqlTlsMode::Preferred => MySqlSslMode::Preferred,
            MySqlTlsMode::Required => MySqlSslMode::Required,
            MySqlTlsMode::VerifyCa => MySqlSslMode::VerifyCa,
            MySqlTlsMode::VerifyIdentity => MySqlSslMode::VerifyIdentity,
        });
    match &target.address {
        MySqlAddress::Tcp { host, port } => options = options.host(host).port(*port),
        MySqlAddress::Socket { path } => options = options.socket(path),
    }
    if let Some(password) = &target.password {
        options = options.password(password.expose());
    }
    if let Some(database) = &target.database {
        options = options.database(database);
    }
    // go-sql-driver runs `SET NAMES` only when asked for a charset; a collation goes into the handshake.
    if let Some(charset) = &target.charset {
        options = options.charset(charset).set_names(true);
    }
    if let Some(collation) = &target.collation {
        options = options.collation(collation).set_names(true);
    }
    match &target.tls.ca {
        Some(CertificateSource::File(path)) => {
            let pem = std::fs::read(path).map_err(|source| DriverError::TlsFile {
                target: label.to_owned(),
                path: path.clone(),
                source,
            })?;
            options = options.ssl_ca_from_pem(pem);
        }
        Some(CertificateSource::Pem(pem)) => options = options.ssl_ca_from_pem(pem.clone()),
        None => {}
    }
    match &target.tls.client_cert {
        Some(CertificateSource::File(path)) => options = options.ssl_client_cert(path),
        Some(CertificateSource::Pem(pem)) => options = options.ssl_client_cert_from_pem(pem),
        None => {}
    }
    match &target.tls.client_key {
        Some(KeySource::File(path)) => options = options.ssl_client_key(path),
        Some(KeySource::Pem(pem)) => options = options.ssl_client_key_from_pem(pem.expose().as_bytes()),
        None => {}
    }
    // Statement logging would put migration bodies (which may hold passwords) into the logs.
    Ok(options.disable_statement_logging())
}

fn query_error(action: &'static str, target: &str, source: sqlx::Error) -> DriverError {
    DriverError::Query {
        action,
        target: target.to_owned(),
        source,
    }
}

fn mysql_error_number(error: &sqlx::Error) -> Option<u16> {
    error
        .as_database_error()
        .and_then(|error| error.try_downcast_ref::<MySqlDatabaseError>())
        .map(MySqlDatabaseError::number)
}

fn migration_error(migration: &MigrationFile, error: sqlx::Error) -> DriverError {
    let mut failure = MigrationError {
        version: migration.version(),
        file: migration.file_name().to_owned(),
        message: error.to_string(),
        line: 0,
        column: None,
        detail: None,
        code: None,
    };
    if let Some(mysql) = error
        .as_database_error()
        .and_then(|error| error.try_downcast_ref::<MySqlDatabaseError>())
    {
        // go-sql-driver's rendering, which is what golang-migrate users see.
        failure.message = match mysql.code() {
            Some(state) => format!("Error {} ({state}): {}", mysql.number(), mysql.message()),
            None => format!("Error {}: {}", mysql.number(), mysql.message()),
        };
        failure.code = mysql.code().map(str::to_owned);
    }
    DriverError::Migration(Box::new(failure))
}

#[async_trait]
impl MigrationDriver for MySqlDriver {
    fn engine(&self) -> EngineKind {
        EngineKind::MySql
    }

    fn target(&self) -> &str {
        &self.target
    }

    fn migrations_table(&self) -> &str {
        &self.statements.quoted_table
    }

    async fn ensure_table(&mut self) -> Result<(), DriverError> {
        // golang-migrate asks `SHOW TABLES LIKE '<table>'`, where `_` is a wildcard; an exact comparison
        // finds the same table without matching look-alikes.
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        )
        .bind(&self.database)
        .bind(&self.table)
        .fetch_one(&mut self.connection)
        .await
        .map_err(|source| query_error("look for the migrations table", &self.target, source))?;
        if count > 0 {
            return Ok(());
        }
        // Built by `sql::mysql` from a quoted identifier.
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
                lock: self.lock_name.clone(),
            });
        }
        if self.no_lock {
            self.locked = true;
            return Ok(());
        }
        // golang-migrate's server-side wait is 10 s; a shorter runner timeout shortens it.
        let seconds = GET_LOCK_TIMEOUT_SECONDS.min(timeout.as_secs_f64().ceil().max(1.0) as u64);
        let acquired: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&self.lock_name)
            .bind(seconds)
            .fetch_one(&mut self.connection)
            .await
            .map_err(|source| query_error("take the migration lock", &self.target, source))?;
        if acquired != Some(1) {
            return Err(DriverError::Locked {
                target: self.target.clone(),
                lock: self.lock_name.clone(),
            });
        }
        self.locked = true;
        Ok(())
    }

    async fn unlock(&mut self) -> Result<(), DriverError> {
        if !self.locked {
            return Err(DriverError::NotLocked {
                target: self.target.clone(),
            });
        }
        if !self.no_lock {
            sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(&self.lock_name)
                .execute(&mut self.connection)
                .await
                .map_err(|source| query_error("release the migration lock", &self.target, source))?;
        }
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
                read_version(version, dirty, &self.target, &self.statements.quoted_table)
            }
            Err(error) if mysql_error_number(&error) == Some(NO_SUCH_TABLE) => Ok(DatabaseVersion::default()),
            Err(source) => Err(query_error("read the migration version", &self.target, source)),
        }
    }

    async fn set_version(&mut self, version: Option<u64>, dirty: bool) -> Result<(), DriverError> {
        // One multi-statement query: a statement that fails stops the rest, so the transaction is rolled back
        // below rather than left open.
        let statement = sql::mysql_set_version(&self.table, stored_version(version)?, dirty)?;
        let result = sqlx::raw_sql(AssertSqlSafe(statement))
            .execute(&mut self.connection)
            .await;
        let Err(source) = result else { return Ok(()) };
        if let Err(rollback) = sqlx::raw_sql("ROLLBACK").execute(&mut self.connection).await {
            tracing::debug!(target = %self.target, error = %rollback, "rollback after a failed version write failed");
        }
        Err(query_error("write the migration version", &self.target, source))
    }

    async fn run(&mut self, migration: &MigrationFile) -> Result<(), DriverError> {
        let body = body_text(migration)?;
        // golang-migrate sends even an empty file, which MySQL answers with "Query was empty"; an empty file
        // is a no-op on every other engine, so it is one here too.
        if is_blank(body) {
            return Ok(());
        }
        // The migration file is the user's SQL, sent as written.
        let result = sqlx::raw_sql(AssertSqlSafe(body))
            .execute(&mut self.connection)
            .await;
        let Err(error) = result else { return Ok(()) };
        // A file that opened a transaction would keep it (and its locks) open on this connection.
        if let Err(rollback) = sqlx::raw_sql("ROLLBACK").execute(&mut self.connection).await {
            tracing::debug!(target = %self.target, error = %rollback, "rollback after a failed migration failed");
        }
        Err(migration_error(migration, error))
    }

    async fn close(self: Box<Self>) -> Result<(), DriverError> {
        let target = self.target.clone();
        self.connection
            .close()
            .await
            .map_err(|source| query_error("close the connection", &target, source))
    }
}
