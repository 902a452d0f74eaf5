//! Leader election with `kube-lease-manager`: only the replica holding the lease runs the controllers;
//! losing the lease stops them (and the replica waits to lead again).

use std::future::Future;

use anyhow::Context as _;
use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tokio_util::sync::CancellationToken;

use crate::http::Readiness;

/// Seconds a lease stays valid without renewal: a crashed leader is replaced within this.
const LEASE_SECONDS: u64 = 15;
/// The leader renews this many seconds before its lease expires (also the clock skew tolerated).
const GRACE_SECONDS: u64 = 5;

/// This replica's identity: the pod name (or host name) and process id, plus randomness so a restarted
/// process never mistakes an old lease for its own.
fn identity() -> String {
    let host = std::env::var("POD_NAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "dbprov-operator".to_owned());
    let mut random = [0u8; 4];
    // Uniqueness comes from the host and pid; the random part only guards against pid reuse.
    let _ = getrandom::fill(&mut random);
    format!("{host}-{}-{}", std::process::id(), hex::encode(random))
}

/// Runs `work` whenever this replica holds the lease, with a token cancelled when the lease is lost or
/// `shutdown` is cancelled; returns after `shutdown`, releasing the lease.
pub async fn lead<F, Fut>(
    client: Client,
    namespace: &str,
    name: &str,
    readiness: &Readiness,
    shutdown: CancellationToken,
    mut work: F,
) -> anyhow::Result<()>
where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let identity = identity();
    let manager = LeaseManagerBuilder::new(client, name)
        .with_namespace(namespace)
        .with_identity(identity.clone())
        .with_duration(LEASE_SECONDS)
        .with_grace(GRACE_SECONDS)
        .build()
        .await
        .with_context(|| format!("cannot read or create the lease {namespace}/{name}"))?;
    readiness.set_lease_known();
    tracing::info!(lease = %format!("{namespace}/{name}"), %identity, "waiting for the leader-election lease");
    let (leading, task) = manager.watch().await;
    let outcome = async {
        loop {
            let mut waiting = leading.clone();
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                acquired = waiting.wait_for(|leader| *leader) => {
                    acquired.context("the leader-election task stopped")?;
                }
            }
            tracing::info!("acquired the lease; starting the controllers");
            readiness.set_leader(true);
            let stop = shutdown.child_token();
            let mut watching = leading.clone();
            let lost = {
                let stop = stop.clone();
                tokio::spawn(async move {
                    // A closed channel means the lease task died: without a lease, stop too.
                    let _ = watching.wait_for(|leader| !*leader).await;
                    stop.cancel();
                })
            };
            let result = work(stop.clone()).await;
            lost.abort();
            readiness.set_leader(false);
            result?;
            if shutdown.is_cancelled() {
                return Ok(());
            }
            tracing::warn!("lost the lease; the controllers stopped until this replica leads again");
        }
    }
    .await;
    // Dropping the last receiver makes the lease task release the lease and exit.
    drop(leading);
    match task.await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => tracing::warn!(error = %error, "failed to release the lease"),
        Err(error) => tracing::warn!(error = %error, "the leader-election task panicked"),
    }
    outcome
}
