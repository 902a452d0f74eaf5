//! Where artifacts live: a local directory (a PersistentVolumeClaim is a local directory inside the pod) or
//! an S3 bucket.
//!
//! Writes are all-or-nothing. A local artifact is written as `<name>.<random>.partial` and renamed only when
//! [`ArtifactWriter::commit`] is called after the whole stream succeeded; an S3 artifact is a multipart
//! upload that is completed only then, and aborted otherwise. An interrupted backup (an error, a dropped
//! future, a killed process) therefore never leaves an object under an artifact's name. Listing ignores
//! `.partial` files except to report them.
//!
//! Names are flat: one level under the directory or the bucket prefix, validated by [`validate_name`].

mod local;
mod s3;

use std::io;
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use dbprov_core::Secret;
use tokio::io::AsyncRead;

use crate::pipeline::ChunkSink;

pub use local::LocalStorage;
pub use s3::S3Storage;

/// Metadata files are small; anything larger is refused rather than read into memory.
pub const MAX_SMALL_OBJECT: u64 = 1 << 20;

/// `spec.storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// `type: local`: a directory on this machine (standalone CLI).
    Local { path: PathBuf },
    /// `type: pvc`: a PersistentVolumeClaim, which the backup Job mounts at `mount_path`; artifacts go to
    /// `subPath` inside it.
    Pvc {
        claim_name: String,
        mount_path: PathBuf,
        sub_path: Option<String>,
    },
    /// `type: s3`.
    S3(S3Config),
}

/// `spec.storage.s3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix ("folder") for the artifacts; empty for the bucket's root.
    pub prefix: Option<String>,
    /// An S3-compatible endpoint (`http://minio:9000`); AWS when absent. `http://` endpoints are allowed.
    pub endpoint: Option<String>,
    pub region: String,
    /// Path-style requests (`endpoint/bucket/key`), as MinIO and most S3-compatible servers need.
    pub force_path_style: bool,
    /// Static credentials (from the `secretRef`); when absent the AWS default chain applies (environment,
    /// web identity, instance metadata).
    pub credentials: Option<S3Credentials>,
    /// Size of the first multipart parts (at least 5 MiB, S3's minimum; 8 MiB by default). It doubles every
    /// 1000 parts so an upload fits S3's 10 000-part limit up to about 8 TiB. Memory held by an upload is
    /// about `(upload_concurrency + 1) × part size`.
    pub part_size: usize,
    /// Parts uploaded at the same time (2 by default).
    pub upload_concurrency: usize,
}

impl S3Config {
    pub const MIN_PART_SIZE: usize = 5 << 20;
    pub const DEFAULT_PART_SIZE: usize = 8 << 20;

    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: None,
            endpoint: None,
            region: region.into(),
            force_path_style: false,
            credentials: None,
            part_size: Self::DEFAULT_PART_SIZE,
            upload_concurrency: 2,
        }
    }
}

/// S3 access keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("invalid storage configuration: {field}: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    #[error("invalid artifact name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("{name} already exists in {location}")]
    AlreadyExists { name: String, location: String },
    #[error("{name} does not exist in {location}")]
    NotFound { name: String, location: String },
    #[error("{name} in {location} is {size} bytes, more than a metadata file may hold ({limit})")]
    TooLarge {
        name: String,
        location: String,
        size: u64,
        limit: u64,
    },
    #[error("{name} in {location} changed while it was being read")]
    Changed { name: String, location: String },
    #[error("failed to {action} {name} in {location}")]
    Io {
        action: &'static str,
        name: String,
        location: String,
        #[source]
        source: io::Error,
    },
    #[error("failed to {action} {name} in {location}")]
    ObjectStore {
        action: &'static str,
        name: String,
        location: String,
        #[source]
        source: Box<object_store::Error>,
    },
}

impl StorageError {
    /// A stable category for metrics and condition reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            StorageError::InvalidConfig { .. } | StorageError::InvalidName { .. } => "InvalidSpec",
            StorageError::AlreadyExists { .. } => "AlreadyExists",
            StorageError::NotFound { .. } => "NotFound",
            StorageError::TooLarge { .. } | StorageError::Changed { .. } => "ArtifactInvalid",
            StorageError::Io { .. } | StorageError::ObjectStore { .. } => "StorageFailed",
        }
    }
}

/// An object found by [`Storage::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub name: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// An opened artifact storage.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local(LocalStorage),
    S3(S3Storage),
}

impl Storage {
    /// Checks the configuration and prepares a client. Nothing is created or contacted yet.
    pub fn open(config: &StorageConfig) -> Result<Self, StorageError> {
        let backend = match config {
            StorageConfig::Local { path } => Backend::Local(LocalStorage::new(path.clone())?),
            StorageConfig::Pvc {
                claim_name,
                mount_path,
                sub_path,
            } => {
                if claim_name.is_empty() {
                    return Err(StorageError::InvalidConfig {
                        field: "pvc.claimName",
                        reason: "must not be empty".into(),
                    });
                }
                let mut path = mount_path.clone();
                if let Some(sub_path) = sub_path.as_deref().filter(|s| !s.is_empty()) {
                    let relative = Path::new(sub_path);
                    if !relative
                        .components()
                        .all(|component| matches!(component, Component::Normal(_)))
                    {
                        return Err(StorageError::InvalidConfig {
                            field: "pvc.subPath",
                            reason: format!("{sub_path:?} must be a relative path without `..`"),
                        });
                    }
                    path.push(relative);
                }
                Backend::Local(LocalStorage::new(path)?)
            }
            StorageConfig::S3(s3) => Backend::S3(S3Storage::new(s3)?),
        };
        Ok(Self { backend })
    }

    /// A human-readable location: a directory, or `s3://bucket/prefix`.
    pub fn location(&self) -> &str {
        match &self.backend {
            Backend::Local(local) => local.location(),
            Backend::S3(s3) => s3.location(),
        }
    }

    /// Starts writing an artifact. Fails when `name` already exists.
    pub async fn create(&self, name: &str) -> Result<ArtifactWriter, StorageError> {
        validate_name(name)?;
        let inner = match &self.backend {
            Backend::Local(local) => WriterInner::Local(local.create(name).await?),
            Backend::S3(s3) => WriterInner::S3(s3.create(name).await?),
        };
        Ok(ArtifactWriter { inner })
    }

    /// Writes a small object (metadata) atomically. Fails when `name` already exists.
    pub async fn put_small(&self, name: &str, contents: Bytes) -> Result<(), StorageError> {
        validate_name(name)?;
        match &self.backend {
            Backend::Local(local) => local.put_small(name, contents).await,
            Backend::S3(s3) => s3.put_small(name, contents).await,
        }
    }

    /// Reads a small object (at most [`MAX_SMALL_OBJECT`] bytes).
    pub async fn get_small(&self, name: &str) -> Result<Bytes, StorageError> {
        validate_name(name)?;
        match &self.backend {
            Backend::Local(local) => local.get_small(name).await,
            Backend::S3(s3) => s3.get_small(name).await,
        }
    }

    /// Opens an artifact for (repeated) reading. Every reader of one source reads the same bytes: the same
    /// open file, or the same S3 object version (pinned by its ETag).
    pub async fn open_artifact(&self, name: &str) -> Result<ArtifactSource, StorageError> {
        validate_name(name)?;
        let inner = match &self.backend {
            Backend::Local(local) => SourceInner::Local(local.open(name).await?),
            Backend::S3(s3) => SourceInner::S3(s3.open(name).await?),
        };
        Ok(ArtifactSource { inner })
    }

    /// Size and modification time of an object, or `None` when it does not exist.
    pub async fn head(&self, name: &str) -> Result<Option<StoredObject>, StorageError> {
        validate_name(name)?;
        match &self.backend {
            Backend::Local(local) => local.head(name).await,
            Backend::S3(s3) => s3.head(name).await,
        }
    }

    /// Every object directly under the directory or prefix, `.partial` files included, sorted by name.
    pub async fn list(&self) -> Result<Vec<StoredObject>, StorageError> {
        let mut objects = match &self.backend {
            Backend::Local(local) => local.list().await?,
            Backend::S3(s3) => s3.list().await?,
        };
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    /// Deletes an object; a missing object is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), StorageError> {
        validate_name(name)?;
        match &self.backend {
            Backend::Local(local) => local.delete(name).await,
            Backend::S3(s3) => s3.delete(name).await,
        }
    }
}

/// An artifact being written. Dropping it without [`ArtifactWriter::commit`] discards what was written.
#[derive(Debug)]
pub struct ArtifactWriter {
    inner: WriterInner,
}

#[derive(Debug)]
enum WriterInner {
    Local(local::LocalWriter),
    S3(s3::S3Writer),
}

impl ArtifactWriter {
    /// Makes the artifact visible under its name. Call only after the whole stream succeeded.
    pub async fn commit(self) -> Result<(), StorageError> {
        match self.inner {
            WriterInner::Local(writer) => writer.commit().await,
            WriterInner::S3(writer) => writer.commit().await,
        }
    }

    /// Discards what was written (the temporary file, the multipart upload's parts).
    pub async fn abort(self) {
        match self.inner {
            WriterInner::Local(writer) => writer.abort().await,
            WriterInner::S3(writer) => writer.abort().await,
        }
    }
}

impl ChunkSink for ArtifactWriter {
    async fn write_chunk(&mut self, chunk: Bytes) -> io::Result<()> {
        match &mut self.inner {
            WriterInner::Local(writer) => writer.write_chunk(chunk).await,
            WriterInner::S3(writer) => writer.write_chunk(chunk).await,
        }
    }
}

/// An artifact opened for reading; see [`Storage::open_artifact`].
#[derive(Debug)]
pub struct ArtifactSource {
    inner: SourceInner,
}

#[derive(Debug)]
enum SourceInner {
    Local(local::LocalSource),
    S3(s3::S3Source),
}

/// A reader over an artifact's stored bytes.
pub type ArtifactReader = Box<dyn AsyncRead + Send + Unpin>;

impl ArtifactSource {
    pub fn size(&self) -> u64 {
        match &self.inner {
            SourceInner::Local(source) => source.size(),
            SourceInner::S3(source) => source.size(),
        }
    }

    /// A reader from the first byte. Readers must be used one after the other, not at the same time.
    pub async fn reader(&mut self) -> Result<ArtifactReader, StorageError> {
        match &mut self.inner {
            SourceInner::Local(source) => source.reader().await,
            SourceInner::S3(source) => source.reader().await,
        }
    }
}

/// Object names are one path component: not empty, at most 255 bytes, no `/`, `\`, control characters, and
/// no leading `.` (hidden files are this module's temporary files).
pub fn validate_name(name: &str) -> Result<(), StorageError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > 255 {
        "it is longer than 255 bytes"
    } else if name.starts_with('.') {
        "it starts with a dot"
    } else if name.contains(['/', '\\']) {
        "it contains a path separator"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(StorageError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// A temporary object's name is `<name>.<random>.partial`.
pub fn is_partial(name: &str) -> bool {
    name.ends_with(".partial")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_components() {
        assert!(validate_name("clients-20250106-120000.sql.gz").is_ok());
        for bad in ["", ".hidden", "a/b", "..", "a\\b", "a\nb", &"x".repeat(256)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pvc_sub_paths_stay_inside_the_claim() {
        let pvc = |sub_path: &str| StorageConfig::Pvc {
            claim_name: "backups".into(),
            mount_path: "/backups".into(),
            sub_path: Some(sub_path.into()),
        };
        let storage = Storage::open(&pvc("team/orders")).unwrap();
        assert_eq!(storage.location(), "/backups/team/orders");
        for bad in ["../etc", "/abs", "a/../../b"] {
            assert!(Storage::open(&pvc(bad)).is_err(), "{bad}");
        }
    }
}
