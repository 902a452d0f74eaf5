//! `clientdb migrate up|down|version`: the embedded migrations, golang-migrate compatible.

use clap::{Args, Subcommand};
use clientdb::migrations;

use super::GlobalOptions;

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply all pending migrations.
    Up,
    /// Roll back N migrations (default 1), or all with --all.
    Down(DownArgs),
    /// Print the schema version (`-1` for none; `(dirty)` after a failed migration).
    Version,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// How many migrations to roll back.
    #[arg(conflicts_with = "all")]
    pub count: Option<usize>,
    /// Roll back every migration (drops the clients tables).
    #[arg(long)]
    pub all: bool,
}

pub async fn run(global: &GlobalOptions, command: MigrateCommand) -> anyhow::Result<()> {
    let config = global.database()?;
    match command {
        MigrateCommand::Up => {
            let report = migrations::up(&config).await?;
            if report.no_change {
                println!("no change (version {})", report.start);
            }
            for step in &report.applied {
                println!("{step}");
            }
        }
        MigrateCommand::Down(args) => {
            let limit = if args.all {
                None
            } else {
                Some(args.count.unwrap_or(1))
            };
            let report = migrations::down(&config, limit).await?;
            if report.no_change {
                println!("no change (version {})", report.start);
            }
            for step in &report.applied {
                println!("{step}");
            }
        }
        MigrateCommand::Version => println!("{}", migrations::version(&config).await?),
    }
    Ok(())
}
