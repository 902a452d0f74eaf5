//! Fields that cannot change once the object exists.

use crate::document::Resource;
use crate::error::{FieldError, FieldErrorKind};

fn immutable(path: &str, what: &str, old: &str, new: &str) -> FieldError {
    FieldError::new(
        FieldErrorKind::Immutable,
        path,
        format!("{what} is immutable (was {old:?}, now {new:?}); create a new object instead"),
    )
}

/// Compares an object with its previous version: the engine, the database name, the username and the role
/// name cannot change (upstream's `self == oldSelf` rules, with the same messages' meaning).
pub fn validate_update(old: &Resource, new: &Resource) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    match (old, new) {
        (Resource::DatabaseInstance(old), Resource::DatabaseInstance(new))
            if old.spec.engine != new.spec.engine =>
        {
            errors.push(immutable(
                "spec.engine",
                "engine",
                old.spec.engine.as_str(),
                new.spec.engine.as_str(),
            ));
        }
        (Resource::ClusterDatabaseInstance(old), Resource::ClusterDatabaseInstance(new))
            if old.spec.0.engine != new.spec.0.engine =>
        {
            errors.push(immutable(
                "spec.engine",
                "engine",
                old.spec.0.engine.as_str(),
                new.spec.0.engine.as_str(),
            ));
        }
        (Resource::Database(old), Resource::Database(new)) if old.spec.name != new.spec.name => {
            errors.push(immutable(
                "spec.name",
                "database name",
                &old.spec.name,
                &new.spec.name,
            ));
        }
        (Resource::DatabaseUser(old), Resource::DatabaseUser(new))
            if old.spec.username != new.spec.username =>
        {
            errors.push(immutable(
                "spec.username",
                "username",
                &old.spec.username,
                &new.spec.username,
            ));
        }
        (Resource::DatabaseRole(old), Resource::DatabaseRole(new))
            if old.spec.role_name != new.spec.role_name =>
        {
            errors.push(immutable(
                "spec.roleName",
                "roleName",
                &old.spec.role_name,
                &new.spec.role_name,
            ));
        }
        (old, new) if old.kind_name() != new.kind_name() => errors.push(FieldError::new(
            FieldErrorKind::Immutable,
            "kind",
            format!(
                "kind is immutable (was {}, now {})",
                old.kind_name(),
                new.kind_name()
            ),
        )),
        _ => {}
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}
