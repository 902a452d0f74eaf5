//! dbprov-install: everything that deploys the dbprov operator, built from one set of typed definitions.
//!
//! * [`render`]: the manifest set of `dbprov install` (CRDs, Namespace, ServiceAccount, least-privilege RBAC,
//!   Deployment, metrics Service) as one YAML stream for `kubectl apply -f -`;
//! * [`Manifest`]: the same objects, typed (k8s-openapi structs);
//! * [`deploy_files`]: the generated files under `deploy/` — one file per CRD and the Helm chart, whose
//!   templates are produced from the same builders with Helm expressions in place of the flag values.

#![warn(missing_docs)]

mod args;
mod deployment;
mod error;
mod generated;
mod helm;
mod manifest;
mod names;
mod namespace;
mod rbac;
mod service;
mod settings;

pub use args::{
    DEFAULT_IMAGE, DEFAULT_NAMESPACE, IMAGE_REPOSITORY, InstallArgs, REPLICAS_WITH_LEADER_ELECTION,
};
pub use deployment::{
    ENV_LEADER_ELECTION, ENV_METRICS_ADDRESS, ENV_POD_NAMESPACE, ENV_WATCH_NAMESPACES, RUN_AS_USER,
};
pub use error::InstallError;
pub use generated::{CRD_FILE_HEADER, GENERATED_DIRECTORIES, GeneratedFile, crd_files, deploy_files};
pub use helm::MINIMUM_KUBERNETES;
pub use manifest::{Manifest, render};
pub use names::{METRICS_PORT, METRICS_SERVICE, OPERATOR};
pub use rbac::Rbac;
