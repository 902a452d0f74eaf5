//! Opening the pool: driver options from the configuration, then retries with exponential backoff.

use std::time::Duration;

use dbprov_core::TlsMode;
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::config::{DatabaseConfig, DatabaseTarget, PoolSettings, ServerTarget};

use super::Backend;
use super::error::StoreError;

/// How long SQLite waits for another connection's write lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn pool_options<DB: sqlx::Database>(settings: &PoolSettings) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(settings.max_open)
        .min_connections(settings.max_idle.min(settings.max_open))
        .max_lifetime(settings.max_lifetime)
        .idle_timeout(settings.max_idle_time)
        .acquire_timeout(settings.connect_timeout)
        // A ping before every checkout would double the hot path's round trips; broken connections surface
        // as query errors and `max_lifetime` recycles the rest.
        .test_before_acquire(false)
}

fn postgres_options(server: &ServerTarget) -> PgConnectOptions {
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&server.host)
        .port(server.port)
        .username(&server.user)
        .database(&server.database)
        .application_name("clientdb")
        .ssl_mode(match server.tls_mode {
            TlsMode::Disable => PgSslMode::Disable,
            TlsMode::Prefer => PgSslMode::Prefer,
            TlsMode::Require => PgSslMode::Require,
            TlsMode::VerifyCa => PgSslMode::VerifyCa,
            TlsMode::VerifyFull => PgSslMode::VerifyFull,
        });
    if let Some(password) = &server.password {
        options = options.password(password.expose());
    }
    if let Some(path) = &server.tls_root_cert {
        options = options.ssl_root_cert(path);
    }
    if let Some(path) = &server.tls_client_cert {
        options = options.ssl_client_cert(path);
    }
    if let Some(path) = &server.tls_client_key {
        options = options.ssl_client_key(path);
    }
    options
}

fn mysql_options(server: &ServerTarget) -> MySqlConnectOptions {
    let mut options = MySqlConnectOptions::new()
        .host(&server.host)
        .port(server.port)
        .username(&server.user)
        .database(&server.database)
        .charset("utf8mb4")
        .ssl_mode(match server.tls_mode {
            TlsMode::Disable => MySqlSslMode::Disabled,
            TlsMode::Prefer => MySqlSslMode::Preferred,
            TlsMode::Require => MySqlSslMode::Required,
            TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
            TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
        });
    if let Some(password) = &server.password {
        options = options.password(password.expose());
    }
    if let Some(path) = &server.tls_root_cert {
        options = options.ssl_ca(path);
    }
    if let Some(path) = &server.tls_client_cert {
        options = options.ssl_client_cert(path);
    }
    if let Some(path) = &server.tls_client_key {
        options = options.ssl_client_key(path);
    }
    options
}

fn sqlite_options(path: &std::path::Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        // WAL lets readers (every token request) proceed while an admin write commits.
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true)
}

async fn connect_once(config: &DatabaseConfig) -> Result<Backend, sqlx::Error> {
    let backend = match &config.target {
        DatabaseTarget::Sqlite { path } => Backend::Sqlite(
            pool_options(&config.pool)
                .connect_with(sqlite_options(path))
                .await?,
        ),
        DatabaseTarget::Postgres(server) => Backend::Postgres(
            pool_options(&config.pool)
                .connect_with(postgres_options(server))
                .await?,
        ),
        DatabaseTarget::MySql(server) => Backend::MySql(
            pool_options(&config.pool)
                .connect_with(mysql_options(server))
                .await?,
        ),
    };
    Ok(backend)
}

/// Connects, retrying `config.retry.attempts` times with exponential backoff; logs each attempt with the
/// password masked.
pub(crate) async fn connect(config: &DatabaseConfig) -> Result<Backend, StoreError> {
    let target = config.masked_dsn();
    let attempts = config.retry.attempts.max(1);
    let mut attempt = 1;
    loop {
        tracing::info!(dsn = %target, attempt, attempts, "connecting to the database");
        match connect_once(config).await {
            Ok(backend) => {
                tracing::info!(dsn = %target, driver = %config.driver(), "connected to the database");
                return Ok(backend);
            }
            Err(source) if attempt >= attempts => {
                return Err(StoreError::Connect {
                    target,
                    attempts,
                    source,
                });
            }
            Err(error) => {
                let delay = config.retry.delay_after(attempt);
                tracing::warn!(
                    dsn = %target,
                    attempt,
                    attempts,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %error,
                    "database connection failed; retrying"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
        }
    }
}
