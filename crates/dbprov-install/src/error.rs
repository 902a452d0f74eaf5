//! Why the manifests could not be produced.

/// An install error: a flag value that would produce a broken or unsafe deployment, or a generation failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// A namespace flag that is not a valid Kubernetes namespace name.
    #[error("invalid {flag} {namespace:?}: {reason}")]
    InvalidNamespace {
        /// The flag that carried it (`--namespace`, `--watch-namespaces`).
        flag: &'static str,
        /// The rejected value.
        namespace: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An image reference that cannot be pulled.
    #[error("invalid --image {image:?}: {reason}")]
    InvalidImage {
        /// The rejected value.
        image: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A replica count below one.
    #[error("invalid --replicas {replicas}: at least one replica is needed")]
    InvalidReplicas {
        /// The rejected value.
        replicas: i32,
    },
    /// More than one replica without leader election: several operators would reconcile the same objects.
    #[error(
        "--replicas {replicas} needs leader election: without it every replica would reconcile the same objects; \
         use --replicas 1 or --leader-election=true"
    )]
    ReplicasWithoutLeaderElection {
        /// The requested replicas.
        replicas: i32,
    },
    /// An object could not be written as YAML.
    #[error("failed to write {object} as yaml")]
    Serialize {
        /// `Kind/name` of the object.
        object: String,
        /// The serializer's error.
        #[source]
        source: serde_saphyr::SerializeError,
    },
    /// An object could not be converted to JSON for templating.
    #[error("failed to convert {object} to json")]
    ToJson {
        /// `Kind/name` of the object.
        object: String,
        /// The serializer's error.
        #[source]
        source: serde_json::Error,
    },
    /// The Helm chart generator did not find a placeholder it substitutes: the manifest builders changed
    /// in a way the generator does not know about.
    #[error("helm chart generation: placeholder {placeholder} not found in {file}")]
    PlaceholderMissing {
        /// The chart file being generated.
        file: String,
        /// The placeholder.
        placeholder: String,
    },
    /// Two variants of an object differ in a way the Helm chart generator does not turn into a template
    /// expression: the manifest builders changed and the generator must learn about it.
    #[error("helm chart generation: {object} differs at {pointer} in a way the generator does not template")]
    UnhandledDifference {
        /// `Kind/name` of the object.
        object: String,
        /// JSON pointer of the difference.
        pointer: String,
    },
}

impl InstallError {
    /// A stable identifier of the error class.
    pub fn kind(&self) -> &'static str {
        match self {
            InstallError::InvalidNamespace { .. } => "InvalidNamespace",
            InstallError::InvalidImage { .. } => "InvalidImage",
            InstallError::InvalidReplicas { .. } => "InvalidReplicas",
            InstallError::ReplicasWithoutLeaderElection { .. } => "ReplicasWithoutLeaderElection",
            InstallError::Serialize { .. } => "Serialize",
            InstallError::ToJson { .. } => "ToJson",
            InstallError::PlaceholderMissing { .. } => "PlaceholderMissing",
            InstallError::UnhandledDifference { .. } => "UnhandledDifference",
        }
    }
}
