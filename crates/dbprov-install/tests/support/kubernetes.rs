//! Schema validation of manifests with the PyPI package `kubernetes-validate` (installed on first use).

use std::process::Command;

/// The Kubernetes version k8s-openapi's types are built for (feature `v1_33`).
pub const TARGET_KUBERNETES: &str = "1.33";

/// Validates every document of every `(label, yaml)` against the schemas of `version`, strictly.
/// `Ok(summary)` when all pass, `Err(report)` naming each failing document otherwise.
pub fn validate(version: &str, manifests: &[(String, String)]) -> Result<String, String> {
    dbprov_testkit::ensure_python_packages(&["kubernetes_validate", "yaml"], &["kubernetes-validate"]);
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut paths = Vec::new();
    for (index, (label, yaml)) in manifests.iter().enumerate() {
        let name: String = label
            .chars()
            .map(|char| if char.is_ascii_alphanumeric() { char } else { '-' })
            .collect();
        let path = directory.path().join(format!("{index:02}-{name}.yaml"));
        std::fs::write(&path, yaml).expect("write a manifest");
        paths.push(path);
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/validate.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(version)
        .args(&paths)
        .output()
        .expect("run python3");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        Ok(report)
    } else {
        Err(report)
    }
}
