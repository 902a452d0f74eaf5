//! Writing an outcome into an object's status, through the shared `dbprov_reconcile::status` functions, and
//! the extra facts only the operator knows (deletion phases, the reconcile id, when a role was created).

use dbprov_api::Resource;
use dbprov_api::conditions::{ConditionStatus, ConditionType, derive_phase, reason, set_condition};
use dbprov_api::v1alpha1::{ObjectStatus, Phase, RoleInfo};
use dbprov_core::EngineError;
use dbprov_reconcile::{Failure, ObjectRef, Outcome, status};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// The status of an object, if it has one yet.
pub fn object_status(resource: &Resource) -> Option<&dyn ObjectStatus> {
    match resource {
        Resource::DatabaseInstance(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::ClusterDatabaseInstance(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::Database(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::DatabaseRole(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::DatabaseUser(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::DatabaseGrant(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::DatabaseMigration(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        Resource::OAuth2Client(object) => object.status.as_ref().map(|s| s as &dyn ObjectStatus),
        _ => None,
    }
}

/// The status of an object, created empty when missing.
fn status_mut(resource: &mut Resource) -> Option<&mut dyn ObjectStatus> {
    Some(match resource {
        Resource::DatabaseInstance(object) => object.status.get_or_insert_with(Default::default),
        Resource::ClusterDatabaseInstance(object) => object.status.get_or_insert_with(Default::default),
        Resource::Database(object) => object.status.get_or_insert_with(Default::default),
        Resource::DatabaseRole(object) => object.status.get_or_insert_with(Default::default),
        Resource::DatabaseUser(object) => object.status.get_or_insert_with(Default::default),
        Resource::DatabaseGrant(object) => object.status.get_or_insert_with(Default::default),
        _ => return None,
    })
}

/// The phase the status shows.
pub fn phase(resource: &Resource) -> Option<Phase> {
    object_status(resource).and_then(ObjectStatus::phase)
}

/// Whether a failure means the server stopped answering. The shared `Failure::is_connection` only knows
/// connections that failed to open; a pool that loses its server while inspecting reports a connect error
/// inside `Failure::Engine`.
fn lost_connection(outcome: &Outcome) -> bool {
    match &outcome.failure {
        Some(Failure::Engine { error }) => matches!(error, EngineError::Connect { .. }),
        _ => false,
    }
}

/// Records a reconcile of a live object: conditions, phase, drift and the kind's facts.
pub fn record(resource: &mut Resource, outcome: &Outcome, now: &Time, reconcile_id: &str) {
    let was_degraded = object_status(resource)
        .is_some_and(|status| dbprov_api::conditions::is_true(status.conditions(), ConditionType::Degraded));
    record_outcome(resource, outcome, now, reconcile_id);
    mark_lost_connection(resource, outcome, now);
    keep_degraded(resource, outcome, was_degraded, now);
}

/// An object that became degraded (it was Ready, then a retried failure) stays degraded while the failures
/// continue; the shared status only marks the transition from Ready.
fn keep_degraded(resource: &mut Resource, outcome: &Outcome, was_degraded: bool, now: &Time) {
    let Some(failure) = outcome.failure.as_ref() else {
        return;
    };
    if !was_degraded || failure.requeue_after().is_none() {
        return;
    }
    let generation = resource.metadata().generation;
    if let Some(status) = status_mut(resource) {
        set_condition(
            status.conditions_mut(),
            ConditionType::Degraded,
            ConditionStatus::True,
            failure.reason(),
            failure.to_string(),
            generation,
            now.clone(),
        );
    }
}

fn mark_lost_connection(resource: &mut Resource, outcome: &Outcome, now: &Time) {
    let Some(failure) = outcome.failure.as_ref().filter(|_| lost_connection(outcome)) else {
        return;
    };
    let generation = resource.metadata().generation;
    if let Some(status) = status_mut(resource) {
        set_condition(
            status.conditions_mut(),
            ConditionType::Connected,
            ConditionStatus::False,
            failure.reason(),
            failure.to_string(),
            generation,
            now.clone(),
        );
    }
}

fn record_outcome(resource: &mut Resource, outcome: &Outcome, now: &Time, reconcile_id: &str) {
    let generation = resource.metadata().generation;
    match resource {
        Resource::DatabaseInstance(object) => {
            let status = object.status.get_or_insert_with(Default::default);
            status::instance(status, outcome, generation, now);
            status.reconcile_id = Some(reconcile_id.to_owned());
        }
        Resource::ClusterDatabaseInstance(object) => {
            let status = object.status.get_or_insert_with(Default::default);
            status::instance(status, outcome, generation, now);
            status.reconcile_id = Some(reconcile_id.to_owned());
        }
        Resource::Database(object) => {
            let status = object.status.get_or_insert_with(Default::default);
            status::database(status, outcome, generation, now);
            status.reconcile_id = Some(reconcile_id.to_owned());
        }
        Resource::DatabaseRole(object) => {
            let status = object.status.get_or_insert_with(Default::default);
            status::role(status, outcome, generation, now);
            // Deletion drops only what dbprov created: remember it for roles as for databases and users.
            if outcome.created {
                status.role.get_or_insert_with(RoleInfo::default).created_at = Some(now.clone());
            }
            status.reconcile_id = Some(reconcile_id.to_owned());
        }
        Resource::DatabaseUser(object) => {
            let status = object.status.get_or_insert_with(Default::default);
            status::user(status, outcome, generation, now);
            status.reconcile_id = Some(reconcile_id.to_owned());
        }
        Resource::DatabaseGrant(object) => {
            let status = object.status.get_or_insert_with(Default::default);
            status::grant(status, outcome, generation, now);
            status.reconcile_id = Some(reconcile_id.to_owned());
        }
        _ => {}
    }
}

/// Records a deletion attempt that did not finish: the failure's conditions with the deletion phase
/// (`PendingDeletion` when protection blocks it, `Deleting` while it is retried).
pub fn record_deletion(resource: &mut Resource, outcome: &Outcome, now: &Time, reconcile_id: &str) {
    fn deleting<S: ObjectStatus + Default>(
        status: &mut Option<S>,
        outcome: &Outcome,
        generation: Option<i64>,
        now: &Time,
    ) {
        let status = status.get_or_insert_with(S::default);
        status::common(status, outcome, generation, now);
        let phase = derive_phase(status.conditions(), true);
        status.set_phase(phase);
    }
    let generation = resource.metadata().generation;
    match resource {
        Resource::DatabaseInstance(object) => deleting(&mut object.status, outcome, generation, now),
        Resource::ClusterDatabaseInstance(object) => deleting(&mut object.status, outcome, generation, now),
        Resource::Database(object) => deleting(&mut object.status, outcome, generation, now),
        Resource::DatabaseRole(object) => deleting(&mut object.status, outcome, generation, now),
        Resource::DatabaseUser(object) => deleting(&mut object.status, outcome, generation, now),
        Resource::DatabaseGrant(object) => deleting(&mut object.status, outcome, generation, now),
        Resource::OAuth2Client(object) => deleting(&mut object.status, outcome, generation, now),
        _ => {}
    }
    mark_lost_connection(resource, outcome, now);
    set_reconcile_id(resource, reconcile_id);
}

/// Records that deletion waits for the objects that still refer to this one.
pub fn record_dependents(resource: &mut Resource, dependents: &[ObjectRef], now: &Time, reconcile_id: &str) {
    let generation = resource.metadata().generation;
    let message = dependents_message(dependents);
    if let Some(status) = status_mut(resource) {
        set_condition(
            status.conditions_mut(),
            ConditionType::Ready,
            ConditionStatus::False,
            reason::DEPENDENCIES_EXIST,
            message.clone(),
            generation,
            now.clone(),
        );
        status.set_message(Some(message));
        let phase = derive_phase(status.conditions(), true);
        status.set_phase(phase);
    }
    set_reconcile_id(resource, reconcile_id);
}

/// "deletion waits for DatabaseGrant/app-read (namespace default)" (at most five named).
pub fn dependents_message(dependents: &[ObjectRef]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = dependents.iter().take(SHOWN).map(ToString::to_string).collect();
    if dependents.len() > SHOWN {
        names.push(format!("{} more", dependents.len() - SHOWN));
    }
    format!(
        "deletion waits for the objects that refer to it: {} (delete them first, or annotate \
         dbops.dbprovision.io/force-delete: \"true\")",
        names.join(", ")
    )
}

fn set_reconcile_id(resource: &mut Resource, reconcile_id: &str) {
    let id = Some(reconcile_id.to_owned());
    match resource {
        Resource::DatabaseInstance(object) => {
            object.status.get_or_insert_with(Default::default).reconcile_id = id
        }
        Resource::ClusterDatabaseInstance(object) => {
            object.status.get_or_insert_with(Default::default).reconcile_id = id
        }
        Resource::Database(object) => object.status.get_or_insert_with(Default::default).reconcile_id = id,
        Resource::DatabaseRole(object) => {
            object.status.get_or_insert_with(Default::default).reconcile_id = id
        }
        Resource::DatabaseUser(object) => {
            object.status.get_or_insert_with(Default::default).reconcile_id = id
        }
        Resource::DatabaseGrant(object) => {
            object.status.get_or_insert_with(Default::default).reconcile_id = id
        }
        _ => {}
    }
}

/// The status as JSON, for the server-side apply of the status subresource.
pub fn status_value(resource: &Resource) -> serde_json::Value {
    let value = match resource {
        Resource::DatabaseInstance(object) => serde_json::to_value(&object.status),
        Resource::ClusterDatabaseInstance(object) => serde_json::to_value(&object.status),
        Resource::Database(object) => serde_json::to_value(&object.status),
        Resource::DatabaseRole(object) => serde_json::to_value(&object.status),
        Resource::DatabaseUser(object) => serde_json::to_value(&object.status),
        Resource::DatabaseGrant(object) => serde_json::to_value(&object.status),
        Resource::DatabaseMigration(object) => serde_json::to_value(&object.status),
        Resource::DatabaseBackup(object) => serde_json::to_value(&object.status),
        Resource::DatabaseRestore(object) => serde_json::to_value(&object.status),
        Resource::DatabaseBackupSchedule(object) => serde_json::to_value(&object.status),
        Resource::OAuth2Client(object) => serde_json::to_value(&object.status),
        _ => Ok(serde_json::Value::Null),
    };
    value.expect("invariant: status types serialize to JSON")
}

/// Whether dbprov created the server object (so `deletionPolicy: Delete` may drop it): the status records
/// `createdAt` only when a reconcile created it.
pub fn created_by_dbprov(resource: &Resource) -> bool {
    match resource {
        Resource::Database(object) => object
            .status
            .as_ref()
            .and_then(|status| status.database.as_ref())
            .is_some_and(|info| info.created_at.is_some()),
        Resource::DatabaseUser(object) => object
            .status
            .as_ref()
            .and_then(|status| status.user.as_ref())
            .is_some_and(|info| info.created_at.is_some()),
        Resource::DatabaseRole(object) => object
            .status
            .as_ref()
            .and_then(|status| status.role.as_ref())
            .is_some_and(|info| info.created_at.is_some()),
        // A client dbprov registered has a secret version: dbprov issued its secret.
        Resource::OAuth2Client(object) => object
            .status
            .as_ref()
            .is_some_and(|status| status.secret_version.is_some()),
        _ => false,
    }
}

/// Whether the status says the object is Ready.
pub fn is_ready(resource: &Resource) -> bool {
    object_status(resource)
        .is_some_and(|status| dbprov_api::conditions::is_true(status.conditions(), ConditionType::Ready))
}
