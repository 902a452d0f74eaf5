//! Running one restore. Nothing touches the target until the artifact has been verified completely:
//!
//! 1. the request is checked (an in-place restore needs `acknowledgeDataLoss: I-UNDERSTAND-DATA-LOSS`);
//! 2. the metadata is read, the engines must match, and an encrypted artifact's key must have the recorded
//!    fingerprint;
//! 3. the target is inspected (read-only): a new-database restore needs it to exist and be empty (SQLite:
//!    absent or empty);
//! 4. **verification pass**: the whole artifact is read, its size and SHA-256 compared with the metadata
//!    and every encrypted chunk authenticated (with [`VerifyDepth::Full`], also decompressed to its end);
//! 5. **restore pass**: the same bytes are read again, checked again, decoded, and streamed into the
//!    restore tool.
//!
//! Two passes over the artifact instead of staging it in a temporary file: the only extra cost is reading
//! the artifact twice (cheap next to restoring it), whereas a staged copy needs free disk space the size of
//! the artifact, which a restore Job's ephemeral storage usually does not have. Both passes read the same
//! bytes: a local artifact through the same open file descriptor, an S3 object pinned by its ETag (a
//! replaced object fails the second read). The restore pass checks the SHA-256 again and kills the tool
//! instead of letting it finish if anything differs.

use tokio::sync::watch;

use crate::artifact::{self, ArtifactMetadata};
use crate::key::EncryptionKey;
use crate::pipeline::{self, PipelineError, WriterSink};
use crate::progress::{Phase, Progress, ProgressReporter};
use crate::tools::{
    self, DatabaseTarget, RestoreOptions, TargetState, ToolError, ToolLocator, engines_compatible,
};
use crate::verify::{self, VerifyDepth, VerifyError};

/// The value `confirmation.acknowledgeDataLoss` must have for an in-place restore.
pub const ACKNOWLEDGE_DATA_LOSS: &str = "I-UNDERSTAND-DATA-LOSS";

/// Where the restored data goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreMode {
    /// Into a database that exists and is empty (the default; the caller creates it). SQLite: a file that
    /// does not exist yet or is empty.
    NewDatabase,
    /// Over an existing database, replacing the objects the backup contains. Requires the acknowledgement.
    InPlace { acknowledgement: String },
}

#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The artifact's name in the storage.
    pub artifact: String,
    pub target: DatabaseTarget,
    pub mode: RestoreMode,
    /// The key, when the artifact is encrypted.
    pub encryption: Option<EncryptionKey>,
    pub options: RestoreOptions,
    /// What the verification pass checks before the target is touched (integrity by default).
    pub verify: VerifyDepth,
    pub tools: ToolLocator,
}

impl RestoreRequest {
    pub fn new(artifact: impl Into<String>, target: DatabaseTarget) -> Self {
        Self {
            artifact: artifact.into(),
            target,
            mode: RestoreMode::NewDatabase,
            encryption: None,
            options: RestoreOptions::default(),
            verify: VerifyDepth::default(),
            tools: ToolLocator::system(),
        }
    }
}

/// A completed restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub artifact: String,
    pub metadata: ArtifactMetadata,
    pub database: String,
    pub in_place: bool,
    /// Bytes streamed into the restore tool.
    pub raw_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    #[error(
        "an in-place restore replaces the data of {database}; it needs confirmation.acknowledgeDataLoss set to {ACKNOWLEDGE_DATA_LOSS}"
    )]
    AcknowledgementRequired { database: String },
    #[error(
        "{artifact} is a {source_engine} backup; it cannot be restored into {target_engine} instance {instance}"
    )]
    EngineMismatch {
        artifact: String,
        source_engine: &'static str,
        target_engine: &'static str,
        instance: String,
    },
    #[error("{artifact} cannot be restored; {database} was not touched")]
    Verify {
        artifact: String,
        database: String,
        #[source]
        source: Box<VerifyError>,
    },
    #[error("failed to inspect restore target {database} on {instance}")]
    Inspect {
        database: String,
        instance: String,
        #[source]
        source: Box<ToolError>,
    },
    #[error("restore target {database} does not exist on {instance}; create it first")]
    TargetMissing { database: String, instance: String },
    #[error(
        "restore target {database} on {instance} is not empty ({objects} objects); restore into a new database, or in place with the data-loss acknowledgement"
    )]
    TargetNotEmpty {
        database: String,
        instance: String,
        objects: u64,
    },
    #[error("failed to start restoring into {database} on {instance}")]
    StartRestore {
        database: String,
        instance: String,
        #[source]
        source: Box<ToolError>,
    },
    #[error("failed to restore {artifact} into {database} on {instance}")]
    Restore {
        artifact: String,
        database: String,
        instance: String,
        #[source]
        source: Box<ToolError>,
    },
    #[error("failed to stream {artifact} into {database} on {instance}")]
    Stream {
        artifact: String,
        database: String,
        instance: String,
        #[source]
        source: PipelineError,
    },
}

impl RestoreError {
    pub fn kind(&self) -> &'static str {
        match self {
            RestoreError::AcknowledgementRequired { .. } => "AcknowledgementRequired",
            RestoreError::EngineMismatch { .. } => "InvalidSpec",
            RestoreError::Verify { source, .. } => source.kind(),
            RestoreError::Inspect { .. } => "InspectFailed",
            RestoreError::TargetMissing { .. } => "DatabaseMissing",
            RestoreError::TargetNotEmpty { .. } => "TargetNotEmpty",
            RestoreError::StartRestore { .. } | RestoreError::Restore { .. } => "RestoreFailed",
            RestoreError::Stream { .. } => "StreamFailed",
        }
    }

    /// Whether the target may have been changed (the restore tool had started).
    pub fn target_touched(&self) -> bool {
        matches!(self, RestoreError::Restore { .. } | RestoreError::Stream { .. })
    }
}

/// Checks the mode alone: an in-place restore without the exact acknowledgement is refused before anything
/// is read or connected to.
pub fn check_mode(mode: &RestoreMode, database: &str) -> Result<(), RestoreError> {
    match mode {
        RestoreMode::InPlace { acknowledgement } if acknowledgement != ACKNOWLEDGE_DATA_LOSS => {
            Err(RestoreError::AcknowledgementRequired {
                database: database.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// Whether a target in `state` may receive a restore in `mode` (SQLite creates a missing file itself).
pub fn check_target(
    mode: &RestoreMode,
    state: TargetState,
    creates_missing: bool,
    target: &DatabaseTarget,
) -> Result<(), RestoreError> {
    match (state, mode) {
        (TargetState::Missing, _) if !creates_missing => Err(RestoreError::TargetMissing {
            database: target.database.clone(),
            instance: target.connection.label.clone(),
        }),
        (TargetState::NonEmpty { objects }, RestoreMode::NewDatabase) => Err(RestoreError::TargetNotEmpty {
            database: target.database.clone(),
            instance: target.connection.label.clone(),
            objects,
        }),
        _ => Ok(()),
    }
}

/// Restores `request.artifact` from `storage` into `request.target`.
pub async fn restore(
    request: &RestoreRequest,
    storage: &crate::storage::Storage,
    progress: Option<watch::Sender<Progress>>,
) -> Result<RestoreReport, RestoreError> {
    let target = &request.target;
    let database = target.database.clone();
    let instance = target.connection.label.clone();
    let artifact = request.artifact.clone();
    check_mode(&request.mode, &database)?;
    let verify_error = |source: VerifyError| RestoreError::Verify {
        artifact: artifact.clone(),
        database: database.clone(),
        source: Box::new(source),
    };

    let metadata = artifact::read_metadata(storage, &artifact)
        .await
        .map_err(|source| verify_error(Box::new(source).into()))?;
    if !engines_compatible(metadata.engine, target.engine) {
        return Err(RestoreError::EngineMismatch {
            artifact,
            source_engine: metadata.engine.display_name(),
            target_engine: target.engine.display_name(),
            instance,
        });
    }
    let settings = verify::decode_settings(&metadata, request.encryption.as_ref()).map_err(verify_error)?;

    let state = tools::inspect_target(target, &request.tools)
        .await
        .map_err(|source| RestoreError::Inspect {
            database: database.clone(),
            instance: instance.clone(),
            source: Box::new(source),
        })?;
    let creates_missing = target.engine == dbprov_core::EngineKind::Sqlite;
    check_target(&request.mode, state, creates_missing, target)?;

    let mut reporter = ProgressReporter::new(progress);
    let mut source = verify::open(storage, &metadata).await.map_err(verify_error)?;
    verify::verify_source(&mut source, &metadata, &settings, request.verify, &mut reporter)
        .await
        .map_err(verify_error)?;

    // Opened before the tool starts: an artifact that changed or vanished since verification (an S3 object
    // no longer matching its ETag) is refused with the target untouched.
    let reader = source.reader().await.map_err(|source| {
        verify_error(VerifyError::Open {
            artifact: artifact.clone(),
            source,
        })
    })?;

    // From here on the target changes.
    let in_place = matches!(request.mode, RestoreMode::InPlace { .. });
    let mut restore = tools::start_restore(
        target,
        metadata.format,
        in_place,
        &request.options,
        &request.tools,
    )
    .await
    .map_err(|source| RestoreError::StartRestore {
        database: database.clone(),
        instance: instance.clone(),
        source: Box::new(source),
    })?;
    reporter.phase(Phase::Restoring, Some(metadata.stored_size_bytes));
    let mut sink = WriterSink(&mut restore.writer);
    let streamed = pipeline::decode(reader, &mut sink, &settings, &reporter).await;
    let summary = match streamed {
        Ok(summary) => summary,
        // The tool stopped reading: its own error says why.
        Err(stream_error @ PipelineError::Write { .. }) => {
            let tool_error = restore.finish().await.err();
            return Err(match tool_error {
                Some(source) => RestoreError::Restore {
                    artifact,
                    database,
                    instance,
                    source: Box::new(source),
                },
                None => RestoreError::Stream {
                    artifact,
                    database,
                    instance,
                    source: stream_error,
                },
            });
        }
        Err(source) => {
            restore.abort().await;
            return Err(RestoreError::Stream {
                artifact,
                database,
                instance,
                source,
            });
        }
    };
    reporter.phase(Phase::Finishing, Some(metadata.stored_size_bytes));
    restore.finish().await.map_err(|source| RestoreError::Restore {
        artifact: artifact.clone(),
        database: database.clone(),
        instance: instance.clone(),
        source: Box::new(source),
    })?;
    reporter.phase(Phase::Done, Some(metadata.stored_size_bytes));
    reporter.update(summary.raw_bytes, summary.stored_bytes);
    Ok(RestoreReport {
        artifact,
        metadata,
        database,
        in_place,
        raw_bytes: summary.raw_bytes,
    })
}

#[cfg(test)]
mod tests {
    use dbprov_core::{ConnectionSpec, EngineKind};

    use super::*;

    fn target() -> DatabaseTarget {
        DatabaseTarget::new(EngineKind::Postgres, ConnectionSpec::tcp("h", 5432), "orders")
    }

    #[test]
    fn in_place_needs_the_exact_acknowledgement() {
        let mode = |acknowledgement: &str| RestoreMode::InPlace {
            acknowledgement: acknowledgement.into(),
        };
        for wrong in ["", "yes", "i-understand-data-loss", "I-UNDERSTAND-DATA-LOSS "] {
            let error = check_mode(&mode(wrong), "orders").unwrap_err();
            assert_eq!(error.kind(), "AcknowledgementRequired");
            assert!(error.to_string().contains("I-UNDERSTAND-DATA-LOSS"), "{error}");
        }
        check_mode(&mode(ACKNOWLEDGE_DATA_LOSS), "orders").unwrap();
        check_mode(&RestoreMode::NewDatabase, "orders").unwrap();
    }

    #[test]
    fn targets_must_be_empty_unless_in_place() {
        let in_place = RestoreMode::InPlace {
            acknowledgement: ACKNOWLEDGE_DATA_LOSS.into(),
        };
        let full = TargetState::NonEmpty { objects: 3 };
        assert!(check_target(&RestoreMode::NewDatabase, TargetState::Empty, false, &target()).is_ok());
        assert!(matches!(
            check_target(&RestoreMode::NewDatabase, full, false, &target()),
            Err(RestoreError::TargetNotEmpty { objects: 3, .. })
        ));
        assert!(check_target(&in_place, full, false, &target()).is_ok());
        assert!(matches!(
            check_target(&in_place, TargetState::Missing, false, &target()),
            Err(RestoreError::TargetMissing { .. })
        ));
        assert!(check_target(&RestoreMode::NewDatabase, TargetState::Missing, true, &target()).is_ok());
    }
}
