//! The Kubernetes `Job` that runs one backup or restore (or deletes one backup's artifact), built from the
//! object and the [`JobTemplate`]. Pure: tested without a cluster.

use std::collections::BTreeMap;
use std::path::Path;

use dbprov_api::v1alpha1::API_VERSION;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest, Sha256};

use crate::annotations::LABEL_MANAGED_BY;
use crate::jobs::args::{DEFAULT_PROGRESS_INTERVAL_SECONDS, JobArgs, JobKind};
use crate::jobs::template::JobTemplate;
use crate::secrets::FIELD_MANAGER;

/// On every Job: the uid of the object it works for (Jobs are found by it, also while the object is deleted).
pub const LABEL_OWNER_UID: &str = "dbops.dbprovision.io/owner-uid";
/// On every Job: `backup`, `restore` or `prune`.
pub const LABEL_JOB_ACTION: &str = "dbops.dbprovision.io/job-action";
/// On a run Job: the object's `metadata.generation` it runs.
pub const ANNOTATION_GENERATION: &str = "dbops.dbprovision.io/generation";
/// The Job's only container.
pub const CONTAINER: &str = "dbprov";
/// A finished prune Job is removed after this long (it has no owner to be collected with, see [`build_job`]).
pub const PRUNE_JOB_TTL_SECONDS: i32 = 600;
/// Prune Jobs stop after this long: deleting one artifact takes seconds.
pub const PRUNE_DEADLINE_SECONDS: i64 = 600;
/// Kubernetes names that become label values (a Job's name does) are at most this long.
const MAX_NAME: usize = 63;

/// What a Job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobAction {
    Backup,
    Restore,
    /// Deletes a backup's artifact (retention, in PVC storage only the Job can reach).
    Prune,
}

impl JobAction {
    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Backup => "backup",
            JobAction::Restore => "restore",
            JobAction::Prune => "prune",
        }
    }

    pub fn from_label(value: &str) -> Option<Self> {
        match value {
            "backup" => Some(JobAction::Backup),
            "restore" => Some(JobAction::Restore),
            "prune" => Some(JobAction::Prune),
            _ => None,
        }
    }
}

/// A PersistentVolumeClaim the Job mounts at `<pvc root>/<claimName>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClaimMount {
    pub claim_name: String,
    /// Restores and prunes read (prunes delete, so they write too); only a restore's source is read-only.
    pub read_only: bool,
}

/// The Job to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub action: JobAction,
    pub kind: JobKind,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub generation: Option<i64>,
    pub deadline_seconds: i64,
    pub claims: Vec<ClaimMount>,
    pub pvc_root: String,
}

/// The Job could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    #[error(
        "the operator does not know its own image, which Jobs run: set DBPROV_IMAGE on the operator \
         Deployment (or let it read its own pod)"
    )]
    NoImage,
}

/// `<object name>-<action>-<8 hex digits>`, at most 63 characters: the same object, generation and action
/// always give the same name, so a Job is created once.
pub fn job_name(object: &str, uid: &str, generation: Option<i64>, action: JobAction) -> String {
    let digest = Sha256::digest(format!("{uid}/{}/{}", generation.unwrap_or(0), action.as_str()));
    let suffix = format!("-{}-{}", action.as_str(), hex::encode(&digest[..4]));
    let base: String = object.chars().take(MAX_NAME - suffix.len()).collect();
    let base = base.trim_end_matches(['-', '.']);
    format!("{base}{suffix}")
}

/// The labels every Job and its pod carry.
pub fn job_labels(uid: &str, action: JobAction) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_owned(), FIELD_MANAGER.to_owned()),
        ("app.kubernetes.io/name".to_owned(), "dbprov".to_owned()),
        (
            "app.kubernetes.io/component".to_owned(),
            format!("{}-job", action.as_str()),
        ),
        (LABEL_OWNER_UID.to_owned(), uid.to_owned()),
        (LABEL_JOB_ACTION.to_owned(), action.as_str().to_owned()),
    ])
}

/// The Job of `request`. Run Jobs are owned by their object (collected with it, and their changes reach its
/// controller); prune Jobs are not, because an object deleted in the foreground has its dependents deleted
/// first, which would remove the prune Job its deletion waits for: they expire after
/// [`PRUNE_JOB_TTL_SECONDS`] instead.
pub fn build_job(template: &JobTemplate, request: &JobRequest) -> Result<Job, BuildError> {
    let image = template.image.clone().ok_or(BuildError::NoImage)?;
    let name = job_name(&request.name, &request.uid, request.generation, request.action);
    let labels = job_labels(&request.uid, request.action);
    let args = JobArgs {
        kind: request.kind,
        namespace: request.namespace.clone(),
        name: request.name.clone(),
        pvc_root: request.pvc_root.clone().into(),
        generation: request.generation,
        prune_artifact: request.action == JobAction::Prune,
        progress_interval_seconds: DEFAULT_PROGRESS_INTERVAL_SECONDS,
    };
    let mut container_args = vec!["job".to_owned(), "--log-format".to_owned(), "json".to_owned()];
    container_args.extend(args.to_arguments());

    let mut volumes = vec![Volume {
        // The root filesystem is read-only; the database client tools need a writable /tmp.
        name: "tmp".to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity("1Gi".to_owned())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }];
    let mut mounts = vec![VolumeMount {
        name: "tmp".to_owned(),
        mount_path: "/tmp".to_owned(),
        ..VolumeMount::default()
    }];
    let mut claims = request.claims.clone();
    claims.sort();
    claims.dedup_by(|a, b| {
        // One mount per claim; writable wins when both are asked for.
        if a.claim_name == b.claim_name {
            b.read_only &= a.read_only;
            true
        } else {
            false
        }
    });
    for (index, claim) in claims.iter().enumerate() {
        let volume = format!("claim-{index}");
        volumes.push(Volume {
            name: volume.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.claim_name.clone(),
                read_only: Some(claim.read_only),
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: volume,
            mount_path: Path::new(&request.pvc_root)
                .join(&claim.claim_name)
                .display()
                .to_string(),
            read_only: Some(claim.read_only),
            ..VolumeMount::default()
        });
    }

    let owned = request.action != JobAction::Prune;
    let owner_references = owned.then(|| {
        vec![OwnerReference {
            api_version: API_VERSION.to_owned(),
            kind: request.kind.as_str().to_owned(),
            name: request.name.clone(),
            uid: request.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    let annotations = request
        .generation
        .map(|generation| BTreeMap::from([(ANNOTATION_GENERATION.to_owned(), generation.to_string())]));
    let deadline = match request.action {
        JobAction::Prune => PRUNE_DEADLINE_SECONDS,
        _ => request.deadline_seconds.max(1),
    };
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(request.namespace.clone()),
            labels: Some(labels.clone()),
            annotations,
            owner_references,
            ..ObjectMeta::default()
        },
        spec: Some(JobSpec {
            // One attempt: a failed run is reported and stays failed (a retry of a restore would find its
            // target half-written); the object's status says why.
            backoff_limit: Some(0),
            active_deadline_seconds: Some(deadline),
            ttl_seconds_after_finished: (!owned).then_some(PRUNE_JOB_TTL_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    annotations: Some(BTreeMap::from([(
                        "kubectl.kubernetes.io/default-container".to_owned(),
                        CONTAINER.to_owned(),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".to_owned()),
                    service_account_name: template.service_account.clone(),
                    enable_service_links: Some(false),
                    image_pull_secrets: template.image_pull_secrets.clone(),
                    security_context: Some(template.pod_security_context.clone()),
                    containers: vec![Container {
                        name: CONTAINER.to_owned(),
                        image: Some(image),
                        image_pull_policy: template.image_pull_policy.clone(),
                        args: Some(container_args),
                        env: Some(vec![EnvVar {
                            name: "DBPROV_LOG".to_owned(),
                            value: Some("info".to_owned()),
                            ..EnvVar::default()
                        }]),
                        resources: Some(template.resources.clone()),
                        security_context: Some(template.security_context.clone()),
                        volume_mounts: Some(mounts),
                        ..Container::default()
                    }],
                    volumes: Some(volumes),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> JobTemplate {
        JobTemplate {
            image: Some("dbprov:test".to_owned()),
            service_account: Some("dbprov-operator".to_owned()),
            ..JobTemplate::from_pod(None, None)
        }
    }

    fn request(action: JobAction, claims: Vec<ClaimMount>) -> JobRequest {
        JobRequest {
            action,
            kind: JobKind::DatabaseBackup,
            namespace: "team".to_owned(),
            name: "orders".to_owned(),
            uid: "uid-1".to_owned(),
            generation: Some(2),
            deadline_seconds: 900,
            claims,
            pvc_root: "/claims".to_owned(),
        }
    }

    #[test]
    fn names_are_stable_short_and_distinct_per_generation_and_action() {
        let name = job_name("orders", "uid-1", Some(2), JobAction::Backup);
        assert_eq!(name, job_name("orders", "uid-1", Some(2), JobAction::Backup));
        assert!(name.starts_with("orders-backup-"), "{name}");
        assert_ne!(name, job_name("orders", "uid-1", Some(3), JobAction::Backup));
        assert_ne!(name, job_name("orders", "uid-2", Some(2), JobAction::Backup));
        assert_ne!(name, job_name("orders", "uid-1", Some(2), JobAction::Prune));
        let long = job_name(&format!("{}.-x", "a".repeat(60)), "u", None, JobAction::Restore);
        assert!(long.len() <= 63, "{long}");
        let base = job_name(&format!("{}-.x", "a".repeat(44)), "u", None, JobAction::Restore);
        assert!(!base.contains("-.") && !base.contains("--"), "{base}");
    }

    #[test]
    fn a_backup_job_runs_the_operator_image_with_the_deadline_mounts_and_arguments() {
        let job = build_job(
            &template(),
            &request(
                JobAction::Backup,
                vec![ClaimMount {
                    claim_name: "backups".to_owned(),
                    read_only: false,
                }],
            ),
        )
        .expect("builds");
        let spec = job.spec.expect("spec");
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.active_deadline_seconds, Some(900));
        assert_eq!(spec.ttl_seconds_after_finished, None);
        let owner = &job.metadata.owner_references.expect("owned")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()),
            ("DatabaseBackup", "orders", "uid-1")
        );
        assert_eq!(owner.controller, Some(true));
        let labels = job.metadata.labels.expect("labels");
        assert_eq!(labels[LABEL_OWNER_UID], "uid-1");
        assert_eq!(labels[LABEL_JOB_ACTION], "backup");
        let pod = spec.template.spec.expect("pod");
        assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
        assert_eq!(pod.service_account_name.as_deref(), Some("dbprov-operator"));
        let container = &pod.containers[0];
        assert_eq!(container.image.as_deref(), Some("dbprov:test"));
        assert_eq!(
            container.args.clone().expect("args"),
            [
                "job",
                "--log-format",
                "json",
                "--kind",
                "DatabaseBackup",
                "--namespace",
                "team",
                "--name",
                "orders",
                "--pvc-root",
                "/claims",
                "--generation",
                "2"
            ]
        );
        assert_eq!(
            container
                .security_context
                .as_ref()
                .and_then(|context| context.read_only_root_filesystem),
            Some(true)
        );
        let mounts = container.volume_mounts.clone().expect("mounts");
        assert_eq!(mounts[1].mount_path, "/claims/backups");
        assert_eq!(mounts[1].read_only, Some(false));
        let volumes = pod.volumes.expect("volumes");
        assert_eq!(
            volumes[1]
                .persistent_volume_claim
                .as_ref()
                .map(|claim| claim.claim_name.as_str()),
            Some("backups")
        );
    }

    #[test]
    fn prune_jobs_expire_instead_of_being_owned_and_claims_are_mounted_once() {
        let claims = vec![
            ClaimMount {
                claim_name: "a".to_owned(),
                read_only: true,
            },
            ClaimMount {
                claim_name: "a".to_owned(),
                read_only: false,
            },
        ];
        let job = build_job(&template(), &request(JobAction::Prune, claims)).expect("builds");
        assert!(job.metadata.owner_references.is_none());
        let spec = job.spec.expect("spec");
        assert_eq!(spec.ttl_seconds_after_finished, Some(PRUNE_JOB_TTL_SECONDS));
        assert_eq!(spec.active_deadline_seconds, Some(PRUNE_DEADLINE_SECONDS));
        let pod = spec.template.spec.expect("pod");
        let mounts = pod.containers[0].volume_mounts.clone().expect("mounts");
        assert_eq!(mounts.len(), 2, "{mounts:?}");
        assert_eq!(mounts[1].read_only, Some(false));
        assert!(
            pod.containers[0]
                .args
                .clone()
                .expect("args")
                .contains(&"--prune-artifact".to_owned())
        );
    }

    #[test]
    fn no_image_no_job() {
        let template = JobTemplate::from_pod(None, None);
        assert_eq!(
            build_job(&template, &request(JobAction::Restore, Vec::new())),
            Err(BuildError::NoImage)
        );
    }
}
