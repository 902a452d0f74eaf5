//! dbprov-operator: the Kubernetes operator, a thin kube-rs shell over the shared reconcilers of
//! `dbprov-reconcile`.
//!
//! * [`controllers`]: one controller per kind, watching into caches ([`world`]) the reconcilers read;
//! * [`reconcile`]: the flow of one reconcile (skip, deletion, finalizer, reconcile, status, events, requeue);
//! * [`converge`]: the batched reconcile path of databases, users, roles and grants (shared with the resync
//!   benchmark);
//! * [`secrets`]: Secrets in the API, the per-reconcile view, the copies of instance credentials;
//! * pure decisions, tested without a cluster: [`finalizer`], [`requeue`], [`hints`], [`dependents`],
//!   [`status`], [`annotations`];
//! * [`runs`] and [`jobs`]: backups and restores run once, in a Kubernetes Job; [`run_job`] is what runs inside
//!   it (`dbprov job`);
//! * [`metrics`], [`http`] (`/metrics`, `/healthz`, `/readyz`), [`leader`] (leader election).

pub mod annotations;
pub mod args;
pub mod context;
pub mod controllers;
pub mod converge;
pub mod dependents;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod hints;
pub mod http;
pub mod index_cache;
pub mod jobs;
pub mod kinds;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod requeue;
pub mod run;
pub mod runs;
pub mod secrets;
pub mod status;
pub mod world;

pub use args::OperatorArgs;
pub use jobs::JobArgs;
pub use jobs::run::{run_job, run_job_with};
pub use run::run;
