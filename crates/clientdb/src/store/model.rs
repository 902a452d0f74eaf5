//! What the store reads and writes.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One registered client, without its secret hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientRecord {
    pub client_id: String,
    pub client_name: String,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<String>,
    /// Starts at 1; every rotation adds one.
    pub secret_version: i64,
    /// When the current secret stops working (`None`: never).
    pub secret_expires_at: Option<DateTime<Utc>>,
}

impl ClientRecord {
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|grant| grant == grant_type)
    }
}

/// A previous secret that still works until `expires_at` (the rotation's grace period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetiredSecret {
    pub version: i64,
    pub secret_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// Everything authentication needs, read with one primary-key lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client: ClientRecord,
    pub secret_hash: String,
    /// All retired secrets on record, expired ones included (callers compare with their clock).
    pub retired: Vec<RetiredSecret>,
}

/// A row to insert.
#[derive(Debug, Clone)]
pub struct NewClientRow {
    pub client_id: String,
    pub secret_hash: String,
    pub secret_expires_at: Option<DateTime<Utc>>,
    pub client_name: String,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub is_active: bool,
    pub created_by: Option<String>,
    pub now: DateTime<Utc>,
}

/// Changes to a client's registration; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientChanges {
    pub client_name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
}

impl ClientChanges {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// A new current secret.
#[derive(Debug, Clone)]
pub struct SecretRotation {
    pub new_hash: String,
    /// Until when the replaced secret keeps working; `None` revokes it and every older retired secret now.
    pub previous_valid_until: Option<DateTime<Utc>>,
    /// When the new secret expires (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// The outcome of a rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationOutcome {
    pub secret_version: i64,
    pub previous_valid_until: Option<DateTime<Utc>>,
}
