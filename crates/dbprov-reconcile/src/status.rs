//! Writing an outcome into an object's status: typed conditions (Ready, Connected, Synced, Degraded) with
//! PascalCase reasons, the drift report, the derived phase and kind-specific facts.

use dbprov_api::conditions::{ConditionStatus, ConditionType, derive_phase, is_true, reason, set_condition};
use dbprov_api::v1alpha1::{
    AppliedGrantsInfo, DatabaseGrantStatus, DatabaseInfo, DatabaseInstanceStatus, DatabaseMigrationStatus,
    DatabaseRoleStatus, DatabaseStatus, DatabaseUserStatus, DriftDiff, DriftStatus, ExtensionInfo,
    MySqlDatabaseStatus, ObjectStatus, PostgresDatabaseStatus, RoleInfo, SecretInfo, UserInfo,
};
use dbprov_core::EngineKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::outcome::{Info, Outcome};

/// The conditions, phase, message, observed generation and drift every kind shares.
pub fn common<S: ObjectStatus>(status: &mut S, outcome: &Outcome, generation: Option<i64>, now: &Time) {
    let was_ready = is_true(status.conditions(), ConditionType::Ready);
    let was_degraded = is_true(status.conditions(), ConditionType::Degraded);
    let conditions = status.conditions_mut();
    let set = |conditions: &mut Vec<_>, kind, value, why: &str, message: String| {
        set_condition(conditions, kind, value, why, message, generation, now.clone());
    };
    let message = match &outcome.failure {
        Some(failure) => {
            let text = failure.to_string();
            if failure.is_connection() {
                set(
                    conditions,
                    ConditionType::Connected,
                    ConditionStatus::False,
                    failure.reason(),
                    text.clone(),
                );
            } else if matches!(failure, crate::Failure::Engine { .. }) {
                set(
                    conditions,
                    ConditionType::Connected,
                    ConditionStatus::True,
                    reason::CONNECTION_SUCCESS,
                    "the server answered".into(),
                );
            }
            set(
                conditions,
                ConditionType::Ready,
                ConditionStatus::False,
                failure.reason(),
                text.clone(),
            );
            if !failure.is_waiting() {
                set(
                    conditions,
                    ConditionType::Synced,
                    ConditionStatus::False,
                    failure.reason(),
                    text.clone(),
                );
            }
            // An object that was Ready and now fails is degraded: it may still work, but dbprov cannot vouch.
            // It stays degraded while the failures go on.
            let degraded = (was_ready || was_degraded) && failure.requeue_after().is_some();
            set(
                conditions,
                ConditionType::Degraded,
                ConditionStatus::from_bool(degraded),
                if degraded { failure.reason() } else { "NotDegraded" },
                if degraded { text.clone() } else { String::new() },
            );
            text
        }
        None => {
            set(
                conditions,
                ConditionType::Connected,
                ConditionStatus::True,
                reason::CONNECTION_SUCCESS,
                "the server answered".into(),
            );
            let (synced, why, text) = if !outcome.drift_left.is_empty() {
                (
                    false,
                    reason::DRIFT_DETECTED,
                    format!(
                        "{} difference(s) between the declaration and the server",
                        outcome.drift_left.len()
                    ),
                )
            } else if outcome.has_changes() && !outcome.applied {
                (false, reason::CHANGES_PENDING, "changes are pending".to_owned())
            } else {
                (
                    true,
                    reason::IN_SYNC,
                    "the server matches the declaration".to_owned(),
                )
            };
            set(
                conditions,
                ConditionType::Synced,
                ConditionStatus::from_bool(synced),
                why,
                text.clone(),
            );
            set(
                conditions,
                ConditionType::Ready,
                ConditionStatus::True,
                reason::RECONCILE_SUCCESS,
                "reconciled".into(),
            );
            set(
                conditions,
                ConditionType::Degraded,
                ConditionStatus::False,
                "NotDegraded",
                String::new(),
            );
            text
        }
    };
    status.set_message(Some(message));
    status.set_observed_generation(generation);
    if outcome.failure.is_none() {
        let diffs: Vec<DriftDiff> = outcome.drift_left.iter().map(DriftDiff::from).collect();
        status.set_drift(Some(DriftStatus {
            detected: !diffs.is_empty(),
            last_checked: Some(now.clone()),
            diffs,
        }));
    }
    let phase = derive_phase(status.conditions(), false);
    status.set_phase(phase);
}

fn engine_name(engine: EngineKind) -> Option<String> {
    Some(engine.as_str().to_owned())
}

pub fn instance(status: &mut DatabaseInstanceStatus, outcome: &Outcome, generation: Option<i64>, now: &Time) {
    common(status, outcome, generation, now);
    if let Info::Instance { version, .. } = &outcome.info {
        status.version = Some(version.clone());
    }
    status.last_checked_at = Some(now.clone());
    status.last_reconcile_time = Some(now.clone());
}

pub fn database(status: &mut DatabaseStatus, outcome: &Outcome, generation: Option<i64>, now: &Time) {
    common(status, outcome, generation, now);
    status.last_reconcile_time = Some(now.clone());
    let Info::Database {
        engine,
        name,
        owner,
        size_bytes,
        encoding,
        collation,
        extensions,
        schemas,
        charset,
    } = &outcome.info
    else {
        return;
    };
    status.engine = engine_name(*engine);
    let info = status.database.get_or_insert_with(DatabaseInfo::default);
    info.name = Some(name.clone());
    info.owner = owner.clone();
    info.size_bytes = *size_bytes;
    if outcome.created {
        info.created_at = Some(now.clone());
    }
    match engine {
        EngineKind::Postgres => {
            status.postgres = Some(PostgresDatabaseStatus {
                encoding: encoding.clone(),
                collation: collation.clone(),
                installed_extensions: extensions
                    .iter()
                    .map(|(name, version)| ExtensionInfo {
                        name: name.clone(),
                        version: version.clone(),
                    })
                    .collect(),
                schemas: schemas.clone(),
            });
        }
        EngineKind::MySql | EngineKind::MariaDb => {
            status.mysql = Some(MySqlDatabaseStatus {
                charset: charset.clone(),
                collation: collation.clone(),
            });
        }
        EngineKind::Sqlite => {}
    }
}

pub fn user(status: &mut DatabaseUserStatus, outcome: &Outcome, generation: Option<i64>, now: &Time) {
    common(status, outcome, generation, now);
    status.last_reconcile_time = Some(now.clone());
    let Info::User {
        engine,
        username,
        secret,
        password_rotated,
    } = &outcome.info
    else {
        return;
    };
    status.engine = engine_name(*engine);
    let info = status.user.get_or_insert_with(UserInfo::default);
    info.username = Some(username.clone());
    if outcome.created {
        info.created_at = Some(now.clone());
    }
    if let Some((namespace, name)) = secret {
        let info = status.secret.get_or_insert_with(SecretInfo::default);
        info.name = Some(name.clone());
        info.namespace = Some(namespace.clone());
        if *password_rotated || outcome.created {
            info.last_rotated_at = Some(now.clone());
        }
    }
}

pub fn role(status: &mut DatabaseRoleStatus, outcome: &Outcome, generation: Option<i64>, now: &Time) {
    common(status, outcome, generation, now);
    status.last_reconcile_time = Some(now.clone());
    if let Info::Role { engine, name } = &outcome.info {
        status.engine = engine_name(*engine);
        status.role.get_or_insert_with(RoleInfo::default).name = Some(name.clone());
    }
}

pub fn grant(status: &mut DatabaseGrantStatus, outcome: &Outcome, generation: Option<i64>, now: &Time) {
    common(status, outcome, generation, now);
    status.last_reconcile_time = Some(now.clone());
    if let Info::Grant {
        engine,
        grantee,
        roles,
        direct_grants,
        default_privileges,
    } = &outcome.info
    {
        status.engine = engine_name(*engine);
        status.grantee = Some(grantee.clone());
        status.applied_grants = Some(AppliedGrantsInfo {
            roles: roles.clone(),
            direct_grants: *direct_grants,
            default_privileges: *default_privileges,
        });
    }
}

pub fn migration(
    status: &mut DatabaseMigrationStatus,
    outcome: &Outcome,
    state: &crate::migration::MigrationState,
    generation: Option<i64>,
    now: &Time,
) {
    common(status, outcome, generation, now);
    status.last_reconcile_time = Some(now.clone());
    if let Info::Migration { engine } = &outcome.info {
        status.engine = engine_name(*engine);
    }
    status.current_version = state.current_version;
    status.dirty = state.dirty;
    status.applied = state.applied.clone();
    status.last_error = outcome.failure.as_ref().map(ToString::to_string);
    if !state.mismatches.is_empty() {
        set_condition(
            status.conditions_mut(),
            ConditionType::Synced,
            ConditionStatus::False,
            "ChecksumMismatch",
            state.mismatches.join("; "),
            generation,
            now.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use dbprov_api::conditions::find;
    use dbprov_api::v1alpha1::DatabaseStatus;
    use dbprov_core::EngineError;
    use dbprov_core::error::ConnectFailure;

    use super::*;
    use crate::context::ObjectRef;
    use crate::failure::Failure;

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::now())
    }

    fn outcome(failure: Option<Failure>) -> Outcome {
        let outcome = Outcome::new(ObjectRef::new(dbprov_api::Kind::Database, Some("default"), "db"));
        match failure {
            Some(failure) => outcome.failed(failure),
            None => outcome,
        }
    }

    fn unreachable() -> Failure {
        Failure::Engine {
            error: EngineError::Connect {
                engine: "PostgreSQL",
                target: "pg".into(),
                failure: ConnectFailure::Unreachable,
                source: "connection refused".into(),
            },
        }
    }

    fn condition(status: &DatabaseStatus, kind: ConditionType) -> (String, String) {
        let condition = find(&status.conditions, kind).expect("the condition is set");
        (condition.status.clone(), condition.reason.clone())
    }

    #[test]
    fn a_lost_server_is_not_connected_and_stays_degraded_until_it_recovers() {
        let mut status = DatabaseStatus::default();
        database(&mut status, &outcome(None), Some(1), &now());
        assert_eq!(condition(&status, ConditionType::Ready).0, "True");

        for _ in 0..3 {
            database(&mut status, &outcome(Some(unreachable())), Some(1), &now());
            assert_eq!(
                condition(&status, ConditionType::Connected),
                ("False".into(), "ConnectionFailed".into())
            );
            assert_eq!(condition(&status, ConditionType::Ready).0, "False");
            assert_eq!(
                condition(&status, ConditionType::Degraded).0,
                "True",
                "stays degraded while failing"
            );
        }

        database(&mut status, &outcome(None), Some(1), &now());
        assert_eq!(condition(&status, ConditionType::Ready).0, "True");
        assert_eq!(condition(&status, ConditionType::Degraded).0, "False");
        assert_eq!(condition(&status, ConditionType::Connected).0, "True");
    }

    #[test]
    fn a_new_object_that_cannot_connect_is_not_degraded() {
        let mut status = DatabaseStatus::default();
        database(&mut status, &outcome(Some(unreachable())), Some(1), &now());
        assert_eq!(condition(&status, ConditionType::Degraded).0, "False");
        assert_eq!(status.phase, Some(dbprov_api::v1alpha1::Phase::Failed));
    }
}
