//! dbprov-reconcile: one reconciler per kind, shared by the CLI and the operator.
//!
//! Every reconcile is the same pipeline: **resolve references → validate → inspect → plan → apply → status**.
//! Resolving reads objects and Secrets through [`ObjectSource`] and [`SecretStore`] (manifests and the state
//! directory for the CLI, the Kubernetes API for the operator); validation and planning are pure; inspection and
//! applying go through the engine registry. Nothing here talks to Kubernetes.
//!
//! Work is batched: [`run`] takes the prepared objects of one kind, groups them by instance, reads each
//! instance's catalog once and plans every object against it. The operator calls it with one object, the CLI
//! with all objects of a kind.

pub mod backup;
pub mod backup_settings;
pub mod backup_status;
pub mod context;
pub mod database_ref;
pub mod deletion;
pub mod drift;
pub mod engines;
pub mod failure;
pub mod index;
pub mod instance;
pub mod migration;
pub mod oauth2_client;
pub mod outcome;
pub mod password;
pub mod prepare;
pub mod restore;
pub mod run;
pub mod schedule;
pub mod status;

pub use context::{Context, ObjectRef, ObjectSource, SecretObject, SecretStore, SourceError, StoredSecret};
pub use engines::EngineCache;
pub use failure::Failure;
pub use instance::{ResolvedInstance, reconcile_instance, resolve_instance};
pub use outcome::{Event, EventType, Outcome};
pub use prepare::{Prepared, prepare};
pub use run::{Mode, run};
