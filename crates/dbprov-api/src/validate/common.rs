//! Checks shared by several kinds.

use dbprov_core::EngineKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::convert::deletion::{ANNOTATION_DELETION_POLICY, ANNOTATION_DELETION_PROTECTION};
use crate::duration::parse_go_duration;
use crate::error::{Errors, FieldPath};
use crate::v1alpha1::{ClusterInstanceReference, DriftMode, DriftPolicy, InstanceReference, Unsupported};

/// Whether `value` is a Kubernetes object name (an RFC 1123 subdomain).
pub(crate) fn is_dns_subdomain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `value` is a Kubernetes namespace name (an RFC 1123 label).
pub(crate) fn is_dns_label(value: &str) -> bool {
    value.len() <= 63 && !value.contains('.') && is_dns_subdomain(value)
}

pub(crate) fn metadata(errors: &mut Errors, metadata: &ObjectMeta, namespaced: bool) {
    let path = FieldPath::root("metadata");
    match metadata.name.as_deref() {
        None | Some("") => errors.required(&path.field("name")),
        Some(name) if !is_dns_subdomain(name) => errors.invalid(
            &path.field("name"),
            format!(
                "{name:?} is not a Kubernetes object name (lowercase letters, digits, '-' and '.', at most 253 characters)"
            ),
        ),
        Some(_) => {}
    }
    match metadata.namespace.as_deref() {
        Some(_) if !namespaced => errors.invalid(
            &path.field("namespace"),
            "a cluster-scoped object has no namespace",
        ),
        Some(namespace) if !is_dns_label(namespace) => errors.invalid(
            &path.field("namespace"),
            format!("{namespace:?} is not a namespace name"),
        ),
        _ => {}
    }
}

/// The upstream annotations that carry a user's or role's deletion settings.
pub(crate) fn deletion_annotations(errors: &mut Errors, metadata: &ObjectMeta) {
    let path = FieldPath::root("metadata").field("annotations");
    let annotations = metadata.annotations.as_ref();
    if let Some(value) = annotations.and_then(|map| map.get(ANNOTATION_DELETION_POLICY)) {
        let path = path.key(ANNOTATION_DELETION_POLICY);
        match value.as_str() {
            "Retain" | "Delete" => {}
            "Snapshot" => errors.unsupported(&path, "Snapshot (use Retain or Delete)"),
            other => errors.invalid(&path, format!("{other:?} is not Retain or Delete")),
        }
    }
    if let Some(value) = annotations.and_then(|map| map.get(ANNOTATION_DELETION_PROTECTION))
        && !matches!(value.as_str(), "true" | "false")
    {
        errors.invalid(
            &path.key(ANNOTATION_DELETION_PROTECTION),
            format!("{value:?} is not \"true\" or \"false\""),
        );
    }
}

/// Exactly one of `instanceRef` and `clusterInstanceRef`.
pub(crate) fn instance_refs(
    errors: &mut Errors,
    spec: &FieldPath,
    instance_ref: Option<&InstanceReference>,
    cluster_instance_ref: Option<&ClusterInstanceReference>,
) {
    match (instance_ref, cluster_instance_ref) {
        (None, None) => errors.invalid(spec, "either instanceRef or clusterInstanceRef must be specified"),
        (Some(_), Some(_)) => {
            errors.invalid(spec, "instanceRef and clusterInstanceRef are mutually exclusive")
        }
        (Some(reference), None) => {
            let path = spec.field("instanceRef");
            object_name(errors, &path.field("name"), &reference.name);
            if let Some(namespace) = &reference.namespace
                && !is_dns_label(namespace)
            {
                errors.invalid(
                    &path.field("namespace"),
                    format!("{namespace:?} is not a namespace name"),
                );
            }
        }
        (None, Some(reference)) => {
            object_name(
                errors,
                &spec.field("clusterInstanceRef").field("name"),
                &reference.name,
            );
        }
    }
}

/// A reference to a Kubernetes object by name.
pub(crate) fn object_name(errors: &mut Errors, path: &FieldPath, name: &str) {
    if name.is_empty() {
        errors.required(path);
    } else if !is_dns_subdomain(name) {
        errors.invalid(path, format!("{name:?} is not a Kubernetes object name"));
    }
}

pub(crate) fn drift_policy(errors: &mut Errors, path: &FieldPath, policy: Option<&DriftPolicy>) {
    let Some(policy) = policy else { return };
    match parse_go_duration(&policy.interval) {
        Err(message) => errors.invalid(&path.field("interval"), message),
        Ok(interval) if interval.is_zero() && policy.mode != DriftMode::Ignore => errors.invalid(
            &path.field("interval"),
            "must be longer than 0 unless mode is ignore",
        ),
        Ok(_) => {}
    }
}

/// An upstream section dbprov never implements.
pub(crate) fn never(errors: &mut Errors, path: &FieldPath, section: Option<&Unsupported>, why: &str) {
    if section.is_some() {
        errors.unsupported(path, why);
    }
}

/// An upstream feature section accepted only when it explicitly says `enabled: false`.
pub(crate) fn only_disabled(errors: &mut Errors, path: &FieldPath, section: Option<&Unsupported>, why: &str) {
    if let Some(section) = section
        && section.enabled() != Some(false)
    {
        errors.unsupported(path, format!("{why} (only `enabled: false` is accepted)"));
    }
}

/// An engine-specific section on an instance of another engine.
pub(crate) fn section_engine(
    errors: &mut Errors,
    path: &FieldPath,
    present: bool,
    engine: Option<EngineKind>,
    allowed: &[EngineKind],
) {
    if let Some(engine) = engine
        && present
        && !allowed.contains(&engine)
    {
        let names = allowed
            .iter()
            .map(|engine| engine.display_name())
            .collect::<Vec<_>>()
            .join(" and ");
        errors.invalid(
            path,
            format!("applies to {names} only, but the instance's engine is {engine}"),
        );
    }
}

/// A MySQL character set or collation name.
pub(crate) fn charset_name(errors: &mut Errors, path: &FieldPath, value: &str) {
    if value.is_empty() || !value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
        errors.invalid(
            path,
            format!("{value:?} is not a character set or collation name"),
        );
    }
}

/// A free-form server string (encoding, locale, version): not empty, no NUL byte.
pub(crate) fn server_string(errors: &mut Errors, path: &FieldPath, value: &str) {
    if value.is_empty() {
        errors.invalid(path, "must not be empty");
    } else if value.contains('\0') {
        errors.invalid(path, "must not contain a NUL byte");
    }
}
