//! Dropping a role per owned-objects policy: refuse, reassign, or drop what it owns; never a silent failure.

use dbprov_core::model::{Catalog, DropRoleOptions, OwnedObjectsPolicy};
use dbprov_core::{Drift, EngineError, Name, NameKind, Plan, Step};

use crate::CAPABILITIES;
use crate::plan::join;
use crate::sql::role as sql;

/// Plans dropping a role according to the policy for what it still owns; nothing when it does not exist.
pub(crate) fn plan_drop_role(
    name: &Name,
    options: &DropRoleOptions,
    catalog: &Catalog,
) -> Result<Plan, EngineError> {
    CAPABILITIES
        .name_limits
        .check_new(CAPABILITIES.engine, NameKind::Role, name)?;
    let role = name.as_str();
    let object = format!("role {role}");
    let mut plan = Plan::default();
    let Some(state) = catalog.role(name) else {
        return Ok(plan);
    };
    let actual = state.postgres.as_ref().ok_or_else(|| {
        EngineError::invalid_spec(
            &object,
            "catalog",
            "the catalog entry was not read from PostgreSQL",
        )
    })?;
    let dependent = &actual.dependent_databases;
    let owned = &actual.owned_databases;
    plan.drift
        .push(Drift::new(&object, "exists", false, true).destructive());
    match &options.owned_objects {
        OwnedObjectsPolicy::Fail => {
            if !dependent.is_empty() || !owned.is_empty() {
                let mut reasons = Vec::new();
                if !dependent.is_empty() {
                    reasons.push(format!(
                        "owns objects or holds privileges in database(s) {}",
                        join(dependent)
                    ));
                }
                if !owned.is_empty() {
                    reasons.push(format!("owns database(s) {}", join(owned)));
                }
                return Err(EngineError::invalid_spec(
                    object,
                    "ownedObjects",
                    format!(
                        "the role {}; choose the reassign or drop policy, or clean up first",
                        reasons.join(" and ")
                    ),
                ));
            }
        }
        OwnedObjectsPolicy::Reassign { new_owner } => {
            CAPABILITIES
                .name_limits
                .check_name(CAPABILITIES.engine, NameKind::Role, new_owner)?;
            if new_owner == name {
                return Err(EngineError::invalid_spec(
                    object,
                    "ownedObjects.newOwner",
                    "cannot reassign a role's objects to itself",
                ));
            }
            for database in dependent {
                plan.push(
                    Step::new(
                        sql::reassign_owned(role, new_owner.as_str())?,
                        format!("give the objects of {object} in database {database} to {new_owner}"),
                    )
                    .in_database(database),
                );
                plan.push(
                    Step::new(
                        sql::drop_owned(role)?,
                        format!("revoke the privileges of {object} in database {database}"),
                    )
                    .in_database(database),
                );
            }
            for database in owned {
                plan.push(Step::new(
                    crate::sql::database::alter_database_owner(database, new_owner.as_str())?,
                    format!("give database {database} to {new_owner}"),
                ));
            }
        }
        OwnedObjectsPolicy::Drop => {
            if !owned.is_empty() {
                return Err(EngineError::invalid_spec(
                    object,
                    "ownedObjects",
                    format!(
                        "the role owns database(s) {}, which dropping its objects would not remove; \
                         reassign them (policy reassign) or drop the databases first",
                        join(owned)
                    ),
                ));
            }
            for database in dependent {
                plan.push(
                    Step::new(
                        sql::drop_owned(role)?,
                        format!("drop the objects and privileges of {object} in database {database}"),
                    )
                    .in_database(database),
                );
            }
        }
    }
    plan.push(Step::new(sql::drop_role(role)?, format!("drop {object}")));
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use dbprov_core::model::{PasswordState, PgRoleState, RoleState};

    use super::*;

    fn name(value: &str) -> Name {
        Name::parse(NameKind::Role, value).unwrap()
    }

    /// Role `old`, with objects or privileges in `dependent` databases and owning the `owned` ones.
    fn owner_state(dependent: &[&str], owned: &[&str]) -> Catalog {
        let strings = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>();
        let role = RoleState {
            name: name("old"),
            login: false,
            password: PasswordState::None,
            postgres: Some(PgRoleState {
                superuser: false,
                createdb: false,
                createrole: false,
                inherit: true,
                replication: false,
                bypassrls: false,
                connection_limit: -1,
                valid_until: None,
                member_of: BTreeSet::new(),
                config: Default::default(),
                dependent_databases: strings(dependent),
                owned_databases: strings(owned),
            }),
            mysql: None,
        };
        let mut catalog = Catalog::default();
        catalog.roles.insert(role.name.clone(), role);
        catalog
    }

    #[test]
    fn drop_role_follows_the_policy() {
        let catalog = owner_state(&["a", "b"], &["c"]);
        let fail = plan_drop_role(&name("old"), &DropRoleOptions::default(), &catalog).unwrap_err();
        let message = fail.to_string();
        assert!(
            message.contains("a, b") && message.contains("owns database(s) c"),
            "{message}"
        );

        let reassign = DropRoleOptions {
            owned_objects: OwnedObjectsPolicy::Reassign {
                new_owner: name("heir"),
            },
        };
        let plan = plan_drop_role(&name("old"), &reassign, &catalog).unwrap();
        assert_eq!(
            plan.statements(),
            vec![
                "REASSIGN OWNED BY \"old\" TO \"heir\"",
                "DROP OWNED BY \"old\"",
                "REASSIGN OWNED BY \"old\" TO \"heir\"",
                "DROP OWNED BY \"old\"",
                "ALTER DATABASE \"c\" OWNER TO \"heir\"",
                "DROP ROLE IF EXISTS \"old\"",
            ]
        );
        let databases: Vec<Option<&str>> = plan.steps.iter().map(|step| step.database.as_deref()).collect();
        assert_eq!(
            databases,
            vec![Some("a"), Some("a"), Some("b"), Some("b"), None, None]
        );

        let drop = DropRoleOptions {
            owned_objects: OwnedObjectsPolicy::Drop,
        };
        let error = plan_drop_role(&name("old"), &drop, &catalog).unwrap_err();
        assert!(error.to_string().contains("reassign them"), "{error}");
        let plan = plan_drop_role(&name("old"), &drop, &owner_state(&["a"], &[])).unwrap();
        assert_eq!(
            plan.statements(),
            vec!["DROP OWNED BY \"old\"", "DROP ROLE IF EXISTS \"old\""]
        );

        let clean = owner_state(&[], &[]);
        let plan = plan_drop_role(&name("old"), &DropRoleOptions::default(), &clean).unwrap();
        assert_eq!(plan.statements(), vec!["DROP ROLE IF EXISTS \"old\""]);
        assert!(
            plan_drop_role(&name("gone"), &DropRoleOptions::default(), &clean)
                .unwrap()
                .is_empty()
        );
    }
}
