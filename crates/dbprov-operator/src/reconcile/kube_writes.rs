//! The writes a reconcile makes to its own object: finalizers (a merge patch guarded by the resourceVersion)
//! and the status (server-side apply of the status subresource); and the deletion of a backup together with
//! its artifact (retention, `ttl`).

use dbprov_api::Resource;
use dbprov_api::v1alpha1::API_VERSION;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};

use crate::annotations::ANNOTATION_DELETE_ARTIFACT;
use crate::error::Error;
use crate::kinds::Managed;
use crate::secrets::FIELD_MANAGER;
use crate::status::status_value;

fn api<K: Managed>(client: &Client, object: &K) -> Api<K> {
    K::api(client.clone(), object.meta().namespace.as_deref())
}

/// Replaces the finalizer list; fails with a conflict when the object changed since it was read.
pub async fn write_finalizers<K: Managed>(
    client: &Client,
    object: &K,
    finalizers: &[String],
    label: &str,
) -> Result<(), Error> {
    let mut metadata = serde_json::json!({"finalizers": finalizers});
    if let Some(version) = &object.meta().resource_version {
        metadata["resourceVersion"] = serde_json::Value::from(version.clone());
    }
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    api(client, object)
        .patch(
            &object.name_any(),
            &params,
            &Patch::Merge(&serde_json::json!({"metadata": metadata})),
        )
        .await
        .map(|_| ())
        .map_err(|source| Error::WriteFinalizers {
            object: label.to_owned(),
            source,
        })
}

/// Applies the status of `resource` (the object with its new status).
pub async fn write_status<K: Managed>(
    client: &Client,
    object: &K,
    resource: &Resource,
    label: &str,
) -> Result<(), Error> {
    let patch = serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": K::KIND.as_str(),
        "status": status_value(resource),
    });
    api(client, object)
        .patch_status(
            &object.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|source| Error::WriteStatus {
            object: label.to_owned(),
            source,
        })
}

/// Deletes backup `name`, marked first (when `with_artifact`) so that its own deletion deletes its artifact
/// through a prune Job before the object goes. A backup already gone is not an error.
pub async fn delete_backup<K: Managed>(
    api: &Api<K>,
    name: &str,
    with_artifact: bool,
) -> Result<(), kube::Error> {
    let gone = |result: Result<(), kube::Error>| match result {
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        other => other,
    };
    if with_artifact {
        let patch = serde_json::json!({"metadata": {"annotations": {ANNOTATION_DELETE_ARTIFACT: "true"}}});
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        gone(api.patch(name, &params, &Patch::Merge(&patch)).await.map(drop))?;
    }
    gone(api.delete(name, &DeleteParams::default()).await.map(drop))
}
