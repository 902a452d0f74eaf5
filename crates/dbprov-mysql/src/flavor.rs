//! MySQL 8 versus MariaDB: the facts found at connect time and everything that depends on them.
//!
//! Every branch on the server flavour or version lives here, so the SQL builders and the planner ask a
//! question ("does this server have `FAILED_LOGIN_ATTEMPTS`?") instead of comparing version numbers.

use dbprov_core::engine::default_name_limits;
use dbprov_core::model::MySqlPrivilege;
use dbprov_core::{Capabilities, Dialect, EngineKind, MySqlStringMode, NameLimit, NameLimits};

/// The oldest servers whose grant tables dbprov reads: MariaDB 10.4 moved accounts to `mysql.global_priv`,
/// MySQL 8.0 added roles (`mysql.role_edges`).
pub const MIN_MARIADB: (u32, u32, u32) = (10, 4, 0);
pub const MIN_MYSQL: (u32, u32, u32) = (8, 0, 0);

/// What the server told us at connect time, as far as SQL generation and planning care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerFacts {
    /// `MySql` or `MariaDb`, detected from `VERSION()`.
    pub kind: EngineKind,
    pub version: (u32, u32, u32),
    /// How the server parses backslashes in string literals (`sql_mode` has `NO_BACKSLASH_ESCAPES` or not).
    pub string_mode: MySqlStringMode,
}

impl ServerFacts {
    pub fn new(kind: EngineKind, version: (u32, u32, u32), string_mode: MySqlStringMode) -> Self {
        Self {
            kind,
            version,
            string_mode,
        }
    }

    pub fn is_mariadb(&self) -> bool {
        self.kind == EngineKind::MariaDb
    }

    pub fn engine(&self) -> &'static str {
        self.kind.display_name()
    }

    pub fn dialect(&self) -> Dialect {
        Dialect::MySql(self.string_mode)
    }

    fn at_least(&self, version: (u32, u32, u32)) -> bool {
        self.version >= version
    }

    /// `FAILED_LOGIN_ATTEMPTS` / `PASSWORD_LOCK_TIME` (MySQL 8.0.19+; MariaDB has no equivalent).
    pub fn has_failed_login_lock(&self) -> bool {
        !self.is_mariadb() && self.at_least((8, 0, 19))
    }

    /// `mysql.user.User_attributes` exists and holds the failed-login settings.
    pub fn has_user_attributes(&self) -> bool {
        self.has_failed_login_lock()
    }

    /// The plugin a new account gets when the declaration names none.
    pub fn default_auth_plugin(&self) -> &'static str {
        if self.is_mariadb() {
            NATIVE_PASSWORD
        } else {
            CACHING_SHA2_PASSWORD
        }
    }

    /// The privilege a server stores for a declared one. MariaDB 10.5.2 renamed `REPLICATION CLIENT` to
    /// `BINLOG MONITOR` and made `REPLICA MONITOR` an alias of `SLAVE MONITOR`: both names set the same bit
    /// and `SHOW GRANTS` reports the new name, so declarations are compared under that name.
    pub fn canonical_privilege(&self, privilege: MySqlPrivilege) -> MySqlPrivilege {
        if self.is_mariadb() && self.at_least((10, 5, 2)) {
            match privilege {
                MySqlPrivilege::ReplicationClient => MySqlPrivilege::BinlogMonitor,
                MySqlPrivilege::ReplicaMonitor => MySqlPrivilege::SlaveMonitor,
                other => other,
            }
        } else {
            privilege
        }
    }

    /// The privilege bits of MariaDB's `mysql.global_priv` `access` value, lowest bit first.
    pub fn mariadb_access_bits(&self) -> [MySqlPrivilege; 39] {
        use MySqlPrivilege::*;
        let replication_client = if self.at_least((10, 5, 2)) {
            BinlogMonitor
        } else {
            ReplicationClient
        };
        [
            Select,
            Insert,
            Update,
            Delete,
            Create,
            Drop,
            Reload,
            Shutdown,
            Process,
            File,
            GrantOption,
            References,
            Index,
            Alter,
            ShowDatabases,
            Super,
            CreateTemporaryTables,
            LockTables,
            Execute,
            ReplicationSlave,
            replication_client,
            CreateView,
            ShowView,
            CreateRoutine,
            AlterRoutine,
            CreateUser,
            Event,
            Trigger,
            CreateTablespace,
            DeleteHistory,
            SetUser,
            FederatedAdmin,
            ConnectionAdmin,
            ReadOnlyAdmin,
            ReplicationSlaveAdmin,
            ReplicationMasterAdmin,
            BinlogAdmin,
            BinlogReplay,
            SlaveMonitor,
        ]
    }
}

/// `mysql_native_password`: the verifier is `*` + hex(SHA1(SHA1(password))), comparable offline.
pub const NATIVE_PASSWORD: &str = "mysql_native_password";
/// `caching_sha2_password` (MySQL 8): a salted verifier that cannot be compared offline.
pub const CACHING_SHA2_PASSWORD: &str = "caching_sha2_password";

/// What a MySQL or MariaDB server of `version` can do.
pub fn capabilities(kind: EngineKind, version: (u32, u32, u32)) -> Capabilities {
    let mariadb = kind == EngineKind::MariaDb;
    // Measured on MariaDB 10.11 (128 characters for users and roles, 255 for hosts); older MariaDB
    // releases store 80 and 60. MySQL: 32 since 5.7.8, hosts 255 since 8.0.17.
    let user_chars = if mariadb {
        if version >= (10, 11, 0) { 128 } else { 80 }
    } else if version >= (5, 7, 8) {
        32
    } else {
        16
    };
    let host_chars = if mariadb {
        if version >= (10, 11, 0) { 255 } else { 60 }
    } else if version >= (8, 0, 17) {
        255
    } else {
        60
    };
    // The version-independent rules (identifier rules for accounts too: grant tables store names in CHAR
    // columns of a 3-byte UTF-8 set), refined below with this server's longer account names.
    let base = default_name_limits(kind);
    Capabilities {
        engine: kind.display_name(),
        transactional_ddl: false,
        users: true,
        roles: if mariadb {
            version >= (10, 0, 5)
        } else {
            version >= (8, 0, 0)
        },
        grants: true,
        database_owner: false,
        schemas: false,
        extensions: false,
        default_privileges: false,
        tablespaces: false,
        role_attributes: false,
        accounts: true,
        account_lock: if mariadb {
            version >= (10, 4, 2)
        } else {
            version >= (5, 7, 6)
        },
        failed_login_lock: !mariadb && version >= (8, 0, 19),
        mariadb_privileges: mariadb,
        charset_collation: true,
        advisory_locks: true,
        name_limits: NameLimits {
            user: NameLimit::mysql_identifier(user_chars),
            role: NameLimit::mysql_identifier(user_chars),
            host: NameLimit::mysql_identifier(host_chars),
            ..base
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbprov_core::NameKind;

    #[test]
    fn capabilities_follow_flavour_and_version() {
        let maria = capabilities(EngineKind::MariaDb, (10, 11, 19));
        assert!(maria.roles && maria.account_lock && maria.mariadb_privileges);
        assert!(!maria.failed_login_lock && !maria.transactional_ddl && !maria.database_owner);
        assert_eq!(maria.engine, "MariaDB");
        assert_eq!(maria.name_limits.user.max, 128);

        let mysql = capabilities(EngineKind::MySql, (8, 0, 36));
        assert!(mysql.roles && mysql.account_lock && mysql.failed_login_lock);
        assert!(!mysql.mariadb_privileges);
        assert_eq!(mysql.name_limits.user.max, 32);
        assert_eq!(mysql.name_limits.host.max, 255);

        assert!(!capabilities(EngineKind::MySql, (8, 0, 18)).failed_login_lock);
        assert!(!capabilities(EngineKind::MariaDb, (10, 4, 1)).account_lock);
        assert!(!capabilities(EngineKind::MySql, (5, 7, 40)).roles);
    }

    #[test]
    fn names_follow_mysql_identifier_rules() {
        let caps = capabilities(EngineKind::MySql, (8, 0, 36));
        let limits = caps.name_limits;
        assert!(limits.check("MySQL", NameKind::Database, &"d".repeat(64)).is_ok());
        assert!(
            limits
                .check("MySQL", NameKind::Database, &"d".repeat(65))
                .is_err()
        );
        assert!(limits.check("MySQL", NameKind::User, &"u".repeat(33)).is_err());
        assert!(limits.check("MySQL", NameKind::User, "trailing ").is_err());
        assert!(limits.check("MySQL", NameKind::Table, "emoji 😀").is_err());
    }

    #[test]
    fn mariadb_renamed_privileges_compare_under_the_new_name() {
        let new = ServerFacts::new(
            EngineKind::MariaDb,
            (10, 11, 0),
            MySqlStringMode::BackslashEscapes,
        );
        assert_eq!(
            new.canonical_privilege(MySqlPrivilege::ReplicationClient),
            MySqlPrivilege::BinlogMonitor
        );
        assert_eq!(
            new.canonical_privilege(MySqlPrivilege::ReplicaMonitor),
            MySqlPrivilege::SlaveMonitor
        );
        let mysql = ServerFacts::new(EngineKind::MySql, (8, 0, 36), MySqlStringMode::BackslashEscapes);
        assert_eq!(
            mysql.canonical_privilege(MySqlPrivilege::ReplicationClient),
            MySqlPrivilege::ReplicationClient
        );
        assert_eq!(new.mariadb_access_bits()[20], MySqlPrivilege::BinlogMonitor);
        assert_eq!(new.mariadb_access_bits()[38], MySqlPrivilege::SlaveMonitor);
    }
}
