//! `DatabaseMigration`.

use crate::error::{Errors, FieldPath};
use crate::v1alpha1::DatabaseMigrationSpec;
use crate::validate::common;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseMigrationSpec) {
    let path = FieldPath::root("spec");
    common::object_name(
        errors,
        &path.field("databaseRef").field("name"),
        &spec.database_ref.name,
    );
    let source = &spec.source;
    let path_source = path.field("source");
    let given = usize::from(source.directory.is_some())
        + usize::from(source.config_map_ref.is_some())
        + usize::from(!source.inline.is_empty());
    if given != 1 {
        errors.invalid(
            &path_source,
            "exactly one of directory, configMapRef and inline must be set",
        );
    }
    if let Some(directory) = &source.directory
        && directory.trim().is_empty()
    {
        errors.invalid(&path_source.field("directory"), "must not be empty");
    }
    if let Some(reference) = &source.config_map_ref {
        common::object_name(
            errors,
            &path_source.field("configMapRef").field("name"),
            &reference.name,
        );
    }
    for (index, file) in source.inline.iter().enumerate() {
        let path = path_source.field("inline").index(index).field("name");
        if file.name.is_empty() || file.name.contains('/') || file.name.contains('\0') {
            errors.invalid(&path, "a file name (`000001_title.up.sql`), without directories");
        }
    }
    if let Some(table) = &spec.table
        && (table.is_empty() || table.contains('\0'))
    {
        errors.invalid(&path.field("table"), "must be a table name");
    }
    if spec.lock_timeout_seconds == Some(0) {
        errors.invalid(&path.field("lockTimeoutSeconds"), "must be at least 1");
    }
    if let Some(credentials) = &spec.credentials {
        common::object_name(
            errors,
            &path.field("credentials").field("userRef").field("name"),
            &credentials.user_ref.name,
        );
    }
}
