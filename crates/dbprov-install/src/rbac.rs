//! Least-privilege RBAC: exactly the verbs the controllers use, no wildcards, Secrets only where needed.
//!
//! Without `--watch-namespaces` the operator reconciles every namespace, so one ClusterRole grants the kinds,
//! Secrets and Events everywhere. With it, the namespaced kinds, Secrets and Events are granted by a Role in
//! each watched namespace plus the operator's own (where it keeps copies of instance credentials); only the
//! cluster-scoped `ClusterDatabaseInstance` needs a ClusterRole, and Events about it go to `default`, where
//! kube-runtime's event recorder files Events of cluster-scoped objects. The Lease is granted in the operator
//! namespace only, and only with leader election.
//!
//! Next to the kinds: backups and restores run as Jobs in the object's namespace (created, watched, deleted
//! when the object is); migrations read their files from ConfigMaps (watched by metadata, read when run);
//! schedules create and delete `DatabaseBackup`s. The operator reads its own pod, in its own namespace, for
//! what those Jobs copy from it (image, service account, security context, resources).

use dbprov_api::{Kind, Scope};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::names::{
    API_GROUP, CLUSTER_EVENTS_NAMESPACE, CLUSTER_EVENTS_ROLE, CLUSTER_SCOPED_ROLE, LEADER_ELECTION_ROLE,
    OPERATOR, OWN_POD_ROLE, labels,
};
use crate::settings::Settings;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The RBAC objects of an installation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rbac {
    /// Cluster-wide grants.
    pub cluster_roles: Vec<ClusterRole>,
    /// Their bindings to the operator's ServiceAccount.
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// Namespaced grants.
    pub roles: Vec<Role>,
    /// Their bindings to the operator's ServiceAccount.
    pub role_bindings: Vec<RoleBinding>,
}

/// Every RBAC object the settings call for.
pub(crate) fn rbac(settings: &Settings) -> Rbac {
    let mut rbac = Rbac::default();
    if settings.is_namespaced() {
        let (role, binding) = cluster_scoped_kinds(settings);
        rbac.cluster_roles.push(role);
        rbac.cluster_role_bindings.push(binding);
        let (role, binding) = cluster_events(settings);
        rbac.roles.push(role);
        rbac.role_bindings.push(binding);
        for namespace in settings.granted_namespaces() {
            let (role, binding) = namespaced_access(settings, &namespace);
            rbac.roles.push(role);
            rbac.role_bindings.push(binding);
        }
    } else {
        let (role, binding) = cluster_wide(settings);
        rbac.cluster_roles.push(role);
        rbac.cluster_role_bindings.push(binding);
    }
    let (role, binding) = own_pod(settings);
    rbac.roles.push(role);
    rbac.role_bindings.push(binding);
    if settings.leader_election {
        let (role, binding) = leader_election(settings);
        rbac.roles.push(role);
        rbac.role_bindings.push(binding);
    }
    rbac
}

/// Every kind, Secrets and Events in every namespace (no `--watch-namespaces`).
pub(crate) fn cluster_wide(settings: &Settings) -> (ClusterRole, ClusterRoleBinding) {
    let mut rules = kind_rules(&Kind::ALL);
    rules.extend(run_rules());
    rules.push(secret_rule());
    rules.push(event_rule());
    cluster_role(settings, OPERATOR, rules)
}

/// The cluster-scoped kinds only (with `--watch-namespaces`).
pub(crate) fn cluster_scoped_kinds(settings: &Settings) -> (ClusterRole, ClusterRoleBinding) {
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|kind| kind.scope() == Scope::Cluster)
        .collect();
    cluster_role(settings, CLUSTER_SCOPED_ROLE, kind_rules(&kinds))
}

/// Events about cluster-scoped objects, which are written to `default` (with `--watch-namespaces`).
pub(crate) fn cluster_events(settings: &Settings) -> (Role, RoleBinding) {
    role(
        settings,
        CLUSTER_EVENTS_ROLE,
        CLUSTER_EVENTS_NAMESPACE,
        vec![event_rule()],
    )
}

/// The namespaced kinds, Secrets and Events in one namespace (with `--watch-namespaces`).
pub(crate) fn namespaced_access(settings: &Settings, namespace: &str) -> (Role, RoleBinding) {
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|kind| kind.scope() == Scope::Namespaced)
        .collect();
    let mut rules = kind_rules(&kinds);
    rules.extend(run_rules());
    rules.push(secret_rule());
    rules.push(event_rule());
    role(settings, OPERATOR, namespace, rules)
}

/// The operator's own pod, in its namespace: the pod's name is only known at run time, so it cannot be
/// granted by name; `get` on pods of that one namespace is all.
pub(crate) fn own_pod(settings: &Settings) -> (Role, RoleBinding) {
    role(
        settings,
        OWN_POD_ROLE,
        &settings.namespace,
        vec![rule("", &["pods"], &["get"])],
    )
}

/// The leader-election Lease in the operator namespace.
pub(crate) fn leader_election(settings: &Settings) -> (Role, RoleBinding) {
    let rules = vec![
        // `create` cannot be limited by name: the API server checks it before the object has one.
        rule("coordination.k8s.io", &["leases"], &["create"]),
        PolicyRule {
            resource_names: Some(vec![OPERATOR.to_owned()]),
            ..rule("coordination.k8s.io", &["leases"], &["get", "update", "patch"])
        },
    ];
    role(settings, LEADER_ELECTION_ROLE, &settings.namespace, rules)
}

/// The kinds themselves, their status and their finalizers.
fn kind_rules(kinds: &[Kind]) -> Vec<PolicyRule> {
    let resources = |suffix: &str| -> Vec<String> {
        kinds
            .iter()
            .map(|kind| format!("{}{suffix}", kind.plural()))
            .collect()
    };
    let verbs = |verbs: &[&str]| -> Vec<String> { verbs.iter().map(|verb| (*verb).to_owned()).collect() };
    vec![
        PolicyRule {
            api_groups: Some(vec![API_GROUP.to_owned()]),
            resources: Some(resources("")),
            verbs: verbs(&["get", "list", "watch", "patch", "update"]),
            ..PolicyRule::default()
        },
        PolicyRule {
            api_groups: Some(vec![API_GROUP.to_owned()]),
            resources: Some(resources("/status")),
            verbs: verbs(&["get", "patch", "update"]),
            ..PolicyRule::default()
        },
        PolicyRule {
            api_groups: Some(vec![API_GROUP.to_owned()]),
            resources: Some(resources("/finalizers")),
            verbs: verbs(&["update"]),
            ..PolicyRule::default()
        },
    ]
}

/// What migrations, backups, restores and schedules use beyond their own kinds: schedules create and delete
/// `DatabaseBackup`s; backups and restores run as Jobs (created once, watched for their outcome, deleted
/// when their object is); migrations read their files from ConfigMaps (watched by metadata).
fn run_rules() -> Vec<PolicyRule> {
    vec![
        rule(API_GROUP, &[Kind::DatabaseBackup.plural()], &["create", "delete"]),
        rule("batch", &["jobs"], &["get", "list", "watch", "create", "delete"]),
        rule("", &["configmaps"], &["get", "list", "watch"]),
    ]
}

/// Generated credentials are written to Secrets; existing ones are read and watched for rotation.
fn secret_rule() -> PolicyRule {
    rule(
        "",
        &["secrets"],
        &["get", "list", "watch", "create", "update", "patch", "delete"],
    )
}

fn event_rule() -> PolicyRule {
    rule("events.k8s.io", &["events"], &["create", "patch"])
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(resources.iter().map(|resource| (*resource).to_owned()).collect()),
        verbs: verbs.iter().map(|verb| (*verb).to_owned()).collect(),
        ..PolicyRule::default()
    }
}

fn subject(settings: &Settings) -> Subject {
    Subject {
        kind: "ServiceAccount".to_owned(),
        name: OPERATOR.to_owned(),
        namespace: Some(settings.namespace.clone()),
        ..Subject::default()
    }
}

fn cluster_role(
    settings: &Settings,
    name: &str,
    rules: Vec<PolicyRule>,
) -> (ClusterRole, ClusterRoleBinding) {
    let metadata = ObjectMeta {
        name: Some(name.to_owned()),
        labels: Some(labels()),
        ..ObjectMeta::default()
    };
    let role = ClusterRole {
        metadata: metadata.clone(),
        rules: Some(rules),
        ..ClusterRole::default()
    };
    let binding = ClusterRoleBinding {
        metadata,
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_owned(),
            kind: "ClusterRole".to_owned(),
            name: name.to_owned(),
        },
        subjects: Some(vec![subject(settings)]),
    };
    (role, binding)
}

fn role(settings: &Settings, name: &str, namespace: &str, rules: Vec<PolicyRule>) -> (Role, RoleBinding) {
    let metadata = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels()),
        ..ObjectMeta::default()
    };
    let role = Role {
        metadata: metadata.clone(),
        rules: Some(rules),
    };
    let binding = RoleBinding {
        metadata,
        role_ref: RoleRef {
            api_group: RBAC_GROUP.to_owned(),
            kind: "Role".to_owned(),
            name: name.to_owned(),
        },
        subjects: Some(vec![subject(settings)]),
    };
    (role, binding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::InstallArgs;

    fn settings(watch: &[&str], leader_election: bool) -> Settings {
        Settings::from_args(&InstallArgs {
            watch_namespaces: watch.iter().map(|namespace| (*namespace).to_owned()).collect(),
            leader_election,
            ..InstallArgs::default()
        })
        .expect("valid settings")
    }

    fn all_rules(rbac: &Rbac) -> Vec<(String, PolicyRule)> {
        let cluster = rbac.cluster_roles.iter().flat_map(|role| {
            let name = format!("ClusterRole/{}", role.metadata.name.clone().unwrap_or_default());
            role.rules
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(move |rule| (name.clone(), rule))
        });
        let namespaced = rbac.roles.iter().flat_map(|role| {
            let name = format!(
                "Role/{}/{}",
                role.metadata.namespace.clone().unwrap_or_default(),
                role.metadata.name.clone().unwrap_or_default()
            );
            role.rules
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(move |rule| (name.clone(), rule))
        });
        cluster.chain(namespaced).collect()
    }

    fn grants(rule: &PolicyRule, group: &str, resource: &str) -> bool {
        rule.api_groups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|g| g == group)
            && rule
                .resources
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|r| r == resource)
    }

    fn variants() -> Vec<Settings> {
        vec![
            settings(&[], true),
            settings(&[], false),
            settings(&["team-a", "team-b"], true),
            settings(&["team-a"], false),
        ]
    }

    #[test]
    fn no_rule_uses_a_wildcard() {
        for settings in variants() {
            for (owner, rule) in all_rules(&rbac(&settings)) {
                let fields = [
                    rule.api_groups.clone().unwrap_or_default(),
                    rule.resources.clone().unwrap_or_default(),
                    rule.verbs.clone(),
                    rule.resource_names.clone().unwrap_or_default(),
                ];
                for value in fields.iter().flatten() {
                    assert!(!value.contains('*'), "{owner}: wildcard in {rule:?}");
                }
                assert!(rule.non_resource_urls.is_none(), "{owner}: non-resource URLs");
                assert!(!rule.verbs.is_empty(), "{owner}: a rule without verbs");
                assert!(
                    !rule.resources.clone().unwrap_or_default().is_empty(),
                    "{owner}: a rule without resources"
                );
            }
        }
    }

    #[test]
    fn no_role_can_escalate_or_impersonate() {
        for settings in variants() {
            for (owner, rule) in all_rules(&rbac(&settings)) {
                for verb in &rule.verbs {
                    assert!(
                        !["escalate", "bind", "impersonate", "deletecollection"].contains(&verb.as_str()),
                        "{owner}: {verb}"
                    );
                }
                assert!(
                    !rule
                        .api_groups
                        .clone()
                        .unwrap_or_default()
                        .contains(&RBAC_GROUP.to_owned()),
                    "{owner}: grants on RBAC objects"
                );
            }
        }
    }

    #[test]
    fn the_kinds_get_exactly_the_verbs_the_controllers_use() {
        let rbac = rbac(&settings(&[], true));
        let rules = &rbac.cluster_roles[0].rules.clone().expect("rules");
        for kind in Kind::ALL {
            let plural = kind.plural();
            let verbs_for = |resource: &str| -> Vec<String> {
                rules
                    .iter()
                    .filter(|rule| grants(rule, API_GROUP, resource))
                    .flat_map(|rule| rule.verbs.clone())
                    .collect()
            };
            // Schedules create and delete backups; no other kind is created or deleted by the operator.
            let expected: &[&str] = if kind == Kind::DatabaseBackup {
                &["get", "list", "watch", "patch", "update", "create", "delete"]
            } else {
                &["get", "list", "watch", "patch", "update"]
            };
            assert_eq!(verbs_for(plural), expected, "{plural}");
            assert_eq!(verbs_for(&format!("{plural}/status")), ["get", "patch", "update"]);
            assert_eq!(verbs_for(&format!("{plural}/finalizers")), ["update"]);
        }
        let secrets: Vec<_> = rules.iter().filter(|rule| grants(rule, "", "secrets")).collect();
        assert_eq!(secrets.len(), 1);
        assert_eq!(
            secrets[0].verbs,
            ["get", "list", "watch", "create", "update", "patch", "delete"]
        );
        let events: Vec<_> = rules
            .iter()
            .filter(|rule| grants(rule, "events.k8s.io", "events"))
            .collect();
        assert_eq!(events[0].verbs, ["create", "patch"]);
        let verbs_of = |group: &str, resource: &str| -> Vec<String> {
            rules
                .iter()
                .filter(|rule| grants(rule, group, resource))
                .flat_map(|rule| rule.verbs.clone())
                .collect()
        };
        assert_eq!(
            verbs_of("batch", "jobs"),
            ["get", "list", "watch", "create", "delete"]
        );
        assert_eq!(verbs_of("", "configmaps"), ["get", "list", "watch"]);
        assert!(
            verbs_of("", "pods").is_empty(),
            "pods are not granted cluster-wide"
        );
    }

    #[test]
    fn the_operator_reads_only_its_own_namespace_pods() {
        for settings in variants() {
            let rbac = rbac(&settings);
            let pod_rules: Vec<(String, PolicyRule)> = all_rules(&rbac)
                .into_iter()
                .filter(|(_, rule)| grants(rule, "", "pods"))
                .collect();
            assert_eq!(pod_rules.len(), 1, "{pod_rules:?}");
            assert_eq!(pod_rules[0].0, "Role/dbprov-system/dbprov-operator-own-pod");
            assert_eq!(pod_rules[0].1.verbs, ["get"]);
        }
    }

    #[test]
    fn jobs_and_configmaps_follow_the_watched_namespaces() {
        let rbac = rbac(&settings(&["team-a"], true));
        let owners = |group: &str, resource: &str| -> Vec<String> {
            all_rules(&rbac)
                .into_iter()
                .filter(|(_, rule)| grants(rule, group, resource))
                .map(|(owner, _)| owner)
                .collect()
        };
        let expected = [
            "Role/team-a/dbprov-operator",
            "Role/dbprov-system/dbprov-operator",
        ];
        assert_eq!(owners("batch", "jobs"), expected);
        assert_eq!(owners("", "configmaps"), expected);
    }

    #[test]
    fn without_watch_namespaces_one_cluster_role_grants_everything_but_the_lease() {
        let rbac = rbac(&settings(&[], true));
        assert_eq!(rbac.cluster_roles.len(), 1);
        assert_eq!(rbac.cluster_role_bindings.len(), 1);
        let subjects = rbac.cluster_role_bindings[0].subjects.clone().expect("subjects");
        assert_eq!(subjects[0].name, OPERATOR);
        assert_eq!(subjects[0].namespace.as_deref(), Some("dbprov-system"));
        // The only Roles are the operator's own pod and the Lease, in the operator namespace.
        assert_eq!(rbac.roles.len(), 2);
        for role in &rbac.roles {
            assert_eq!(role.metadata.namespace.as_deref(), Some("dbprov-system"));
        }
        assert!(
            rbac.roles[0]
                .rules
                .iter()
                .flatten()
                .all(|rule| grants(rule, "", "pods"))
        );
        assert!(rbac.roles[1].rules.iter().flatten().all(|rule| grants(
            rule,
            "coordination.k8s.io",
            "leases"
        )));
    }

    #[test]
    fn watch_namespaces_grant_namespaced_access_through_roles_only() {
        let rbac = rbac(&settings(&["team-a", "team-b"], true));
        // The ClusterRole holds the cluster-scoped kind and nothing else: no Secrets, no namespaced kinds.
        assert_eq!(rbac.cluster_roles.len(), 1);
        for rule in rbac.cluster_roles[0].rules.iter().flatten() {
            for resource in rule.resources.iter().flatten() {
                assert!(
                    resource.starts_with("clusterdatabaseinstances"),
                    "{resource} granted cluster-wide"
                );
            }
        }
        let namespaced_kinds: Vec<&str> = Kind::ALL
            .into_iter()
            .filter(|kind| kind.scope() == Scope::Namespaced)
            .map(Kind::plural)
            .collect();
        for namespace in ["team-a", "team-b", "dbprov-system"] {
            let role = rbac
                .roles
                .iter()
                .find(|role| {
                    role.metadata.namespace.as_deref() == Some(namespace)
                        && role.metadata.name.as_deref() == Some(OPERATOR)
                })
                .unwrap_or_else(|| panic!("a Role in {namespace}"));
            let rules = role.rules.clone().expect("rules");
            for plural in &namespaced_kinds {
                assert!(
                    rules.iter().any(|rule| grants(rule, API_GROUP, plural)),
                    "{namespace}: {plural}"
                );
            }
            assert!(
                rules.iter().any(|rule| grants(rule, "", "secrets")),
                "{namespace}: secrets"
            );
            let binding = rbac
                .role_bindings
                .iter()
                .find(|binding| {
                    binding.metadata.namespace.as_deref() == Some(namespace)
                        && binding.role_ref.name == OPERATOR
                })
                .unwrap_or_else(|| panic!("a RoleBinding in {namespace}"));
            assert_eq!(binding.role_ref.kind, "Role");
        }
    }

    #[test]
    fn secrets_are_granted_only_in_the_watched_and_operator_namespaces() {
        let rbac = rbac(&settings(&["team-a"], true));
        let with_secrets: Vec<String> = all_rules(&rbac)
            .into_iter()
            .filter(|(_, rule)| grants(rule, "", "secrets"))
            .map(|(owner, _)| owner)
            .collect();
        assert_eq!(
            with_secrets,
            [
                "Role/team-a/dbprov-operator",
                "Role/dbprov-system/dbprov-operator"
            ]
        );
    }

    #[test]
    fn events_about_cluster_scoped_objects_are_allowed_in_default_only_for_events() {
        let rbac = rbac(&settings(&["team-a"], true));
        let role = rbac
            .roles
            .iter()
            .find(|role| role.metadata.namespace.as_deref() == Some(CLUSTER_EVENTS_NAMESPACE))
            .expect("a Role in default");
        let rules = role.rules.clone().expect("rules");
        assert_eq!(rules.len(), 1);
        assert!(grants(&rules[0], "events.k8s.io", "events"));
    }

    #[test]
    fn the_lease_is_granted_by_name_in_the_operator_namespace_only_with_leader_election() {
        let rbac_with = rbac(&settings(&[], true));
        let lease_rules: Vec<(String, PolicyRule)> = all_rules(&rbac_with)
            .into_iter()
            .filter(|(_, rule)| grants(rule, "coordination.k8s.io", "leases"))
            .collect();
        assert_eq!(lease_rules.len(), 2);
        for (owner, rule) in &lease_rules {
            assert_eq!(owner, "Role/dbprov-system/dbprov-operator-leader-election");
            if rule.verbs != ["create"] {
                assert_eq!(rule.resource_names.as_deref(), Some(&[OPERATOR.to_owned()][..]));
            }
        }
        for settings in [settings(&[], false), settings(&["team-a"], false)] {
            assert!(
                all_rules(&rbac(&settings)).iter().all(|(_, rule)| !grants(
                    rule,
                    "coordination.k8s.io",
                    "leases"
                )),
                "no Lease access without leader election"
            );
        }
    }
}
