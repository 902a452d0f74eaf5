//! Verifying an artifact: read it completely, checking its size and SHA-256 against the metadata,
//! authenticating every encrypted chunk and decompressing it to the end, without writing anything anywhere.
//! `dbprov backup verify` runs this; every restore runs it before it touches the target.

use tokio::sync::watch;

use crate::artifact::{self, ArtifactError, ArtifactMetadata};
use crate::key::EncryptionKey;
use crate::pipeline::{
    self, CompressionAlgorithm, DecodeSettings, DiscardSink, ExpectedArtifact, PipelineError,
};
use crate::progress::{Phase, Progress, ProgressReporter};
use crate::storage::{ArtifactSource, Storage, StorageError};

/// A verified artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub artifact: String,
    pub metadata: ArtifactMetadata,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error(transparent)]
    Metadata(#[from] Box<ArtifactError>),
    #[error("failed to open {artifact}")]
    Open {
        artifact: String,
        #[source]
        source: StorageError,
    },
    #[error("{artifact} is encrypted; its key ({key_id}) is needed")]
    KeyRequired { artifact: String, key_id: String },
    #[error("the key given ({given}) is not the key {artifact} was encrypted with ({key_id}, {expected})")]
    WrongKey {
        artifact: String,
        key_id: String,
        given: String,
        expected: String,
    },
    #[error("{artifact} is corrupt")]
    Corrupt {
        artifact: String,
        #[source]
        source: PipelineError,
    },
    #[error("{artifact} decodes to {actual} bytes, but its metadata records {expected}")]
    RawSizeMismatch {
        artifact: String,
        expected: u64,
        actual: u64,
    },
    #[error("failed to read {artifact}")]
    Read {
        artifact: String,
        #[source]
        source: PipelineError,
    },
}

impl VerifyError {
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Metadata(error) => error.kind(),
            VerifyError::Open { source, .. } => source.kind(),
            VerifyError::KeyRequired { .. } | VerifyError::WrongKey { .. } => "KeyMismatch",
            VerifyError::Corrupt { .. } | VerifyError::RawSizeMismatch { .. } => "ArtifactInvalid",
            VerifyError::Read { .. } => "StorageFailed",
        }
    }
}

/// Reads the metadata, opens the artifact and verifies it completely ([`VerifyDepth::Full`]).
pub async fn verify(
    storage: &Storage,
    artifact: &str,
    key: Option<&EncryptionKey>,
    progress: Option<watch::Sender<Progress>>,
) -> Result<VerifyReport, VerifyError> {
    let metadata = artifact::read_metadata(storage, artifact)
        .await
        .map_err(Box::new)?;
    let settings = decode_settings(&metadata, key)?;
    let mut source = open(storage, &metadata).await?;
    let mut reporter = ProgressReporter::new(progress);
    verify_source(
        &mut source,
        &metadata,
        &settings,
        VerifyDepth::Full,
        &mut reporter,
    )
    .await?;
    reporter.phase(Phase::Done, Some(metadata.stored_size_bytes));
    Ok(VerifyReport {
        artifact: artifact.to_owned(),
        metadata,
    })
}

pub(crate) async fn open(
    storage: &Storage,
    metadata: &ArtifactMetadata,
) -> Result<ArtifactSource, VerifyError> {
    storage
        .open_artifact(&metadata.artifact)
        .await
        .map_err(|source| VerifyError::Open {
            artifact: metadata.artifact.clone(),
            source,
        })
}

/// How to decode the artifact, after checking the key against the metadata's fingerprint.
pub(crate) fn decode_settings(
    metadata: &ArtifactMetadata,
    key: Option<&EncryptionKey>,
) -> Result<DecodeSettings, VerifyError> {
    let encryption = match (&metadata.encryption, key) {
        (None, _) => None,
        (Some(info), None) => {
            return Err(VerifyError::KeyRequired {
                artifact: metadata.artifact.clone(),
                key_id: info.key_id.clone(),
            });
        }
        (Some(info), Some(key)) if key.fingerprint() != info.key_fingerprint => {
            return Err(VerifyError::WrongKey {
                artifact: metadata.artifact.clone(),
                key_id: info.key_id.clone(),
                given: key.fingerprint().to_owned(),
                expected: info.key_fingerprint.clone(),
            });
        }
        (Some(_), Some(key)) => Some(key.clone()),
    };
    Ok(DecodeSettings {
        compression: metadata.compression.algorithm,
        encryption,
        expected: Some(ExpectedArtifact {
            stored_bytes: metadata.stored_size_bytes,
            sha256: metadata.sha256.clone(),
        }),
    })
}

/// Classifies a decoding failure: the artifact's fault, or the storage's.
pub(crate) fn decode_error(metadata: &ArtifactMetadata, source: PipelineError) -> VerifyError {
    if source.is_integrity_failure() {
        VerifyError::Corrupt {
            artifact: metadata.artifact.clone(),
            source,
        }
    } else {
        VerifyError::Read {
            artifact: metadata.artifact.clone(),
            source,
        }
    }
}

/// How much a verification pass checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifyDepth {
    /// Size and SHA-256 of the stored bytes, and the authentication of every encrypted chunk: the artifact
    /// is exactly what the backup wrote and the key is right. A restore's default.
    #[default]
    Integrity,
    /// Also decompresses the whole stream and checks the uncompressed size: proves the artifact decodes,
    /// which guards against a corruption that happened before the checksum was computed. `verify` always
    /// does this; it costs a restore about one decompression of the dump.
    Full,
}

/// One verification pass over `source`.
pub(crate) async fn verify_source(
    source: &mut ArtifactSource,
    metadata: &ArtifactMetadata,
    settings: &DecodeSettings,
    depth: VerifyDepth,
    reporter: &mut ProgressReporter,
) -> Result<(), VerifyError> {
    // Cheap first: the stored size.
    if source.size() != metadata.stored_size_bytes {
        return Err(VerifyError::Corrupt {
            artifact: metadata.artifact.clone(),
            source: PipelineError::SizeMismatch {
                expected: metadata.stored_size_bytes,
                actual: source.size(),
            },
        });
    }
    reporter.phase(Phase::Verifying, Some(metadata.stored_size_bytes));
    let reader = source.reader().await.map_err(|source| VerifyError::Open {
        artifact: metadata.artifact.clone(),
        source,
    })?;
    let integrity_only;
    let settings = match depth {
        VerifyDepth::Full => settings,
        VerifyDepth::Integrity => {
            integrity_only = DecodeSettings {
                compression: CompressionAlgorithm::None,
                ..settings.clone()
            };
            &integrity_only
        }
    };
    let summary = pipeline::decode(reader, &mut DiscardSink, settings, reporter)
        .await
        .map_err(|source| decode_error(metadata, source))?;
    if depth == VerifyDepth::Full && summary.raw_bytes != metadata.raw_size_bytes {
        return Err(VerifyError::RawSizeMismatch {
            artifact: metadata.artifact.clone(),
            expected: metadata.raw_size_bytes,
            actual: summary.raw_bytes,
        });
    }
    Ok(())
}
