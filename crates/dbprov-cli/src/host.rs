//! The CLI's side of the reconcilers: objects come from the manifests of this run and from the state
//! directory (what earlier runs applied); Secrets from the manifests and from `<state-dir>/secrets/`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use dbprov_api::document::secret_value;
use dbprov_api::{Kind, Resource};
use dbprov_reconcile::{ObjectRef, ObjectSource, SecretObject, SecretStore, SourceError, StoredSecret};

use crate::manifest::Origin;
use crate::secret_files::{SecretDocument, SecretFiles, SecretMetadata};
use crate::state::{ObjectKey, StateStore};

/// A parsed manifest and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub origin: Origin,
    pub resource: Resource,
}

/// The state key of an object (cluster-scoped objects have an empty namespace).
pub fn key_of(object: &ObjectRef) -> ObjectKey {
    ObjectKey {
        kind: object.kind.as_str().to_owned(),
        namespace: object.namespace.clone().unwrap_or_default(),
        name: object.name.clone(),
    }
}

/// Objects and Secrets as the CLI sees them.
pub struct CliWorld {
    manifests: Vec<Loaded>,
    state: StateStore,
    secret_files: SecretFiles,
    /// Instances known to be reachable (connected in this run, or Ready when last applied).
    ready: Mutex<BTreeSet<ObjectRef>>,
    /// While checking manifests before anything runs, instances of this run count as ready.
    assume_ready: Mutex<bool>,
    /// Statuses produced in this run (backups that just completed), newer than the state's.
    statuses: Mutex<BTreeMap<ObjectRef, serde_json::Value>>,
}

impl CliWorld {
    pub fn new(manifests: Vec<Loaded>, state: StateStore) -> Self {
        let secret_files = SecretFiles::new(state.dir());
        Self {
            manifests,
            state,
            secret_files,
            ready: Mutex::new(BTreeSet::new()),
            assume_ready: Mutex::new(false),
            statuses: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records the status an object reached in this run (a restore reads its backup's artifact from it).
    pub fn set_status(&self, object: &ObjectRef, status: serde_json::Value) {
        self.statuses
            .lock()
            .expect("the status lock is never poisoned")
            .insert(object.clone(), status);
    }

    /// A `DatabaseBackup` carries its status (from this run, else from the state), as it does in a cluster.
    async fn with_status(&self, object: &ObjectRef, resource: Resource) -> Result<Resource, SourceError> {
        let Resource::DatabaseBackup(mut backup) = resource else {
            return Ok(resource);
        };
        let in_run = self
            .statuses
            .lock()
            .expect("the status lock is never poisoned")
            .get(object)
            .cloned();
        let status = match in_run {
            Some(status) => Some(status),
            None => self
                .state
                .get(&key_of(object))
                .await
                .map_err(state_error)?
                .map(|record| record.status),
        };
        backup.status = status.and_then(|status| serde_json::from_value(status).ok());
        Ok(Resource::DatabaseBackup(backup))
    }

    pub fn set_assume_ready(&self, value: bool) {
        *self.assume_ready.lock().expect("the flag lock is never poisoned") = value;
    }

    pub fn mark_ready(&self, instance: &ObjectRef, ready: bool) {
        let mut set = self.ready.lock().expect("the ready lock is never poisoned");
        if ready {
            set.insert(instance.clone());
        } else {
            set.remove(instance);
        }
    }

    fn manifest(&self, object: &ObjectRef) -> Option<&Resource> {
        self.manifests
            .iter()
            .map(|loaded| &loaded.resource)
            .find(|resource| ObjectRef::of(resource).as_ref() == Some(object))
    }

    fn manifest_secret(&self, namespace: &str, name: &str) -> Option<&k8s_openapi::api::core::v1::Secret> {
        self.manifests.iter().find_map(|loaded| match &loaded.resource {
            Resource::Secret(secret)
                if secret.metadata.name.as_deref() == Some(name)
                    && secret.metadata.namespace.as_deref().unwrap_or("default") == namespace =>
            {
                Some(secret.as_ref())
            }
            _ => None,
        })
    }
}

fn stored_resource(value: &serde_json::Value) -> Result<Resource, SourceError> {
    dbprov_api::parse_document(value.clone()).map_err(|error| {
        SourceError::with_source("the state holds a manifest dbprov can no longer read", error)
    })
}

fn state_error(error: crate::state::StateError) -> SourceError {
    SourceError::with_source("cannot read the state directory", error)
}

#[async_trait]
impl ObjectSource for CliWorld {
    async fn get(&self, object: &ObjectRef) -> Result<Option<Resource>, SourceError> {
        let resource = match self.manifest(object) {
            Some(resource) => resource.clone(),
            None => match self.state.get(&key_of(object)).await.map_err(state_error)? {
                Some(record) => stored_resource(&record.manifest)?,
                None => return Ok(None),
            },
        };
        self.with_status(object, resource).await.map(Some)
    }

    async fn list(&self, kind: Kind, namespace: Option<&str>) -> Result<Vec<Resource>, SourceError> {
        let mut objects: BTreeMap<ObjectRef, Resource> = BTreeMap::new();
        for record in self.state.list(Some(kind.as_str())).await.map_err(state_error)? {
            let resource = stored_resource(&record.manifest)?;
            if let Some(object) = ObjectRef::of(&resource) {
                objects.insert(object, resource);
            }
        }
        for loaded in &self.manifests {
            if loaded.resource.kind() == Some(kind)
                && let Some(object) = ObjectRef::of(&loaded.resource)
            {
                objects.insert(object, loaded.resource.clone());
            }
        }
        Ok(objects
            .into_iter()
            .filter(|(object, _)| namespace.is_none() || object.namespace.as_deref() == namespace)
            .map(|(_, resource)| resource)
            .collect())
    }

    async fn instance_ready(&self, instance: &ObjectRef) -> Result<bool, SourceError> {
        if self
            .ready
            .lock()
            .expect("the ready lock is never poisoned")
            .contains(instance)
        {
            return Ok(true);
        }
        if *self.assume_ready.lock().expect("the flag lock is never poisoned")
            && self.manifest(instance).is_some()
        {
            return Ok(true);
        }
        let record = self.state.get(&key_of(instance)).await.map_err(state_error)?;
        Ok(record.is_some_and(|record| {
            record.status["conditions"].as_array().is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        }))
    }
}

#[async_trait]
impl SecretStore for CliWorld {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, SourceError> {
        // A Secret in this run's manifests is the freshest; generated credentials live in the state directory.
        if let Some(secret) = self.manifest_secret(namespace, name) {
            let mut data = BTreeMap::new();
            for key in secret
                .data
                .iter()
                .flat_map(|d| d.keys())
                .chain(secret.string_data.iter().flat_map(|d| d.keys()))
            {
                if let Some(value) = secret_value(secret, key) {
                    data.insert(key.clone(), value);
                }
            }
            return Ok(Some(StoredSecret {
                data,
                labels: secret.metadata.labels.clone().unwrap_or_default(),
                annotations: secret.metadata.annotations.clone().unwrap_or_default(),
            }));
        }
        let document = self.secret_files.read(namespace, name).map_err(|error| {
            SourceError::with_source(format!("cannot read secret {namespace}/{name}"), error)
        })?;
        match document {
            None => Ok(None),
            Some(document) => Ok(Some(StoredSecret {
                data: document.values().map_err(|error| {
                    SourceError::with_source(format!("secret {namespace}/{name} is malformed"), error)
                })?,
                labels: document.metadata.labels.clone(),
                annotations: document.metadata.annotations.clone(),
            })),
        }
    }

    async fn put(&self, secret: &SecretObject) -> Result<(), SourceError> {
        let values: BTreeMap<String, Vec<u8>> = secret
            .data
            .iter()
            .map(|(key, value)| (key.clone(), value.expose().as_bytes().to_vec()))
            .collect();
        let metadata = SecretMetadata {
            name: secret.name.clone(),
            namespace: Some(secret.namespace.clone()),
            labels: secret.labels.clone(),
            annotations: secret.annotations.clone(),
        };
        self.secret_files
            .write(
                &secret.namespace,
                &SecretDocument::new(metadata, &secret.secret_type, &values),
            )
            .map(|_| ())
            .map_err(|error| {
                SourceError::with_source(
                    format!("cannot write secret {}/{}", secret.namespace, secret.name),
                    error,
                )
            })
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), SourceError> {
        self.secret_files.remove(namespace, name).map_err(|error| {
            SourceError::with_source(format!("cannot remove secret {namespace}/{name}"), error)
        })
    }
}
