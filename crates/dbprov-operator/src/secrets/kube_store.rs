//! Secrets in the Kubernetes API. Writes are server-side applies with the `dbprov-operator` field manager;
//! a write returns once the API server has persisted it, which is what "durable" means here.

use std::collections::BTreeMap;

use async_trait::async_trait;
use dbprov_reconcile::{SecretObject, SecretStore, SourceError, StoredSecret};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};

/// The field manager of every write the operator makes.
pub const FIELD_MANAGER: &str = "dbprov-operator";

/// Secrets read and written through the API server.
#[derive(Clone)]
pub struct KubeSecrets {
    client: Client,
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_not_found())
}

/// The stored form of a Secret: `data` wins over `stringData` (the API server folds one into the other).
pub fn stored(secret: Secret) -> StoredSecret {
    let mut data: BTreeMap<String, Vec<u8>> = secret
        .string_data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.into_bytes()))
        .collect();
    data.extend(
        secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, value.0)),
    );
    StoredSecret {
        data,
        labels: secret.metadata.labels.unwrap_or_default(),
        annotations: secret.metadata.annotations.unwrap_or_default(),
    }
}

/// The Secret object dbprov applies for a [`SecretObject`]: an owner reference (controller) when the owner's
/// uid is known, so the Secret goes with its `DatabaseUser` and changes to it reach the user's controller.
pub fn to_secret(secret: &SecretObject) -> Secret {
    let owner_references = secret.owner.as_ref().and_then(|owner| {
        Some(vec![OwnerReference {
            api_version: owner.api_version.clone(),
            kind: owner.kind.clone(),
            name: owner.name.clone(),
            uid: owner.uid.clone()?,
            controller: Some(true),
            block_owner_deletion: Some(true),
        }])
    });
    Secret {
        metadata: ObjectMeta {
            name: Some(secret.name.clone()),
            namespace: Some(secret.namespace.clone()),
            labels: Some(secret.labels.clone()),
            annotations: (!secret.annotations.is_empty()).then(|| secret.annotations.clone()),
            owner_references,
            ..ObjectMeta::default()
        },
        type_: Some(secret.secret_type.clone()),
        data: Some(
            secret
                .data
                .iter()
                .map(|(key, value)| (key.clone(), ByteString(value.expose().as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

impl KubeSecrets {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn api(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Server-side applies a whole Secret object.
    pub async fn apply(&self, secret: &Secret) -> Result<(), kube::Error> {
        let namespace = secret.metadata.namespace.as_deref().unwrap_or("default");
        let name = secret.metadata.name.as_deref().unwrap_or_default();
        self.api(namespace)
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(secret),
            )
            .await
            .map(|_| ())
    }

    /// Sets one annotation with a merge patch (not an apply: the next apply of the Secret's keys must not
    /// remove it).
    pub async fn annotate(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), kube::Error> {
        let patch = serde_json::json!({"metadata": {"annotations": {key: value}}});
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        self.api(namespace)
            .patch(name, &params, &Patch::Merge(&patch))
            .await
            .map(|_| ())
    }

    /// Removes the owner reference to `owner_uid`, so the Secret outlives its owner (credentials of a user
    /// that stays on the server). A missing Secret is fine.
    pub async fn orphan(&self, namespace: &str, name: &str, owner_uid: &str) -> Result<(), kube::Error> {
        let api = self.api(namespace);
        let Some(secret) = api.get_opt(name).await? else {
            return Ok(());
        };
        let owners = secret.metadata.owner_references.unwrap_or_default();
        if !owners.iter().any(|owner| owner.uid == owner_uid) {
            return Ok(());
        }
        let remaining: Vec<&OwnerReference> = owners.iter().filter(|owner| owner.uid != owner_uid).collect();
        let patch = serde_json::json!({
            "metadata": {
                "ownerReferences": remaining,
                "resourceVersion": secret.metadata.resource_version,
            }
        });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        api.patch(name, &params, &Patch::Merge(&patch)).await.map(|_| ())
    }

    /// Reads a Secret.
    pub async fn read(&self, namespace: &str, name: &str) -> Result<Option<Secret>, kube::Error> {
        self.api(namespace).get_opt(name).await
    }

    /// Deletes a Secret; a missing one is fine.
    pub async fn remove(&self, namespace: &str, name: &str) -> Result<(), kube::Error> {
        match self.api(namespace).delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(error),
        }
    }
}

#[async_trait]
impl SecretStore for KubeSecrets {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, SourceError> {
        self.read(namespace, name)
            .await
            .map(|secret| secret.map(stored))
            .map_err(|error| {
                SourceError::with_source(format!("cannot read secret {namespace}/{name}"), error)
            })
    }

    async fn put(&self, secret: &SecretObject) -> Result<(), SourceError> {
        self.apply(&to_secret(secret)).await.map_err(|error| {
            SourceError::with_source(
                format!("cannot write secret {}/{}", secret.namespace, secret.name),
                error,
            )
        })
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), SourceError> {
        self.remove(namespace, name).await.map_err(|error| {
            SourceError::with_source(format!("cannot delete secret {namespace}/{name}"), error)
        })
    }
}

#[cfg(test)]
mod tests {
    use dbprov_core::Secret as Password;
    use dbprov_reconcile::context::SecretOwner;

    use super::*;

    fn object(uid: Option<&str>) -> SecretObject {
        SecretObject {
            namespace: "team".into(),
            name: "app-credentials".into(),
            secret_type: "Opaque".into(),
            labels: BTreeMap::from([("dbops.dbprovision.io/user".to_owned(), "app".to_owned())]),
            annotations: BTreeMap::new(),
            data: BTreeMap::from([("password".to_owned(), Password::new("s3cret"))]),
            owner: Some(SecretOwner {
                api_version: "dbops.dbprovision.io/v1alpha1".into(),
                kind: "DatabaseUser".into(),
                name: "app".into(),
                uid: uid.map(str::to_owned),
            }),
        }
    }

    #[test]
    fn applied_secrets_are_owned_by_their_user() {
        let secret = to_secret(&object(Some("uid-1")));
        let owner = &secret.metadata.owner_references.as_ref().expect("owner")[0];
        assert_eq!(owner.kind, "DatabaseUser");
        assert_eq!(owner.uid, "uid-1");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert_eq!(secret.data.as_ref().expect("data")["password"].0, b"s3cret");
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        assert!(to_secret(&object(None)).metadata.owner_references.is_none());
        let value = serde_json::to_value(&secret).expect("serializes");
        assert_eq!(value["apiVersion"], "v1");
        assert_eq!(value["kind"], "Secret");
    }

    #[test]
    fn stored_form_prefers_data_over_string_data() {
        let secret = Secret {
            data: Some(BTreeMap::from([(
                "password".to_owned(),
                ByteString(b"data".to_vec()),
            )])),
            string_data: Some(BTreeMap::from([
                ("password".to_owned(), "string".to_owned()),
                ("username".to_owned(), "app".to_owned()),
            ])),
            ..Secret::default()
        };
        let stored = stored(secret);
        assert_eq!(stored.data["password"], b"data");
        assert_eq!(stored.data["username"], b"app");
    }
}
