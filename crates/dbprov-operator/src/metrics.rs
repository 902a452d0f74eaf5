//! Prometheus metrics: reconciles, errors by reason, reconcile durations and objects by phase.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use dbprov_api::Kind;
use dbprov_api::v1alpha1::Phase;
use dbprov_reconcile::ObjectRef;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub kind: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub kind: String,
    pub phase: String,
}

fn duration_histogram() -> Histogram {
    // 10 ms to ~80 s: a no-change reconcile is milliseconds, creating a database with extensions seconds.
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

pub struct Metrics {
    pub registry: Registry,
    reconciles: Family<KindLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    durations: Family<KindLabels, Histogram, fn() -> Histogram>,
    objects: Family<PhaseLabels, Gauge>,
    phases: Mutex<HashMap<ObjectRef, Phase>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dbprov");
        let reconciles = Family::<KindLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let durations =
            Family::<KindLabels, Histogram, fn() -> Histogram>::new_with_constructor(duration_histogram);
        let objects = Family::<PhaseLabels, Gauge>::default();
        registry.register("reconciles", "Reconciles run, by kind", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by kind and reason (condition reason or API failure)",
            errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took, by kind",
            durations.clone(),
        );
        registry.register("objects", "Objects by kind and status phase", objects.clone());
        Self {
            registry,
            reconciles,
            errors,
            durations,
            objects,
            phases: Mutex::new(HashMap::new()),
        }
    }

    fn kind(kind: Kind) -> KindLabels {
        KindLabels {
            kind: kind.as_str().to_owned(),
        }
    }

    /// Counts a finished reconcile; `error` is the failure's reason, when it failed.
    pub fn reconciled(&self, kind: Kind, elapsed: Duration, error: Option<&str>) {
        self.reconciles.get_or_create(&Self::kind(kind)).inc();
        self.durations
            .get_or_create(&Self::kind(kind))
            .observe(elapsed.as_secs_f64());
        if let Some(reason) = error {
            self.errors
                .get_or_create(&ErrorLabels {
                    kind: kind.as_str().to_owned(),
                    reason: reason.to_owned(),
                })
                .inc();
        }
    }

    fn gauge(&self, kind: Kind, phase: Phase) -> Gauge {
        self.objects
            .get_or_create(&PhaseLabels {
                kind: kind.as_str().to_owned(),
                phase: phase.as_str().to_owned(),
            })
            .clone()
    }

    /// Records the phase an object's status now shows.
    pub fn phase(&self, object: &ObjectRef, phase: Phase) {
        let previous = self
            .phases
            .lock()
            .expect("the phases lock is never poisoned")
            .insert(object.clone(), phase);
        if previous == Some(phase) {
            return;
        }
        if let Some(previous) = previous {
            self.gauge(object.kind, previous).dec();
        }
        self.gauge(object.kind, phase).inc();
    }

    /// Forgets an object that is gone.
    pub fn forget(&self, object: &ObjectRef) {
        let previous = self
            .phases
            .lock()
            .expect("the phases lock is never poisoned")
            .remove(object);
        if let Some(previous) = previous {
            self.gauge(object.kind, previous).dec();
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("invariant: writing metrics into a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_durations_and_phases() {
        let metrics = Metrics::new();
        let app = ObjectRef::new(Kind::Database, Some("default"), "app");
        let other = ObjectRef::new(Kind::Database, Some("default"), "other");
        metrics.reconciled(Kind::Database, Duration::from_millis(20), None);
        metrics.reconciled(
            Kind::Database,
            Duration::from_millis(30),
            Some("ConnectionFailed"),
        );
        metrics.phase(&app, Phase::Pending);
        metrics.phase(&app, Phase::Ready);
        metrics.phase(&other, Phase::Ready);
        metrics.phase(&other, Phase::Ready);
        let text = metrics.encode();
        assert!(
            text.contains("dbprov_reconciles_total{kind=\"Database\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("dbprov_reconcile_errors_total{kind=\"Database\",reason=\"ConnectionFailed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("dbprov_reconcile_duration_seconds_count{kind=\"Database\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("dbprov_objects{kind=\"Database\",phase=\"Ready\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("dbprov_objects{kind=\"Database\",phase=\"Pending\"} 0"),
            "{text}"
        );
        metrics.forget(&app);
        assert!(
            metrics
                .encode()
                .contains("dbprov_objects{kind=\"Database\",phase=\"Ready\"} 1")
        );
    }
}
