//! dbprov-api: the declarative API (`dbops.dbprovision.io/v1alpha1`), shared by the CLI and the operator.
//!
//! * [`v1alpha1`]: the CRD types, field-compatible with db-provision-operator;
//! * [`document`]: reading manifests into typed [`Resource`]s with exact field paths in errors;
//! * [`validate`]: pure checks before any SQL (names, privileges, enums, references, unsupported fields);
//! * [`convert`]: from the API types into `dbprov_core`'s engine-neutral model;
//! * [`template`]: Secret templates (a Go `text/template` subset) and the default credential keys;
//! * [`conditions`]: status conditions and the derived phase;
//! * [`schedule`]: cron expressions in a time zone (`DatabaseBackupSchedule`);
//! * [`crd`], [`docs`], [`kind`]: CRD manifests, the generated API reference, kind names as kubectl spells them.

#![warn(missing_docs)]

pub mod conditions;
pub mod convert;
pub mod crd;
pub mod docs;
pub mod document;
pub mod duration;
pub mod error;
pub mod kind;
pub mod names;
pub mod schedule;
pub mod template;
pub mod v1alpha1;
pub mod validate;

pub use crd::{crds, crds_yaml};
pub use docs::api_markdown;
pub use document::{Resource, parse_document};
pub use error::{FieldError, FieldErrorKind, FieldPath};
pub use kind::{Kind, Scope};
pub use validate::{validate, validate_for_engine, validate_update};

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the unit tests: manifests in, resources out.

    use crate::document::{Resource, parse_document, parse_yaml};
    use crate::error::FieldError;

    /// Every document of a YAML stream, parsed.
    pub fn resources(yaml: &str) -> Vec<Resource> {
        parse_yaml(yaml)
            .expect("test YAML is valid")
            .into_iter()
            .map(|document| parse_document(document).expect("test document parses"))
            .collect()
    }

    /// The only document of a YAML stream.
    pub fn resource(yaml: &str) -> Resource {
        let mut all = resources(yaml);
        assert_eq!(all.len(), 1, "expected one document");
        all.remove(0)
    }

    /// The parse error of a single-document YAML stream.
    pub fn parse_error(yaml: &str) -> FieldError {
        let mut documents = parse_yaml(yaml).expect("test YAML is valid");
        assert_eq!(documents.len(), 1);
        parse_document(documents.remove(0)).expect_err("document must be rejected")
    }

    /// An upstream fixture under `testdata/upstream/`.
    pub fn upstream(name: &str) -> String {
        let path = format!("{}/testdata/upstream/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {path}: {error}"))
    }

    /// Asserts that `errors` has one with this path whose message contains `needle`.
    pub fn assert_error(errors: &[FieldError], path: &str, needle: &str) {
        assert!(
            errors
                .iter()
                .any(|error| error.path == path && error.message.contains(needle)),
            "expected an error at {path} containing {needle:?}, got: {errors:#?}"
        );
    }
}
