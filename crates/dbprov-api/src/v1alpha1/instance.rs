//! `DatabaseInstance` (namespaced) and `ClusterDatabaseInstance` (cluster-scoped): a database server dbprov
//! manages objects on, and how to reach it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{
    CredentialSecretRef, DriftPolicy, EngineType, Unsupported, default_true, is_false,
};
use crate::v1alpha1::status::{Phase, impl_object_status};

/// A database server: its engine, address and admin credentials. Databases, users, roles and grants refer to
/// it through `instanceRef`. Deleting it never touches the server.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "DatabaseInstance",
    namespaced,
    status = "DatabaseInstanceStatus",
    shortname = "dbi",
    category = "dbprov",
    doc = "A database server (PostgreSQL, MySQL, MariaDB or an SQLite directory) that dbprov manages databases, users, roles and grants on.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".spec.engine"),
    printcolumn(name = "Host", type_ = "string", json_path = ".spec.connection.host"),
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
        name = "Port",
        type_ = "integer",
        json_path = ".spec.connection.port",
        priority = 1
    ),
    printcolumn(
        name = "Version",
        type_ = "string",
        json_path = ".status.version",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseInstanceSpec {
    /// The database engine: `postgres`, `mysql`, `mariadb` or `sqlite` (dbprov addition). Required;
    /// immutable. Upstream's `cockroachdb` and `clickhouse` are rejected.
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "engine is immutable"}]))]
    pub engine: EngineType,
    /// How to reach a network server (PostgreSQL, MySQL, MariaDB). Required for those engines; must be omitted
    /// for `sqlite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionConfig>,
    /// SQLite only (dbprov addition): the directory holding one `<database>.sqlite3` file per `Database`.
    /// Required for `sqlite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<SqliteInstanceConfig>,
    /// Transport security for the admin connection. When `enabled`, `mode` takes precedence over
    /// `postgres.sslMode` / `mysql.tls`. Not for `sqlite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Periodic health checks by the operator (the CLI checks on every run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckConfig>,
    /// Default drift policy of every object on this instance; an object's own `driftPolicy` wins.
    /// Default: `mode: detect`, `interval: 5m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,
    /// Upstream discovery of unmanaged objects. Not implemented by dbprov: rejected unless `enabled: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Unsupported>,
    /// PostgreSQL connection options. Only for engine `postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresInstanceConfig>,
    /// MySQL/MariaDB connection options. Only for engines `mysql` and `mariadb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mysql: Option<MySqlInstanceConfig>,
    /// Upstream ClickHouse options. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clickhouse: Option<Unsupported>,
    /// Upstream tagging of managed objects with comments/attributes. Not implemented by dbprov: rejected
    /// unless `enabled: false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tracking: Option<Unsupported>,
    /// Refuse to delete this object (the CLI refuses `dbprov delete`; the operator keeps its finalizer) until
    /// it is set to false or the `dbops.dbprovision.io/force-delete: "true"` annotation is added. Deleting an
    /// instance never changes the server. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deletion_protection: bool,
}

/// The cluster-scoped twin of `DatabaseInstance`: same spec and status, usable from every namespace through
/// `clusterInstanceRef`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "ClusterDatabaseInstance",
    status = "DatabaseInstanceStatus",
    shortname = "cdbi",
    category = "dbprov",
    doc = "A cluster-scoped database server that objects in every namespace can use through clusterInstanceRef.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".spec.engine"),
    printcolumn(name = "Host", type_ = "string", json_path = ".spec.connection.host"),
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
        name = "Port",
        type_ = "integer",
        json_path = ".spec.connection.port",
        priority = 1
    ),
    printcolumn(
        name = "Version",
        type_ = "string",
        json_path = ".status.version",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(transparent)]
pub struct ClusterDatabaseInstanceSpec(pub DatabaseInstanceSpec);

impl std::ops::Deref for ClusterDatabaseInstanceSpec {
    type Target = DatabaseInstanceSpec;

    fn deref(&self) -> &DatabaseInstanceSpec {
        &self.0
    }
}

/// Where a network server is and which Secret holds the admin credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Host name or IP address of the server. Required.
    pub host: String,
    /// TCP port, 1 to 65535. Required (PostgreSQL usually 5432, MySQL/MariaDB 3306).
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// The maintenance database the admin connection opens. Default: `postgres` on PostgreSQL, none on
    /// MySQL/MariaDB. Upstream requires it; dbprov accepts it when given. Also the `.Database` variable of
    /// Secret templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The Secret holding the admin username and password. Exclusive with `existingSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<CredentialSecretRef>,
    /// Same as `secretRef` (upstream's alternative name). Exclusive with `secretRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_secret: Option<CredentialSecretRef>,
}

impl ConnectionConfig {
    /// The credentials Secret, whichever of the two fields names it.
    pub fn credentials_secret(&self) -> Option<&CredentialSecretRef> {
        self.secret_ref.as_ref().or(self.existing_secret.as_ref())
    }
}

/// SQLite instance settings (dbprov addition).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqliteInstanceConfig {
    /// The directory that holds the database files (`<database>.sqlite3`). Created when missing. Relative
    /// paths are relative to the CLI's working directory. Required.
    pub path: String,
}

/// TLS verification modes of `spec.tls.mode`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsVerifyMode {
    /// No TLS.
    #[default]
    Disable,
    /// TLS without certificate verification.
    Require,
    /// TLS; the server certificate must chain to the CA.
    VerifyCa,
    /// TLS; the server certificate must chain to the CA and name the host.
    VerifyFull,
}

impl TlsVerifyMode {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVerifyMode::Disable => "disable",
            TlsVerifyMode::Require => "require",
            TlsVerifyMode::VerifyCa => "verify-ca",
            TlsVerifyMode::VerifyFull => "verify-full",
        }
    }
}

/// TLS for the admin connection.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfig {
    /// Whether `mode` and `secretRef` apply. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    /// `disable`, `require`, `verify-ca` or `verify-full`. Default `disable`.
    #[serde(default)]
    pub mode: TlsVerifyMode,
    /// The Secret (in the instance's namespace) holding the CA certificate and, for client-certificate
    /// authentication, the client certificate and key. Its contents are also the `.CA`, `.TLSCert` and
    /// `.TLSKey` variables of Secret templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<TlsSecretRef>,
}

/// A Secret holding PEM-encoded TLS material.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsSecretRef {
    /// Name of the Secret, in the instance's namespace.
    pub name: String,
    /// Key names inside the Secret. Default `ca.crt`, `tls.crt`, `tls.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<TlsKeys>,
}

impl TlsSecretRef {
    /// The key of the CA certificate (default `ca.crt`).
    pub fn ca_key(&self) -> &str {
        self.keys.as_ref().map_or("ca.crt", |keys| keys.ca.as_str())
    }

    /// The key of the client certificate (default `tls.crt`).
    pub fn cert_key(&self) -> &str {
        self.keys
            .as_ref()
            .and_then(|keys| keys.cert.as_deref())
            .unwrap_or("tls.crt")
    }

    /// The key of the client private key (default `tls.key`).
    pub fn key_key(&self) -> &str {
        self.keys
            .as_ref()
            .and_then(|keys| keys.key.as_deref())
            .unwrap_or("tls.key")
    }
}

/// Key names inside a TLS Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsKeys {
    /// The key holding the CA certificate. Default `ca.crt`.
    #[serde(default = "default_ca_key")]
    pub ca: String,
    /// The key holding the client certificate. Default `tls.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// The key holding the client private key. Default `tls.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn default_ca_key() -> String {
    "ca.crt".to_owned()
}

/// Periodic health checks (operator only).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Whether the operator pings the server periodically. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Seconds between checks, at least 5. Default 30.
    #[serde(default = "default_health_interval")]
    #[schemars(range(min = 5))]
    pub interval_seconds: i32,
    /// Seconds before a check fails, at least 1. Default 5.
    #[serde(default = "default_health_timeout")]
    #[schemars(range(min = 1))]
    pub timeout_seconds: i32,
}

fn default_health_interval() -> i32 {
    30
}

fn default_health_timeout() -> i32 {
    5
}

/// libpq `sslmode` values.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PostgresSslMode {
    /// No TLS.
    Disable,
    /// Plaintext, TLS if the server insists (dbprov treats it as `prefer`).
    Allow,
    /// TLS when the server offers it.
    #[default]
    Prefer,
    /// TLS without certificate verification.
    Require,
    /// TLS; the certificate must chain to the CA.
    VerifyCa,
    /// TLS; the certificate must chain to the CA and name the host.
    VerifyFull,
}

impl PostgresSslMode {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            PostgresSslMode::Disable => "disable",
            PostgresSslMode::Allow => "allow",
            PostgresSslMode::Prefer => "prefer",
            PostgresSslMode::Require => "require",
            PostgresSslMode::VerifyCa => "verify-ca",
            PostgresSslMode::VerifyFull => "verify-full",
        }
    }
}

/// PostgreSQL connection options.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresInstanceConfig {
    /// libpq `sslmode` of the admin connection when `spec.tls` is not enabled. Default `prefer`.
    #[serde(default)]
    pub ssl_mode: PostgresSslMode,
    /// Connect timeout in seconds, at least 1. Default 10.
    #[serde(default = "default_connect_timeout")]
    #[schemars(range(min = 1))]
    pub connect_timeout: i32,
    /// Upstream `statement_timeout` of the admin session. Not implemented by dbprov: rejected when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_timeout: Option<String>,
    /// Upstream `application_name` of the admin session (upstream default `db-provision-operator`). Not
    /// implemented by dbprov (its sessions are named `dbprov`): rejected when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
}

fn default_connect_timeout() -> i32 {
    10
}

/// MySQL/MariaDB TLS modes of `spec.mysql.tls`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MySqlTlsMode {
    /// No TLS.
    Disabled,
    /// TLS when the server offers it.
    #[default]
    Preferred,
    /// TLS; the certificate is verified against `spec.tls.secretRef`'s CA when one is given.
    Required,
    /// TLS without certificate verification.
    SkipVerify,
}

/// MySQL/MariaDB connection options.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MySqlInstanceConfig {
    /// The `charset` parameter of the `dsn` key in generated credentials Secrets. Default `utf8mb4` (dbprov's
    /// own connections always use utf8mb4).
    #[serde(default = "default_charset")]
    pub charset: String,
    /// The `collation` parameter of the `dsn` key in generated credentials Secrets; omitted when not set.
    /// Upstream's CRD default (`utf8mb4_unicode_ci`) is not applied, so the DSN keeps the go-sql-driver form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// The `parseTime` parameter of the `dsn` key in generated credentials Secrets. Default true.
    #[serde(default = "default_true")]
    pub parse_time: bool,
    /// Connect timeout of the admin connection, as a Go duration. Default `10s`.
    #[serde(default = "default_mysql_timeout")]
    pub timeout: String,
    /// Upstream read timeout of the admin connection. Not implemented by dbprov: rejected when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<String>,
    /// Upstream write timeout of the admin connection. Not implemented by dbprov: rejected when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<String>,
    /// TLS of the admin connection when `spec.tls` is not enabled: `disabled`, `preferred`, `required`,
    /// `skip-verify`. Default `preferred`.
    #[serde(default)]
    pub tls: MySqlTlsMode,
}

fn default_charset() -> String {
    "utf8mb4".to_owned()
}

fn default_mysql_timeout() -> String {
    "10s".to_owned()
}

/// Observed state of an instance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInstanceStatus {
    /// Derived from the conditions; kept for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The server version found at the last connection (`PostgreSQL 15.18`, `10.11.6-MariaDB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A human-readable summary of the last reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the server was last reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<Time>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// An identifier of the last reconcile, for correlating logs.
    #[serde(default, rename = "reconcileID", skip_serializing_if = "Option::is_none")]
    pub reconcile_id: Option<String>,
    /// When the last reconcile finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<Time>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(DatabaseInstanceStatus, no_drift);
