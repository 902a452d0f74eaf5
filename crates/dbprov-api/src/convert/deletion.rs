//! What deleting an object does, from its spec or (users, roles) the upstream annotations.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::document::Resource;
use crate::error::{FieldError, FieldPath};
use crate::v1alpha1::DeletionPolicy;

/// Upstream annotation carrying a user's or role's deletion policy (`Retain` or `Delete`).
pub const ANNOTATION_DELETION_POLICY: &str = "dbops.dbprovision.io/deletion-policy";
/// Upstream annotation protecting a user or role from deletion (`"true"`).
pub const ANNOTATION_DELETION_PROTECTION: &str = "dbops.dbprovision.io/deletion-protection";
/// Overrides deletion protection when `"true"`.
pub const ANNOTATION_FORCE_DELETE: &str = "dbops.dbprovision.io/force-delete";
/// Makes the operator (and the CLI) skip the object when `"true"`.
pub const ANNOTATION_SKIP_RECONCILE: &str = "dbops.dbprovision.io/skip-reconcile";

/// What deleting an object does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletionSettings {
    /// `Retain` keeps the server object; `Delete` drops it. Instances and grants are always `Retain`
    /// (deleting a grant revokes its privileges regardless).
    pub policy: DeletionPolicy,
    /// Deletion is refused unless forced.
    pub protected: bool,
    /// The field or annotation to change to lift the protection, for messages.
    pub protection_source: &'static str,
}

/// Whether the `force-delete` annotation is `"true"`.
pub fn force_delete(metadata: &ObjectMeta) -> bool {
    annotation(metadata, ANNOTATION_FORCE_DELETE) == Some("true")
}

fn annotation<'a>(metadata: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

fn annotated_policy(metadata: &ObjectMeta) -> Result<Option<DeletionPolicy>, FieldError> {
    let path = FieldPath::root("metadata")
        .field("annotations")
        .key(ANNOTATION_DELETION_POLICY);
    match annotation(metadata, ANNOTATION_DELETION_POLICY) {
        None => Ok(None),
        Some("Retain") => Ok(Some(DeletionPolicy::Retain)),
        Some("Delete") => Ok(Some(DeletionPolicy::Delete)),
        Some("Snapshot") => Err(FieldError::unsupported(path, "Snapshot (use Retain or Delete)")),
        Some(other) => Err(FieldError::invalid(
            path,
            format!("{other:?} is not Retain or Delete"),
        )),
    }
}

/// The deletion settings of an object.
pub fn deletion_settings(resource: &Resource) -> Result<DeletionSettings, FieldError> {
    let annotation_protection =
        |metadata: &ObjectMeta| annotation(metadata, ANNOTATION_DELETION_PROTECTION) == Some("true");
    let settings = match resource {
        Resource::DatabaseInstance(object) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: object.spec.deletion_protection,
            protection_source: "spec.deletionProtection",
        },
        Resource::ClusterDatabaseInstance(object) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: object.spec.0.deletion_protection,
            protection_source: "spec.deletionProtection",
        },
        Resource::Database(object) => DeletionSettings {
            policy: object.spec.deletion_policy,
            protected: object.spec.deletion_protection,
            protection_source: "spec.deletionProtection",
        },
        Resource::DatabaseUser(object) => DeletionSettings {
            policy: match object.spec.deletion_policy {
                Some(policy) => policy,
                None => annotated_policy(&object.metadata)?.unwrap_or_default(),
            },
            protected: annotation_protection(&object.metadata),
            protection_source: "metadata.annotations[\"dbops.dbprovision.io/deletion-protection\"]",
        },
        Resource::DatabaseRole(object) => DeletionSettings {
            policy: annotated_policy(&object.metadata)?.unwrap_or_default(),
            protected: annotation_protection(&object.metadata),
            protection_source: "metadata.annotations[\"dbops.dbprovision.io/deletion-protection\"]",
        },
        Resource::DatabaseGrant(object) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: object.spec.deletion_protection,
            protection_source: "spec.deletionProtection",
        },
        // Deleting a migration object never rolls the schema back.
        Resource::DatabaseMigration(_) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: false,
            protection_source: "",
        },
        // Deleting a backup's or a restore's object keeps the artifact and the restored data; artifacts are
        // deleted only by a schedule's retention.
        Resource::DatabaseBackup(_) | Resource::DatabaseRestore(_) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: false,
            protection_source: "",
        },
        Resource::DatabaseBackupSchedule(object) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: object.spec.deletion_protection,
            protection_source: "spec.deletionProtection",
        },
        Resource::OAuth2Client(object) => DeletionSettings {
            policy: object.spec.deletion_policy,
            protected: false,
            protection_source: "",
        },
        Resource::Secret(_) => DeletionSettings {
            policy: DeletionPolicy::Retain,
            protected: false,
            protection_source: "",
        },
    };
    if settings.policy == DeletionPolicy::Snapshot {
        return Err(FieldError::unsupported(
            FieldPath::root("spec").field("deletionPolicy"),
            "Snapshot (use Retain or Delete)",
        ));
    }
    Ok(settings)
}
