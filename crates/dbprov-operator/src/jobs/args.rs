//! `dbprov job`: the hidden subcommand a backup, restore or prune Job runs (the operator builds its arguments;
//! people do not type them).

use std::path::PathBuf;

/// Where a Job mounts PersistentVolumeClaims: `<root>/<claimName>`.
pub const DEFAULT_PVC_ROOT: &str = "/var/lib/dbprov/claims";

/// How often a running Job writes its progress into the object's status, at most.
pub const DEFAULT_PROGRESS_INTERVAL_SECONDS: u64 = 5;

/// The kind of object a Job works for.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    #[value(name = "DatabaseBackup")]
    DatabaseBackup,
    #[value(name = "DatabaseRestore")]
    DatabaseRestore,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::DatabaseBackup => "DatabaseBackup",
            JobKind::DatabaseRestore => "DatabaseRestore",
        }
    }
}

/// Runs one backup or restore (or deletes one backup's artifact) inside a Kubernetes Job, reporting to the
/// object's status. Started by the operator.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct JobArgs {
    /// The kind of the object
    #[arg(long, value_enum)]
    pub kind: JobKind,

    /// The object's namespace
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: String,

    /// The object's name
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// Where the Job's PersistentVolumeClaims are mounted (`<root>/<claimName>`)
    #[arg(long, default_value = DEFAULT_PVC_ROOT, value_name = "PATH")]
    pub pvc_root: PathBuf,

    /// The object's `metadata.generation` the Job was created for: a Job never runs a newer declaration than
    /// the one whose volumes it mounts
    #[arg(long, value_name = "GENERATION")]
    pub generation: Option<i64>,

    /// Delete the backup's artifact instead of running the backup (retention)
    #[arg(long)]
    pub prune_artifact: bool,

    /// Seconds between progress writes to the status
    #[arg(long, default_value_t = DEFAULT_PROGRESS_INTERVAL_SECONDS, hide = true, value_name = "SECONDS")]
    pub progress_interval_seconds: u64,
}

impl JobArgs {
    /// The arguments of `dbprov job` that reproduce these settings (the Job's container arguments, after
    /// `job`).
    pub fn to_arguments(&self) -> Vec<String> {
        let mut arguments = vec![
            "--kind".to_owned(),
            self.kind.as_str().to_owned(),
            "--namespace".to_owned(),
            self.namespace.clone(),
            "--name".to_owned(),
            self.name.clone(),
            "--pvc-root".to_owned(),
            self.pvc_root.display().to_string(),
        ];
        if let Some(generation) = self.generation {
            arguments.push("--generation".to_owned());
            arguments.push(generation.to_string());
        }
        if self.prune_artifact {
            arguments.push("--prune-artifact".to_owned());
        }
        if self.progress_interval_seconds != DEFAULT_PROGRESS_INTERVAL_SECONDS {
            arguments.push("--progress-interval-seconds".to_owned());
            arguments.push(self.progress_interval_seconds.to_string());
        }
        arguments
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: JobArgs,
    }

    fn parse(arguments: &[String]) -> JobArgs {
        Command::try_parse_from(std::iter::once("job".to_owned()).chain(arguments.iter().cloned()))
            .expect("valid arguments")
            .args
    }

    #[test]
    fn arguments_round_trip() {
        let args = JobArgs {
            kind: JobKind::DatabaseRestore,
            namespace: "team".to_owned(),
            name: "restore-orders".to_owned(),
            pvc_root: PathBuf::from("/claims"),
            generation: Some(3),
            prune_artifact: false,
            progress_interval_seconds: 2,
        };
        assert_eq!(parse(&args.to_arguments()), args);
        let prune = JobArgs {
            kind: JobKind::DatabaseBackup,
            generation: None,
            prune_artifact: true,
            progress_interval_seconds: DEFAULT_PROGRESS_INTERVAL_SECONDS,
            ..args
        };
        assert_eq!(parse(&prune.to_arguments()), prune);
    }

    #[test]
    fn defaults_and_kind_spelling() {
        let args = parse(&[
            "--kind".into(),
            "DatabaseBackup".into(),
            "--namespace".into(),
            "n".into(),
            "--name".into(),
            "b".into(),
        ]);
        assert_eq!(args.pvc_root, PathBuf::from(DEFAULT_PVC_ROOT));
        assert_eq!(args.progress_interval_seconds, 5);
        assert!(!args.prune_artifact);
        assert!(
            Command::try_parse_from(["job", "--kind", "backup", "--namespace", "n", "--name", "b"]).is_err(),
            "kinds are spelled as in manifests"
        );
    }
}
