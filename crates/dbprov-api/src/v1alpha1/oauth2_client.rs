//! `OAuth2Client` (dbprov addition): an OAuth2 client registered in a clientdb client database.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::v1alpha1::common::{DeletionPolicy, ObjectReference};
use crate::v1alpha1::migration::MigrationCredentials;
use crate::v1alpha1::status::{Phase, impl_object_status};

/// An OAuth2 client (client-credentials grant) registered in the `oauth2_clients` table of a `Database`
/// that clientdb serves. dbprov generates the client secret, writes it to a Secret (`client_id`,
/// `client_secret`, `token_url`) **before** registering it, keeps the registration in step with the spec, and
/// rotates the secret when `rotation.requestedAt` changes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "dbops.dbprovision.io",
    version = "v1alpha1",
    kind = "OAuth2Client",
    namespaced,
    status = "OAuth2ClientStatus",
    shortname = "oac",
    category = "dbprov",
    doc = "An OAuth2 client registered in a clientdb client database.",
    printcolumn(name = "Engine", type_ = "string", json_path = ".status.engine"),
    printcolumn(name = "Client", type_ = "string", json_path = ".status.clientId"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Database",
        type_ = "string",
        json_path = ".spec.databaseRef.name",
        priority = 1
    ),
    printcolumn(
        name = "Secret Version",
        type_ = "integer",
        json_path = ".status.secretVersion",
        priority = 1
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", priority = 1)
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [
    {"rule": "!has(oldSelf.clientId) || self.clientId == oldSelf.clientId", "message": "clientId is immutable"},
]))]
pub struct OAuth2ClientSpec {
    /// The `Database` holding the client table (its instance, name and engine). clientdb's schema is applied
    /// to it first unless `migrate: false`.
    pub database_ref: ObjectReference,
    /// The client id. Default: `metadata.name`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// A human-readable name. Default: `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Allowed grant types. Default `[client_credentials]` (the only grant clientdb serves).
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<String>,
    /// Allowed scopes (space-free tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Redirect URIs (recorded; the client-credentials grant does not use them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Whether the client is disabled (its tokens are refused and introspect inactive). Default false.
    #[serde(default, skip_serializing_if = "crate::v1alpha1::common::is_false")]
    pub disabled: bool,
    /// The Secret receiving `client_id`, `client_secret` and `token_url`. Default `<metadata.name>-oauth2-client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// The token endpoint of the clientdb service, written to the Secret as `token_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// Secret rotation on request: a new value of `requestedAt` rotates the secret once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<SecretRotationRequest>,
    /// Who connects to the client database. Default: the instance's admin credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<MigrationCredentials>,
    /// Apply clientdb's schema migrations (golang-migrate format, `schema_migrations`) first. Default true.
    #[serde(default = "crate::v1alpha1::common::default_true")]
    pub migrate: bool,
    /// `Retain` (default) keeps the registration when the object is deleted; `Delete` removes the client row.
    /// The Secret is deleted either way only with `Delete`.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

fn default_grant_types() -> Vec<String> {
    vec!["client_credentials".to_owned()]
}

/// A rotation request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRotationRequest {
    /// Any new value (a timestamp is conventional) rotates the secret once.
    pub requested_at: String,
    /// How long the previous secret keeps working (Go duration, e.g. `1h`). Default `0s`: revoked at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
}

/// Observed state of an OAuth2 client.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2ClientStatus {
    /// Derived from the conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// A human-readable summary of the last reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The engine of the client database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// The registered client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The secret version in the client table (1 at creation, +1 per rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_version: Option<i64>,
    /// The `rotation.requestedAt` value last carried out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_handled: Option<String>,
    /// When the secret last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<Time>,
    /// When the last reconcile finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<Time>,
    /// `Ready`, `Connected`, `Synced`, `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

impl_object_status!(OAuth2ClientStatus, no_drift);
