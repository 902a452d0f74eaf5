//! Progress of a running Job, written into the object's status at most once per interval (server-side apply
//! of the whole status, as every status write of the operator: a partial apply by the same field manager
//! would drop the fields it leaves out).

use std::time::Duration;

use dbprov_backup::Progress;
use kube::Client;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::reconcile::kube_writes::write_status;
use crate::runs::{RunObject, set_progress};

/// Writes progress until stopped.
pub(crate) struct ProgressWriter {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl ProgressWriter {
    /// Starts writing the progress `receiver` sees into `running` (the status as written when the run
    /// started), every `interval` when it changed.
    pub fn start<K: RunObject>(
        client: Client,
        mut object: K,
        mut running: K::Status,
        mut receiver: watch::Receiver<Progress>,
        interval: Duration,
        label: String,
    ) -> Self {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    () = tokio::time::sleep(interval) => {}
                }
                if !receiver.has_changed().unwrap_or(false) {
                    continue;
                }
                let snapshot = receiver.borrow_and_update().clone();
                set_progress::<K>(&mut running, &snapshot);
                object.set_run_status(running.clone());
                // Progress is informative: a lost write is replaced by the next one or the final status.
                if let Err(error) = write_status(&client, &object, &object.to_resource(), &label).await {
                    tracing::warn!(
                        object = %label,
                        error = %dbprov_core::error::error_chain(&error),
                        "failed to write progress"
                    );
                }
            }
        });
        Self { stop, task }
    }

    /// Stops and waits: once this returns, no progress write can overtake the final status.
    pub async fn stop(self) {
        self.stop.cancel();
        if let Err(error) = self.task.await {
            tracing::warn!(error = %error, "the progress writer ended abnormally");
        }
    }
}
