//! `dbprov`: declarative provisioning of databases, users, roles and grants on PostgreSQL, MySQL/MariaDB and
//! SQLite, without Kubernetes. The same reconcilers run in the operator.

mod cli;
mod commands;
mod host;
mod loader;
mod manifest;
mod output;
mod progress;
mod record;
mod runs;
mod secret_files;
mod state;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use dbprov_reconcile::Mode;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat};

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything succeeded (and, with `plan --detailed-exitcode`, everything is in sync).
    Success,
    /// Something failed, or the input was invalid.
    Failure,
    /// `plan --detailed-exitcode`: changes are pending or drift was detected.
    Changes,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Changes => ExitCode::from(2),
        }
    }
}

fn init_logging(format: LogFormat, verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,dbprov=debug",
        _ => "debug,dbprov=trace",
    };
    let filter = EnvFilter::try_from_env("DBPROV_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    // Like other Unix tools, stop quietly when the reader of our output goes away (`dbprov plan | head`).
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    init_logging(cli.global.log_format, cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dbprov: error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let global = &cli.global;
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Plan {
                files,
                detailed_exitcode,
            } => commands::converge::converge(global, &files.files, Mode::Plan, *detailed_exitcode).await,
            Command::Apply { files } => {
                commands::converge::converge(global, &files.files, Mode::Apply, false).await
            }
            Command::Get {
                kind,
                name,
                namespace,
                all_namespaces,
            } => commands::get::get(global, kind, name.as_deref(), namespace, *all_namespaces).await,
            Command::Describe {
                kind,
                name,
                namespace,
            } => commands::get::describe(global, kind, name, namespace).await,
            Command::Delete {
                files,
                kind,
                name,
                namespace,
            } => commands::delete::delete(global, files, kind.as_deref(), name.as_deref(), namespace).await,
            Command::Migrate(args) => commands::migrate::migrate(args).await,
            Command::Backup(args) => commands::backup::backup(global, args).await,
            Command::Schedule(args) => commands::schedule::schedule(global, args).await,
            Command::Crds => {
                print!("{}", dbprov_api::crds_yaml());
                Ok(ExitStatus::Success)
            }
            Command::Operator(args) => {
                dbprov_operator::run(args.clone()).await?;
                Ok(ExitStatus::Success)
            }
            Command::Job(args) => dbprov_operator::run_job(args.clone())
                .await
                .map(|()| ExitStatus::Success),
            Command::Install(args) => {
                print!("{}", dbprov_install::render(args)?);
                Ok(ExitStatus::Success)
            }
            Command::Completions { shell } => {
                clap_complete::generate(*shell, &mut Cli::command(), "dbprov", &mut std::io::stdout());
                Ok(ExitStatus::Success)
            }
        }
    });
    match result {
        Ok(status) => status.into(),
        Err(error) => {
            let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("dbprov: error: {}", chain.join(": "));
            ExitCode::from(1)
        }
    }
}
