//! Where backups are stored and how they are encoded: `storage`, `compression` and `encryption`, shared by
//! `DatabaseBackup`, `DatabaseBackupSchedule` (its template) and `DatabaseRestore` (`fromPath`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{SecretKeySelector, Unsupported, default_true, is_false};

/// The kind of storage.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    /// A directory on the machine running dbprov (dbprov addition, for the standalone CLI): `local.path`.
    Local,
    /// A PersistentVolumeClaim mounted into the backup Job (in a cluster): `pvc.claimName`, `pvc.subPath`.
    Pvc,
    /// An S3 bucket (AWS or S3-compatible: MinIO, Ceph, R2): `s3`.
    S3,
    /// Upstream only (Google Cloud Storage); rejected by dbprov.
    Gcs,
    /// Upstream only (Azure Blob Storage); rejected by dbprov.
    Azure,
}

impl StorageType {
    /// The exact string used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::Local => "local",
            StorageType::Pvc => "pvc",
            StorageType::S3 => "s3",
            StorageType::Gcs => "gcs",
            StorageType::Azure => "azure",
        }
    }
}

/// Where backup artifacts live. Exactly the section named by `type` must be given. Every artifact is one file
/// (or object) named `{namePrefix}-{YYYYMMDD-HHMMSS}.{extension}` (UTC) next to its metadata file
/// `{artifact}.meta.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupStorage {
    /// `local`, `pvc` or `s3`. Upstream's `gcs` and `azure` are rejected.
    #[serde(rename = "type")]
    pub storage_type: StorageType,
    /// `type: local`: a directory on this machine (standalone dbprov only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalStorageConfig>,
    /// `type: pvc`: a PersistentVolumeClaim (in a cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<PvcStorageConfig>,
    /// `type: s3`: an S3 bucket, written with multipart uploads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3StorageConfig>,
    /// Upstream Google Cloud Storage settings. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<Unsupported>,
    /// Upstream Azure Blob Storage settings. Rejected by dbprov.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<Unsupported>,
    /// Replaces the database name at the start of artifact names (dbprov addition): `namePrefix: clients` with
    /// gzip on MySQL gives `clients-20250106-120000.sql.gz`. Default: the database name. Characters outside
    /// `[A-Za-z0-9_.-]` are escaped as `=XX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
}

/// `storage.local`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalStorageConfig {
    /// The directory holding the artifacts (created when missing). Relative paths are relative to the
    /// working directory of `dbprov`.
    pub path: String,
}

/// `storage.pvc`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PvcStorageConfig {
    /// The PersistentVolumeClaim mounted into the backup Job.
    pub claim_name: String,
    /// A relative directory inside the claim. Default: the claim's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// `storage.s3`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3StorageConfig {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The region (any value for most S3-compatible servers).
    pub region: String,
    /// A key prefix ("folder") for the artifacts. Default: the bucket's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// An S3-compatible endpoint (`http://minio:9000`). Default: AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The Secret holding the access keys. Default (dbprov addition): the AWS default chain (environment,
    /// web identity, instance metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<S3SecretRef>,
    /// Path-style requests (`endpoint/bucket/key`), as MinIO and most S3-compatible servers need. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub force_path_style: bool,
}

/// The Secret with S3 access keys.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3SecretRef {
    /// Name of the Secret.
    pub name: String,
    /// Namespace of the Secret (dbprov addition). Default: the referring object's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The keys holding the access key id and secret. Default `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<S3SecretKeys>,
}

impl S3SecretRef {
    /// The key holding the access key id.
    pub fn access_key(&self) -> &str {
        self.keys
            .as_ref()
            .map_or(DEFAULT_ACCESS_KEY, |keys| keys.access_key.as_str())
    }

    /// The key holding the secret access key.
    pub fn secret_key(&self) -> &str {
        self.keys
            .as_ref()
            .map_or(DEFAULT_SECRET_KEY, |keys| keys.secret_key.as_str())
    }

    /// The key holding a session token, if one is configured.
    pub fn session_token_key(&self) -> Option<&str> {
        self.keys.as_ref().and_then(|keys| keys.session_token.as_deref())
    }
}

const DEFAULT_ACCESS_KEY: &str = "AWS_ACCESS_KEY_ID";
const DEFAULT_SECRET_KEY: &str = "AWS_SECRET_ACCESS_KEY";

/// Key names inside the S3 credentials Secret.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3SecretKeys {
    /// The key holding the access key id. Default `AWS_ACCESS_KEY_ID`.
    #[serde(default = "default_access_key")]
    pub access_key: String,
    /// The key holding the secret access key. Default `AWS_SECRET_ACCESS_KEY`.
    #[serde(default = "default_secret_key")]
    pub secret_key: String,
    /// The key holding a session token (dbprov addition). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

fn default_access_key() -> String {
    DEFAULT_ACCESS_KEY.to_owned()
}

fn default_secret_key() -> String {
    DEFAULT_SECRET_KEY.to_owned()
}

/// A compression algorithm name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CompressionAlgorithm {
    /// gzip (`.gz`), readable by `gunzip`; levels 1 to 9.
    #[default]
    Gzip,
    /// zstd (`.zst`), multi-threaded; levels 1 to 19.
    Zstd,
    /// Upstream only; rejected by dbprov (use zstd).
    Lz4,
    /// No compression (same as `enabled: false`).
    None,
}

impl CompressionAlgorithm {
    /// The exact string used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionAlgorithm::Gzip => "gzip",
            CompressionAlgorithm::Zstd => "zstd",
            CompressionAlgorithm::Lz4 => "lz4",
            CompressionAlgorithm::None => "none",
        }
    }
}

/// How the dump is compressed. Without this section: gzip at level 6 (upstream's defaults).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompressionConfig {
    /// Whether to compress. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `gzip` (default) or `zstd`; `none` is the same as `enabled: false`. Upstream's `lz4` is rejected.
    #[serde(default)]
    pub algorithm: CompressionAlgorithm,
    /// The level: gzip 1 (fast) to 9 (small), default 6; zstd 1 to 19, default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 19))]
    pub level: Option<i32>,
}

/// An encryption algorithm name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum EncryptionAlgorithm {
    /// AES-256-GCM in authenticated 64 KiB chunks: a truncated, reordered or altered artifact is detected.
    #[default]
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// Upstream only; rejected by dbprov (CBC has no integrity protection).
    #[serde(rename = "aes-256-cbc")]
    Aes256Cbc,
}

impl EncryptionAlgorithm {
    /// The exact string used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionAlgorithm::Aes256Gcm => "aes-256-gcm",
            EncryptionAlgorithm::Aes256Cbc => "aes-256-cbc",
        }
    }
}

/// Client-side encryption: the artifact is encrypted before it leaves dbprov, and restoring it needs the key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Whether to encrypt. Default: true when `secretRef` is given (dbprov never silently skips a configured
    /// key); `enabled: false` turns encryption off explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `aes-256-gcm` (default). Upstream's `aes-256-cbc` is rejected.
    #[serde(default)]
    pub algorithm: EncryptionAlgorithm,
    /// The Secret key holding the 32-byte key: raw, 64 hex digits or base64 (`openssl rand -hex 32`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

impl EncryptionConfig {
    /// Whether the configuration asks for encryption.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(self.secret_ref.is_some())
    }
}
