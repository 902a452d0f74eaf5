//! `clientdb serve`, as a library: connect (with retries), migrate, bootstrap, load or generate the signing
//! keys, bind, serve. Tests start the same server in-process on `127.0.0.1:0`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dbprov_core::Secret;
use tokio::net::TcpListener;

use crate::auth::{AuthSettings, AuthSetupError, Authenticator};
use crate::bootstrap::{BootstrapError, BootstrapSettings, bootstrap};
use crate::config::DatabaseConfig;
use crate::http::{AppState, DEFAULT_TOKEN_LIFETIME, router, serve};
use crate::metrics::Metrics;
use crate::migrations::{self, MigrationError};
use crate::registry::{ClientRegistry, RegistryError};
use crate::store::{Store, StoreError};
use crate::token::{DEFAULT_SIGNING_ALGORITHM, KeyError, KeySet, SigningAlgorithm, TokenIssuer};

/// The default listen address (`CLIENTDB_LISTEN`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The default signing key file, generated on first start when missing.
pub const DEFAULT_SIGNING_KEY: &str = "clientdb-signing-key.pem";

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub database: DatabaseConfig,
    pub listen: String,
    /// Apply the embedded migrations at start-up (`--no-migrate` turns it off and checks the version instead).
    pub migrate: bool,
    /// The `iss` claim and the base of the metadata URLs; default `http://<bound address>`.
    pub issuer: Option<String>,
    /// The `aud` claim; default: the issuer.
    pub audience: Vec<String>,
    pub token_lifetime: Duration,
    /// A PEM file or a directory of them; generated when missing.
    pub signing_key: PathBuf,
    /// The algorithm of a generated key ([`DEFAULT_SIGNING_ALGORITHM`]: EdDSA).
    pub signing_algorithm: SigningAlgorithm,
    pub auth: AuthSettings,
    /// The admin API's bearer token; `None` leaves the admin API off.
    pub admin_token: Option<Secret>,
    pub bootstrap: BootstrapSettings,
}

impl ServeSettings {
    pub fn new(database: DatabaseConfig) -> Self {
        Self {
            database,
            listen: DEFAULT_LISTEN.to_owned(),
            migrate: true,
            issuer: None,
            audience: Vec::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            signing_key: PathBuf::from(DEFAULT_SIGNING_KEY),
            signing_algorithm: DEFAULT_SIGNING_ALGORITHM,
            auth: AuthSettings::default(),
            admin_token: None,
            bootstrap: BootstrapSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error(transparent)]
    Store(Box<StoreError>),
    #[error(transparent)]
    Migrate(Box<MigrationError>),
    #[error(transparent)]
    Registry(Box<RegistryError>),
    #[error(transparent)]
    Bootstrap(Box<BootstrapError>),
    #[error("failed to load the signing keys")]
    Keys(#[from] KeyError),
    #[error("failed to set up client authentication")]
    Auth(#[from] AuthSetupError),
    #[error("failed to listen on {address}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid issuer {issuer:?}: {reason}")]
    Issuer { issuer: String, reason: String },
}

macro_rules! boxed_from {
    ($($variant:ident($error:ty)),*) => {
        $(impl From<$error> for ServeError {
            fn from(error: $error) -> Self {
                ServeError::$variant(Box::new(error))
            }
        })*
    };
}

boxed_from!(
    Store(StoreError),
    Migrate(MigrationError),
    Registry(RegistryError),
    Bootstrap(BootstrapError)
);

impl ServeError {
    /// A stable label (the wrapped error's kind where there is one).
    pub fn kind(&self) -> &'static str {
        match self {
            ServeError::Store(error) => error.kind(),
            ServeError::Migrate(error) => error.kind(),
            ServeError::Registry(error) => error.kind(),
            ServeError::Bootstrap(_) => "bootstrap",
            ServeError::Keys(_) => "keys",
            ServeError::Auth(_) => "config",
            ServeError::Bind { .. } => "bind",
            ServeError::Issuer { .. } => "config",
        }
    }
}

/// A started server: connected, migrated, bootstrapped and bound, not yet serving.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
    local_addr: SocketAddr,
    store: Store,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    pub async fn start(settings: ServeSettings) -> Result<Self, ServeError> {
        let store = Store::connect(&settings.database).await?;
        if settings.migrate {
            migrations::up(&settings.database).await?;
        } else {
            migrations::ensure_current(&settings.database).await?;
        }
        let registry = ClientRegistry::new(store.clone(), settings.auth.policy.clone())?;
        bootstrap(&registry, &settings.bootstrap).await?;
        let keys = {
            let path = settings.signing_key.clone();
            let algorithm = settings.signing_algorithm;
            tokio::task::spawn_blocking(move || KeySet::load_or_generate(&path, algorithm))
                .await
                .map_err(|error| KeyError::Read {
                    path: settings.signing_key.clone(),
                    source: std::io::Error::other(error),
                })??
        };
        let listener = TcpListener::bind(&settings.listen)
            .await
            .map_err(|source| ServeError::Bind {
                address: settings.listen.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServeError::Bind {
            address: settings.listen.clone(),
            source,
        })?;
        let issuer = match settings.issuer {
            Some(issuer) => validate_issuer(issuer)?,
            None => format!("http://{local_addr}"),
        };
        let metrics = Arc::new(Metrics::new());
        let authenticator = Arc::new(Authenticator::new(store.clone(), settings.auth, metrics.clone())?);
        let token_issuer = TokenIssuer::new(
            Arc::new(keys),
            issuer.clone(),
            settings.audience,
            settings.token_lifetime,
        );
        tracing::info!(
            address = %local_addr,
            issuer,
            driver = %store.driver(),
            signing_kid = token_issuer.keys().signing_key().kid(),
            signing_algorithm = %token_issuer.keys().signing_key().algorithm(),
            hashing = authenticator.policy().describe(),
            admin_api = settings.admin_token.is_some(),
            "clientdb is ready"
        );
        let state = Arc::new(AppState::new(
            authenticator,
            registry,
            token_issuer,
            metrics,
            settings.admin_token.as_ref(),
        ));
        Ok(Self {
            listener,
            state,
            local_addr,
            store,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Serves until `shutdown` completes, then drains requests and closes the pool.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = serve(self.listener, router(self.state.clone()), shutdown).await;
        self.store.close().await;
        result
    }
}

fn validate_issuer(issuer: String) -> Result<String, ServeError> {
    let url = url::Url::parse(&issuer).map_err(|error| ServeError::Issuer {
        issuer: issuer.clone(),
        reason: error.to_string(),
    })?;
    // RFC 8414 §2: an https URL with no query or fragment (http is accepted for loopback and development).
    if !matches!(url.scheme(), "https" | "http") || url.query().is_some() || url.fragment().is_some() {
        return Err(ServeError::Issuer {
            issuer,
            reason: "must be an http(s) URL without query or fragment".into(),
        });
    }
    Ok(issuer.trim_end_matches('/').to_owned())
}
