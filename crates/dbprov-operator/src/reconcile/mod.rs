//! One reconcile of one object, the flow of the seeds' architecture: honour `skip-reconcile`; handle deletion;
//! add the finalizer; resolve, plan and apply through the shared reconcilers; write the status; publish
//! events; requeue for the next health or drift check. Migrations, backups, restores and schedules have flows
//! of their own ([`migration`], [`runs`], [`schedule`]); OAuth2 clients reconcile through their own shared
//! reconciler ([`oauth2_client`]) and are deleted like the other live kinds.

mod finalize;
pub(crate) mod kube_writes;
mod live;
mod migration;
mod oauth2_client;
mod runs;
pub mod schedule;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dbprov_api::{Kind, Resource};
use dbprov_reconcile::ObjectRef;
use kube::runtime::controller::Action;
use tracing::Instrument;

use crate::annotations;
use crate::context::OperatorContext;
use crate::error::Error;
use crate::kinds::Managed;

/// How a reconcile ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// When to reconcile again on its own (`None`: when something changes).
    pub requeue_after: Option<Duration>,
    /// The reason of the failure reported in the status, if the reconcile did not succeed.
    pub failure: Option<&'static str>,
}

/// A short random id, recorded in the status and the log span, to correlate the two.
fn reconcile_id() -> String {
    let mut bytes = [0u8; 6];
    // The id only correlates logs; a fixed one when the OS has no randomness to give is harmless.
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// The reference of a managed object.
pub fn object_ref<K: Managed>(object: &K) -> ObjectRef {
    let meta = object.meta();
    let namespace = match K::KIND.scope() {
        dbprov_api::Scope::Cluster => None,
        dbprov_api::Scope::Namespaced => Some(meta.namespace.as_deref().unwrap_or("default")),
    };
    ObjectRef::new(K::KIND, namespace, meta.name.as_deref().unwrap_or_default())
}

/// Reconciles one object (the controllers' reconcile function).
pub async fn reconcile<K: Managed>(object: Arc<K>, ctx: Arc<OperatorContext>) -> Result<Action, Error> {
    reconcile_once(object, &ctx)
        .await
        .map(|reconciled| action(reconciled.requeue_after))
}

/// Reconciles one object and says how it ended.
pub async fn reconcile_once<K: Managed>(object: Arc<K>, ctx: &OperatorContext) -> Result<Reconciled, Error> {
    let reference = object_ref(object.as_ref());
    let id = reconcile_id();
    let span = tracing::info_span!("reconcile", object = %reference, reconcile_id = %id);
    async move {
        if annotations::skip_reconcile(object.meta()) {
            tracing::debug!("skip-reconcile is set; leaving the object alone");
            return Ok(Reconciled {
                requeue_after: None,
                failure: None,
            });
        }
        let started = Instant::now();
        let result = match K::KIND {
            Kind::DatabaseMigration
            | Kind::DatabaseBackup
            | Kind::DatabaseRestore
            | Kind::DatabaseBackupSchedule => own_flow(ctx, object.to_resource(), &reference).await,
            _ if object.meta().deletion_timestamp.is_some() => {
                finalize::run(ctx, object.as_ref(), &reference, &id).await
            }
            Kind::OAuth2Client => match object.to_resource() {
                Resource::OAuth2Client(client) => oauth2_client::run(ctx, &client, &reference).await,
                _ => unreachable!("invariant: an OAuth2Client converts to Resource::OAuth2Client"),
            },
            _ => live::run(ctx, object.as_ref(), &reference, &id).await,
        };
        let elapsed = started.elapsed();
        match &result {
            Ok(finished) => ctx.metrics.reconciled(K::KIND, elapsed, finished.failure),
            Err(error) => ctx.metrics.reconciled(K::KIND, elapsed, Some(error.kind())),
        }
        result
    }
    .instrument(span)
    .await
}

/// The kinds with a flow of their own (each handles its deletion too).
async fn own_flow(
    ctx: &OperatorContext,
    resource: Resource,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    match resource {
        Resource::DatabaseMigration(migration) => migration::run(ctx, &migration, reference).await,
        Resource::DatabaseBackup(backup) => runs::run(ctx, backup.as_ref(), reference).await,
        Resource::DatabaseRestore(restore) => runs::run(ctx, restore.as_ref(), reference).await,
        Resource::DatabaseBackupSchedule(schedule) => schedule::run(ctx, &schedule, reference).await,
        _ => {
            unreachable!("invariant: own_flow is called for migrations, backups, restores and schedules only")
        }
    }
}

/// The requeue after a failed Kubernetes write: soon after a conflict (the next reconcile sees the fresh
/// object), with backoff otherwise.
pub fn error_policy<K: Managed>(object: Arc<K>, error: &Error, ctx: Arc<OperatorContext>) -> Action {
    if error.is_conflict() {
        return Action::requeue(Duration::from_secs(1));
    }
    Action::requeue(ctx.backoffs.after_api_error(&object_ref(object.as_ref())))
}

/// A requeue in `after`, or none.
fn action(after: Option<Duration>) -> Action {
    match after {
        Some(after) => Action::requeue(after),
        None => Action::await_change(),
    }
}
