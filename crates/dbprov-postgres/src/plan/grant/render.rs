//! The difference between declared and held atoms, as grouped `GRANT` / `REVOKE` statements.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::{PgObject, PgPrivilege};
use dbprov_core::{Drift, EngineError, Plan, Statement, Step};

use super::{AllSelector, Atoms, Class, Privileges, class_of};
use crate::plan::join;
use crate::sql::grant::{self as sql, DefaultChange, DefaultScope, GrantTarget, RoutineRef};

pub(super) fn describe(object: &PgObject) -> String {
    match object {
        PgObject::Database(name) => format!("database {name}"),
        PgObject::Schema(name) => format!("schema {name}"),
        PgObject::Table { schema, name } => format!("table {schema}.{name}"),
        PgObject::Sequence { schema, name } => format!("sequence {schema}.{name}"),
        PgObject::Function { signature, .. } => format!("routine {signature}"),
        PgObject::DefaultPrivileges {
            for_role,
            schema,
            object_type,
        } => match schema {
            Some(schema) => format!(
                "default privileges of {for_role} in schema {schema} on {}",
                object_type.keyword().to_ascii_lowercase()
            ),
            None => format!(
                "default privileges of {for_role} on {}",
                object_type.keyword().to_ascii_lowercase()
            ),
        },
    }
}

fn render_privileges(privileges: Option<&Privileges>) -> String {
    join(privileges.into_iter().flatten().map(|(privilege, option)| {
        if *option {
            format!("{privilege} WITH GRANT OPTION")
        } else {
            privilege.to_string()
        }
    }))
}

pub(super) struct Renderer<'a> {
    pub(super) grantee: &'a str,
    pub(super) database: &'a str,
    pub(super) label: &'a str,
}

/// What a statement does to the privileges of its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Change {
    Grant { with_grant_option: bool },
    RevokeGrantOption,
    Revoke,
}

impl Renderer<'_> {
    pub(super) fn step(&self, class: &Class, statement: Statement, summary: String) -> Step {
        let step = Step::new(statement, summary);
        if *class == Class::Database {
            step
        } else {
            step.in_database(self.database)
        }
    }

    /// One statement changing `privileges` on `objects` (all of `class`).
    fn statement(
        &self,
        class: &Class,
        objects: &[&PgObject],
        privileges: &[PgPrivilege],
        change: Change,
    ) -> Result<Step, EngineError> {
        let grantee = self.grantee;
        let described = join(objects.iter().map(|object| describe(object)));
        let summary = match change {
            Change::Grant { .. } => format!("grant {} on {described} to {grantee}", join(privileges)),
            Change::RevokeGrantOption => {
                format!(
                    "revoke the grant option for {} on {described} from {grantee}",
                    join(privileges)
                )
            }
            Change::Revoke => format!("revoke {} on {described} from {grantee}", join(privileges)),
        };
        let statement = if let Class::Default(PgObject::DefaultPrivileges {
            for_role,
            schema,
            object_type,
        }) = class
        {
            let scope = DefaultScope {
                for_role,
                schema: schema.as_deref(),
                object_type: *object_type,
            };
            let change = match change {
                Change::Grant { with_grant_option } => DefaultChange::Grant { with_grant_option },
                Change::RevokeGrantOption => DefaultChange::RevokeGrantOption,
                Change::Revoke => DefaultChange::Revoke,
            };
            sql::alter_default_privileges(scope, change, privileges, grantee)?
        } else {
            let target = target(objects);
            match change {
                Change::Grant { with_grant_option } => {
                    sql::grant(privileges, &target, grantee, with_grant_option)?
                }
                Change::RevokeGrantOption => sql::revoke(privileges, &target, grantee, true)?,
                Change::Revoke => sql::revoke(privileges, &target, grantee, false)?,
            }
        };
        Ok(self.step(class, statement, summary))
    }

    pub(super) fn plan_difference(
        &self,
        declared: &Atoms,
        actual: &Atoms,
        selectors: &[AllSelector<'_>],
    ) -> Result<Plan, EngineError> {
        let mut plan = Plan::default();
        let mut missing = Atoms::new();
        let mut revoke: BTreeMap<&PgObject, BTreeSet<PgPrivilege>> = BTreeMap::new();
        let mut revoke_option: BTreeMap<&PgObject, BTreeSet<PgPrivilege>> = BTreeMap::new();
        for (object, wanted) in declared {
            let held = actual.get(object);
            for (privilege, option) in wanted {
                let needed = match held.and_then(|held| held.get(privilege)) {
                    None => true,
                    Some(held_option) => *option && !held_option,
                };
                if needed {
                    missing
                        .entry(object.clone())
                        .or_default()
                        .insert(*privilege, *option);
                }
            }
        }
        for (object, held) in actual {
            let wanted = declared.get(object);
            for (privilege, held_option) in held {
                match wanted.and_then(|wanted| wanted.get(privilege)) {
                    None => {
                        revoke.entry(object).or_default().insert(*privilege);
                    }
                    Some(false) if *held_option => {
                        revoke_option.entry(object).or_default().insert(*privilege);
                    }
                    _ => {}
                }
            }
        }

        let changed: BTreeSet<&PgObject> = missing
            .keys()
            .chain(revoke.keys().copied())
            .chain(revoke_option.keys().copied())
            .collect();
        for object in changed {
            let mut drift = Drift::new(
                self.label,
                describe(object),
                render_privileges(declared.get(object)),
                render_privileges(actual.get(object)),
            );
            if revoke.contains_key(object) || revoke_option.contains_key(object) {
                drift = drift.destructive();
            }
            plan.drift.push(drift);
        }

        // `All` selectors: one `ON ALL ... IN SCHEMA` statement covers what is missing on any of their objects.
        let mut all_steps = Vec::new();
        for selector in selectors {
            let privileges: Vec<PgPrivilege> = selector
                .privileges
                .iter()
                .copied()
                .filter(|privilege| {
                    selector.objects.iter().any(|object| {
                        missing.get(object).and_then(|held| held.get(privilege))
                            == Some(&selector.with_grant_option)
                    })
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if privileges.is_empty() {
                continue;
            }
            for object in &selector.objects {
                if let Some(entry) = missing.get_mut(object) {
                    entry.retain(|privilege, option| {
                        !(privileges.contains(privilege) && *option == selector.with_grant_option)
                    });
                }
            }
            let target = selector.kind.all_in_schema(selector.schema);
            let statement = sql::grant(&privileges, &target, self.grantee, selector.with_grant_option)?;
            all_steps.push(
                Step::new(
                    statement,
                    format!(
                        "grant {} on all {} in schema {} to {}",
                        join(&privileges),
                        selector.kind.field(),
                        selector.schema,
                        self.grantee
                    ),
                )
                .in_database(self.database),
            );
        }

        // Everything else, grouped: objects of a class with the same privilege change share a statement.
        let mut groups: BTreeMap<(Class, Change, Vec<PgPrivilege>), Vec<&PgObject>> = BTreeMap::new();
        for (object, privileges) in &missing {
            for with_grant_option in [false, true] {
                let set: Vec<PgPrivilege> = privileges
                    .iter()
                    .filter(|(_, option)| **option == with_grant_option)
                    .map(|(privilege, _)| *privilege)
                    .collect();
                if !set.is_empty() {
                    groups
                        .entry((class_of(object), Change::Grant { with_grant_option }, set))
                        .or_default()
                        .push(object);
                }
            }
        }
        for (changes, change) in [
            (&revoke_option, Change::RevokeGrantOption),
            (&revoke, Change::Revoke),
        ] {
            for (object, privileges) in changes {
                groups
                    .entry((class_of(object), change, privileges.iter().copied().collect()))
                    .or_default()
                    .push(object);
            }
        }
        // Database-level statements run on the admin connection, first; then everything inside the database.
        for ((class, change, privileges), objects) in &groups {
            if *class == Class::Database {
                plan.push(self.statement(class, objects, privileges, *change)?);
            }
        }
        plan.steps.extend(all_steps);
        for ((class, change, privileges), objects) in &groups {
            if *class != Class::Database {
                plan.push(self.statement(class, objects, privileges, *change)?);
            }
        }
        Ok(plan)
    }
}

/// The `GRANT` target for objects of one class (never default privileges, which have their own statement).
fn target<'a>(objects: &[&'a PgObject]) -> GrantTarget<'a> {
    match objects.first() {
        Some(PgObject::Database(name)) => GrantTarget::Database(name),
        Some(PgObject::Schema(_)) => GrantTarget::Schemas(
            objects
                .iter()
                .filter_map(|object| match object {
                    PgObject::Schema(name) => Some(name.as_str()),
                    _ => None,
                })
                .collect(),
        ),
        Some(PgObject::Sequence { .. }) => GrantTarget::Sequences(
            objects
                .iter()
                .filter_map(|object| match object {
                    PgObject::Sequence { schema, name } => Some((schema.as_str(), name.as_str())),
                    _ => None,
                })
                .collect(),
        ),
        Some(PgObject::Function { .. }) => GrantTarget::Routines(
            objects
                .iter()
                .filter_map(|object| match object {
                    PgObject::Function { signature, .. } => Some(RoutineRef::Signature(signature)),
                    _ => None,
                })
                .collect(),
        ),
        _ => GrantTarget::Tables(
            objects
                .iter()
                .filter_map(|object| match object {
                    PgObject::Table { schema, name } => Some((schema.as_str(), name.as_str())),
                    _ => None,
                })
                .collect(),
        ),
    }
}
