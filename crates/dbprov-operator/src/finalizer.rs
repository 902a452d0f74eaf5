//! Finalizers: dbprov's names, and taking over db-provision-operator's so users can switch operators.
//!
//! Both decisions are pure: they take the object's current finalizer list and return the list to write (or
//! `None` when nothing changes). The write itself is one merge patch carrying the object's `resourceVersion`,
//! so a concurrent change makes it fail instead of losing someone else's finalizer.

/// The finalizer dbprov puts on a kind, and the one db-provision-operator used for it (`None` for dbprov's own
/// kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finalizers {
    pub ours: &'static str,
    pub upstream: Option<&'static str>,
}

impl Finalizers {
    fn is_upstream(&self, finalizer: &str) -> bool {
        self.upstream == Some(finalizer)
    }
}

pub const DATABASE_INSTANCE: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-instance",
    upstream: Some("dbops.dbprovision.io/instance-protection"),
};
pub const CLUSTER_DATABASE_INSTANCE: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/cluster-database-instance",
    upstream: Some("dbops.dbprovision.io/clusterdatabaseinstance-finalizer"),
};
pub const DATABASE: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database",
    upstream: Some("dbops.dbprovision.io/database-protection"),
};
pub const DATABASE_USER: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-user",
    upstream: Some("dbops.dbprovision.io/user-protection"),
};
pub const DATABASE_ROLE: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-role",
    upstream: Some("dbops.dbprovision.io/role-protection"),
};
pub const DATABASE_GRANT: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-grant",
    upstream: Some("dbops.dbprovision.io/grant-protection"),
};
/// Migrations are dbprov's own kind: nothing to take over. Deleting one never rolls the schema back.
pub const DATABASE_MIGRATION: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-migration",
    upstream: None,
};
pub const DATABASE_BACKUP: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-backup",
    upstream: Some("dbops.dbprovision.io/backup-protection"),
};
pub const DATABASE_RESTORE: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-restore",
    upstream: Some("dbops.dbprovision.io/restore-protection"),
};
pub const DATABASE_BACKUP_SCHEDULE: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/database-backup-schedule",
    upstream: Some("dbops.dbprovision.io/schedule-protection"),
};

/// OAuth2 clients are dbprov's own kind: nothing to take over. `deletionPolicy: Delete` removes the client's
/// registration and its Secret before the finalizer goes.
pub const OAUTH2_CLIENT: Finalizers = Finalizers {
    ours: "dbops.dbprovision.io/oauth2-client",
    upstream: None,
};

/// Whether the object carries a finalizer dbprov answers for (its own or the upstream one it takes over).
pub fn is_guarded(current: &[String], names: Finalizers) -> bool {
    current
        .iter()
        .any(|finalizer| finalizer == names.ours || names.is_upstream(finalizer))
}

/// The finalizers a live object should carry: the upstream finalizer replaced by ours, ours added when
/// missing, every other finalizer kept in place. `None` when the list is already right.
pub fn adopted(current: &[String], names: Finalizers) -> Option<Vec<String>> {
    let has_ours = current.iter().any(|finalizer| finalizer == names.ours);
    let has_upstream = current.iter().any(|finalizer| names.is_upstream(finalizer));
    if has_ours && !has_upstream {
        return None;
    }
    let mut next: Vec<String> = Vec::with_capacity(current.len() + 1);
    for finalizer in current {
        if names.is_upstream(finalizer) {
            // Ours takes the upstream finalizer's place, so the order others rely on is unchanged.
            if !has_ours && !next.iter().any(|f| f == names.ours) {
                next.push(names.ours.to_owned());
            }
        } else {
            next.push(finalizer.clone());
        }
    }
    if !next.iter().any(|finalizer| finalizer == names.ours) {
        next.push(names.ours.to_owned());
    }
    Some(next)
}

/// The finalizers left once dbprov has cleaned up: ours and the upstream one removed, the others kept.
/// `None` when neither is present.
pub fn released(current: &[String], names: Finalizers) -> Option<Vec<String>> {
    if !is_guarded(current, names) {
        return None;
    }
    Some(
        current
            .iter()
            .filter(|finalizer| *finalizer != names.ours && !names.is_upstream(finalizer))
            .cloned()
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    const ALL: [Finalizers; 11] = [
        OAUTH2_CLIENT,
        DATABASE_INSTANCE,
        CLUSTER_DATABASE_INSTANCE,
        DATABASE,
        DATABASE_USER,
        DATABASE_ROLE,
        DATABASE_GRANT,
        DATABASE_MIGRATION,
        DATABASE_BACKUP,
        DATABASE_RESTORE,
        DATABASE_BACKUP_SCHEDULE,
    ];

    #[test]
    fn names_follow_the_seeds_pattern() {
        for names in ALL {
            assert!(names.ours.starts_with("dbops.dbprovision.io/"));
            if let Some(upstream) = names.upstream {
                assert!(upstream.starts_with("dbops.dbprovision.io/"));
                assert_ne!(names.ours, upstream);
            }
        }
        let mut ours: Vec<_> = ALL.iter().map(|names| names.ours).collect();
        ours.sort_unstable();
        ours.dedup();
        assert_eq!(ours.len(), ALL.len());
    }

    #[test]
    fn a_new_object_gets_our_finalizer() {
        assert_eq!(
            adopted(&[], DATABASE),
            Some(list(&["dbops.dbprovision.io/database"]))
        );
        assert_eq!(
            adopted(&list(&["example.com/keep"]), DATABASE),
            Some(list(&["example.com/keep", "dbops.dbprovision.io/database"]))
        );
        assert_eq!(adopted(&list(&["dbops.dbprovision.io/database"]), DATABASE), None);
    }

    #[test]
    fn the_upstream_finalizer_is_replaced_in_place() {
        let current = list(&[
            "example.com/first",
            "dbops.dbprovision.io/user-protection",
            "example.com/last",
        ]);
        assert_eq!(
            adopted(&current, DATABASE_USER),
            Some(list(&[
                "example.com/first",
                "dbops.dbprovision.io/database-user",
                "example.com/last"
            ]))
        );
        // Both present (a half-finished switch): the upstream one goes, ours stays where it is.
        let both = list(&[
            "dbops.dbprovision.io/database-user",
            "dbops.dbprovision.io/user-protection",
        ]);
        assert_eq!(
            adopted(&both, DATABASE_USER),
            Some(list(&["dbops.dbprovision.io/database-user"]))
        );
    }

    #[test]
    fn kinds_without_an_upstream_finalizer_adopt_and_release_only_ours() {
        assert_eq!(
            adopted(&list(&["example.com/keep"]), DATABASE_MIGRATION),
            Some(list(&[
                "example.com/keep",
                "dbops.dbprovision.io/database-migration"
            ]))
        );
        assert_eq!(
            adopted(
                &list(&["dbops.dbprovision.io/database-migration"]),
                DATABASE_MIGRATION
            ),
            None
        );
        assert!(!is_guarded(&list(&["example.com/keep"]), DATABASE_MIGRATION));
        assert_eq!(
            released(
                &list(&["dbops.dbprovision.io/database-migration", "example.com/keep"]),
                DATABASE_MIGRATION
            ),
            Some(list(&["example.com/keep"]))
        );
        // The backup kinds take over upstream's `backup-protection` like the others.
        assert_eq!(
            adopted(
                &list(&["dbops.dbprovision.io/backup-protection"]),
                DATABASE_BACKUP
            ),
            Some(list(&["dbops.dbprovision.io/database-backup"]))
        );
    }

    #[test]
    fn release_removes_ours_and_upstream_only() {
        let current = list(&[
            "dbops.dbprovision.io/database",
            "example.com/keep",
            "dbops.dbprovision.io/database-protection",
        ]);
        assert!(is_guarded(&current, DATABASE));
        assert_eq!(released(&current, DATABASE), Some(list(&["example.com/keep"])));
        assert_eq!(released(&list(&["example.com/keep"]), DATABASE), None);
        // An object only the upstream operator guarded is still ours to clean up.
        assert!(is_guarded(
            &list(&["dbops.dbprovision.io/grant-protection"]),
            DATABASE_GRANT
        ));
        assert!(!is_guarded(
            &list(&["dbops.dbprovision.io/grant-protection"]),
            DATABASE
        ));
    }
}
