//! `ConnectionSpec` to driver options, and what is read from a fresh session (version, `sql_mode`).

use dbprov_core::{ConnectionSpec, Endpoint, EngineError, EngineKind, MySqlStringMode, TlsMode};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlSslMode};
use sqlx::{ConnectOptions, Row};

/// Driver options for `spec`, connected to `database` (or `spec.database`, or none).
pub fn connect_options(
    spec: &ConnectionSpec,
    database: Option<&str>,
) -> Result<MySqlConnectOptions, EngineError> {
    let object = format!("connection {}", spec.label);
    let mut options = MySqlConnectOptions::new()
        .charset("utf8mb4")
        // Statements can carry secrets; the engine logs their redacted rendering itself.
        .disable_statement_logging();
    options = match &spec.endpoint {
        Endpoint::Tcp { host, port } => options.host(host).port(*port),
        Endpoint::Socket { path } => options.socket(path),
        Endpoint::Directory { .. } => {
            return Err(EngineError::invalid_spec(
                object,
                "endpoint",
                "MySQL and MariaDB are reached over TCP or a Unix socket, not a directory",
            ));
        }
    };
    let Some(credentials) = &spec.credentials else {
        return Err(EngineError::invalid_spec(
            object,
            "credentials",
            "MySQL and MariaDB need a user name",
        ));
    };
    options = options.username(&credentials.username);
    if let Some(password) = &credentials.password {
        options = options.password(password.expose());
    }
    if let Some(database) = database.or(spec.database.as_deref()) {
        options = options.database(database);
    }
    options = options.ssl_mode(ssl_mode(spec.tls.mode));
    if let Some(ca) = &spec.tls.ca_pem {
        options = options.ssl_ca_from_pem(ca.clone());
    }
    if let Some(certificate) = &spec.tls.client_cert_pem {
        options = options.ssl_client_cert_from_pem(certificate);
    }
    if let Some(key) = &spec.tls.client_key_pem {
        options = options.ssl_client_key_from_pem(key.expose().as_bytes());
    }
    Ok(options)
}

/// The libpq TLS mode names mapped to MySQL's.
pub fn ssl_mode(mode: TlsMode) -> MySqlSslMode {
    match mode {
        TlsMode::Disable => MySqlSslMode::Disabled,
        TlsMode::Prefer => MySqlSslMode::Preferred,
        TlsMode::Require => MySqlSslMode::Required,
        TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
        TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
    }
}

/// How string literals must be written for a session running with `sql_mode`.
pub fn string_mode(sql_mode: &str) -> MySqlStringMode {
    if sql_mode
        .split(',')
        .any(|mode| mode.trim().eq_ignore_ascii_case("NO_BACKSLASH_ESCAPES"))
    {
        MySqlStringMode::NoBackslashEscapes
    } else {
        MySqlStringMode::BackslashEscapes
    }
}

/// The flavour named by a `VERSION()` string.
pub fn flavour(version: &str) -> EngineKind {
    if version.contains("MariaDB") {
        EngineKind::MariaDb
    } else {
        EngineKind::MySql
    }
}

/// `VERSION()` and the session's `sql_mode`.
pub async fn read_session(connection: &mut MySqlConnection) -> Result<(String, String), sqlx::Error> {
    let row = sqlx::query("SELECT VERSION(), @@SESSION.sql_mode")
        .fetch_one(connection)
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// The session's `sql_mode` only (checked on every new pooled connection).
pub async fn read_sql_mode(connection: &mut MySqlConnection) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT @@SESSION.sql_mode")
        .fetch_one(connection)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::{Secret, TlsSpec};

    #[test]
    fn backslash_mode_follows_sql_mode() {
        assert_eq!(
            string_mode("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES,NO_ENGINE_SUBSTITUTION"),
            MySqlStringMode::NoBackslashEscapes
        );
        assert_eq!(
            string_mode("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"),
            MySqlStringMode::BackslashEscapes
        );
        assert_eq!(string_mode(""), MySqlStringMode::BackslashEscapes);
    }

    #[test]
    fn flavour_comes_from_the_version_string() {
        assert_eq!(flavour("10.11.19-MariaDB-0+deb12u1"), EngineKind::MariaDb);
        assert_eq!(flavour("8.0.36"), EngineKind::MySql);
    }

    #[test]
    fn tls_modes_map_to_mysql_names() {
        assert!(matches!(
            ssl_mode(TlsMode::VerifyFull),
            MySqlSslMode::VerifyIdentity
        ));
        assert!(matches!(ssl_mode(TlsMode::VerifyCa), MySqlSslMode::VerifyCa));
        assert!(matches!(ssl_mode(TlsMode::Require), MySqlSslMode::Required));
        assert!(matches!(ssl_mode(TlsMode::Prefer), MySqlSslMode::Preferred));
        assert!(matches!(ssl_mode(TlsMode::Disable), MySqlSslMode::Disabled));
    }

    #[test]
    fn options_carry_the_spec() {
        let spec = ConnectionSpec::tcp("127.0.0.1", 3307)
            .with_credentials("admin", Some(Secret::new("pw")))
            .with_database("app")
            .with_tls(TlsSpec {
                mode: TlsMode::VerifyCa,
                ..TlsSpec::default()
            });
        let options = connect_options(&spec, None).unwrap();
        assert_eq!(options.get_port(), 3307);
        assert_eq!(options.get_username(), "admin");
        assert_eq!(options.get_database(), Some("app"));
        assert_eq!(options.get_charset(), "utf8mb4");
        assert!(matches!(options.get_ssl_mode(), MySqlSslMode::VerifyCa));
        let options = connect_options(&spec, Some("other")).unwrap();
        assert_eq!(options.get_database(), Some("other"));

        let no_user = ConnectionSpec::tcp("127.0.0.1", 3307);
        assert_eq!(connect_options(&no_user, None).unwrap_err().kind(), "InvalidSpec");
        let directory = ConnectionSpec::directory("/tmp").with_credentials("a", None);
        assert_eq!(
            connect_options(&directory, None).unwrap_err().kind(),
            "InvalidSpec"
        );
    }
}
