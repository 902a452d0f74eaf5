//! Backups and restores: the controller creates the generation's Job once (after checking what the Job
//! would check first, so a run that cannot start fails without one), waits while it runs, and mirrors what
//! its pod could not report. It never marks a run `Completed`: only the pod's final status does.
//!
//! Deleting an object stops its running Job (foreground deletion: the finalizer goes once the Job and its
//! pod are gone, and the backup library never leaves a partial artifact that looks whole). A backup that a
//! schedule's retention deletes (annotated `delete-artifact`) has its artifact deleted by a prune Job first;
//! so has a backup outside any schedule whose `ttl` passed (its controller deletes it then).

use std::time::Duration;

use dbprov_api::v1alpha1::{Phase, RunPhase};
use dbprov_reconcile::{Event, ObjectRef};
use kube::ResourceExt;

use super::Reconciled;
use super::kube_writes::{delete_backup, write_finalizers, write_status};
use crate::annotations;
use crate::context::OperatorContext;
use crate::error::Error;
use crate::events::{self, Action as EventAction};
use crate::finalizer;
use crate::jobs::{self, DEFAULT_PVC_ROOT, JobAction, JobKind, JobRequest, JobState, JobSummary, build_job};
use crate::runs::decide::{REASON_JOB_CREATED, REASON_JOB_LOST};
use crate::runs::{Decision, RunObject, decide, record, view};

/// While a Job runs its own changes trigger reconciles; this is the safety net.
const RUNNING_CHECK: Duration = Duration::from_secs(300);
/// A deletion waiting for a Job's pod to stop.
const STOPPING_CHECK: Duration = Duration::from_secs(2);
/// A deletion waiting for its prune Job (which has no owner, so its changes do not trigger reconciles).
const PRUNE_CHECK: Duration = Duration::from_secs(5);
/// The operator's image is unknown: nothing changes that without a restart, but check now and then.
const NO_IMAGE_CHECK: Duration = Duration::from_secs(300);
/// The longest wait for a `ttl` to pass (a long one is checked again now and then, clocks change).
const EXPIRY_CHECK: Duration = Duration::from_secs(3600);
/// The event when a backup's `ttl` passed.
const REASON_EXPIRED: &str = "Expired";
/// The reason when no Job can be built because the operator's image is unknown.
const REASON_NO_IMAGE: &str = "JobImageUnknown";

fn namespace_of<K: RunObject>(object: &K) -> String {
    object.namespace().unwrap_or_else(|| "default".to_owned())
}

/// The phase gauge of a run: `Running` counts as `Creating`, `Completed` as `Ready`.
fn metric_phase(phase: RunPhase) -> Phase {
    match phase {
        RunPhase::Pending => Phase::Pending,
        RunPhase::Running => Phase::Creating,
        RunPhase::Completed => Phase::Ready,
        RunPhase::Failed => Phase::Failed,
    }
}

fn done() -> Reconciled {
    Reconciled {
        requeue_after: None,
        failure: None,
    }
}

pub(super) async fn run<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    if object.meta().deletion_timestamp.is_some() {
        return finalize(ctx, object, reference).await;
    }
    let label = reference.to_string();
    let current = object.finalizers().to_vec();
    if let Some(finalizers) = finalizer::adopted(&current, K::FINALIZERS) {
        write_finalizers(&ctx.client, object, &finalizers, &label).await?;
    }
    let generation = object.meta().generation;
    let cached = view::<K>(object.run_status());
    if let Some(phase) = cached.phase {
        ctx.metrics.phase(reference, metric_phase(phase));
    }
    if cached.is_final(generation) {
        return expire(ctx, object, reference).await;
    }
    let Some(uid) = object.uid() else {
        // Objects read from the API server always have one; without it no Job can be tied to the object.
        return Ok(done());
    };
    let namespace = namespace_of(object);
    let jobs = jobs::jobs_of(&ctx.client, &namespace, &uid)
        .await
        .map_err(|source| Error::ListJobs {
            object: label.clone(),
            source,
        })?;
    let mut decision = decide(&cached, generation, &jobs);
    let mut fresh = None;
    if matches!(decision, Decision::Mirror { .. } | Decision::Lost) {
        // The pod writes the status, and the cache may not hold its last write yet: decide on the stored one.
        let stored: K = K::api(ctx.client.clone(), Some(&namespace))
            .get(&object.name_any())
            .await
            .map_err(|source| Error::ReadObject {
                object: label.clone(),
                source,
            })?;
        decision = decide(&view::<K>(stored.run_status()), generation, &jobs);
        fresh = Some(stored);
    }
    let latest = fresh.as_ref().unwrap_or(object);
    match decision {
        Decision::Done => Ok(done()),
        Decision::Wait { job } => {
            tracing::debug!(%job, "the job runs");
            Ok(Reconciled {
                requeue_after: Some(RUNNING_CHECK),
                failure: None,
            })
        }
        Decision::Mirror {
            job: _,
            reason,
            message,
        } => fail(ctx, latest, reference, reason, message).await,
        Decision::Lost => {
            let message = format!(
                "the Job running this {} disappeared before it reported a result; the {} did not complete \
                 (apply a changed spec to run it again)",
                K::NOUN,
                K::NOUN
            );
            fail(ctx, latest, reference, REASON_JOB_LOST, message).await
        }
        Decision::Start => start(ctx, object, reference, &namespace, &uid).await,
    }
}

/// A completed backup past its `ttl` is deleted with its artifact (the deletion runs a prune Job first); one
/// not expired yet is looked at again when it expires.
async fn expire<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    let Some(expires_at) = object.expires_at() else {
        return Ok(done());
    };
    let now = chrono::Utc::now();
    if expires_at > now {
        let wait = (expires_at - now).to_std().unwrap_or_default() + Duration::from_secs(1);
        return Ok(Reconciled {
            requeue_after: Some(wait.min(EXPIRY_CHECK)),
            failure: None,
        });
    }
    let api = K::api(ctx.client.clone(), Some(&namespace_of(object)));
    delete_backup(&api, &object.name_any(), true)
        .await
        .map_err(|source| Error::DeleteExpired {
            object: reference.to_string(),
            source,
        })?;
    events::publish(
        &ctx.recorder,
        &object.object_ref(&()),
        &[Event::normal(
            REASON_EXPIRED,
            format!(
                "the {} passed its ttl at {}: deleting it and its artifact",
                K::NOUN,
                expires_at.to_rfc3339()
            ),
        )],
        EventAction::Reconcile,
    )
    .await;
    Ok(done())
}

/// Writes `status` and records its phase.
async fn write<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    status: K::Status,
    reference: &ObjectRef,
) -> Result<(), Error> {
    let mut updated = object.clone();
    updated.set_run_status(status);
    write_status(
        &ctx.client,
        &updated,
        &updated.to_resource(),
        &reference.to_string(),
    )
    .await?;
    if let Some(phase) = view::<K>(updated.run_status()).phase {
        ctx.metrics.phase(reference, metric_phase(phase));
    }
    Ok(())
}

/// Records a failure the pod could not report (final for this generation).
async fn fail<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
    reason: &'static str,
    message: String,
) -> Result<Reconciled, Error> {
    let mut status = object.run_status().cloned().unwrap_or_default();
    record::<K>(
        &mut status,
        RunPhase::Failed,
        reason,
        message.clone(),
        object.meta().generation,
    );
    write(ctx, object, status, reference).await?;
    events::publish(
        &ctx.recorder,
        &object.object_ref(&()),
        &[Event::warning(reason, message)],
        EventAction::Reconcile,
    )
    .await;
    Ok(Reconciled {
        requeue_after: None,
        failure: Some(reason),
    })
}

/// Checks the object and creates the Job of its generation.
async fn start<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
    namespace: &str,
    uid: &str,
) -> Result<Reconciled, Error> {
    let generation = object.meta().generation;
    let mut status = object.run_status().cloned().unwrap_or_default();
    let (rctx, _secrets) = ctx.reconcile_context();
    let claims = match object.preflight(&rctx).await {
        Ok(claims) => claims,
        Err(failure) => {
            // An invalid spec fails this generation; anything that may resolve itself keeps it pending.
            let phase = if failure.requeue_after().is_none() {
                RunPhase::Failed
            } else {
                RunPhase::Pending
            };
            record::<K>(
                &mut status,
                phase,
                failure.reason(),
                failure.to_string(),
                generation,
            );
            write(ctx, object, status, reference).await?;
            events::publish(
                &ctx.recorder,
                &object.object_ref(&()),
                &[Event::warning(failure.reason(), failure.to_string())],
                EventAction::Reconcile,
            )
            .await;
            tracing::info!(reason = failure.reason(), message = %failure, "the run cannot start");
            return Ok(Reconciled {
                requeue_after: ctx.backoffs.after(reference, Some(&failure), Duration::ZERO),
                failure: Some(failure.reason()),
            });
        }
    };
    let request = JobRequest {
        action: K::ACTION,
        kind: K::JOB_KIND,
        namespace: namespace.to_owned(),
        name: object.name_any(),
        uid: uid.to_owned(),
        generation,
        deadline_seconds: object.deadline_seconds(),
        claims,
        pvc_root: DEFAULT_PVC_ROOT.to_owned(),
    };
    let job = match build_job(&ctx.job_template, &request) {
        Ok(job) => job,
        Err(error) => {
            record::<K>(
                &mut status,
                RunPhase::Pending,
                REASON_NO_IMAGE,
                error.to_string(),
                generation,
            );
            write(ctx, object, status, reference).await?;
            events::publish(
                &ctx.recorder,
                &object.object_ref(&()),
                &[Event::warning(REASON_NO_IMAGE, error.to_string())],
                EventAction::Reconcile,
            )
            .await;
            return Ok(Reconciled {
                requeue_after: Some(NO_IMAGE_CHECK),
                failure: Some(REASON_NO_IMAGE),
            });
        }
    };
    let name = job.metadata.name.clone().unwrap_or_default();
    jobs::create(&ctx.client, &job)
        .await
        .map_err(|source| Error::CreateJob {
            object: reference.to_string(),
            job: name.clone(),
            source,
        })?;
    record::<K>(
        &mut status,
        RunPhase::Pending,
        REASON_JOB_CREATED,
        format!("the {} runs in job {name}", K::NOUN),
        generation,
    );
    write(ctx, object, status, reference).await?;
    events::publish(
        &ctx.recorder,
        &object.object_ref(&()),
        &[Event::normal(
            REASON_JOB_CREATED,
            format!("created job {name} to run the {}", K::NOUN),
        )],
        EventAction::Reconcile,
    )
    .await;
    ctx.backoffs.reset(reference);
    Ok(Reconciled {
        requeue_after: Some(RUNNING_CHECK),
        failure: None,
    })
}

/// What the artifact deletion of a pruned backup needs next.
enum Prune {
    Done,
    Wait,
    Failed(Duration),
}

async fn finalize<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
) -> Result<Reconciled, Error> {
    let current = object.finalizers().to_vec();
    if !finalizer::is_guarded(&current, K::FINALIZERS) {
        return Ok(done());
    }
    let label = reference.to_string();
    let namespace = namespace_of(object);
    let jobs = match object.uid() {
        Some(uid) => jobs::jobs_of(&ctx.client, &namespace, &uid)
            .await
            .map_err(|source| Error::ListJobs {
                object: label.clone(),
                source,
            })?,
        None => Vec::new(),
    };

    // A running run is stopped first; the finalizer stays until its Job (and so its pod) is gone.
    let running: Vec<&JobSummary> = jobs
        .iter()
        .filter(|job| matches!(job.action, Some(JobAction::Backup | JobAction::Restore)))
        .filter(|job| !job.state.is_finished())
        .collect();
    if !running.is_empty() {
        for job in running.iter().filter(|job| !job.deleting) {
            jobs::delete_foreground(&ctx.client, &namespace, &job.name)
                .await
                .map_err(|source| Error::DeleteJob {
                    object: label.clone(),
                    job: job.name.clone(),
                    source,
                })?;
            let event = Event::normal(
                "JobDeleted",
                format!("deleting job {}: the running {} is cancelled", job.name, K::NOUN),
            );
            events::publish(
                &ctx.recorder,
                &object.object_ref(&()),
                &[event],
                EventAction::Delete,
            )
            .await;
        }
        return Ok(Reconciled {
            requeue_after: Some(STOPPING_CHECK),
            failure: None,
        });
    }

    if let Some(claims) = object.artifact_to_prune() {
        match prune(ctx, object, reference, &namespace, &jobs, claims).await? {
            Prune::Done => {}
            Prune::Wait => {
                return Ok(Reconciled {
                    requeue_after: Some(PRUNE_CHECK),
                    failure: None,
                });
            }
            Prune::Failed(after) if !annotations::force_delete(object.meta()) => {
                return Ok(Reconciled {
                    requeue_after: Some(after),
                    failure: Some("PruneFailed"),
                });
            }
            Prune::Failed(_) => {
                let event = Event::warning(
                    "ForceDeleted",
                    "force-delete is set: removing the finalizer although the artifact could not be deleted",
                );
                events::publish(
                    &ctx.recorder,
                    &object.object_ref(&()),
                    &[event],
                    EventAction::Delete,
                )
                .await;
            }
        }
    }

    if let Some(remaining) = finalizer::released(&current, K::FINALIZERS) {
        write_finalizers(&ctx.client, object, &remaining, &label).await?;
    }
    ctx.metrics.forget(reference);
    ctx.backoffs.reset(reference);
    Ok(done())
}

/// Deletes the artifact through a prune Job (which mounts the backup's claim, reads its S3 credentials and
/// runs the same `prune` as `dbprov schedule tick`).
async fn prune<K: RunObject>(
    ctx: &OperatorContext,
    object: &K,
    reference: &ObjectRef,
    namespace: &str,
    jobs: &[JobSummary],
    claims: Vec<jobs::ClaimMount>,
) -> Result<Prune, Error> {
    let label = reference.to_string();
    let prunes: Vec<&JobSummary> = jobs
        .iter()
        .filter(|job| job.action == Some(JobAction::Prune))
        .collect();
    if prunes.iter().any(|job| job.state == JobState::Succeeded) {
        return Ok(Prune::Done);
    }
    if prunes.iter().any(|job| !job.state.is_finished() || job.deleting) {
        return Ok(Prune::Wait);
    }
    let publish = |event: Event| {
        let reference = object.object_ref(&());
        async move {
            events::publish(&ctx.recorder, &reference, &[event], EventAction::Delete).await;
        }
    };
    if let Some(failed) = prunes.first() {
        // Its name is taken: it goes, and the next attempt creates it again.
        jobs::delete_foreground(&ctx.client, namespace, &failed.name)
            .await
            .map_err(|source| Error::DeleteJob {
                object: label.clone(),
                job: failed.name.clone(),
                source,
            })?;
        let why = match &failed.state {
            JobState::Failed { reason, message } => format!("{reason}: {message}"),
            _ => String::new(),
        };
        publish(Event::warning(
            "PruneFailed",
            format!(
                "job {} could not delete the artifact ({why}); see its pod's logs; retrying",
                failed.name
            ),
        ))
        .await;
        return Ok(Prune::Failed(ctx.backoffs.after_api_error(reference)));
    }
    let Some(uid) = object.uid() else {
        return Ok(Prune::Done);
    };
    let request = JobRequest {
        action: JobAction::Prune,
        kind: JobKind::DatabaseBackup,
        namespace: namespace.to_owned(),
        name: object.name_any(),
        uid,
        generation: None,
        deadline_seconds: 0,
        claims,
        pvc_root: DEFAULT_PVC_ROOT.to_owned(),
    };
    let job = match build_job(&ctx.job_template, &request) {
        Ok(job) => job,
        Err(error) => {
            publish(Event::warning(REASON_NO_IMAGE, error.to_string())).await;
            return Ok(Prune::Failed(NO_IMAGE_CHECK));
        }
    };
    let name = job.metadata.name.clone().unwrap_or_default();
    jobs::create(&ctx.client, &job)
        .await
        .map_err(|source| Error::CreateJob {
            object: label,
            job: name.clone(),
            source,
        })?;
    publish(Event::normal(
        "PruningArtifact",
        format!("created job {name} to delete the artifact before the object goes"),
    ))
    .await;
    Ok(Prune::Wait)
}
