//! Every generated manifest passes the Kubernetes schemas (kubernetes-validate, strict) of the oldest
//! supported Kubernetes and of the version the types are built for.

mod support;

use dbprov_install::{InstallArgs, MINIMUM_KUBERNETES, render};
use serde_json::{Value, json};
use support::helm::{Chart, documents};
use support::kubernetes::{TARGET_KUBERNETES, validate};
use support::{chart_directory, repository_root};

fn install_variants() -> Vec<(String, InstallArgs)> {
    let watching = |namespaces: &[&str]| {
        namespaces
            .iter()
            .map(|namespace| (*namespace).to_owned())
            .collect()
    };
    vec![
        ("install-defaults".to_owned(), InstallArgs::default()),
        (
            "install-watch-namespaces".to_owned(),
            InstallArgs {
                namespace: "platform-ops".to_owned(),
                watch_namespaces: watching(&["team-a", "team-b", "platform-ops"]),
                ..InstallArgs::default()
            },
        ),
        (
            "install-single-replica".to_owned(),
            InstallArgs {
                leader_election: false,
                watch_namespaces: watching(&["team-a"]),
                image: "registry.example:5000/dbprov@sha256:0123456789abcdef".to_owned(),
                ..InstallArgs::default()
            },
        ),
        (
            "install-replicas".to_owned(),
            InstallArgs {
                replicas: Some(3),
                ..InstallArgs::default()
            },
        ),
    ]
}

fn chart_variants() -> Vec<(String, Value)> {
    vec![
        ("chart-defaults".to_owned(), json!({})),
        (
            "chart-watch-namespaces".to_owned(),
            json!({ "watchNamespaces": ["team-a", "team-b"] }),
        ),
        (
            "chart-single-replica-scheduling".to_owned(),
            json!({
                "leaderElection": false,
                "nodeSelector": { "kubernetes.io/os": "linux" },
                "tolerations": [{ "key": "dedicated", "operator": "Exists", "effect": "NoSchedule" }],
                "affinity": { "podAntiAffinity": { "preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100,
                    "podAffinityTerm": { "topologyKey": "kubernetes.io/hostname",
                        "labelSelector": { "matchLabels": { "app.kubernetes.io/name": "dbprov" } } }
                }] } },
                "imagePullSecrets": [{ "name": "registry" }],
            }),
        ),
    ]
}

/// Every manifest: `render()` variants, the chart's rendered templates and CRDs, and `deploy/crds/`.
fn every_manifest() -> Vec<(String, String)> {
    let mut manifests = Vec::new();
    for (label, args) in install_variants() {
        manifests.push((label, render(&args).expect("renders")));
    }
    let chart = Chart::load(&chart_directory());
    for (label, values) in chart_variants() {
        let mut yaml = String::new();
        for (name, output) in chart.render("dbprov-system", &values).expect("the chart renders") {
            if name.ends_with(".yaml") {
                yaml.push_str(&format!("---\n{output}\n"));
            }
        }
        manifests.push((label, yaml));
    }
    for directory in ["deploy/crds", "deploy/helm/dbprov/crds"] {
        let mut entries: Vec<_> = std::fs::read_dir(repository_root().join(directory))
            .unwrap_or_else(|error| panic!("read {directory}: {error}"))
            .map(|entry| entry.expect("an entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let contents = std::fs::read_to_string(&path).expect("read a CRD file");
            manifests.push((path.display().to_string(), contents));
        }
    }
    manifests
}

#[test]
fn every_generated_manifest_passes_the_kubernetes_schemas() {
    let manifests = every_manifest();
    let expected: usize = manifests
        .iter()
        .map(|(label, yaml)| {
            documents(yaml)
                .unwrap_or_else(|error| panic!("{label}: {error}"))
                .len()
        })
        .sum();
    for version in [MINIMUM_KUBERNETES, TARGET_KUBERNETES] {
        match validate(version, &manifests) {
            Ok(summary) => {
                eprint!("{summary}");
                // The validator must have seen every document, not silently skipped some.
                let validated: usize = summary
                    .split_whitespace()
                    .nth(1)
                    .and_then(|count| count.parse().ok())
                    .expect("a document count");
                assert_eq!(validated, expected, "{summary}");
            }
            Err(report) => panic!("manifests fail the Kubernetes {version} schemas:\n{report}"),
        }
    }
}

#[test]
fn the_validator_rejects_what_the_api_server_would() {
    let broken = [
        (
            "an env value that is not a string",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: i\n    \
             env:\n    - name: A\n      value: true\n",
        ),
        (
            "a misspelled field",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\nrules:\n- apiGroups: [\"\"]\n  \
             resources: [secrets]\n  verb: [get]\n",
        ),
        (
            "a kind without a schema",
            "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata:\n  name: d\nspec: {}\n",
        ),
    ];
    for (what, yaml) in broken {
        let result = validate(TARGET_KUBERNETES, &[(what.to_owned(), yaml.to_owned())]);
        assert!(result.is_err(), "{what} passed: {result:?}");
    }
}
