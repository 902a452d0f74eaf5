//! Where objects and Secrets live. The CLI backs these traits with manifests and its state directory; the
//! operator with the Kubernetes API.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use dbprov_api::{Kind, Resource, Scope};
use dbprov_core::Secret;

use crate::engines::EngineCache;

/// An object: kind, namespace (`None` for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// The reference of a resource; a namespaced object without a namespace is in `default`, as kubectl has it.
    pub fn of(resource: &Resource) -> Option<Self> {
        let kind = resource.kind()?;
        let namespace = match kind.scope() {
            Scope::Cluster => None,
            Scope::Namespaced => Some(resource.namespace().unwrap_or("default")),
        };
        Some(Self::new(kind, namespace, resource.name()))
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{}/{} (namespace {namespace})", self.kind.as_str(), self.name),
            None => write!(f, "{}/{}", self.kind.as_str(), self.name),
        }
    }
}

/// A failure to read or write an object or a Secret.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Reads the objects a reconcile refers to.
#[async_trait]
pub trait ObjectSource: Send + Sync {
    /// One object, or `None` when it does not exist.
    async fn get(&self, object: &ObjectRef) -> Result<Option<Resource>, SourceError>;

    /// Every object of a kind (in `namespace`, or everywhere when `None`): grants of one grantee are merged
    /// across all the objects that declare them, so two objects never revoke each other's privileges.
    async fn list(&self, kind: Kind, namespace: Option<&str>) -> Result<Vec<Resource>, SourceError>;

    /// Whether an instance is Ready (its last reconcile connected). The CLI answers for the instances it
    /// reconciled in this run or before; the operator reads the instance's `Ready` condition.
    async fn instance_ready(&self, instance: &ObjectRef) -> Result<bool, SourceError>;

    /// The data of a ConfigMap (migration sources in a cluster). Hosts without ConfigMaps say so.
    async fn config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, SourceError> {
        let _ = (namespace, name);
        Err(SourceError::new(
            "ConfigMaps are only available in a cluster (use source.directory or source.inline)",
        ))
    }
}

/// A Secret as stored.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoredSecret {
    pub data: BTreeMap<String, Vec<u8>>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecret")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("labels", &self.labels)
            .finish()
    }
}

impl StoredSecret {
    /// The value of `key` as text.
    pub fn text(&self, key: &str) -> Option<Secret> {
        self.data
            .get(key)
            .map(|bytes| Secret::new(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// The object a managed Secret belongs to (an owner reference in a cluster).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretOwner {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: Option<String>,
}

/// A Secret dbprov writes (generated credentials).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretObject {
    pub namespace: String,
    pub name: String,
    pub secret_type: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub data: BTreeMap<String, Secret>,
    pub owner: Option<SecretOwner>,
}

impl fmt::Debug for SecretObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretObject")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads and writes Secrets.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, SourceError>;

    /// Creates or replaces a Secret. Must be durable when it returns: the password it holds is set on the
    /// server right after.
    async fn put(&self, secret: &SecretObject) -> Result<(), SourceError>;

    /// Deletes a Secret; a missing one is fine.
    async fn delete(&self, namespace: &str, name: &str) -> Result<(), SourceError>;
}

/// What a reconcile needs from its host.
#[derive(Clone)]
pub struct Context {
    pub source: Arc<dyn ObjectSource>,
    pub secrets: Arc<dyn SecretStore>,
    pub engines: EngineCache,
}

impl Context {
    pub fn new(source: Arc<dyn ObjectSource>, secrets: Arc<dyn SecretStore>) -> Self {
        Self {
            source,
            secrets,
            engines: EngineCache::default(),
        }
    }
}
