//! Opening the pool: driver options from the configuration, then retries with exponential backoff.

use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::config::{DatabaseConfig, DatabaseTarget, Driver, PoolSettings};

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
    if let DatabaseTarget::Sqlite { path } = &config.target {
        return Ok(Backend::Sqlite(
            pool_options(&config.pool)
                .connect_with(sqlite_options(path))
                .await?,
        ));
    }
    let (driver, spec, database) = config
        .target
        .server_connection(config.pool.connect_timeout)?
        .expect("invariant: every target but SQLite is a server");
    // The engines build the driver options (address, credentials, TLS modes and material): one place for all
    // of dbprov, so clientdb connects exactly as `dbprov` does.
    let invalid = |error: dbprov_core::EngineError| sqlx::Error::Configuration(error.chain().into());
    Ok(match driver {
        Driver::Postgres => {
            let options = dbprov_postgres::connect_options(&spec, &database)
                .map_err(invalid)?
                .application_name("clientdb");
            Backend::Postgres(pool_options(&config.pool).connect_with(options).await?)
        }
        _ => {
            let options = dbprov_mysql::connect_options(&spec, Some(&database)).map_err(invalid)?;
            Backend::MySql(pool_options(&config.pool).connect_with(options).await?)
        }
    })
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
