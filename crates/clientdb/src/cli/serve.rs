//! `clientdb serve`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use clientdb::auth::AuthSettings;
use clientdb::auth::rate_limit::{BucketSettings, RateLimitSettings};
use clientdb::bootstrap::BootstrapSettings;
use clientdb::config::parse_duration;
use clientdb::server::{DEFAULT_LISTEN, DEFAULT_SIGNING_KEY, ServeSettings, Server};
use clientdb::token::SigningAlgorithm;
use dbprov_core::Secret;

use super::GlobalOptions;

/// The shortest admin token accepted.
const MIN_ADMIN_TOKEN_LENGTH: usize = 16;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CLIENTDB_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Also create the seeds' development client `dev-client` / `dev-secret-123` (INSECURE: development only).
    #[arg(long)]
    pub dev: bool,
    /// The issuer URL (`iss`, metadata); default http://<listen address>.
    #[arg(long, env = "CLIENTDB_ISSUER")]
    pub issuer: Option<String>,
    /// The `aud` claim (repeat or comma-separate for several); default: the issuer.
    #[arg(long, env = "CLIENTDB_AUDIENCE", value_delimiter = ',')]
    pub audience: Vec<String>,
    /// Access token lifetime.
    #[arg(long, env = "CLIENTDB_TOKEN_LIFETIME", value_parser = parse_duration, default_value = "1h")]
    pub token_lifetime: Duration,
    /// Signing keys: a PEM file or a directory of *.pem (first signs, all are published); generated (0600)
    /// when missing.
    #[arg(long, env = "CLIENTDB_SIGNING_KEY", default_value = DEFAULT_SIGNING_KEY)]
    pub signing_key: PathBuf,
    /// Algorithm of a generated signing key: EdDSA (fastest to sign), ES256 (for resource servers without
    /// EdDSA support) or RS256.
    #[arg(long, env = "CLIENTDB_SIGNING_ALGORITHM", default_value = "EdDSA")]
    pub signing_algorithm: String,
    /// File holding the admin API bearer token (or set CLIENTDB_ADMIN_TOKEN); without one the admin API is off.
    #[arg(long, env = "CLIENTDB_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Verified-credential cache entries (0 disables the cache).
    #[arg(long, env = "CLIENTDB_CACHE_CAPACITY", default_value_t = 10_000)]
    pub cache_capacity: usize,
    /// Failed authentications allowed at once per client_id (0 disables the limit).
    #[arg(long, env = "CLIENTDB_CLIENT_FAILURE_BURST", default_value_t = 10)]
    pub client_failure_burst: u32,
    /// Failed authentications per minute per client_id after the burst.
    #[arg(long, env = "CLIENTDB_CLIENT_FAILURES_PER_MINUTE", default_value_t = 10.0)]
    pub client_failures_per_minute: f64,
    /// Failed authentications allowed at once per source address (0 disables the limit).
    #[arg(long, env = "CLIENTDB_ADDRESS_FAILURE_BURST", default_value_t = 30)]
    pub address_failure_burst: u32,
    /// Failed authentications per minute per source address after the burst.
    #[arg(long, env = "CLIENTDB_ADDRESS_FAILURES_PER_MINUTE", default_value_t = 30.0)]
    pub address_failures_per_minute: f64,
    /// Concurrent secret hashes (default: the number of CPUs).
    #[arg(long, env = "CLIENTDB_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,
}

fn bucket(burst: u32, per_minute: f64) -> Option<BucketSettings> {
    (burst > 0).then_some(BucketSettings { burst, per_minute })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn admin_token(file: Option<&PathBuf>) -> anyhow::Result<Option<Secret>> {
    let token = match (env("CLIENTDB_ADMIN_TOKEN"), file) {
        (Some(_), Some(_)) => anyhow::bail!("set CLIENTDB_ADMIN_TOKEN or --admin-token-file, not both"),
        (Some(token), None) => token,
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the admin token file {}", path.display()))?
            .trim()
            .to_owned(),
        (None, None) => return Ok(None),
    };
    if token.len() < MIN_ADMIN_TOKEN_LENGTH || token.chars().any(char::is_whitespace) {
        anyhow::bail!(
            "the admin token must be at least {MIN_ADMIN_TOKEN_LENGTH} characters without whitespace"
        );
    }
    Ok(Some(Secret::new(token)))
}

pub async fn run(global: &GlobalOptions, args: ServeArgs) -> anyhow::Result<()> {
    let database = global.database()?;
    let signing_algorithm: SigningAlgorithm = args.signing_algorithm.parse()?;
    let defaults = AuthSettings::default();
    let mut settings = ServeSettings::new(database);
    settings.listen = args.listen;
    settings.migrate = !global.no_migrate;
    settings.issuer = args.issuer;
    settings.audience = args.audience;
    settings.token_lifetime = args.token_lifetime;
    settings.signing_key = args.signing_key;
    settings.signing_algorithm = signing_algorithm;
    settings.admin_token = admin_token(args.admin_token_file.as_ref())?;
    settings.auth = AuthSettings {
        policy: global.hashing.policy(),
        cache_capacity: args.cache_capacity,
        rate_limits: RateLimitSettings {
            per_client: bucket(args.client_failure_burst, args.client_failures_per_minute),
            per_address: bucket(args.address_failure_burst, args.address_failures_per_minute),
            ..RateLimitSettings::default()
        },
        hash_concurrency: args.hash_concurrency.unwrap_or(defaults.hash_concurrency),
    };
    settings.bootstrap = BootstrapSettings {
        client_id: env("BOOTSTRAP_CLIENT_ID"),
        secret: env("BOOTSTRAP_CLIENT_SECRET").map(Secret::new),
        secret_file: env("BOOTSTRAP_CLIENT_SECRET_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| BootstrapSettings::default().secret_file),
        scopes: env("BOOTSTRAP_CLIENT_SCOPES")
            .map(|scopes| {
                scopes
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_else(|| BootstrapSettings::default().scopes),
        dev: args.dev,
    };
    let server = Server::start(settings).await?;
    // Tests and scripts read this line to find a port chosen with :0.
    eprintln!("clientdb: listening on {}", server.local_addr());
    server
        .run(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    tracing::info!("clientdb stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down");
}
