//! Conversion from the API types into `dbprov_core`'s engine-neutral model. Pure: references, Secrets and
//! passwords are resolved by the caller and passed in. Every converter validates first (against the engine),
//! so it returns the same field errors `validate_for_engine` would.

pub mod connection;
pub mod database;
pub mod deletion;
pub mod grant;
mod mysql_grant;
pub mod password;
mod pg_grant;
pub mod role;
pub mod user;

pub use connection::{TlsMaterial, connection_spec, template_ssl_mode};
pub use database::{DatabaseConversion, database};
pub use deletion::{DeletionSettings, deletion_settings, force_delete};
pub use grant::{GrantConversion, grant, merge_grants};
pub use password::{PasswordGenerator, PasswordSource, password_source};
pub use role::{RoleConversion, role};
pub use user::user;

use crate::v1alpha1::DriftPolicy;

/// The drift policy in force: the object's own, else the instance's, else `detect` every `5m`.
pub fn effective_drift_policy(object: Option<&DriftPolicy>, instance: Option<&DriftPolicy>) -> DriftPolicy {
    object.or(instance).cloned().unwrap_or_default()
}
