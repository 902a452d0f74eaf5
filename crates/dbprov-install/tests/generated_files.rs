//! The files under `deploy/` are exactly what the definitions generate.
//! Regenerate them with `DBPROV_BLESS=1 cargo test -p dbprov-install`.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use dbprov_install::{GENERATED_DIRECTORIES, crd_files, deploy_files};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use support::repository_root;

fn blessing() -> bool {
    std::env::var("DBPROV_BLESS").is_ok_and(|value| value == "1")
}

/// Every file in the generated directories, relative to the repository root.
fn files_on_disk(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for directory in GENERATED_DIRECTORIES {
        let Ok(entries) = std::fs::read_dir(root.join(directory)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("a directory entry");
            if entry.path().is_file() {
                found.insert(format!("{directory}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn deploy_files_match_the_definitions() {
    let root = repository_root();
    let files = deploy_files().expect("the deploy files generate");
    let expected: BTreeSet<String> = files.iter().map(|file| file.path.clone()).collect();
    let stale: Vec<String> = files_on_disk(&root).difference(&expected).cloned().collect();
    if blessing() {
        for path in &stale {
            std::fs::remove_file(root.join(path)).unwrap_or_else(|error| panic!("remove {path}: {error}"));
        }
        for file in &files {
            let path = root.join(&file.path);
            std::fs::create_dir_all(path.parent().expect("a parent directory"))
                .expect("create the directory");
            std::fs::write(&path, &file.contents)
                .unwrap_or_else(|error| panic!("write {}: {error}", file.path));
        }
        eprintln!(
            "DBPROV_BLESS=1: wrote {} files, removed {} stale ones",
            files.len(),
            stale.len()
        );
        return;
    }
    let mut problems: Vec<String> = stale
        .iter()
        .map(|path| format!("{path}: not generated any more"))
        .collect();
    for file in &files {
        match std::fs::read_to_string(root.join(&file.path)) {
            Ok(contents) if contents == file.contents => {}
            Ok(_) => problems.push(format!("{}: differs from the definitions", file.path)),
            Err(error) => problems.push(format!("{}: {error}", file.path)),
        }
    }
    assert!(
        problems.is_empty(),
        "generated files are out of date; run `DBPROV_BLESS=1 cargo test -p dbprov-install`:\n{}",
        problems.join("\n")
    );
}

#[test]
fn each_crd_file_holds_exactly_its_crd() {
    let crds = dbprov_api::crds();
    let files = crd_files("deploy/crds").expect("the CRD files generate");
    assert_eq!(files.len(), crds.len());
    for (file, crd) in files.iter().zip(&crds) {
        let name = crd.metadata.name.as_deref().expect("a named CRD");
        assert_eq!(file.path, format!("deploy/crds/{name}.yaml"));
        assert!(name.ends_with(".dbops.dbprovision.io"), "{name}");
        let documents: Vec<CustomResourceDefinition> =
            serde_saphyr::from_multiple(&file.contents).expect("the file parses as CRDs");
        assert_eq!(documents.len(), 1, "{}", file.path);
        assert_eq!(&documents[0], crd, "{} round-trips to the type's CRD", file.path);
    }
}

#[test]
fn the_chart_carries_the_same_crds() {
    let chart = crd_files("deploy/helm/dbprov/crds").expect("generate");
    let plain = crd_files("deploy/crds").expect("generate");
    for (in_chart, alone) in chart.iter().zip(&plain) {
        assert_eq!(in_chart.contents, alone.contents);
    }
}
