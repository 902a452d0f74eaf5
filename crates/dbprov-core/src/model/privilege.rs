//! Privilege keywords, parsed from declarations and from catalogs, and where each one is valid.

use std::fmt;

/// A privilege keyword that is unknown or not valid on the object it was declared for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrivilegeError {
    #[error("unknown {engine} privilege {privilege:?}")]
    Unknown { engine: &'static str, privilege: String },
    #[error("privilege {privilege} cannot be granted on {level} (valid there: {valid})")]
    WrongLevel {
        privilege: String,
        level: &'static str,
        valid: String,
    },
}

fn normalize(keyword: &str) -> String {
    keyword
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('_', " ")
        .to_ascii_uppercase()
}

/// PostgreSQL privileges (`GRANT` keywords and `aclexplode` privilege types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgPrivilege {
    Select,
    Insert,
    Update,
    Delete,
    Truncate,
    References,
    Trigger,
    Create,
    Connect,
    Temporary,
    Execute,
    Usage,
}

/// The kinds of PostgreSQL objects privileges are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgObjectKind {
    Database,
    Schema,
    Table,
    Sequence,
    Function,
    Type,
}

impl PgObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PgObjectKind::Database => "DATABASE",
            PgObjectKind::Schema => "SCHEMA",
            PgObjectKind::Table => "TABLE",
            PgObjectKind::Sequence => "SEQUENCE",
            PgObjectKind::Function => "FUNCTION",
            PgObjectKind::Type => "TYPE",
        }
    }

    /// What `ALL PRIVILEGES` means on this kind of object.
    pub fn all_privileges(self) -> &'static [PgPrivilege] {
        use PgPrivilege::*;
        match self {
            PgObjectKind::Database => &[Create, Connect, Temporary],
            PgObjectKind::Schema => &[Usage, Create],
            PgObjectKind::Table => &[Select, Insert, Update, Delete, Truncate, References, Trigger],
            PgObjectKind::Sequence => &[Usage, Select, Update],
            PgObjectKind::Function => &[Execute],
            PgObjectKind::Type => &[Usage],
        }
    }
}

impl PgPrivilege {
    pub const ALL: [PgPrivilege; 12] = [
        PgPrivilege::Select,
        PgPrivilege::Insert,
        PgPrivilege::Update,
        PgPrivilege::Delete,
        PgPrivilege::Truncate,
        PgPrivilege::References,
        PgPrivilege::Trigger,
        PgPrivilege::Create,
        PgPrivilege::Connect,
        PgPrivilege::Temporary,
        PgPrivilege::Execute,
        PgPrivilege::Usage,
    ];

    /// The SQL keyword (also what `aclexplode` reports).
    pub fn keyword(self) -> &'static str {
        match self {
            PgPrivilege::Select => "SELECT",
            PgPrivilege::Insert => "INSERT",
            PgPrivilege::Update => "UPDATE",
            PgPrivilege::Delete => "DELETE",
            PgPrivilege::Truncate => "TRUNCATE",
            PgPrivilege::References => "REFERENCES",
            PgPrivilege::Trigger => "TRIGGER",
            PgPrivilege::Create => "CREATE",
            PgPrivilege::Connect => "CONNECT",
            PgPrivilege::Temporary => "TEMPORARY",
            PgPrivilege::Execute => "EXECUTE",
            PgPrivilege::Usage => "USAGE",
        }
    }

    /// Parses one keyword (`select`, `TEMP`). `ALL`/`ALL PRIVILEGES` is expanded by [`PgPrivilege::parse_list`].
    pub fn parse(keyword: &str) -> Result<Self, PrivilegeError> {
        let normalized = normalize(keyword);
        if normalized == "TEMP" {
            return Ok(PgPrivilege::Temporary);
        }
        Self::ALL
            .into_iter()
            .find(|privilege| privilege.keyword() == normalized)
            .ok_or_else(|| PrivilegeError::Unknown {
                engine: "PostgreSQL",
                privilege: keyword.to_owned(),
            })
    }

    /// Parses a declared list for one kind of object, expanding `ALL` and checking validity.
    pub fn parse_list(keywords: &[String], kind: PgObjectKind) -> Result<Vec<PgPrivilege>, PrivilegeError> {
        let mut out = Vec::new();
        for keyword in keywords {
            let normalized = normalize(keyword);
            if normalized == "ALL" || normalized == "ALL PRIVILEGES" {
                out.extend_from_slice(kind.all_privileges());
                continue;
            }
            let privilege = Self::parse(keyword)?;
            if !kind.all_privileges().contains(&privilege) {
                return Err(PrivilegeError::WrongLevel {
                    privilege: privilege.keyword().to_owned(),
                    level: kind.as_str(),
                    valid: kind
                        .all_privileges()
                        .iter()
                        .map(|p| p.keyword())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            out.push(privilege);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for PgPrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Object types of `ALTER DEFAULT PRIVILEGES ... ON <type>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PgDefaultObjectType {
    Tables,
    Sequences,
    Functions,
    Types,
    Schemas,
}

impl PgDefaultObjectType {
    pub fn keyword(self) -> &'static str {
        match self {
            PgDefaultObjectType::Tables => "TABLES",
            PgDefaultObjectType::Sequences => "SEQUENCES",
            PgDefaultObjectType::Functions => "FUNCTIONS",
            PgDefaultObjectType::Types => "TYPES",
            PgDefaultObjectType::Schemas => "SCHEMAS",
        }
    }

    /// The `pg_default_acl.defaclobjtype` code.
    pub fn catalog_code(self) -> char {
        match self {
            PgDefaultObjectType::Tables => 'r',
            PgDefaultObjectType::Sequences => 'S',
            PgDefaultObjectType::Functions => 'f',
            PgDefaultObjectType::Types => 'T',
            PgDefaultObjectType::Schemas => 'n',
        }
    }

    pub fn from_catalog_code(code: char) -> Option<Self> {
        [
            Self::Tables,
            Self::Sequences,
            Self::Functions,
            Self::Types,
            Self::Schemas,
        ]
        .into_iter()
        .find(|kind| kind.catalog_code() == code)
    }

    pub fn parse(keyword: &str) -> Option<Self> {
        match normalize(keyword).as_str() {
            "TABLES" | "TABLE" => Some(Self::Tables),
            "SEQUENCES" | "SEQUENCE" => Some(Self::Sequences),
            "FUNCTIONS" | "FUNCTION" | "ROUTINES" => Some(Self::Functions),
            "TYPES" | "TYPE" => Some(Self::Types),
            "SCHEMAS" | "SCHEMA" => Some(Self::Schemas),
            _ => None,
        }
    }

    pub fn object_kind(self) -> PgObjectKind {
        match self {
            PgDefaultObjectType::Tables => PgObjectKind::Table,
            PgDefaultObjectType::Sequences => PgObjectKind::Sequence,
            PgDefaultObjectType::Functions => PgObjectKind::Function,
            PgDefaultObjectType::Types => PgObjectKind::Type,
            PgDefaultObjectType::Schemas => PgObjectKind::Schema,
        }
    }
}

/// The grant levels of MySQL/MariaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MySqlLevel {
    Global,
    Database,
    Table,
    Column,
    Routine,
}

impl MySqlLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            MySqlLevel::Global => "global level (*.*)",
            MySqlLevel::Database => "database level (db.*)",
            MySqlLevel::Table => "table level",
            MySqlLevel::Column => "column level",
            MySqlLevel::Routine => "routine level",
        }
    }
}

/// `PROCEDURE` or `FUNCTION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MySqlRoutineKind {
    Procedure,
    Function,
}

impl MySqlRoutineKind {
    pub fn keyword(self) -> &'static str {
        match self {
            MySqlRoutineKind::Procedure => "PROCEDURE",
            MySqlRoutineKind::Function => "FUNCTION",
        }
    }
}

macro_rules! mysql_privileges {
    ($($variant:ident => $keyword:literal, [$($level:ident),*], mariadb_only = $mariadb:literal;)*) => {
        /// MySQL/MariaDB static privileges.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MySqlPrivilege { $($variant,)* }

        impl MySqlPrivilege {
            pub const ALL: &'static [MySqlPrivilege] = &[$(MySqlPrivilege::$variant,)*];

            /// The SQL keyword (also what `information_schema` reports in `PRIVILEGE_TYPE`).
            pub fn keyword(self) -> &'static str {
                match self { $(MySqlPrivilege::$variant => $keyword,)* }
            }

            /// The levels the privilege can be granted at.
            pub fn levels(self) -> &'static [MySqlLevel] {
                match self { $(MySqlPrivilege::$variant => &[$(MySqlLevel::$level),*],)* }
            }

            /// Whether only MariaDB knows this privilege.
            pub fn mariadb_only(self) -> bool {
                match self { $(MySqlPrivilege::$variant => $mariadb,)* }
            }
        }
    };
}

mysql_privileges! {
    Alter => "ALTER", [Global, Database, Table], mariadb_only = false;
    AlterRoutine => "ALTER ROUTINE", [Global, Database, Routine], mariadb_only = false;
    Create => "CREATE", [Global, Database, Table], mariadb_only = false;
    CreateRoutine => "CREATE ROUTINE", [Global, Database], mariadb_only = false;
    CreateTablespace => "CREATE TABLESPACE", [Global], mariadb_only = false;
    CreateTemporaryTables => "CREATE TEMPORARY TABLES", [Global, Database], mariadb_only = false;
    CreateUser => "CREATE USER", [Global], mariadb_only = false;
    CreateView => "CREATE VIEW", [Global, Database, Table], mariadb_only = false;
    Delete => "DELETE", [Global, Database, Table], mariadb_only = false;
    DeleteHistory => "DELETE HISTORY", [Global, Database, Table], mariadb_only = true;
    Drop => "DROP", [Global, Database, Table], mariadb_only = false;
    Event => "EVENT", [Global, Database], mariadb_only = false;
    Execute => "EXECUTE", [Global, Database, Routine], mariadb_only = false;
    File => "FILE", [Global], mariadb_only = false;
    GrantOption => "GRANT OPTION", [Global, Database, Table, Routine], mariadb_only = false;
    Index => "INDEX", [Global, Database, Table], mariadb_only = false;
    Insert => "INSERT", [Global, Database, Table, Column], mariadb_only = false;
    LockTables => "LOCK TABLES", [Global, Database], mariadb_only = false;
    Process => "PROCESS", [Global], mariadb_only = false;
    References => "REFERENCES", [Global, Database, Table, Column], mariadb_only = false;
    Reload => "RELOAD", [Global], mariadb_only = false;
    ReplicationClient => "REPLICATION CLIENT", [Global], mariadb_only = false;
    ReplicationSlave => "REPLICATION SLAVE", [Global], mariadb_only = false;
    Select => "SELECT", [Global, Database, Table, Column], mariadb_only = false;
    ShowDatabases => "SHOW DATABASES", [Global], mariadb_only = false;
    ShowView => "SHOW VIEW", [Global, Database, Table], mariadb_only = false;
    Shutdown => "SHUTDOWN", [Global], mariadb_only = false;
    Super => "SUPER", [Global], mariadb_only = false;
    Trigger => "TRIGGER", [Global, Database, Table], mariadb_only = false;
    Update => "UPDATE", [Global, Database, Table, Column], mariadb_only = false;
    BinlogAdmin => "BINLOG ADMIN", [Global], mariadb_only = true;
    BinlogMonitor => "BINLOG MONITOR", [Global], mariadb_only = true;
    BinlogReplay => "BINLOG REPLAY", [Global], mariadb_only = true;
    ConnectionAdmin => "CONNECTION ADMIN", [Global], mariadb_only = true;
    FederatedAdmin => "FEDERATED ADMIN", [Global], mariadb_only = true;
    ReadOnlyAdmin => "READ_ONLY ADMIN", [Global], mariadb_only = true;
    ReplicationMasterAdmin => "REPLICATION MASTER ADMIN", [Global], mariadb_only = true;
    ReplicaMonitor => "REPLICA MONITOR", [Global], mariadb_only = true;
    ReplicationSlaveAdmin => "REPLICATION SLAVE ADMIN", [Global], mariadb_only = true;
    SetUser => "SET USER", [Global], mariadb_only = true;
    SlaveMonitor => "SLAVE MONITOR", [Global], mariadb_only = true;
}

impl MySqlPrivilege {
    /// Parses one keyword, case-insensitively (`lock tables`, `LOCK_TABLES`, `Read_only admin`).
    pub fn parse(keyword: &str) -> Result<Self, PrivilegeError> {
        let normalized = normalize(keyword);
        Self::ALL
            .iter()
            .copied()
            .find(|privilege| normalize(privilege.keyword()) == normalized)
            .ok_or_else(|| PrivilegeError::Unknown {
                engine: "MySQL",
                privilege: keyword.to_owned(),
            })
    }

    /// The privileges `ALL PRIVILEGES` grants at a level (without `GRANT OPTION`).
    pub fn all_at(level: MySqlLevel, mariadb: bool) -> Vec<MySqlPrivilege> {
        Self::ALL
            .iter()
            .copied()
            .filter(|privilege| *privilege != MySqlPrivilege::GrantOption)
            .filter(|privilege| privilege.levels().contains(&level))
            .filter(|privilege| mariadb || !privilege.mariadb_only())
            // MariaDB's ALL at the global level does not include the MariaDB-only admin privileges
            // individually; they are granted by name.
            .filter(|privilege| {
                level != MySqlLevel::Global
                    || !privilege.mariadb_only()
                    || *privilege == MySqlPrivilege::DeleteHistory
            })
            .collect()
    }

    /// Parses a declared list for one level, expanding `ALL` and checking validity.
    pub fn parse_list(
        keywords: &[String],
        level: MySqlLevel,
        mariadb: bool,
    ) -> Result<Vec<MySqlPrivilege>, PrivilegeError> {
        let mut out = Vec::new();
        for keyword in keywords {
            let normalized = normalize(keyword);
            if normalized == "ALL" || normalized == "ALL PRIVILEGES" {
                out.extend(Self::all_at(level, mariadb));
                continue;
            }
            let privilege = Self::parse(keyword)?;
            if !privilege.levels().contains(&level) || (privilege.mariadb_only() && !mariadb) {
                return Err(PrivilegeError::WrongLevel {
                    privilege: privilege.keyword().to_owned(),
                    level: level.as_str(),
                    valid: Self::all_at(level, mariadb)
                        .iter()
                        .map(|p| p.keyword())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            out.push(privilege);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl fmt::Display for MySqlPrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_all_expands_per_object_kind() {
        let all = PgPrivilege::parse_list(&["ALL".into()], PgObjectKind::Database).unwrap();
        assert_eq!(
            all,
            vec![PgPrivilege::Create, PgPrivilege::Connect, PgPrivilege::Temporary]
        );
        assert_eq!(PgPrivilege::parse("temp").unwrap(), PgPrivilege::Temporary);
    }

    #[test]
    fn pg_rejects_wrong_level_and_unknown() {
        let error = PgPrivilege::parse_list(&["SELECT".into()], PgObjectKind::Database).unwrap_err();
        assert!(
            error.to_string().contains("cannot be granted on DATABASE"),
            "{error}"
        );
        assert!(matches!(
            PgPrivilege::parse("SELEC"),
            Err(PrivilegeError::Unknown { .. })
        ));
        assert!(PgPrivilege::parse("SELECT; DROP TABLE x").is_err());
    }

    #[test]
    fn mysql_keywords_parse_loosely_but_exactly() {
        assert_eq!(
            MySqlPrivilege::parse("lock_tables").unwrap(),
            MySqlPrivilege::LockTables
        );
        assert_eq!(
            MySqlPrivilege::parse("Lock   Tables").unwrap(),
            MySqlPrivilege::LockTables
        );
        assert!(MySqlPrivilege::parse("LOCK").is_err());
    }

    #[test]
    fn mysql_levels_are_checked() {
        assert!(MySqlPrivilege::parse_list(&["SUPER".into()], MySqlLevel::Database, true).is_err());
        assert!(MySqlPrivilege::parse_list(&["DELETE HISTORY".into()], MySqlLevel::Database, false).is_err());
        let column = MySqlPrivilege::parse_list(&["ALL".into()], MySqlLevel::Column, true).unwrap();
        assert_eq!(
            column,
            vec![
                MySqlPrivilege::Insert,
                MySqlPrivilege::References,
                MySqlPrivilege::Select,
                MySqlPrivilege::Update
            ]
        );
    }
}
