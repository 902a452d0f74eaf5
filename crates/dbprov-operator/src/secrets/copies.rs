//! Copies of instance credentials in the operator's namespace. Deleting a database or user needs the admin
//! credentials of its instance; the Secret holding them may be gone by then (deleted with the namespace, or
//! by hand). The operator keeps a copy of every Secret an instance connects with, refreshed whenever the
//! instance connects, and removed when the last instance using it is deleted. Only deletions read the copies:
//! a live object whose instance Secret is missing waits for it, as it should.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dbprov_api::v1alpha1::DatabaseInstanceSpec;
use dbprov_reconcile::{ObjectRef, SecretObject, SecretStore, SourceError, StoredSecret};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sha2::{Digest, Sha256};

use super::kube_store::{KubeSecrets, stored};
use crate::annotations::{ANNOTATION_COPY_OF, LABEL_CREDENTIALS_COPY, LABEL_MANAGED_BY};

/// The copy's name: a hash of the source, so any namespace/name pair fits a Secret name.
pub fn copy_name(namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    format!("dbprov-credentials-{}", &hex::encode(digest)[..20])
}

/// The Secrets an instance connects with (admin credentials, TLS material), as `(namespace, name)`: the same
/// namespaces `dbprov_reconcile::resolve_instance` reads them from.
pub fn instance_secret_sources(instance: &ObjectRef, spec: &DatabaseInstanceSpec) -> Vec<(String, String)> {
    let default_namespace = instance.namespace.as_deref().unwrap_or("default");
    let mut sources = Vec::new();
    if let Some(reference) = spec
        .connection
        .as_ref()
        .and_then(|connection| connection.credentials_secret())
    {
        sources.push((
            reference
                .namespace
                .clone()
                .unwrap_or_else(|| default_namespace.to_owned()),
            reference.name.clone(),
        ));
    }
    if let Some(reference) = spec
        .tls
        .as_ref()
        .filter(|tls| tls.enabled)
        .and_then(|tls| tls.secret_ref.as_ref())
    {
        sources.push((default_namespace.to_owned(), reference.name.clone()));
    }
    sources.sort();
    sources.dedup();
    sources
}

fn content_hash(secret: &StoredSecret) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for (key, value) in &secret.data {
        hasher.update((key.len() as u64).to_le_bytes());
        hasher.update(key.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value);
    }
    hasher.finalize().into()
}

/// The copies, in the operator namespace.
pub struct CredentialCopies {
    secrets: KubeSecrets,
    namespace: String,
    /// What this process last wrote per copy, so an unchanged Secret is not written at every health check.
    written: Mutex<HashMap<String, [u8; 32]>>,
}

impl CredentialCopies {
    pub fn new(secrets: KubeSecrets, namespace: impl Into<String>) -> Self {
        Self {
            secrets,
            namespace: namespace.into(),
            written: Mutex::new(HashMap::new()),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Writes (or refreshes) the copy of a source Secret.
    pub async fn refresh(
        &self,
        namespace: &str,
        name: &str,
        source: &StoredSecret,
    ) -> Result<(), kube::Error> {
        let copy = copy_name(namespace, name);
        let hash = content_hash(source);
        if self
            .written
            .lock()
            .expect("the copies lock is never poisoned")
            .get(&copy)
            == Some(&hash)
        {
            return Ok(());
        }
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(copy.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(BTreeMap::from([
                    (LABEL_MANAGED_BY.to_owned(), "dbprov".to_owned()),
                    (LABEL_CREDENTIALS_COPY.to_owned(), "true".to_owned()),
                ])),
                annotations: Some(BTreeMap::from([(
                    ANNOTATION_COPY_OF.to_owned(),
                    format!("{namespace}/{name}"),
                )])),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".to_owned()),
            data: Some(
                source
                    .data
                    .iter()
                    .map(|(key, value)| (key.clone(), ByteString(value.clone())))
                    .collect(),
            ),
            ..Secret::default()
        };
        self.secrets.apply(&secret).await?;
        self.written
            .lock()
            .expect("the copies lock is never poisoned")
            .insert(copy, hash);
        Ok(())
    }

    /// Removes the copy of a source Secret.
    pub async fn remove(&self, namespace: &str, name: &str) -> Result<(), kube::Error> {
        let copy = copy_name(namespace, name);
        self.secrets.remove(&self.namespace, &copy).await?;
        self.written
            .lock()
            .expect("the copies lock is never poisoned")
            .remove(&copy);
        Ok(())
    }

    /// The copy of a source Secret, if one was kept.
    pub async fn read(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, kube::Error> {
        let copy = self
            .secrets
            .read(&self.namespace, &copy_name(namespace, name))
            .await?;
        let source = format!("{namespace}/{name}");
        // The name is a hash: the annotation proves the copy is of this Secret.
        Ok(copy
            .filter(|secret| {
                secret
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|annotations| annotations.get(ANNOTATION_COPY_OF))
                    == Some(&source)
            })
            .map(|secret| StoredSecret {
                labels: BTreeMap::new(),
                annotations: BTreeMap::new(),
                ..stored(secret)
            }))
    }
}

/// A Secret store that falls back to the credentials copies when a Secret is gone (for deletions).
pub struct WithCopies {
    inner: Arc<dyn SecretStore>,
    copies: Arc<CredentialCopies>,
}

impl WithCopies {
    pub fn new(inner: Arc<dyn SecretStore>, copies: Arc<CredentialCopies>) -> Self {
        Self { inner, copies }
    }
}

#[async_trait]
impl SecretStore for WithCopies {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, SourceError> {
        if let Some(secret) = self.inner.get(namespace, name).await? {
            return Ok(Some(secret));
        }
        let copy = self.copies.read(namespace, name).await.map_err(|error| {
            SourceError::with_source(
                format!("cannot read the operator's copy of secret {namespace}/{name}"),
                error,
            )
        })?;
        if copy.is_some() {
            tracing::info!(
                secret = %format!("{namespace}/{name}"),
                "secret is gone; deleting with the operator's copy of it"
            );
        }
        Ok(copy)
    }

    async fn put(&self, secret: &SecretObject) -> Result<(), SourceError> {
        self.inner.put(secret).await
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), SourceError> {
        self.inner.delete(namespace, name).await
    }
}

#[cfg(test)]
mod tests {
    use dbprov_api::Kind;

    use super::*;

    #[test]
    fn copy_names_are_valid_and_distinct() {
        let a = copy_name("team", "pg-admin");
        assert!(a.starts_with("dbprov-credentials-"));
        assert!(a.len() <= 63, "{a}");
        assert_ne!(a, copy_name("team2", "pg-admin"));
        assert_ne!(a, copy_name("team", "pg-admin2"));
        assert_eq!(a, copy_name("team", "pg-admin"));
    }

    #[test]
    fn sources_are_read_where_the_reconciler_reads_them() {
        let spec: DatabaseInstanceSpec = serde_json::from_value(serde_json::json!({
            "engine": "postgres",
            "connection": {"host": "pg", "port": 5432, "secretRef": {"name": "admin"}},
            "tls": {"enabled": true, "mode": "verify-ca", "secretRef": {"name": "tls"}}
        }))
        .expect("valid spec");
        let instance = ObjectRef::new(Kind::DatabaseInstance, Some("team"), "pg");
        assert_eq!(
            instance_secret_sources(&instance, &spec),
            [
                ("team".to_owned(), "admin".to_owned()),
                ("team".to_owned(), "tls".to_owned())
            ]
        );
        let cluster: DatabaseInstanceSpec = serde_json::from_value(serde_json::json!({
            "engine": "postgres",
            "connection": {"host": "pg", "port": 5432, "secretRef": {"name": "admin", "namespace": "ops"}}
        }))
        .expect("valid spec");
        let shared = ObjectRef::new(Kind::ClusterDatabaseInstance, None, "shared");
        assert_eq!(
            instance_secret_sources(&shared, &cluster),
            [("ops".to_owned(), "admin".to_owned())]
        );
    }
}
