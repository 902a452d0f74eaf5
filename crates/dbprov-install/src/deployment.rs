//! The operator's ServiceAccount and Deployment.
//!
//! The operator reads its settings from the environment (`dbprov operator` accepts each flag as an env
//! variable), so a boolean or list never depends on how a flag spells its value.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecurityContext, ServiceAccount, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::names::{CONTAINER, METRICS_PORT, METRICS_PORT_NAME, OPERATOR, labels, selector_labels};
use crate::settings::Settings;

/// The unprivileged user of the image (`USER` in the Dockerfile).
pub const RUN_AS_USER: i64 = 65532;

/// Pull the image when the node does not have it (tags of released images never move).
pub const IMAGE_PULL_POLICY: &str = "IfNotPresent";

/// Namespaces to watch, comma-separated (`--namespaces`).
pub const ENV_WATCH_NAMESPACES: &str = "DBPROV_WATCH_NAMESPACES";
/// Leader election on/off (`--leader-election`).
pub const ENV_LEADER_ELECTION: &str = "DBPROV_LEADER_ELECTION";
/// Address of `/metrics`, `/healthz`, `/readyz` (`--metrics-address`).
pub const ENV_METRICS_ADDRESS: &str = "DBPROV_METRICS_ADDRESS";
/// The pod's namespace (`--lease-namespace`, `--operator-namespace`), from the downward API.
pub const ENV_POD_NAMESPACE: &str = "POD_NAMESPACE";
/// The pod's name, from the downward API: the operator reads its own pod for what backup and restore Jobs
/// copy (service account, security context, resources), and names itself in Events.
pub const ENV_POD_NAME: &str = "POD_NAME";
/// The image backup and restore Jobs run: the operator's own.
pub const ENV_IMAGE: &str = "DBPROV_IMAGE";

/// The operator's identity; RBAC bindings name it.
pub(crate) fn service_account(settings: &Settings) -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some(OPERATOR.to_owned()),
            namespace: Some(settings.namespace.clone()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

/// Requests sized for the reconcile benchmark (peak RSS well under 64 MiB for 2,000 objects); the limits
/// leave room for the client tools a backup runs in the same container.
pub(crate) fn resources() -> ResourceRequirements {
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(memory.to_owned())),
        ])
    };
    ResourceRequirements {
        requests: Some(quantities("100m", "128Mi")),
        limits: Some(quantities("1", "512Mi")),
        ..ResourceRequirements::default()
    }
}

/// The operator Deployment.
pub(crate) fn deployment(settings: &Settings) -> Deployment {
    let pod_labels = labels();
    Deployment {
        metadata: ObjectMeta {
            name: Some(OPERATOR.to_owned()),
            namespace: Some(settings.namespace.clone()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(settings.replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels()),
                ..LabelSelector::default()
            },
            strategy: Some(strategy(settings)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(BTreeMap::from([(
                        "kubectl.kubernetes.io/default-container".to_owned(),
                        CONTAINER.to_owned(),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(settings)),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// With leader election a rolling update is safe (the new pod waits for the Lease). Without it two pods
/// would reconcile side by side during the update, so the old one goes first.
fn strategy(settings: &Settings) -> DeploymentStrategy {
    let type_ = if settings.leader_election {
        "RollingUpdate"
    } else {
        "Recreate"
    };
    DeploymentStrategy {
        type_: Some(type_.to_owned()),
        ..DeploymentStrategy::default()
    }
}

fn pod_spec(settings: &Settings) -> PodSpec {
    PodSpec {
        service_account_name: Some(OPERATOR.to_owned()),
        enable_service_links: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS_USER),
            run_as_group: Some(RUN_AS_USER),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..PodSecurityContext::default()
        }),
        containers: vec![container(settings)],
        volumes: Some(vec![Volume {
            // The root filesystem is read-only; the database client tools need a writable /tmp.
            name: "tmp".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("1Gi".to_owned())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        // Spread the leader and the standby over nodes when the cluster has several.
        topology_spread_constraints: Some(vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "kubernetes.io/hostname".to_owned(),
            when_unsatisfiable: "ScheduleAnyway".to_owned(),
            label_selector: Some(LabelSelector {
                match_labels: Some(selector_labels()),
                ..LabelSelector::default()
            }),
            ..TopologySpreadConstraint::default()
        }]),
        ..PodSpec::default()
    }
}

fn container(settings: &Settings) -> Container {
    Container {
        name: CONTAINER.to_owned(),
        image: Some(settings.image.clone()),
        image_pull_policy: Some(IMAGE_PULL_POLICY.to_owned()),
        args: Some(
            [
                "operator",
                "--log-format",
                "json",
                // Stated rather than left to the default: the leader-election Role grants this Lease by name.
                "--lease-name",
                OPERATOR,
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        env: Some(environment(settings)),
        ports: Some(vec![ContainerPort {
            name: Some(METRICS_PORT_NAME.to_owned()),
            container_port: METRICS_PORT,
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(Probe {
            initial_delay_seconds: Some(10),
            ..http_probe("/healthz")
        }),
        readiness_probe: Some(Probe {
            period_seconds: Some(5),
            ..http_probe("/readyz")
        }),
        resources: Some(resources()),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            privileged: Some(false),
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            seccomp_profile: Some(runtime_default_seccomp()),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".to_owned(),
            mount_path: "/tmp".to_owned(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

fn environment(settings: &Settings) -> Vec<EnvVar> {
    let value = |name: &str, value: String| EnvVar {
        name: name.to_owned(),
        value: Some(value),
        ..EnvVar::default()
    };
    let field = |name: &str, path: &str| EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let mut environment = vec![
        field(ENV_POD_NAMESPACE, "metadata.namespace"),
        field(ENV_POD_NAME, "metadata.name"),
        value(ENV_IMAGE, settings.image.clone()),
        value(ENV_METRICS_ADDRESS, format!("0.0.0.0:{METRICS_PORT}")),
        value(ENV_LEADER_ELECTION, settings.leader_election.to_string()),
    ];
    if settings.is_namespaced() {
        environment.push(value(ENV_WATCH_NAMESPACES, settings.watch_namespaces.join(",")));
    }
    environment
}

fn http_probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(METRICS_PORT_NAME.to_owned()),
            scheme: Some("HTTP".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        timeout_seconds: Some(3),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        ..SeccompProfile::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::InstallArgs;

    fn deployment_for(args: InstallArgs) -> Deployment {
        deployment(&Settings::from_args(&args).expect("valid settings"))
    }

    fn container_of(deployment: &Deployment) -> Container {
        deployment
            .spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .map(|pod| pod.containers[0].clone())
            .expect("a container")
    }

    fn env(container: &Container, name: &str) -> Option<EnvVar> {
        container
            .env
            .iter()
            .flatten()
            .find(|var| var.name == name)
            .cloned()
    }

    #[test]
    fn the_container_is_locked_down() {
        let deployment = deployment_for(InstallArgs::default());
        let pod = deployment
            .spec
            .clone()
            .and_then(|spec| spec.template.spec)
            .expect("pod");
        let pod_security = pod.security_context.expect("pod security context");
        assert_eq!(pod_security.run_as_non_root, Some(true));
        assert_eq!(
            pod_security
                .seccomp_profile
                .map(|profile| profile.type_)
                .as_deref(),
            Some("RuntimeDefault")
        );
        let security = container_of(&deployment)
            .security_context
            .expect("container security context");
        assert_eq!(security.run_as_non_root, Some(true));
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.privileged, Some(false));
        assert_eq!(
            security.capabilities.and_then(|caps| caps.drop),
            Some(vec!["ALL".to_owned()])
        );
        assert_eq!(
            security.seccomp_profile.map(|profile| profile.type_).as_deref(),
            Some("RuntimeDefault")
        );
    }

    #[test]
    fn probes_resources_and_arguments_match_the_operator_contract() {
        let container = container_of(&deployment_for(InstallArgs::default()));
        let path = |probe: Option<Probe>| probe.and_then(|probe| probe.http_get).and_then(|get| get.path);
        assert_eq!(
            path(container.liveness_probe.clone()).as_deref(),
            Some("/healthz")
        );
        assert_eq!(
            path(container.readiness_probe.clone()).as_deref(),
            Some("/readyz")
        );
        let resources = container.resources.clone().expect("resources");
        for quantities in [
            resources.requests.expect("requests"),
            resources.limits.expect("limits"),
        ] {
            assert!(quantities.contains_key("cpu") && quantities.contains_key("memory"));
        }
        let args = container.args.clone().expect("args");
        assert_eq!(args[0], "operator");
        assert!(
            args.windows(2).any(|pair| pair == ["--log-format", "json"]),
            "{args:?}"
        );
        let namespace = env(&container, ENV_POD_NAMESPACE).expect("POD_NAMESPACE");
        assert_eq!(
            namespace
                .value_from
                .and_then(|from| from.field_ref)
                .map(|field| field.field_path)
                .as_deref(),
            Some("metadata.namespace")
        );
        assert_eq!(
            env(&container, ENV_METRICS_ADDRESS)
                .and_then(|var| var.value)
                .as_deref(),
            Some("0.0.0.0:8080")
        );
        assert_eq!(container.ports.clone().expect("ports")[0].container_port, 8080);
        let pod_name = env(&container, ENV_POD_NAME).expect("POD_NAME");
        assert_eq!(
            pod_name
                .value_from
                .and_then(|from| from.field_ref)
                .map(|field| field.field_path)
                .as_deref(),
            Some("metadata.name")
        );
    }

    #[test]
    fn jobs_run_the_operator_image() {
        let deployment = deployment_for(InstallArgs {
            image: "registry.example/dbprov:1.2.3".to_owned(),
            ..InstallArgs::default()
        });
        let container = container_of(&deployment);
        assert_eq!(
            env(&container, ENV_IMAGE).and_then(|var| var.value),
            container.image
        );
    }

    #[test]
    fn watch_namespaces_and_leader_election_reach_the_environment() {
        let container = container_of(&deployment_for(InstallArgs::default()));
        assert!(
            env(&container, ENV_WATCH_NAMESPACES).is_none(),
            "every namespace by default"
        );
        assert_eq!(
            env(&container, ENV_LEADER_ELECTION)
                .and_then(|var| var.value)
                .as_deref(),
            Some("true")
        );

        let deployment = deployment_for(InstallArgs {
            watch_namespaces: vec!["team-a".to_owned(), "team-b".to_owned()],
            leader_election: false,
            ..InstallArgs::default()
        });
        let container = container_of(&deployment);
        assert_eq!(
            env(&container, ENV_WATCH_NAMESPACES)
                .and_then(|var| var.value)
                .as_deref(),
            Some("team-a,team-b")
        );
        assert_eq!(
            env(&container, ENV_LEADER_ELECTION)
                .and_then(|var| var.value)
                .as_deref(),
            Some("false")
        );
        let spec = deployment.spec.expect("spec");
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(
            spec.strategy.and_then(|strategy| strategy.type_).as_deref(),
            Some("Recreate")
        );
    }

    #[test]
    fn the_selector_matches_the_pod_labels() {
        let spec = deployment_for(InstallArgs::default()).spec.expect("spec");
        let pod_labels = spec
            .template
            .metadata
            .and_then(|meta| meta.labels)
            .expect("labels");
        for (key, value) in spec.selector.match_labels.expect("selector") {
            assert_eq!(pod_labels.get(&key), Some(&value), "{key}");
        }
    }
}
