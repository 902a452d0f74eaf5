//! From files to validated resources. Every problem is reported with the file, the document and the field,
//! and all of them are found before anything runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dbprov_reconcile::ObjectRef;

use crate::host::Loaded;
use crate::manifest::{self, Origin};

/// A problem found in the manifests.
#[derive(Debug, Clone)]
pub struct ManifestProblem {
    pub origin: Option<Origin>,
    pub message: String,
}

impl std::fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A loaded manifest with its original JSON (stored in the state as applied).
#[derive(Debug, Clone)]
pub struct Document {
    pub loaded: Loaded,
    pub value: serde_json::Value,
}

/// Reads, parses and validates every document of the paths.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Document>, Vec<ManifestProblem>> {
    let raw = manifest::load(paths).map_err(|error| {
        vec![ManifestProblem {
            origin: None,
            message: error_chain(&error),
        }]
    })?;
    let mut problems = Vec::new();
    let mut documents = Vec::new();
    let mut seen: BTreeMap<(ObjectRef,), Origin> = BTreeMap::new();
    for document in raw {
        let origin = document.origin.clone();
        let resource = match dbprov_api::parse_document(document.value.clone()) {
            Ok(resource) => resource,
            Err(error) => {
                problems.push(ManifestProblem {
                    origin: Some(origin),
                    message: error.to_string(),
                });
                continue;
            }
        };
        if let Err(errors) = dbprov_api::validate(&resource) {
            problems.extend(errors.into_iter().map(|error| ManifestProblem {
                origin: Some(origin.clone()),
                message: error.to_string(),
            }));
            continue;
        }
        if let Some(object) = ObjectRef::of(&resource)
            && let Some(first) = seen.insert((object.clone(),), origin.clone())
        {
            problems.push(ManifestProblem {
                origin: Some(origin),
                message: format!("{object} is declared twice (first in {first})"),
            });
            continue;
        }
        documents.push(Document {
            loaded: Loaded { origin, resource },
            value: document.value,
        });
    }
    if problems.is_empty() {
        Ok(documents)
    } else {
        Err(problems)
    }
}

/// The error and its causes on one line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    dbprov_core::error::error_chain(error)
}

/// Resources in the order they converge: instances, databases, roles, users, grants (Secrets first).
pub fn dependency_order(documents: &mut [Document]) {
    documents.sort_by_key(|document| match document.loaded.resource.kind() {
        None => 0,
        Some(kind) => 1 + kind.dependency_order(),
    });
}
