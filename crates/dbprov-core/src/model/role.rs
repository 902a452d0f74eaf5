//! Users and roles. A user is a role that can log in; MySQL/MariaDB users may exist once per allowed host.

use std::collections::{BTreeMap, BTreeSet};

use crate::name::Name;
use crate::secret::Secret;

/// A declared user (`login: true`) or group role (`login: false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: Name,
    pub login: bool,
    pub password: Option<PasswordSpec>,
    pub postgres: PgRoleOptions,
    pub mysql: MySqlAccountOptions,
}

impl RoleSpec {
    pub fn user(name: Name) -> Self {
        Self {
            name,
            login: true,
            password: None,
            postgres: PgRoleOptions::default(),
            mysql: MySqlAccountOptions::default(),
        }
    }

    pub fn group(name: Name) -> Self {
        Self {
            login: false,
            ..Self::user(name)
        }
    }

    pub fn kind(&self) -> &'static str {
        if self.login { "user" } else { "role" }
    }
}

/// The password a role must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSpec {
    pub value: Secret,
    /// When the server does not let dbprov read the stored verifier (PostgreSQL without superuser, MySQL 8's
    /// salted `caching_sha2_password`), whether to set the password anyway. The reconcilers set this when
    /// the secret changed since the last apply, so an unverifiable password is set once, not on every run.
    pub set_when_unverifiable: bool,
}

impl PasswordSpec {
    pub fn new(value: Secret) -> Self {
        Self {
            value,
            set_when_unverifiable: true,
        }
    }
}

/// PostgreSQL role attributes. `None` means "not declared": neither set nor checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgRoleOptions {
    pub superuser: Option<bool>,
    pub createdb: Option<bool>,
    pub createrole: Option<bool>,
    pub inherit: Option<bool>,
    pub replication: Option<bool>,
    pub bypassrls: Option<bool>,
    /// `CONNECTION LIMIT` (-1 = unlimited).
    pub connection_limit: Option<i32>,
    /// `VALID UNTIL`, a timestamp PostgreSQL accepts (`2030-01-01T00:00:00Z`, `infinity`).
    pub valid_until: Option<String>,
    /// Roles this role is a member of (`GRANT role TO this`). When declared, exactly these: memberships
    /// not listed are revoked.
    pub member_of: Option<BTreeSet<Name>>,
    /// `ALTER ROLE ... SET name = value`. When declared, exactly these: settings not listed are reset.
    pub config: Option<BTreeMap<String, String>>,
}

/// MySQL/MariaDB `REQUIRE` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MySqlTlsRequirement {
    None,
    Ssl,
    X509,
    Specified {
        issuer: Option<String>,
        subject: Option<String>,
        cipher: Option<String>,
    },
}

/// MySQL 8 `PASSWORD_LOCK_TIME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordLockTime {
    Days(u16),
    Unbounded,
}

/// MySQL/MariaDB account options. `None` means "not declared".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MySqlAccountOptions {
    /// Hosts the user may connect from; one account `user@host` each. Empty means `["%"]`. Accounts of the
    /// user on hosts not listed are dropped (reported as destructive drift).
    pub hosts: Vec<String>,
    /// `IDENTIFIED WITH plugin` (`mysql_native_password`, `caching_sha2_password`, `ed25519`...).
    pub auth_plugin: Option<String>,
    pub require: Option<MySqlTlsRequirement>,
    pub max_queries_per_hour: Option<u32>,
    pub max_updates_per_hour: Option<u32>,
    pub max_connections_per_hour: Option<u32>,
    pub max_user_connections: Option<u32>,
    /// `ACCOUNT LOCK` / `ACCOUNT UNLOCK`.
    pub account_locked: Option<bool>,
    /// MySQL 8.0.19+ only: `FAILED_LOGIN_ATTEMPTS`.
    pub failed_login_attempts: Option<u16>,
    /// MySQL 8.0.19+ only: `PASSWORD_LOCK_TIME`.
    pub password_lock_time: Option<PasswordLockTime>,
    /// Roles granted to the user (`GRANT role TO user`). When declared, exactly these.
    pub roles: Option<BTreeSet<Name>>,
}

impl MySqlAccountOptions {
    /// The declared hosts, or `%` when none are declared.
    pub fn effective_hosts(&self) -> Vec<String> {
        if self.hosts.is_empty() {
            vec!["%".to_owned()]
        } else {
            self.hosts.clone()
        }
    }
}

/// What a server lets dbprov know about a stored password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordState {
    /// No password is set.
    None,
    /// A password is set, but its verifier cannot be read or checked.
    Unverifiable,
    /// The stored verifier (`SCRAM-SHA-256$...`, `md5...`, `*HEX`), checkable against a candidate.
    Verifier(Secret),
}

/// A role as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleState {
    pub name: Name,
    pub login: bool,
    pub password: PasswordState,
    pub postgres: Option<PgRoleState>,
    pub mysql: Option<MySqlUserState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgRoleState {
    pub superuser: bool,
    pub createdb: bool,
    pub createrole: bool,
    pub inherit: bool,
    pub replication: bool,
    pub bypassrls: bool,
    pub connection_limit: i32,
    /// `rolvaliduntil` rendered by the server, `None` when unset.
    pub valid_until: Option<String>,
    pub member_of: BTreeSet<String>,
    pub config: BTreeMap<String, String>,
    /// Databases in which the role owns objects or holds privileges (from `pg_shdepend`), plus whether it
    /// owns databases itself: needed to drop it per policy.
    pub dependent_databases: BTreeSet<String>,
    pub owned_databases: BTreeSet<String>,
}

/// A MySQL/MariaDB user: its accounts, one per host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlUserState {
    pub accounts: BTreeMap<String, MySqlAccountState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlAccountState {
    pub host: String,
    pub is_role: bool,
    pub plugin: String,
    pub password: PasswordState,
    pub require: MySqlTlsRequirement,
    pub max_queries_per_hour: u32,
    pub max_updates_per_hour: u32,
    pub max_connections_per_hour: u32,
    pub max_user_connections: u32,
    pub account_locked: bool,
    /// MySQL 8 only; `None` on MariaDB.
    pub failed_login_attempts: Option<u16>,
    /// MySQL 8 only; `None` on MariaDB.
    pub password_lock_time: Option<PasswordLockTime>,
    pub roles: BTreeSet<String>,
    /// Roles activated at login (MariaDB: at most one, `SET DEFAULT ROLE`; MySQL 8: `mysql.default_roles`).
    pub default_roles: BTreeSet<String>,
}

/// What to do with objects a dropped role still owns (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OwnedObjectsPolicy {
    /// Refuse to drop a role that owns objects or holds privileges, naming where (the safe default).
    #[default]
    Fail,
    /// `REASSIGN OWNED BY role TO new_owner` in every affected database, then `DROP OWNED` (privileges).
    Reassign { new_owner: Name },
    /// `DROP OWNED BY role` in every affected database: its objects are destroyed.
    Drop,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DropRoleOptions {
    pub owned_objects: OwnedObjectsPolicy,
}
