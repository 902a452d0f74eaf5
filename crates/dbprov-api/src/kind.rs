//! The kinds of the API, spelled the ways kubectl accepts.

use std::fmt;

/// Namespaced or cluster-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Lives in a namespace.
    Namespaced,
    /// Cluster-wide.
    Cluster,
}

/// A kind of `dbops.dbprovision.io/v1alpha1`, in dependency order (instances first, grants last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A namespaced database server.
    DatabaseInstance,
    /// A cluster-scoped database server.
    ClusterDatabaseInstance,
    /// A database.
    Database,
    /// A role (group of privileges).
    DatabaseRole,
    /// A login user.
    DatabaseUser,
    /// Privileges and memberships of a user or role.
    DatabaseGrant,
    /// Schema migrations applied to a database.
    DatabaseMigration,
    /// A one-shot backup of a database.
    DatabaseBackup,
    /// Backups on a cron schedule, with retention.
    DatabaseBackupSchedule,
    /// A restore of a backup.
    DatabaseRestore,
    /// An OAuth2 client in a clientdb client database.
    OAuth2Client,
}

impl Kind {
    /// Every kind, in dependency order.
    pub const ALL: [Kind; 11] = [
        Kind::DatabaseInstance,
        Kind::ClusterDatabaseInstance,
        Kind::Database,
        Kind::DatabaseRole,
        Kind::DatabaseUser,
        Kind::DatabaseGrant,
        Kind::DatabaseMigration,
        Kind::DatabaseBackup,
        Kind::DatabaseBackupSchedule,
        Kind::DatabaseRestore,
        Kind::OAuth2Client,
    ];

    /// The `kind` field value.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DatabaseInstance => "DatabaseInstance",
            Kind::ClusterDatabaseInstance => "ClusterDatabaseInstance",
            Kind::Database => "Database",
            Kind::DatabaseRole => "DatabaseRole",
            Kind::DatabaseUser => "DatabaseUser",
            Kind::DatabaseGrant => "DatabaseGrant",
            Kind::DatabaseMigration => "DatabaseMigration",
            Kind::DatabaseBackup => "DatabaseBackup",
            Kind::DatabaseBackupSchedule => "DatabaseBackupSchedule",
            Kind::DatabaseRestore => "DatabaseRestore",
            Kind::OAuth2Client => "OAuth2Client",
        }
    }

    /// The lower-case singular (`databaseinstance`).
    pub fn singular(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// The resource name (`databaseinstances`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::DatabaseInstance => "databaseinstances",
            Kind::ClusterDatabaseInstance => "clusterdatabaseinstances",
            Kind::Database => "databases",
            Kind::DatabaseRole => "databaseroles",
            Kind::DatabaseUser => "databaseusers",
            Kind::DatabaseGrant => "databasegrants",
            Kind::DatabaseMigration => "databasemigrations",
            Kind::DatabaseBackup => "databasebackups",
            Kind::DatabaseBackupSchedule => "databasebackupschedules",
            Kind::DatabaseRestore => "databaserestores",
            Kind::OAuth2Client => "oauth2clients",
        }
    }

    /// The short names (`dbi`).
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::DatabaseInstance => &["dbi"],
            Kind::ClusterDatabaseInstance => &["cdbi"],
            Kind::Database => &["db"],
            Kind::DatabaseRole => &["dbr"],
            Kind::DatabaseUser => &["dbu"],
            Kind::DatabaseGrant => &["dbg"],
            Kind::DatabaseMigration => &["dbm"],
            Kind::DatabaseBackup => &["dbbak"],
            Kind::DatabaseBackupSchedule => &["dbbaksched"],
            Kind::DatabaseRestore => &["dbrestore"],
            Kind::OAuth2Client => &["oac"],
        }
    }

    /// Namespaced or cluster-wide.
    pub fn scope(self) -> Scope {
        match self {
            Kind::ClusterDatabaseInstance => Scope::Cluster,
            _ => Scope::Namespaced,
        }
    }

    /// Apply order: instances 0, roles 1, users 2, databases 3, grants 4 (deletion runs in reverse). Users come
    /// before databases because a database's `owner` must exist when it is created; grants come last because
    /// they need both.
    pub fn dependency_order(self) -> u8 {
        match self {
            Kind::DatabaseInstance | Kind::ClusterDatabaseInstance => 0,
            Kind::DatabaseRole => 1,
            Kind::DatabaseUser => 2,
            Kind::Database => 3,
            Kind::DatabaseGrant => 4,
            Kind::DatabaseMigration => 5,
            // Backups, schedules and restores run after everything else, in manifest order among themselves.
            Kind::DatabaseBackup | Kind::DatabaseBackupSchedule | Kind::DatabaseRestore => 6,
            Kind::OAuth2Client => 7,
        }
    }

    /// Parses a kind as kubectl accepts it: the kind (`Database`, any case), the singular, the plural, a short
    /// name, or any of those qualified with the group (`databases.dbops.dbprovision.io`).
    pub fn parse(value: &str) -> Result<Kind, UnknownKind> {
        let lowered = value.trim().to_ascii_lowercase();
        let unqualified = lowered.strip_suffix(".dbops.dbprovision.io").unwrap_or(&lowered);
        let unqualified = unqualified.strip_suffix(".v1alpha1").unwrap_or(unqualified);
        Kind::ALL
            .into_iter()
            .find(|kind| {
                kind.singular() == unqualified
                    || kind.plural() == unqualified
                    || kind.short_names().contains(&unqualified)
            })
            .ok_or_else(|| UnknownKind(value.to_owned()))
    }

    /// The exact `kind` field value, case-sensitive (manifests must spell it exactly).
    pub fn from_manifest(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|candidate| candidate.as_str() == kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind name no kind answers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kind {0:?} (expected one of: {kinds})", kinds = kind_list())]
pub struct UnknownKind(pub String);

fn kind_list() -> String {
    Kind::ALL
        .iter()
        .map(|kind| format!("{} ({})", kind.as_str(), kind.short_names().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_kubectl_accepts() {
        for spelling in [
            "Database",
            "database",
            "databases",
            "db",
            "DB",
            "databases.dbops.dbprovision.io",
        ] {
            assert_eq!(Kind::parse(spelling).unwrap(), Kind::Database, "{spelling}");
        }
        for spelling in ["DatabaseInstance", "dbi", "databaseinstances", "databaseinstance"] {
            assert_eq!(Kind::parse(spelling).unwrap(), Kind::DatabaseInstance);
        }
        assert_eq!(Kind::parse("cdbi").unwrap(), Kind::ClusterDatabaseInstance);
        assert_eq!(Kind::parse("dbu").unwrap(), Kind::DatabaseUser);
        assert_eq!(Kind::parse("dbr").unwrap(), Kind::DatabaseRole);
        assert_eq!(Kind::parse("databasegrants").unwrap(), Kind::DatabaseGrant);
        assert_eq!(Kind::parse("dbbak").unwrap(), Kind::DatabaseBackup);
        assert_eq!(Kind::parse("dbbaksched").unwrap(), Kind::DatabaseBackupSchedule);
        assert_eq!(Kind::parse("databaserestores").unwrap(), Kind::DatabaseRestore);
        let error = Kind::parse("dbx").unwrap_err();
        assert!(error.to_string().contains("unknown kind \"dbx\""), "{error}");
        assert!(error.to_string().contains("Database (db)"), "{error}");
    }

    #[test]
    fn dependency_order_is_instances_roles_users_databases_grants() {
        let mut kinds = Kind::ALL.to_vec();
        kinds.sort_by_key(|kind| kind.dependency_order());
        assert_eq!(
            kinds,
            [
                Kind::DatabaseInstance,
                Kind::ClusterDatabaseInstance,
                Kind::DatabaseRole,
                Kind::DatabaseUser,
                Kind::Database,
                Kind::DatabaseGrant,
                Kind::DatabaseMigration,
                Kind::DatabaseBackup,
                Kind::DatabaseBackupSchedule,
                Kind::DatabaseRestore,
                Kind::OAuth2Client
            ]
        );
        assert_eq!(Kind::ClusterDatabaseInstance.scope(), Scope::Cluster);
        assert_eq!(Kind::from_manifest("database"), None);
    }
}
