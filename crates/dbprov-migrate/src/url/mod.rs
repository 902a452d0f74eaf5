//! golang-migrate database URLs, parsed into a typed [`MigrationTarget`].
//!
//! | scheme | golang-migrate driver | example |
//! |---|---|---|
//! | `postgres://`, `postgresql://` | lib/pq | `postgres://app:secret@db:5432/app?sslmode=disable&search_path=app` |
//! | `pgx://`, `pgx4://`, `pgx5://` | pgx | same parameters as `postgres://` |
//! | `mysql://` | go-sql-driver | `mysql://app:secret@tcp(db:3306)/app?tls=true` (and dbprov's plain `mysql://app:secret@db:3306/app`) |
//! | `sqlite3://`, `sqlite://` | mattn, modernc | `sqlite3://path/to/app.db?x-no-tx-wrap=true` |
//!
//! `x-` parameters are golang-migrate's own; an unknown one is an error, never ignored. Driver parameters
//! that dbprov cannot honour are errors too. `Display` and `Debug` never show a password: URLs render as
//! `postgres://app:***@db/app`.

mod escape;
mod mysql;
mod postgres;
mod sqlite;

use std::fmt;
use std::path::PathBuf;

use dbprov_core::{EngineKind, Secret};

pub use mysql::{MySqlAddress, MySqlTarget, MySqlTls, MySqlTlsMode};
pub use postgres::{PgHost, PostgresFlavor, PostgresTarget, SslMode};
pub use sqlite::{SqliteOpenMode, SqliteTarget};

/// golang-migrate's default migrations table name.
pub const DEFAULT_MIGRATIONS_TABLE: &str = "schema_migrations";

/// Where a certificate comes from: a file named in a URL, or PEM bytes (a Kubernetes Secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateSource {
    File(PathBuf),
    Pem(Vec<u8>),
}

/// Where a private key comes from. PEM keys are [`Secret`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Pem(Secret),
}

/// A parsed database URL: which engine, how to connect, and golang-migrate's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationTarget {
    Postgres(PostgresTarget),
    MySql(MySqlTarget),
    Sqlite(SqliteTarget),
}

impl MigrationTarget {
    /// Parses a golang-migrate database URL.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        // golang-migrate picks the driver by the text before the first ':' (case-sensitive).
        let scheme = url
            .split_once(':')
            .map(|(scheme, _)| scheme)
            .filter(|scheme| !scheme.is_empty())
            .ok_or(UrlError::NoScheme)?;
        match scheme {
            "postgres" | "postgresql" | "pgx" | "pgx4" | "pgx5" => {
                PostgresTarget::parse(url).map(MigrationTarget::Postgres)
            }
            "mysql" => MySqlTarget::parse(url).map(MigrationTarget::MySql),
            "sqlite3" | "sqlite" => SqliteTarget::parse(url).map(MigrationTarget::Sqlite),
            other => Err(UrlError::UnknownScheme {
                scheme: other.chars().take(40).collect(),
            }),
        }
    }

    pub fn engine(&self) -> EngineKind {
        match self {
            MigrationTarget::Postgres(_) => EngineKind::Postgres,
            MigrationTarget::MySql(_) => EngineKind::MySql,
            MigrationTarget::Sqlite(_) => EngineKind::Sqlite,
        }
    }

    /// The migrations table name (`x-migrations-table`, default `schema_migrations`).
    pub fn migrations_table(&self) -> &str {
        match self {
            MigrationTarget::Postgres(target) => &target.migrations_table,
            MigrationTarget::MySql(target) => &target.migrations_table,
            MigrationTarget::Sqlite(target) => &target.migrations_table,
        }
    }

    /// Replaces the migrations table name (the `DatabaseMigration` kind's `table` field).
    pub fn set_migrations_table(&mut self, table: impl Into<String>) {
        let table = table.into();
        match self {
            MigrationTarget::Postgres(target) => target.migrations_table = table,
            MigrationTarget::MySql(target) => target.migrations_table = table,
            MigrationTarget::Sqlite(target) => target.migrations_table = table,
        }
    }
}

impl fmt::Display for MigrationTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MigrationTarget::Postgres(target) => target.fmt(f),
            MigrationTarget::MySql(target) => target.fmt(f),
            MigrationTarget::Sqlite(target) => target.fmt(f),
        }
    }
}

impl std::str::FromStr for MigrationTarget {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        MigrationTarget::parse(url)
    }
}

/// Why a database URL was refused. Messages never contain the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    #[error("database URL has no scheme (expected postgres://, mysql://, sqlite3://, ...)")]
    NoScheme,

    #[error(
        "unknown database URL scheme {scheme:?} (expected postgres, postgresql, pgx, pgx4, pgx5, mysql, sqlite3 or sqlite)"
    )]
    UnknownScheme { scheme: String },

    #[error("malformed {scheme} URL: {reason}")]
    Malformed { scheme: &'static str, reason: String },

    #[error("unknown parameter {name:?} in a {scheme} URL")]
    UnknownParameter { scheme: &'static str, name: String },

    #[error("parameter {name:?} of a {scheme} URL is not supported by dbprov: {reason}")]
    UnsupportedParameter {
        scheme: &'static str,
        name: String,
        reason: &'static str,
    },

    #[error("invalid value {value:?} for parameter {name:?} of a {scheme} URL: {reason}")]
    InvalidParameter {
        scheme: &'static str,
        name: String,
        value: String,
        reason: String,
    },

    #[error("parameter {name:?} appears more than once in a {scheme} URL")]
    DuplicateParameter { scheme: &'static str, name: String },

    /// A connection whose endpoint the engine cannot use (a SQLite directory for a server engine).
    #[error("{label} is a SQLite directory, not a {scheme} server")]
    DirectoryEndpoint { scheme: &'static str, label: String },
}

impl UrlError {
    /// A stable identifier for metrics and condition reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            UrlError::NoScheme | UrlError::UnknownScheme { .. } => "UnknownScheme",
            UrlError::Malformed { .. } => "MalformedUrl",
            UrlError::UnknownParameter { .. } => "UnknownParameter",
            UrlError::UnsupportedParameter { .. } => "UnsupportedParameter",
            UrlError::InvalidParameter { .. } => "InvalidParameter",
            UrlError::DuplicateParameter { .. } => "DuplicateParameter",
            UrlError::DirectoryEndpoint { .. } => "InvalidEndpoint",
        }
    }
}

/// Go's `strconv.ParseBool`, which golang-migrate uses for its boolean parameters.
pub(crate) fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Query parameters in order, refusing duplicates (Go would silently take the first).
pub(crate) fn unique_parameters(
    scheme: &'static str,
    pairs: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, String)>, UrlError> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (name, value) in pairs {
        if seen.iter().any(|(existing, _)| *existing == name) {
            return Err(UrlError::DuplicateParameter { scheme, name });
        }
        seen.push((name, value));
    }
    Ok(seen)
}

pub(crate) fn bool_parameter(scheme: &'static str, name: &str, value: &str) -> Result<bool, UrlError> {
    parse_go_bool(value).ok_or_else(|| UrlError::InvalidParameter {
        scheme,
        name: name.to_owned(),
        value: value.to_owned(),
        reason: "expected a boolean (true, false, 1, 0, t, f)".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_engine() {
        for (url, engine) in [
            ("postgres://u@h/d?sslmode=disable", EngineKind::Postgres),
            ("postgresql://u@h/d", EngineKind::Postgres),
            ("pgx://u@h/d", EngineKind::Postgres),
            ("pgx5://u@h/d", EngineKind::Postgres),
            ("mysql://u:p@tcp(h:3306)/d", EngineKind::MySql),
            ("mysql://u:p@h:3306/d", EngineKind::MySql),
            ("sqlite3://a.db", EngineKind::Sqlite),
            ("sqlite://a.db", EngineKind::Sqlite),
        ] {
            assert_eq!(MigrationTarget::parse(url).unwrap().engine(), engine, "{url}");
        }
    }

    #[test]
    fn unknown_schemes_are_refused() {
        assert_eq!(
            MigrationTarget::parse("mongodb://h/d").unwrap_err(),
            UrlError::UnknownScheme {
                scheme: "mongodb".into()
            }
        );
        assert_eq!(
            MigrationTarget::parse("no-scheme").unwrap_err(),
            UrlError::NoScheme
        );
        // Go compares the scheme case-sensitively.
        assert!(matches!(
            MigrationTarget::parse("Postgres://u@h/d").unwrap_err(),
            UrlError::UnknownScheme { .. }
        ));
    }

    #[test]
    fn go_booleans() {
        for value in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(value), Some(true));
        }
        for value in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(value), Some(false));
        }
        for value in ["yes", "on", "tRUE", ""] {
            assert_eq!(parse_go_bool(value), None);
        }
    }

    #[test]
    fn the_migrations_table_can_be_replaced() {
        let mut target = MigrationTarget::parse("sqlite3://a.db?x-migrations-table=m").unwrap();
        assert_eq!(target.migrations_table(), "m");
        target.set_migrations_table("other");
        assert_eq!(target.migrations_table(), "other");
    }
}
