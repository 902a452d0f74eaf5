//! The `Engine` trait: intent in the trait, SQL in the engine.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::error::EngineError;
use crate::model::{Catalog, CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, RoleSpec};
use crate::name::{Name, NameError, NameKind, abbreviate};
use crate::plan::{ApplyReport, Plan};

/// The engines dbprov speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineKind {
    Postgres,
    MySql,
    MariaDb,
    Sqlite,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Postgres => "postgres",
            EngineKind::MySql => "mysql",
            EngineKind::MariaDb => "mariadb",
            EngineKind::Sqlite => "sqlite",
        }
    }

    pub fn display_name(self) -> &'static str {
        match self {
            EngineKind::Postgres => "PostgreSQL",
            EngineKind::MySql => "MySQL",
            EngineKind::MariaDb => "MariaDB",
            EngineKind::Sqlite => "SQLite",
        }
    }

    /// MySQL and MariaDB share a protocol and an adapter.
    pub fn is_mysql_family(self) -> bool {
        matches!(self, EngineKind::MySql | EngineKind::MariaDb)
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(EngineKind::Postgres),
            "mysql" => Ok(EngineKind::MySql),
            "mariadb" => Ok(EngineKind::MariaDb),
            "sqlite" | "sqlite3" => Ok(EngineKind::Sqlite),
            other => Err(format!(
                "unknown engine {other:?} (expected postgres, mysql, mariadb or sqlite)"
            )),
        }
    }
}

/// What the server told us about itself at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The engine actually found (a `mysql` instance may turn out to be MariaDB).
    pub kind: EngineKind,
    /// The full version string (`PostgreSQL 15.18 ...`, `10.11.19-MariaDB-0+deb12u1`).
    pub version: String,
    /// `(major, minor, patch)` parsed from `version`.
    pub version_number: (u32, u32, u32),
}

impl ServerInfo {
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.version_number >= (major, minor, patch)
    }
}

/// Parses the first `major.minor[.patch]` in a version string.
pub fn parse_version_number(version: &str) -> (u32, u32, u32) {
    let start = version
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(version.len());
    let mut parts = version[start..]
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

/// How a name length is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthUnit {
    Bytes,
    Chars,
}

/// The rules one kind of name must follow on one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLimit {
    pub max: usize,
    pub unit: LengthUnit,
    /// MySQL: names may not end with whitespace (a space, tab, newline, vertical tab, form feed or CR).
    pub no_trailing_whitespace: bool,
    /// MySQL: identifiers are limited to the Basic Multilingual Plane.
    pub bmp_only: bool,
    /// Characters that cannot appear (SQLite database names are file names).
    pub forbidden: &'static [char],
    /// A prefix the server keeps for itself (PostgreSQL's `pg_` roles, MySQL's `#mysql50#` databases).
    pub reserved_prefix: Option<&'static str>,
    /// MySQL/MariaDB database names: the most bytes the name's directory (see [`mysql_file_name_bytes`]) may
    /// take on disk.
    pub max_file_name_bytes: Option<usize>,
}

impl NameLimit {
    pub const fn bytes(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Bytes,
            no_trailing_whitespace: false,
            bmp_only: false,
            forbidden: &[],
            reserved_prefix: None,
            max_file_name_bytes: None,
        }
    }

    pub const fn chars(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Chars,
            no_trailing_whitespace: false,
            bmp_only: false,
            forbidden: &[],
            reserved_prefix: None,
            max_file_name_bytes: None,
        }
    }

    pub const fn mysql_identifier(max: usize) -> Self {
        Self {
            max,
            unit: LengthUnit::Chars,
            no_trailing_whitespace: true,
            bmp_only: true,
            forbidden: &[],
            reserved_prefix: None,
            max_file_name_bytes: None,
        }
    }

    /// A MySQL/MariaDB database name: an identifier that is also a directory in the data directory.
    pub const fn mysql_database() -> Self {
        let mut limit = Self::mysql_identifier(64);
        limit.reserved_prefix = Some("#mysql50#");
        limit.max_file_name_bytes = Some(255);
        limit
    }

    /// A PostgreSQL role name: `pg_` is reserved for the server's predefined roles.
    pub const fn postgres_role() -> Self {
        let mut limit = Self::bytes(63);
        limit.reserved_prefix = Some("pg_");
        limit
    }
}

/// The bytes a database name takes as a MySQL/MariaDB directory name (the `filename` character set): ASCII
/// letters, digits and `_` stay as they are; letters of the Latin-1, Latin Extended-A, Greek and Cyrillic
/// alphabets become `@` and two characters; anything else becomes `@` and four hex digits. Letters of other
/// alphabets that the server also writes in three bytes are counted as five: the count never falls short.
pub fn mysql_file_name_bytes(name: &str) -> usize {
    name.chars()
        .map(|ch| match u32::from(ch) {
            _ if ch.is_ascii_alphanumeric() || ch == '_' => 1,
            0xC0..=0xFF if ch != '\u{d7}' && ch != '\u{f7}' => 3,
            0x100..=0x17F | 0x391..=0x3A1 | 0x3A3..=0x3A9 | 0x3B1..=0x3C9 | 0x410..=0x44F => 3,
            _ => 5,
        })
        .sum()
}

/// Name rules per kind of name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameLimits {
    pub database: NameLimit,
    pub user: NameLimit,
    pub role: NameLimit,
    pub host: NameLimit,
    /// Schemas, tables, columns, sequences, functions, extensions, tablespaces.
    pub object: NameLimit,
}

impl NameLimits {
    pub fn limit(&self, kind: NameKind) -> NameLimit {
        match kind {
            NameKind::Database => self.database,
            NameKind::User => self.user,
            NameKind::Role => self.role,
            NameKind::Host => self.host,
            _ => self.object,
        }
    }

    /// Checks a name against the engine's rules.
    pub fn check(&self, engine: &'static str, kind: NameKind, name: &str) -> Result<(), NameError> {
        let limit = self.limit(kind);
        let (length, unit) = match limit.unit {
            LengthUnit::Bytes => (name.len(), "bytes"),
            LengthUnit::Chars => (name.chars().count(), "characters"),
        };
        if length > limit.max {
            return Err(NameError::TooLong {
                kind,
                name: abbreviate(name),
                engine,
                length,
                limit: limit.max,
                unit,
            });
        }
        if limit.no_trailing_whitespace && name.ends_with([' ', '\t', '\n', '\u{b}', '\u{c}', '\r']) {
            return Err(NameError::NotAllowed {
                kind,
                name: abbreviate(name),
                engine,
                reason: "it ends with whitespace",
            });
        }
        if let Some(max) = limit.max_file_name_bytes
            && mysql_file_name_bytes(name) > max
        {
            return Err(NameError::NotAllowed {
                kind,
                name: abbreviate(name),
                engine,
                reason: "its directory name on the server (special characters take up to 5 bytes each) would be too long for a file name",
            });
        }
        if limit.bmp_only && name.chars().any(|ch| u32::from(ch) > 0xFFFF) {
            return Err(NameError::NotAllowed {
                kind,
                name: name.to_owned(),
                engine,
                reason: "it has characters outside the Basic Multilingual Plane",
            });
        }
        if name.chars().any(|ch| limit.forbidden.contains(&ch)) {
            return Err(NameError::NotAllowed {
                kind,
                name: name.to_owned(),
                engine,
                reason: "it contains a path separator",
            });
        }
        Ok(())
    }

    pub fn check_name(&self, engine: &'static str, kind: NameKind, name: &Name) -> Result<(), NameError> {
        self.check(engine, kind, name.as_str())
    }

    /// Checks the name of an object dbprov is to create or drop: [`Self::check`], and the prefixes the server
    /// keeps for its own objects. Objects with such names (PostgreSQL's predefined roles such as `pg_monitor`)
    /// stay valid as owners, members and grantees.
    pub fn check_new(&self, engine: &'static str, kind: NameKind, name: &Name) -> Result<(), NameError> {
        self.check(engine, kind, name.as_str())?;
        match self.limit(kind).reserved_prefix {
            Some(prefix) if name.as_str().starts_with(prefix) => Err(NameError::NotAllowed {
                kind,
                name: abbreviate(name.as_str()),
                engine,
                reason: "the server reserves its prefix for its own objects",
            }),
            _ => Ok(()),
        }
    }
}

/// Name rules that hold on every supported server version of each engine: what validation checks before a
/// connection tells the exact version. Engines refine them once connected (MariaDB 10.11 accepts longer user
/// names than 10.4, for instance); they never loosen a server's own rule.
pub const fn default_name_limits(kind: EngineKind) -> NameLimits {
    match kind {
        // NAMEDATALEN - 1: PostgreSQL silently truncates longer names, so they are rejected instead.
        EngineKind::Postgres => NameLimits {
            database: NameLimit::bytes(63),
            user: NameLimit::postgres_role(),
            role: NameLimit::postgres_role(),
            host: NameLimit::chars(255),
            object: NameLimit::bytes(63),
        },
        // Grant tables store account names in CHAR columns of a 3-byte UTF-8 set: identifier rules apply.
        EngineKind::MySql => NameLimits {
            database: NameLimit::mysql_database(),
            user: NameLimit::mysql_identifier(32),
            role: NameLimit::mysql_identifier(32),
            host: NameLimit::mysql_identifier(60),
            object: NameLimit::mysql_identifier(64),
        },
        EngineKind::MariaDb => NameLimits {
            database: NameLimit::mysql_database(),
            user: NameLimit::mysql_identifier(80),
            role: NameLimit::mysql_identifier(80),
            host: NameLimit::mysql_identifier(60),
            object: NameLimit::mysql_identifier(64),
        },
        // A database is the file `<name>.sqlite3`: no path separator, and its rollback journal's file name
        // (`<name>.sqlite3-journal`, the longest SQLite makes) within 255 bytes.
        EngineKind::Sqlite => NameLimits {
            database: NameLimit {
                max: 255 - ".sqlite3-journal".len(),
                unit: LengthUnit::Bytes,
                no_trailing_whitespace: false,
                bmp_only: false,
                forbidden: &['/'],
                reserved_prefix: None,
                max_file_name_bytes: None,
            },
            user: NameLimit::bytes(1024),
            role: NameLimit::bytes(1024),
            host: NameLimit::bytes(1024),
            object: NameLimit::bytes(1024),
        },
    }
}

/// What an engine can do. Validation reads this to reject an impossible declaration before connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub engine: &'static str,
    /// DDL can run inside a transaction and roll back (PostgreSQL, SQLite; not MySQL).
    pub transactional_ddl: bool,
    pub users: bool,
    pub roles: bool,
    pub grants: bool,
    pub database_owner: bool,
    pub schemas: bool,
    pub extensions: bool,
    pub default_privileges: bool,
    pub tablespaces: bool,
    /// PostgreSQL role attributes (SUPERUSER, CREATEDB, ...).
    pub role_attributes: bool,
    /// MySQL accounts per host, auth plugins, REQUIRE, resource limits.
    pub accounts: bool,
    /// `ACCOUNT LOCK`.
    pub account_lock: bool,
    /// MySQL 8 `FAILED_LOGIN_ATTEMPTS` / `PASSWORD_LOCK_TIME`.
    pub failed_login_lock: bool,
    /// `DELETE HISTORY` and MariaDB's admin privileges.
    pub mariadb_privileges: bool,
    pub charset_collation: bool,
    pub advisory_locks: bool,
    pub name_limits: NameLimits,
}

/// One adapter per engine. Inspection reads the live catalog in batches; planning is pure (it only reads the
/// catalog it is given and the server facts found at connect time); applying is the only step that changes
/// the server.
#[async_trait]
pub trait Engine: Send + Sync {
    fn server(&self) -> &ServerInfo;

    fn capabilities(&self) -> &Capabilities;

    /// The instance label used in messages.
    fn target(&self) -> &str;

    async fn ping(&self) -> Result<(), EngineError>;

    /// Reads everything the request names, in a few queries.
    async fn inspect(&self, request: &CatalogRequest) -> Result<Catalog, EngineError>;

    fn plan_database(&self, spec: &DatabaseSpec, catalog: &Catalog) -> Result<Plan, EngineError>;

    fn plan_drop_database(&self, name: &Name, catalog: &Catalog) -> Result<Plan, EngineError>;

    fn plan_role(&self, spec: &RoleSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        let _ = catalog;
        Err(EngineError::unsupported(
            self.capabilities().engine,
            format!("managing {} {}", spec.kind(), spec.name),
        ))
    }

    fn plan_drop_role(
        &self,
        name: &Name,
        options: &DropRoleOptions,
        catalog: &Catalog,
    ) -> Result<Plan, EngineError> {
        let _ = (options, catalog);
        Err(EngineError::unsupported(
            self.capabilities().engine,
            format!("dropping role {name}"),
        ))
    }

    fn plan_grants(&self, spec: &GrantSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
        let _ = catalog;
        Err(EngineError::unsupported(
            self.capabilities().engine,
            format!("granting privileges to {}", spec.grantee),
        ))
    }

    /// Runs a plan: consecutive transactional steps for the same database share one transaction; the others
    /// run alone. Stops at the first failure.
    async fn apply(&self, plan: &Plan) -> Result<ApplyReport, EngineError>;

    /// Closes every pooled connection.
    async fn close(&self);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version_number("10.11.19-MariaDB-0+deb12u1"), (10, 11, 19));
        assert_eq!(
            parse_version_number("PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64"),
            (15, 18, 0)
        );
        assert_eq!(parse_version_number("8.0.36"), (8, 0, 36));
    }

    #[test]
    fn name_limits_count_the_right_unit() {
        let limits = NameLimits {
            database: NameLimit::mysql_identifier(64),
            user: NameLimit::chars(32),
            role: NameLimit::chars(32),
            host: NameLimit::chars(255),
            object: NameLimit::bytes(63),
        };
        assert!(limits.check("MySQL", NameKind::Database, &"é".repeat(64)).is_ok());
        assert!(
            limits
                .check("MySQL", NameKind::Database, &"é".repeat(65))
                .is_err()
        );
        assert!(limits.check("MySQL", NameKind::Database, "trailing ").is_err());
        assert!(limits.check("MySQL", NameKind::Database, "emoji 😀").is_err());
        assert!(
            limits
                .check("PostgreSQL", NameKind::Table, &"é".repeat(32))
                .is_err(),
            "64 bytes > 63"
        );
    }
}
