//! The `dbops.dbprovision.io/v1alpha1` API, field-compatible with db-provision-operator's.
//!
//! One file per kind. Every spec type denies unknown fields, so a typo is an error with its path instead of
//! a silently ignored setting; upstream fields dbprov does not implement are kept in the schema (so the API
//! server does not prune them) and rejected by [`crate::validate`].

// `#[kube(printcolumn(...))]` repeats `type_ = "string"` and `priority = 1` by design; the lint mistakes the
// repeated keys inside distinct columns for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

pub mod backup;
pub mod backup_schedule;
pub mod backup_storage;
pub mod common;
pub mod database;
pub mod grant;
pub mod instance;
pub mod migration;
pub mod oauth2_client;
pub mod restore;
pub mod role;
pub mod status;
pub mod user;

pub use backup::*;
pub use backup_schedule::*;
pub use backup_storage::*;
pub use common::*;
pub use database::*;
pub use grant::*;
pub use instance::*;
pub use migration::*;
pub use oauth2_client::*;
pub use restore::*;
pub use role::*;
pub use status::*;
pub use user::*;

/// The API group.
pub const GROUP: &str = "dbops.dbprovision.io";
/// The API version.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of every kind.
pub const API_VERSION: &str = "dbops.dbprovision.io/v1alpha1";
