//! The error every engine returns. Each variant names the failed action, the object and the cause.

use std::path::PathBuf;

use crate::name::NameError;
use crate::quote::QuoteError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A stable, machine-readable category: metric labels, condition reasons, exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    ConnectionFailed,
    AuthenticationFailed,
    TlsFailed,
    InspectFailed,
    ApplyFailed,
    Unsupported,
    InvalidName,
    InvalidSpec,
    ServerTooOld,
    Io,
}

impl ErrorCategory {
    /// PascalCase, as used for condition reasons and event reasons.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::ConnectionFailed => "ConnectionFailed",
            ErrorCategory::AuthenticationFailed => "AuthenticationFailed",
            ErrorCategory::TlsFailed => "TlsFailed",
            ErrorCategory::InspectFailed => "InspectFailed",
            ErrorCategory::ApplyFailed => "ApplyFailed",
            ErrorCategory::Unsupported => "Unsupported",
            ErrorCategory::InvalidName => "InvalidName",
            ErrorCategory::InvalidSpec => "InvalidSpec",
            ErrorCategory::ServerTooOld => "ServerTooOld",
            ErrorCategory::Io => "IoFailed",
        }
    }

    /// Whether retrying later may succeed without the declaration changing.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorCategory::ConnectionFailed
                | ErrorCategory::TlsFailed
                | ErrorCategory::InspectFailed
                | ErrorCategory::ApplyFailed
                | ErrorCategory::AuthenticationFailed
                | ErrorCategory::Io
        )
    }
}

/// Why a connection failed, so callers can give the right hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    Unreachable,
    Timeout,
    Authentication,
    Tls,
    Other,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("failed to connect to {engine} server {target}")]
    Connect {
        engine: &'static str,
        target: String,
        failure: ConnectFailure,
        #[source]
        source: BoxError,
    },

    #[error("failed to {action} on {target}")]
    Inspect {
        target: String,
        action: String,
        #[source]
        source: BoxError,
    },

    #[error("failed to {summary} on {target} (statement: {statement})")]
    Apply {
        target: String,
        summary: String,
        statement: String,
        #[source]
        source: BoxError,
    },

    #[error("{operation} is not supported by {engine}")]
    Unsupported { engine: &'static str, operation: String },

    #[error("{feature} needs {engine} {required} or newer; the server runs {actual}")]
    ServerTooOld {
        engine: &'static str,
        feature: String,
        required: String,
        actual: String,
    },

    #[error(transparent)]
    InvalidName(#[from] NameError),

    #[error("invalid {object}: {field}: {reason}")]
    InvalidSpec {
        object: String,
        field: String,
        reason: String,
    },

    #[error(transparent)]
    Quote(#[from] QuoteError),

    #[error("failed to {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    pub fn category(&self) -> ErrorCategory {
        match self {
            EngineError::Connect {
                failure: ConnectFailure::Authentication,
                ..
            } => ErrorCategory::AuthenticationFailed,
            EngineError::Connect {
                failure: ConnectFailure::Tls,
                ..
            } => ErrorCategory::TlsFailed,
            EngineError::Connect { .. } => ErrorCategory::ConnectionFailed,
            EngineError::Inspect { .. } => ErrorCategory::InspectFailed,
            EngineError::Apply { .. } => ErrorCategory::ApplyFailed,
            EngineError::Unsupported { .. } => ErrorCategory::Unsupported,
            EngineError::ServerTooOld { .. } => ErrorCategory::ServerTooOld,
            EngineError::InvalidName(_) => ErrorCategory::InvalidName,
            EngineError::InvalidSpec { .. } | EngineError::Quote(_) => ErrorCategory::InvalidSpec,
            EngineError::Io { .. } => ErrorCategory::Io,
        }
    }

    /// The stable category string (for metrics labels and event reasons).
    pub fn kind(&self) -> &'static str {
        self.category().as_str()
    }

    pub fn invalid_spec(
        object: impl Into<String>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        EngineError::InvalidSpec {
            object: object.into(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn unsupported(engine: &'static str, operation: impl Into<String>) -> Self {
        EngineError::Unsupported {
            engine,
            operation: operation.into(),
        }
    }

    /// The error and all its causes on one line: `failed to create database "orders" on pg-main: permission denied`.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

/// Renders an error and its sources on one line, separated by `": "`, skipping a source whose text is
/// already contained in the previous message (transparent wrappers repeat it).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut previous = out.clone();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !previous.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        previous = text;
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_causes_once() {
        let error = EngineError::Apply {
            target: "pg-main".into(),
            summary: "create database orders".into(),
            statement: "CREATE DATABASE \"orders\"".into(),
            source: "permission denied to create database".into(),
        };
        assert_eq!(
            error.chain(),
            "failed to create database orders on pg-main (statement: CREATE DATABASE \"orders\"): permission denied to create database"
        );
        assert_eq!(error.kind(), "ApplyFailed");
    }
}
