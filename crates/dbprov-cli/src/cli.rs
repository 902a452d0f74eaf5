//! Command-line flags. Global options may come before or after the subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "dbprov",
    version,
    about = "Declarative provisioning of PostgreSQL, MySQL/MariaDB and SQLite databases, users, roles and grants",
    long_about = None,
    after_help = "Exit codes: 0 success (plan --detailed-exitcode: in sync), 1 error, 2 changes pending or drift detected \
                  (plan --detailed-exitcode only)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Where dbprov keeps what it applied and the credentials it generated.
    #[arg(long, global = true, env = "DBPROV_STATE_DIR", default_value = ".dbprov")]
    pub state_dir: PathBuf,
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "DBPROV_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Output format of `get`, `plan` and `apply`.
    #[arg(short = 'o', long = "output", global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// More logging (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Wide,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the SQL each resource would run (passwords redacted) and any drift, changing nothing.
    Plan {
        #[command(flatten)]
        files: FileArgs,
        /// Exit 0 when everything is in sync, 2 when changes are pending or drift is detected, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Reconcile the manifests: instances, roles, users, databases, grants, migrations, then backups and
    /// restores (in manifest order, with a progress bar).
    Apply {
        #[command(flatten)]
        files: FileArgs,
    },
    /// List objects dbprov manages (from the state directory).
    Get {
        /// Kind as kubectl spells it: Database, databases, db, dbi, dbu, dbr, dbg, ...
        kind: String,
        name: Option<String>,
        #[arg(short, long, default_value = "default")]
        namespace: String,
        /// Every namespace.
        #[arg(short = 'A', long)]
        all_namespaces: bool,
    },
    /// Show one object: conditions, drift and the last SQL run.
    Describe {
        kind: String,
        name: String,
        #[arg(short, long, default_value = "default")]
        namespace: String,
    },
    /// Delete objects, honouring deletionPolicy and deletionProtection.
    Delete {
        /// Manifests of the objects to delete.
        #[arg(short = 'f', long = "filename", value_name = "PATH", conflicts_with_all = ["kind", "name"])]
        files: Vec<PathBuf>,
        kind: Option<String>,
        name: Option<String>,
        #[arg(short, long, default_value = "default")]
        namespace: String,
    },
    /// Run golang-migrate-compatible schema migrations (`up`, `down`, `goto`, `force`, `version`, `create`).
    Migrate(crate::commands::migrate::MigrateArgs),
    /// Backup artifacts: `list` what a storage holds, `verify` one completely. (`apply` runs DatabaseBackup
    /// and DatabaseRestore manifests.)
    Backup(crate::commands::backup::BackupArgs),
    /// Backup schedules: `tick` runs what is due once (for system cron), `run` loops in the foreground.
    Schedule(crate::commands::schedule::ScheduleArgs),
    /// Print the CustomResourceDefinitions (for `kubectl apply -f -`).
    Crds,
    /// Run the Kubernetes operator: the same reconcilers, continuously, for the objects in a cluster.
    Operator(dbprov_operator::OperatorArgs),
    /// Run one backup or restore inside a Kubernetes Job (started by the operator).
    #[command(hide = true)]
    Job(dbprov_operator::JobArgs),
    /// Print the operator's complete manifest set (CRDs, RBAC, Deployment, Service) for `kubectl apply -f -`.
    Install(dbprov_install::InstallArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// Manifest files or directories (multi-document YAML or JSON; `-` reads standard input).
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
}
