//! When to reconcile an object again: the periodic interval after success, and after a failure either a
//! fixed wait (something else must happen first) or an exponential backoff with jitter per object (the server
//! or the API did not answer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use dbprov_api::v1alpha1::DatabaseInstanceSpec;
use dbprov_reconcile::{Failure, ObjectRef};

/// The longest wait between retries of a failing object: a server that comes back is noticed within this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Retries are spread by ±20% so objects that failed together do not retry together (the seeds' connection
/// retry policy).
pub const JITTER: f64 = 0.2;
/// Health check interval of an instance without `healthCheck` (upstream's default).
pub const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_secs(60);
/// Recheck interval of an instance whose health checks are disabled: its Ready condition still needs to
/// follow credential or address changes eventually.
pub const DISABLED_HEALTH_INTERVAL: Duration = Duration::from_secs(3600);
/// Wait after a failed Kubernetes API call (status or finalizer write), before backoff.
pub const API_RETRY: Duration = Duration::from_secs(5);

/// How a failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Wait for the declaration (or an annotation) to change.
    Never,
    /// Waiting on another object or a Secret: check again after a fixed time.
    After(Duration),
    /// The server or an API failed: back off exponentially from this base.
    Backoff(Duration),
}

/// The retry policy of a reconcile failure.
pub fn retry(failure: &Failure) -> Retry {
    match failure.requeue_after() {
        None => Retry::Never,
        Some(wait) if failure.is_waiting() => Retry::After(wait),
        Some(base) => Retry::Backoff(base),
    }
}

/// The wait before retry number `attempt` (1 for the first retry): `base * 2^(attempt-1)`, at most
/// [`MAX_BACKOFF`], spread by ±[`JITTER`] with `random` in `[0, 1)`.
pub fn backoff(base: Duration, attempt: u32, random: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    let raw = base.saturating_mul(1u32 << exponent).min(MAX_BACKOFF);
    let factor = 1.0 - JITTER + 2.0 * JITTER * random.clamp(0.0, 1.0);
    raw.mul_f64(factor)
}

/// The interval between health checks of an instance: `healthCheck.intervalSeconds` when enabled.
pub fn health_interval(spec: &DatabaseInstanceSpec) -> Duration {
    match &spec.health_check {
        None => DEFAULT_HEALTH_INTERVAL,
        Some(check) if !check.enabled => DISABLED_HEALTH_INTERVAL,
        Some(check) => u64::try_from(check.interval_seconds)
            .ok()
            .filter(|seconds| *seconds > 0)
            .map_or(DEFAULT_HEALTH_INTERVAL, Duration::from_secs),
    }
}

/// A uniformly distributed number in `[0, 1)` from the operating system.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    // Jitter only spreads retries: when the OS has no randomness to give, the midpoint (no spread) is safe.
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Consecutive failures per object, for the backoff.
#[derive(Default)]
pub struct Backoffs {
    failures: Mutex<HashMap<ObjectRef, u32>>,
}

impl Backoffs {
    fn bump(&self, object: &ObjectRef) -> u32 {
        let mut failures = self.failures.lock().expect("the backoff lock is never poisoned");
        let count = failures.entry(object.clone()).or_insert(0);
        *count = count.saturating_add(1);
        *count
    }

    /// Forgets the failures of an object (after a success or when it is gone).
    pub fn reset(&self, object: &ObjectRef) {
        self.failures
            .lock()
            .expect("the backoff lock is never poisoned")
            .remove(object);
    }

    /// The requeue after a reconcile: `interval` after a success, the failure's policy otherwise.
    pub fn after(
        &self,
        object: &ObjectRef,
        failure: Option<&Failure>,
        interval: Duration,
    ) -> Option<Duration> {
        let Some(failure) = failure else {
            self.reset(object);
            return Some(interval);
        };
        match retry(failure) {
            Retry::Never => {
                self.reset(object);
                None
            }
            Retry::After(wait) => {
                self.reset(object);
                Some(wait)
            }
            Retry::Backoff(base) => Some(backoff(base, self.bump(object), random_unit())),
        }
    }

    /// The requeue after a failed Kubernetes API call.
    pub fn after_api_error(&self, object: &ObjectRef) -> Duration {
        backoff(API_RETRY, self.bump(object), random_unit())
    }
}

#[cfg(test)]
mod tests {
    use dbprov_api::Kind;
    use dbprov_api::v1alpha1::HealthCheckConfig;
    use dbprov_core::EngineError;
    use dbprov_core::error::ConnectFailure;

    use super::*;

    fn connect_failure() -> Failure {
        Failure::Connect {
            error: EngineError::Connect {
                engine: "PostgreSQL",
                target: "pg".into(),
                failure: ConnectFailure::Unreachable,
                source: "connection refused".into(),
            },
        }
    }

    fn object() -> ObjectRef {
        ObjectRef::new(Kind::Database, Some("default"), "app")
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1, 0.5), Duration::from_secs(30));
        assert_eq!(backoff(base, 2, 0.5), Duration::from_secs(60));
        assert_eq!(backoff(base, 3, 0.5), Duration::from_secs(120));
        assert_eq!(backoff(base, 4, 0.5), Duration::from_secs(240));
        assert_eq!(backoff(base, 5, 0.5), MAX_BACKOFF);
        assert_eq!(backoff(base, 40, 0.5), MAX_BACKOFF);
    }

    #[test]
    fn jitter_spreads_by_twenty_percent() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_secs(24));
        assert_eq!(
            backoff(base, 1, 0.999_999),
            Duration::from_secs(30).mul_f64(1.0 + JITTER * 0.999_998)
        );
        assert!(backoff(base, 1, 1.0) <= Duration::from_secs(36));
        for _ in 0..100 {
            let value = random_unit();
            assert!((0.0..1.0).contains(&value));
        }
    }

    #[test]
    fn waiting_failures_retry_at_fixed_times_and_invalid_specs_wait_for_a_change() {
        let instance = ObjectRef::new(Kind::DatabaseInstance, Some("default"), "pg");
        assert_eq!(
            retry(&Failure::InstanceNotReady { instance }),
            Retry::After(Duration::from_secs(10))
        );
        assert_eq!(
            retry(&Failure::SecretNotFound {
                namespace: "default".into(),
                name: "admin".into(),
                key: None,
                purpose: "admin credentials of the instance",
            }),
            Retry::After(Duration::from_secs(30))
        );
        assert_eq!(retry(&connect_failure()), Retry::Backoff(Duration::from_secs(30)));
        assert_eq!(
            retry(&Failure::invalid(dbprov_api::FieldError::invalid(
                "spec.name",
                "bad"
            ))),
            Retry::Never
        );
        assert_eq!(
            retry(&Failure::DeletionProtected {
                field: "spec.deletionProtection"
            }),
            Retry::Never
        );
    }

    #[test]
    fn consecutive_connection_failures_back_off_and_success_resets() {
        let backoffs = Backoffs::default();
        let failure = connect_failure();
        let interval = Duration::from_secs(300);
        let first = backoffs
            .after(&object(), Some(&failure), interval)
            .expect("retried");
        let second = backoffs
            .after(&object(), Some(&failure), interval)
            .expect("retried");
        let third = backoffs
            .after(&object(), Some(&failure), interval)
            .expect("retried");
        assert!(
            (Duration::from_secs(24)..=Duration::from_secs(36)).contains(&first),
            "{first:?}"
        );
        assert!(
            (Duration::from_secs(48)..=Duration::from_secs(72)).contains(&second),
            "{second:?}"
        );
        assert!(
            (Duration::from_secs(96)..=Duration::from_secs(144)).contains(&third),
            "{third:?}"
        );
        assert_eq!(backoffs.after(&object(), None, interval), Some(interval));
        let again = backoffs
            .after(&object(), Some(&failure), interval)
            .expect("retried");
        assert!(again <= Duration::from_secs(36), "reset after success: {again:?}");
        // Another object's failures are its own.
        let other = ObjectRef::new(Kind::Database, Some("default"), "other");
        assert!(
            backoffs.after(&other, Some(&failure), interval).expect("retried") <= Duration::from_secs(36)
        );
    }

    #[test]
    fn health_interval_follows_the_health_check() {
        let mut spec: DatabaseInstanceSpec = serde_json::from_value(serde_json::json!({
            "engine": "postgres",
            "connection": {"host": "pg", "port": 5432}
        }))
        .expect("valid spec");
        assert_eq!(health_interval(&spec), DEFAULT_HEALTH_INTERVAL);
        spec.health_check = Some(HealthCheckConfig {
            enabled: true,
            interval_seconds: 15,
            timeout_seconds: 5,
        });
        assert_eq!(health_interval(&spec), Duration::from_secs(15));
        spec.health_check = Some(HealthCheckConfig {
            enabled: false,
            interval_seconds: 15,
            timeout_seconds: 5,
        });
        assert_eq!(health_interval(&spec), DISABLED_HEALTH_INTERVAL);
    }
}
