//! dbprov's MySQL and MariaDB engine.
//!
//! One adapter serves both flavours: the flavour and version are read from `VERSION()` at connect time
//! ([`flavor::ServerFacts`]), and every MySQL-8-only or MariaDB-only behaviour is decided there.
//!
//! * [`connect`]: `ConnectionSpec` to driver options (TLS modes, PEM material);
//! * [`engine`]: the `Engine` implementation ([`MySqlEngine`]);
//! * [`inspect`]: batched reads of the grant tables and `information_schema`;
//! * [`plan`]: pure planning of databases, users, roles and grants;
//! * [`sql`]: pure SQL builders;
//! * [`password`]: `mysql_native_password` verifiers;
//! * [`error`]: driver errors mapped to `EngineError`.

pub mod connect;
pub mod engine;
pub mod error;
pub mod flavor;
pub mod inspect;
pub mod password;
pub mod plan;
pub mod sql;

pub use connect::connect_options;
pub use engine::MySqlEngine;
pub use flavor::{ServerFacts, capabilities};
