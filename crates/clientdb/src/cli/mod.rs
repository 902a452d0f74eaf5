//! The `clientdb` command line.
//!
//! Exit codes: 0 success; 1 failure; 2 usage error; 3 client not found; 4 client already exists or changed
//! concurrently; 5 database unreachable.

mod client;
mod migrate;
mod output;
mod serve;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clientdb::config::DatabaseConfig;
use clientdb::secret::{Argon2Settings, HashAlgorithm, HashPolicy};

#[derive(Debug, Parser)]
#[command(
    name = "clientdb",
    version,
    about = "OAuth2 client-credentials store and token service",
    long_about = "OAuth2 client-credentials store and token service.\n\n\
        The database comes from DATABASE_URL (sqlite://, postgres://, mysql://) or the DB_DRIVER, DB_PATH, DB_HOST, \
        DB_PORT, DB_USER, DB_PASSWORD, DB_NAME, DB_SSLMODE variables; SQLite in ./clientdb.sqlite3 by default.",
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error, 3 client not found, 4 client exists or changed concurrently, 5 database unreachable."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// The client database (overrides DATABASE_URL and the DB_* variables).
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Do not apply the schema migrations at start-up (the schema must already be current).
    #[arg(long, global = true)]
    pub no_migrate: bool,
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CLIENTDB_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub hashing: HashingOptions,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct HashingOptions {
    /// Algorithm for new secret hashes (stored hashes of any supported algorithm keep verifying and are
    /// re-hashed on their next successful use).
    #[arg(long, global = true, env = "CLIENTDB_HASH_ALGORITHM", default_value = "bcrypt", value_parser = parse_hash_algorithm)]
    pub hash_algorithm: HashAlgorithm,
    #[arg(long, global = true, env = "CLIENTDB_BCRYPT_COST", default_value_t = 10)]
    pub bcrypt_cost: u32,
    #[arg(long, global = true, env = "CLIENTDB_ARGON2_MEMORY_KIB", default_value_t = Argon2Settings::default().memory_kib)]
    pub argon2_memory_kib: u32,
    #[arg(long, global = true, env = "CLIENTDB_ARGON2_ITERATIONS", default_value_t = Argon2Settings::default().iterations)]
    pub argon2_iterations: u32,
    #[arg(long, global = true, env = "CLIENTDB_ARGON2_PARALLELISM", default_value_t = Argon2Settings::default().parallelism)]
    pub argon2_parallelism: u32,
    #[arg(
        long,
        global = true,
        env = "CLIENTDB_PBKDF2_ITERATIONS",
        default_value_t = 600_000
    )]
    pub pbkdf2_iterations: u32,
}

fn parse_hash_algorithm(value: &str) -> Result<HashAlgorithm, String> {
    value
        .parse()
        .map_err(|error: clientdb::secret::HashError| error.to_string())
}

impl HashingOptions {
    pub fn policy(&self) -> HashPolicy {
        HashPolicy {
            algorithm: self.hash_algorithm,
            bcrypt_cost: self.bcrypt_cost,
            argon2: Argon2Settings {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
            pbkdf2_iterations: self.pbkdf2_iterations,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the token endpoint, introspection, discovery, health, metrics and the admin API.
    Serve(serve::ServeArgs),
    /// Manage clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Apply, roll back or inspect the schema migrations (golang-migrate's schema_migrations table).
    #[command(subcommand)]
    Migrate(migrate::MigrateCommand),
}

impl GlobalOptions {
    pub fn database(&self) -> Result<DatabaseConfig, anyhow::Error> {
        let url = self.database_url.clone().filter(|url| !url.is_empty());
        DatabaseConfig::from_lookup(|name| {
            if name == "DATABASE_URL" {
                return url.clone();
            }
            std::env::var(name).ok().filter(|value| !value.is_empty())
        })
        .map_err(Into::into)
    }
}

/// A failure with the exit code it maps to and an optional hint.
#[derive(Debug)]
pub struct Failure {
    pub error: anyhow::Error,
    pub code: u8,
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        let code = exit_code(&error);
        Self { error, code }
    }
}

/// The stable kind of the first clientdb error in the chain (`#[error(transparent)]` wrappers hide their
/// inner error from `chain()`, so each wrapper is asked for its kind).
fn error_kind(error: &anyhow::Error) -> Option<&'static str> {
    error.chain().find_map(|cause| {
        if let Some(error) = cause.downcast_ref::<clientdb::StoreError>() {
            return Some(error.kind());
        }
        if let Some(error) = cause.downcast_ref::<clientdb::registry::RegistryError>() {
            return Some(error.kind());
        }
        if let Some(error) = cause.downcast_ref::<clientdb::server::ServeError>() {
            return Some(error.kind());
        }
        cause
            .downcast_ref::<clientdb::migrations::MigrationError>()
            .map(clientdb::migrations::MigrationError::kind)
    })
}

fn exit_code(error: &anyhow::Error) -> u8 {
    match error_kind(error) {
        Some("not_found") => 3,
        Some("already_exists" | "conflict") => 4,
        Some("connect") => 5,
        _ => 1,
    }
}

/// A hint for errors with a known remedy.
pub fn hint(error: &anyhow::Error) -> Option<&'static str> {
    match error_kind(error)? {
        "connect" => Some(
            "check DATABASE_URL (or DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME) and that the server is running",
        ),
        "query" => Some("is the schema current? run `clientdb migrate up` (or start without --no-migrate)"),
        "Dirty" => Some(
            "a migration failed earlier; repair the database, then set the version with golang-migrate's `migrate force` (or `dbprov migrate force`)",
        ),
        _ => None,
    }
}

pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args).await.map_err(Failure::from),
        Command::Client(command) => client::run(&cli.global, command).await.map_err(Failure::from),
        Command::Migrate(command) => migrate::run(&cli.global, command).await.map_err(Failure::from),
    }
}

pub fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let chain: Vec<String> = failure.error.chain().map(ToString::to_string).collect();
            let mut line = String::new();
            for part in chain {
                if !line.ends_with(&part) {
                    if !line.is_empty() {
                        line.push_str(": ");
                    }
                    line.push_str(&part);
                }
            }
            eprintln!("clientdb: error: {line}");
            if let Some(hint) = hint(&failure.error) {
                eprintln!("clientdb: hint: {hint}");
            }
            ExitCode::from(failure.code)
        }
    }
}
