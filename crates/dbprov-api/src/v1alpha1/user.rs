//! `DatabaseUser`: a login role with a password, and the Secret that hands its credentials to applications.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{
    ClusterInstanceReference, DeletionPolicy, DriftPolicy, InstanceReference, Unsupported, default_true,
    is_false,
};
use crate::v1alpha1::status::{DriftStatus, Phase, impl_object_status};

/// A user that logs in with a password. Its deletion policy and protection come from the annotations
/// `dbops.dbprovision.io/deletion-policy` (`Retain` by default, or `Delete`) and
/// `dbops.dbprovision.io/deletion-protection: "true"`, as upstream; dbprov also accepts `spec.deletionPolicy`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseUser",
    namespaced,
    status = "DatabaseUserStatus",
    shortname = "dbu",
    category = "dbprov",
    doc = "A database user (a role that logs in) and the Secret holding its credentials.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Username", type_ = "string", json_path = ".spec.username"),
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
    printcolumn(
        name = "Secret",
        type_ = "string",
        json_path = ".status.secret.name",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "has(self.instanceRef) || has(self.clusterInstanceRef)", "message": "either instanceRef or clusterInstanceRef must be specified"},
    {"rule": "!(has(self.instanceRef) && has(self.clusterInstanceRef))", "message": "instanceRef and clusterInstanceRef are mutually exclusive"}
]))]
pub struct DatabaseUserSpec {
    /// The namespaced `DatabaseInstance` the user lives on. Exactly one of `instanceRef` and
    /// `clusterInstanceRef` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ref: Option<InstanceReference>,
    /// The `ClusterDatabaseInstance` the user lives on. Exactly one of `instanceRef` and `clusterInstanceRef`
    /// is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_instance_ref: Option<ClusterInstanceReference>,
    /// The user name on the server (`CREATE ROLE name LOGIN` / `CREATE USER 'name'@'host'`). Required;
    /// immutable. Not available on SQLite, which has no users.
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "username is immutable"}]))]
    pub username: String,
    /// How the password is generated and which Secret receives the credentials. Default: a generated
    /// 32-character password in the Secret `<username>-credentials` with the default keys. Exclusive with
    /// `existingPasswordSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<PasswordConfig>,
    /// Take the password from this existing Secret key instead of generating one; dbprov writes no Secret.
    /// A change of the Secret's value changes the password on the server. Exclusive with `passwordSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_password_secret: Option<ExistingPasswordSecret>,
    /// Upstream automatic password rotation. Not implemented by dbprov: rejected unless `enabled: false`.
    /// Rotate by changing the password in the Secret instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_rotation: Option<Unsupported>,
    /// Roles the user is a member of (PostgreSQL `GRANT role TO user`; MySQL/MariaDB `GRANT role TO user` plus
    /// `SET DEFAULT ROLE ALL`). When declared, exactly these (together with `postgres.inRoles` and the roles of
    /// `DatabaseGrant`s for this user): memberships not listed are revoked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// PostgreSQL role attributes. Only for PostgreSQL instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresUserConfig>,
    /// MySQL/MariaDB account options. Only for MySQL/MariaDB instances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlUserConfig>,
    /// Upstream ClickHouse options. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
    /// Drift handling for this user; default: the instance's, else `detect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,
    /// dbprov addition: what deleting this object does to the user (`Retain` or `Delete`). When set it wins
    /// over the `dbops.dbprovision.io/deletion-policy` annotation. Default: the annotation, else `Retain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
}

/// Password generation and the credentials Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordConfig {
    /// Generate the password when the Secret does not exist yet. With false, the Secret `secretName` must
    /// already exist with a `password` key. Default true.
    #[serde(default = "default_true")]
    pub generate: bool,
    /// Length of a generated password, 8 to 128. Default 32.
    #[serde(default = "default_password_length")]
    #[schemars(range(min = 8, max = 128))]
    pub length: i32,
    /// Whether generated passwords also use `!@#$%^&*` besides letters and digits. Default true.
    #[serde(default = "default_true")]
    pub include_special_chars: bool,
    /// Characters never used in generated passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_chars: Option<String>,
    /// Name of the Secret receiving the credentials, in the user's namespace (the CLI writes it under
    /// `<state-dir>/secrets/`). Required.
    pub secret_name: String,
    /// Upstream: namespace of the Secret. dbprov writes the Secret in the user's namespace only, so any other
    /// value is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_namespace: Option<String>,
    /// Secret format. Only `kubernetes` (the default) is implemented; `vault` and `external-secrets` are
    /// rejected.
    #[serde(default)]
    pub format: SecretFormat,
    /// Type, labels, annotations and templated keys of the Secret. Without `data`, the Secret has the default
    /// keys: `username`, `password`, `host`, `port`, `database`, `uri`, `jdbc-uri`, plus `dsn` on MySQL/MariaDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<SecretTemplate>,
}

fn default_password_length() -> i32 {
    32
}

/// Where generated credentials are stored.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretFormat {
    /// A Kubernetes `Secret`.
    #[default]
    Kubernetes,
    /// Upstream only; rejected by dbprov.
    Vault,
    /// Upstream only; rejected by dbprov.
    ExternalSecrets,
}

/// The shape of the credentials Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretTemplate {
    /// The Secret's `type`. Default `Opaque`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Labels added to the Secret (they override the default `app.kubernetes.io/managed-by` and
    /// `dbops.dbprovision.io/user` labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Secret keys rendered from Go-template strings. When non-empty they replace the default keys entirely.
    /// Variables: `.Username .Password .Host .Port .Database .SSLMode .Namespace .Name .CA .TLSCert .TLSKey`;
    /// functions: `urlEncode urlPathEncode base64Encode base64Decode upper lower title trim trimPrefix
    /// trimSuffix replace quote squote default toJson join` and the builtins `and or not eq ne lt le gt ge len
    /// print printf println urlquery`; `if`/`else`/`with`/`end`. An unknown variable or function is an error
    /// when the manifest is planned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

/// An existing Secret key holding the password.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExistingPasswordSecret {
    /// Name of the Secret. Required.
    pub name: String,
    /// Namespace of the Secret. Default: the user's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The key holding the password. Required.
    pub key: String,
}

/// PostgreSQL attributes of a user (`CREATE ROLE` / `ALTER ROLE` options).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresUserConfig {
    /// `CONNECTION LIMIT`; -1 means unlimited. Default -1.
    #[serde(default = "default_connection_limit")]
    #[schemars(range(min = -1))]
    pub connection_limit: i32,
    /// `VALID UNTIL`: when the password expires, as an RFC 3339 timestamp or `infinity`. Default: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// `SUPERUSER`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub superuser: bool,
    /// `CREATEDB`. Default false.
    #[serde(default, rename = "createDB", skip_serializing_if = "is_false")]
    pub create_db: bool,
    /// `CREATEROLE`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub create_role: bool,
    /// `INHERIT`: the user uses the privileges of its roles without `SET ROLE`. Default true.
    #[serde(default = "default_true")]
    pub inherit: bool,
    /// `LOGIN`. Must be true (the default) for a user; use a `DatabaseRole` for a role without login.
    #[serde(default = "default_true")]
    pub login: bool,
    /// `REPLICATION`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replication: bool,
    /// `BYPASSRLS`. Default false.
    #[serde(default, rename = "bypassRLS", skip_serializing_if = "is_false")]
    pub bypass_rls: bool,
    /// Roles the user is a member of (`GRANT role TO user`), added to `spec.roles`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_roles: Vec<String>,
    /// The role the user's sessions switch to on login (`ALTER ROLE user SET role = 'name'`), so objects it
    /// creates belong to that role. Default: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<String>,
    /// Session defaults (`ALTER ROLE user SET name = 'value'`, e.g. `search_path`, `statement_timeout`). When
    /// declared, exactly these: settings not listed are reset.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_parameters: BTreeMap<String, String>,
}

fn default_connection_limit() -> i32 {
    -1
}

/// MySQL/MariaDB authentication plugins.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MySqlAuthPlugin {
    /// SHA-1 based; the MariaDB default, deprecated on MySQL 8.
    MysqlNativePassword,
    /// The MySQL 8 default. Not available on MariaDB.
    CachingSha2Password,
    /// MySQL only.
    Sha256Password,
}

impl MySqlAuthPlugin {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            MySqlAuthPlugin::MysqlNativePassword => "mysql_native_password",
            MySqlAuthPlugin::CachingSha2Password => "caching_sha2_password",
            MySqlAuthPlugin::Sha256Password => "sha256_password",
        }
    }
}

/// MySQL/MariaDB account options (`CREATE USER` / `ALTER USER`). When this section is present, the resource
/// limits, `REQUIRE`, the account lock and the hosts are managed (set and drift-checked).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlUserConfig {
    /// `MAX_QUERIES_PER_HOUR`; 0 means unlimited. Default 0.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub max_queries_per_hour: i32,
    /// `MAX_UPDATES_PER_HOUR`; 0 means unlimited. Default 0.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub max_updates_per_hour: i32,
    /// `MAX_CONNECTIONS_PER_HOUR`; 0 means unlimited. Default 0.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub max_connections_per_hour: i32,
    /// `MAX_USER_CONNECTIONS`; 0 means the server's `max_user_connections`. Default 0.
    #[serde(default)]
    #[schemars(range(min = 0))]
    pub max_user_connections: i32,
    /// `IDENTIFIED WITH plugin`. Default: the server's default plugin. Upstream's CRD default
    /// `caching_sha2_password` is not applied because MariaDB does not have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_plugin: Option<MySqlAuthPlugin>,
    /// `REQUIRE SSL`. Default false (`REQUIRE NONE`).
    #[serde(default, rename = "requireSSL", skip_serializing_if = "is_false")]
    pub require_ssl: bool,
    /// `REQUIRE X509` (a client certificate signed by a trusted CA; implies TLS). Default false.
    #[serde(default, rename = "requireX509", skip_serializing_if = "is_false")]
    pub require_x509: bool,
    /// Hosts the user may connect from; one account `'user'@'host'` each (`%` and `_` are wildcards).
    /// Accounts of the user on other hosts are dropped (reported as destructive drift). Default `["%"]`.
    #[serde(default = "default_allowed_hosts")]
    pub allowed_hosts: Vec<String>,
    /// `ACCOUNT LOCK` / `ACCOUNT UNLOCK`. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub account_locked: bool,
    /// MySQL 8.0.19+ only: `FAILED_LOGIN_ATTEMPTS`; 0 disables the tracking. Default 0. MariaDB has no
    /// equivalent: a value other than 0 is rejected there.
    #[serde(default)]
    #[schemars(range(min = 0, max = 32767))]
    pub failed_login_attempts: i32,
    /// MySQL 8.0.19+ only: `PASSWORD_LOCK_TIME` in days after `failedLoginAttempts` failures; 0 means no lock
    /// (MySQL's meaning). Default 0. A value other than 0 is rejected on MariaDB.
    #[serde(default)]
    #[schemars(range(min = 0, max = 32767))]
    pub password_lock_time: i32,
}

fn default_allowed_hosts() -> Vec<String> {
    vec!["%".to_owned()]
}

/// Observed state of a user.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseUserStatus {
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
    /// The user as found on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserInfo>,
    /// The credentials Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretInfo>,
    /// The last drift check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftStatus>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(DatabaseUserStatus);

/// A user as found on the server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// The user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When dbprov created it (absent for a user that already existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
}

/// The Secret holding a user's credentials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// Secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Secret namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// When the password last changed on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<Time>,
}
