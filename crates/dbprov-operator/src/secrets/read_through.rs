//! A per-reconcile view of Secrets: each Secret is read from the API at most once per reconcile, and what a
//! reconcile writes is what it reads back. Reconciles never share it, so nothing goes stale across them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use dbprov_reconcile::{SecretObject, SecretStore, SourceError, StoredSecret};

type Key = (String, String);

pub struct ReadThrough {
    inner: Arc<dyn SecretStore>,
    seen: Mutex<HashMap<Key, Option<StoredSecret>>>,
}

impl ReadThrough {
    pub fn new(inner: Arc<dyn SecretStore>) -> Self {
        Self {
            inner,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn key(namespace: &str, name: &str) -> Key {
        (namespace.to_owned(), name.to_owned())
    }

    /// A Secret this reconcile already read or wrote (outer `None`: not looked at).
    pub fn seen(&self, namespace: &str, name: &str) -> Option<Option<StoredSecret>> {
        self.seen
            .lock()
            .expect("the secret view lock is never poisoned")
            .get(&Self::key(namespace, name))
            .cloned()
    }

    fn remember(&self, namespace: &str, name: &str, secret: Option<StoredSecret>) {
        self.seen
            .lock()
            .expect("the secret view lock is never poisoned")
            .insert(Self::key(namespace, name), secret);
    }
}

#[async_trait]
impl SecretStore for ReadThrough {
    async fn get(&self, namespace: &str, name: &str) -> Result<Option<StoredSecret>, SourceError> {
        if let Some(secret) = self.seen(namespace, name) {
            return Ok(secret);
        }
        let secret = self.inner.get(namespace, name).await?;
        self.remember(namespace, name, secret.clone());
        Ok(secret)
    }

    async fn put(&self, secret: &SecretObject) -> Result<(), SourceError> {
        self.inner.put(secret).await?;
        // Annotations written by others (the password fingerprint) survive an apply of the keys.
        let previous = self.seen(&secret.namespace, &secret.name).flatten();
        let mut annotations = previous.map(|stored| stored.annotations).unwrap_or_default();
        annotations.extend(secret.annotations.clone());
        self.remember(
            &secret.namespace,
            &secret.name,
            Some(StoredSecret {
                data: secret
                    .data
                    .iter()
                    .map(|(key, value)| (key.clone(), value.expose().as_bytes().to_vec()))
                    .collect(),
                labels: secret.labels.clone(),
                annotations,
            }),
        );
        Ok(())
    }

    async fn delete(&self, namespace: &str, name: &str) -> Result<(), SourceError> {
        self.inner.delete(namespace, name).await?;
        self.remember(namespace, name, None);
        Ok(())
    }
}
