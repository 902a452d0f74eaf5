//! Grants: declared as privilege lists per object, compared as sets of atoms.
//!
//! Both engines reduce a declaration and the server's report to the same shape, a set of atoms
//! (object, privilege, grant option), and plan the difference: `GRANT` for atoms declared but missing,
//! `REVOKE` for atoms present but no longer declared. Only atoms inside the declaration's scope (the grantee
//! and the database) are compared, so a grant managed elsewhere is never revoked by accident.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::privilege::{MySqlPrivilege, MySqlRoutineKind, PgDefaultObjectType, PgPrivilege};
use crate::name::Name;

/// A declared set of privileges of one grantee within one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantSpec {
    pub grantee: Name,
    /// The database whose privileges are managed. PostgreSQL: the database itself and the schemas, tables,
    /// sequences, functions and default privileges inside it. MySQL: `db.*` and the tables, columns and
    /// routines of `db`.
    pub database: Name,
    pub postgres: PgGrants,
    pub mysql: MySqlGrants,
}

impl GrantSpec {
    /// Whether the declaration only concerns the database itself (no schema, table, sequence, function or
    /// default privileges): PostgreSQL can then inspect it without connecting into the database.
    pub fn is_database_level_only(&self) -> bool {
        let pg = &self.postgres;
        pg.schemas.is_empty()
            && pg.tables.is_empty()
            && pg.sequences.is_empty()
            && pg.functions.is_empty()
            && pg.default_privileges.is_empty()
    }
}

/// Which objects of a schema a grant covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectSelector {
    /// Every object of the kind in the schema (`ALL TABLES IN SCHEMA`), now and at every later reconcile.
    All,
    Named(Vec<Name>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgGrants {
    /// Privileges on the database itself (`CONNECT`, `CREATE`, `TEMPORARY`).
    pub database: Vec<PgPrivilege>,
    pub database_with_grant_option: bool,
    pub schemas: Vec<PgSchemaGrant>,
    pub tables: Vec<PgObjectGrant>,
    pub sequences: Vec<PgObjectGrant>,
    pub functions: Vec<PgObjectGrant>,
    pub default_privileges: Vec<PgDefaultPrivilege>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgSchemaGrant {
    pub schema: Name,
    pub privileges: Vec<PgPrivilege>,
    pub with_grant_option: bool,
}

/// Privileges on tables, sequences or functions of one schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgObjectGrant {
    pub schema: Name,
    pub objects: ObjectSelector,
    pub privileges: Vec<PgPrivilege>,
    pub with_grant_option: bool,
}

/// `ALTER DEFAULT PRIVILEGES [FOR ROLE for_role] [IN SCHEMA schema] GRANT privileges ON object_type TO grantee`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDefaultPrivilege {
    /// The role whose future objects are covered; `None` means the role dbprov connects as.
    pub for_role: Option<Name>,
    pub schema: Option<Name>,
    pub object_type: PgDefaultObjectType,
    pub privileges: Vec<PgPrivilege>,
    pub with_grant_option: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlGrants {
    /// Privileges on `*.*`. Managed only when declared (`Some`); `Some` with an empty list revokes them all.
    pub global: Option<MySqlPrivilegeSet>,
    /// Privileges on `db.*`.
    pub database: MySqlPrivilegeSet,
    pub tables: Vec<MySqlTableGrant>,
    pub columns: Vec<MySqlColumnGrant>,
    pub routines: Vec<MySqlRoutineGrant>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlPrivilegeSet {
    pub privileges: Vec<MySqlPrivilege>,
    pub with_grant_option: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlTableGrant {
    pub table: Name,
    pub privileges: MySqlPrivilegeSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlColumnGrant {
    pub table: Name,
    pub columns: Vec<Name>,
    /// `SELECT`, `INSERT`, `UPDATE`, `REFERENCES`.
    pub privileges: Vec<MySqlPrivilege>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlRoutineGrant {
    pub kind: MySqlRoutineKind,
    pub name: Name,
    pub privileges: MySqlPrivilegeSet,
}

/// A PostgreSQL object privileges are held on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgObject {
    Database(String),
    Schema(String),
    Table {
        schema: String,
        name: String,
    },
    Sequence {
        schema: String,
        name: String,
    },
    /// `signature` is the server's `regprocedure` rendering, e.g. `app.touch(integer)`.
    Function {
        schema: String,
        name: String,
        signature: String,
    },
    DefaultPrivileges {
        for_role: String,
        schema: Option<String>,
        object_type: PgDefaultObjectType,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PgGrantAtom {
    pub object: PgObject,
    pub privilege: PgPrivilege,
    pub with_grant_option: bool,
}

/// A relation or sequence inside a database, for expanding `All` selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRelation {
    pub schema: String,
    pub name: String,
    pub owner: String,
    pub is_sequence: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRoutine {
    pub schema: String,
    pub name: String,
    pub signature: String,
    pub owner: String,
}

/// The privileges a PostgreSQL grantee holds inside one database, plus the objects needed to expand `All`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgGrantState {
    /// Whether the database exists (when it does not, everything must be granted after it is created).
    pub database_exists: bool,
    pub atoms: BTreeSet<PgGrantAtom>,
    /// Schema name → owner.
    pub schemas: BTreeMap<String, String>,
    pub relations: Vec<PgRelation>,
    pub routines: Vec<PgRoutine>,
    /// The role dbprov is connected as (the default `for_role` of default privileges).
    pub current_user: String,
    /// Whether the objects inside the database were read. When they were not (the request said only
    /// database-level privileges are managed), `atoms` holds database-level privileges only and the plan must
    /// not manage anything inside.
    pub inside_read: bool,
    /// The owner of the database, when it exists. An owner's privileges are implicit, so a grantee that
    /// owns the database has no database-level grants to manage.
    pub database_owner: Option<String>,
}

/// A MySQL object privileges are held on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MySqlObject {
    Global,
    Database(String),
    Table {
        database: String,
        table: String,
    },
    Column {
        database: String,
        table: String,
        column: String,
    },
    Routine {
        database: String,
        kind: MySqlRoutineKind,
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MySqlGrantAtom {
    /// The account host (`%`, `10.0.0.%`); a logical user's privileges are managed on each of its accounts.
    pub host: String,
    pub object: MySqlObject,
    /// `GRANT OPTION` is an atom of its own at its level, as MySQL stores it.
    pub privilege: MySqlPrivilege,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlGrantState {
    /// The grantee's accounts (hosts); empty when the user or role does not exist yet.
    pub hosts: Vec<String>,
    pub atoms: BTreeSet<MySqlGrantAtom>,
}

/// A grantee's privileges within a scope, as the server reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantState {
    Postgres(PgGrantState),
    MySql(MySqlGrantState),
}
