//! Reading manifests: YAML/JSON documents into typed [`Resource`]s, with exact field paths in errors.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{FieldError, FieldErrorKind};
use crate::kind::Kind;
use crate::v1alpha1::{
    API_VERSION, ClusterDatabaseInstance, Database, DatabaseBackup, DatabaseBackupSchedule, DatabaseGrant,
    DatabaseInstance, DatabaseMigration, DatabaseRestore, DatabaseRole, DatabaseUser, GROUP, OAuth2Client,
};

/// One object of a manifest.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A `DatabaseInstance`.
    DatabaseInstance(Box<DatabaseInstance>),
    /// A `ClusterDatabaseInstance`.
    ClusterDatabaseInstance(Box<ClusterDatabaseInstance>),
    /// A `Database`.
    Database(Box<Database>),
    /// A `DatabaseRole`.
    DatabaseRole(Box<DatabaseRole>),
    /// A `DatabaseUser`.
    DatabaseUser(Box<DatabaseUser>),
    /// A `DatabaseGrant`.
    DatabaseGrant(Box<DatabaseGrant>),
    /// A `DatabaseMigration`.
    DatabaseMigration(Box<DatabaseMigration>),
    /// A `DatabaseBackup`.
    DatabaseBackup(Box<DatabaseBackup>),
    /// A `DatabaseBackupSchedule`.
    DatabaseBackupSchedule(Box<DatabaseBackupSchedule>),
    /// A `DatabaseRestore`.
    DatabaseRestore(Box<DatabaseRestore>),
    /// An `OAuth2Client`.
    OAuth2Client(Box<OAuth2Client>),
    /// A core `v1` Secret (admin credentials, existing passwords, TLS material).
    Secret(Box<Secret>),
}

impl Resource {
    /// The API kind, or `None` for a Secret.
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Resource::DatabaseInstance(_) => Kind::DatabaseInstance,
            Resource::ClusterDatabaseInstance(_) => Kind::ClusterDatabaseInstance,
            Resource::Database(_) => Kind::Database,
            Resource::DatabaseRole(_) => Kind::DatabaseRole,
            Resource::DatabaseUser(_) => Kind::DatabaseUser,
            Resource::DatabaseGrant(_) => Kind::DatabaseGrant,
            Resource::DatabaseMigration(_) => Kind::DatabaseMigration,
            Resource::DatabaseBackup(_) => Kind::DatabaseBackup,
            Resource::DatabaseBackupSchedule(_) => Kind::DatabaseBackupSchedule,
            Resource::DatabaseRestore(_) => Kind::DatabaseRestore,
            Resource::OAuth2Client(_) => Kind::OAuth2Client,
            Resource::Secret(_) => return None,
        })
    }

    /// The `kind` field value (`Database`, `Secret`).
    pub fn kind_name(&self) -> &'static str {
        self.kind().map_or("Secret", Kind::as_str)
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Resource::DatabaseInstance(object) => &object.metadata,
            Resource::ClusterDatabaseInstance(object) => &object.metadata,
            Resource::Database(object) => &object.metadata,
            Resource::DatabaseRole(object) => &object.metadata,
            Resource::DatabaseUser(object) => &object.metadata,
            Resource::DatabaseGrant(object) => &object.metadata,
            Resource::DatabaseMigration(object) => &object.metadata,
            Resource::DatabaseBackup(object) => &object.metadata,
            Resource::DatabaseBackupSchedule(object) => &object.metadata,
            Resource::DatabaseRestore(object) => &object.metadata,
            Resource::OAuth2Client(object) => &object.metadata,
            Resource::Secret(object) => &object.metadata,
        }
    }

    /// `metadata.name`, empty when missing (validation rejects that).
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }
}

/// A YAML stream that is not valid YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid YAML: {0}")]
pub struct YamlError(pub String);

/// Splits a (multi-document) YAML stream into documents. Empty documents are skipped.
pub fn parse_yaml(text: &str) -> Result<Vec<Value>, YamlError> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|error| YamlError(error.to_string()))?;
    Ok(documents
        .into_iter()
        .filter(|document| !document.is_null())
        .collect())
}

/// Upstream kinds dbprov does not implement (yet).
const UPSTREAM_ONLY_KINDS: &[&str] = &["ClusterDatabaseRole", "ClusterDatabaseGrant"];

const TOP_LEVEL_FIELDS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const SECRET_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "stringData",
    "type",
    "immutable",
];
const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
    "ownerReferences",
    "managedFields",
    "selfLink",
];

/// Reads one document: dispatches on `apiVersion`/`kind`, rejects unknown fields with their exact path
/// (`spec.postgres.extensions[1].nmae`) and reads the object into its type. Semantic checks are
/// [`crate::validate`]'s job.
pub fn parse_document(value: Value) -> Result<Resource, FieldError> {
    let Some(object) = value.as_object() else {
        return Err(FieldError::new(
            FieldErrorKind::Malformed,
            "document",
            "must be a mapping with apiVersion, kind, metadata and spec",
        ));
    };
    let api_version = string_field(object, "apiVersion")?;
    let kind = string_field(object, "kind")?;
    if api_version == "v1" && kind == "Secret" {
        check_keys(object, SECRET_FIELDS, "")?;
        check_metadata(object)?;
        return deserialize::<Secret>(value).map(|secret| Resource::Secret(Box::new(secret)));
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    if group != GROUP {
        return Err(FieldError::new(
            FieldErrorKind::Unknown,
            "apiVersion",
            format!(
                "{api_version:?} is not an API dbprov reads (expected {API_VERSION}, or v1 for a Secret; kind {kind:?})"
            ),
        ));
    }
    if version != "v1alpha1" {
        return Err(FieldError::new(
            FieldErrorKind::Unknown,
            "apiVersion",
            format!("version {version:?} of {GROUP} does not exist (expected {API_VERSION})"),
        ));
    }
    let Some(known) = Kind::from_manifest(kind) else {
        if UPSTREAM_ONLY_KINDS.contains(&kind) {
            return Err(FieldError::unsupported(
                "kind",
                format!("{kind} is a db-provision-operator kind dbprov does not implement"),
            ));
        }
        let hint = Kind::parse(kind)
            .map(|kind| format!(" (did you mean {kind}?)"))
            .unwrap_or_default();
        return Err(FieldError::new(
            FieldErrorKind::Unknown,
            "kind",
            format!("unknown kind {kind:?} of {API_VERSION}{hint}"),
        ));
    };
    check_keys(object, TOP_LEVEL_FIELDS, "")?;
    check_metadata(object)?;
    if !object.contains_key("spec") {
        return Err(FieldError::required("spec"));
    }
    Ok(match known {
        Kind::DatabaseInstance => Resource::DatabaseInstance(Box::new(deserialize(value)?)),
        Kind::ClusterDatabaseInstance => Resource::ClusterDatabaseInstance(Box::new(deserialize(value)?)),
        Kind::Database => Resource::Database(Box::new(deserialize(value)?)),
        Kind::DatabaseRole => Resource::DatabaseRole(Box::new(deserialize(value)?)),
        Kind::DatabaseUser => Resource::DatabaseUser(Box::new(deserialize(value)?)),
        Kind::DatabaseGrant => Resource::DatabaseGrant(Box::new(deserialize(value)?)),
        Kind::DatabaseMigration => Resource::DatabaseMigration(Box::new(deserialize(value)?)),
        Kind::DatabaseBackup => Resource::DatabaseBackup(Box::new(deserialize(value)?)),
        Kind::DatabaseBackupSchedule => Resource::DatabaseBackupSchedule(Box::new(deserialize(value)?)),
        Kind::DatabaseRestore => Resource::DatabaseRestore(Box::new(deserialize(value)?)),
        Kind::OAuth2Client => Resource::OAuth2Client(Box::new(deserialize(value)?)),
    })
}

fn string_field<'a>(object: &'a serde_json::Map<String, Value>, field: &str) -> Result<&'a str, FieldError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(FieldError::required(field)),
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(_) => Err(FieldError::new(
            FieldErrorKind::Malformed,
            field,
            "must be a non-empty string",
        )),
    }
}

fn check_keys(
    object: &serde_json::Map<String, Value>,
    allowed: &[&str],
    prefix: &str,
) -> Result<(), FieldError> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(FieldError::new(
            FieldErrorKind::Unknown,
            format!("{prefix}{key}"),
            format!("unknown field (expected one of: {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn check_metadata(object: &serde_json::Map<String, Value>) -> Result<(), FieldError> {
    match object.get("metadata") {
        None => Err(FieldError::required("metadata")),
        Some(Value::Object(metadata)) => check_keys(metadata, METADATA_FIELDS, "metadata."),
        Some(_) => Err(FieldError::new(
            FieldErrorKind::Malformed,
            "metadata",
            "must be a mapping",
        )),
    }
}

/// Deserializes with the failing field's path; classifies serde's message into a [`FieldErrorKind`].
fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        if let Some(rest) = message.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or_default();
            let path = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            return FieldError::required(path);
        }
        let kind = if message.starts_with("unknown field") {
            FieldErrorKind::Unknown
        } else if message.starts_with("unknown variant") {
            FieldErrorKind::Invalid
        } else {
            FieldErrorKind::Malformed
        };
        let path = if path == "." { "document".to_owned() } else { path };
        FieldError::new(kind, path, message)
    })
}

/// The value of a Secret key, from `stringData` (which wins, as on the API server) or `data`.
pub fn secret_value(secret: &Secret, key: &str) -> Option<Vec<u8>> {
    secret
        .string_data
        .as_ref()
        .and_then(|data| data.get(key))
        .map(|value| value.as_bytes().to_vec())
        .or_else(|| {
            secret
                .data
                .as_ref()
                .and_then(|data| data.get(key))
                .map(|value| value.0.clone())
        })
}
