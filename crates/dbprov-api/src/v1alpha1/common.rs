//! Types shared by several kinds: references, secrets, drift and deletion policies.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub(crate) fn default_true() -> bool {
    true
}

pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// The database engine of an instance.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineType {
    /// PostgreSQL 12 or later.
    Postgres,
    /// MySQL 8.0 or later.
    Mysql,
    /// MariaDB 10.5 or later.
    Mariadb,
    /// SQLite (dbprov only): the instance is a directory holding one `<name>.sqlite3` file per database.
    Sqlite,
    /// Upstream only; rejected by dbprov.
    Cockroachdb,
    /// Upstream only; rejected by dbprov.
    Clickhouse,
}

impl EngineType {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineType::Postgres => "postgres",
            EngineType::Mysql => "mysql",
            EngineType::Mariadb => "mariadb",
            EngineType::Sqlite => "sqlite",
            EngineType::Cockroachdb => "cockroachdb",
            EngineType::Clickhouse => "clickhouse",
        }
    }

    /// The engine dbprov drives for this type, or `None` for the upstream engines dbprov does not implement.
    pub fn engine_kind(self) -> Option<dbprov_core::EngineKind> {
        use dbprov_core::EngineKind;
        match self {
            EngineType::Postgres => Some(EngineKind::Postgres),
            EngineType::Mysql => Some(EngineKind::MySql),
            EngineType::Mariadb => Some(EngineKind::MariaDb),
            EngineType::Sqlite => Some(EngineKind::Sqlite),
            EngineType::Cockroachdb | EngineType::Clickhouse => None,
        }
    }
}

/// What happens to the server object when the Kubernetes object (or the manifest entry) is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the database/user on the server; only stop managing it.
    #[default]
    Retain,
    /// Drop it from the server (`DROP DATABASE` / `DROP ROLE` / `DROP USER`).
    Delete,
    /// Upstream only (back up, then keep); rejected by dbprov.
    Snapshot,
}

impl DeletionPolicy {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Retain => "Retain",
            DeletionPolicy::Delete => "Delete",
            DeletionPolicy::Snapshot => "Snapshot",
        }
    }
}

/// How differences between the declaration and the server are handled.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriftMode {
    /// Do not look for drift.
    Ignore,
    /// Report drift in `status.drift` and the `Synced` condition; change nothing.
    #[default]
    Detect,
    /// Report drift and repair what can be repaired safely; destructive or impossible repairs are only reported.
    Correct,
}

/// Drift detection settings. On an instance they are the default for every object on it; on an object
/// they override the instance's.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftPolicy {
    /// `ignore`, `detect` or `correct`. Default `detect`.
    #[serde(default)]
    pub mode: DriftMode,
    /// How often the operator checks for drift, as a Go duration (`30s`, `5m`, `1h30m`). Default `5m`.
    /// The CLI checks on every `plan`/`apply`.
    #[serde(default = "default_drift_interval")]
    pub interval: String,
}

fn default_drift_interval() -> String {
    "5m".to_owned()
}

impl Default for DriftPolicy {
    fn default() -> Self {
        Self {
            mode: DriftMode::Detect,
            interval: default_drift_interval(),
        }
    }
}

/// A namespaced `DatabaseInstance`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceReference {
    /// Name of the `DatabaseInstance`.
    pub name: String,
    /// Namespace of the `DatabaseInstance`. Default: the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A cluster-scoped `ClusterDatabaseInstance`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterInstanceReference {
    /// Name of the `ClusterDatabaseInstance`.
    pub name: String,
}

/// A reference to another dbprov object (`DatabaseUser`, `DatabaseRole`, `Database`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectReference {
    /// Name of the referenced object.
    pub name: String,
    /// Namespace of the referenced object. Default: the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One key of a Kubernetes `Secret`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeySelector {
    /// Name of the Secret.
    pub name: String,
    /// Namespace of the Secret. Default: the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Key within the Secret.
    pub key: String,
}

/// A Secret holding login credentials.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialSecretRef {
    /// Name of the Secret holding the credentials.
    pub name: String,
    /// Namespace of the Secret. Default: the instance's namespace; a `ClusterDatabaseInstance` has none, so
    /// its credentials Secret must name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The keys holding the username and the password. Default: `username` and `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<CredentialKeys>,
}

impl CredentialSecretRef {
    /// The Secret key holding the username.
    pub fn username_key(&self) -> &str {
        self.keys
            .as_ref()
            .map_or("username", |keys| keys.username.as_str())
    }

    /// The Secret key holding the password.
    pub fn password_key(&self) -> &str {
        self.keys
            .as_ref()
            .map_or("password", |keys| keys.password.as_str())
    }
}

/// Key names inside a credentials Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialKeys {
    /// The key holding the username. Default `username`.
    #[serde(default = "default_username_key")]
    pub username: String,
    /// The key holding the password. Default `password`.
    #[serde(default = "default_password_key")]
    pub password: String,
}

fn default_username_key() -> String {
    "username".to_owned()
}

fn default_password_key() -> String {
    "password".to_owned()
}

/// An upstream db-provision-operator section dbprov does not implement. It is kept in the schema so the
/// API server preserves it (instead of silently pruning it), and dbprov's validation rejects it with a message
/// naming the field.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub struct Unsupported(pub serde_json::Value);

impl Unsupported {
    /// The boolean `enabled` key of the section, if present.
    pub fn enabled(&self) -> Option<bool> {
        self.0.get("enabled").and_then(serde_json::Value::as_bool)
    }
}

impl JsonSchema for Unsupported {
    fn schema_name() -> Cow<'static, str> {
        "Unsupported".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
        })
    }
}
