//! The Helm chart renders the same objects as `dbprov install` for the same settings.
//!
//! The chart on disk (as committed) is rendered by the test renderer in `support/helm.rs` and compared,
//! object by object, with `render()`'s output. The chart has no Namespace (`helm install --namespace …
//! --create-namespace` makes it) and keeps the CRDs in `crds/`, compared separately.

mod support;

use std::collections::BTreeMap;

use dbprov_install::{InstallArgs, render};
use serde_json::{Value, json};
use support::chart_directory;
use support::helm::{Chart, documents};

/// `(kind, namespace, name)` → object.
fn by_identity(objects: Vec<Value>) -> BTreeMap<(String, String, String), Value> {
    let mut map = BTreeMap::new();
    for object in objects {
        let identity = (
            object["kind"].as_str().unwrap_or_default().to_owned(),
            object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            object["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
        );
        assert!(
            map.insert(identity.clone(), object).is_none(),
            "{identity:?} twice"
        );
    }
    map
}

/// `render()`'s objects except the ones the chart keeps elsewhere (CRDs) or leaves to Helm (Namespace).
fn installed_objects(args: &InstallArgs) -> Vec<Value> {
    documents(&render(args).expect("renders"))
        .expect("render() output parses")
        .into_iter()
        .filter(|object| {
            !matches!(
                object["kind"].as_str(),
                Some("CustomResourceDefinition" | "Namespace")
            )
        })
        .collect()
}

fn assert_same(args: InstallArgs, namespace: &str, values: Value) {
    let chart = Chart::load(&chart_directory());
    let from_chart = by_identity(chart.objects(namespace, &values).expect("the chart renders"));
    let from_install = by_identity(installed_objects(&args));
    let chart_keys: Vec<_> = from_chart.keys().collect();
    let install_keys: Vec<_> = from_install.keys().collect();
    assert_eq!(chart_keys, install_keys, "same objects for {values}");
    for (identity, object) in &from_install {
        assert_eq!(
            &from_chart[identity], object,
            "{identity:?} differs between the chart ({values}) and dbprov install ({args:?})"
        );
    }
}

#[test]
fn default_values_match_the_default_install() {
    assert_same(InstallArgs::default(), "dbprov-system", json!({}));
}

#[test]
fn the_release_namespace_plays_the_namespace_flag() {
    assert_same(
        InstallArgs {
            namespace: "platform-ops".to_owned(),
            ..InstallArgs::default()
        },
        "platform-ops",
        json!({}),
    );
}

#[test]
fn watch_namespaces_match() {
    assert_same(
        InstallArgs {
            watch_namespaces: vec!["team-a".to_owned(), "team-b".to_owned()],
            ..InstallArgs::default()
        },
        "dbprov-system",
        json!({ "watchNamespaces": ["team-a", "team-b"] }),
    );
}

#[test]
fn watching_the_operator_namespace_grants_it_once() {
    assert_same(
        InstallArgs {
            watch_namespaces: vec!["dbprov-system".to_owned(), "team-a".to_owned()],
            ..InstallArgs::default()
        },
        "dbprov-system",
        json!({ "watchNamespaces": ["dbprov-system", "team-a"] }),
    );
}

#[test]
fn leader_election_off_matches() {
    assert_same(
        InstallArgs {
            leader_election: false,
            watch_namespaces: vec!["team-a".to_owned()],
            ..InstallArgs::default()
        },
        "dbprov-system",
        json!({ "leaderElection": false, "watchNamespaces": ["team-a"] }),
    );
}

#[test]
fn replicas_and_image_match() {
    assert_same(
        InstallArgs {
            replicas: Some(3),
            image: "registry.example/mirror/dbprov:1.2.3".to_owned(),
            ..InstallArgs::default()
        },
        "dbprov-system",
        json!({ "replicas": 3, "image": { "repository": "registry.example/mirror/dbprov", "tag": "1.2.3" } }),
    );
}

#[test]
fn several_replicas_without_leader_election_fail_like_the_flags() {
    let chart = Chart::load(&chart_directory());
    let error = chart
        .objects(
            "dbprov-system",
            &json!({ "leaderElection": false, "replicas": 2 }),
        )
        .expect_err("the chart refuses");
    assert!(error.contains("need leaderElection: true"), "{error}");
    let flags = render(&InstallArgs {
        leader_election: false,
        replicas: Some(2),
        ..InstallArgs::default()
    })
    .expect_err("the flags refuse");
    assert_eq!(flags.kind(), "ReplicasWithoutLeaderElection");
    chart
        .objects(
            "dbprov-system",
            &json!({ "leaderElection": false, "replicas": 1 }),
        )
        .expect("one replica without leader election is fine");
}

#[test]
fn scheduling_values_reach_the_pod_spec_only_when_set() {
    let chart = Chart::load(&chart_directory());
    let values = json!({
        "nodeSelector": { "kubernetes.io/os": "linux" },
        "tolerations": [{ "key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule" }],
        "affinity": { "nodeAffinity": { "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{ "matchExpressions": [{ "key": "tier", "operator": "In", "values": ["ops"] }] }]
        } } },
        "imagePullSecrets": [{ "name": "registry" }],
        "resources": { "requests": { "cpu": "50m", "memory": "64Mi" } },
    });
    let objects = chart.objects("dbprov-system", &values).expect("renders");
    let deployment = objects
        .iter()
        .find(|object| object["kind"] == "Deployment")
        .expect("a Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    for key in ["nodeSelector", "tolerations", "affinity", "imagePullSecrets"] {
        assert_eq!(pod[key], values[key], "{key}");
    }
    // Helm merges maps: the requests are replaced, the default limits stay.
    let resources = &pod["containers"][0]["resources"];
    assert_eq!(resources["requests"], values["resources"]["requests"]);
    assert_eq!(resources["limits"], json!({ "cpu": "1", "memory": "512Mi" }));

    let defaults = chart.objects("dbprov-system", &json!({})).expect("renders");
    let deployment = defaults
        .iter()
        .find(|object| object["kind"] == "Deployment")
        .expect("a Deployment");
    let pod = deployment["spec"]["template"]["spec"]
        .as_object()
        .expect("a pod spec");
    for key in ["nodeSelector", "tolerations", "affinity", "imagePullSecrets"] {
        assert!(!pod.contains_key(key), "{key} left out when empty");
    }
}

#[test]
fn the_chart_crds_are_the_api_crds() {
    let chart = Chart::load(&chart_directory());
    let expected: Vec<Value> = dbprov_api::crds()
        .iter()
        .map(|crd| serde_json::to_value(crd).expect("a CRD converts"))
        .collect();
    let mut found = chart.crds.clone();
    let name = |crd: &Value| crd["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    found.sort_by_key(name);
    let mut expected = expected;
    expected.sort_by_key(name);
    assert_eq!(found, expected);
}

#[test]
fn chart_metadata_and_notes_render() {
    let chart = Chart::load(&chart_directory());
    assert_eq!(chart.metadata["name"], "dbprov");
    assert_eq!(chart.metadata["appVersion"], env!("CARGO_PKG_VERSION"));
    assert_eq!(chart.metadata["version"], env!("CARGO_PKG_VERSION"));
    let rendered = chart
        .render("ops", &json!({ "watchNamespaces": ["a", "b"] }))
        .expect("renders");
    let notes = &rendered
        .iter()
        .find(|(name, _)| name == "NOTES.txt")
        .expect("NOTES.txt")
        .1;
    assert!(notes.trim_start().starts_with("The dbprov operator"), "{notes}");
    assert!(notes.contains("namespace ops, watching a, b."), "{notes}");
}
