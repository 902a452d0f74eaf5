//! Why a reconcile did not succeed, with what to tell the user and when to try again.

use std::time::Duration;

use dbprov_api::FieldError;
use dbprov_core::EngineError;
use dbprov_core::error::error_chain;

use crate::context::{ObjectRef, SourceError};

/// How long to wait for a missing or unready instance (the seeds' retry policy).
pub const INSTANCE_WAIT: Duration = Duration::from_secs(10);
/// How long to wait for a missing Secret, a failed connection or a failed operation.
pub const RETRY_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The declaration is invalid: nothing runs until it changes.
    #[error("{}", render_field_errors(.errors))]
    Invalid { errors: Vec<FieldError> },

    #[error("{instance} does not exist")]
    InstanceNotFound { instance: ObjectRef },

    #[error("{instance} is not Ready yet")]
    InstanceNotReady { instance: ObjectRef },

    #[error("{object} does not exist")]
    ReferenceNotFound { object: ObjectRef, field: &'static str },

    #[error("{}", secret_message(.namespace, .name, .key.as_deref(), .purpose))]
    SecretNotFound {
        namespace: String,
        name: String,
        key: Option<String>,
        purpose: &'static str,
    },

    #[error("{}", error_chain(.error))]
    Connect { error: EngineError },

    #[error("{}", error_chain(.error))]
    Engine { error: EngineError },

    #[error("failed to write secret {namespace}/{name}: {}", error_chain(.error))]
    WriteSecret {
        namespace: String,
        name: String,
        error: SourceError,
    },

    #[error("{}", error_chain(.error))]
    Source { error: SourceError },

    /// A migration could not run (or failed halfway: the database is then dirty).
    #[error("{message}")]
    Migration {
        reason: &'static str,
        message: String,
        transient: bool,
    },

    #[error(
        "deletion is blocked by {field}; set it to false (or annotate dbops.dbprovision.io/force-delete: \"true\") to delete"
    )]
    DeletionProtected { field: &'static str },

    /// A backup, restore or schedule could not run, or failed (`reason` is the backup library's kind:
    /// `DumpFailed`, `ArtifactInvalid`, `TargetNotEmpty`, `DeadlineExceeded`, ...).
    #[error("{message}")]
    Backup {
        reason: &'static str,
        message: String,
        transient: bool,
    },
}

fn render_field_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn secret_message(namespace: &str, name: &str, key: Option<&str>, purpose: &str) -> String {
    match key {
        Some(key) => format!("secret {namespace}/{name} has no key {key:?} ({purpose})"),
        None => format!("secret {namespace}/{name} does not exist ({purpose})"),
    }
}

impl Failure {
    /// The PascalCase reason for conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Invalid { errors } => errors.first().map_or("InvalidSpec", |error| error.kind.reason()),
            Failure::InstanceNotFound { .. } => "InstanceNotFound",
            Failure::InstanceNotReady { .. } => "InstanceNotReady",
            Failure::ReferenceNotFound { .. } => "ReferenceNotFound",
            Failure::SecretNotFound { .. } => "SecretNotFound",
            Failure::Connect { error } | Failure::Engine { error } => error.kind(),
            Failure::WriteSecret { .. } => "SecretWriteFailed",
            Failure::Source { .. } => "ReadFailed",
            Failure::DeletionProtected { .. } => "DeletionProtected",
            Failure::Migration { reason, .. } | Failure::Backup { reason, .. } => reason,
        }
    }

    /// When to try again on its own; `None` means "wait for the declaration to change".
    pub fn requeue_after(&self) -> Option<Duration> {
        match self {
            Failure::Invalid { .. } | Failure::DeletionProtected { .. } => None,
            Failure::InstanceNotFound { .. }
            | Failure::InstanceNotReady { .. }
            | Failure::ReferenceNotFound { .. } => Some(INSTANCE_WAIT),
            Failure::Engine { error } if !error.category().is_transient() => None,
            Failure::Migration { transient: false, .. } | Failure::Backup { transient: false, .. } => None,
            _ => Some(RETRY_WAIT),
        }
    }

    /// Whether the failure says the server could not be reached (the `Connected` condition).
    pub fn is_connection(&self) -> bool {
        match self {
            Failure::Connect { .. } => true,
            Failure::Engine { error } => matches!(
                error.category(),
                dbprov_core::ErrorCategory::ConnectionFailed | dbprov_core::ErrorCategory::TlsFailed
            ),
            _ => false,
        }
    }

    /// Whether the failure is waiting on another object (phase `Pending` rather than `Failed`).
    pub fn is_waiting(&self) -> bool {
        matches!(
            self,
            Failure::InstanceNotFound { .. }
                | Failure::InstanceNotReady { .. }
                | Failure::ReferenceNotFound { .. }
                | Failure::SecretNotFound { .. }
        )
    }

    pub fn invalid(error: FieldError) -> Self {
        Failure::Invalid { errors: vec![error] }
    }
}

impl From<Vec<FieldError>> for Failure {
    fn from(errors: Vec<FieldError>) -> Self {
        Failure::Invalid { errors }
    }
}
