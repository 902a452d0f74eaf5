//! Turning an outcome into what the state directory keeps: the typed status of the kind, the spec hash, what
//! dbprov created, the last SQL and the bookkeeping the next run needs.

use dbprov_api::Kind;
use dbprov_api::v1alpha1::{
    DatabaseGrantStatus, DatabaseInstanceStatus, DatabaseMigrationStatus, DatabaseRoleStatus, DatabaseStatus,
    DatabaseUserStatus,
};
use dbprov_core::model::GrantScope;
use dbprov_reconcile::Outcome;
use dbprov_reconcile::migration::MigrationState;
use dbprov_reconcile::prepare::Hints;
use dbprov_reconcile::status;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::state::ObjectRecord;

/// A hash of the declaration (`spec`), canonical because JSON objects keep their keys sorted.
pub fn spec_hash(manifest: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(manifest["spec"].to_string().as_bytes()))
}

fn update<S: Default + Serialize + DeserializeOwned>(
    previous: &serde_json::Value,
    write: impl FnOnce(&mut S),
) -> serde_json::Value {
    let mut typed: S = serde_json::from_value(previous.clone()).unwrap_or_default();
    write(&mut typed);
    serde_json::to_value(typed).unwrap_or_default()
}

/// The new status of an object, from its previous status and the outcome (and, for migrations, what the
/// migration found).
pub fn status_of(
    kind: Kind,
    previous: &serde_json::Value,
    outcome: &Outcome,
    migration: Option<&MigrationState>,
    now: &Time,
) -> serde_json::Value {
    match kind {
        Kind::DatabaseInstance | Kind::ClusterDatabaseInstance => {
            update::<DatabaseInstanceStatus>(previous, |s| status::instance(s, outcome, None, now))
        }
        Kind::Database => update::<DatabaseStatus>(previous, |s| status::database(s, outcome, None, now)),
        Kind::DatabaseUser => update::<DatabaseUserStatus>(previous, |s| status::user(s, outcome, None, now)),
        Kind::DatabaseRole => update::<DatabaseRoleStatus>(previous, |s| status::role(s, outcome, None, now)),
        Kind::DatabaseGrant => {
            update::<DatabaseGrantStatus>(previous, |s| status::grant(s, outcome, None, now))
        }
        // Their reconcilers compute the status themselves (see `runs`).
        Kind::DatabaseBackup | Kind::DatabaseBackupSchedule | Kind::DatabaseRestore | Kind::OAuth2Client => {
            previous.clone()
        }
        Kind::DatabaseMigration => update::<DatabaseMigrationStatus>(previous, |s| {
            status::migration(
                s,
                outcome,
                migration.unwrap_or(&MigrationState::default()),
                None,
                now,
            )
        }),
    }
}

/// What the next run needs from a previous record.
pub fn hints_from(record: Option<&ObjectRecord>, manifest: &serde_json::Value) -> Hints {
    let Some(record) = record else {
        return Hints {
            spec_changed: true,
            first_apply: true,
            ..Hints::default()
        };
    };
    let database_level_scopes = record.extra["databaseLevelScopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|scope| {
            let grantee =
                dbprov_core::Name::parse(dbprov_core::NameKind::Role, scope["grantee"].as_str()?).ok()?;
            let database =
                dbprov_core::Name::parse(dbprov_core::NameKind::Database, scope["database"].as_str()?)
                    .ok()?;
            Some(GrantScope { grantee, database })
        })
        .collect();
    Hints {
        spec_changed: record.applied_spec_hash.as_deref() != Some(spec_hash(manifest).as_str()),
        password_fingerprint: record.extra["passwordFingerprint"].as_str().map(str::to_owned),
        database_level_scopes,
        first_apply: false,
    }
}

/// Bookkeeping for the next run.
pub fn extra_of(
    previous: Option<&ObjectRecord>,
    outcome: &Outcome,
    scopes: &[GrantScope],
) -> serde_json::Value {
    let mut extra = previous
        .map(|record| record.extra.clone())
        .unwrap_or_else(|| serde_json::json!({}));
    if !extra.is_object() {
        extra = serde_json::json!({});
    }
    if let Some(fingerprint) = &outcome.password_fingerprint {
        extra["passwordFingerprint"] = serde_json::Value::from(fingerprint.clone());
    }
    if outcome.is_ok() {
        extra["databaseLevelScopes"] = scopes
            .iter()
            .map(|scope| serde_json::json!({"grantee": scope.grantee.as_str(), "database": scope.database.as_str()}))
            .collect();
    }
    extra
}
