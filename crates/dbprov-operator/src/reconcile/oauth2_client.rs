//! `OAuth2Client`: the shared `reconcile_oauth2_client` (clientdb's schema, the Secret written before the
//! registration, rotation on request). Deletion goes through the shared deletion like the other live kinds
//! (`finalize`): `deletionPolicy: Delete` removes the registration and the Secret.

use std::time::Duration;

use dbprov_api::v1alpha1::OAuth2Client;
use dbprov_reconcile::oauth2_client::{self, reconcile_oauth2_client};
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

/// How often a registered client is checked again (its Secret changing or going triggers sooner).
const CHECK_INTERVAL: Duration = Duration::from_secs(300);

pub(super) async fn run(
    ctx: &OperatorContext,
    client: &OAuth2Client,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    let label = reference.to_string();
    let current = client.finalizers().to_vec();
    if let Some(finalizers) = finalizer::adopted(&current, OAuth2Client::FINALIZERS) {
        write_finalizers(&ctx.client, client, &finalizers, &label).await?;
    }
    let previous = client.status.clone().unwrap_or_default();
    let (rctx, _secrets) = ctx.reconcile_context();
    let (outcome, state) = reconcile_oauth2_client(&rctx, client, &previous, Mode::Apply).await;

    let mut updated = client.clone();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    oauth2_client::status(
        updated.status.get_or_insert_with(Default::default),
        &outcome,
        &state,
        client.metadata.generation,
        &now,
    );
    let resource = updated.to_resource();
    write_status(&ctx.client, &updated, &resource, &label).await?;
    if let Some(phase) = status::phase(&resource) {
        ctx.metrics.phase(reference, phase);
    }
    events::publish(
        &ctx.recorder,
        &client.object_ref(&()),
        &outcome.events,
        EventAction::Reconcile,
    )
    .await;
    if let Some(failure) = &outcome.failure {
        tracing::info!(reason = failure.reason(), message = %failure, "OAuth2 client reconcile did not succeed");
    }
    Ok(Reconciled {
        requeue_after: ctx
            .backoffs
            .after(reference, outcome.failure.as_ref(), CHECK_INTERVAL),
        failure: outcome.failure.as_ref().map(Failure::reason),
    })
}
