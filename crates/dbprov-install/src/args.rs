//! The flags of `dbprov install`.

use clap::ArgAction;

/// The namespace the operator runs in unless `--namespace` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "dbprov-system";

/// The operator image repository (the tag defaults to this crate's version).
pub const IMAGE_REPOSITORY: &str = "ghcr.io/dbprov/dbprov";

/// The operator image unless `--image` says otherwise: the release matching this binary.
pub const DEFAULT_IMAGE: &str = concat!("ghcr.io/dbprov/dbprov:", env!("CARGO_PKG_VERSION"));

/// Replicas with leader election: one leader and one warm standby.
pub const REPLICAS_WITH_LEADER_ELECTION: i32 = 2;

/// Flags of `dbprov install`, which prints the manifests that run the operator.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct InstallArgs {
    /// Namespace the operator runs in; the manifest creates it.
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,

    /// Namespaces the operator watches, comma-separated; every namespace when omitted. When given, the
    /// operator is granted access (including to Secrets) only in these namespaces and its own.
    #[arg(long, value_name = "NAMESPACES", value_delimiter = ',')]
    pub watch_namespaces: Vec<String>,

    /// Operator image.
    #[arg(long, value_name = "IMAGE", default_value = DEFAULT_IMAGE)]
    pub image: String,

    /// Leader election through a Lease in the operator namespace, so that only one replica reconciles
    /// (`--leader-election=false` to turn it off; then only one replica may run).
    #[arg(
        long,
        value_name = "BOOL",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true"
    )]
    pub leader_election: bool,

    /// Operator replicas. Default: 2 with leader election, 1 without.
    #[arg(long, value_name = "COUNT")]
    pub replicas: Option<i32>,
}

impl Default for InstallArgs {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            watch_namespaces: Vec::new(),
            image: DEFAULT_IMAGE.to_owned(),
            leader_election: true,
            replicas: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        install: InstallArgs,
    }

    fn parse(args: &[&str]) -> InstallArgs {
        Command::try_parse_from(std::iter::once("install").chain(args.iter().copied()))
            .expect("flags parse")
            .install
    }

    #[test]
    fn no_flags_give_the_documented_defaults() {
        let args = parse(&[]);
        assert_eq!(args, InstallArgs::default());
        assert_eq!(args.namespace, "dbprov-system");
        assert!(args.watch_namespaces.is_empty());
        assert_eq!(
            args.image,
            format!("ghcr.io/dbprov/dbprov:{}", env!("CARGO_PKG_VERSION"))
        );
        assert!(args.leader_election);
        assert_eq!(args.replicas, None);
    }

    #[test]
    fn flags_override_every_default() {
        let args = parse(&[
            "-n",
            "ops",
            "--watch-namespaces",
            "team-a,team-b",
            "--image",
            "registry.example/dbprov:dev",
            "--leader-election=false",
            "--replicas",
            "1",
        ]);
        assert_eq!(args.namespace, "ops");
        assert_eq!(args.watch_namespaces, ["team-a", "team-b"]);
        assert_eq!(args.image, "registry.example/dbprov:dev");
        assert!(!args.leader_election);
        assert_eq!(args.replicas, Some(1));
    }

    #[test]
    fn a_bare_leader_election_flag_means_true() {
        assert!(parse(&["--leader-election"]).leader_election);
        assert!(parse(&["--leader-election=true"]).leader_election);
    }
}
