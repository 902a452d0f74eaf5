//! Status conditions (shape-compatible with `metav1.Condition`) and the phase derived from them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::v1alpha1::Phase;

/// The condition types dbprov sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionType {
    /// The object matches its declaration and is usable.
    Ready,
    /// The server could be reached and authenticated against.
    Connected,
    /// The server matches the declaration (false when drift is detected or a change is pending).
    Synced,
    /// Something is wrong that does not (yet) make the object unusable: drift left alone, a server that went away.
    Degraded,
}

impl ConditionType {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::Ready => "Ready",
            ConditionType::Connected => "Connected",
            ConditionType::Synced => "Synced",
            ConditionType::Degraded => "Degraded",
        }
    }
}

/// `True`, `False` or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet (a reconcile is in progress).
    Unknown,
}

impl ConditionStatus {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }

    /// `True` or `False`.
    pub fn from_bool(value: bool) -> Self {
        if value {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

/// Condition reasons (PascalCase, stable: clients and alerts match on them).
pub mod reason {
    /// Reason `ReconcileSuccess`.
    pub const RECONCILE_SUCCESS: &str = "ReconcileSuccess";
    /// Reason `Reconciling`.
    pub const RECONCILING: &str = "Reconciling";
    /// Reason `Creating`.
    pub const CREATING: &str = "Creating";
    /// Reason `ConnectionSuccess`.
    pub const CONNECTION_SUCCESS: &str = "ConnectionSuccess";
    /// Reason `ConnectionFailed`.
    pub const CONNECTION_FAILED: &str = "ConnectionFailed";
    /// Reason `AuthenticationFailed`.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Reason `InstanceNotFound`.
    pub const INSTANCE_NOT_FOUND: &str = "InstanceNotFound";
    /// Reason `InstanceNotReady`.
    pub const INSTANCE_NOT_READY: &str = "InstanceNotReady";
    /// Reason `DatabaseNotFound`.
    pub const DATABASE_NOT_FOUND: &str = "DatabaseNotFound";
    /// Reason `DatabaseNotReady`.
    pub const DATABASE_NOT_READY: &str = "DatabaseNotReady";
    /// Reason `GranteeNotReady`.
    pub const GRANTEE_NOT_READY: &str = "GranteeNotReady";
    /// Reason `SecretNotFound`.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// Reason `SecretInvalid`.
    pub const SECRET_INVALID: &str = "SecretInvalid";
    /// Reason `InvalidSpec`.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Reason `Unsupported`.
    pub const UNSUPPORTED: &str = "Unsupported";
    /// Reason `ApplyFailed`.
    pub const APPLY_FAILED: &str = "ApplyFailed";
    /// Reason `DriftDetected`.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// Reason `DriftCorrected`.
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// Reason `InSync`.
    pub const IN_SYNC: &str = "InSync";
    /// Reason `ChangesPending`.
    pub const CHANGES_PENDING: &str = "ChangesPending";
    /// Reason `Deleting`.
    pub const DELETING: &str = "Deleting";
    /// Reason `DeletionProtected`.
    pub const DELETION_PROTECTED: &str = "DeletionProtected";
    /// Reason `DependenciesExist`.
    pub const DEPENDENCIES_EXIST: &str = "DependenciesExist";
    /// Reason `PendingDeletion`.
    pub const PENDING_DELETION: &str = "PendingDeletion";
}

/// Reasons of a `Ready=False` condition that mean "waiting for something else", not "failed".
const WAITING_REASONS: &[&str] = &[
    reason::INSTANCE_NOT_FOUND,
    reason::INSTANCE_NOT_READY,
    reason::DATABASE_NOT_FOUND,
    reason::DATABASE_NOT_READY,
    reason::GRANTEE_NOT_READY,
    reason::SECRET_NOT_FOUND,
];

/// Finds a condition by type.
pub fn find(conditions: &[Condition], type_: ConditionType) -> Option<&Condition> {
    conditions
        .iter()
        .find(|condition| condition.type_ == type_.as_str())
}

/// Whether the condition is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: ConditionType) -> bool {
    find(conditions, type_).is_some_and(|condition| condition.status == ConditionStatus::True.as_str())
}

/// Sets (adds or replaces) a condition. `lastTransitionTime` changes only when the status changes, as
/// `metav1.Condition` prescribes; reason, message and observed generation are always updated. Returns whether
/// anything changed, so callers can skip a status write.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: ConditionType,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Time,
) -> bool {
    let message = message.into();
    match conditions
        .iter_mut()
        .find(|condition| condition.type_ == type_.as_str())
    {
        Some(existing) => {
            let status_changed = existing.status != status.as_str();
            let changed = status_changed
                || existing.reason != reason
                || existing.message != message
                || existing.observed_generation != observed_generation;
            if status_changed {
                existing.status = status.as_str().to_owned();
                existing.last_transition_time = now;
            }
            existing.reason = reason.to_owned();
            existing.message = message;
            existing.observed_generation = observed_generation;
            changed
        }
        None => {
            conditions.push(Condition {
                type_: type_.as_str().to_owned(),
                status: status.as_str().to_owned(),
                reason: reason.to_owned(),
                message,
                observed_generation,
                last_transition_time: now,
            });
            true
        }
    }
}

/// Removes a condition; returns whether it was present.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: ConditionType) -> bool {
    let before = conditions.len();
    conditions.retain(|condition| condition.type_ != type_.as_str());
    before != conditions.len()
}

/// The phase the conditions amount to:
/// * `Deleting` while the object is being deleted (`deleting`), `PendingDeletion` when `Ready=False` says
///   deletion is blocked by protection or dependents;
/// * `Pending` without a `Ready` condition, or when `Ready=False` waits for a dependency;
/// * `Ready` when `Ready=True`; `Creating` when `Ready=Unknown`; `Failed` otherwise.
pub fn derive_phase(conditions: &[Condition], deleting: bool) -> Phase {
    let ready = find(conditions, ConditionType::Ready);
    if deleting {
        return match ready {
            Some(condition)
                if condition.status == ConditionStatus::False.as_str()
                    && [
                        reason::DELETION_PROTECTED,
                        reason::DEPENDENCIES_EXIST,
                        reason::PENDING_DELETION,
                    ]
                    .contains(&condition.reason.as_str()) =>
            {
                Phase::PendingDeletion
            }
            _ => Phase::Deleting,
        };
    }
    match ready {
        None => Phase::Pending,
        Some(condition) if condition.status == ConditionStatus::True.as_str() => Phase::Ready,
        Some(condition) if condition.status == ConditionStatus::Unknown.as_str() => Phase::Creating,
        Some(condition) if WAITING_REASONS.contains(&condition.reason.as_str()) => Phase::Pending,
        Some(_) => Phase::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).expect("valid timestamp"))
    }

    #[test]
    fn transition_time_changes_only_with_status() {
        let mut conditions = Vec::new();
        assert!(set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            reason::CREATING,
            "creating",
            Some(1),
            time(100),
        ));
        assert!(set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            reason::APPLY_FAILED,
            "permission denied",
            Some(1),
            time(200),
        ));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, time(100));
        assert_eq!(conditions[0].reason, "ApplyFailed");
        assert!(!set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            reason::APPLY_FAILED,
            "permission denied",
            Some(1),
            time(300),
        ));
        assert!(set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::True,
            reason::RECONCILE_SUCCESS,
            "ready",
            Some(2),
            time(400),
        ));
        assert_eq!(conditions[0].last_transition_time, time(400));
        assert_eq!(conditions[0].observed_generation, Some(2));
        assert!(remove_condition(&mut conditions, ConditionType::Ready));
        assert!(conditions.is_empty());
    }

    #[test]
    fn phase_follows_ready() {
        let mut conditions = Vec::new();
        assert_eq!(derive_phase(&conditions, false), Phase::Pending);
        set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            reason::INSTANCE_NOT_READY,
            "",
            None,
            time(1),
        );
        assert_eq!(derive_phase(&conditions, false), Phase::Pending);
        set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            reason::APPLY_FAILED,
            "",
            None,
            time(1),
        );
        assert_eq!(derive_phase(&conditions, false), Phase::Failed);
        assert_eq!(derive_phase(&conditions, true), Phase::Deleting);
        set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::Unknown,
            reason::RECONCILING,
            "",
            None,
            time(1),
        );
        assert_eq!(derive_phase(&conditions, false), Phase::Creating);
        set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::True,
            reason::RECONCILE_SUCCESS,
            "",
            None,
            time(1),
        );
        assert_eq!(derive_phase(&conditions, false), Phase::Ready);
        set_condition(
            &mut conditions,
            ConditionType::Ready,
            ConditionStatus::False,
            reason::DELETION_PROTECTED,
            "",
            None,
            time(1),
        );
        assert_eq!(derive_phase(&conditions, true), Phase::PendingDeletion);
    }
}
