//! Connected engines, shared across reconciles and keyed by instance. A changed connection (new credentials,
//! a moved host) opens a new engine; the old one is closed.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use dbprov_core::{ConnectionSpec, Endpoint, Engine, EngineError, EngineKind};
use tokio::sync::Mutex;

/// A connected engine and the fingerprint of the connection it was opened with.
type Entry = (u64, Arc<dyn Engine>);

#[derive(Clone, Default)]
pub struct EngineCache {
    engines: Arc<Mutex<HashMap<String, Entry>>>,
}

/// A fingerprint of everything that decides which server and identity a connection reaches.
fn fingerprint(kind: EngineKind, spec: &ConnectionSpec) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    kind.hash(&mut hasher);
    match &spec.endpoint {
        Endpoint::Tcp { host, port } => (0u8, host, port).hash(&mut hasher),
        Endpoint::Socket { path } | Endpoint::Directory { path } => (1u8, path).hash(&mut hasher),
    }
    spec.database.hash(&mut hasher);
    if let Some(credentials) = &spec.credentials {
        credentials.username.hash(&mut hasher);
        credentials
            .password
            .as_ref()
            .map(|password| password.expose())
            .hash(&mut hasher);
    }
    spec.tls.mode.as_str().hash(&mut hasher);
    spec.tls.ca_pem.hash(&mut hasher);
    spec.tls.client_cert_pem.hash(&mut hasher);
    spec.tls
        .client_key_pem
        .as_ref()
        .map(|key| key.expose())
        .hash(&mut hasher);
    spec.connect_timeout.hash(&mut hasher);
    hasher.finish()
}

impl EngineCache {
    /// The engine for `instance` (a stable key such as `namespace/name`), connecting when needed.
    pub async fn get(
        &self,
        instance: &str,
        kind: EngineKind,
        spec: &ConnectionSpec,
    ) -> Result<Arc<dyn Engine>, EngineError> {
        let wanted = fingerprint(kind, spec);
        let mut engines = self.engines.lock().await;
        if let Some((current, engine)) = engines.get(instance)
            && *current == wanted
        {
            return Ok(engine.clone());
        }
        if let Some((_, stale)) = engines.remove(instance) {
            stale.close().await;
        }
        let engine: Arc<dyn Engine> = Arc::from(dbprov_engines::connect(kind, spec).await?);
        engines.insert(instance.to_owned(), (wanted, engine.clone()));
        Ok(engine)
    }

    /// Forgets (and closes) the engine of an instance, so the next reconcile reconnects (after a failure).
    pub async fn forget(&self, instance: &str) {
        if let Some((_, engine)) = self.engines.lock().await.remove(instance) {
            engine.close().await;
        }
    }

    pub async fn close_all(&self) {
        let engines: Vec<_> = self
            .engines
            .lock()
            .await
            .drain()
            .map(|(_, (_, engine))| engine)
            .collect();
        for engine in engines {
            engine.close().await;
        }
    }
}
