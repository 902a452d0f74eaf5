//! How to reach a database server.

use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A network server (PostgreSQL, MySQL, MariaDB).
    Tcp { host: String, port: u16 },
    /// A Unix domain socket directory (PostgreSQL) or socket file (MySQL/MariaDB).
    Socket { path: PathBuf },
    /// SQLite: the directory that holds one `<name>.sqlite3` file per database.
    Directory { path: PathBuf },
}

/// Login credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Option<Secret>,
}

/// Transport security, with the libpq names. MySQL's `VERIFY_IDENTITY` is `VerifyFull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// No TLS.
    #[default]
    Disable,
    /// TLS when the server offers it, otherwise plaintext.
    Prefer,
    /// TLS required; the certificate is not checked.
    Require,
    /// TLS required; the certificate must chain to the CA.
    VerifyCa,
    /// TLS required; the certificate must chain to the CA and name the host.
    VerifyFull,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// Parses the libpq names and MySQL's upper-case ones (`REQUIRED`, `VERIFY_IDENTITY`, ...).
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" | "none" | "false" => TlsMode::Disable,
            "prefer" | "preferred" | "allow" => TlsMode::Prefer,
            "require" | "required" | "true" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" | "verify-identity" => TlsMode::VerifyFull,
            _ => return None,
        })
    }
}

/// TLS settings: the mode plus PEM material (read from files or Kubernetes Secrets by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSpec {
    pub mode: TlsMode,
    pub ca_pem: Option<Vec<u8>>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Secret>,
}

/// Everything an engine needs to open its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSpec {
    pub endpoint: Endpoint,
    /// The maintenance database the admin connection uses (PostgreSQL: `postgres` by default).
    pub database: Option<String>,
    pub credentials: Option<Credentials>,
    pub tls: TlsSpec,
    pub connect_timeout: Duration,
    /// Upper bound on connections to one database of the instance.
    pub max_connections: u32,
    /// A label for messages: the instance's name (`pg-main`), or `host:port`.
    pub label: String,
}

impl ConnectionSpec {
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        let host = host.into();
        Self {
            label: format!("{host}:{port}"),
            endpoint: Endpoint::Tcp { host, port },
            database: None,
            credentials: None,
            tls: TlsSpec::default(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            max_connections: 4,
        }
    }

    pub fn directory(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self {
            label: path.display().to_string(),
            endpoint: Endpoint::Directory { path },
            database: None,
            credentials: None,
            tls: TlsSpec::default(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            max_connections: 4,
        }
    }

    pub fn with_credentials(mut self, username: impl Into<String>, password: Option<Secret>) -> Self {
        self.credentials = Some(Credentials {
            username: username.into(),
            password,
        });
        self
    }

    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn with_tls(mut self, tls: TlsSpec) -> Self {
        self.tls = tls;
        self
    }

    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn username(&self) -> Option<&str> {
        self.credentials
            .as_ref()
            .map(|credentials| credentials.username.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_modes_accept_both_vocabularies() {
        assert_eq!(TlsMode::parse("verify-full"), Some(TlsMode::VerifyFull));
        assert_eq!(TlsMode::parse("VERIFY_IDENTITY"), Some(TlsMode::VerifyFull));
        assert_eq!(TlsMode::parse("REQUIRED"), Some(TlsMode::Require));
        assert_eq!(TlsMode::parse("VERIFY_CA"), Some(TlsMode::VerifyCa));
        assert_eq!(TlsMode::parse("bogus"), None);
    }
}
