//! `clientdb client create|list|show|update|rotate-secret|disable|enable|delete`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use clientdb::config::parse_duration;
use clientdb::registry::{ClientRegistry, NewClient, RotateOptions};
use clientdb::store::{ClientChanges, Store};
use clientdb::{ClientRecord, migrations};
use dbprov_core::Secret;
use serde::Serialize;

use super::GlobalOptions;
use super::output::{self, Output};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its client_id and client_secret (shown once).
    Create(CreateArgs),
    /// List clients.
    List(OutputArgs),
    /// Show one client.
    Show(IdArgs),
    /// Change a client's name, grant types, scopes or redirect URIs.
    Update(UpdateArgs),
    /// Replace a client's secret and print the new one; the old one keeps working for --grace-period.
    RotateSecret(RotateArgs),
    /// Refuse tokens to a client and deactivate its outstanding tokens (reversible).
    Disable(IdArgs),
    /// Re-enable a disabled client.
    Enable(IdArgs),
    /// Delete a client and its retired secrets (succeeds when it does not exist).
    Delete(IdArgs),
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    #[arg(short, long, value_enum, default_value = "table")]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    pub client_id: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Human-readable name.
    #[arg(long)]
    pub name: String,
    /// The client_id (default: a random UUID).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Space- or comma-separated grant types.
    #[arg(long, default_value = "client_credentials")]
    pub grant_types: String,
    /// Space- or comma-separated scopes, e.g. "read write".
    #[arg(long, default_value = "")]
    pub scopes: String,
    /// Space- or comma-separated redirect URIs.
    #[arg(long, default_value = "")]
    pub redirect_uris: String,
    /// Recorded in created_by (default: the login name).
    #[arg(long)]
    pub created_by: Option<String>,
    /// Read the secret from this file instead of generating one ("-": standard input).
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// The secret expires after this long (e.g. 90d, 2160h).
    #[arg(long, value_parser = parse_duration)]
    pub secret_expires_in: Option<Duration>,
    /// Create the client disabled.
    #[arg(long)]
    pub disabled: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub client_id: String,
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub grant_types: Option<String>,
    #[arg(long)]
    pub scopes: Option<String>,
    #[arg(long)]
    pub redirect_uris: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    pub client_id: String,
    /// How long the previous secret keeps working (e.g. 1h); 0 revokes it and any older one now.
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    pub grace_period: Duration,
    /// The new secret expires after this long.
    #[arg(long, value_parser = parse_duration)]
    pub expires_in: Option<Duration>,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split([' ', ','])
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn registry(global: &GlobalOptions) -> anyhow::Result<ClientRegistry> {
    let config = global.database()?;
    let store = Store::connect(&config).await?;
    if global.no_migrate {
        migrations::ensure_current(&config).await?;
    } else {
        migrations::up(&config).await?;
    }
    Ok(ClientRegistry::new(store, global.hashing.policy())?)
}

#[derive(Serialize)]
struct WithSecret<'a> {
    #[serde(flatten)]
    client: &'a ClientRecord,
    client_secret: &'a str,
}

#[derive(Serialize)]
struct Rotated<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    secret_version: i64,
    previous_secret_valid_until: Option<chrono::DateTime<chrono::Utc>>,
    secret_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize)]
struct Deleted<'a> {
    client_id: &'a str,
    deleted: bool,
}

fn read_secret(path: &std::path::Path) -> anyhow::Result<Secret> {
    let text = if path == std::path::Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("failed to read the secret from standard input")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the secret from {}", path.display()))?
    };
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

pub async fn run(global: &GlobalOptions, command: ClientCommand) -> anyhow::Result<()> {
    let registry = registry(global).await?;
    let result = execute(&registry, command).await;
    registry.store().close().await;
    result
}

async fn execute(registry: &ClientRegistry, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => {
            let mut new = NewClient::new(args.name)
                .with_grant_types(split_list(&args.grant_types))
                .with_scopes(split_list(&args.scopes));
            new.client_id = args.client_id;
            new.redirect_uris = split_list(&args.redirect_uris);
            new.created_by = args
                .created_by
                .or_else(|| std::env::var("USER").ok())
                .or_else(|| Some("clientdb-cli".to_owned()));
            new.secret = args.secret_file.as_deref().map(read_secret).transpose()?;
            new.secret_expires_in = args.secret_expires_in;
            new.is_active = !args.disabled;
            let created = registry
                .create(new)
                .await
                .context("failed to create the client")?;
            match args.output.output {
                Output::Json => output::json(&WithSecret {
                    client: &created.client,
                    client_secret: created.secret.expose(),
                })?,
                Output::Table => {
                    println!("client_id:     {}", created.client.client_id);
                    println!("client_secret: {}", created.secret.expose());
                    eprintln!("clientdb: the secret is shown once and stored only as a hash; keep it now");
                }
            }
        }
        ClientCommand::List(args) => {
            let clients = registry.list().await?;
            match args.output {
                Output::Json => output::json(&clients)?,
                Output::Table => output::client_table(&clients),
            }
        }
        ClientCommand::Show(args) => {
            let client = registry.get(&args.client_id).await?;
            show(&client, args.output.output)?;
        }
        ClientCommand::Update(args) => {
            let changes = ClientChanges {
                client_name: args.name,
                grant_types: args.grant_types.as_deref().map(split_list),
                scopes: args.scopes.as_deref().map(split_list),
                redirect_uris: args.redirect_uris.as_deref().map(split_list),
            };
            if changes.is_empty() {
                anyhow::bail!("nothing to update: give --name, --grant-types, --scopes or --redirect-uris");
            }
            let client = registry.update(&args.client_id, changes).await?;
            show(&client, args.output.output)?;
        }
        ClientCommand::RotateSecret(args) => {
            let rotated = registry
                .rotate_secret(
                    &args.client_id,
                    RotateOptions {
                        grace_period: args.grace_period,
                        expires_in: args.expires_in,
                        secret: None,
                    },
                )
                .await?;
            match args.output.output {
                Output::Json => output::json(&Rotated {
                    client_id: &rotated.client_id,
                    client_secret: rotated.secret.expose(),
                    secret_version: rotated.secret_version,
                    previous_secret_valid_until: rotated.previous_valid_until,
                    secret_expires_at: rotated.secret_expires_at,
                })?,
                Output::Table => {
                    println!("client_id:      {}", rotated.client_id);
                    println!("client_secret:  {}", rotated.secret.expose());
                    println!("secret_version: {}", rotated.secret_version);
                    match rotated.previous_valid_until {
                        Some(until) => println!("previous secret valid until {}", until.to_rfc3339()),
                        None => println!("previous secret revoked"),
                    }
                }
            }
        }
        ClientCommand::Disable(args) => {
            let client = registry.disable(&args.client_id).await?;
            show(&client, args.output.output)?;
        }
        ClientCommand::Enable(args) => {
            let client = registry.enable(&args.client_id).await?;
            show(&client, args.output.output)?;
        }
        ClientCommand::Delete(args) => {
            let deleted = registry.delete(&args.client_id).await?;
            match args.output.output {
                Output::Json => output::json(&Deleted {
                    client_id: &args.client_id,
                    deleted,
                })?,
                Output::Table if deleted => println!("deleted client {}", args.client_id),
                Output::Table => println!("client {} did not exist", args.client_id),
            }
        }
    }
    Ok(())
}

fn show(client: &ClientRecord, format: Output) -> anyhow::Result<()> {
    match format {
        Output::Json => output::json(client),
        Output::Table => {
            output::client_details(client);
            Ok(())
        }
    }
}
