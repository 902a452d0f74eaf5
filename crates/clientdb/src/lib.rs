//! clientdb: the OAuth2 client-credentials store and token service.
//!
//! The library is what the `clientdb` binary, the `OAuth2Client` reconciler and the tests share:
//!
//! * [`config`]: database and service configuration, from `DATABASE_URL` or the seeds' `DB_*` variables;
//! * [`store`]: one [`Store`] API over SQLite, PostgreSQL and MySQL/MariaDB (static queries per dialect);
//! * [`migrations`]: the `oauth2_clients` schema as golang-migrate files, embedded and applied at start-up;
//! * [`secret`]: client secret generation and versioned hash strings (bcrypt, argon2id, PBKDF2-SHA256);
//! * [`registry`]: create, update, rotate, disable and delete clients — the API the reconciler calls;
//! * [`auth`]: client authentication with the verified-credential cache and the failure rate limits;
//! * [`token`]: signing keys, JWKS and RFC 9068 JWT access tokens;
//! * [`http`]: the axum service (token, introspection, discovery, health, metrics, admin);
//! * [`bootstrap`]: the idempotent admin and development clients.

pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod http;
pub mod metrics;
pub mod migrations;
pub mod private_file;
pub mod registry;
pub mod secret;
pub mod store;
pub mod token;

pub use config::{DatabaseConfig, Driver, PoolSettings, RetryPolicy};
pub use registry::{ClientRegistry, CreatedClient, NewClient, RotateOptions, RotatedSecret};
pub use secret::{HashAlgorithm, HashPolicy};
pub use store::{ClientChanges, ClientRecord, Store, StoreError};

pub mod server;

/// An error and its sources on one line: `failed to connect to …: connection refused`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // `#[error(transparent)]` wrappers repeat their source's text.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
