//! Databases.

use std::path::PathBuf;

use crate::name::Name;

/// A declared database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSpec {
    pub name: Name,
    /// PostgreSQL: `OWNER`. Not supported by MySQL (databases have no owner there) nor SQLite.
    pub owner: Option<Name>,
    pub postgres: PgDatabaseOptions,
    pub mysql: MySqlDatabaseOptions,
}

impl DatabaseSpec {
    pub fn new(name: Name) -> Self {
        Self {
            name,
            owner: None,
            postgres: PgDatabaseOptions::default(),
            mysql: MySqlDatabaseOptions::default(),
        }
    }
}

/// PostgreSQL database options. `None` means "not declared": dbprov neither sets nor checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgDatabaseOptions {
    /// `ENCODING`; fixed once the database exists (drift is reported, never corrected).
    pub encoding: Option<String>,
    /// `LC_COLLATE`; fixed once the database exists.
    pub lc_collate: Option<String>,
    /// `LC_CTYPE`; fixed once the database exists.
    pub lc_ctype: Option<String>,
    /// `TEMPLATE`; used only at creation.
    pub template: Option<Name>,
    /// `TABLESPACE`; `ALTER DATABASE ... SET TABLESPACE` moves it.
    pub tablespace: Option<Name>,
    /// `CONNECTION LIMIT` (-1 = unlimited).
    pub connection_limit: Option<i32>,
    /// `IS_TEMPLATE`.
    pub is_template: Option<bool>,
    /// `ALLOW_CONNECTIONS`.
    pub allow_connections: Option<bool>,
    /// Extensions that must exist in the database (`CREATE EXTENSION`); undeclared extensions are left alone.
    pub extensions: Vec<PgExtension>,
    /// Schemas that must exist in the database (`CREATE SCHEMA`); undeclared schemas are left alone.
    pub schemas: Vec<PgSchema>,
}

impl PgDatabaseOptions {
    /// Whether inspecting the database needs a connection into it (extensions and schemas live inside).
    pub fn needs_inside(&self) -> bool {
        !self.extensions.is_empty() || !self.schemas.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgExtension {
    pub name: Name,
    /// `SCHEMA`; `ALTER EXTENSION ... SET SCHEMA` moves it.
    pub schema: Option<Name>,
    /// `VERSION`; `ALTER EXTENSION ... UPDATE TO` changes it.
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSchema {
    pub name: Name,
    /// `AUTHORIZATION` at creation, `ALTER SCHEMA ... OWNER TO` afterwards.
    pub owner: Option<Name>,
}

/// MySQL/MariaDB database options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlDatabaseOptions {
    /// `CHARACTER SET`.
    pub charset: Option<String>,
    /// `COLLATE`.
    pub collation: Option<String>,
}

/// A database as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseState {
    pub name: Name,
    pub owner: Option<String>,
    pub postgres: Option<PgDatabaseState>,
    pub mysql: Option<MySqlDatabaseState>,
    pub sqlite: Option<SqliteDatabaseState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDatabaseState {
    pub encoding: String,
    pub lc_collate: String,
    pub lc_ctype: String,
    pub tablespace: String,
    pub connection_limit: i32,
    pub is_template: bool,
    pub allow_connections: bool,
    /// Read only when the request asked to look inside the database; `None` otherwise.
    pub extensions: Option<Vec<PgExtensionState>>,
    /// Read only when the request asked to look inside the database; `None` otherwise.
    pub schemas: Option<Vec<PgSchemaState>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgExtensionState {
    pub name: String,
    pub schema: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSchemaState {
    pub name: String,
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlDatabaseState {
    pub charset: String,
    pub collation: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteDatabaseState {
    pub path: PathBuf,
    pub journal_mode: String,
    pub size_bytes: u64,
}
