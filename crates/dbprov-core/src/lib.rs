//! dbprov-core: what every engine and every reconciler agrees on.
//!
//! * [`name`]: validated object names (nothing reaches SQL before it passed here);
//! * [`quote`]: the one audited place where identifiers and literals become SQL text;
//! * [`plan`]: statements, plans and drift reports;
//! * [`model`]: the engine-neutral declaration and catalog model (databases, roles, grants);
//! * [`engine`]: the `Engine` trait and the `Capabilities` each engine declares;
//! * [`connection`]: how to reach a server (endpoint, credentials, TLS);
//! * [`secret`]: a string that never prints.

pub mod connection;
pub mod engine;
pub mod error;
pub mod model;
pub mod name;
pub mod password;
pub mod plan;
pub mod quote;
pub mod secret;

pub use connection::{ConnectionSpec, Credentials, Endpoint, TlsMode, TlsSpec};
pub use engine::{Capabilities, Engine, EngineKind, NameLimit, NameLimits, ServerInfo};
pub use error::{EngineError, ErrorCategory};
pub use name::{Name, NameError, NameKind};
pub use plan::{ApplyReport, Batch, Drift, Plan, Statement, Step, StepAction};
pub use quote::{Dialect, MySqlStringMode, SqlBuilder};
pub use secret::Secret;
