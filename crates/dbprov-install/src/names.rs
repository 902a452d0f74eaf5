//! Object names, labels and ports shared by every manifest.

use std::collections::BTreeMap;

/// The ServiceAccount, Deployment, Lease and main RBAC objects.
pub const OPERATOR: &str = "dbprov-operator";

/// The metrics Service.
pub const METRICS_SERVICE: &str = "dbprov-operator-metrics";

/// The ClusterRole (and binding) for the cluster-scoped kind when the operator is confined to namespaces.
pub const CLUSTER_SCOPED_ROLE: &str = "dbprov-operator-cluster-scoped";

/// The Role (and binding) for Events about cluster-scoped objects, which Kubernetes files in `default`.
pub const CLUSTER_EVENTS_ROLE: &str = "dbprov-operator-cluster-events";

/// The namespace where Events about cluster-scoped objects are written (kube-runtime's `Recorder` choice).
pub const CLUSTER_EVENTS_NAMESPACE: &str = "default";

/// The Role (and binding) for the leader-election Lease.
pub const LEADER_ELECTION_ROLE: &str = "dbprov-operator-leader-election";

/// The Role (and binding) that lets the operator read its own pod (image, service account, security context
/// and resources that backup and restore Jobs copy).
pub const OWN_POD_ROLE: &str = "dbprov-operator-own-pod";

/// The container in the operator pod.
pub const CONTAINER: &str = "operator";

/// The port of `/metrics`, `/healthz` and `/readyz`.
pub const METRICS_PORT: i32 = 8080;

/// The name of the metrics port (container and Service).
pub const METRICS_PORT_NAME: &str = "metrics";

/// The API group of the dbprov kinds.
pub const API_GROUP: &str = "dbops.dbprovision.io";

/// Labels that select the operator pods. Never change them: a Deployment's selector is immutable.
pub fn selector_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "dbprov".to_owned()),
        ("app.kubernetes.io/component".to_owned(), "operator".to_owned()),
    ])
}

/// Labels on every object of the installation.
pub fn labels() -> BTreeMap<String, String> {
    let mut labels = selector_labels();
    labels.insert("app.kubernetes.io/part-of".to_owned(), "dbprov".to_owned());
    labels.insert(
        "app.kubernetes.io/version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    );
    labels
}
