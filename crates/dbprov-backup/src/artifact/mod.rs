//! Artifacts: their names, formats and metadata, and listing and deleting them in a storage.
//!
//! An artifact is complete when its metadata file exists: the metadata is written last, after the artifact
//! was committed, and deleted first. Anything else found in a storage is reported with what is wrong with
//! it, never as a usable backup.

mod metadata;
mod name;

use serde::{Deserialize, Serialize};

pub use metadata::{
    AES_256_GCM, ArtifactMetadata, CompressionInfo, EncryptionInfo, METADATA_VERSION, MetadataError,
};
pub use name::{ArtifactName, InvalidPrefix, artifact_of_metadata, escape_prefix, extension, metadata_name};

use crate::storage::{Storage, StorageError, StoredObject, is_partial};

/// What the dump tool produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArtifactFormat {
    /// `pg_dump --format=custom`, restored with `pg_restore`.
    #[serde(rename = "postgres-custom")]
    PostgresCustom,
    /// `pg_dump --format=plain`, restored with `psql`.
    #[serde(rename = "postgres-plain")]
    PostgresPlain,
    /// `mariadb-dump`/`mysqldump` SQL, restored with the `mariadb`/`mysql` client.
    #[serde(rename = "mysql-sql")]
    MySqlSql,
    /// A SQLite database file (an online snapshot).
    #[serde(rename = "sqlite-database")]
    SqliteDatabase,
}

impl ArtifactFormat {
    pub const ALL: [ArtifactFormat; 4] = [
        ArtifactFormat::PostgresCustom,
        ArtifactFormat::PostgresPlain,
        ArtifactFormat::MySqlSql,
        ArtifactFormat::SqliteDatabase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactFormat::PostgresCustom => "postgres-custom",
            ArtifactFormat::PostgresPlain => "postgres-plain",
            ArtifactFormat::MySqlSql => "mysql-sql",
            ArtifactFormat::SqliteDatabase => "sqlite-database",
        }
    }

    /// The base file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ArtifactFormat::PostgresCustom => "dump",
            ArtifactFormat::PostgresPlain | ArtifactFormat::MySqlSql => "sql",
            ArtifactFormat::SqliteDatabase => "sqlite3",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    #[error("failed to list artifacts in {location}")]
    List {
        location: String,
        #[source]
        source: StorageError,
    },
    #[error("failed to read the metadata of {artifact} in {location}")]
    ReadMetadata {
        artifact: String,
        location: String,
        #[source]
        source: StorageError,
    },
    #[error("the metadata of {artifact} in {location} is unusable")]
    InvalidMetadata {
        artifact: String,
        location: String,
        #[source]
        source: MetadataError,
    },
    #[error("failed to delete {object} from {location}")]
    Delete {
        object: String,
        location: String,
        #[source]
        source: StorageError,
    },
}

impl ArtifactError {
    pub fn kind(&self) -> &'static str {
        match self {
            ArtifactError::List { .. } | ArtifactError::Delete { .. } => "StorageFailed",
            ArtifactError::ReadMetadata { source, .. } => source.kind(),
            ArtifactError::InvalidMetadata { .. } => "ArtifactInvalid",
        }
    }
}

/// What a listing found under one artifact name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactState {
    /// The artifact and its metadata exist and the sizes agree. (The checksum is checked by `verify`.)
    Complete,
    /// An artifact-like object without metadata: a backup interrupted between commit and metadata, or a file
    /// someone put there.
    MissingMetadata,
    /// Metadata whose artifact is gone.
    MissingArtifact,
    /// The stored size differs from the metadata's.
    SizeMismatch { expected: u64, actual: u64 },
    /// Metadata that cannot be used (bad JSON, unknown version, ...).
    InvalidMetadata { reason: String },
    /// A temporary file of a running or interrupted backup.
    Partial,
}

/// One entry of [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    /// The artifact's (or the temporary file's) name.
    pub name: String,
    pub state: ArtifactState,
    pub metadata: Option<ArtifactMetadata>,
    /// The stored object, when it exists.
    pub object: Option<StoredObject>,
}

impl ArtifactEntry {
    pub fn is_complete(&self) -> bool {
        self.state == ArtifactState::Complete
    }
}

/// Everything in the storage that is or was meant to be an artifact, oldest name first. Objects that are
/// neither artifacts, metadata nor temporary files are left out.
pub async fn list(storage: &Storage) -> Result<Vec<ArtifactEntry>, ArtifactError> {
    let objects = storage.list().await.map_err(|source| ArtifactError::List {
        location: storage.location().to_owned(),
        source,
    })?;
    let by_name: std::collections::BTreeMap<&str, &StoredObject> = objects
        .iter()
        .map(|object| (object.name.as_str(), object))
        .collect();
    let mut entries = Vec::new();
    for object in &objects {
        let name = object.name.as_str();
        if is_partial(name) {
            entries.push(ArtifactEntry {
                name: name.to_owned(),
                state: ArtifactState::Partial,
                metadata: None,
                object: Some(object.clone()),
            });
        } else if let Some(artifact) = artifact_of_metadata(name) {
            let stored = by_name.get(artifact).map(|object| (*object).clone());
            let (state, metadata) = match read_metadata(storage, artifact).await {
                Ok(metadata) => {
                    let state = match &stored {
                        None => ArtifactState::MissingArtifact,
                        Some(object) if object.size != metadata.stored_size_bytes => {
                            ArtifactState::SizeMismatch {
                                expected: metadata.stored_size_bytes,
                                actual: object.size,
                            }
                        }
                        Some(_) => ArtifactState::Complete,
                    };
                    (state, Some(metadata))
                }
                Err(ArtifactError::InvalidMetadata { source, .. }) => (
                    ArtifactState::InvalidMetadata {
                        reason: dbprov_core::error::error_chain(&source),
                    },
                    None,
                ),
                Err(error) => return Err(error),
            };
            entries.push(ArtifactEntry {
                name: artifact.to_owned(),
                state,
                metadata,
                object: stored,
            });
        } else if ArtifactName::parse(name).is_some() && !by_name.contains_key(metadata_name(name).as_str()) {
            entries.push(ArtifactEntry {
                name: name.to_owned(),
                state: ArtifactState::MissingMetadata,
                metadata: None,
                object: Some(object.clone()),
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Reads and checks an artifact's metadata.
pub async fn read_metadata(storage: &Storage, artifact: &str) -> Result<ArtifactMetadata, ArtifactError> {
    let json = storage
        .get_small(&metadata_name(artifact))
        .await
        .map_err(|source| ArtifactError::ReadMetadata {
            artifact: artifact.to_owned(),
            location: storage.location().to_owned(),
            source,
        })?;
    ArtifactMetadata::from_json(artifact, &json).map_err(|source| ArtifactError::InvalidMetadata {
        artifact: artifact.to_owned(),
        location: storage.location().to_owned(),
        source,
    })
}

/// Deletes an artifact: the metadata first, so an interrupted deletion leaves an incomplete artifact rather
/// than a complete-looking one whose data is gone. Deleting what does not exist succeeds.
pub async fn delete(storage: &Storage, artifact: &str) -> Result<(), ArtifactError> {
    for object in [metadata_name(artifact), artifact.to_owned()] {
        storage
            .delete(&object)
            .await
            .map_err(|source| ArtifactError::Delete {
                object: object.clone(),
                location: storage.location().to_owned(),
                source,
            })?;
    }
    Ok(())
}

/// The complete artifacts among `entries` as retention candidates, dated by when their backup started.
/// Callers select the entries of one backup series first (one database, one schedule's prefix).
pub fn retention_candidates<'a>(
    entries: impl IntoIterator<Item = &'a ArtifactEntry>,
) -> Vec<crate::retention::Candidate> {
    entries
        .into_iter()
        .filter(|entry| entry.is_complete())
        .filter_map(|entry| {
            entry
                .metadata
                .as_ref()
                .map(|metadata| crate::retention::Candidate {
                    id: entry.name.clone(),
                    created_at: metadata.started_at,
                })
        })
        .collect()
}

/// Deletes every artifact the plan does not keep and returns their names. Stops at the first failure;
/// what was deleted until then stays deleted and running it again continues.
pub async fn prune(
    storage: &Storage,
    plan: &crate::retention::RetentionPlan,
) -> Result<Vec<String>, ArtifactError> {
    let mut deleted = Vec::new();
    for decision in plan.deleted() {
        delete(storage, &decision.id).await?;
        deleted.push(decision.id.clone());
    }
    Ok(deleted)
}
