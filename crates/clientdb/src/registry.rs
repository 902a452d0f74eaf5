//! Client administration: create, update, rotate, disable, enable and delete clients in a store.
//!
//! This is the API the CLI, the admin HTTP API, the bootstrap and the `OAuth2Client` reconciler share:
//!
//! ```no_run
//! # async fn example() -> Result<(), clientdb::registry::RegistryError> {
//! use clientdb::{ClientRegistry, HashPolicy, NewClient, RotateOptions};
//! let registry = ClientRegistry::connect("postgres://app:secret@db:5432/client_db", HashPolicy::default(), true).await?;
//! let created = registry.create(NewClient::new("billing").with_scopes(["read", "write"])).await?;
//! let rotated = registry.rotate_secret(&created.client.client_id, RotateOptions::default()).await?;
//! registry.disable(&created.client.client_id).await?;
//! # let _ = rotated; Ok(()) }
//! ```
//!
//! Secrets are hashed on the blocking thread pool (bcrypt cost 10 takes tens of milliseconds).

use std::time::Duration;

use chrono::{DateTime, Utc};
use dbprov_core::Secret;

use crate::config::{ConfigError, DatabaseConfig};
use crate::migrations::{self, MigrationError};
use crate::secret::{HashError, HashPolicy, SecretError, generate_secret, validate_provided_secret};
use crate::store::{ClientChanges, ClientRecord, NewClientRow, SecretRotation, Store, StoreError};

/// The grant this service issues tokens for.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The longest client_id, client name, grant type or scope accepted (the seeds' `VARCHAR(255)`).
pub const MAX_FIELD_LENGTH: usize = 255;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid database configuration")]
    Config(#[from] ConfigError),
    #[error("failed to apply the schema migrations")]
    Migrate(#[from] MigrationError),
    #[error("invalid hash policy")]
    Policy(#[source] HashError),
    #[error("failed to hash the secret of client {client_id:?}")]
    Hash {
        client_id: String,
        #[source]
        source: HashError,
    },
    #[error("invalid client secret for client {client_id:?}")]
    Secret {
        client_id: String,
        #[source]
        source: SecretError,
    },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("the hashing task failed")]
    Task(#[source] tokio::task::JoinError),
}

impl RegistryError {
    /// A stable label for metrics, HTTP status mapping and exit codes.
    pub fn kind(&self) -> &'static str {
        match self {
            RegistryError::Store(error) => error.kind(),
            RegistryError::Config(_) => "config",
            RegistryError::Migrate(error) => error.kind(),
            RegistryError::Policy(_) => "config",
            RegistryError::Hash { .. } | RegistryError::Task(_) => "hash",
            RegistryError::Secret { .. } | RegistryError::Invalid { .. } => "invalid",
        }
    }
}

/// A client to register.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// `None`: a random UUID.
    pub client_id: Option<String>,
    pub client_name: String,
    /// Default: `["client_credentials"]`.
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub created_by: Option<String>,
    /// `None`: a generated secret (≥ 256 bits).
    pub secret: Option<Secret>,
    /// When the secret expires (`None`: never).
    pub secret_expires_in: Option<Duration>,
    pub is_active: bool,
}

impl NewClient {
    pub fn new(client_name: impl Into<String>) -> Self {
        Self {
            client_id: None,
            client_name: client_name.into(),
            grant_types: vec![CLIENT_CREDENTIALS.to_owned()],
            scopes: Vec::new(),
            redirect_uris: Vec::new(),
            created_by: None,
            secret: None,
            secret_expires_in: None,
            is_active: true,
        }
    }

    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_grant_types<S: Into<String>>(mut self, grant_types: impl IntoIterator<Item = S>) -> Self {
        self.grant_types = grant_types.into_iter().map(Into::into).collect();
        self
    }

    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    pub fn with_created_by(mut self, created_by: impl Into<String>) -> Self {
        self.created_by = Some(created_by.into());
        self
    }
}

/// A created client and its secret, which is shown once and never stored in clear.
#[derive(Debug, Clone)]
pub struct CreatedClient {
    pub client: ClientRecord,
    pub secret: Secret,
}

#[derive(Debug, Clone, Default)]
pub struct RotateOptions {
    /// How long the replaced secret keeps working; zero revokes it (and any older retired secret) at once.
    pub grace_period: Duration,
    /// When the new secret expires (`None`: never).
    pub expires_in: Option<Duration>,
    /// `None`: a generated secret.
    pub secret: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct RotatedSecret {
    pub client_id: String,
    pub secret: Secret,
    pub secret_version: i64,
    /// Until when the previous secret still works (`None`: it stopped working now).
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub secret_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ClientRegistry {
    store: Store,
    policy: HashPolicy,
}

impl ClientRegistry {
    pub fn new(store: Store, policy: HashPolicy) -> Result<Self, RegistryError> {
        policy.validate().map_err(RegistryError::Policy)?;
        Ok(Self { store, policy })
    }

    /// Connects to the client database `database_url` names (`sqlite://…`, `postgres://…`, `mysql://…`),
    /// applying the embedded schema migrations first when `migrate` is true.
    pub async fn connect(
        database_url: &str,
        policy: HashPolicy,
        migrate: bool,
    ) -> Result<Self, RegistryError> {
        Self::connect_config(&DatabaseConfig::from_url(database_url)?, policy, migrate).await
    }

    /// Connects to a configured database (see [`DatabaseConfig`]; dbprov's reconciler passes a
    /// `DatabaseTarget::Connection`), applying the embedded schema migrations first when `migrate` is true.
    pub async fn connect_config(
        config: &DatabaseConfig,
        policy: HashPolicy,
        migrate: bool,
    ) -> Result<Self, RegistryError> {
        let store = Store::connect(config).await?;
        if migrate {
            migrations::up(config).await?;
        }
        Self::new(store, policy)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn policy(&self) -> &HashPolicy {
        &self.policy
    }

    pub async fn create(&self, new: NewClient) -> Result<CreatedClient, RegistryError> {
        let client_id = match new.client_id {
            Some(client_id) => client_id,
            None => uuid::Uuid::new_v4().to_string(),
        };
        validate_client_id(&client_id)?;
        validate_name(&new.client_name)?;
        let grant_types = validate_tokens("grant_types", new.grant_types)?;
        let scopes = validate_tokens("scopes", new.scopes)?;
        let redirect_uris = validate_redirect_uris(new.redirect_uris)?;
        let secret = self.secret_or_generated(&client_id, new.secret)?;
        let secret_hash = self.hash(&client_id, &secret).await?;
        let now = now();
        let row = NewClientRow {
            secret_expires_at: new.secret_expires_in.map(|expires_in| now + expires_in),
            client_id,
            secret_hash,
            client_name: new.client_name,
            grant_types,
            scopes,
            redirect_uris,
            is_active: new.is_active,
            created_by: new.created_by,
            now,
        };
        let client = self.store.insert(&row).await?;
        Ok(CreatedClient { client, secret })
    }

    pub async fn get(&self, client_id: &str) -> Result<ClientRecord, RegistryError> {
        self.store
            .client(client_id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                client_id: client_id.to_owned(),
            })
            .map_err(Into::into)
    }

    pub async fn find(&self, client_id: &str) -> Result<Option<ClientRecord>, RegistryError> {
        Ok(self.store.client(client_id).await?)
    }

    pub async fn list(&self) -> Result<Vec<ClientRecord>, RegistryError> {
        Ok(self.store.list().await?)
    }

    pub async fn update(
        &self,
        client_id: &str,
        changes: ClientChanges,
    ) -> Result<ClientRecord, RegistryError> {
        if let Some(name) = &changes.client_name {
            validate_name(name)?;
        }
        let changes = ClientChanges {
            client_name: changes.client_name,
            grant_types: changes
                .grant_types
                .map(|values| validate_tokens("grant_types", values))
                .transpose()?,
            scopes: changes
                .scopes
                .map(|values| validate_tokens("scopes", values))
                .transpose()?,
            redirect_uris: changes.redirect_uris.map(validate_redirect_uris).transpose()?,
        };
        Ok(self.store.update(client_id, &changes, now()).await?)
    }

    pub async fn rotate_secret(
        &self,
        client_id: &str,
        options: RotateOptions,
    ) -> Result<RotatedSecret, RegistryError> {
        let secret = self.secret_or_generated(client_id, options.secret)?;
        let new_hash = self.hash(client_id, &secret).await?;
        let now = now();
        let rotation = SecretRotation {
            new_hash,
            previous_valid_until: (!options.grace_period.is_zero()).then(|| now + options.grace_period),
            expires_at: options.expires_in.map(|expires_in| now + expires_in),
            now,
        };
        let outcome = self.store.rotate(client_id, &rotation).await?;
        Ok(RotatedSecret {
            client_id: client_id.to_owned(),
            secret,
            secret_version: outcome.secret_version,
            previous_valid_until: outcome.previous_valid_until,
            secret_expires_at: rotation.expires_at,
        })
    }

    pub async fn disable(&self, client_id: &str) -> Result<ClientRecord, RegistryError> {
        Ok(self.store.set_active(client_id, false, now()).await?)
    }

    pub async fn enable(&self, client_id: &str) -> Result<ClientRecord, RegistryError> {
        Ok(self.store.set_active(client_id, true, now()).await?)
    }

    /// Deletes a client; `false` when it did not exist (deleting is idempotent).
    pub async fn delete(&self, client_id: &str) -> Result<bool, RegistryError> {
        Ok(self.store.delete(client_id).await?)
    }

    fn secret_or_generated(&self, client_id: &str, secret: Option<Secret>) -> Result<Secret, RegistryError> {
        let error = |source| RegistryError::Secret {
            client_id: client_id.to_owned(),
            source,
        };
        match secret {
            Some(secret) => {
                validate_provided_secret(&secret, self.policy.max_secret_bytes()).map_err(error)?;
                Ok(secret)
            }
            None => generate_secret().map_err(error),
        }
    }

    async fn hash(&self, client_id: &str, secret: &Secret) -> Result<String, RegistryError> {
        let policy = self.policy.clone();
        let secret = secret.clone();
        tokio::task::spawn_blocking(move || policy.hash(secret.expose()))
            .await
            .map_err(RegistryError::Task)?
            .map_err(|source| RegistryError::Hash {
                client_id: client_id.to_owned(),
                source,
            })
    }

    /// Inserts a client whose secret is already hashed (the development client's fixed secret skips the
    /// length check that operator-chosen secrets get).
    pub(crate) async fn insert_prehashed(&self, row: NewClientRow) -> Result<ClientRecord, RegistryError> {
        validate_client_id(&row.client_id)?;
        Ok(self.store.insert(&row).await?)
    }
}

/// Now, truncated to microseconds: every engine stores at most that, so values read back compare equal.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// RFC 6749 `client_id`: VSCHAR (printable ASCII and space), here without surrounding spaces.
pub fn validate_client_id(client_id: &str) -> Result<(), RegistryError> {
    let invalid = |reason: &str| RegistryError::Invalid {
        field: "client_id",
        reason: reason.to_owned(),
    };
    if client_id.is_empty() || client_id.len() > MAX_FIELD_LENGTH {
        return Err(invalid("must be 1 to 255 characters"));
    }
    if !client_id.bytes().all(|byte| (0x20..=0x7e).contains(&byte)) {
        return Err(invalid("must be printable ASCII"));
    }
    if client_id.trim() != client_id {
        return Err(invalid("must not start or end with a space"));
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), RegistryError> {
    if name.trim().is_empty() || name.chars().count() > MAX_FIELD_LENGTH || name.chars().any(char::is_control)
    {
        return Err(RegistryError::Invalid {
            field: "client_name",
            reason: "must be 1 to 255 characters without control characters".into(),
        });
    }
    Ok(())
}

/// Scopes and grant types: RFC 6749 scope-tokens (`%x21 / %x23-5B / %x5D-7E`), deduplicated, order kept.
pub fn validate_tokens(field: &'static str, values: Vec<String>) -> Result<Vec<String>, RegistryError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if value.is_empty() || value.len() > MAX_FIELD_LENGTH || !value.bytes().all(is_scope_char) {
            return Err(RegistryError::Invalid {
                field,
                reason: format!(
                    "{:?} is not a valid token (printable ASCII without space, '\"' or '\\\\')",
                    value.chars().take(60).collect::<String>()
                ),
            });
        }
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

/// RFC 6749 §3.3 scope-token characters.
pub fn is_scope_char(byte: u8) -> bool {
    byte == 0x21 || (0x23..=0x5b).contains(&byte) || (0x5d..=0x7e).contains(&byte)
}

fn validate_redirect_uris(values: Vec<String>) -> Result<Vec<String>, RegistryError> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let parsed = url::Url::parse(&value).map_err(|error| RegistryError::Invalid {
            field: "redirect_uris",
            reason: format!(
                "{:?} is not an absolute URI ({error})",
                value.chars().take(80).collect::<String>()
            ),
        })?;
        if parsed.fragment().is_some() {
            return Err(RegistryError::Invalid {
                field: "redirect_uris",
                reason: format!("{value:?} has a fragment (RFC 6749 §3.1.2)"),
            });
        }
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids() {
        assert!(validate_client_id("svc:a+b%c").is_ok());
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id(" x").is_err());
        assert!(validate_client_id("tab\there").is_err());
        assert!(validate_client_id("é").is_err());
        assert!(validate_client_id(&"x".repeat(256)).is_err());
    }

    #[test]
    fn scope_tokens() {
        assert_eq!(
            validate_tokens("scopes", vec!["read".into(), "write".into(), "read".into()]).unwrap(),
            ["read", "write"]
        );
        assert!(validate_tokens("scopes", vec!["has space".into()]).is_err());
        assert!(validate_tokens("scopes", vec!["quote\"".into()]).is_err());
        assert!(validate_tokens("scopes", vec![String::new()]).is_err());
    }

    #[test]
    fn redirect_uris() {
        assert!(validate_redirect_uris(vec!["https://app.example/cb".into()]).is_ok());
        assert!(validate_redirect_uris(vec!["/relative".into()]).is_err());
        assert!(validate_redirect_uris(vec!["https://a.example/cb#x".into()]).is_err());
    }
}
