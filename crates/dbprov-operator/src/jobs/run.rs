//! Inside a backup, restore or prune Job (`dbprov job`): read the object through the API, mark it running, run
//! the shared reconciler with progress written to the status, write the final status and exit non-zero when
//! the run failed (so the Job fails too). SIGTERM (the Job deleted, or past its deadline) stops the run: the
//! backup library discards a partial artifact, and the status says the run was interrupted.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use dbprov_api::v1alpha1::{DatabaseBackup, DatabaseRestore, RunPhase};
use dbprov_backup::{Progress, ToolLocator};
use dbprov_reconcile::backup_settings::BackupEnvironment;
use dbprov_reconcile::schedule::prune;
use dbprov_reconcile::{Context, EngineCache, Event, SecretStore};
use kube::Client;
use kube::Resource as _;
use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::context::REPORTER;
use crate::events::{self, Action as EventAction};
use crate::jobs::args::{JobArgs, JobKind};
use crate::jobs::progress::ProgressWriter;
use crate::jobs::template::ENV_POD_NAME;
use crate::reconcile::kube_writes::write_status;
use crate::runs::decide::REASON_INTERRUPTED;
use crate::runs::{RunObject, mark_running, record, view};
use crate::secrets::{KubeSecrets, ReadThrough};
use crate::world::KubeWorld;

/// Attempts at writing the final status: losing it would leave a finished run looking unfinished.
const FINAL_WRITE_ATTEMPTS: u32 = 3;
const FINAL_WRITE_PAUSE: Duration = Duration::from_secs(2);

/// `dbprov job`: runs in a Job's pod with the operator's service account. Logging is set up by the caller.
pub async fn run_job(args: JobArgs) -> anyhow::Result<()> {
    let client = Client::try_default()
        .await
        .context("cannot configure a Kubernetes client (no service account token in the Job's pod?)")?;
    let cancel = CancellationToken::new();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::warn!("stopping: the run is cancelled");
        stop.cancel();
    });
    run_job_with(client, &args, cancel).await
}

/// The Job's work with a given client; `cancel` stops it as SIGTERM does.
pub async fn run_job_with(client: Client, args: &JobArgs, cancel: CancellationToken) -> anyhow::Result<()> {
    let secrets: Arc<dyn SecretStore> =
        Arc::new(ReadThrough::new(Arc::new(KubeSecrets::new(client.clone()))));
    let ctx = Context {
        source: Arc::new(KubeWorld::uncached(client.clone())),
        secrets,
        engines: EngineCache::default(),
    };
    let env = BackupEnvironment {
        tools: ToolLocator::system(),
        pvc_root: Some(args.pvc_root.clone()),
    };
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: REPORTER.to_owned(),
            instance: std::env::var(ENV_POD_NAME)
                .or_else(|_| std::env::var("HOSTNAME"))
                .ok(),
        },
    );
    let job = Job {
        client: &client,
        ctx: &ctx,
        env: &env,
        args,
        recorder: &recorder,
    };
    let result = match (args.kind, args.prune_artifact) {
        (JobKind::DatabaseBackup, true) => job.prune_artifact().await,
        (JobKind::DatabaseBackup, false) => job.run::<DatabaseBackup>(cancel).await,
        (JobKind::DatabaseRestore, false) => job.run::<DatabaseRestore>(cancel).await,
        (JobKind::DatabaseRestore, true) => Err(anyhow!("--prune-artifact applies to DatabaseBackup only")),
    };
    ctx.engines.close_all().await;
    result
}

struct Job<'a> {
    client: &'a Client,
    ctx: &'a Context,
    env: &'a BackupEnvironment,
    args: &'a JobArgs,
    recorder: &'a Recorder,
}

impl Job<'_> {
    fn label(&self) -> String {
        format!(
            "{} {}/{}",
            self.args.kind.as_str(),
            self.args.namespace,
            self.args.name
        )
    }

    async fn read<K: RunObject>(&self) -> anyhow::Result<K> {
        K::api(self.client.clone(), Some(&self.args.namespace))
            .get(&self.args.name)
            .await
            .with_context(|| format!("cannot read {}", self.label()))
    }

    async fn run<K: RunObject>(&self, cancel: CancellationToken) -> anyhow::Result<()> {
        let label = self.label();
        let object: K = self.read().await?;
        let generation = object.meta().generation;
        if let Some(expected) = self.args.generation
            && generation != Some(expected)
        {
            bail!(
                "{label} changed since its job was created (generation {} now, {expected} then); the operator \
                 starts a job for the new declaration",
                generation.unwrap_or_default()
            );
        }
        if object.meta().deletion_timestamp.is_some() {
            bail!("{label} is being deleted; the {} does not start", K::NOUN);
        }
        let previous = object.run_status().cloned();
        if view::<K>(previous.as_ref()).phase == Some(RunPhase::Completed) {
            tracing::info!(object = %label, "completed already; nothing to do");
            return Ok(());
        }
        let mut running = previous.unwrap_or_default();
        mark_running::<K>(&mut running, generation);
        let mut current = object.clone();
        current.set_run_status(running.clone());
        write_status(self.client, &current, &current.to_resource(), &label)
            .await
            .with_context(|| format!("cannot record that the {} of {label} started", K::NOUN))?;
        tracing::info!(object = %label, "started");

        let (sender, receiver) = watch::channel(Progress::default());
        let writer = ProgressWriter::start(
            self.client.clone(),
            current.clone(),
            running.clone(),
            receiver,
            Duration::from_secs(self.args.progress_interval_seconds.max(1)),
            label.clone(),
        );
        let finished = tokio::select! {
            finished = object.execute(self.ctx, Some(&running), self.env, Some(sender)) => Some(finished),
            () = cancel.cancelled() => None,
        };
        writer.stop().await;

        let (status, published, failure) = match finished {
            Some((outcome, status)) => {
                let failure = outcome
                    .failure
                    .as_ref()
                    .map(|failure| (failure.reason(), failure.to_string()));
                (status, outcome.events, failure)
            }
            None => {
                let mut status = running;
                record::<K>(
                    &mut status,
                    RunPhase::Failed,
                    REASON_INTERRUPTED,
                    K::INTERRUPTED,
                    generation,
                );
                let event = Event::warning(REASON_INTERRUPTED, K::INTERRUPTED);
                (
                    status,
                    vec![event],
                    Some((REASON_INTERRUPTED, K::INTERRUPTED.to_owned())),
                )
            }
        };
        current.set_run_status(status);
        self.write_final(&current, &label).await?;
        events::publish(
            self.recorder,
            &current.object_ref(&()),
            &published,
            EventAction::Reconcile,
        )
        .await;
        match failure {
            None => {
                tracing::info!(object = %label, "completed");
                Ok(())
            }
            Some((reason, message)) => {
                Err(anyhow!("the {} of {label} failed ({reason}): {message}", K::NOUN))
            }
        }
    }

    async fn write_final<K: RunObject>(&self, object: &K, label: &str) -> anyhow::Result<()> {
        let mut attempt = 1;
        loop {
            match write_status(self.client, object, &object.to_resource(), label).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < FINAL_WRITE_ATTEMPTS => {
                    tracing::warn!(
                        object = %label,
                        attempt,
                        error = %dbprov_core::error::error_chain(&error),
                        "failed to write the final status; retrying"
                    );
                    attempt += 1;
                    tokio::time::sleep(FINAL_WRITE_PAUSE).await;
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot record the result of {label}"));
                }
            }
        }
    }

    /// Deletes the artifact of a backup that retention removes (the backup's deletion waits for this Job).
    async fn prune_artifact(&self) -> anyhow::Result<()> {
        let label = self.label();
        let backup: DatabaseBackup = self.read().await?;
        let deleted = prune(self.ctx, self.env, &[&backup])
            .await
            .map_err(|failure| anyhow!("cannot delete the artifact of {label}: {failure}"))?;
        if deleted.is_empty() {
            tracing::info!(object = %label, "no artifact recorded; nothing to delete");
            return Ok(());
        }
        tracing::info!(object = %label, artifacts = ?deleted, "deleted");
        let event = Event::normal(
            "ArtifactDeleted",
            format!("deleted {} (retention)", deleted.join(", ")),
        );
        events::publish(
            self.recorder,
            &backup.object_ref(&()),
            &[event],
            EventAction::Delete,
        )
        .await;
        Ok(())
    }
}
