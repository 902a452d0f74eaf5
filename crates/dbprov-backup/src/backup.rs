//! Running one backup: dump tool → pipeline → storage, then the metadata.
//!
//! The artifact is committed only after the stream ended *and* the tool exited successfully (a killed
//! `pg_dump` closes its pipe like a finished one; only its exit status tells them apart), and the metadata
//! is written after the commit. Any failure, or dropping the future, leaves no committed artifact: the tool
//! is killed, the temporary file removed or the multipart upload aborted.

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::artifact::{
    AES_256_GCM, ArtifactMetadata, ArtifactName, CompressionInfo, EncryptionInfo, InvalidPrefix,
    METADATA_VERSION,
};
use crate::key::EncryptionKey;
use crate::pipeline::compression::InvalidCompressionLevel;
use crate::pipeline::encryption::DEFAULT_CHUNK_LOG2;
use crate::pipeline::{self, Compression, EncodeSettings, PipelineError};
use crate::progress::{Phase, Progress, ProgressReporter};
use crate::storage::{Storage, StorageError};
use crate::tools::{self, DatabaseTarget, DumpOptions, ToolError, ToolLocator};

/// What to back up and how.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub target: DatabaseTarget,
    pub dump: DumpOptions,
    /// gzip level 6 by default, as upstream's `compression` defaults.
    pub compression: Compression,
    /// Client-side encryption; the key's id and fingerprint go into the metadata.
    pub encryption: Option<EncryptionKey>,
    /// `storage.namePrefix`: replaces the database name at the start of artifact names.
    pub name_prefix: Option<String>,
    pub tools: ToolLocator,
}

impl BackupRequest {
    pub fn new(target: DatabaseTarget) -> Self {
        Self {
            target,
            dump: DumpOptions::default(),
            compression: Compression::gzip(),
            encryption: None,
            name_prefix: None,
            tools: ToolLocator::system(),
        }
    }
}

/// A completed backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub artifact: String,
    pub metadata_name: String,
    pub metadata: ArtifactMetadata,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    #[error("invalid backup of {database}")]
    InvalidCompression {
        database: String,
        #[source]
        source: InvalidCompressionLevel,
    },
    #[error("invalid backup of {database}")]
    InvalidName {
        database: String,
        #[source]
        source: InvalidPrefix,
    },
    #[error("failed to start dumping {database} on {instance}")]
    StartDump {
        database: String,
        instance: String,
        #[source]
        source: ToolError,
    },
    #[error("failed to dump {database} on {instance}")]
    Dump {
        database: String,
        instance: String,
        #[source]
        source: ToolError,
    },
    #[error("failed to create artifact {artifact}")]
    CreateArtifact {
        artifact: String,
        #[source]
        source: StorageError,
    },
    #[error("failed to stream {database} into {artifact}")]
    Stream {
        database: String,
        artifact: String,
        #[source]
        source: PipelineError,
    },
    #[error("failed to commit artifact {artifact}")]
    Commit {
        artifact: String,
        #[source]
        source: StorageError,
    },
    #[error("failed to write the metadata of {artifact}")]
    WriteMetadata {
        artifact: String,
        #[source]
        source: StorageError,
    },
}

impl BackupError {
    /// A stable PascalCase reason for conditions and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            BackupError::InvalidCompression { .. } | BackupError::InvalidName { .. } => "InvalidSpec",
            BackupError::StartDump { source, .. } => match source {
                ToolError::NotFound { .. } => "ToolNotFound",
                ToolError::DatabaseMissing { .. } => "DatabaseMissing",
                _ => "DumpFailed",
            },
            BackupError::Dump { .. } => "DumpFailed",
            BackupError::Stream { .. } => "StreamFailed",
            BackupError::CreateArtifact { .. }
            | BackupError::Commit { .. }
            | BackupError::WriteMetadata { .. } => "StorageFailed",
        }
    }
}

/// Backs up `request.target` into `storage`, publishing progress on `progress` when given.
pub async fn backup(
    request: &BackupRequest,
    storage: &Storage,
    progress: Option<watch::Sender<Progress>>,
) -> Result<BackupReport, BackupError> {
    let target = &request.target;
    let database = target.database.clone();
    let instance = target.connection.label.clone();
    request
        .compression
        .validate()
        .map_err(|source| BackupError::InvalidCompression {
            database: database.clone(),
            source,
        })?;
    let mut reporter = ProgressReporter::new(progress);
    let started_at = Utc::now();

    let mut dump = tools::start_dump(target, &request.dump, &request.tools)
        .await
        .map_err(|source| BackupError::StartDump {
            database: database.clone(),
            instance: instance.clone(),
            source,
        })?;
    let prefix = request.name_prefix.as_deref().unwrap_or(&database);
    let name = ArtifactName::new(
        prefix,
        started_at,
        dump.format,
        request.compression.algorithm(),
        request.encryption.is_some(),
    )
    .map_err(|source| BackupError::InvalidName {
        database: database.clone(),
        source,
    })?;
    let artifact = name.to_string();
    let mut writer = storage
        .create(&artifact)
        .await
        .map_err(|source| BackupError::CreateArtifact {
            artifact: artifact.clone(),
            source,
        })?;

    reporter.phase(Phase::Dumping, None);
    let settings = EncodeSettings {
        compression: request.compression,
        encryption: request.encryption.clone(),
    };
    let streamed = pipeline::encode(&mut dump.reader, &mut writer, &settings, &reporter).await;
    let summary = match streamed {
        Ok(summary) => summary,
        Err(source) => {
            writer.abort().await;
            dump.abort().await;
            return Err(BackupError::Stream {
                database,
                artifact,
                source,
            });
        }
    };
    reporter.phase(Phase::Finishing, None);
    let info = dump.info.clone();
    let format = dump.format;
    if let Err(source) = dump.finish().await {
        writer.abort().await;
        return Err(BackupError::Dump {
            database,
            instance,
            source,
        });
    }
    writer.commit().await.map_err(|source| BackupError::Commit {
        artifact: artifact.clone(),
        source,
    })?;

    let metadata = ArtifactMetadata {
        metadata_version: METADATA_VERSION,
        artifact: artifact.clone(),
        engine: info.engine,
        instance,
        database,
        format,
        server_version: info.server_version,
        tool: info.tool,
        tool_version: info.tool_version,
        compression: CompressionInfo {
            algorithm: request.compression.algorithm(),
            level: request.compression.level(),
        },
        encryption: request.encryption.as_ref().map(|key| EncryptionInfo {
            algorithm: AES_256_GCM.into(),
            key_id: key.id().to_owned(),
            key_fingerprint: key.fingerprint().to_owned(),
            chunk_size: 1 << DEFAULT_CHUNK_LOG2,
        }),
        raw_size_bytes: summary.raw_bytes,
        stored_size_bytes: summary.stored_bytes,
        sha256: summary.sha256,
        started_at,
        completed_at: now_after(started_at),
        dbprov_version: env!("CARGO_PKG_VERSION").into(),
    };
    let metadata_name = name.metadata_name();
    if let Err(source) = storage.put_small(&metadata_name, metadata.to_json().into()).await {
        // Without metadata the artifact is not a backup; do not leave it looking like one.
        if let Err(error) = storage.delete(&artifact).await {
            tracing::warn!(%artifact, error = %dbprov_core::error::error_chain(&error), "failed to remove an artifact whose metadata could not be written");
        }
        return Err(BackupError::WriteMetadata { artifact, source });
    }
    reporter.phase(Phase::Done, None);
    reporter.update(summary.raw_bytes, summary.stored_bytes);
    Ok(BackupReport {
        artifact,
        metadata_name,
        metadata,
    })
}

/// The clock may step back during a backup; the metadata never says it ended before it started.
fn now_after(started_at: DateTime<Utc>) -> DateTime<Utc> {
    Utc::now().max(started_at)
}
