//! What the operator tells the shared reconciler about an object's history: whether the declaration changed
//! since it was last applied, and the fingerprint of the password last set.

use dbprov_api::Resource;
use dbprov_api::conditions::{ConditionStatus, ConditionType, find};
use dbprov_api::convert::password::{PasswordSource, password_source};
use dbprov_reconcile::StoredSecret;
use dbprov_reconcile::prepare::Hints;

use crate::annotations::ANNOTATION_PASSWORD_FINGERPRINT;
use crate::status::object_status;

/// Whether the declaration must be applied whatever the drift policy: its generation was never reconciled
/// (`metadata.generation != status.observedGeneration`), or the last reconcile failed (so it may never have
/// been applied completely).
pub fn spec_changed(resource: &Resource) -> bool {
    let Some(status) = object_status(resource) else {
        return true;
    };
    let generation = resource.metadata().generation;
    if generation.is_none() || status.observed_generation() != generation {
        return true;
    }
    find(status.conditions(), ConditionType::Ready)
        .is_none_or(|ready| ready.status != ConditionStatus::True.as_str())
}

/// The credentials Secret dbprov manages for a user (namespace, name); `None` for other kinds and for users
/// whose password comes from `existingPasswordSecret` (not dbprov's to annotate).
pub fn managed_credentials(resource: &Resource) -> Option<(String, String)> {
    let Resource::DatabaseUser(user) = resource else {
        return None;
    };
    match password_source(user).ok()? {
        PasswordSource::Managed(managed) => Some((
            user.metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
            managed.name,
        )),
        PasswordSource::Existing { .. } => None,
    }
}

/// The fingerprint recorded on a managed credentials Secret.
pub fn recorded_fingerprint(secret: &StoredSecret) -> Option<String> {
    secret.annotations.get(ANNOTATION_PASSWORD_FINGERPRINT).cloned()
}

/// The hints for one object; `credentials` is its managed credentials Secret as stored, when it has one.
///
/// Users whose password comes from `existingPasswordSecret` get no fingerprint: on engines that cannot verify a
/// stored password (MySQL/MariaDB), it is then set on every reconcile.
pub fn hints(resource: &Resource, credentials: Option<&StoredSecret>) -> Hints {
    Hints {
        spec_changed: spec_changed(resource),
        password_fingerprint: credentials.and_then(recorded_fingerprint),
        database_level_scopes: Default::default(),
        first_apply: false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use dbprov_api::conditions::{reason, set_condition};
    use dbprov_api::v1alpha1::{Database, DatabaseStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn database(generation: i64, observed: Option<i64>, ready: Option<ConditionStatus>) -> Resource {
        let mut object: Database = serde_json::from_value(serde_json::json!({
            "apiVersion": "dbops.dbprovision.io/v1alpha1",
            "kind": "Database",
            "metadata": {"name": "app", "namespace": "default", "generation": generation},
            "spec": {"instanceRef": {"name": "pg"}, "name": "app"}
        }))
        .expect("valid database");
        if observed.is_some() || ready.is_some() {
            let mut status = DatabaseStatus {
                observed_generation: observed,
                ..DatabaseStatus::default()
            };
            if let Some(ready) = ready {
                set_condition(
                    &mut status.conditions,
                    ConditionType::Ready,
                    ready,
                    reason::RECONCILE_SUCCESS,
                    "",
                    observed,
                    Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
                );
            }
            object.status = Some(status);
        }
        Resource::Database(Box::new(object))
    }

    #[test]
    fn a_new_or_edited_object_is_a_declaration_change() {
        assert!(spec_changed(&database(1, None, None)), "never reconciled");
        assert!(
            spec_changed(&database(2, Some(1), Some(ConditionStatus::True))),
            "edited"
        );
        assert!(
            !spec_changed(&database(2, Some(2), Some(ConditionStatus::True))),
            "in sync"
        );
    }

    #[test]
    fn a_failed_last_reconcile_counts_as_a_change() {
        assert!(spec_changed(&database(2, Some(2), Some(ConditionStatus::False))));
        assert!(spec_changed(&database(2, Some(2), None)));
    }

    #[test]
    fn the_fingerprint_comes_from_the_managed_secret() {
        let secret = StoredSecret {
            annotations: BTreeMap::from([(ANNOTATION_PASSWORD_FINGERPRINT.to_owned(), "abc".to_owned())]),
            ..StoredSecret::default()
        };
        let resource = database(1, None, None);
        assert_eq!(
            hints(&resource, Some(&secret)).password_fingerprint.as_deref(),
            Some("abc")
        );
        assert_eq!(hints(&resource, None).password_fingerprint, None);
        assert_eq!(recorded_fingerprint(&StoredSecret::default()), None);
    }

    #[test]
    fn only_managed_user_secrets_carry_fingerprints() {
        let user = |spec: serde_json::Value| {
            Resource::DatabaseUser(Box::new(
                serde_json::from_value(serde_json::json!({
                    "apiVersion": "dbops.dbprovision.io/v1alpha1",
                    "kind": "DatabaseUser",
                    "metadata": {"name": "app", "namespace": "team"},
                    "spec": spec
                }))
                .expect("valid user"),
            ))
        };
        assert_eq!(
            managed_credentials(&user(
                serde_json::json!({"instanceRef": {"name": "pg"}, "username": "app"})
            )),
            Some(("team".to_owned(), "app-credentials".to_owned()))
        );
        assert_eq!(
            managed_credentials(&user(serde_json::json!({
                "instanceRef": {"name": "pg"},
                "username": "app",
                "existingPasswordSecret": {"name": "mine", "key": "password"}
            }))),
            None
        );
        assert_eq!(managed_credentials(&database(1, None, None)), None);
    }
}
