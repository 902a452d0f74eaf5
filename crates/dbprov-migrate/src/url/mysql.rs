//! `mysql://` URLs: golang-migrate hands everything after the scheme to go-sql-driver's DSN parser
//! (`[user[:password]@][net[(addr)]]/dbname[?params]`), so that is what is parsed here, with the same
//! splitting rules (the last `/` ends the address, the first `:` splits user and password, both
//! query-unescaped). dbprov also accepts the plain URL form `mysql://user:password@host:port/dbname`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use dbprov_core::Secret;

use super::escape::{Mode, unescape};
use super::{
    CertificateSource, DEFAULT_MIGRATIONS_TABLE, KeySource, UrlError, bool_parameter, parse_go_bool,
    unique_parameters,
};

const SCHEME: &str = "mysql";
const DEFAULT_PORT: u16 = 3306;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MySqlAddress {
    Tcp { host: String, port: u16 },
    Socket { path: PathBuf },
}

/// go-sql-driver's TLS behaviour, in MySQL's `--ssl-mode` terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MySqlTlsMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

/// Transport security, from go-sql-driver's `tls` parameter and golang-migrate's `x-tls-*` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlTls {
    pub mode: MySqlTlsMode,
    pub ca: Option<CertificateSource>,
    pub client_cert: Option<CertificateSource>,
    pub client_key: Option<KeySource>,
}

impl Default for MySqlTls {
    /// go-sql-driver's default: `tls=false`.
    fn default() -> Self {
        Self {
            mode: MySqlTlsMode::Disabled,
            ca: None,
            client_cert: None,
            client_key: None,
        }
    }
}

/// A MySQL or MariaDB migration target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlTarget {
    pub address: MySqlAddress,
    /// go-sql-driver sends an empty user name when the DSN has none.
    pub user: String,
    pub password: Option<Secret>,
    /// `None`: the account's default (golang-migrate then asks `SELECT DATABASE()`).
    pub database: Option<String>,
    pub tls: MySqlTls,
    /// `charset`: runs `SET NAMES <charset>` after connecting, as go-sql-driver does.
    pub charset: Option<String>,
    /// `collation`: the connection collation (default: utf8mb4_general_ci, sent in the handshake).
    pub collation: Option<String>,
    /// `timeout`: the connect timeout.
    pub connect_timeout: Option<Duration>,
    /// `allowCleartextPasswords`.
    pub allow_cleartext_passwords: bool,
    pub migrations_table: String,
    /// `x-no-lock`: skip `GET_LOCK` (golang-migrate's escape hatch for servers that lack it).
    pub no_lock: bool,
    display: String,
}

impl MySqlTarget {
    /// A target for `database` on a server reached as `spec` describes (the `DatabaseMigration` kind).
    pub fn from_connection(spec: &dbprov_core::ConnectionSpec, database: &str) -> Result<Self, UrlError> {
        use dbprov_core::{Endpoint, TlsMode};
        let address = match &spec.endpoint {
            Endpoint::Tcp { host, port } => MySqlAddress::Tcp {
                host: host.clone(),
                port: *port,
            },
            Endpoint::Socket { path } => MySqlAddress::Socket { path: path.clone() },
            Endpoint::Directory { .. } => {
                return Err(UrlError::DirectoryEndpoint {
                    scheme: SCHEME,
                    label: spec.label.clone(),
                });
            }
        };
        let mode = match spec.tls.mode {
            TlsMode::Disable => MySqlTlsMode::Disabled,
            TlsMode::Prefer => MySqlTlsMode::Preferred,
            TlsMode::Require => MySqlTlsMode::Required,
            TlsMode::VerifyCa => MySqlTlsMode::VerifyCa,
            TlsMode::VerifyFull => MySqlTlsMode::VerifyIdentity,
        };
        let credentials = spec.credentials.as_ref();
        Ok(Self {
            address,
            user: credentials.map(|c| c.username.clone()).unwrap_or_default(),
            password: credentials.and_then(|c| c.password.clone()),
            database: Some(database.to_owned()),
            tls: MySqlTls {
                mode,
                ca: spec.tls.ca_pem.clone().map(CertificateSource::Pem),
                client_cert: spec.tls.client_cert_pem.clone().map(CertificateSource::Pem),
                client_key: spec.tls.client_key_pem.clone().map(KeySource::Pem),
            },
            charset: None,
            collation: None,
            connect_timeout: Some(spec.connect_timeout),
            allow_cleartext_passwords: false,
            migrations_table: DEFAULT_MIGRATIONS_TABLE.to_owned(),
            no_lock: false,
            display: format!("mysql://{}/{database}", spec.label),
        })
    }

    pub(crate) fn parse(raw: &str) -> Result<Self, UrlError> {
        let dsn = raw
            .strip_prefix("mysql://")
            .ok_or_else(|| malformed("expected mysql://".into()))?;
        let parts = split_dsn(dsn)?;
        let query_decode = |text: &str, what: &str| {
            unescape(text, Mode::Query).map_err(|error| malformed(format!("{what}: {}", error.reason())))
        };
        let path_decode = |text: &str, what: &str| {
            unescape(text, Mode::Path).map_err(|error| malformed(format!("{what}: {}", error.reason())))
        };

        let (address, user, password, display_address) = match (parts.net, parts.addr) {
            // go-sql-driver's defaults for a missing network or address.
            ("", None) | ("tcp", None) => (
                MySqlAddress::Tcp {
                    host: "127.0.0.1".into(),
                    port: DEFAULT_PORT,
                },
                query_decode(parts.user, "user name")?,
                parts.password.map(|p| query_decode(p, "password")).transpose()?,
                format!(
                    "{}(127.0.0.1:{DEFAULT_PORT})",
                    if parts.net.is_empty() { "tcp" } else { parts.net }
                ),
            ),
            ("tcp", Some(addr)) => (
                tcp_address(addr)?,
                query_decode(parts.user, "user name")?,
                parts.password.map(|p| query_decode(p, "password")).transpose()?,
                format!("tcp({addr})"),
            ),
            ("unix", addr) => {
                let path = addr.unwrap_or("/tmp/mysql.sock");
                (
                    MySqlAddress::Socket { path: path.into() },
                    query_decode(parts.user, "user name")?,
                    parts.password.map(|p| query_decode(p, "password")).transpose()?,
                    format!("unix({path})"),
                )
            }
            (net, Some(_)) => {
                return Err(malformed(format!(
                    "unsupported network {net:?} (expected tcp or unix)"
                )));
            }
            // No parentheses: dbprov's plain form, `host[:port]`, with URL (not query) escaping.
            (host_port, None) => (
                tcp_address(host_port)?,
                path_decode(parts.user, "user name")?,
                parts.password.map(|p| path_decode(p, "password")).transpose()?,
                host_port.to_owned(),
            ),
        };

        let database = path_decode(parts.database, "database name")?;
        let mut target = Self {
            address,
            user,
            password: password.map(Secret::new),
            database: Some(database).filter(|database| !database.is_empty()),
            tls: MySqlTls::default(),
            charset: None,
            collation: None,
            connect_timeout: None,
            allow_cleartext_passwords: false,
            migrations_table: DEFAULT_MIGRATIONS_TABLE.to_owned(),
            no_lock: false,
            display: String::new(),
        };
        target.display = {
            let credentials = match (parts.user.is_empty(), parts.password.is_some()) {
                (true, false) => String::new(),
                (_, true) => format!("{}:***@", parts.user),
                (false, false) => format!("{}@", parts.user),
            };
            let query = parts.query.map(|query| format!("?{query}")).unwrap_or_default();
            format!("mysql://{credentials}{display_address}/{}{query}", parts.database)
        };

        let mut tls_name = None;
        let mut tls_files = TlsFiles::default();
        let pairs = match parts.query {
            Some(query) => parse_dsn_params(query)?,
            None => Vec::new(),
        };
        for (name, value) in unique_parameters(SCHEME, pairs)? {
            match name.as_str() {
                "x-migrations-table" => target.migrations_table = value,
                "x-no-lock" => {
                    target.no_lock = parse_go_bool(&value)
                        .ok_or_else(|| invalid(&name, &value, "could not parse x-no-lock as bool"))?;
                }
                "x-statement-timeout" => {
                    return Err(unsupported(
                        &name,
                        "golang-migrate enforces it on the client without stopping the statement on the server; \
                         set max_statement_time (MariaDB) or max_execution_time (MySQL) in the migration",
                    ));
                }
                "x-tls-ca" => tls_files.ca = Some(value),
                "x-tls-cert" => tls_files.cert = Some(value),
                "x-tls-key" => tls_files.key = Some(value),
                "x-tls-insecure-skip-verify" => {
                    tls_files.insecure_skip_verify = bool_parameter(SCHEME, &name, &value)?;
                }
                _ if name.starts_with("x-") => {
                    return Err(UrlError::UnknownParameter { scheme: SCHEME, name });
                }
                "tls" => tls_name = Some(value),
                "charset" => {
                    // go-sql-driver tries a comma-separated list in order; the first one is what it sets.
                    let first = value.split(',').next().unwrap_or_default().trim();
                    if !is_plain_name(first) {
                        return Err(invalid(&name, &value, "expected a character set name"));
                    }
                    target.charset = Some(first.to_owned());
                }
                "collation" => {
                    if !is_plain_name(&value) {
                        return Err(invalid(&name, &value, "expected a collation name"));
                    }
                    target.collation = Some(value);
                }
                "timeout" => {
                    target.connect_timeout = Some(parse_go_duration(&value).ok_or_else(|| {
                        invalid(&name, &value, "expected a Go duration such as 5s or 1m30s")
                    })?)
                }
                "allowCleartextPasswords" => {
                    target.allow_cleartext_passwords = bool_parameter(SCHEME, &name, &value)?;
                }
                "allowNativePasswords" => {
                    if !bool_parameter(SCHEME, &name, &value)? {
                        return Err(unsupported(
                            &name,
                            "native password authentication cannot be turned off",
                        ));
                    }
                }
                // These change only how go-sql-driver decodes results and reports row counts, which the
                // runner does not read: accepted so existing URLs keep working, and they change nothing.
                "parseTime" | "multiStatements" | "interpolateParams" | "clientFoundRows"
                | "columnsWithAlias" | "checkConnLiveness" => {
                    bool_parameter(SCHEME, &name, &value)?;
                }
                "loc" | "maxAllowedPacket" => {}
                "readTimeout"
                | "writeTimeout"
                | "rejectReadOnly"
                | "serverPubKey"
                | "allowAllFiles"
                | "allowOldPasswords"
                | "allowFallbackToPlaintext"
                | "connectionAttributes"
                | "compress" => {
                    return Err(unsupported(
                        &name,
                        "this go-sql-driver parameter is not implemented",
                    ));
                }
                _ => {
                    return Err(unsupported(
                        &name,
                        "go-sql-driver would run `SET <name>=<value>` for it; dbprov does not send session variables from the URL",
                    ));
                }
            }
        }
        target.tls = resolve_tls(tls_name.as_deref(), tls_files)?;
        if target.migrations_table.is_empty() {
            target.migrations_table = DEFAULT_MIGRATIONS_TABLE.to_owned();
        }
        Ok(target)
    }
}

impl fmt::Display for MySqlTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

struct DsnParts<'a> {
    user: &'a str,
    password: Option<&'a str>,
    net: &'a str,
    addr: Option<&'a str>,
    database: &'a str,
    query: Option<&'a str>,
}

/// go-sql-driver's `ParseDSN` splitting, step by step.
fn split_dsn(dsn: &str) -> Result<DsnParts<'_>, UrlError> {
    let slash = dsn
        .rfind('/')
        .ok_or_else(|| malformed("missing the slash before the database name".into()))?;
    let left = &dsn[..slash];
    let (user, password, net_addr) = match left.rfind('@') {
        Some(at) => {
            let userinfo = &left[..at];
            match userinfo.find(':') {
                Some(colon) => (&userinfo[..colon], Some(&userinfo[colon + 1..]), &left[at + 1..]),
                None => (userinfo, None, &left[at + 1..]),
            }
        }
        None => ("", None, left),
    };
    let (net, addr) = match net_addr.find('(') {
        Some(open) => {
            if !net_addr.ends_with(')') {
                let reason = if net_addr[open + 1..].contains(')') {
                    "did you forget to escape a parameter value? (a '/' in a value must be written %2F)"
                } else {
                    "network address is not terminated (missing closing parenthesis)"
                };
                return Err(malformed(reason.into()));
            }
            (&net_addr[..open], Some(&net_addr[open + 1..net_addr.len() - 1]))
        }
        None => (net_addr, None),
    };
    let tail = &dsn[slash + 1..];
    let (database, query) = match tail.find('?') {
        Some(question) => (&tail[..question], Some(&tail[question + 1..])),
        None => (tail, None),
    };
    Ok(DsnParts {
        user,
        password,
        net,
        addr: addr.filter(|addr| !addr.is_empty()),
        database,
        query,
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`; go-sql-driver adds port 3306 when there is none.
fn tcp_address(addr: &str) -> Result<MySqlAddress, UrlError> {
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| malformed("unterminated IPv6 address".into()))?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| malformed("unexpected text after the IPv6 address".into()))?,
                ),
            ),
        }
    } else {
        match addr.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (addr, None),
        }
    };
    if host.is_empty() {
        return Err(malformed("empty host".into()));
    }
    let port = match port {
        Some(port) => port
            .parse()
            .map_err(|_| malformed("the port is not a number between 0 and 65535".into()))?,
        None => DEFAULT_PORT,
    };
    Ok(MySqlAddress::Tcp {
        host: host.to_owned(),
        port,
    })
}

/// go-sql-driver's `parseDSNParams`: `&`-separated `name=value`, values query-unescaped.
fn parse_dsn_params(query: &str) -> Result<Vec<(String, String)>, UrlError> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| malformed(format!("parameter {pair:?} has no value")))?;
            let value = unescape(value, Mode::Query).map_err(|error| invalid(name, value, error.reason()))?;
            Ok((name.to_owned(), value))
        })
        .collect()
}

#[derive(Default)]
struct TlsFiles {
    ca: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    insecure_skip_verify: bool,
}

impl TlsFiles {
    fn any(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some() || self.insecure_skip_verify
    }
}

/// go-sql-driver's `tls` values, and golang-migrate's custom TLS configuration built from `x-tls-*` when
/// `tls` names a custom configuration.
fn resolve_tls(name: Option<&str>, files: TlsFiles) -> Result<MySqlTls, UrlError> {
    let builtin = match name {
        None => Some(MySqlTlsMode::Disabled),
        Some("skip-verify") => Some(MySqlTlsMode::Required),
        Some("preferred") => Some(MySqlTlsMode::Preferred),
        Some(value) => match parse_go_bool(value) {
            // go-sql-driver's `tls=true` verifies the chain and the host name against the system roots.
            Some(true) => Some(MySqlTlsMode::VerifyIdentity),
            Some(false) => Some(MySqlTlsMode::Disabled),
            None => None,
        },
    };
    if let Some(mode) = builtin {
        if files.any() {
            return Err(unsupported(
                "x-tls-ca",
                "x-tls-ca, x-tls-cert, x-tls-key and x-tls-insecure-skip-verify only apply with tls=<custom name>",
            ));
        }
        return Ok(MySqlTls {
            mode,
            ..MySqlTls::default()
        });
    }
    if files.cert.is_some() != files.key.is_some() {
        return Err(invalid(
            "x-tls-cert",
            "",
            "to use TLS client authentication, both x-tls-cert and x-tls-key must not be empty",
        ));
    }
    if files.ca.is_none() {
        return Err(invalid(
            "tls",
            name.unwrap_or_default(),
            "a custom TLS configuration needs x-tls-ca (or use tls=true, skip-verify, preferred or false)",
        ));
    }
    Ok(MySqlTls {
        // golang-migrate's custom configuration verifies the host name unless told to skip verification.
        mode: if files.insecure_skip_verify {
            MySqlTlsMode::Required
        } else {
            MySqlTlsMode::VerifyIdentity
        },
        ca: files.ca.map(|path| CertificateSource::File(path.into())),
        client_cert: files.cert.map(|path| CertificateSource::File(path.into())),
        client_key: files.key.map(|path| KeySource::File(path.into())),
    })
}

/// Go's `time.ParseDuration` for the forms used in DSNs: a sequence of `<number><unit>` with units
/// ns, us, µs, ms, s, m, h.
fn parse_go_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
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

    fn parse(url: &str) -> MySqlTarget {
        MySqlTarget::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"))
    }

    #[test]
    fn go_sql_driver_dsn() {
        let target =
            parse("mysql://app:p%40ss+word@tcp(db.example:3307)/client_db?x-migrations-table=versions");
        assert_eq!(
            target.address,
            MySqlAddress::Tcp {
                host: "db.example".into(),
                port: 3307
            }
        );
        assert_eq!(target.user, "app");
        // golang-migrate query-unescapes the password: %40 is '@' and '+' is a space.
        assert_eq!(target.password.as_ref().map(Secret::expose), Some("p@ss word"));
        assert_eq!(target.database.as_deref(), Some("client_db"));
        assert_eq!(target.migrations_table, "versions");
        assert_eq!(target.tls.mode, MySqlTlsMode::Disabled);
        assert_eq!(
            target.to_string(),
            "mysql://app:***@tcp(db.example:3307)/client_db?x-migrations-table=versions"
        );
    }

    #[test]
    fn the_password_may_contain_separators() {
        // The first ':' splits user and password; the last '@' before the last '/' ends them.
        let target = parse("mysql://app:a:b@c/d@tcp(h)/db");
        assert_eq!(target.password.as_ref().map(Secret::expose), Some("a:b@c/d"));
        assert_eq!(
            target.address,
            MySqlAddress::Tcp {
                host: "h".into(),
                port: 3306
            }
        );
        assert!(!target.to_string().contains("a:b@c"), "{target}");
        assert!(!format!("{target:?}").contains("a:b@c"));
    }

    #[test]
    fn plain_url_form() {
        let target = parse("mysql://app:p%40ss+word@db.example:3308/client_db");
        assert_eq!(
            target.address,
            MySqlAddress::Tcp {
                host: "db.example".into(),
                port: 3308
            }
        );
        assert_eq!(target.password.as_ref().map(Secret::expose), Some("p@ss+word"));
        assert_eq!(target.to_string(), "mysql://app:***@db.example:3308/client_db");
        let default_port = parse("mysql://app@db/client_db");
        assert_eq!(
            default_port.address,
            MySqlAddress::Tcp {
                host: "db".into(),
                port: 3306
            }
        );
        let ipv6 = parse("mysql://app@[::1]:3310/x");
        assert_eq!(
            ipv6.address,
            MySqlAddress::Tcp {
                host: "::1".into(),
                port: 3310
            }
        );
    }

    #[test]
    fn defaults_and_sockets() {
        let target = parse("mysql://root@/db");
        assert_eq!(
            target.address,
            MySqlAddress::Tcp {
                host: "127.0.0.1".into(),
                port: 3306
            }
        );
        let socket = parse("mysql://root@unix(/run/mysqld/mysqld.sock)/db");
        assert_eq!(
            socket.address,
            MySqlAddress::Socket {
                path: "/run/mysqld/mysqld.sock".into()
            }
        );
        assert_eq!(parse("mysql://root@tcp(h)/").database, None);
        assert_eq!(parse("mysql:///db").user, "");
    }

    #[test]
    fn tls_values() {
        assert_eq!(
            parse("mysql://u@tcp(h)/d?tls=true").tls.mode,
            MySqlTlsMode::VerifyIdentity
        );
        assert_eq!(
            parse("mysql://u@tcp(h)/d?tls=skip-verify").tls.mode,
            MySqlTlsMode::Required
        );
        assert_eq!(
            parse("mysql://u@tcp(h)/d?tls=preferred").tls.mode,
            MySqlTlsMode::Preferred
        );
        assert_eq!(
            parse("mysql://u@tcp(h)/d?tls=false").tls.mode,
            MySqlTlsMode::Disabled
        );
        let custom = parse(
            "mysql://u@tcp(h)/d?tls=custom&x-tls-ca=%2Fetc%2Fca.pem&x-tls-cert=%2Fc.pem&x-tls-key=%2Fk.pem",
        );
        assert_eq!(custom.tls.mode, MySqlTlsMode::VerifyIdentity);
        assert_eq!(custom.tls.ca, Some(CertificateSource::File("/etc/ca.pem".into())));
        assert_eq!(custom.tls.client_key, Some(KeySource::File("/k.pem".into())));
        let skip = parse("mysql://u@tcp(h)/d?tls=custom&x-tls-ca=ca.pem&x-tls-insecure-skip-verify=true");
        assert_eq!(skip.tls.mode, MySqlTlsMode::Required);
    }

    #[test]
    fn tls_errors() {
        for url in [
            "mysql://u@tcp(h)/d?tls=custom",
            "mysql://u@tcp(h)/d?tls=custom&x-tls-ca=ca.pem&x-tls-cert=c.pem",
            "mysql://u@tcp(h)/d?tls=true&x-tls-ca=ca.pem",
        ] {
            assert!(MySqlTarget::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn an_unescaped_slash_in_a_value_is_reported_like_go_sql_driver() {
        let error = MySqlTarget::parse("mysql://u@tcp(h)/d?tls=custom&x-tls-ca=/etc/ca.pem").unwrap_err();
        assert!(error.to_string().contains("escape"), "{error}");
    }

    #[test]
    fn parameters() {
        let target = parse(
            "mysql://u@tcp(h)/d?x-no-lock=true&charset=utf8mb4,utf8&collation=utf8mb4_bin&timeout=1m30s&parseTime=true&multiStatements=true",
        );
        assert!(target.no_lock);
        assert_eq!(target.charset.as_deref(), Some("utf8mb4"));
        assert_eq!(target.collation.as_deref(), Some("utf8mb4_bin"));
        assert_eq!(target.connect_timeout, Some(Duration::from_secs(90)));
        assert_eq!(
            MySqlTarget::parse("mysql://u@tcp(h)/d?x-bogus=1").unwrap_err(),
            UrlError::UnknownParameter {
                scheme: "mysql",
                name: "x-bogus".into()
            }
        );
        for url in [
            "mysql://u@tcp(h)/d?x-statement-timeout=10",
            "mysql://u@tcp(h)/d?sql_mode=%27ANSI%27",
            "mysql://u@tcp(h)/d?readTimeout=1s",
        ] {
            assert!(
                matches!(
                    MySqlTarget::parse(url).unwrap_err(),
                    UrlError::UnsupportedParameter { .. }
                ),
                "{url}"
            );
        }
        assert!(MySqlTarget::parse("mysql://u@tcp(h)/d?x-no-lock=sure").is_err());
        assert!(MySqlTarget::parse("mysql://u@tcp(h)/d?timeout=5").is_err());
    }

    #[test]
    fn malformed_dsns() {
        for url in [
            "mysql://u@tcp(h",
            "mysql://u@tcp(h:port)/d",
            "mysql://u@udp(h)/d",
            "mysql://nothing",
        ] {
            assert!(
                matches!(MySqlTarget::parse(url).unwrap_err(), UrlError::Malformed { .. }),
                "{url}"
            );
        }
    }

    #[test]
    fn from_a_connection_spec() {
        let spec = dbprov_core::ConnectionSpec::tcp("db", 3306)
            .with_credentials("app", Some(Secret::new("pw")))
            .with_label("mysql-main");
        let target = MySqlTarget::from_connection(&spec, "client_db").unwrap();
        assert_eq!(target.user, "app");
        assert_eq!(target.database.as_deref(), Some("client_db"));
        assert_eq!(target.tls.mode, MySqlTlsMode::Disabled);
        assert_eq!(target.to_string(), "mysql://mysql-main/client_db");
        assert!(!format!("{target:?}").contains("\"pw\""));
        let directory = dbprov_core::ConnectionSpec::directory("/var/lib/dbprov");
        assert!(MySqlTarget::from_connection(&directory, "x").is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration(""), None);
    }
}
