//! Pure validation: everything that can be checked before connecting, with the exact field path.
//!
//! * [`validate`] needs only the object: metadata, references, enums, ports, durations, privilege keywords,
//!   templates, and every upstream field dbprov does not implement.
//! * [`validate_for_engine`] adds what depends on the engine of the object's instance (known once references
//!   are resolved): engine name limits, engine-specific sections (`postgres:` on a MySQL instance is an error),
//!   MySQL- vs MariaDB-only options and privileges.
//! * [`validate_update`] compares an object with its previous version: immutable fields.

mod backup;
mod backup_schedule;
mod common;
mod database;
mod grant;
mod immutable;
mod instance;
mod migration;
mod oauth2_client;
mod restore;
mod role;
mod user;

use dbprov_core::EngineKind;

pub use immutable::validate_update;

use crate::document::Resource;
use crate::error::{Errors, FieldError};

/// Checks an object on its own (no engine known for objects other than instances).
pub fn validate(resource: &Resource) -> Result<(), Vec<FieldError>> {
    check(resource, None)
}

/// Checks an object against the engine of its instance. For an instance, `engine` must be its own.
pub fn validate_for_engine(resource: &Resource, engine: EngineKind) -> Result<(), Vec<FieldError>> {
    check(resource, Some(engine))
}

fn check(resource: &Resource, engine: Option<EngineKind>) -> Result<(), Vec<FieldError>> {
    let mut errors = Errors::default();
    match resource {
        Resource::DatabaseInstance(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            instance::check(&mut errors, &object.spec, false);
        }
        Resource::ClusterDatabaseInstance(object) => {
            common::metadata(&mut errors, &object.metadata, false);
            instance::check(&mut errors, &object.spec.0, true);
        }
        Resource::Database(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            database::check(&mut errors, &object.spec, engine);
        }
        Resource::DatabaseUser(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            common::deletion_annotations(&mut errors, &object.metadata);
            user::check(&mut errors, object, engine);
        }
        Resource::DatabaseRole(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            common::deletion_annotations(&mut errors, &object.metadata);
            role::check(&mut errors, &object.spec, engine);
        }
        Resource::DatabaseGrant(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            grant::check(&mut errors, &object.spec, engine);
        }
        Resource::DatabaseMigration(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            migration::check(&mut errors, &object.spec);
        }
        Resource::DatabaseBackup(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            backup::check(&mut errors, &object.spec, engine);
        }
        Resource::DatabaseBackupSchedule(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            backup_schedule::check(&mut errors, &object.spec, engine);
        }
        Resource::DatabaseRestore(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            restore::check(&mut errors, &object.spec, engine);
        }
        Resource::OAuth2Client(object) => {
            common::metadata(&mut errors, &object.metadata, true);
            oauth2_client::check(&mut errors, &object.spec);
        }
        Resource::Secret(object) => {
            common::metadata(&mut errors, &object.metadata, true);
        }
    }
    errors.finish()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_backup;
