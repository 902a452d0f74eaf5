//! `/metrics` (Prometheus text format), `/healthz` (the process answers) and `/readyz` (the lease state is
//! known and, on the leader, every cache has synced).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// What `/readyz` reports on.
#[derive(Default)]
pub struct Readiness {
    lease_known: AtomicBool,
    leader: AtomicBool,
    caches_synced: AtomicBool,
}

impl Readiness {
    /// The lease has been read: this replica knows whether it leads.
    pub fn set_lease_known(&self) {
        self.lease_known.store(true, Ordering::SeqCst);
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
        if !leader {
            self.caches_synced.store(false, Ordering::SeqCst);
        }
    }

    pub fn set_caches_synced(&self, synced: bool) {
        self.caches_synced.store(synced, Ordering::SeqCst);
    }

    /// `None` when ready, otherwise why not.
    pub fn not_ready_reason(&self) -> Option<&'static str> {
        if !self.lease_known.load(Ordering::SeqCst) {
            return Some("the leader-election lease has not been read yet");
        }
        // A standby replica is ready: it is healthy and waiting to take over.
        if self.leader.load(Ordering::SeqCst) && !self.caches_synced.load(Ordering::SeqCst) {
            return Some("the caches have not synced yet");
        }
        None
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
}

async fn metrics(State(shared): State<Shared>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(shared): State<Shared>) -> (StatusCode, String) {
    match shared.readiness.not_ready_reason() {
        None => (StatusCode::OK, "ok\n".to_owned()),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {reason}\n")),
    }
}

pub fn router(metrics_registry: Arc<Metrics>, readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Shared {
            metrics: metrics_registry,
            readiness,
        })
}

/// Binds the address (so a taken port fails the start, not a background task).
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for /metrics, /healthz and /readyz"))
}

/// Serves until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("the metrics and health server failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_needs_the_lease_and_on_the_leader_synced_caches() {
        let readiness = Readiness::default();
        assert!(readiness.not_ready_reason().is_some());
        readiness.set_lease_known();
        assert_eq!(readiness.not_ready_reason(), None, "a standby is ready");
        readiness.set_leader(true);
        assert_eq!(
            readiness.not_ready_reason(),
            Some("the caches have not synced yet")
        );
        readiness.set_caches_synced(true);
        assert_eq!(readiness.not_ready_reason(), None);
        readiness.set_leader(false);
        readiness.set_leader(true);
        assert!(readiness.not_ready_reason().is_some(), "a new term syncs again");
    }

    #[tokio::test]
    async fn endpoints_answer_over_http() {
        let metrics = Arc::new(Metrics::new());
        metrics.reconciled(
            dbprov_api::Kind::Database,
            std::time::Duration::from_millis(5),
            None,
        );
        let readiness = Arc::new(Readiness::default());
        let listener = bind("127.0.0.1:0".parse().expect("address")).await.expect("bind");
        let address = listener.local_addr().expect("address");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            router(metrics, readiness.clone()),
            shutdown.clone(),
        ));
        let get = |path: &'static str| async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
            stream
                .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
                .await
                .expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).await.expect("read");
            response
        };
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
        let not_ready = get("/readyz").await;
        assert!(not_ready.starts_with("HTTP/1.1 503"), "{not_ready}");
        assert!(not_ready.contains("lease"), "{not_ready}");
        readiness.set_lease_known();
        assert!(get("/readyz").await.starts_with("HTTP/1.1 200"));
        let scraped = get("/metrics").await;
        assert!(
            scraped.contains("dbprov_reconciles_total{kind=\"Database\"} 1"),
            "{scraped}"
        );
        shutdown.cancel();
        server.await.expect("joined").expect("served");
    }
}
