//! `dbprov operator` flags (each also settable through the environment).

use std::net::SocketAddr;

/// Runs the Kubernetes operator: one controller per kind, reconciling continuously.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct OperatorArgs {
    /// Namespaces to watch (comma-separated); all when empty
    #[arg(
        long,
        env = "DBPROV_WATCH_NAMESPACES",
        value_delimiter = ',',
        value_name = "NAMESPACES"
    )]
    pub namespaces: Vec<String>,

    /// Address of /metrics, /healthz and /readyz
    #[arg(
        long,
        env = "DBPROV_METRICS_ADDRESS",
        default_value = "0.0.0.0:8080",
        value_name = "ADDRESS"
    )]
    pub metrics_address: SocketAddr,

    /// Leader election: only the replica holding the lease reconciles (`--leader-election=false` runs the
    /// controllers directly)
    #[arg(
        long,
        env = "DBPROV_LEADER_ELECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL"
    )]
    pub leader_election: bool,

    /// Namespace of the leader-election lease
    #[arg(
        long,
        env = "POD_NAMESPACE",
        default_value = "default",
        value_name = "NAMESPACE"
    )]
    pub lease_namespace: String,

    /// Name of the leader-election lease
    #[arg(long, default_value = "dbprov-operator", value_name = "NAME")]
    pub lease_name: String,

    /// Namespace where the operator keeps copies of instance credentials (deletions use them when the
    /// original Secret is gone)
    #[arg(
        long,
        env = "POD_NAMESPACE",
        default_value = "default",
        value_name = "NAMESPACE"
    )]
    pub operator_namespace: String,
}

impl OperatorArgs {
    /// The namespaces to watch, trimmed; empty means every namespace.
    pub fn watched_namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = self
            .namespaces
            .iter()
            .map(|namespace| namespace.trim().to_owned())
            .filter(|namespace| !namespace.is_empty())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        namespaces
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: OperatorArgs,
    }

    fn parse(arguments: &[&str]) -> OperatorArgs {
        Command::try_parse_from(std::iter::once("dbprov").chain(arguments.iter().copied()))
            .expect("valid arguments")
            .args
    }

    #[test]
    fn defaults_watch_everything_with_leader_election() {
        // A default only shows when the environment does not set the flag.
        let unset = |variable: &str| std::env::var_os(variable).is_none();
        let args = parse(&[]);
        if unset("DBPROV_WATCH_NAMESPACES") {
            assert!(args.watched_namespaces().is_empty());
        }
        if unset("DBPROV_METRICS_ADDRESS") {
            assert_eq!(args.metrics_address.to_string(), "0.0.0.0:8080");
        }
        if unset("DBPROV_LEADER_ELECTION") {
            assert!(args.leader_election);
        }
        if unset("POD_NAMESPACE") {
            assert_eq!(args.lease_namespace, "default");
            assert_eq!(args.operator_namespace, "default");
        }
        assert_eq!(args.lease_name, "dbprov-operator");
    }

    #[test]
    fn flags_override_defaults() {
        let args = parse(&[
            "--namespaces",
            "team-b, team-a,,team-b",
            "--metrics-address",
            "127.0.0.1:9090",
            "--leader-election=false",
            "--lease-namespace",
            "ops",
            "--lease-name",
            "dbprov",
            "--operator-namespace",
            "dbprov-system",
        ]);
        assert_eq!(args.watched_namespaces(), ["team-a", "team-b"]);
        assert_eq!(args.metrics_address.port(), 9090);
        assert!(!args.leader_election);
        assert_eq!(args.lease_namespace, "ops");
        assert_eq!(args.operator_namespace, "dbprov-system");
        assert!(parse(&["--leader-election"]).leader_election);
        assert!(Command::try_parse_from(["dbprov", "--leader-election=maybe"]).is_err());
    }
}
