//! `DatabaseMigration`: the shared `reconcile_migration` (golang-migrate's files and table), with sources from
//! ConfigMaps read through the API. The status records the version, dirtiness and every applied file with
//! its checksum. A failed migration is retried with backoff, except a dirty database, which waits for a
//! change (someone must `force` it first). Deleting the object never rolls the schema back.

use std::time::Duration;

use dbprov_api::v1alpha1::DatabaseMigration;
use dbprov_reconcile::migration::reconcile_migration;
use dbprov_reconcile::{Failure, Mode, ObjectRef};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Resource as _, ResourceExt};

use super::Reconciled;
use super::kube_writes::{write_finalizers, write_status};
use crate::context::OperatorContext;
use crate::error::Error;
use crate::events::{self, Action as EventAction};
use crate::finalizer;
use crate::kinds::Managed;
use crate::status;

/// How often an applied migration is checked again (a source ConfigMap that changes triggers sooner).
const CHECK_INTERVAL: Duration = Duration::from_secs(300);

pub(super) async fn run(
    ctx: &OperatorContext,
    migration: &DatabaseMigration,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    let label = reference.to_string();
    let current = migration.finalizers().to_vec();
    if migration.metadata.deletion_timestamp.is_some() {
        // Nothing to undo on the server: the schema stays as it is.
        if let Some(remaining) = finalizer::released(&current, DatabaseMigration::FINALIZERS) {
            write_finalizers(&ctx.client, migration, &remaining, &label).await?;
        }
        ctx.metrics.forget(reference);
        ctx.backoffs.reset(reference);
        return Ok(Reconciled {
            requeue_after: None,
            failure: None,
        });
    }
    if let Some(finalizers) = finalizer::adopted(&current, DatabaseMigration::FINALIZERS) {
        write_finalizers(&ctx.client, migration, &finalizers, &label).await?;
    }

    let recorded = migration
        .status
        .as_ref()
        .map(|status| status.applied.clone())
        .unwrap_or_default();
    let (rctx, _secrets) = ctx.reconcile_context();
    let (outcome, state) = reconcile_migration(&rctx, migration, &recorded, Mode::Apply).await;

    let mut updated = migration.clone();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    dbprov_reconcile::status::migration(
        updated.status.get_or_insert_with(Default::default),
        &outcome,
        &state,
        migration.metadata.generation,
        &now,
    );
    let resource = updated.to_resource();
    write_status(&ctx.client, &updated, &resource, &label).await?;
    if let Some(phase) = status::phase(&resource) {
        ctx.metrics.phase(reference, phase);
    }
    events::publish(
        &ctx.recorder,
        &migration.object_ref(&()),
        &outcome.events,
        EventAction::Reconcile,
    )
    .await;
    if let Some(failure) = &outcome.failure {
        tracing::info!(reason = failure.reason(), message = %failure, "migration did not succeed");
    }
    Ok(Reconciled {
        requeue_after: ctx
            .backoffs
            .after(reference, outcome.failure.as_ref(), CHECK_INTERVAL),
        failure: outcome.failure.as_ref().map(Failure::reason),
    })
}
