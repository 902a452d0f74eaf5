//! `DatabaseMigration` (dbprov addition): golang-migrate-compatible schema migrations run against a
//! `Database`. The `schema_migrations` table is golang-migrate's, so both tools can take turns.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::ObjectReference;
use crate::v1alpha1::status::{Phase, impl_object_status};

/// Schema migrations (`{version}_{title}.up.sql` / `.down.sql`, golang-migrate's format) applied to a
/// `Database`. Applying a newer source migrates up to its latest version (or `targetVersion`, up or down);
/// an already-applied file whose content changed is reported, never re-run.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseMigration",
    namespaced,
    status = "DatabaseMigrationStatus",
    shortname = "dbm",
    category = "dbprov",
    doc = "golang-migrate-compatible schema migrations applied to a Database.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Database", type_ = "string", json_path = ".spec.databaseRef.name"),
    printcolumn(name = "Version", type_ = "integer", json_path = ".status.currentVersion"),
    printcolumn(name = "Dirty", type_ = "boolean", json_path = ".status.dirty"),
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
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseMigrationSpec {
    /// The `Database` to migrate (its instance and name).
    pub database_ref: ObjectReference,
    /// Where the migration files come from: exactly one of `directory`, `configMapRef` and `inline`.
    pub source: MigrationSource,
    /// The version to migrate to (up or down). Default: the latest version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<u64>,
    /// The migrations table. Default `schema_migrations` (golang-migrate's `x-migrations-table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Who runs the migrations. Default: the instance's admin credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<MigrationCredentials>,
    /// How long to wait for another runner's lock (golang-migrate's `-lock-timeout`), in seconds. Default 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub lock_timeout_seconds: Option<u32>,
}

/// The migration files.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationSource {
    /// A directory of migration files (standalone `dbprov` only; relative to the working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// A ConfigMap whose keys are file names and values the files (in a cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ObjectReference>,
    /// The files themselves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline: Vec<InlineMigration>,
}

/// One migration file given inline.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlineMigration {
    /// The file name, golang-migrate's format: `000001_create_clients.up.sql`.
    pub name: String,
    /// The SQL.
    pub content: String,
}

/// The identity migrations run as.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MigrationCredentials {
    /// A `DatabaseUser` whose generated credentials Secret (`username`/`password` keys) is used.
    pub user_ref: ObjectReference,
}

/// Observed state of a migration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseMigrationStatus {
    /// Derived from the conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A human-readable summary of the last reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The engine of the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The version in the migrations table (absent: no version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// Whether the last migration failed halfway (golang-migrate's dirty flag): nothing runs until the
    /// version is forced (`dbprov migrate force V`).
    #[serde(default)]
    pub dirty: bool,
    /// Migrations applied through this object, with the checksum of the file that ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<AppliedMigration>,
    /// The last error, if the last reconcile failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last reconcile finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<Time>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(DatabaseMigrationStatus, no_drift);

/// One applied migration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedMigration {
    /// The migration's version.
    pub version: u64,
    /// The up file's name.
    pub name: String,
    /// SHA-256 of the up file when it ran.
    pub checksum: String,
    /// When it ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<String>,
}
