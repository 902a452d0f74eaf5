//! Deleting an object that carries dbprov's (or db-provision-operator's) finalizer: protection, then the
//! objects that still need it, then the shared deletion (drop, revoke or release), then the finalizers.

use std::time::Duration;

use dbprov_api::Resource;
use dbprov_api::convert::deletion::deletion_settings;
use dbprov_api::v1alpha1::DatabaseInstanceSpec;
use dbprov_reconcile::deletion::delete;
use dbprov_reconcile::{Event, Failure, Mode, ObjectRef, Outcome};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::Reconciled;
use super::kube_writes::{write_finalizers, write_status};
use crate::annotations;
use crate::context::OperatorContext;
use crate::dependents::dependents;
use crate::error::Error;
use crate::events::{self, Action as EventAction};
use crate::finalizer;
use crate::hints;
use crate::kinds::Managed;
use crate::secrets::instance_secret_sources;
use crate::status;

/// How often a deletion waiting for dependents checks again (upstream's dependency wait).
const DEPENDENTS_WAIT: Duration = Duration::from_secs(10);

pub(super) async fn run<K: Managed>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
    id: &str,
) -> Result<Reconciled, Error> {
    let current = object.meta().finalizers.clone().unwrap_or_default();
    if !finalizer::is_guarded(&current, K::FINALIZERS) {
        // Not ours (or already cleaned up): the API server removes it once the other finalizers are done.
        return Ok(Reconciled {
            requeue_after: None,
            failure: None,
        });
    }
    let label = reference.to_string();
    let mut resource = object.to_resource();
    let force = annotations::force_delete(object.meta());
    let protected = deletion_settings(&resource).is_ok_and(|settings| settings.protected) && !force;

    if !protected && !force {
        let waiting_for = dependents(reference, &ctx.world.stores().dependent_kinds());
        if !waiting_for.is_empty() {
            let now = Time(k8s_openapi::jiff::Timestamp::now());
            status::record_dependents(&mut resource, &waiting_for, &now, id);
            write_status(&ctx.client, object, &resource, &label).await?;
            if let Some(phase) = status::phase(&resource) {
                ctx.metrics.phase(reference, phase);
            }
            let event = Event::warning("DeletionBlocked", status::dependents_message(&waiting_for));
            events::publish(
                &ctx.recorder,
                &object.object_ref(&()),
                &[event],
                EventAction::Delete,
            )
            .await;
            return Ok(Reconciled {
                requeue_after: Some(DEPENDENTS_WAIT),
                failure: Some(dbprov_api::conditions::reason::DEPENDENCIES_EXIST),
            });
        }
    }

    let (dctx, _secrets) = ctx.deletion_context();
    let outcome = delete(
        &dctx,
        &resource,
        status::created_by_dbprov(&resource),
        Mode::Apply,
    )
    .await;
    let reference_object = object.object_ref(&());
    match &outcome.failure {
        None => {
            after_release(ctx, object, &resource, reference, &outcome).await?;
            events::publish(
                &ctx.recorder,
                &reference_object,
                &outcome.events,
                EventAction::Delete,
            )
            .await;
            remove_finalizers(ctx, object, &current, &label).await?;
            Ok(Reconciled {
                requeue_after: None,
                failure: None,
            })
        }
        Some(failure) if force && !matches!(failure, Failure::DeletionProtected { .. }) => {
            // Upstream's force-delete contract: the finalizer goes even when the server side could not be
            // cleaned up; say so loudly.
            let mut published = outcome.events.clone();
            published.push(Event::warning(
                "ForceDeleted",
                format!("force-delete is set: removing the finalizer although deletion failed: {failure}"),
            ));
            events::publish(&ctx.recorder, &reference_object, &published, EventAction::Delete).await;
            remove_finalizers(ctx, object, &current, &label).await?;
            Ok(Reconciled {
                requeue_after: None,
                failure: Some(failure.reason()),
            })
        }
        Some(failure) => {
            let now = Time(k8s_openapi::jiff::Timestamp::now());
            status::record_deletion(&mut resource, &outcome, &now, id);
            write_status(&ctx.client, object, &resource, &label).await?;
            if let Some(phase) = status::phase(&resource) {
                ctx.metrics.phase(reference, phase);
            }
            events::publish(
                &ctx.recorder,
                &reference_object,
                &outcome.events,
                EventAction::Delete,
            )
            .await;
            tracing::info!(reason = failure.reason(), message = %failure, "deletion did not finish");
            let after = ctx.backoffs.after(reference, Some(failure), Duration::ZERO);
            Ok(Reconciled {
                requeue_after: after,
                failure: Some(failure.reason()),
            })
        }
    }
}

async fn remove_finalizers<K: Managed>(
    ctx: &OperatorContext,
    object: &K,
    current: &[String],
    label: &str,
) -> Result<(), Error> {
    if let Some(remaining) = finalizer::released(current, K::FINALIZERS) {
        write_finalizers(&ctx.client, object, &remaining, label).await?;
    }
    let reference = super::object_ref(object);
    ctx.metrics.forget(&reference);
    ctx.backoffs.reset(&reference);
    Ok(())
}

/// Cleanup once the server side is done: an instance's credentials copies (unless another instance uses the
/// same Secret); a released user's credentials Secret is detached from it so the credentials of a user that
/// stays on the server are not garbage-collected with the object.
async fn after_release<K: Managed>(
    ctx: &OperatorContext,
    object: &K,
    resource: &Resource,
    reference: &ObjectRef,
    outcome: &Outcome,
) -> Result<(), Error> {
    match resource {
        Resource::DatabaseInstance(_) | Resource::ClusterDatabaseInstance(_) => {
            let Some(spec) = instance_spec(resource) else {
                return Ok(());
            };
            let stores = ctx.world.stores();
            let mut in_use = Vec::new();
            for other in stores.instances.all() {
                let other_ref = super::object_ref(other.as_ref());
                if other_ref != *reference {
                    in_use.extend(instance_secret_sources(&other_ref, &other.spec));
                }
            }
            for other in stores.cluster_instances.all() {
                let other_ref = super::object_ref(other.as_ref());
                if other_ref != *reference {
                    in_use.extend(instance_secret_sources(&other_ref, &other.spec.0));
                }
            }
            for (namespace, name) in instance_secret_sources(reference, spec) {
                if in_use.contains(&(namespace.clone(), name.clone())) {
                    continue;
                }
                ctx.copies
                    .remove(&namespace, &name)
                    .await
                    .map_err(|source| Error::RemoveCopy {
                        secret: format!("{namespace}/{name}"),
                        source,
                    })?;
            }
            Ok(())
        }
        Resource::DatabaseUser(_) if !outcome.applied => {
            let (Some((namespace, name)), Some(uid)) =
                (hints::managed_credentials(resource), &object.meta().uid)
            else {
                return Ok(());
            };
            ctx.secrets
                .orphan(&namespace, &name, uid)
                .await
                .map_err(|source| Error::OrphanSecret {
                    secret: format!("{namespace}/{name}"),
                    source,
                })
        }
        _ => Ok(()),
    }
}

fn instance_spec(resource: &Resource) -> Option<&DatabaseInstanceSpec> {
    match resource {
        Resource::DatabaseInstance(instance) => Some(&instance.spec),
        Resource::ClusterDatabaseInstance(instance) => Some(&instance.spec.0),
        _ => None,
    }
}
