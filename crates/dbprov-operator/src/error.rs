//! Failures of the Kubernetes side of a reconcile (the database side is reported in the object's status and
//! retried by policy; it is not an error of the reconcile itself): writes to the object, its Secrets, its
//! Jobs, and a schedule's backups.

/// A Kubernetes API write the reconcile needed failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("failed to update the finalizers of {object}")]
    WriteFinalizers {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to write the status of {object}")]
    WriteStatus {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to record the password fingerprint on secret {secret}")]
    WriteFingerprint {
        secret: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to keep a copy of secret {secret} (credentials of {object}) in the operator namespace")]
    CopyCredentials {
        object: String,
        secret: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to remove the operator's copy of secret {secret}")]
    RemoveCopy {
        secret: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to release secret {secret} from its owner")]
    OrphanSecret {
        secret: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to read {object}")]
    ReadObject {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to list the jobs of {object}")]
    ListJobs {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to create job {job} for {object}")]
    CreateJob {
        object: String,
        job: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to delete job {job} of {object}")]
    DeleteJob {
        object: String,
        job: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to create backup {backup} for {schedule}")]
    CreateBackup {
        schedule: String,
        backup: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to delete backup {backup} of {schedule}")]
    DeleteBackup {
        schedule: String,
        backup: String,
        #[source]
        source: kube::Error,
    },

    #[error("failed to delete {object}, expired by its ttl")]
    DeleteExpired {
        object: String,
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// A stable PascalCase name, for metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::WriteFinalizers { .. } => "FinalizerWriteFailed",
            Error::WriteStatus { .. } => "StatusWriteFailed",
            Error::WriteFingerprint { .. } => "FingerprintWriteFailed",
            Error::CopyCredentials { .. } => "CredentialsCopyFailed",
            Error::RemoveCopy { .. } => "CredentialsCopyRemovalFailed",
            Error::OrphanSecret { .. } => "SecretReleaseFailed",
            Error::ReadObject { .. } => "ObjectReadFailed",
            Error::ListJobs { .. } => "JobListFailed",
            Error::CreateJob { .. } => "JobCreateFailed",
            Error::DeleteJob { .. } => "JobDeleteFailed",
            Error::CreateBackup { .. } => "BackupCreateFailed",
            Error::DeleteBackup { .. } => "BackupDeleteFailed",
            Error::DeleteExpired { .. } => "ExpiredDeleteFailed",
        }
    }

    /// Whether the write lost a race with another writer (retry soon, with the fresh object).
    pub fn is_conflict(&self) -> bool {
        let source = match self {
            Error::WriteFinalizers { source, .. }
            | Error::WriteStatus { source, .. }
            | Error::WriteFingerprint { source, .. }
            | Error::CopyCredentials { source, .. }
            | Error::RemoveCopy { source, .. }
            | Error::OrphanSecret { source, .. }
            | Error::ReadObject { source, .. }
            | Error::ListJobs { source, .. }
            | Error::CreateJob { source, .. }
            | Error::DeleteJob { source, .. }
            | Error::CreateBackup { source, .. }
            | Error::DeleteBackup { source, .. }
            | Error::DeleteExpired { source, .. } => source,
        };
        matches!(source, kube::Error::Api(status) if status.is_conflict())
    }
}
