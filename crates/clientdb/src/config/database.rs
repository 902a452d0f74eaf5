//! Which database clientdb uses, chosen by configuration only.
//!
//! `DATABASE_URL` (`sqlite://clientdb.sqlite3`, `postgres://user:pass@host:5432/db?sslmode=require`,
//! `mysql://user:pass@host:3306/db`) wins; otherwise the seeds' variables: `DB_DRIVER` (`sqlite` by default,
//! `postgres`/`postgresql`, `mysql`/`mariadb`), `DB_PATH`, `DB_HOST`, `DB_PORT`, `DB_USER`, `DB_PASSWORD`,
//! `DB_NAME`, `DB_SSLMODE` (plus `DB_SSLROOTCERT`, `DB_SSLCERT`, `DB_SSLKEY`). Pool and retry settings:
//! `DB_MAX_OPEN_CONNS`, `DB_MAX_IDLE_CONNS`, `DB_CONN_MAX_LIFETIME`, `DB_CONN_MAX_IDLE_TIME`,
//! `DB_CONNECT_ATTEMPTS`, `DB_CONNECT_RETRY_DELAY`, `DB_CONNECT_TIMEOUT`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use dbprov_core::{ConnectionSpec, Secret, TlsMode, TlsSpec};
use url::Url;

use super::duration::{DurationError, parse_duration};

/// The database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    Sqlite,
    Postgres,
    MySql,
}

impl Driver {
    /// The name `/healthz` reports (`sqlite`, `postgres`, `mysql`).
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Sqlite => "sqlite",
            Driver::Postgres => "postgres",
            Driver::MySql => "mysql",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "sqlite" | "sqlite3" => Ok(Driver::Sqlite),
            "postgres" | "postgresql" | "pg" => Ok(Driver::Postgres),
            "mysql" | "mariadb" => Ok(Driver::MySql),
            other => Err(ConfigError::UnknownDriver {
                driver: other.chars().take(40).collect(),
            }),
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Driver::Postgres => 5432,
            Driver::MySql | Driver::Sqlite => 3306,
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PostgreSQL or MySQL/MariaDB server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub database: String,
    pub tls_mode: TlsMode,
    pub tls_root_cert: Option<PathBuf>,
    pub tls_client_cert: Option<PathBuf>,
    pub tls_client_key: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite {
        path: PathBuf,
    },
    Postgres(ServerTarget),
    MySql(ServerTarget),
    /// A server described by dbprov's own connection model (the `OAuth2Client` reconciler, which connects
    /// to a `Database` of a `DatabaseInstance` with the instance's credentials and TLS material).
    Connection {
        driver: Driver,
        spec: ConnectionSpec,
        database: String,
    },
}

impl ServerTarget {
    /// The connection in dbprov's model, reading the TLS files the configuration names.
    pub fn connection_spec(&self, connect_timeout: Duration) -> Result<ConnectionSpec, std::io::Error> {
        let read = |path: &PathBuf| {
            std::fs::read(path)
                .map_err(|error| std::io::Error::new(error.kind(), format!("{}: {error}", path.display())))
        };
        let tls = TlsSpec {
            mode: self.tls_mode,
            ca_pem: self.tls_root_cert.as_ref().map(read).transpose()?,
            client_cert_pem: self.tls_client_cert.as_ref().map(read).transpose()?,
            client_key_pem: self
                .tls_client_key
                .as_ref()
                .map(read)
                .transpose()?
                .map(|pem| Secret::new(String::from_utf8_lossy(&pem).into_owned())),
        };
        Ok(ConnectionSpec::tcp(self.host.clone(), self.port)
            .with_credentials(self.user.clone(), self.password.clone())
            .with_database(self.database.clone())
            .with_tls(tls)
            .with_connect_timeout(connect_timeout)
            .with_label(format!("{}:{}", self.host, self.port)))
    }
}

impl DatabaseTarget {
    /// A server target as (driver, connection, database name); `None` for SQLite.
    pub fn server_connection(
        &self,
        connect_timeout: Duration,
    ) -> Result<Option<(Driver, ConnectionSpec, String)>, std::io::Error> {
        Ok(match self {
            DatabaseTarget::Sqlite { .. } => None,
            DatabaseTarget::Postgres(server) => Some((
                Driver::Postgres,
                server.connection_spec(connect_timeout)?,
                server.database.clone(),
            )),
            DatabaseTarget::MySql(server) => Some((
                Driver::MySql,
                server.connection_spec(connect_timeout)?,
                server.database.clone(),
            )),
            DatabaseTarget::Connection {
                driver,
                spec,
                database,
            } => Some((*driver, spec.clone(), database.clone())),
        })
    }
}

/// Connection pool settings (the seeds' Go `database/sql` knobs, mapped onto sqlx's pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// `DB_MAX_OPEN_CONNS` (25): the pool's upper bound.
    pub max_open: u32,
    /// `DB_MAX_IDLE_CONNS` (5): connections kept open while idle. sqlx has no idle cap, so this is its
    /// `min_connections`; connections above it close after `max_idle_time`.
    pub max_idle: u32,
    /// `DB_CONN_MAX_LIFETIME` (5m): connections are recycled after this long.
    pub max_lifetime: Duration,
    /// `DB_CONN_MAX_IDLE_TIME` (5m): idle connections above `max_idle` close after this long.
    pub max_idle_time: Duration,
    /// `DB_CONNECT_TIMEOUT` (10s): one connection attempt, and the wait for a pooled connection.
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_open: 25,
            max_idle: 5,
            max_lifetime: Duration::from_secs(300),
            max_idle_time: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Start-up connection retries: `attempts` tries, waiting `initial_delay`, then twice as long each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// `DB_CONNECT_ATTEMPTS` (5).
    pub attempts: u32,
    /// `DB_CONNECT_RETRY_DELAY` (1s): the seeds' 1, 2, 4, 8, 16 s.
    pub initial_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt (CLI commands that should fail fast, tests).
    pub fn once() -> Self {
        Self {
            attempts: 1,
            initial_delay: Duration::ZERO,
        }
    }

    /// The wait after failed attempt `attempt` (1-based): `initial_delay × 2^(attempt-1)`.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        self.initial_delay
            .saturating_mul(1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub target: DatabaseTarget,
    pub pool: PoolSettings,
    pub retry: RetryPolicy,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("unknown database driver {driver:?} (expected sqlite, postgres or mysql)")]
    UnknownDriver { driver: String },
    /// The URL is not repeated: it may hold a password.
    #[error("DATABASE_URL is not a valid URL: {reason}")]
    InvalidUrl { reason: String },
    #[error("DATABASE_URL scheme {scheme:?} is not supported (expected sqlite://, postgres:// or mysql://)")]
    UnsupportedScheme { scheme: String },
    #[error("DATABASE_URL parameter {name:?} is not supported for {driver}")]
    UnsupportedParameter { driver: Driver, name: String },
    #[error("DATABASE_URL names no database")]
    MissingDatabase,
    #[error("{variable} is invalid: {reason}")]
    InvalidValue { variable: String, reason: String },
    #[error("{variable} is invalid")]
    InvalidDuration {
        variable: String,
        #[source]
        source: DurationError,
    },
}

/// The variables the configuration reads.
pub const DATABASE_VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "DB_DRIVER",
    "DB_PATH",
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASSWORD",
    "DB_NAME",
    "DB_SSLMODE",
    "DB_SSLROOTCERT",
    "DB_SSLCERT",
    "DB_SSLKEY",
    "DB_MAX_OPEN_CONNS",
    "DB_MAX_IDLE_CONNS",
    "DB_CONN_MAX_LIFETIME",
    "DB_CONN_MAX_IDLE_TIME",
    "DB_CONNECT_ATTEMPTS",
    "DB_CONNECT_RETRY_DELAY",
    "DB_CONNECT_TIMEOUT",
];

impl DatabaseConfig {
    /// The default: SQLite in `clientdb.sqlite3`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self {
            target: DatabaseTarget::Sqlite { path: path.into() },
            pool: PoolSettings::default(),
            retry: RetryPolicy::default(),
        }
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Reads the variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let target = match lookup("DATABASE_URL") {
            Some(url) => parse_url(&url)?,
            None => target_from_variables(&lookup)?,
        };
        let defaults = PoolSettings::default();
        let pool = PoolSettings {
            max_open: number(&lookup, "DB_MAX_OPEN_CONNS", defaults.max_open)?,
            max_idle: number(&lookup, "DB_MAX_IDLE_CONNS", defaults.max_idle)?,
            max_lifetime: duration(&lookup, "DB_CONN_MAX_LIFETIME", defaults.max_lifetime)?,
            max_idle_time: duration(&lookup, "DB_CONN_MAX_IDLE_TIME", defaults.max_idle_time)?,
            connect_timeout: duration(&lookup, "DB_CONNECT_TIMEOUT", defaults.connect_timeout)?,
        };
        if pool.max_open == 0 {
            return Err(ConfigError::InvalidValue {
                variable: "DB_MAX_OPEN_CONNS".into(),
                reason: "must be at least 1".into(),
            });
        }
        let retry_defaults = RetryPolicy::default();
        let retry = RetryPolicy {
            attempts: number(&lookup, "DB_CONNECT_ATTEMPTS", retry_defaults.attempts)?.max(1),
            initial_delay: duration(&lookup, "DB_CONNECT_RETRY_DELAY", retry_defaults.initial_delay)?,
        };
        Ok(Self { target, pool, retry })
    }

    /// Parses a database URL (the `DATABASE_URL` forms) with default pool and retry settings.
    pub fn from_url(url: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            target: parse_url(url)?,
            pool: PoolSettings::default(),
            retry: RetryPolicy::default(),
        })
    }

    pub fn driver(&self) -> Driver {
        match self.target {
            DatabaseTarget::Sqlite { .. } => Driver::Sqlite,
            DatabaseTarget::Postgres(_) => Driver::Postgres,
            DatabaseTarget::MySql(_) => Driver::MySql,
            DatabaseTarget::Connection { driver, .. } => driver,
        }
    }

    /// The DSN with the password masked, for logs: `postgres://app:***@db:5432/app?sslmode=require`.
    pub fn masked_dsn(&self) -> String {
        match &self.target {
            DatabaseTarget::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseTarget::Postgres(server) => masked_server("postgres", server),
            DatabaseTarget::MySql(server) => masked_server("mysql", server),
            DatabaseTarget::Connection {
                driver,
                spec,
                database,
            } => {
                let user = spec.username().unwrap_or_default();
                let password = if spec.credentials.as_ref().is_some_and(|c| c.password.is_some()) {
                    ":***"
                } else {
                    ""
                };
                let address = match &spec.endpoint {
                    dbprov_core::Endpoint::Tcp { host, port } => format!("{}:{port}", host_for_url(host)),
                    dbprov_core::Endpoint::Socket { path } | dbprov_core::Endpoint::Directory { path } => {
                        path.display().to_string()
                    }
                };
                format!(
                    "{driver}://{user}{password}@{address}/{database}?sslmode={}",
                    spec.tls.mode.as_str()
                )
            }
        }
    }
}

fn masked_server(scheme: &str, server: &ServerTarget) -> String {
    let password = if server.password.is_some() { ":***" } else { "" };
    format!(
        "{scheme}://{}{password}@{}:{}/{}?sslmode={}",
        server.user,
        host_for_url(&server.host),
        server.port,
        server.database,
        server.tls_mode.as_str()
    )
}

fn host_for_url(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn target_from_variables(lookup: &impl Fn(&str) -> Option<String>) -> Result<DatabaseTarget, ConfigError> {
    let driver = Driver::parse(&lookup("DB_DRIVER").unwrap_or_default())?;
    if driver == Driver::Sqlite {
        return Ok(DatabaseTarget::Sqlite {
            path: PathBuf::from(lookup("DB_PATH").unwrap_or_else(|| "clientdb.sqlite3".into())),
        });
    }
    let tls_mode = match lookup("DB_SSLMODE") {
        None => TlsMode::Disable,
        Some(value) => TlsMode::parse(&value).ok_or_else(|| ConfigError::InvalidValue {
            variable: "DB_SSLMODE".into(),
            reason: format!(
                "{:?} is not disable, prefer, require, verify-ca or verify-full",
                value.chars().take(40).collect::<String>()
            ),
        })?,
    };
    let server = ServerTarget {
        host: lookup("DB_HOST").unwrap_or_else(|| "localhost".into()),
        port: number(lookup, "DB_PORT", driver.default_port())?,
        user: lookup("DB_USER").unwrap_or_else(|| match driver {
            Driver::Postgres => "postgres".into(),
            _ => "root".into(),
        }),
        password: lookup("DB_PASSWORD").map(Secret::new),
        database: lookup("DB_NAME").unwrap_or_else(|| "client_db".into()),
        tls_mode,
        tls_root_cert: lookup("DB_SSLROOTCERT").map(PathBuf::from),
        tls_client_cert: lookup("DB_SSLCERT").map(PathBuf::from),
        tls_client_key: lookup("DB_SSLKEY").map(PathBuf::from),
    };
    Ok(match driver {
        Driver::Postgres => DatabaseTarget::Postgres(server),
        _ => DatabaseTarget::MySql(server),
    })
}

fn parse_url(text: &str) -> Result<DatabaseTarget, ConfigError> {
    let (scheme, rest) = text.split_once(':').ok_or_else(|| ConfigError::InvalidUrl {
        reason: "no scheme".into(),
    })?;
    let driver = match scheme.to_ascii_lowercase().as_str() {
        "sqlite" | "sqlite3" => Driver::Sqlite,
        "postgres" | "postgresql" => Driver::Postgres,
        "mysql" | "mariadb" => Driver::MySql,
        other => {
            return Err(ConfigError::UnsupportedScheme {
                scheme: other.chars().take(20).collect(),
            });
        }
    };
    if driver == Driver::Sqlite {
        // sqlite:path, sqlite://relative/path, sqlite:///absolute/path; the query string is not supported.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        if let Some((name, _)) = query
            .split('&')
            .find(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        {
            return Err(ConfigError::UnsupportedParameter {
                driver,
                name: name.chars().take(40).collect(),
            });
        }
        let path = percent_decode(path);
        if path.is_empty() {
            return Err(ConfigError::InvalidUrl {
                reason: "the sqlite URL names no file".into(),
            });
        }
        return Ok(DatabaseTarget::Sqlite {
            path: PathBuf::from(path),
        });
    }
    // go-sql-driver's DSN form, as golang-migrate writes it: `mysql://user:pass@tcp(host:3306)/db`.
    let rewritten;
    let text = match (driver, text.split_once("@tcp(")) {
        (Driver::MySql, Some((credentials, rest))) => {
            let (address, path) = rest.split_once(')').ok_or_else(|| ConfigError::InvalidUrl {
                reason: "unterminated tcp( address".into(),
            })?;
            rewritten = format!("{credentials}@{address}{path}");
            rewritten.as_str()
        }
        _ => text,
    };
    let url = Url::parse(text).map_err(|error| ConfigError::InvalidUrl {
        reason: error.to_string(),
    })?;
    let database = percent_decode(url.path().trim_start_matches('/'));
    if database.is_empty() {
        return Err(ConfigError::MissingDatabase);
    }
    let mut server = ServerTarget {
        host: url
            .host_str()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']').to_owned())
            .unwrap_or_else(|| "localhost".into()),
        port: url.port().unwrap_or(driver.default_port()),
        user: match percent_decode(url.username()) {
            user if user.is_empty() => match driver {
                Driver::Postgres => "postgres".into(),
                _ => "root".into(),
            },
            user => user,
        },
        password: url
            .password()
            .map(|password| Secret::new(percent_decode(password))),
        database,
        tls_mode: TlsMode::Disable,
        tls_root_cert: None,
        tls_client_cert: None,
        tls_client_key: None,
    };
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "sslmode" | "ssl-mode" | "ssl_mode" => {
                server.tls_mode = TlsMode::parse(&value).ok_or_else(|| ConfigError::InvalidValue {
                    variable: format!("DATABASE_URL parameter {name}"),
                    reason: format!(
                        "{:?} is not a TLS mode",
                        value.chars().take(40).collect::<String>()
                    ),
                })?;
            }
            "sslrootcert" | "ssl-ca" => server.tls_root_cert = Some(PathBuf::from(value.as_ref())),
            "sslcert" | "ssl-cert" => server.tls_client_cert = Some(PathBuf::from(value.as_ref())),
            "sslkey" | "ssl-key" => server.tls_client_key = Some(PathBuf::from(value.as_ref())),
            other => {
                return Err(ConfigError::UnsupportedParameter {
                    driver,
                    name: other.chars().take(40).collect(),
                });
            }
        }
    }
    Ok(match driver {
        Driver::Postgres => DatabaseTarget::Postgres(server),
        _ => DatabaseTarget::MySql(server),
    })
}

fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", value.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, decoded)| decoded.into_owned())
        .unwrap_or_default()
}

fn number<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    default: T,
) -> Result<T, ConfigError> {
    match lookup(variable) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| ConfigError::InvalidValue {
            variable: variable.into(),
            reason: format!(
                "{:?} is not a valid number",
                value.chars().take(40).collect::<String>()
            ),
        }),
    }
}

fn duration(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match lookup(variable) {
        None => Ok(default),
        Some(value) => parse_duration(&value).map_err(|source| ConfigError::InvalidDuration {
            variable: variable.into(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<DatabaseConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DatabaseConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_to_sqlite() {
        let config = from(&[]).unwrap();
        assert_eq!(
            config.target,
            DatabaseTarget::Sqlite {
                path: "clientdb.sqlite3".into()
            }
        );
        assert_eq!(config.pool, PoolSettings::default());
        assert_eq!(config.retry.attempts, 5);
        let delays: Vec<u64> = (1..=5)
            .map(|attempt| config.retry.delay_after(attempt).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn seeds_variables_select_postgres() {
        let config = from(&[
            ("DB_DRIVER", "postgresql"),
            ("DB_HOST", "db"),
            ("DB_PASSWORD", "p@ss"),
            ("DB_NAME", "pizza_api"),
            ("DB_SSLMODE", "require"),
            ("DB_MAX_OPEN_CONNS", "10"),
            ("DB_CONN_MAX_LIFETIME", "1h"),
        ])
        .unwrap();
        let DatabaseTarget::Postgres(server) = &config.target else {
            panic!("{config:?}")
        };
        assert_eq!(
            (server.host.as_str(), server.port, server.user.as_str()),
            ("db", 5432, "postgres")
        );
        assert_eq!(server.tls_mode, TlsMode::Require);
        assert_eq!(config.pool.max_open, 10);
        assert_eq!(config.pool.max_lifetime, Duration::from_secs(3600));
        assert_eq!(
            config.masked_dsn(),
            "postgres://postgres:***@db:5432/pizza_api?sslmode=require"
        );
        assert!(!format!("{config:?}").contains("p@ss"));
    }

    #[test]
    fn database_url_wins_and_is_masked() {
        let config = from(&[
            (
                "DATABASE_URL",
                "mysql://app:s%40cret@10.0.0.5:3307/client_db?ssl-mode=REQUIRED",
            ),
            ("DB_DRIVER", "postgres"),
        ])
        .unwrap();
        let DatabaseTarget::MySql(server) = &config.target else {
            panic!("{config:?}")
        };
        assert_eq!(server.password.as_ref().unwrap().expose(), "s@cret");
        assert_eq!(server.port, 3307);
        assert_eq!(
            config.masked_dsn(),
            "mysql://app:***@10.0.0.5:3307/client_db?sslmode=require"
        );
    }

    #[test]
    fn go_sql_driver_form() {
        let config = DatabaseConfig::from_url("mysql://app:pw@tcp(db.internal:3307)/client_db").unwrap();
        let DatabaseTarget::MySql(server) = &config.target else {
            panic!("{config:?}")
        };
        assert_eq!(
            (server.host.as_str(), server.port, server.database.as_str()),
            ("db.internal", 3307, "client_db")
        );
    }

    #[test]
    fn sqlite_url_forms() {
        for (url, path) in [
            ("sqlite://data/clients.db", "data/clients.db"),
            ("sqlite:clients.db", "clients.db"),
            ("sqlite:///var/lib/clientdb.sqlite3", "/var/lib/clientdb.sqlite3"),
        ] {
            assert_eq!(
                DatabaseConfig::from_url(url).unwrap().target,
                DatabaseTarget::Sqlite { path: path.into() },
                "{url}"
            );
        }
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        assert!(matches!(
            DatabaseConfig::from_url("postgres://a@b/c?pool_size=3"),
            Err(ConfigError::UnsupportedParameter { .. })
        ));
        assert!(matches!(
            DatabaseConfig::from_url("oracle://a@b/c"),
            Err(ConfigError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            DatabaseConfig::from_url("postgres://a@b/"),
            Err(ConfigError::MissingDatabase)
        ));
        assert!(matches!(
            from(&[("DB_DRIVER", "oracle")]),
            Err(ConfigError::UnknownDriver { .. })
        ));
        assert!(
            matches!(from(&[("DB_PORT", "x")]).map(|_| ()), Ok(())),
            "sqlite ignores DB_PORT"
        );
        assert!(from(&[("DB_DRIVER", "mysql"), ("DB_PORT", "x")]).is_err());
        assert!(from(&[("DB_CONN_MAX_LIFETIME", "soon")]).is_err());
        let error = DatabaseConfig::from_url("postgres://u:topsecret@[bad/x").unwrap_err();
        assert!(!error.to_string().contains("topsecret"));
    }
}
