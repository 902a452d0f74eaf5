//! Driver errors mapped to `EngineError`, with the connection failures classified for hints.

use dbprov_core::error::{BoxError, ConnectFailure};
use dbprov_core::{EngineError, Statement, Step};
use sqlx::mysql::MySqlDatabaseError;

/// `ER_ACCESS_DENIED_ERROR`, `ER_ACCESS_DENIED_NO_PASSWORD_ERROR` and `ER_DBACCESS_DENIED_ERROR`.
const ACCESS_DENIED: [u16; 3] = [1045, 1698, 1044];

/// Why a connection attempt failed. `tls_requested` says whether the client asked for TLS: the driver
/// reports a failed certificate check as an I/O error carrying invalid data, which means TLS only then.
pub fn classify_connect_error(error: &sqlx::Error, tls_requested: bool) -> ConnectFailure {
    match error {
        sqlx::Error::Database(database) => {
            let number = database
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number);
            match number {
                Some(number) if ACCESS_DENIED.contains(&number) => ConnectFailure::Authentication,
                _ => ConnectFailure::Other,
            }
        }
        sqlx::Error::Tls(_) => ConnectFailure::Tls,
        sqlx::Error::Configuration(_) if tls_requested => ConnectFailure::Tls,
        sqlx::Error::PoolTimedOut => ConnectFailure::Timeout,
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::TimedOut => ConnectFailure::Timeout,
            std::io::ErrorKind::InvalidData if tls_requested => ConnectFailure::Tls,
            std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::NotFound
            | std::io::ErrorKind::AddrNotAvailable
            | std::io::ErrorKind::HostUnreachable
            | std::io::ErrorKind::NetworkUnreachable
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::UnexpectedEof => ConnectFailure::Unreachable,
            _ if io.to_string().contains("certificate") => ConnectFailure::Tls,
            _ => ConnectFailure::Unreachable,
        },
        _ => ConnectFailure::Other,
    }
}

pub fn connect_error(
    engine: &'static str,
    target: &str,
    failure: ConnectFailure,
    source: BoxError,
) -> EngineError {
    EngineError::Connect {
        engine,
        target: target.to_owned(),
        failure,
        source,
    }
}

pub fn inspect_error(target: &str, action: impl Into<String>, source: sqlx::Error) -> EngineError {
    EngineError::Inspect {
        target: target.to_owned(),
        action: action.into(),
        source: Box::new(source),
    }
}

/// A catalog value the engine could not interpret (a JSON column that is not JSON, an unknown enum).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct CatalogValueError {
    pub what: String,
    pub detail: String,
}

pub fn catalog_value_error(
    target: &str,
    action: &str,
    what: impl Into<String>,
    detail: impl Into<String>,
) -> EngineError {
    EngineError::Inspect {
        target: target.to_owned(),
        action: action.to_owned(),
        source: Box::new(CatalogValueError {
            what: what.into(),
            detail: detail.into(),
        }),
    }
}

/// A server error whose text was withheld because it quoted part of a statement that carries a secret.
#[derive(Debug, thiserror::Error)]
#[error("server error {code} (its message was withheld because it quotes part of a secret)")]
pub struct WithheldServerError {
    pub code: String,
}

pub fn apply_error(target: &str, step: &Step, statement: &Statement, source: sqlx::Error) -> EngineError {
    let source: BoxError = if statement.has_secret() && quotes_secret(&source.to_string(), statement) {
        let code = match &source {
            sqlx::Error::Database(database) => database
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(|error| error.number().to_string())
                .unwrap_or_else(|| database.code().map(|code| code.into_owned()).unwrap_or_default()),
            _ => String::from("unknown"),
        };
        Box::new(WithheldServerError { code })
    } else {
        Box::new(source)
    };
    EngineError::Apply {
        target: target.to_owned(),
        summary: step.summary.clone(),
        statement: statement.display().to_owned(),
        source,
    }
}

/// Whether a server message repeats any 4-character piece of the secret part of a statement. MySQL's
/// syntax errors quote the statement from the failing token on, which could include a password.
fn quotes_secret(message: &str, statement: &Statement) -> bool {
    let secret = secret_part(statement.sql(), statement.display());
    let characters: Vec<char> = secret.chars().collect();
    if characters.is_empty() {
        // The secret could not be isolated (it shares its ending with the redaction marker): withhold.
        return true;
    }
    let window = characters.len().min(4);
    characters
        .windows(window)
        .map(|piece| piece.iter().collect::<String>())
        .any(|piece| message.contains(&piece))
}

/// The text between the longest common prefix and suffix of the executed and the displayed statement:
/// it contains every secret literal.
fn secret_part<'a>(sql: &'a str, display: &str) -> &'a str {
    let prefix = sql
        .char_indices()
        .zip(display.chars())
        .find(|((_, a), b)| a != b)
        .map(|((index, _), _)| index)
        .unwrap_or(sql.len().min(display.len()));
    let suffix = sql[prefix..]
        .chars()
        .rev()
        .zip(display[prefix.min(display.len())..].chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum::<usize>();
    &sql[prefix..sql.len() - suffix]
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::{Dialect, MySqlStringMode, SqlBuilder};

    fn statement_with_secret(secret: &str) -> Statement {
        let mut builder = SqlBuilder::new(Dialect::MySql(MySqlStringMode::BackslashEscapes));
        builder
            .push("ALTER USER ")
            .ident("app")
            .push(" IDENTIFIED BY ")
            .secret_literal(secret)
            .push(" ACCOUNT UNLOCK");
        builder.build().expect("no NUL")
    }

    #[test]
    fn the_secret_part_is_isolated() {
        let statement = statement_with_secret("hunter2-long");
        assert_eq!(secret_part(statement.sql(), statement.display()), "hunter2-long");
    }

    #[test]
    fn messages_quoting_a_secret_are_detected() {
        let statement = statement_with_secret("hunter2-long");
        assert!(quotes_secret(
            "You have an error in your SQL syntax near 'er2-l' at line 1",
            &statement
        ));
        assert!(!quotes_secret(
            "Operation ALTER USER failed for 'app'@'%'",
            &statement
        ));
    }

    #[test]
    fn refused_connections_are_unreachable() {
        let error = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify_connect_error(&error, false), ConnectFailure::Unreachable);
        let error = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        ));
        assert_eq!(classify_connect_error(&error, true), ConnectFailure::Tls);
        assert_eq!(
            classify_connect_error(&sqlx::Error::PoolTimedOut, false),
            ConnectFailure::Timeout
        );
    }
}
