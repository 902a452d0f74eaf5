//! `dbprov operator`: the metrics/health server, leader election and the controllers.

use std::sync::Arc;

use anyhow::Context as _;
use dbprov_api::v1alpha1::DatabaseInstance;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio_util::sync::CancellationToken;

use crate::args::OperatorArgs;
use crate::http::{self, Readiness};
use crate::jobs::JobTemplate;
use crate::metrics::Metrics;
use crate::{controllers, leader};

/// Fails early, with the fix, when the CRDs are not installed.
async fn check_crds(client: &Client, namespaces: &[String]) -> anyhow::Result<()> {
    let api: Api<DatabaseInstance> = match namespaces.first() {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    };
    api.list(&ListParams::default().limit(1)).await.context(
        "cannot list DatabaseInstances: are the CRDs installed (`dbprov crds | kubectl apply -f -`) and may \
         the service account list them?",
    )?;
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
fn on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down: finishing the reconciles in progress");
        shutdown.cancel();
    });
    Ok(())
}

/// Runs the operator until SIGTERM or Ctrl-C. Logging is set up by the caller.
pub async fn run(args: OperatorArgs) -> anyhow::Result<()> {
    let client = Client::try_default().await.context(
        "cannot configure a Kubernetes client (no in-cluster service account and no usable KUBECONFIG)",
    )?;
    let namespaces = args.watched_namespaces();
    check_crds(&client, &namespaces).await?;
    let job_template = JobTemplate::discover(&client, &args.operator_namespace).await;
    let metrics = Arc::new(Metrics::new());
    let readiness = Arc::new(Readiness::default());
    let shutdown = CancellationToken::new();
    on_signal(shutdown.clone())?;
    let listener = http::bind(args.metrics_address).await?;
    let server = tokio::spawn(http::serve(
        listener,
        http::router(metrics.clone(), readiness.clone()),
        shutdown.clone(),
    ));
    tracing::info!(
        namespaces = %if namespaces.is_empty() { "all".to_owned() } else { namespaces.join(",") },
        metrics = %args.metrics_address,
        leader_election = args.leader_election,
        "starting the dbprov operator"
    );
    let result = if args.leader_election {
        leader::lead(
            client.clone(),
            &args.lease_namespace,
            &args.lease_name,
            &readiness,
            shutdown.clone(),
            |stop| {
                controllers::run(
                    client.clone(),
                    &namespaces,
                    &args.operator_namespace,
                    job_template.clone(),
                    metrics.clone(),
                    readiness.clone(),
                    stop,
                )
            },
        )
        .await
    } else {
        readiness.set_lease_known();
        readiness.set_leader(true);
        controllers::run(
            client.clone(),
            &namespaces,
            &args.operator_namespace,
            job_template.clone(),
            metrics.clone(),
            readiness.clone(),
            shutdown.clone(),
        )
        .await
    };
    shutdown.cancel();
    let served = server
        .await
        .context("the metrics and health server task panicked")?;
    result.and(served)
}
