//! Status types shared by every kind: phase, conditions, drift.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The coarse lifecycle phase. Kept for compatibility with db-provision-operator; it is derived from the
/// conditions (`Ready`) and clients should read the conditions instead.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Phase {
    /// Not reconciled yet, or waiting for a dependency (instance, Secret).
    Pending,
    /// Being created or changed.
    Creating,
    /// In sync with the declaration.
    Ready,
    /// The last reconcile failed; the `Ready` condition says why.
    Failed,
    /// Being deleted.
    Deleting,
    /// Deletion is waiting for a confirmation or for dependent objects.
    PendingDeletion,
}

impl Phase {
    /// The exact string used in manifests and status.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Creating => "Creating",
            Phase::Ready => "Ready",
            Phase::Failed => "Failed",
            Phase::Deleting => "Deleting",
            Phase::PendingDeletion => "PendingDeletion",
        }
    }
}

/// The last drift check.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftStatus {
    /// Whether the server differs from the declaration.
    #[serde(default)]
    pub detected: bool,
    /// When the server was last compared with the declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<Time>,
    /// The differences found, one per field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<DriftDiff>,
}

/// One difference between the declaration and the server.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftDiff {
    /// The field that differs (`connectionLimit`, `privileges on app.orders`).
    pub field: String,
    /// The declared value.
    pub expected: String,
    /// The value found on the server.
    pub actual: String,
    /// Whether repairing it destroys data or access (dropping an account, revoking a privilege).
    #[serde(default, skip_serializing_if = "crate::v1alpha1::common::is_false")]
    pub destructive: bool,
    /// Whether it cannot be repaired in place (an encoding, a locale): the object would have to be recreated.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::common::is_false")]
    pub immutable: bool,
}

impl From<&dbprov_core::Drift> for DriftDiff {
    fn from(drift: &dbprov_core::Drift) -> Self {
        Self {
            field: if drift.object.is_empty() {
                drift.field.clone()
            } else {
                format!("{} {}", drift.object, drift.field)
            },
            expected: drift.declared.clone(),
            actual: drift.actual.clone(),
            destructive: drift.destructive,
            immutable: !drift.correctable,
        }
    }
}

/// What every status has, so reconcilers and the CLI can handle statuses of all kinds alike.
pub trait ObjectStatus {
    /// The conditions.
    fn conditions(&self) -> &[Condition];
    /// The conditions, to change them with [`crate::conditions::set_condition`].
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// The phase.
    fn phase(&self) -> Option<Phase>;
    /// Sets the phase (derive it with [`crate::conditions::derive_phase`]).
    fn set_phase(&mut self, phase: Phase);
    /// The generation the status describes.
    fn observed_generation(&self) -> Option<i64>;
    /// Records the generation the status describes.
    fn set_observed_generation(&mut self, generation: Option<i64>);
    /// The last drift check; instances have none.
    fn drift(&self) -> Option<&DriftStatus> {
        None
    }
    /// Records a drift check; a no-op for instances.
    fn set_drift(&mut self, drift: Option<DriftStatus>) {
        let _ = drift;
    }
    /// Sets the human-readable summary.
    fn set_message(&mut self, message: Option<String>);
}

/// Implements [`ObjectStatus`] for a status struct with the common fields (`drift` included unless the
/// second form, `impl_object_status!(T, no_drift)`, is used).
macro_rules! impl_object_status {
    ($status:ty) => {
        $crate::v1alpha1::status::impl_object_status!(@common $status, {
            fn drift(&self) -> Option<&$crate::v1alpha1::status::DriftStatus> {
                self.drift.as_ref()
            }
            fn set_drift(&mut self, drift: Option<$crate::v1alpha1::status::DriftStatus>) {
                self.drift = drift;
            }
        });
    };
    ($status:ty, no_drift) => {
        $crate::v1alpha1::status::impl_object_status!(@common $status, {});
    };
    (@common $status:ty, { $($drift:tt)* }) => {
        impl $crate::v1alpha1::status::ObjectStatus for $status {
            fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
                &self.conditions
            }
            fn conditions_mut(&mut self) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
                &mut self.conditions
            }
            fn phase(&self) -> Option<$crate::v1alpha1::status::Phase> {
                self.phase
            }
            fn set_phase(&mut self, phase: $crate::v1alpha1::status::Phase) {
                self.phase = Some(phase);
            }
            fn observed_generation(&self) -> Option<i64> {
                self.observed_generation
            }
            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.observed_generation = generation;
            }
            $($drift)*
            fn set_message(&mut self, message: Option<String>) {
                self.message = message;
            }
        }
    };
}
pub(crate) use impl_object_status;
