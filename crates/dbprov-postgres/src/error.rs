//! Driver errors → [`EngineError`]: connection failures are classified so callers can give the right hint;
//! catalog and apply failures keep the driver error as their source.

use std::time::Duration;

use dbprov_core::EngineError;
use dbprov_core::error::ConnectFailure;

use crate::ENGINE;

/// Failures that do not come from the driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    #[error("the server did not answer within {0:?}")]
    ConnectTimeout(Duration),
    #[error("connection setting {setting}: {reason}")]
    Settings {
        setting: &'static str,
        reason: &'static str,
    },
    #[error("unexpected catalog row: {0}")]
    Catalog(String),
}

/// SQLSTATEs that mean the credentials were refused: `invalid_password` and
/// `invalid_authorization_specification` (no `pg_hba.conf` entry, certificate rejected, unknown role).
const AUTHENTICATION_STATES: [&str; 2] = ["28P01", "28000"];

/// SQLSTATE `cannot_connect_now`: the server is starting or shutting down.
const CANNOT_CONNECT_NOW: &str = "57P03";

/// Sorts a failed connection attempt into the categories callers give hints for.
pub(crate) fn classify_connect_error(error: &sqlx::Error, tls_requested: bool) -> ConnectFailure {
    match error {
        sqlx::Error::Database(database) => match database.code().as_deref() {
            Some(code) if AUTHENTICATION_STATES.contains(&code) => ConnectFailure::Authentication,
            Some(CANNOT_CONNECT_NOW) => ConnectFailure::Unreachable,
            _ => ConnectFailure::Other,
        },
        sqlx::Error::Tls(_) => ConnectFailure::Tls,
        // Bad PEM material or a certificate without its key.
        sqlx::Error::Configuration(_) if tls_requested => ConnectFailure::Tls,
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut => ConnectFailure::Timeout,
            // rustls reports a failed handshake (unknown CA, wrong host name, a fatal alert from the server
            // about our client certificate) as invalid data on the socket.
            std::io::ErrorKind::InvalidData if tls_requested => ConnectFailure::Tls,
            _ => ConnectFailure::Unreachable,
        },
        sqlx::Error::PoolTimedOut => ConnectFailure::Timeout,
        _ => ConnectFailure::Other,
    }
}

pub(crate) fn connect_error(
    target: &str,
    failure: ConnectFailure,
    source: impl Into<dbprov_core::error::BoxError>,
) -> EngineError {
    EngineError::Connect {
        engine: ENGINE,
        target: target.to_owned(),
        failure,
        source: source.into(),
    }
}

/// A failed catalog read: `failed to read roles on pg-main: ...`.
pub(crate) fn inspect_error(
    target: &str,
    action: impl Into<String>,
    source: impl Into<dbprov_core::error::BoxError>,
) -> EngineError {
    EngineError::Inspect {
        target: target.to_owned(),
        action: action.into(),
        source: source.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_classified() {
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            classify_connect_error(&refused, false),
            ConnectFailure::Unreachable
        );
        let handshake = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate",
        ));
        assert_eq!(classify_connect_error(&handshake, true), ConnectFailure::Tls);
        assert_eq!(
            classify_connect_error(&handshake, false),
            ConnectFailure::Unreachable
        );
        assert_eq!(
            classify_connect_error(&sqlx::Error::PoolTimedOut, false),
            ConnectFailure::Timeout
        );
        assert_eq!(
            classify_connect_error(&sqlx::Error::Tls("server does not support TLS".into()), true),
            ConnectFailure::Tls
        );
    }
}
