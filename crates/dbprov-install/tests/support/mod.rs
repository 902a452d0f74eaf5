//! Shared by the integration tests: a Helm renderer, schema validation, the repository's paths.

#![allow(dead_code)]

pub mod helm;
pub mod kubernetes;

use std::path::PathBuf;

/// The repository root (the workspace holding this crate).
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The Helm chart.
pub fn chart_directory() -> PathBuf {
    repository_root().join("deploy/helm/dbprov")
}
