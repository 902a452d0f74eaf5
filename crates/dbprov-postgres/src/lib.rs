//! dbprov's PostgreSQL engine: [`PgEngine`] implements [`dbprov_core::Engine`].
//!
//! * [`connect`]: `ConnectionSpec` → `PgConnectOptions`, TLS, connect timeout, failure classification;
//! * `engine`: the `Engine` implementation, one admin pool plus one cached pool per database;
//! * `inspect`: batched catalog reads (a constant number of queries per kind of object);
//! * `plan`: pure planning, declaration + catalog → `Plan`;
//! * `sql`: pure SQL builders (validated names in, `Statement` out) and the catalog queries;
//! * `scram`: SCRAM-SHA-256 verifiers, made on the client and checked against `pg_authid`;
//! * `error`: driver errors → `EngineError`.

mod connect;
mod engine;
mod error;
mod inspect;
mod plan;
mod scram;
mod sql;

use dbprov_core::EngineKind;
use dbprov_core::engine::{Capabilities, default_name_limits};

pub use connect::connect_options;
pub use engine::PgEngine;

/// The engine's name in messages and `Capabilities::engine`.
pub const ENGINE: &str = "PostgreSQL";

/// What PostgreSQL can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    engine: ENGINE,
    transactional_ddl: true,
    users: true,
    roles: true,
    grants: true,
    database_owner: true,
    schemas: true,
    extensions: true,
    default_privileges: true,
    tablespaces: true,
    role_attributes: true,
    accounts: false,
    account_lock: false,
    failed_login_lock: false,
    mariadb_privileges: false,
    charset_collation: false,
    advisory_locks: true,
    // NAMEDATALEN - 1 bytes for every identifier: PostgreSQL truncates longer ones, so dbprov rejects them.
    name_limits: default_name_limits(EngineKind::Postgres),
};
