//! The Helm chart `deploy/helm/dbprov/`, generated from the same builders as `dbprov install`.
//!
//! The templates are the builders' objects written with placeholders in place of the chart values and then
//! substituted with Helm expressions (see [`placeholder`]). The CRDs go to the chart's `crds/` directory:
//! Helm installs them before the templates and never deletes them on `helm uninstall` (deleting a CRD
//! would delete every object of its kind, and with them the finalizers' databases).

mod placeholder;
mod templates;
mod values;

use crate::error::InstallError;
use crate::generated::{GeneratedFile, crd_files};

pub use values::MINIMUM_KUBERNETES;

/// Every file of the chart, under `directory`.
pub(crate) fn chart_files(directory: &str) -> Result<Vec<GeneratedFile>, InstallError> {
    let mut files = vec![
        GeneratedFile {
            path: format!("{directory}/Chart.yaml"),
            contents: values::chart_yaml()?,
        },
        GeneratedFile {
            path: format!("{directory}/values.yaml"),
            contents: values::values_yaml()?,
        },
    ];
    files.extend(crd_files(&format!("{directory}/crds"))?);
    for (name, contents) in templates::templates()? {
        files.push(GeneratedFile {
            path: format!("{directory}/templates/{name}"),
            contents,
        });
    }
    Ok(files)
}
