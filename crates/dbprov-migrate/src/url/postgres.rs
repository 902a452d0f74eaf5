//! `postgres://`, `postgresql://` (golang-migrate's lib/pq driver) and `pgx://`, `pgx4://`, `pgx5://` (its pgx
//! drivers): libpq URLs plus golang-migrate's `x-` parameters.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use dbprov_core::Secret;

use super::escape::{Mode, unescape};
use super::{
    CertificateSource, DEFAULT_MIGRATIONS_TABLE, KeySource, UrlError, bool_parameter, unique_parameters,
};

const SCHEME: &str = "postgres";
const EMPTY_HOST: &str = "dbprov-empty-host";

/// golang-migrate's `DefaultMultiStatementMaxSize` (10 MiB).
pub const DEFAULT_MULTI_STATEMENT_MAX_SIZE: usize = 10 << 20;

/// Which golang-migrate driver the URL names; the two differ in small, observable ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresFlavor {
    /// `postgres://`, `postgresql://`: lib/pq. TLS defaults to `require`; `extra_float_digits` is 2.
    LibPq,
    /// `pgx://`, `pgx4://`, `pgx5://`: pgx. TLS defaults to `prefer`; the server's `extra_float_digits`
    /// stays.
    Pgx,
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgHost {
    Tcp {
        host: String,
    },
    /// A directory holding the server's Unix socket (a host starting with `/`).
    Socket {
        directory: PathBuf,
    },
}

/// A PostgreSQL migration target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresTarget {
    pub flavor: PostgresFlavor,
    /// `None`: `PGHOST`, else `localhost` (lib/pq's default).
    pub host: Option<PgHost>,
    /// `None`: `PGPORT`, else 5432.
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// The database to connect to; `None` lets the server pick (the user's name).
    pub database: Option<String>,
    /// The name golang-migrate hashes into the advisory lock key: the URL path *with* its leading `/`
    /// (`/app`). `None` (a URL without a path): `CURRENT_DATABASE()`, as golang-migrate does.
    pub lock_database_name: Option<String>,
    /// `None`: `PGSSLMODE`, else the flavor's default (`require` for lib/pq, `prefer` for pgx).
    pub ssl_mode: Option<SslMode>,
    pub ssl_root_cert: Option<CertificateSource>,
    pub ssl_cert: Option<CertificateSource>,
    pub ssl_key: Option<KeySource>,
    pub connect_timeout: Option<Duration>,
    pub application_name: Option<String>,
    /// Run-time parameters sent with the connection (`search_path`, `statement_timeout`, ...), as lib/pq
    /// sends any parameter it does not know itself.
    pub settings: Vec<(String, String)>,
    /// The migrations table (without quotes).
    pub migrations_table: String,
    /// The migrations table's schema, from `x-migrations-table-quoted`; `None`: `CURRENT_SCHEMA()`.
    pub migrations_schema: Option<String>,
    /// `x-multi-statement`: split files on `;` and run the pieces one by one.
    pub multi_statement: bool,
    /// `x-multi-statement-max-size`: the longest piece accepted in multi-statement mode.
    pub multi_statement_max_size: usize,
    display: String,
}

impl PostgresTarget {
    /// A target for `database` on a server reached as `spec` describes (the `DatabaseMigration` kind). The
    /// lock key is the one golang-migrate's CLI uses for the URL `postgres://.../<database>`, so both tools
    /// exclude each other.
    pub fn from_connection(spec: &dbprov_core::ConnectionSpec, database: &str) -> Result<Self, UrlError> {
        use dbprov_core::{Endpoint, TlsMode};
        let (host, port) = match &spec.endpoint {
            Endpoint::Tcp { host, port } => (Some(PgHost::Tcp { host: host.clone() }), Some(*port)),
            Endpoint::Socket { path } => (
                Some(PgHost::Socket {
                    directory: path.clone(),
                }),
                None,
            ),
            Endpoint::Directory { .. } => {
                return Err(UrlError::DirectoryEndpoint {
                    scheme: SCHEME,
                    label: spec.label.clone(),
                });
            }
        };
        let ssl_mode = match spec.tls.mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require => SslMode::Require,
            TlsMode::VerifyCa => SslMode::VerifyCa,
            TlsMode::VerifyFull => SslMode::VerifyFull,
        };
        let credentials = spec.credentials.as_ref();
        Ok(Self {
            flavor: PostgresFlavor::LibPq,
            host,
            port,
            user: credentials.map(|c| c.username.clone()),
            password: credentials.and_then(|c| c.password.clone()),
            database: Some(database.to_owned()),
            lock_database_name: Some(format!("/{database}")),
            ssl_mode: Some(ssl_mode),
            ssl_root_cert: spec.tls.ca_pem.clone().map(CertificateSource::Pem),
            ssl_cert: spec.tls.client_cert_pem.clone().map(CertificateSource::Pem),
            ssl_key: spec.tls.client_key_pem.clone().map(KeySource::Pem),
            connect_timeout: Some(spec.connect_timeout),
            application_name: None,
            settings: Vec::new(),
            migrations_table: DEFAULT_MIGRATIONS_TABLE.to_owned(),
            migrations_schema: None,
            multi_statement: false,
            multi_statement_max_size: DEFAULT_MULTI_STATEMENT_MAX_SIZE,
            display: format!("postgres://{}/{database}", spec.label),
        })
    }

    pub(crate) fn parse(raw: &str) -> Result<Self, UrlError> {
        // libpq accepts `postgres://user@/db?host=/socket` (credentials, no host); the `url` crate does not, so
        // such a URL is parsed with a placeholder host that is dropped again below.
        let (url, empty_host) = match ::url::Url::parse(raw) {
            Err(::url::ParseError::EmptyHost) => {
                let with_placeholder = raw.replacen("@/", &format!("@{EMPTY_HOST}/"), 1).replacen(
                    "@?",
                    &format!("@{EMPTY_HOST}?"),
                    1,
                );
                let url =
                    ::url::Url::parse(&with_placeholder).map_err(|error| malformed(error.to_string()))?;
                (url, true)
            }
            parsed => (parsed.map_err(|error| malformed(error.to_string()))?, false),
        };
        let flavor = match url.scheme() {
            "postgres" | "postgresql" => PostgresFlavor::LibPq,
            _ => PostgresFlavor::Pgx,
        };
        let decode = |text: &str, what: &str| {
            unescape(text, Mode::Path).map_err(|error| malformed(format!("{what}: {}", error.reason())))
        };
        let mut target = Self {
            flavor,
            host: None,
            port: url.port(),
            user: Some(decode(url.username(), "user name")?).filter(|user| !user.is_empty()),
            password: url
                .password()
                .map(|password| decode(password, "password"))
                .transpose()?
                .map(Secret::new),
            database: None,
            lock_database_name: None,
            ssl_mode: None,
            ssl_root_cert: None,
            ssl_cert: None,
            ssl_key: None,
            connect_timeout: None,
            application_name: None,
            settings: Vec::new(),
            migrations_table: DEFAULT_MIGRATIONS_TABLE.to_owned(),
            migrations_schema: None,
            multi_statement: false,
            multi_statement_max_size: DEFAULT_MULTI_STATEMENT_MAX_SIZE,
            display: masked(&url).replacen(EMPTY_HOST, "", 1),
        };
        if let Some(host) = url.host_str().filter(|host| !host.is_empty() && !empty_host) {
            if host.contains(',') {
                return Err(malformed("several hosts are not supported".into()));
            }
            let host = host.trim_start_matches('[').trim_end_matches(']');
            target.host = Some(PgHost::Tcp {
                host: decode(host, "host")?,
            });
        }
        // Go's `url.Path` is decoded and keeps its leading '/', and golang-migrate hashes exactly that.
        let path = decode(url.path(), "path")?;
        if !path.is_empty() {
            let database = path.trim_start_matches('/');
            target.database = Some(database.to_owned()).filter(|database| !database.is_empty());
            target.lock_database_name = Some(path.clone());
        }

        let parameters = unique_parameters(
            SCHEME,
            url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())),
        )?;
        let mut quoted = false;
        let mut fallback_application_name = None;
        let mut lock_table = false;
        let mut table_lock_strategy = false;
        for (name, value) in parameters {
            match name.as_str() {
                "x-migrations-table" => target.migrations_table = value,
                "x-migrations-table-quoted" => {
                    if !value.is_empty() {
                        quoted = bool_parameter(SCHEME, &name, &value)?;
                    }
                }
                "x-multi-statement" => {
                    if !value.is_empty() {
                        target.multi_statement = bool_parameter(SCHEME, &name, &value)?;
                    }
                }
                "x-multi-statement-max-size" => {
                    let size: i64 = value
                        .parse()
                        .map_err(|_| invalid(&name, &value, "expected an integer"))?;
                    // golang-migrate falls back to the default for zero and negative sizes.
                    if size > 0 {
                        target.multi_statement_max_size =
                            usize::try_from(size).map_err(|_| invalid(&name, &value, "too large"))?;
                    }
                }
                "x-statement-timeout" => {
                    return Err(unsupported(
                        &name,
                        "golang-migrate enforces it on the client without cancelling the statement on the server; \
                         put `SET statement_timeout` in the migration or pass statement_timeout=<ms> as a URL parameter",
                    ));
                }
                "x-lock-strategy" if flavor == PostgresFlavor::Pgx => match value.as_str() {
                    "advisory" => {}
                    "table" => table_lock_strategy = true,
                    other => {
                        return Err(invalid(
                            &name,
                            other,
                            "unknown lock strategy (expected advisory or table)",
                        ));
                    }
                },
                "x-lock-table" if flavor == PostgresFlavor::Pgx => lock_table = true,
                _ if name.starts_with("x-") => {
                    return Err(UrlError::UnknownParameter { scheme: SCHEME, name });
                }
                "sslmode" => target.ssl_mode = Some(parse_ssl_mode(&value)?),
                "sslrootcert" => target.ssl_root_cert = Some(CertificateSource::File(value.into())),
                "sslcert" => target.ssl_cert = Some(CertificateSource::File(value.into())),
                "sslkey" => target.ssl_key = Some(KeySource::File(value.into())),
                "connect_timeout" => {
                    let seconds: u64 = value
                        .parse()
                        .map_err(|_| invalid(&name, &value, "expected a number of seconds"))?;
                    target.connect_timeout = (seconds > 0).then(|| Duration::from_secs(seconds));
                }
                "application_name" => target.application_name = Some(value),
                "fallback_application_name" => fallback_application_name = Some(value),
                "host" => {
                    target.host = Some(if value.starts_with('/') {
                        PgHost::Socket {
                            directory: value.into(),
                        }
                    } else {
                        PgHost::Tcp { host: value }
                    });
                }
                "port" => {
                    target.port = Some(
                        value
                            .parse()
                            .map_err(|_| invalid(&name, &value, "expected a port number"))?,
                    )
                }
                "dbname" => target.database = Some(value),
                "user" => target.user = Some(value),
                "password" => target.password = Some(Secret::new(value)),
                "options" => target.settings.extend(parse_options(&value)?),
                "client_encoding"
                    if value.eq_ignore_ascii_case("utf8") || value.eq_ignore_ascii_case("utf-8") => {}
                "datestyle" if value == "ISO, MDY" => {}
                "client_encoding" | "datestyle" => {
                    return Err(unsupported(
                        &name,
                        "the connection always uses UTF8 and ISO, MDY, as lib/pq does",
                    ));
                }
                "binary_parameters"
                | "disable_prepared_binary_result"
                | "krbsrvname"
                | "krbspn"
                | "sslinline"
                | "sslsni"
                | "sslpassword"
                | "sslcompression"
                | "sslcrl"
                | "sslcrldir"
                | "ssl_min_protocol_version"
                | "ssl_max_protocol_version"
                | "gssencmode"
                | "gsslib"
                | "target_session_attrs"
                | "passfile"
                | "service"
                | "requiressl"
                | "hostaddr"
                | "load_balance_hosts"
                | "keepalives"
                | "keepalives_idle"
                | "keepalives_interval"
                | "keepalives_count"
                | "tcp_user_timeout"
                | "channel_binding"
                | "require_auth"
                | "replication"
                | "requirepeer" => {
                    return Err(unsupported(&name, "this connection parameter is not implemented"));
                }
                _ => {
                    if !is_setting_name(&name) {
                        return Err(invalid(
                            &name,
                            &value,
                            "not a connection parameter nor a server setting name",
                        ));
                    }
                    target.settings.push((name, value));
                }
            }
        }
        if target.application_name.is_none() {
            target.application_name = fallback_application_name;
        }
        if table_lock_strategy {
            return Err(unsupported(
                "x-lock-strategy",
                "the table lock strategy is not implemented; dbprov uses golang-migrate's advisory lock",
            ));
        }
        if lock_table {
            return Err(unsupported(
                "x-lock-table",
                "it only applies to x-lock-strategy=table, which is not implemented",
            ));
        }
        if quoted {
            let (schema, table) = parse_quoted_table(&target.migrations_table)?;
            target.migrations_schema = schema;
            target.migrations_table = table;
        }
        if target.migrations_table.is_empty() {
            target.migrations_table = DEFAULT_MIGRATIONS_TABLE.to_owned();
        }
        Ok(target)
    }
}

impl fmt::Display for PostgresTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The URL with the password (in the user information or a `password` parameter) replaced by `***`.
fn masked(url: &::url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        // Only fails for URLs that cannot have credentials, which a postgres URL with a password is not.
        let _ = url.set_password(Some("***"));
    }
    if url.query_pairs().any(|(name, _)| name == "password") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if name == "password" {
                    "***".to_owned()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn parse_ssl_mode(value: &str) -> Result<SslMode, UrlError> {
    Ok(match value {
        "disable" => SslMode::Disable,
        "allow" => SslMode::Allow,
        "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        other => {
            return Err(invalid(
                "sslmode",
                other,
                "expected disable, allow, prefer, require, verify-ca or verify-full",
            ));
        }
    })
}

/// golang-migrate's `x-migrations-table-quoted` rule: the value must be quoted; the last quoted part is the
/// table, a preceding one the schema, and more than two parts are an error.
fn parse_quoted_table(value: &str) -> Result<(Option<String>, String), UrlError> {
    if !(value.len() >= 2 && value.starts_with('"') && value.ends_with('"')) {
        return Err(invalid(
            "x-migrations-table",
            value,
            "x-migrations-table must be quoted (for instance '\"migrate\".\"schema_migrations\"') when \
             x-migrations-table-quoted is enabled",
        ));
    }
    // The equivalent of Go's `regexp.MustCompile(`"(.*?)"`).FindAllStringSubmatch`.
    let mut parts = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        parts.push(after[..close].to_owned());
        rest = &after[close + 1..];
    }
    match parts.len() {
        1 => Ok((None, parts.remove(0))),
        2 => {
            let table = parts.remove(1);
            Ok((Some(parts.remove(0)), table))
        }
        _ => Err(invalid(
            "x-migrations-table",
            value,
            "the migrations table contains too many dot characters",
        )),
    }
}

/// libpq's `options` parameter: `-c name=value` / `--name=value` switches, with `\` escaping spaces.
fn parse_options(value: &str) -> Result<Vec<(String, String)>, UrlError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => current.extend(chars.next()),
            ' ' | '\t' | '\n' => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            _ => current.push(ch),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    let mut settings = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let assignment = if word == "-c" {
            words
                .next()
                .ok_or_else(|| invalid("options", value, "-c must be followed by name=value"))?
        } else if let Some(rest) = word.strip_prefix("-c").or_else(|| word.strip_prefix("--")) {
            rest.to_owned()
        } else {
            return Err(invalid(
                "options",
                value,
                "only -c name=value and --name=value switches are supported",
            ));
        };
        let (name, setting) = assignment
            .split_once('=')
            .ok_or_else(|| invalid("options", value, "expected name=value"))?;
        let name = name.replace('-', "_");
        if !is_setting_name(&name) {
            return Err(invalid("options", value, "not a server setting name"));
        }
        settings.push((name, setting.to_owned()));
    }
    Ok(settings)
}

fn is_setting_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn malformed(reason: String) -> UrlError {
    UrlError::Malformed {
        scheme: SCHEME,
        reason,
    }
}

fn invalid(name: &str, value: &str, reason: &str) -> UrlError {
    UrlError::InvalidParameter {
        scheme: SCHEME,
        name: name.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn unsupported(name: &str, reason: &'static str) -> UrlError {
    UrlError::UnsupportedParameter {
        scheme: SCHEME,
        name: name.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> PostgresTarget {
        PostgresTarget::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"))
    }

    #[test]
    fn full_url() {
        let target = parse(
            "postgres://app:s%40cret@db.example:6432/orders?sslmode=verify-full&sslrootcert=/ca.pem&search_path=app&connect_timeout=5&application_name=x",
        );
        assert_eq!(target.flavor, PostgresFlavor::LibPq);
        assert_eq!(
            target.host,
            Some(PgHost::Tcp {
                host: "db.example".into()
            })
        );
        assert_eq!(target.port, Some(6432));
        assert_eq!(target.user.as_deref(), Some("app"));
        assert_eq!(target.password.as_ref().map(Secret::expose), Some("s@cret"));
        assert_eq!(target.database.as_deref(), Some("orders"));
        assert_eq!(target.lock_database_name.as_deref(), Some("/orders"));
        assert_eq!(target.ssl_mode, Some(SslMode::VerifyFull));
        assert_eq!(
            target.ssl_root_cert,
            Some(CertificateSource::File("/ca.pem".into()))
        );
        assert_eq!(target.connect_timeout, Some(Duration::from_secs(5)));
        assert_eq!(target.application_name.as_deref(), Some("x"));
        assert_eq!(
            target.settings,
            vec![("search_path".to_string(), "app".to_string())]
        );
        assert_eq!(target.migrations_table, "schema_migrations");
        assert_eq!(target.migrations_schema, None);
    }

    #[test]
    fn password_is_masked_everywhere() {
        let target = parse("postgres://app:hunter2@db/orders?password=hunter3&sslmode=disable");
        let shown = target.to_string();
        assert_eq!(shown, "postgres://app:***@db/orders?password=***&sslmode=disable");
        let debug = format!("{target:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("hunter3"),
            "{debug}"
        );
        assert_eq!(target.password.as_ref().map(Secret::expose), Some("hunter3"));
    }

    #[test]
    fn pgx_schemes() {
        for scheme in ["pgx", "pgx4", "pgx5"] {
            assert_eq!(parse(&format!("{scheme}://u@h/d")).flavor, PostgresFlavor::Pgx);
        }
        assert_eq!(parse("postgresql://u@h/d").flavor, PostgresFlavor::LibPq);
    }

    #[test]
    fn url_without_path_hashes_the_current_database() {
        assert_eq!(parse("postgres://u@h").lock_database_name, None);
        let slash = parse("postgres://u@h/");
        assert_eq!(slash.lock_database_name.as_deref(), Some("/"));
        assert_eq!(slash.database, None);
    }

    #[test]
    fn ipv6_and_socket_hosts() {
        assert_eq!(
            parse("postgres://u@[::1]:5433/d").host,
            Some(PgHost::Tcp { host: "::1".into() })
        );
        let socket = parse("postgres://u@/d?host=/var/run/postgresql");
        assert_eq!(
            socket.host,
            Some(PgHost::Socket {
                directory: "/var/run/postgresql".into()
            })
        );
        assert_eq!(socket.to_string(), "postgres://u@/d?host=/var/run/postgresql");
        assert_eq!(parse("postgres://u:pw@/d").host, None);
        assert_eq!(parse("postgres:///d").host, None);
    }

    #[test]
    fn quoted_migrations_table() {
        let target = parse(
            "postgres://u@h/d?x-migrations-table=%22migrate%22.%22versions%22&x-migrations-table-quoted=1",
        );
        assert_eq!(target.migrations_schema.as_deref(), Some("migrate"));
        assert_eq!(target.migrations_table, "versions");
        let plain = parse("postgres://u@h/d?x-migrations-table=a.b");
        assert_eq!(
            plain.migrations_table, "a.b",
            "without -quoted a dot is part of the name"
        );
        assert_eq!(plain.migrations_schema, None);

        let unquoted =
            PostgresTarget::parse("postgres://u@h/d?x-migrations-table=a&x-migrations-table-quoted=true");
        assert!(unquoted.unwrap_err().to_string().contains("must be quoted"));
        let too_many = PostgresTarget::parse(
            "postgres://u@h/d?x-migrations-table=%22a%22.%22b%22.%22c%22&x-migrations-table-quoted=true",
        );
        assert!(too_many.unwrap_err().to_string().contains("too many dot"));
    }

    #[test]
    fn multi_statement_options() {
        let target = parse("postgres://u@h/d?x-multi-statement=true&x-multi-statement-max-size=1024");
        assert!(target.multi_statement);
        assert_eq!(target.multi_statement_max_size, 1024);
        let default = parse("postgres://u@h/d?x-multi-statement-max-size=0");
        assert_eq!(default.multi_statement_max_size, DEFAULT_MULTI_STATEMENT_MAX_SIZE);
    }

    #[test]
    fn unknown_x_parameters_are_errors() {
        assert_eq!(
            PostgresTarget::parse("postgres://u@h/d?x-bogus=1").unwrap_err(),
            UrlError::UnknownParameter {
                scheme: "postgres",
                name: "x-bogus".into()
            }
        );
        // pgx's lock options do not exist for lib/pq.
        assert!(matches!(
            PostgresTarget::parse("postgres://u@h/d?x-lock-strategy=advisory").unwrap_err(),
            UrlError::UnknownParameter { .. }
        ));
        assert!(PostgresTarget::parse("pgx://u@h/d?x-lock-strategy=advisory").is_ok());
        assert!(matches!(
            PostgresTarget::parse("pgx://u@h/d?x-lock-strategy=table").unwrap_err(),
            UrlError::UnsupportedParameter { .. }
        ));
    }

    #[test]
    fn unsupported_and_invalid_parameters() {
        for url in [
            "postgres://u@h/d?x-statement-timeout=100",
            "postgres://u@h/d?target_session_attrs=read-write",
            "postgres://u@h/d?client_encoding=LATIN1",
        ] {
            assert!(
                matches!(
                    PostgresTarget::parse(url).unwrap_err(),
                    UrlError::UnsupportedParameter { .. }
                ),
                "{url}"
            );
        }
        for url in [
            "postgres://u@h/d?sslmode=sometimes",
            "postgres://u@h/d?x-multi-statement=maybe",
            "postgres://u@h/d?connect_timeout=soon",
            "postgres://u@h/d?bad%20name=1",
        ] {
            assert!(
                matches!(
                    PostgresTarget::parse(url).unwrap_err(),
                    UrlError::InvalidParameter { .. }
                ),
                "{url}"
            );
        }
        assert!(matches!(
            PostgresTarget::parse("postgres://u@h/d?sslmode=disable&sslmode=require").unwrap_err(),
            UrlError::DuplicateParameter { .. }
        ));
    }

    #[test]
    fn options_become_settings() {
        let target =
            parse("postgres://u@h/d?options=-c%20search_path%3Dapp%20--lock-timeout%3D5s%20-cwork_mem%3D4MB");
        assert_eq!(
            target.settings,
            vec![
                ("search_path".to_string(), "app".to_string()),
                ("lock_timeout".to_string(), "5s".to_string()),
                ("work_mem".to_string(), "4MB".to_string()),
            ]
        );
        assert!(PostgresTarget::parse("postgres://u@h/d?options=-x").is_err());
    }

    #[test]
    fn from_a_connection_spec() {
        let spec = dbprov_core::ConnectionSpec::tcp("db", 5433)
            .with_credentials("app", Some(Secret::new("pw")))
            .with_label("pg-main");
        let target = PostgresTarget::from_connection(&spec, "orders").unwrap();
        assert_eq!(target.host, Some(PgHost::Tcp { host: "db".into() }));
        assert_eq!(target.port, Some(5433));
        assert_eq!(
            target.lock_database_name.as_deref(),
            Some("/orders"),
            "the key golang-migrate's CLI uses"
        );
        assert_eq!(target.ssl_mode, Some(SslMode::Disable));
        assert_eq!(target.to_string(), "postgres://pg-main/orders");
        let directory = dbprov_core::ConnectionSpec::directory("/var/lib/dbprov");
        assert!(PostgresTarget::from_connection(&directory, "x").is_err());
    }

    #[test]
    fn errors_never_show_the_password() {
        let error = PostgresTarget::parse("postgres://u:topsecret@h:notaport/d").unwrap_err();
        assert!(!error.to_string().contains("topsecret"), "{error}");
    }
}
