//! Annotations and labels the operator reads and writes, all under `dbops.dbprovision.io/`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use dbprov_api::convert::deletion::{ANNOTATION_FORCE_DELETE, ANNOTATION_SKIP_RECONCILE};

/// Upstream's synonym of `skip-reconcile`.
pub const ANNOTATION_PAUSE_RECONCILE: &str = "dbops.dbprovision.io/pause-reconcile";
/// On a managed credentials Secret: the keyed fingerprint of the password last set on the server (see
/// `dbprov_reconcile::password::fingerprint`), so an unchanged password is not set again on engines that cannot
/// verify it.
pub const ANNOTATION_PASSWORD_FINGERPRINT: &str = "dbops.dbprovision.io/password-fingerprint";
/// On a credentials copy in the operator namespace: the Secret it copies (`namespace/name`).
pub const ANNOTATION_COPY_OF: &str = "dbops.dbprovision.io/copy-of";
/// Marks the operator's copies of instance credentials.
pub const LABEL_CREDENTIALS_COPY: &str = "dbops.dbprovision.io/credentials-copy";
/// Present on every credentials Secret dbprov (or db-provision-operator) writes for a `DatabaseUser`.
pub const LABEL_USER: &str = "dbops.dbprovision.io/user";
/// On a `DatabaseBackup`: deleting the object deletes its artifact first (`"true"`). A schedule's retention
/// sets it on the backups it removes; deleting a backup without it keeps the artifact.
pub const ANNOTATION_DELETE_ARTIFACT: &str = "dbops.dbprovision.io/delete-artifact";
/// The standard managed-by label.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";

fn annotation<'a>(metadata: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

/// Whether the object asks to be left alone (`skip-reconcile` or upstream's `pause-reconcile` set to
/// `"true"`). Checked before anything else, deletion included, as upstream does.
pub fn skip_reconcile(metadata: &ObjectMeta) -> bool {
    [ANNOTATION_SKIP_RECONCILE, ANNOTATION_PAUSE_RECONCILE]
        .iter()
        .any(|key| annotation(metadata, key) == Some("true"))
}

/// Whether `force-delete` is `"true"`.
pub fn force_delete(metadata: &ObjectMeta) -> bool {
    dbprov_api::convert::force_delete(metadata)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            annotations: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn skip_and_pause_need_exactly_true() {
        assert!(skip_reconcile(&meta(&[(ANNOTATION_SKIP_RECONCILE, "true")])));
        assert!(skip_reconcile(&meta(&[(ANNOTATION_PAUSE_RECONCILE, "true")])));
        assert!(!skip_reconcile(&meta(&[(ANNOTATION_SKIP_RECONCILE, "yes")])));
        assert!(!skip_reconcile(&meta(&[])));
        assert!(!skip_reconcile(&ObjectMeta::default()));
        assert!(force_delete(&meta(&[(ANNOTATION_FORCE_DELETE, "true")])));
        assert!(!force_delete(&meta(&[(ANNOTATION_FORCE_DELETE, "True")])));
    }
}
