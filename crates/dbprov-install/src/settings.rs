//! The flags, checked and resolved into what the manifest builders need.

use crate::args::{InstallArgs, REPLICAS_WITH_LEADER_ELECTION};
use crate::error::InstallError;

/// Validated install settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Where the operator runs (and keeps its Lease and its copies of instance credentials).
    pub namespace: String,
    /// Watched namespaces, deduplicated in the order given; empty means every namespace.
    pub watch_namespaces: Vec<String>,
    pub image: String,
    pub leader_election: bool,
    pub replicas: i32,
}

impl Settings {
    /// Checks the flags and fills in the defaults that depend on other flags.
    pub fn from_args(args: &InstallArgs) -> Result<Self, InstallError> {
        check_namespace("--namespace", &args.namespace)?;
        let mut watch_namespaces: Vec<String> = Vec::new();
        for namespace in &args.watch_namespaces {
            let namespace = namespace.trim();
            check_namespace("--watch-namespaces", namespace)?;
            if !watch_namespaces.iter().any(|seen| seen == namespace) {
                watch_namespaces.push(namespace.to_owned());
            }
        }
        check_image(&args.image)?;
        let replicas = match args.replicas {
            Some(replicas) if replicas < 1 => return Err(InstallError::InvalidReplicas { replicas }),
            Some(replicas) if replicas > 1 && !args.leader_election => {
                return Err(InstallError::ReplicasWithoutLeaderElection { replicas });
            }
            Some(replicas) => replicas,
            None if args.leader_election => REPLICAS_WITH_LEADER_ELECTION,
            None => 1,
        };
        Ok(Self {
            namespace: args.namespace.clone(),
            watch_namespaces,
            image: args.image.trim().to_owned(),
            leader_election: args.leader_election,
            replicas,
        })
    }

    /// True when the operator is confined to `watch_namespaces` (and its own namespace).
    pub fn is_namespaced(&self) -> bool {
        !self.watch_namespaces.is_empty()
    }

    /// Where the namespaced permissions are granted: the watched namespaces, then the operator's own (which
    /// holds its copies of instance credentials), each once.
    pub fn granted_namespaces(&self) -> Vec<String> {
        let mut namespaces = self.watch_namespaces.clone();
        if !namespaces.contains(&self.namespace) {
            namespaces.push(self.namespace.clone());
        }
        namespaces
    }
}

/// A namespace name is an RFC 1123 label: at most 63 lowercase alphanumerics or '-', alphanumeric at both ends.
fn check_namespace(flag: &'static str, namespace: &str) -> Result<(), InstallError> {
    let reason = if namespace.is_empty() {
        Some("a namespace name cannot be empty")
    } else if namespace.len() > 63 {
        Some("a namespace name has at most 63 characters")
    } else if !namespace
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    {
        Some("a namespace name has only lowercase letters, digits and '-'")
    } else if namespace.starts_with('-') || namespace.ends_with('-') {
        Some("a namespace name starts and ends with a letter or digit")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(InstallError::InvalidNamespace {
            flag,
            namespace: namespace.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn check_image(image: &str) -> Result<(), InstallError> {
    let image = image.trim();
    let reason = if image.is_empty() {
        Some("an image reference cannot be empty")
    } else if image.chars().any(char::is_whitespace) {
        Some("an image reference cannot contain whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(InstallError::InvalidImage {
            image: image.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> InstallArgs {
        InstallArgs::default()
    }

    #[test]
    fn replicas_default_to_two_with_leader_election_and_one_without() {
        assert_eq!(Settings::from_args(&args()).expect("valid").replicas, 2);
        let single = InstallArgs {
            leader_election: false,
            ..args()
        };
        assert_eq!(Settings::from_args(&single).expect("valid").replicas, 1);
    }

    #[test]
    fn several_replicas_without_leader_election_are_rejected() {
        let unsafe_args = InstallArgs {
            leader_election: false,
            replicas: Some(2),
            ..args()
        };
        let error = Settings::from_args(&unsafe_args).expect_err("rejected");
        assert_eq!(error.kind(), "ReplicasWithoutLeaderElection");
        assert!(
            error.to_string().contains("--replicas 2 needs leader election"),
            "{error}"
        );
    }

    #[test]
    fn zero_replicas_are_rejected() {
        let error = Settings::from_args(&InstallArgs {
            replicas: Some(0),
            ..args()
        })
        .expect_err("rejected");
        assert_eq!(error.kind(), "InvalidReplicas");
    }

    #[test]
    fn invalid_namespaces_are_rejected_with_the_flag_that_carried_them() {
        for (namespace, reason) in [
            ("", "empty"),
            ("Team-A", "lowercase"),
            ("-team", "starts and ends"),
            ("team_a", "lowercase"),
            (&"a".repeat(64), "63"),
        ] {
            let error = Settings::from_args(&InstallArgs {
                namespace: namespace.to_owned(),
                ..args()
            })
            .expect_err("rejected");
            assert!(error.to_string().starts_with("invalid --namespace"), "{error}");
            assert!(error.to_string().contains(reason), "{namespace}: {error}");
        }
        let error = Settings::from_args(&InstallArgs {
            watch_namespaces: vec!["team-a".to_owned(), String::new()],
            ..args()
        })
        .expect_err("an empty list entry is rejected");
        assert!(
            error.to_string().starts_with("invalid --watch-namespaces"),
            "{error}"
        );
    }

    #[test]
    fn watched_namespaces_are_deduplicated_and_the_operator_namespace_is_granted_once() {
        let settings = Settings::from_args(&InstallArgs {
            watch_namespaces: vec![
                "team-a".to_owned(),
                " team-b".to_owned(),
                "team-a".to_owned(),
                "dbprov-system".to_owned(),
            ],
            ..args()
        })
        .expect("valid");
        assert_eq!(settings.watch_namespaces, ["team-a", "team-b", "dbprov-system"]);
        assert_eq!(
            settings.granted_namespaces(),
            ["team-a", "team-b", "dbprov-system"]
        );
        let settings = Settings::from_args(&InstallArgs {
            watch_namespaces: vec!["team-a".to_owned()],
            ..args()
        })
        .expect("valid");
        assert_eq!(settings.granted_namespaces(), ["team-a", "dbprov-system"]);
    }

    #[test]
    fn an_empty_image_is_rejected() {
        let error = Settings::from_args(&InstallArgs {
            image: " ".to_owned(),
            ..args()
        })
        .expect_err("rejected");
        assert_eq!(error.kind(), "InvalidImage");
    }
}
