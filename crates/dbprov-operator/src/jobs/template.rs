//! What a backup or restore Job's pod borrows from the operator's own pod: the image (`DBPROV_IMAGE`, set by
//! the Deployment, else the running container's), the service account, the security contexts, the resources
//! and the image pull secrets. The Job runs the same binary with the same identity and the same restrictions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, LocalObjectReference, Pod, PodSecurityContext, ResourceRequirements, SeccompProfile,
    SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{Api, Client};

/// The image a Job runs, set by the Deployment.
pub const ENV_IMAGE: &str = "DBPROV_IMAGE";
/// The operator pod's name (downward API); `HOSTNAME` is the fallback, which Kubernetes sets to it.
pub const ENV_POD_NAME: &str = "POD_NAME";
/// The container of the operator Deployment.
const OPERATOR_CONTAINER: &str = "operator";

/// The pod settings a Job copies from the operator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobTemplate {
    /// `None` when neither `DBPROV_IMAGE` nor the operator's pod says: Jobs cannot be created then.
    pub image: Option<String>,
    pub image_pull_policy: Option<String>,
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// `None`: the namespace's default service account.
    pub service_account: Option<String>,
    pub pod_security_context: PodSecurityContext,
    pub security_context: SecurityContext,
    pub resources: ResourceRequirements,
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        ..SeccompProfile::default()
    }
}

/// The restrictions of the operator's own container (see `dbprov install`), for when its pod cannot be read.
fn restricted_container() -> SecurityContext {
    SecurityContext {
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
    }
}

fn restricted_pod() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..PodSecurityContext::default()
    }
}

/// The operator Deployment's resources: room for the dump and restore tools next to dbprov.
fn default_resources() -> ResourceRequirements {
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

impl JobTemplate {
    /// The template from the operator's pod (when it could be read) and `DBPROV_IMAGE` (which wins over the
    /// pod's image: a digest-pinned image may be named there). Without a pod, the restricted defaults.
    pub fn from_pod(pod: Option<&Pod>, configured_image: Option<String>) -> Self {
        let spec = pod.and_then(|pod| pod.spec.as_ref());
        let container = spec.and_then(|spec| {
            spec.containers
                .iter()
                .find(|container| container.name == OPERATOR_CONTAINER)
                .or_else(|| spec.containers.first())
        });
        Self {
            image: configured_image
                .filter(|image| !image.trim().is_empty())
                .or_else(|| container.and_then(|container| container.image.clone())),
            image_pull_policy: container.and_then(|container| container.image_pull_policy.clone()),
            image_pull_secrets: spec.and_then(|spec| spec.image_pull_secrets.clone()),
            service_account: spec.and_then(|spec| spec.service_account_name.clone()),
            pod_security_context: spec
                .and_then(|spec| spec.security_context.clone())
                .unwrap_or_else(restricted_pod),
            security_context: container
                .and_then(|container| container.security_context.clone())
                .unwrap_or_else(restricted_container),
            resources: container
                .and_then(|container| container.resources.clone())
                .unwrap_or_else(default_resources),
        }
    }

    /// Reads the operator's own pod (`POD_NAME`, else `HOSTNAME`, in `namespace`). A pod that cannot be read
    /// (the operator runs outside the cluster, or may not read pods) leaves the restricted defaults.
    pub async fn discover(client: &Client, namespace: &str) -> Self {
        let configured_image = std::env::var(ENV_IMAGE).ok();
        let pod_name = std::env::var(ENV_POD_NAME)
            .or_else(|_| std::env::var("HOSTNAME"))
            .ok()
            .filter(|name| !name.is_empty());
        let pod = match &pod_name {
            Some(name) => match Api::<Pod>::namespaced(client.clone(), namespace).get(name).await {
                Ok(pod) => Some(pod),
                Err(error) => {
                    tracing::warn!(
                        pod = %format!("{namespace}/{name}"),
                        error = %dbprov_core::error::error_chain(&error),
                        "cannot read the operator's pod: backup and restore Jobs get the default service \
                         account, restricted security contexts and default resources"
                    );
                    None
                }
            },
            None => None,
        };
        let template = Self::from_pod(pod.as_ref(), configured_image);
        match &template.image {
            Some(image) => tracing::info!(%image, "backup and restore Jobs run this image"),
            None => tracing::warn!(
                "the operator's image is unknown (set {ENV_IMAGE}): backups and restores cannot run"
            ),
        }
        template
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    use super::*;

    fn operator_pod() -> Pod {
        Pod {
            spec: Some(PodSpec {
                service_account_name: Some("dbprov-operator".to_owned()),
                image_pull_secrets: Some(vec![LocalObjectReference {
                    name: "registry".to_owned(),
                }]),
                security_context: Some(PodSecurityContext {
                    run_as_user: Some(65532),
                    ..restricted_pod()
                }),
                containers: vec![
                    Container {
                        name: "sidecar".to_owned(),
                        image: Some("proxy:1".to_owned()),
                        ..Container::default()
                    },
                    Container {
                        name: OPERATOR_CONTAINER.to_owned(),
                        image: Some("ghcr.io/example/dbprov:0.1.0".to_owned()),
                        image_pull_policy: Some("IfNotPresent".to_owned()),
                        security_context: Some(restricted_container()),
                        resources: Some(default_resources()),
                        ..Container::default()
                    },
                ],
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn the_operator_container_is_copied_and_the_configured_image_wins() {
        let pod = operator_pod();
        let template = JobTemplate::from_pod(Some(&pod), None);
        assert_eq!(template.image.as_deref(), Some("ghcr.io/example/dbprov:0.1.0"));
        assert_eq!(template.service_account.as_deref(), Some("dbprov-operator"));
        assert_eq!(template.pod_security_context.run_as_user, Some(65532));
        assert_eq!(template.security_context.read_only_root_filesystem, Some(true));
        assert_eq!(template.image_pull_secrets.as_ref().map(Vec::len), Some(1));
        let pinned = JobTemplate::from_pod(Some(&pod), Some("ghcr.io/example/dbprov@sha256:ab".to_owned()));
        assert_eq!(pinned.image.as_deref(), Some("ghcr.io/example/dbprov@sha256:ab"));
        let blank = JobTemplate::from_pod(Some(&pod), Some("  ".to_owned()));
        assert_eq!(blank.image, template.image);
    }

    #[test]
    fn without_a_pod_jobs_are_restricted_and_need_the_configured_image() {
        let template = JobTemplate::from_pod(None, None);
        assert_eq!(template.image, None);
        assert_eq!(template.service_account, None);
        assert_eq!(template.security_context.allow_privilege_escalation, Some(false));
        assert_eq!(template.pod_security_context.run_as_non_root, Some(true));
        assert!(template.resources.limits.is_some());
        let configured = JobTemplate::from_pod(None, Some("dbprov:dev".to_owned()));
        assert_eq!(configured.image.as_deref(), Some("dbprov:dev"));
    }
}
