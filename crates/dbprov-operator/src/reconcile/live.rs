//! Reconciling an object that is not being deleted.

use std::sync::Arc;
use std::time::Duration;

use dbprov_api::{Kind, Resource};
use dbprov_reconcile::{Failure, ObjectRef, Outcome, SecretStore, reconcile_instance};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::Reconciled;
use super::kube_writes::{write_finalizers, write_status};
use crate::annotations::ANNOTATION_PASSWORD_FINGERPRINT;
use crate::context::OperatorContext;
use crate::converge::{Item, converge};
use crate::error::Error;
use crate::events::{self, Action as EventAction};
use crate::finalizer;
use crate::hints;
use crate::kinds::Managed;
use crate::requeue::health_interval;
use crate::secrets::{ReadThrough, instance_secret_sources};
use crate::status;

/// How often objects without a drift interval of their own are checked (the default drift interval).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// What reconciling the server side produced.
struct ServerSide {
    outcome: Outcome,
    interval: Duration,
    secrets: Arc<ReadThrough>,
}

pub(super) async fn run<K: Managed>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
    id: &str,
) -> Result<Reconciled, Error> {
    let label = reference.to_string();
    let current = object.meta().finalizers.clone().unwrap_or_default();
    if let Some(finalizers) = finalizer::adopted(&current, K::FINALIZERS) {
        write_finalizers(&ctx.client, object, &finalizers, &label).await?;
    }

    let mut resource = object.to_resource();
    let was_ready = status::is_ready(&resource);
    let server = match K::KIND {
        Kind::DatabaseInstance | Kind::ClusterDatabaseInstance => instance(ctx, &resource, reference).await,
        _ => declared_object(ctx, &resource, reference).await,
    };
    let outcome = server.outcome;

    let now = Time(k8s_openapi::jiff::Timestamp::now());
    status::record(&mut resource, &outcome, &now, id);
    write_status(&ctx.client, object, &resource, &label).await?;
    if let Some(phase) = status::phase(&resource) {
        ctx.metrics.phase(reference, phase);
    }

    if outcome.is_ok() {
        match K::KIND {
            Kind::DatabaseInstance | Kind::ClusterDatabaseInstance => {
                copy_credentials(ctx, &resource, reference, &server.secrets).await?;
            }
            Kind::DatabaseUser => record_fingerprint(ctx, &resource, &outcome, &server.secrets).await?,
            _ => {}
        }
    }

    let events: Vec<_> = outcome
        .events
        .iter()
        // A health check that keeps succeeding is not news; reaching the server again is.
        .filter(|event| !(was_ready && event.reason == "Connected"))
        .cloned()
        .collect();
    events::publish(
        &ctx.recorder,
        &object.object_ref(&()),
        &events,
        EventAction::Reconcile,
    )
    .await;

    if let Some(failure) = &outcome.failure {
        tracing::info!(reason = failure.reason(), message = %failure, "reconcile did not succeed");
    }
    let after = ctx
        .backoffs
        .after(reference, outcome.failure.as_ref(), server.interval);
    Ok(Reconciled {
        requeue_after: after,
        failure: outcome.failure.as_ref().map(Failure::reason),
    })
}

/// An instance: connect, ping, read the version.
async fn instance(ctx: &OperatorContext, resource: &Resource, reference: &ObjectRef) -> ServerSide {
    let (rctx, secrets) = ctx.reconcile_context();
    let outcome = reconcile_instance(&rctx, reference).await;
    let interval = match resource {
        Resource::DatabaseInstance(object) => health_interval(&object.spec),
        Resource::ClusterDatabaseInstance(object) => health_interval(&object.spec.0),
        _ => DEFAULT_INTERVAL,
    };
    ServerSide {
        outcome,
        interval,
        secrets,
    }
}

/// A database, user, role or grant: through the same batched path a resync uses.
async fn declared_object(ctx: &OperatorContext, resource: &Resource, reference: &ObjectRef) -> ServerSide {
    let (rctx, secrets) = ctx.reconcile_context();
    let failed = |failure: Failure, secrets: Arc<ReadThrough>| ServerSide {
        outcome: Outcome::new(reference.clone()).failed(failure),
        interval: DEFAULT_INTERVAL,
        secrets,
    };
    let credentials = match hints::managed_credentials(resource) {
        Some((namespace, name)) => match secrets.get(&namespace, &name).await {
            Ok(stored) => stored,
            Err(error) => return failed(Failure::Source { error }, secrets),
        },
        None => None,
    };
    let hints = hints::hints(resource, credentials.as_ref());
    let index = match ctx
        .index
        .get(&rctx, ctx.world.stores().declarations_fingerprint())
        .await
    {
        Ok(index) => index,
        Err(failure) => return failed(failure, secrets),
    };
    let item = Item {
        resource: resource.clone(),
        hints,
    };
    let converged = converge(&rctx, &index, vec![item])
        .await
        .pop()
        .expect("invariant: converge returns one result per item");
    ServerSide {
        outcome: converged.outcome,
        interval: converged.drift_interval.unwrap_or(DEFAULT_INTERVAL),
        secrets,
    }
}

/// Keeps the operator's copies of the Secrets the instance connected with, for deletions that outlive them.
async fn copy_credentials(
    ctx: &OperatorContext,
    resource: &Resource,
    reference: &ObjectRef,
    secrets: &ReadThrough,
) -> Result<(), Error> {
    let spec = match resource {
        Resource::DatabaseInstance(object) => &object.spec,
        Resource::ClusterDatabaseInstance(object) => &object.spec.0,
        _ => return Ok(()),
    };
    for (namespace, name) in instance_secret_sources(reference, spec) {
        // The reconcile just read them; a Secret it did not read (none configured) has nothing to copy.
        let Some(Some(source)) = secrets.seen(&namespace, &name) else {
            continue;
        };
        ctx.copies
            .refresh(&namespace, &name, &source)
            .await
            .map_err(|source| Error::CopyCredentials {
                object: reference.to_string(),
                secret: format!("{namespace}/{name}"),
                source,
            })?;
    }
    Ok(())
}

/// Records on the managed credentials Secret the fingerprint of the password now set on the server.
async fn record_fingerprint(
    ctx: &OperatorContext,
    resource: &Resource,
    outcome: &Outcome,
    secrets: &ReadThrough,
) -> Result<(), Error> {
    let (Some((namespace, name)), Some(fingerprint)) = (
        hints::managed_credentials(resource),
        &outcome.password_fingerprint,
    ) else {
        return Ok(());
    };
    let recorded = secrets
        .seen(&namespace, &name)
        .flatten()
        .and_then(|stored| hints::recorded_fingerprint(&stored));
    if recorded.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    ctx.secrets
        .annotate(&namespace, &name, ANNOTATION_PASSWORD_FINGERPRINT, fingerprint)
        .await
        .map_err(|source| Error::WriteFingerprint {
            secret: format!("{namespace}/{name}"),
            source,
        })
}
