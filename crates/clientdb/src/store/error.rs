//! Store errors: what failed, on which client, and the driver's cause.

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("failed to connect to {target} after {attempts} attempt(s)")]
    Connect {
        /// The DSN with the password masked.
        target: String,
        attempts: u32,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to {operation}")]
    Query {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to {operation} for client {client_id:?}")]
    ClientQuery {
        operation: &'static str,
        client_id: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("client {client_id:?} does not exist")]
    NotFound { client_id: String },
    #[error("client {client_id:?} already exists")]
    AlreadyExists { client_id: String },
    #[error("client {client_id:?} was changed concurrently; retry")]
    Conflict { client_id: String },
    #[error("column {column} of client {client_id:?} holds invalid data: {reason}")]
    Corrupt {
        client_id: String,
        column: &'static str,
        reason: String,
    },
}

impl StoreError {
    /// A stable label for metrics and exit codes.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Connect { .. } => "connect",
            StoreError::Query { .. } | StoreError::ClientQuery { .. } => "query",
            StoreError::NotFound { .. } => "not_found",
            StoreError::AlreadyExists { .. } => "already_exists",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Corrupt { .. } => "corrupt",
        }
    }

    pub(crate) fn client(operation: &'static str, client_id: &str) -> impl FnOnce(sqlx::Error) -> StoreError {
        let client_id = client_id.to_owned();
        move |source| StoreError::ClientQuery {
            operation,
            client_id,
            source,
        }
    }
}

/// Whether the driver reported a unique or primary key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}
