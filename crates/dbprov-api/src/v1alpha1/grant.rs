//! `DatabaseGrant`: privileges and role memberships of a user or role.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{DriftPolicy, ObjectReference, Unsupported, is_false};
use crate::v1alpha1::database::DefaultPrivilegeObjectType;
use crate::v1alpha1::status::{DriftStatus, Phase, impl_object_status};

/// Privileges and role memberships of a `DatabaseUser` or `DatabaseRole`. The instance is the grantee's.
/// Within each database it names, the grantee's privileges are exactly those declared: keep one
/// `DatabaseGrant` (or `DatabaseRole.grants`) per grantee and database, or they revoke each other's.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseGrant",
    namespaced,
    status = "DatabaseGrantStatus",
    shortname = "dbg",
    category = "dbprov",
    doc = "Privileges and role memberships of a DatabaseUser or DatabaseRole.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Grantee", type_ = "string", json_path = ".status.grantee"),
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
        name = "User",
        type_ = "string",
        json_path = ".spec.userRef.name",
        priority = 1
    ),
    printcolumn(
        name = "Role",
        type_ = "string",
        json_path = ".spec.roleRef.name",
        priority = 1
    ),
    printcolumn(
        name = "Database",
        type_ = "string",
        json_path = ".spec.databaseRef.name",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.userRef) || has(self.roleRef)", "message": "either userRef or roleRef must be specified"},
    {"rule": "!(has(self.userRef) && has(self.roleRef))", "message": "userRef and roleRef are mutually exclusive"}
]))]
pub struct DatabaseGrantSpec {
    /// The `DatabaseUser` receiving the privileges. Exactly one of `userRef` and `roleRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<ObjectReference>,
    /// The `DatabaseRole` receiving the privileges. Exactly one of `userRef` and `roleRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ref: Option<ObjectReference>,
    /// A `Database` these privileges are about. It must be on the grantee's instance; it supplies the database
    /// of MySQL grants that name none, and it orders this grant after the database's creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_ref: Option<ObjectReference>,
    /// PostgreSQL privileges, memberships and default privileges. Only for PostgreSQL instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresGrantConfig>,
    /// MySQL/MariaDB privileges and roles. Only for MySQL/MariaDB instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlGrantConfig>,
    /// Upstream ClickHouse grants. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
    /// Drift handling for these privileges; default: the instance's, else `detect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,
    /// Refuse to delete this object (which revokes its privileges) until set to false or the
    /// `dbops.dbprovision.io/force-delete: "true"` annotation is added. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletion_protection: bool,
}

/// PostgreSQL grants.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresGrantConfig {
    /// Roles the grantee becomes a member of (`GRANT role TO grantee`), added to the grantee's own
    /// memberships (`roles` / `inRoles`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Privileges on existing objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<PostgresGrant>,
    /// Privileges on objects created later by `grantedBy` (`ALTER DEFAULT PRIVILEGES FOR ROLE grantedBy IN
    /// SCHEMA schema GRANT ... ON objectType TO grantee`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_privileges: Vec<PostgresDefaultPrivilegeGrant>,
}

/// PostgreSQL privileges within one database. What the entry grants depends on the fields set:
/// * no `schema` and no objects: privileges on the database (`CONNECT`, `CREATE`, `TEMPORARY`);
/// * `schema` and no objects: schema privileges (`USAGE`, `CREATE`) on the schema, table privileges on all
///   its tables (`GRANT ... ON ALL TABLES IN SCHEMA`), and always `USAGE` on the schema (as upstream);
/// * `tables`, `sequences`, `functions`: privileges on those objects in `schema` (default `public`);
///   `"*"` means every such object in the schema, re-checked at every reconcile.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresGrant {
    /// The database the privileges are in. Required.
    pub database: String,
    /// The schema of the objects, or the schema granted on. Default: none (database privileges), or `public`
    /// when objects are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Table (and view) names, or `["*"]` for all tables of the schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    /// Sequence names, or `["*"]` for all sequences of the schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequences: Vec<String>,
    /// Function names (every overload), or `["*"]` for all functions of the schema.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<String>,
    /// Privilege keywords: SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER, CREATE, CONNECT,
    /// TEMPORARY, EXECUTE, USAGE or ALL; each must be valid on the objects of the entry. At least one.
    #[schemars(length(min = 1))]
    pub privileges: Vec<String>,
    /// `WITH GRANT OPTION`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_grant_option: bool,
}

/// Default privileges on objects a role creates later.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresDefaultPrivilegeGrant {
    /// The database. Required.
    pub database: String,
    /// The schema the objects are created in (`IN SCHEMA`). Required.
    pub schema: String,
    /// The role that creates the objects (`FOR ROLE`), usually the application's owner/migration user. Required.
    pub granted_by: String,
    /// `tables`, `sequences`, `functions` or `types`. Required.
    pub object_type: DefaultPrivilegeObjectType,
    /// The privileges, valid for `objectType`. At least one.
    #[schemars(length(min = 1))]
    pub privileges: Vec<String>,
}

/// MySQL/MariaDB grants.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlGrantConfig {
    /// Roles granted to the grantee (`GRANT role TO user`), added to the grantee's own `roles`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Privileges by level.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<MySqlGrant>,
}

/// MySQL/MariaDB grant levels.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MySqlGrantLevel {
    /// `ON *.*`.
    Global,
    /// `ON db.*`.
    Database,
    /// `ON db.table`.
    Table,
    /// `privilege (columns) ON db.table`.
    Column,
    /// `ON PROCEDURE db.name`.
    Procedure,
    /// `ON FUNCTION db.name`.
    Function,
}

/// MySQL/MariaDB privileges at one level.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlGrant {
    /// `global`, `database`, `table`, `column`, `procedure` or `function`. Required.
    pub level: MySqlGrantLevel,
    /// The database (every level but `global`). Default: the `databaseRef`'s database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The table (levels `table` and `column`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The columns (level `column`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The stored procedure (level `procedure`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// The stored function (level `function`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Privilege keywords valid at the level (`SELECT`, `LOCK TABLES`, `ALL`...). At least one.
    #[schemars(length(min = 1))]
    pub privileges: Vec<String>,
    /// `WITH GRANT OPTION`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_grant_option: bool,
}

/// Observed state of a grant.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseGrantStatus {
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
    /// The resolved grantee: the user or role name on the server (dbprov addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee: Option<String>,
    /// What was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_grants: Option<AppliedGrantsInfo>,
    /// The last drift check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftStatus>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(DatabaseGrantStatus);

/// A summary of applied grants.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedGrantsInfo {
    /// Roles the grantee is a member of through this grant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Number of direct grant entries applied.
    #[serde(default)]
    pub direct_grants: i32,
    /// Number of default-privilege entries applied.
    #[serde(default)]
    pub default_privileges: i32,
}
