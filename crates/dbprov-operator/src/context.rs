//! What every reconcile of the operator shares: the API client, the caches, the Secret stores, the engines
//! (one connection pool per instance), the event recorder, metrics and per-object backoff.

use std::sync::Arc;

use dbprov_reconcile::{Context, EngineCache, SecretStore};
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use crate::index_cache::IndexCache;
use crate::jobs::JobTemplate;
use crate::metrics::Metrics;
use crate::requeue::Backoffs;
use crate::secrets::{CredentialCopies, KubeSecrets, ReadThrough, WithCopies};
use crate::world::{KubeWorld, Stores};

/// The name events are reported under.
pub const REPORTER: &str = "dbprov-operator";

pub struct OperatorContext {
    pub client: Client,
    pub world: Arc<KubeWorld>,
    pub secrets: Arc<KubeSecrets>,
    pub copies: Arc<CredentialCopies>,
    pub engines: EngineCache,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub backoffs: Backoffs,
    pub index: IndexCache,
    /// What backup and restore Jobs borrow from the operator's pod.
    pub job_template: JobTemplate,
}

impl OperatorContext {
    pub fn new(client: Client, stores: Stores, operator_namespace: &str, metrics: Arc<Metrics>) -> Self {
        let secrets = Arc::new(KubeSecrets::new(client.clone()));
        let reporter = Reporter {
            controller: REPORTER.to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            world: Arc::new(KubeWorld::new(stores, client.clone())),
            copies: Arc::new(CredentialCopies::new(
                secrets.as_ref().clone(),
                operator_namespace,
            )),
            secrets,
            engines: EngineCache::default(),
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            backoffs: Backoffs::default(),
            index: IndexCache::default(),
            job_template: JobTemplate::default(),
        }
    }

    /// Sets what backup and restore Jobs borrow from the operator's pod.
    pub fn with_job_template(mut self, template: JobTemplate) -> Self {
        self.job_template = template;
        self
    }

    /// The shared reconcilers' context for one reconcile of a live object, with its own Secret view.
    pub fn reconcile_context(&self) -> (Context, Arc<ReadThrough>) {
        let secrets = Arc::new(ReadThrough::new(self.secrets.clone()));
        (self.context_with(secrets.clone()), secrets)
    }

    /// The context for a deletion: Secrets that are gone are read from the operator's copies.
    pub fn deletion_context(&self) -> (Context, Arc<ReadThrough>) {
        let fallback: Arc<dyn SecretStore> =
            Arc::new(WithCopies::new(self.secrets.clone(), self.copies.clone()));
        let secrets = Arc::new(ReadThrough::new(fallback));
        (self.context_with(secrets.clone()), secrets)
    }

    fn context_with(&self, secrets: Arc<ReadThrough>) -> Context {
        Context {
            source: self.world.clone(),
            secrets,
            engines: self.engines.clone(),
        }
    }
}
