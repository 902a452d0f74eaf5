//! `Database`: a database on an instance.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{
    ClusterInstanceReference, DeletionPolicy, DriftPolicy, InstanceReference, Unsupported, default_true,
    is_false,
};
use crate::v1alpha1::status::{DriftStatus, Phase, impl_object_status};

/// A database on a `DatabaseInstance` or `ClusterDatabaseInstance`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "Database",
    namespaced,
    status = "DatabaseStatus",
    shortname = "db",
    category = "dbprov",
    doc = "A database on a DatabaseInstance or ClusterDatabaseInstance.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Database", type_ = "string", json_path = ".spec.name"),
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
        name = "Instance",
        type_ = "string",
        json_path = ".spec.instanceRef.name",
        priority = 1
    ),
    printcolumn(name = "Owner", type_ = "string", json_path = ".spec.owner", priority = 1),
    printcolumn(
        name = "Policy",
        type_ = "string",
        json_path = ".spec.deletionPolicy",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.instanceRef) || has(self.clusterInstanceRef)", "message": "either instanceRef or clusterInstanceRef must be specified"},
    {"rule": "!(has(self.instanceRef) && has(self.clusterInstanceRef))", "message": "instanceRef and clusterInstanceRef are mutually exclusive"}
]))]
pub struct DatabaseSpec {
    /// The namespaced `DatabaseInstance` the database lives on. Exactly one of `instanceRef` and
    /// `clusterInstanceRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ref: Option<InstanceReference>,
    /// The `ClusterDatabaseInstance` the database lives on. Exactly one of `instanceRef` and
    /// `clusterInstanceRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_instance_ref: Option<ClusterInstanceReference>,
    /// The database name on the server (`CREATE DATABASE name`); on SQLite the file `<name>.sqlite3`.
    /// Required; immutable. Any name the engine accepts is allowed and quoted (PostgreSQL: 63 bytes,
    /// MySQL/MariaDB: 64 characters).
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "database name is immutable"}]))]
    pub name: String,
    /// PostgreSQL only: the owning role (`OWNER`, later `ALTER DATABASE ... OWNER TO`). Default: the role dbprov
    /// connects as. MySQL databases have no owner, so it is rejected there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What deleting this object does to the database: `Retain` keeps it (default), `Delete` drops it
    /// (`DROP DATABASE`, after terminating its PostgreSQL sessions). Upstream's `Snapshot` is rejected.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Refuse to delete this object until it is set to false or the `dbops.dbprovision.io/force-delete: "true"`
    /// annotation is added. Default **true** (as upstream): a database is protected unless you opt out.
    #[serde(default = "default_true")]
    pub deletion_protection: bool,
    /// Drift handling for this database; default: the instance's, else `detect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,
    /// PostgreSQL options. Only for PostgreSQL instances. When present, its defaulted fields are managed too
    /// (as upstream: `encoding: UTF8`, `template: template0`, `tablespace: pg_default`, `connectionLimit: -1`,
    /// `allowConnections: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresDatabaseConfig>,
    /// MySQL/MariaDB options. Only for MySQL/MariaDB instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlDatabaseConfig>,
    /// Upstream ClickHouse options. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
    /// Upstream SQL run once after creation. Not implemented by dbprov (use the migration runner): rejected.
    #[serde(default, rename = "initSQL", skip_serializing_if = "Option::is_none")]
    pub init_sql: Option<Unsupported>,
}

/// PostgreSQL database options.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresDatabaseConfig {
    /// `ENCODING` at creation. Default `UTF8`. Fixed once the database exists: a difference is reported as
    /// drift, never corrected.
    #[serde(default = "default_encoding")]
    pub encoding: String,
    /// `LC_COLLATE` at creation. Default: the template's. Fixed once the database exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lc_collate: Option<String>,
    /// `LC_CTYPE` at creation. Default: the template's. Fixed once the database exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lc_ctype: Option<String>,
    /// `TABLESPACE`. Default `pg_default`. A change runs `ALTER DATABASE ... SET TABLESPACE`, which moves the
    /// files and needs exclusive access.
    #[serde(default = "default_tablespace")]
    pub tablespace: String,
    /// `TEMPLATE` at creation. Default `template0` (required for an `encoding`/locale different from
    /// `template1`'s). Used only at creation.
    #[serde(default = "default_template")]
    pub template: String,
    /// `CONNECTION LIMIT`; -1 means unlimited. Default -1.
    #[serde(default = "default_connection_limit")]
    #[schemars(range(min = -1))]
    pub connection_limit: i32,
    /// `IS_TEMPLATE`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_template: bool,
    /// `ALLOW_CONNECTIONS`. Default true.
    #[serde(default = "default_true")]
    pub allow_connections: bool,
    /// Extensions that must exist in the database (`CREATE EXTENSION`). Undeclared extensions are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<PostgresExtension>,
    /// Schemas that must exist in the database (`CREATE SCHEMA`). Undeclared schemas are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<PostgresSchema>,
    /// Default privileges granted to a role on objects created later in a schema (`ALTER DEFAULT PRIVILEGES
    /// [FOR ROLE owner] IN SCHEMA schema GRANT ... TO role`). dbprov covers objects created by `spec.owner`
    /// (or, without an owner, by the role dbprov connects as); upstream granted the role to itself, which has
    /// no effect. For other creators use a `DatabaseGrant` with `grantedBy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_privileges: Vec<PostgresDefaultPrivilege>,
    /// Upstream ownership options (documented, never released). Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<Unsupported>,
}

fn default_encoding() -> String {
    "UTF8".to_owned()
}

fn default_tablespace() -> String {
    "pg_default".to_owned()
}

fn default_template() -> String {
    "template0".to_owned()
}

fn default_connection_limit() -> i32 {
    -1
}

/// A PostgreSQL extension.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresExtension {
    /// Extension name (`pgcrypto`, `uuid-ossp`). Required.
    pub name: String,
    /// `SCHEMA` it is installed in; a change runs `ALTER EXTENSION ... SET SCHEMA`. Default `public`.
    #[serde(default = "default_public")]
    pub schema: String,
    /// `VERSION`; a change runs `ALTER EXTENSION ... UPDATE TO`. Default: the extension's default version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

pub(crate) fn default_public() -> String {
    "public".to_owned()
}

/// A PostgreSQL schema.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresSchema {
    /// Schema name. Required.
    pub name: String,
    /// `AUTHORIZATION` at creation, `ALTER SCHEMA ... OWNER TO` afterwards. Default: the database owner's
    /// choice at creation (the role dbprov connects as), not managed afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// Object types of default privileges.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DefaultPrivilegeObjectType {
    /// `ON TABLES` (tables and views): SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER.
    Tables,
    /// `ON SEQUENCES`: USAGE, SELECT, UPDATE.
    Sequences,
    /// `ON FUNCTIONS`: EXECUTE.
    Functions,
    /// `ON TYPES`: USAGE.
    Types,
}

impl DefaultPrivilegeObjectType {
    /// The core model's object type.
    pub fn core(self) -> dbprov_core::model::PgDefaultObjectType {
        use dbprov_core::model::PgDefaultObjectType;
        match self {
            DefaultPrivilegeObjectType::Tables => PgDefaultObjectType::Tables,
            DefaultPrivilegeObjectType::Sequences => PgDefaultObjectType::Sequences,
            DefaultPrivilegeObjectType::Functions => PgDefaultObjectType::Functions,
            DefaultPrivilegeObjectType::Types => PgDefaultObjectType::Types,
        }
    }
}

/// Default privileges of a role inside this database.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresDefaultPrivilege {
    /// The role that receives the privileges (`TO role`). Required.
    pub role: String,
    /// The schema the future objects are created in (`IN SCHEMA`). Required.
    pub schema: String,
    /// `tables`, `sequences`, `functions` or `types`. Required.
    pub object_type: DefaultPrivilegeObjectType,
    /// The privileges (`SELECT`, `ALL`...), valid for `objectType`. At least one.
    #[schemars(length(min = 1))]
    pub privileges: Vec<String>,
}

/// MySQL/MariaDB database options.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlDatabaseConfig {
    /// `CHARACTER SET`; a change runs `ALTER DATABASE ... CHARACTER SET` (existing tables keep theirs).
    /// Default `utf8mb4`.
    #[serde(default = "default_mysql_charset")]
    pub charset: String,
    /// `COLLATE`; a change runs `ALTER DATABASE ... COLLATE`. Default `utf8mb4_unicode_ci`.
    #[serde(default = "default_mysql_collation")]
    pub collation: String,
    /// Upstream per-database SQL mode. MySQL has no per-database `sql_mode`: rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_mode: Option<String>,
    /// Upstream per-database storage engine (upstream default `InnoDB`). MySQL has no per-database storage
    /// engine: rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_storage_engine: Option<String>,
}

fn default_mysql_charset() -> String {
    "utf8mb4".to_owned()
}

fn default_mysql_collation() -> String {
    "utf8mb4_unicode_ci".to_owned()
}

/// Observed state of a database.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseStatus {
    /// Derived from the conditions; kept for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// An identifier of the last reconcile, for correlating logs.
    #[serde(default, rename = "reconcileID", skip_serializing_if = "Option::is_none")]
    pub reconcile_id: Option<String>,
    /// When the last reconcile finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<Time>,
    /// A human-readable summary of the last reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The engine of the instance (dbprov addition): `postgres`, `mysql`, `mariadb` or `sqlite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The database as found on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseInfo>,
    /// PostgreSQL details as found on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresDatabaseStatus>,
    /// MySQL/MariaDB details as found on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlDatabaseStatus>,
    /// The last drift check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftStatus>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(DatabaseStatus);

/// A database as found on the server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInfo {
    /// The database name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The owning role (PostgreSQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Size on disk in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// When dbprov created it (absent for a database that already existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
}

/// PostgreSQL details of a database.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresDatabaseStatus {
    /// The server encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `LC_COLLATE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// The declared extensions as installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installed_extensions: Vec<ExtensionInfo>,
    /// The declared schemas found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
}

/// An installed extension.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionInfo {
    /// Extension name.
    pub name: String,
    /// Installed version.
    pub version: String,
}

/// MySQL/MariaDB details of a database.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MySqlDatabaseStatus {
    /// `DEFAULT_CHARACTER_SET_NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// `DEFAULT_COLLATION_NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
}
