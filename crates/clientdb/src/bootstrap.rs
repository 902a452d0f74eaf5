//! Start-up clients, created idempotently on every start.
//!
//! * The bootstrap (admin) client: `BOOTSTRAP_CLIENT_ID` with `BOOTSTRAP_CLIENT_SECRET`, or, when no secret is
//!   given, the one in `BOOTSTRAP_CLIENT_SECRET_FILE` (generated and written there with mode 0600 the first
//!   time). An existing client is left exactly as it is: a secret rotated since is never overwritten and a
//!   disabled client is never revived.
//! * With `--dev`, the seeds' `dev-client` / `dev-secret-123`, for local development only.

use std::path::{Path, PathBuf};

use dbprov_core::Secret;

use crate::registry::{CLIENT_CREDENTIALS, ClientRegistry, NewClient, RegistryError};
use crate::secret::generate_secret;
use crate::store::{NewClientRow, StoreError};

/// The seeds' development client.
pub const DEV_CLIENT_ID: &str = "dev-client";
/// The seeds' development secret: public, so `--dev` must never reach production.
pub const DEV_CLIENT_SECRET: &str = "dev-secret-123";

#[derive(Debug, Clone)]
pub struct BootstrapSettings {
    /// `BOOTSTRAP_CLIENT_ID`; `None` skips the bootstrap client.
    pub client_id: Option<String>,
    /// `BOOTSTRAP_CLIENT_SECRET`.
    pub secret: Option<Secret>,
    /// `BOOTSTRAP_CLIENT_SECRET_FILE` (default `bootstrap-client-secret`): where a generated secret is kept.
    pub secret_file: PathBuf,
    /// `BOOTSTRAP_CLIENT_SCOPES` (default `admin`).
    pub scopes: Vec<String>,
    /// `--dev`: also create `dev-client`.
    pub dev: bool,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self {
            client_id: None,
            secret: None,
            secret_file: PathBuf::from("bootstrap-client-secret"),
            scopes: vec!["admin".to_owned()],
            dev: false,
        }
    }
}

/// What happened to one start-up client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    Created {
        client_id: String,
    },
    /// Left untouched (whatever its secret or state).
    Exists {
        client_id: String,
        active: bool,
    },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BootstrapError {
    #[error("failed to bootstrap client {client_id:?}")]
    Registry {
        client_id: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("failed to read the bootstrap secret file {}", path.display())]
    ReadSecret {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write the bootstrap secret file {}", path.display())]
    WriteSecret {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the bootstrap secret file {} is empty", path.display())]
    EmptySecretFile { path: PathBuf },
}

/// Creates the configured start-up clients that do not exist yet.
pub async fn bootstrap(
    registry: &ClientRegistry,
    settings: &BootstrapSettings,
) -> Result<Vec<BootstrapOutcome>, BootstrapError> {
    let mut outcomes = Vec::new();
    if let Some(client_id) = &settings.client_id {
        outcomes.push(bootstrap_admin(registry, client_id, settings).await?);
    }
    if settings.dev {
        outcomes.push(bootstrap_dev(registry).await?);
    }
    Ok(outcomes)
}

async fn existing(
    registry: &ClientRegistry,
    client_id: &str,
) -> Result<Option<BootstrapOutcome>, BootstrapError> {
    let found = registry
        .find(client_id)
        .await
        .map_err(|source| BootstrapError::Registry {
            client_id: client_id.to_owned(),
            source: Box::new(source),
        })?;
    Ok(found.map(|client| {
        tracing::info!(
            client_id,
            active = client.is_active,
            secret_version = client.secret_version,
            "bootstrap client already exists; leaving it unchanged"
        );
        BootstrapOutcome::Exists {
            client_id: client_id.to_owned(),
            active: client.is_active,
        }
    }))
}

async fn bootstrap_admin(
    registry: &ClientRegistry,
    client_id: &str,
    settings: &BootstrapSettings,
) -> Result<BootstrapOutcome, BootstrapError> {
    if let Some(outcome) = existing(registry, client_id).await? {
        return Ok(outcome);
    }
    let secret = match &settings.secret {
        Some(secret) => secret.clone(),
        None => secret_from_file(&settings.secret_file)?,
    };
    let new = NewClient::new("Bootstrap admin client")
        .with_client_id(client_id)
        .with_scopes(settings.scopes.clone())
        .with_grant_types([CLIENT_CREDENTIALS])
        .with_created_by("bootstrap")
        .with_secret(secret);
    created(registry.create(new).await.map(|_| ()), client_id)
}

async fn bootstrap_dev(registry: &ClientRegistry) -> Result<BootstrapOutcome, BootstrapError> {
    tracing::warn!(
        client_id = DEV_CLIENT_ID,
        "INSECURE: --dev creates the development client with the publicly known secret `{DEV_CLIENT_SECRET}`; never use --dev in production"
    );
    if let Some(outcome) = existing(registry, DEV_CLIENT_ID).await? {
        return Ok(outcome);
    }
    let policy = registry.policy().clone();
    let hash = tokio::task::spawn_blocking(move || policy.hash(DEV_CLIENT_SECRET))
        .await
        .map_err(|error| BootstrapError::Registry {
            client_id: DEV_CLIENT_ID.to_owned(),
            source: Box::new(RegistryError::Task(error)),
        })?
        .map_err(|source| BootstrapError::Registry {
            client_id: DEV_CLIENT_ID.to_owned(),
            source: Box::new(RegistryError::Hash {
                client_id: DEV_CLIENT_ID.to_owned(),
                source,
            }),
        })?;
    let row = NewClientRow {
        client_id: DEV_CLIENT_ID.to_owned(),
        secret_hash: hash,
        secret_expires_at: None,
        client_name: "Development client (insecure)".to_owned(),
        grant_types: vec![CLIENT_CREDENTIALS.to_owned()],
        scopes: vec!["read".to_owned(), "write".to_owned()],
        redirect_uris: Vec::new(),
        is_active: true,
        created_by: Some("dev".to_owned()),
        now: crate::registry::now(),
    };
    created(registry.insert_prehashed(row).await.map(|_| ()), DEV_CLIENT_ID)
}

fn created(result: Result<(), RegistryError>, client_id: &str) -> Result<BootstrapOutcome, BootstrapError> {
    match result {
        Ok(()) => {
            tracing::info!(client_id, "created bootstrap client");
            Ok(BootstrapOutcome::Created {
                client_id: client_id.to_owned(),
            })
        }
        // Another replica created it between our lookup and our insert: that is the idempotent outcome.
        Err(RegistryError::Store(StoreError::AlreadyExists { .. })) => {
            tracing::info!(
                client_id,
                "bootstrap client was created concurrently by another instance"
            );
            Ok(BootstrapOutcome::Exists {
                client_id: client_id.to_owned(),
                active: true,
            })
        }
        Err(source) => Err(BootstrapError::Registry {
            client_id: client_id.to_owned(),
            source: Box::new(source),
        }),
    }
}

/// The secret kept in `path`, or a new one written there (mode 0600, never replacing a file) first, so a
/// generated secret is never lost between creating the client and telling the operator.
fn secret_from_file(path: &Path) -> Result<Secret, BootstrapError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let secret = text.trim_end_matches(['\n', '\r']);
            if secret.is_empty() {
                return Err(BootstrapError::EmptySecretFile {
                    path: path.to_owned(),
                });
            }
            Ok(Secret::new(secret))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let secret = generate_secret().map_err(|error| BootstrapError::WriteSecret {
                path: path.to_owned(),
                source: std::io::Error::other(error),
            })?;
            match crate::private_file::write_private_file(path, format!("{}\n", secret.expose()).as_bytes()) {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "generated the bootstrap client secret (mode 0600)");
                    Ok(secret)
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => secret_from_file(path),
                Err(source) => Err(BootstrapError::WriteSecret {
                    path: path.to_owned(),
                    source,
                }),
            }
        }
        Err(source) => Err(BootstrapError::ReadSecret {
            path: path.to_owned(),
            source,
        }),
    }
}
