//! `DatabaseBackup`: one backup of a `Database`, streamed from the engine's dump tool through compression and
//! optional encryption into storage.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::backup_storage::{BackupStorage, CompressionConfig, EncryptionConfig};
use crate::v1alpha1::common::{ObjectReference, Unsupported, is_false};

/// A one-shot backup of a `Database`. It runs once: applying a `Completed` backup again does nothing (create
/// a new object, or use a `DatabaseBackupSchedule`, for the next one).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseBackup",
    namespaced,
    status = "DatabaseBackupStatus",
    shortname = "dbbak",
    category = "dbprov",
    doc = "A one-shot, streamed backup of a Database.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.source.engine"),
    printcolumn(name = "Database", type_ = "string", json_path = ".spec.databaseRef.name"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Size",
        type_ = "string",
        json_path = ".status.backup.compressedSizeBytes"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Artifact",
        type_ = "string",
        json_path = ".status.backup.path",
        priority = 1
    ),
    printcolumn(
        name = "Started",
        type_ = "date",
        json_path = ".status.startedAt",
        priority = 1
    ),
    printcolumn(
        name = "Completed",
        type_ = "date",
        json_path = ".status.completedAt",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseBackupSpec {
    /// The `Database` to back up (its instance and name).
    pub database_ref: ObjectReference,
    /// Where the artifact goes.
    pub storage: BackupStorage,
    /// Compression. Default: gzip level 6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionConfig>,
    /// Client-side encryption. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionConfig>,
    /// How long the artifact is kept (`168h`, `30d`): `status.expiresAt` is the completion time plus this,
    /// and a schedule's retention deletes expired artifacts of its series whatever its keep rules say.
    /// Default: no expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// The longest the backup may run, in seconds; it is then cancelled and leaves no artifact. Default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub active_deadline_seconds: Option<i64>,
    /// PostgreSQL dump options (`pg_dump`). Only for PostgreSQL instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresBackupConfig>,
    /// MySQL/MariaDB dump options (`mariadb-dump`/`mysqldump`). Only for MySQL/MariaDB instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlBackupConfig>,
    /// Upstream ClickHouse options. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
}

/// The default `activeDeadlineSeconds` of a backup.
pub const DEFAULT_BACKUP_DEADLINE_SECONDS: i64 = 3600;

/// `spec.postgres.method`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum PostgresBackupMethod {
    /// A logical dump with `pg_dump` (the only method dbprov implements).
    #[serde(rename = "pg_dump")]
    PgDump,
    /// Upstream only (a physical copy of the whole cluster); rejected by dbprov.
    #[serde(rename = "pg_basebackup")]
    PgBasebackup,
}

/// `spec.postgres.format`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PostgresDumpFormat {
    /// `pg_dump --format=plain`: SQL, restorable by hand with `gunzip | psql`.
    Plain,
    /// `pg_dump --format=custom` (default): restored with `pg_restore`, in place with `--clean`.
    #[default]
    Custom,
    /// Upstream only (a directory of files cannot be one streamed artifact); rejected by dbprov.
    Directory,
    /// Upstream only; rejected by dbprov (use custom).
    Tar,
}

impl PostgresDumpFormat {
    /// The exact string used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            PostgresDumpFormat::Plain => "plain",
            PostgresDumpFormat::Custom => "custom",
            PostgresDumpFormat::Directory => "directory",
            PostgresDumpFormat::Tar => "tar",
        }
    }
}

/// PostgreSQL dump options. Fields upstream has that dbprov cannot honour are rejected when set to anything
/// but what dbprov does.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresBackupConfig {
    /// `pg_dump` (default). `pg_basebackup` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<PostgresBackupMethod>,
    /// `custom` (default) or `plain`. `directory` and `tar` are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<PostgresDumpFormat>,
    /// Parallel dump jobs. Only 1 (a streamed dump is one stream; `pg_dump -j` needs the directory format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub jobs: Option<i32>,
    /// `--data-only`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub data_only: bool,
    /// `--schema-only`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub schema_only: bool,
    /// Large objects are always included (`true`, the default); `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs: Option<bool>,
    /// `--no-owner`: no `ALTER ... OWNER TO` in plain dumps (custom dumps decide at restore).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_owner: bool,
    /// `--no-privileges`: no `GRANT`/`REVOKE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_privileges: bool,
    /// `--schema` patterns: only these schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// `--exclude-schema` patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_schemas: Vec<String>,
    /// `--table` patterns: only these tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// `--exclude-table` patterns (`schema.table`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tables: Vec<String>,
    /// `--lock-wait-timeout` as a Go duration (`60s`): fail instead of waiting longer for a table lock.
    /// Default: wait as long as it takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_wait_timeout: Option<String>,
    /// Accepted: the dump is streamed to dbprov, never written to a file by `pg_dump`, so there is nothing
    /// to sync either way.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_sync: bool,
}

/// `spec.mysql.method`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MySqlBackupMethod {
    /// `mariadb-dump`/`mysqldump` (the only method dbprov implements).
    Mysqldump,
    /// Upstream only; rejected by dbprov.
    Xtrabackup,
    /// Upstream only; rejected by dbprov.
    Mysqlpump,
}

/// `spec.mysql.setGtidPurged`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum MySqlGtidPurged {
    /// What dbprov does on MySQL: no `SET @@GLOBAL.GTID_PURGED` in the dump.
    #[serde(rename = "OFF")]
    Off,
    /// Rejected by dbprov: a single-database dump with GTID statements cannot be restored into a server with
    /// history.
    #[serde(rename = "ON")]
    On,
    /// Rejected by dbprov for the same reason.
    #[serde(rename = "AUTO")]
    Auto,
}

/// MySQL/MariaDB dump options.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlBackupConfig {
    /// `mysqldump` (default). `xtrabackup` and `mysqlpump` are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<MySqlBackupMethod>,
    /// `--single-transaction`: a consistent InnoDB snapshot without locking. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_transaction: Option<bool>,
    /// Rows are always streamed one at a time (`--quick`, the default); `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick: Option<bool>,
    /// `true` is rejected: use `singleTransaction`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lock_tables: bool,
    /// `--routines` (stored procedures and functions). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routines: Option<bool>,
    /// `--triggers` (`--skip-triggers` when false). Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<bool>,
    /// `--events`. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<bool>,
    /// Multi-row `INSERT`s are always written (the default); `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_insert: Option<bool>,
    /// MySQL only. dbprov dumps with `--set-gtid-purged=OFF`; only `OFF` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_gtid_purged: Option<MySqlGtidPurged>,
    /// Rejected when set: a backup dumps exactly its `databaseRef`'s database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// Only these tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// `--ignore-table` for these tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tables: Vec<String>,
}

/// The lifecycle of a backup or restore run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum RunPhase {
    /// Not started yet, or waiting for its database, instance or Secrets.
    Pending,
    /// Running.
    Running,
    /// Finished successfully; never run again.
    Completed,
    /// The last attempt failed (the `Ready` condition says why); applying the object again retries it.
    Failed,
}

impl RunPhase {
    /// The exact string used in status.
    pub fn as_str(self) -> &'static str {
        match self {
            RunPhase::Pending => "Pending",
            RunPhase::Running => "Running",
            RunPhase::Completed => "Completed",
            RunPhase::Failed => "Failed",
        }
    }
}

/// Observed state of a backup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseBackupStatus {
    /// `Pending`, `Running`, `Completed` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RunPhase>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the last attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the backup completed (or the last attempt failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// A human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupInfo>,
    /// What was backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<BackupSourceInfo>,
    /// When the artifact expires (`completedAt` + `ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
    /// Progress of the running attempt, or the totals of the last one (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<TransferProgress>,
    /// `Ready`: `True` once the backup completed; `Unknown` while it runs; `False` with the failure's reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// The artifact of a completed backup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupInfo {
    /// Where the artifact is: `<directory>/<artifact>` or `s3://bucket/prefix/<artifact>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The artifact's name inside the storage (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// The dump's size before compression and encryption, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// The artifact's size as stored, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressed_size_bytes: Option<i64>,
    /// `sha256:<hex>` of the stored artifact (also in its metadata file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// `postgres-custom`, `postgres-plain`, `mysql-sql` or `sqlite-database`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `gzip`, `zstd` or `none` (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// The encryption key's id, when the artifact is encrypted (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key_id: Option<String>,
}

/// What a backup read.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupSourceInfo {
    /// The instance (`namespace/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The database name on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The engine actually found (`postgres`, `mysql`, `mariadb`, `sqlite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The server version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// When the dump started (its consistent point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Time>,
}

/// Bytes moved by a backup or restore (dbprov addition).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferProgress {
    /// `Starting`, `Dumping`, `Verifying`, `Restoring`, `Finishing` or `Done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_phase: Option<String>,
    /// Uncompressed bytes the dump tool wrote (backup) or the restore tool read (restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_bytes: Option<i64>,
    /// Bytes of the artifact as stored, written or read so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<i64>,
    /// The artifact's size, when known (verification and restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_total_bytes: Option<i64>,
    /// 0 to 100, when the total is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub percentage: Option<i32>,
}
