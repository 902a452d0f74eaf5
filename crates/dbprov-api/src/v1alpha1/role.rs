//! `DatabaseRole`: a group role (PostgreSQL) or role (MySQL 8 / MariaDB) that users become members of.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{
    ClusterInstanceReference, DriftPolicy, InstanceReference, Unsupported, default_true, is_false,
};
use crate::v1alpha1::grant::{MySqlGrant, PostgresGrant};
use crate::v1alpha1::status::{DriftStatus, Phase, impl_object_status};

/// A role holding privileges that users inherit by membership. Deletion policy and protection come from the
/// annotations `dbops.dbprovision.io/deletion-policy` (`Retain` by default, or `Delete`) and
/// `dbops.dbprovision.io/deletion-protection: "true"`, as upstream.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseRole",
    namespaced,
    status = "DatabaseRoleStatus",
    shortname = "dbr",
    category = "dbprov",
    doc = "A database role (PostgreSQL group role, MySQL/MariaDB role) with its privileges.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.roleName"),
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
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.instanceRef) || has(self.clusterInstanceRef)", "message": "either instanceRef or clusterInstanceRef must be specified"},
    {"rule": "!(has(self.instanceRef) && has(self.clusterInstanceRef))", "message": "instanceRef and clusterInstanceRef are mutually exclusive"}
]))]
pub struct DatabaseRoleSpec {
    /// The namespaced `DatabaseInstance` the role lives on. Exactly one of `instanceRef` and
    /// `clusterInstanceRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ref: Option<InstanceReference>,
    /// The `ClusterDatabaseInstance` the role lives on. Exactly one of `instanceRef` and `clusterInstanceRef`
    /// is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_instance_ref: Option<ClusterInstanceReference>,
    /// The role name on the server (`CREATE ROLE name`). Required; immutable. Not available on SQLite.
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "roleName is immutable"}]))]
    pub role_name: String,
    /// PostgreSQL attributes and privileges. Only for PostgreSQL instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresRoleConfig>,
    /// MySQL/MariaDB privileges. Only for MySQL/MariaDB instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlRoleConfig>,
    /// Upstream ClickHouse options. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
    /// Drift handling for this role; default: the instance's, else `detect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,
}

/// PostgreSQL role attributes (`CREATE ROLE` / `ALTER ROLE` options) and privileges.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresRoleConfig {
    /// `LOGIN`. Usually false for a group role. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub login: bool,
    /// `INHERIT`. Default true.
    #[serde(default = "default_true")]
    pub inherit: bool,
    /// `CREATEDB`. Default false.
    #[serde(default, rename = "createDB", skip_serializing_if = "is_false")]
    pub create_db: bool,
    /// `CREATEROLE`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub create_role: bool,
    /// `SUPERUSER`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub superuser: bool,
    /// `REPLICATION`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replication: bool,
    /// `BYPASSRLS`. Default false.
    #[serde(default, rename = "bypassRLS", skip_serializing_if = "is_false")]
    pub bypass_rls: bool,
    /// Roles this role is a member of (`GRANT other TO role`). When declared, exactly these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_roles: Vec<String>,
    /// Privileges of the role, one entry per database (and schema/objects); same shape as
    /// `DatabaseGrant.spec.postgres.grants`. Within each database named here, privileges not listed are revoked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<PostgresGrant>,
}

/// MySQL/MariaDB role options.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlRoleConfig {
    /// Use the server's native roles (`CREATE ROLE`, MySQL 8.0 / MariaDB 10.0.5+). Default true; upstream's
    /// `false` (emulating roles with users) is rejected by dbprov.
    #[serde(default = "default_true")]
    pub use_native_roles: bool,
    /// Privileges of the role; same shape as `DatabaseGrant.spec.mysql.grants`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<MySqlGrant>,
}

/// Observed state of a role.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseRoleStatus {
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
    /// The engine of the instance (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The role as found on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleInfo>,
    /// The last drift check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftStatus>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(DatabaseRoleStatus);

/// A role as found on the server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleInfo {
    /// The role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When dbprov created it (absent for a role that already existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
}
