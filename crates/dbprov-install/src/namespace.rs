//! The operator's namespace.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::names::labels;
use crate::settings::Settings;

/// The namespace the operator runs in. Pod Security labels are left to the cluster's policy: applying them
/// here would change an existing namespace the user chose to share.
pub(crate) fn namespace(settings: &Settings) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(settings.namespace.clone()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}
