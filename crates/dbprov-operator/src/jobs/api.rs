//! The Jobs of an object in the API: found by the owner-uid label, created once, deleted in the foreground.

use k8s_openapi::api::batch::v1::Job;
use kube::api::{DeleteParams, ListParams, PostParams, PropagationPolicy};
use kube::{Api, Client};

use crate::jobs::build::LABEL_OWNER_UID;
use crate::jobs::state::{JobSummary, summary};
use crate::secrets::FIELD_MANAGER;

fn api(client: &Client, namespace: &str) -> Api<Job> {
    Api::namespaced(client.clone(), namespace)
}

/// Every Job of the object with `uid` in `namespace`.
pub async fn jobs_of(client: &Client, namespace: &str, uid: &str) -> Result<Vec<JobSummary>, kube::Error> {
    let jobs = api(client, namespace)
        .list(&ListParams::default().labels(&format!("{LABEL_OWNER_UID}={uid}")))
        .await?;
    Ok(jobs.items.iter().map(summary).collect())
}

/// Creates a Job; one that exists already (created by an earlier reconcile) is fine.
pub async fn create(client: &Client, job: &Job) -> Result<(), kube::Error> {
    let namespace = job.metadata.namespace.as_deref().unwrap_or("default");
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    match api(client, namespace).create(&params, job).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(()),
        Err(error) => Err(error),
    }
}

/// Deletes a Job and, before it disappears, its pods (foreground propagation): once the Job is gone, nothing
/// of it runs any more. A Job that is gone already is fine.
pub async fn delete_foreground(client: &Client, namespace: &str, name: &str) -> Result<(), kube::Error> {
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..DeleteParams::default()
    };
    match api(client, namespace).delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(error) => Err(error),
    }
}
