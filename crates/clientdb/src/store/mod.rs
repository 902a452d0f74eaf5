//! The client store: one API over SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! The hot path is [`Store::credentials`]: one primary-key lookup (joined with the client's retired secrets)
//! per authentication. Everything else is administration.

mod backend;
mod connect;
mod error;
mod model;
pub mod sql;

use chrono::{DateTime, Utc};

use crate::config::{DatabaseConfig, Driver};

pub use error::StoreError;
pub use model::{
    ClientChanges, ClientCredentials, ClientRecord, NewClientRow, RetiredSecret, RotationOutcome,
    SecretRotation,
};

#[derive(Clone)]
pub(crate) enum Backend {
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
    Sqlite(sqlx::SqlitePool),
}

/// A connection pool to one client database. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    driver: Driver,
    target: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("driver", &self.driver)
            .field("target", &self.target)
            .finish()
    }
}

macro_rules! dispatch {
    ($self:ident, $function:ident ( $($argument:expr),* )) => {
        match &$self.backend {
            Backend::Postgres(pool) => backend::postgres::$function(pool $(, $argument)*).await,
            Backend::MySql(pool) => backend::mysql::$function(pool $(, $argument)*).await,
            Backend::Sqlite(pool) => backend::sqlite::$function(pool $(, $argument)*).await,
        }
    };
}

impl Store {
    /// Connects with the configured retries and pool settings. Does not touch the schema (see
    /// [`crate::migrations`]).
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let backend = connect::connect(config).await?;
        Ok(Self {
            backend,
            driver: config.driver(),
            target: config.masked_dsn(),
        })
    }

    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// The DSN with the password masked.
    pub fn target(&self) -> &str {
        &self.target
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, ping())
    }

    /// The client row and its retired secrets: one primary-key lookup.
    pub async fn credentials(&self, client_id: &str) -> Result<Option<ClientCredentials>, StoreError> {
        dispatch!(self, credentials(client_id))
    }

    pub async fn client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError> {
        dispatch!(self, client(client_id))
    }

    /// Every client, ordered by client_id.
    pub async fn list(&self) -> Result<Vec<ClientRecord>, StoreError> {
        dispatch!(self, list())
    }

    /// Inserts a client; [`StoreError::AlreadyExists`] when the client_id is taken.
    pub async fn insert(&self, new: &NewClientRow) -> Result<ClientRecord, StoreError> {
        dispatch!(self, insert(new))
    }

    pub async fn update(
        &self,
        client_id: &str,
        changes: &ClientChanges,
        now: DateTime<Utc>,
    ) -> Result<ClientRecord, StoreError> {
        dispatch!(self, update(client_id, changes, now))
    }

    pub async fn set_active(
        &self,
        client_id: &str,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<ClientRecord, StoreError> {
        dispatch!(self, set_active(client_id, active, now))
    }

    /// Replaces the current secret; the old one moves to the retired secrets until the grace period ends.
    pub async fn rotate(
        &self,
        client_id: &str,
        rotation: &SecretRotation,
    ) -> Result<RotationOutcome, StoreError> {
        dispatch!(self, rotate(client_id, rotation))
    }

    /// Stores a new hash of the *same* secret (re-hash on login), only if the stored hash is still `old_hash`.
    pub async fn replace_secret_hash(
        &self,
        client_id: &str,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        dispatch!(self, replace_secret_hash(client_id, old_hash, new_hash))
    }

    /// Deletes a client and its retired secrets; `false` when it did not exist.
    pub async fn delete(&self, client_id: &str) -> Result<bool, StoreError> {
        dispatch!(self, delete(client_id))
    }

    /// Closes the pool, waiting for checked-out connections.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Postgres(pool) => pool.close().await,
            Backend::MySql(pool) => pool.close().await,
            Backend::Sqlite(pool) => pool.close().await,
        }
    }
}
