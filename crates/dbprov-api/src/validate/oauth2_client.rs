//! `OAuth2Client`.

use crate::duration::parse_go_duration;
use crate::error::{Errors, FieldPath};
use crate::v1alpha1::{DeletionPolicy, OAuth2ClientSpec};
use crate::validate::common;

/// Tokens (scopes, grant types) are space-free printable ASCII, as RFC 6749 §3.3 has them.
fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|byte| (0x21..=0x7e).contains(&byte) && byte != b'"' && byte != b'\\')
}

pub(super) fn check(errors: &mut Errors, spec: &OAuth2ClientSpec) {
    let path = FieldPath::root("spec");
    common::object_name(
        errors,
        &path.field("databaseRef").field("name"),
        &spec.database_ref.name,
    );
    if let Some(client_id) = &spec.client_id
        && (client_id.is_empty() || client_id.len() > 255 || client_id.chars().any(char::is_control))
    {
        errors.invalid(
            &path.field("clientId"),
            "1 to 255 characters, no control characters",
        );
    }
    for (index, grant) in spec.grant_types.iter().enumerate() {
        if grant != "client_credentials" {
            errors.unsupported(
                &path.field("grantTypes").index(index),
                format!("grant type {grant:?} (clientdb serves client_credentials only)"),
            );
        }
    }
    for (index, scope) in spec.scopes.iter().enumerate() {
        if !is_token(scope) {
            errors.invalid(
                &path.field("scopes").index(index),
                "a scope is a token without spaces (RFC 6749 §3.3)",
            );
        }
    }
    if let Some(rotation) = &spec.rotation {
        if rotation.requested_at.is_empty() {
            errors.invalid(&path.field("rotation").field("requestedAt"), "must not be empty");
        }
        if let Some(grace) = &rotation.grace_period
            && let Err(message) = parse_go_duration(grace)
        {
            errors.invalid(&path.field("rotation").field("gracePeriod"), message);
        }
    }
    if spec.deletion_policy == DeletionPolicy::Snapshot {
        errors.unsupported(&path.field("deletionPolicy"), "Snapshot (use Retain or Delete)");
    }
    if let Some(credentials) = &spec.credentials {
        common::object_name(
            errors,
            &path.field("credentials").field("userRef").field("name"),
            &credentials.user_ref.name,
        );
    }
}
