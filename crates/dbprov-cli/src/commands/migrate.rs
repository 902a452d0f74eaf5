//! `dbprov migrate`: golang-migrate's command line over `dbprov-migrate`, so scripts and muscle memory carry
//! over: `up [N]`, `down [N] | --all`, `goto V`, `force V`, `version`, `create`. Progress goes to standard
//! error in golang-migrate's words (`1/u create_users (12.48ms)`, `no change`); `version` prints to standard
//! output.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use dbprov_migrate::create::{CreateOptions, Numbering, create};
use dbprov_migrate::{MigrationTarget, Migrator, ProgressEvent, RunError, RunReport, Source};

use crate::ExitStatus;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The migration files: a directory or a `file://` URL (golang-migrate's `-source` / `-path`).
    #[arg(long, alias = "path", global = true, value_name = "DIR")]
    pub source: Option<String>,
    /// The database URL: `postgres://…`, `mysql://user:pass@tcp(host:port)/db`, `mysql://user:pass@host:port/db`,
    /// `sqlite3://path` (golang-migrate's forms). Env `DATABASE_URL`.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database: Option<String>,
    /// How long to wait for another runner's lock, in seconds (golang-migrate's `-lock-timeout`).
    #[arg(long, global = true, default_value_t = 15)]
    pub lock_timeout: u64,
    #[command(subcommand)]
    pub command: MigrateCommand,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply all or N up migrations.
    Up { n: Option<usize> },
    /// Apply all or N down migrations (all asks first unless --all).
    Down {
        n: Option<usize>,
        /// Roll back every migration without asking.
        #[arg(long, conflicts_with = "n")]
        all: bool,
    },
    /// Migrate to version V (up or down).
    Goto { version: u64 },
    /// Set version V (-1: no version) without running anything, clearing the dirty flag.
    Force {
        #[arg(allow_hyphen_values = true)]
        version: i64,
    },
    /// Print the current version (`N` or `N (dirty)`).
    Version,
    /// Create a pair of up/down files.
    Create {
        /// File extension (`sql`).
        #[arg(long)]
        ext: String,
        /// Directory to create the files in (default: --source, else the current directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Sequential versions instead of timestamps.
        #[arg(long)]
        seq: bool,
        /// Digits of sequential versions (default 6).
        #[arg(long)]
        digits: Option<usize>,
        /// Go time layout of timestamp versions (default 20060102150405), or `unix` / `unixNano`.
        #[arg(long)]
        format: Option<String>,
        /// Time zone of timestamp versions: UTC (default), Local or a fixed offset (+02:00).
        #[arg(long)]
        tz: Option<String>,
        name: String,
    },
}

fn source_dir(source: &str) -> &Path {
    Path::new(source.strip_prefix("file://").unwrap_or(source))
}

fn print_report(report: &RunReport) {
    if report.no_change {
        eprintln!("no change");
    }
}

pub async fn migrate(args: &MigrateArgs) -> anyhow::Result<ExitStatus> {
    if let MigrateCommand::Create {
        ext,
        dir,
        seq,
        digits,
        format,
        tz,
        name,
    } = &args.command
    {
        let directory = dir
            .clone()
            .or_else(|| args.source.as_deref().map(|source| source_dir(source).to_owned()))
            .unwrap_or_else(|| PathBuf::from("."));
        let numbering = Numbering::from_flags(*seq, *digits, format.as_deref(), tz.as_deref())?;
        let options = CreateOptions {
            directory,
            name: name.clone(),
            extension: ext.clone(),
            numbering,
        };
        let created = create(&options, chrono::Utc::now())?;
        println!("{}", created.up.display());
        println!("{}", created.down.display());
        return Ok(ExitStatus::Success);
    }
    let (Some(source), Some(database)) = (&args.source, &args.database) else {
        anyhow::bail!("--source and --database are required (golang-migrate's -source/-path and -database)");
    };
    let target = MigrationTarget::parse(database)?;
    let source = Source::from_directory(source_dir(source))?;
    let mut migrator = Migrator::connect(&target, source)
        .await?
        .with_lock_timeout(Duration::from_secs(args.lock_timeout))
        .with_progress(|event: ProgressEvent<'_>| {
            if let ProgressEvent::Finished(step) = event {
                eprintln!("{step}");
            }
        });
    // Ctrl-C stops after the migration that is running, as golang-migrate does.
    let stop = migrator.stop_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("Stopping after this running migration ...");
            stop.request_stop();
        }
    });
    let result = run(&mut migrator, &args.command).await;
    let closed = migrator.close().await;
    match result {
        Ok(status) => {
            closed?;
            Ok(status)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitStatus::Failure)
        }
    }
}

async fn run(migrator: &mut Migrator, command: &MigrateCommand) -> Result<ExitStatus, RunError> {
    match command {
        MigrateCommand::Up { n } => print_report(&migrator.up(*n).await?),
        MigrateCommand::Down { n: Some(n), .. } => print_report(&migrator.down(Some(*n)).await?),
        MigrateCommand::Down { n: None, all } => {
            if !*all && !confirm("Are you sure you want to apply all down migrations? [y/N]") {
                eprintln!("Not applying all down migrations");
                return Ok(ExitStatus::Failure);
            }
            print_report(&migrator.down_all().await?);
        }
        MigrateCommand::Goto { version } => print_report(&migrator.goto(*version).await?),
        MigrateCommand::Force { version } => migrator.force(*version).await?,
        MigrateCommand::Version => {
            let version = migrator.version().await?;
            match version.version {
                None => {
                    eprintln!("error: no migration");
                    return Ok(ExitStatus::Failure);
                }
                Some(number) if version.dirty => println!("{number} (dirty)"),
                Some(number) => println!("{number}"),
            }
        }
        MigrateCommand::Create { .. } => unreachable!("handled before connecting"),
    }
    Ok(ExitStatus::Success)
}

/// Asks on the terminal; without one the answer is no (scripts pass `--all`).
fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        eprintln!("{question} (no terminal: pass --all to confirm)");
        return false;
    }
    eprint!("{question} ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).is_ok() && matches!(answer.trim(), "y" | "Y")
}
