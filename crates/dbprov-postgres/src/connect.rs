//! From a [`ConnectionSpec`] to driver options and a first, classified connection.

use std::path::{Path, PathBuf};

use dbprov_core::engine::parse_version_number;
use dbprov_core::{ConnectionSpec, Endpoint, EngineError, EngineKind, ServerInfo, TlsMode};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};

use crate::error::{PgError, classify_connect_error, connect_error};
use crate::sql;

/// The database the admin connection uses when the spec names none.
pub const DEFAULT_ADMIN_DATABASE: &str = "postgres";

/// What the server told us about itself and about the admin role, read once at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerFacts {
    pub server: ServerInfo,
    /// `current_user` of the admin connection.
    pub current_user: String,
    /// Whether the admin is a superuser, and so can read `pg_authid.rolpassword`.
    pub superuser: bool,
}

/// Driver options for one database of the instance described by `spec`.
///
/// `Endpoint::Socket` is the socket directory (libpq's `host=/run/postgresql`); a path to the socket file itself
/// (`/run/postgresql/.s.PGSQL.5433`) is accepted too and also gives the port.
pub fn connect_options(spec: &ConnectionSpec, database: &str) -> Result<PgConnectOptions, EngineError> {
    // `new_without_pgpass` reads the PG* environment variables; every setting that matters is overridden below.
    let mut options = PgConnectOptions::new_without_pgpass()
        .database(database)
        .application_name("dbprov");
    options = match &spec.endpoint {
        Endpoint::Tcp { host, port } => options.host(host).port(*port),
        Endpoint::Socket { path } => {
            let (directory, port) = socket_directory(path);
            let options = options.socket(directory);
            match port {
                Some(port) => options.port(port),
                None => options.port(5432),
            }
        }
        Endpoint::Directory { path } => {
            return Err(EngineError::invalid_spec(
                format!("connection {}", spec.label),
                "endpoint",
                format!(
                    "{} is a directory of SQLite files; PostgreSQL needs a host and port or a socket",
                    path.display()
                ),
            ));
        }
    };
    if let Some(credentials) = &spec.credentials {
        options = options.username(&credentials.username);
        if let Some(password) = &credentials.password {
            options = options.password(password.expose());
        }
    }
    options = options.ssl_mode(ssl_mode(spec.tls.mode));
    if spec.tls.mode != TlsMode::Disable {
        if let Some(ca) = &spec.tls.ca_pem {
            options = options.ssl_root_cert_from_pem(ca.clone());
        }
        match (&spec.tls.client_cert_pem, &spec.tls.client_key_pem) {
            (Some(cert), Some(key)) => {
                options = options
                    .ssl_client_cert_from_pem(cert)
                    .ssl_client_key_from_pem(key.expose().as_bytes());
            }
            (None, None) => {}
            _ => {
                return Err(connect_error(
                    &spec.label,
                    dbprov_core::error::ConnectFailure::Tls,
                    PgError::Settings {
                        setting: "tls",
                        reason: "a client certificate and its key must be given together",
                    },
                ));
            }
        }
    }
    // Statements are logged by dbprov itself, redacted; the driver's own statement log would show verifiers.
    Ok(options.disable_statement_logging())
}

fn ssl_mode(mode: TlsMode) -> PgSslMode {
    match mode {
        TlsMode::Disable => PgSslMode::Disable,
        TlsMode::Prefer => PgSslMode::Prefer,
        TlsMode::Require => PgSslMode::Require,
        TlsMode::VerifyCa => PgSslMode::VerifyCa,
        TlsMode::VerifyFull => PgSslMode::VerifyFull,
    }
}

/// Splits `/dir/.s.PGSQL.5433` into the directory and the port; a directory is returned as is.
fn socket_directory(path: &Path) -> (PathBuf, Option<u16>) {
    let port = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.strip_prefix(".s.PGSQL."))
        .and_then(|port| port.parse::<u16>().ok());
    match (port, path.parent()) {
        (Some(port), Some(directory)) => (directory.to_owned(), Some(port)),
        _ => (path.to_owned(), None),
    }
}

/// Opens one connection within the spec's timeout, classifies a failure, and reads the server facts.
pub(crate) async fn probe(
    spec: &ConnectionSpec,
    options: &PgConnectOptions,
) -> Result<ServerFacts, EngineError> {
    let tls_requested = spec.tls.mode != TlsMode::Disable;
    let mut connection = match tokio::time::timeout(spec.connect_timeout, options.connect()).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => {
            let failure = classify_connect_error(&error, tls_requested);
            return Err(connect_error(&spec.label, failure, error));
        }
        Err(_elapsed) => {
            return Err(connect_error(
                &spec.label,
                dbprov_core::error::ConnectFailure::Timeout,
                PgError::ConnectTimeout(spec.connect_timeout),
            ));
        }
    };
    let facts = tokio::time::timeout(spec.connect_timeout, async {
        let row = sqlx::query(sql::catalog::SERVER_FACTS)
            .fetch_one(&mut connection)
            .await?;
        Ok::<_, sqlx::Error>(ServerFacts {
            server: ServerInfo {
                kind: EngineKind::Postgres,
                version_number: parse_version_number(row.try_get::<String, _>("server_version")?.as_str()),
                version: row.try_get("version")?,
            },
            current_user: row.try_get("current_user")?,
            superuser: row.try_get("superuser")?,
        })
    })
    .await;
    // The probe connection has done its job; the pools open their own.
    let _ = connection.close().await;
    match facts {
        Ok(Ok(facts)) => Ok(facts),
        Ok(Err(error)) => Err(crate::error::inspect_error(
            &spec.label,
            "read the server version",
            error,
        )),
        Err(_elapsed) => Err(connect_error(
            &spec.label,
            dbprov_core::error::ConnectFailure::Timeout,
            PgError::ConnectTimeout(spec.connect_timeout),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::{Secret, TlsSpec};

    #[test]
    fn tcp_options_carry_everything() {
        let spec = ConnectionSpec::tcp("db.example", 6543)
            .with_credentials("admin", Some(Secret::new("pw")))
            .with_tls(TlsSpec {
                mode: TlsMode::VerifyFull,
                ..TlsSpec::default()
            });
        let options = connect_options(&spec, "orders").unwrap();
        assert_eq!(options.get_host(), "db.example");
        assert_eq!(options.get_port(), 6543);
        assert_eq!(options.get_username(), "admin");
        assert_eq!(options.get_database(), Some("orders"));
        assert_eq!(options.get_application_name(), Some("dbprov"));
        assert!(matches!(options.get_ssl_mode(), PgSslMode::VerifyFull));
    }

    #[test]
    fn socket_files_give_the_port() {
        assert_eq!(
            socket_directory(Path::new("/run/pg/.s.PGSQL.5433")),
            (PathBuf::from("/run/pg"), Some(5433))
        );
        assert_eq!(
            socket_directory(Path::new("/run/pg")),
            (PathBuf::from("/run/pg"), None)
        );
        let spec = ConnectionSpec {
            endpoint: Endpoint::Socket {
                path: "/run/pg/.s.PGSQL.5433".into(),
            },
            ..ConnectionSpec::tcp("x", 1)
        };
        let options = connect_options(&spec, "postgres").unwrap();
        assert_eq!(options.get_socket(), Some(&PathBuf::from("/run/pg")));
        assert_eq!(options.get_port(), 5433);
    }

    #[test]
    fn a_certificate_without_its_key_is_refused() {
        let spec = ConnectionSpec::tcp("x", 1).with_tls(TlsSpec {
            mode: TlsMode::Require,
            client_cert_pem: Some(b"-----BEGIN CERTIFICATE-----".to_vec()),
            ..TlsSpec::default()
        });
        let error = connect_options(&spec, "postgres").unwrap_err();
        assert_eq!(error.kind(), "TlsFailed");
    }

    #[test]
    fn sqlite_directories_are_refused() {
        let spec = ConnectionSpec::directory("/tmp/x");
        assert_eq!(
            connect_options(&spec, "postgres").unwrap_err().kind(),
            "InvalidSpec"
        );
    }
}
