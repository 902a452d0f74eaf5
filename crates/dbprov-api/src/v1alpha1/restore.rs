//! `DatabaseRestore`: restores a backup artifact into a new database (the default) or, with an explicit
//! acknowledgement, over an existing one. The artifact is verified completely before the target is touched.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::backup::{RunPhase, TransferProgress};
use crate::v1alpha1::backup_storage::{BackupStorage, CompressionConfig, EncryptionConfig};
use crate::v1alpha1::common::{
    ClusterInstanceReference, InstanceReference, ObjectReference, Unsupported, is_false,
};

/// The value `confirmation.acknowledgeDataLoss` must have for an in-place restore.
pub const ACKNOWLEDGE_DATA_LOSS: &str = "I-UNDERSTAND-DATA-LOSS";

/// A restore of a backup artifact. It runs once: applying a `Completed` restore again does nothing.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseRestore",
    namespaced,
    status = "DatabaseRestoreStatus",
    shortname = "dbrestore",
    category = "dbprov",
    doc = "A verified restore of a backup into a new database, or in place with an acknowledgement.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Backup", type_ = "string", json_path = ".spec.backupRef.name"),
    printcolumn(
        name = "Target",
        type_ = "string",
        json_path = ".status.restore.targetDatabase"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
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
        name = "Progress",
        type_ = "integer",
        json_path = ".status.progress.percentage",
        priority = 1
    ),
    printcolumn(
        name = "Artifact",
        type_ = "string",
        json_path = ".status.restore.sourceArtifact",
        priority = 1
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.backupRef) != has(self.fromPath)", "message": "exactly one of backupRef and fromPath must be specified"}
]))]
pub struct DatabaseRestoreSpec {
    /// The `DatabaseBackup` to restore (its artifact, storage and key). Exactly one of `backupRef` and
    /// `fromPath` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_ref: Option<ObjectReference>,
    /// An artifact named directly in a storage (for backups made elsewhere, or whose object is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<RestoreFromPath>,
    /// Where to restore.
    pub target: RestoreTarget,
    /// The safety confirmation an in-place restore needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<RestoreConfirmation>,
    /// The longest the restore may run, in seconds; it is then cancelled. Default 7200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub active_deadline_seconds: Option<i64>,
    /// PostgreSQL restore options. Only for PostgreSQL targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresRestoreConfig>,
    /// MySQL/MariaDB restore options. Only for MySQL/MariaDB targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlRestoreConfig>,
    /// Upstream ClickHouse options. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
}

/// The default `activeDeadlineSeconds` of a restore.
pub const DEFAULT_RESTORE_DEADLINE_SECONDS: i64 = 7200;

/// An artifact in a storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreFromPath {
    /// The storage holding the artifact (`namePrefix` is not used).
    pub storage: BackupStorage,
    /// The artifact's name in the storage (`clients-20250106-120000.sql.gz`); a relative directory before it
    /// is added to the storage's path or prefix. Exactly one of `backupPath` and `path` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_path: Option<String>,
    /// Another name for `backupPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The compression is read from the artifact's metadata; when given, it must agree with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<CompressionConfig>,
    /// The key of an encrypted artifact (`secretRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionConfig>,
}

impl RestoreFromPath {
    /// `backupPath`, or its alias `path`.
    pub fn artifact_path(&self) -> Option<&str> {
        self.backup_path.as_deref().or(self.path.as_deref())
    }
}

/// Where to restore: a `Database` (`databaseRef`), or a database by name on an instance (`instanceRef` or
/// `clusterInstanceRef` with `databaseName`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!(has(self.instanceRef) && has(self.clusterInstanceRef))", "message": "instanceRef and clusterInstanceRef are mutually exclusive"}
]))]
pub struct RestoreTarget {
    /// The namespaced instance of a `databaseName` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ref: Option<InstanceReference>,
    /// The cluster instance of a `databaseName` target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_instance_ref: Option<ClusterInstanceReference>,
    /// The database to restore into on `instanceRef`/`clusterInstanceRef`. Without `inPlace` it must not exist
    /// (it is created, unless `createDatabase: false`) or be empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// Replace the data of an existing database (destructive): needs
    /// `confirmation.acknowledgeDataLoss: I-UNDERSTAND-DATA-LOSS`. Default false: the target must be new or
    /// empty.
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_place: bool,
    /// A `Database` to restore into (it must be empty unless `inPlace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_ref: Option<ObjectReference>,
}

/// Safety confirmations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreConfirmation {
    /// Must be exactly `I-UNDERSTAND-DATA-LOSS` for an in-place restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge_data_loss: Option<String>,
}

/// PostgreSQL restore options. Fields upstream has that dbprov cannot honour are rejected when set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresRestoreConfig {
    /// `true` is rejected: use `target.inPlace` (objects in the backup are replaced with `--clean`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop_existing: bool,
    /// Create the target database when it does not exist. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_database: Option<bool>,
    /// `true` is rejected (restore what the backup holds; make a data-only backup instead).
    #[serde(default, skip_serializing_if = "is_false")]
    pub data_only: bool,
    /// `true` is rejected (make a schema-only backup instead).
    #[serde(default, skip_serializing_if = "is_false")]
    pub schema_only: bool,
    /// `--no-owner`: restored objects belong to the restoring user. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_owner: Option<bool>,
    /// `--no-privileges`: no `GRANT`/`REVOKE`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_privileges: bool,
    /// Rejected when set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub role_mapping: BTreeMap<String, String>,
    /// Rejected when set (restore what the backup holds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Rejected when set (restore what the backup holds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Only 1: the artifact is one stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub jobs: Option<i32>,
    /// `true` is rejected.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_triggers: bool,
    /// `true` is rejected: dbprov does not run `ANALYZE` after a restore (run it yourself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyze: Option<bool>,
    /// `--single-transaction`: all or nothing (dbprov addition). Default false, because one transaction takes
    /// a lock per restored object and large schemas exceed `max_locks_per_transaction`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub single_transaction: bool,
}

/// MySQL/MariaDB restore options. Fields upstream has that dbprov cannot honour are rejected when set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlRestoreConfig {
    /// `true` is rejected: use `target.inPlace` (the dump drops and recreates each table it holds).
    #[serde(default, skip_serializing_if = "is_false")]
    pub drop_existing: bool,
    /// Create the target database when it does not exist. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_database: Option<bool>,
    /// The dump's routines are always restored; `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routines: Option<bool>,
    /// The dump's triggers are always restored; `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<bool>,
    /// The dump's events are always restored; `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<bool>,
    /// The dump disables foreign key checks while it loads (`true`, the default); `false` is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_foreign_key_checks: Option<bool>,
    /// `true` is rejected: dbprov restores through the binary log like any client (skipping it needs
    /// SUPER and breaks replicas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_binlog: Option<bool>,
}

/// Observed state of a restore.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseRestoreStatus {
    /// `Pending`, `Running`, `Completed` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RunPhase>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the last attempt started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the restore completed (or the last attempt failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// A human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The engine of the target instance (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// What was restored where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreInfo>,
    /// Progress of the running attempt, or the totals of the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<TransferProgress>,
    /// Things worth knowing that did not stop the restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `Ready`: `True` once the restore completed; `Unknown` while it runs; `False` with the failure's reason
    /// (`ArtifactInvalid`, `KeyMismatch`, `TargetNotEmpty`, ...), whose message says whether the target was
    /// touched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// What a restore read and wrote.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreInfo {
    /// The `DatabaseBackup` restored, when `backupRef` was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_backup: Option<String>,
    /// The artifact's location (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_artifact: Option<String>,
    /// The target instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_instance: Option<String>,
    /// The target database on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_database: Option<String>,
    /// Whether the restore replaced an existing database's objects (dbprov addition).
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_place: bool,
}
