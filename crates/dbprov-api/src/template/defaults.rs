//! The default keys of a credentials Secret (no `secretTemplate.data`).

use std::collections::BTreeMap;

use dbprov_core::{EngineKind, Secret};

use crate::template::functions::{component_escape, query_escape};
use crate::template::{TemplateData, TemplateError};
use crate::v1alpha1::DatabaseInstanceSpec;

/// Parameters of the go-sql-driver/mysql `dsn` key, from the instance's `spec.mysql`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnOptions {
    /// `parseTime=`.
    pub parse_time: bool,
    /// `charset=`.
    pub charset: String,
    /// `collation=`, omitted when `None`.
    pub collation: Option<String>,
}

impl Default for DsnOptions {
    fn default() -> Self {
        Self {
            parse_time: true,
            charset: "utf8mb4".to_owned(),
            collation: None,
        }
    }
}

impl DsnOptions {
    /// The options of an instance's `spec.mysql` (defaults without it).
    pub fn from_instance(spec: &DatabaseInstanceSpec) -> Self {
        match &spec.mysql {
            Some(mysql) => Self {
                parse_time: mysql.parse_time,
                charset: mysql.charset.clone(),
                collation: mysql.collation.clone(),
            },
            None => Self::default(),
        }
    }
}

/// Brackets an IPv6 literal for use in a URI authority.
fn uri_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The default keys: upstream's `username`, `password`, `host`, `port`, plus `database`, `uri`
/// (`postgresql://…` / `mysql://…`, credentials percent-encoded), `jdbc-uri`, and on MySQL/MariaDB `dsn` in
/// go-sql-driver/mysql form (`user:pass@tcp(host:port)/db?parseTime=true&charset=utf8mb4`).
pub fn default_secret_data(
    data: &TemplateData,
    engine: EngineKind,
    dsn: &DsnOptions,
) -> Result<BTreeMap<String, Secret>, TemplateError> {
    let fail = |message: String| TemplateError { line: 0, message };
    let user = component_escape(&data.username);
    let password = component_escape(data.password.expose());
    let database = component_escape(&data.database);
    let host = uri_host(&data.host);
    let port = data.port;
    let mut out = BTreeMap::from([
        ("username".to_owned(), Secret::new(data.username.clone())),
        ("password".to_owned(), data.password.clone()),
        ("host".to_owned(), Secret::new(data.host.clone())),
        ("port".to_owned(), Secret::new(port.to_string())),
        ("database".to_owned(), Secret::new(data.database.clone())),
    ]);
    match engine {
        EngineKind::Postgres => {
            let ssl = if data.ssl_mode.is_empty() {
                String::new()
            } else {
                format!("sslmode={}", query_escape(&data.ssl_mode))
            };
            let query = if ssl.is_empty() {
                String::new()
            } else {
                format!("?{ssl}")
            };
            out.insert(
                "uri".to_owned(),
                Secret::new(format!(
                    "postgresql://{user}:{password}@{host}:{port}/{database}{query}"
                )),
            );
            let jdbc_ssl = if ssl.is_empty() {
                String::new()
            } else {
                format!("&{ssl}")
            };
            out.insert(
                "jdbc-uri".to_owned(),
                Secret::new(format!(
                    "jdbc:postgresql://{host}:{port}/{database}?user={}&password={}{jdbc_ssl}",
                    query_escape(&data.username),
                    query_escape(data.password.expose())
                )),
            );
        }
        EngineKind::MySql | EngineKind::MariaDb => {
            out.insert(
                "uri".to_owned(),
                Secret::new(format!("mysql://{user}:{password}@{host}:{port}/{database}")),
            );
            let scheme = if engine == EngineKind::MariaDb {
                "mariadb"
            } else {
                "mysql"
            };
            out.insert(
                "jdbc-uri".to_owned(),
                Secret::new(format!(
                    "jdbc:{scheme}://{host}:{port}/{database}?user={}&password={}",
                    query_escape(&data.username),
                    query_escape(data.password.expose())
                )),
            );
            // go-sql-driver/mysql splits the user from the password at the first ':' and takes the database
            // after the last '/', without unescaping: a ':' in the user or a '/' in the database cannot be written.
            if data.username.contains(':') {
                return Err(fail(format!(
                    "user name {:?} contains ':', which the go-sql-driver DSN cannot express",
                    data.username
                )));
            }
            if data.database.contains('/') {
                return Err(fail(format!(
                    "database name {:?} contains '/', which the go-sql-driver DSN cannot express",
                    data.database
                )));
            }
            let mut params = format!(
                "parseTime={}&charset={}",
                dsn.parse_time,
                query_escape(&dsn.charset)
            );
            if let Some(collation) = &dsn.collation {
                params.push_str(&format!("&collation={}", query_escape(collation)));
            }
            let tls = match data.ssl_mode.as_str() {
                "" | "disable" => None,
                "require" => Some("skip-verify"),
                _ => Some("true"),
            };
            if let Some(tls) = tls {
                params.push_str(&format!("&tls={tls}"));
            }
            out.insert(
                "dsn".to_owned(),
                Secret::new(format!(
                    "{}:{}@tcp({host}:{port})/{}?{params}",
                    data.username,
                    data.password.expose(),
                    data.database
                )),
            );
        }
        EngineKind::Sqlite => {
            return Err(fail(
                "SQLite has no users, so there are no credentials to write".to_owned(),
            ));
        }
    }
    Ok(out)
}
