//! The declaration and the server's report, both as atoms: `All` selectors and named objects are expanded with
//! the catalog; objects the grantee owns are left out of both.

use std::collections::HashMap;

use dbprov_core::EngineError;
use dbprov_core::model::{GrantSpec, ObjectSelector, PgGrantState, PgObject};

use super::{AllSelector, Atoms, SchemaObjectKind, add, object_grants, routine_matches};

/// The declaration as atoms, using the catalog to expand `All` selectors and find named objects.
pub(super) fn expand<'a>(
    spec: &'a GrantSpec,
    state: &PgGrantState,
    label: &str,
) -> Result<(Atoms, Vec<AllSelector<'a>>), EngineError> {
    let grantee = spec.grantee.as_str();
    let pg = &spec.postgres;
    let mut declared = Atoms::new();
    let mut selectors = Vec::new();
    let mut missing = Vec::new();

    if state.database_owner.as_deref() != Some(grantee) {
        add(
            &mut declared,
            PgObject::Database(spec.database.as_str().to_owned()),
            &pg.database,
            pg.database_with_grant_option,
        );
    }
    for grant in &pg.schemas {
        match state.schemas.get(grant.schema.as_str()) {
            None => missing.push(format!("schema {}", grant.schema)),
            Some(owner) if owner == grantee => {}
            Some(_) => add(
                &mut declared,
                PgObject::Schema(grant.schema.as_str().to_owned()),
                &grant.privileges,
                grant.with_grant_option,
            ),
        }
    }
    for (grants, kind) in object_grants(spec) {
        for grant in grants {
            let schema = grant.schema.as_str();
            if !state.schemas.contains_key(schema) {
                missing.push(format!("schema {schema}"));
                continue;
            }
            // (name, owner, object) of every object of the kind in the schema.
            let candidates: Vec<(&str, &str, PgObject)> = match kind {
                SchemaObjectKind::Routine => state
                    .routines
                    .iter()
                    .filter(|routine| routine.schema == schema)
                    .map(|routine| {
                        (
                            routine.name.as_str(),
                            routine.owner.as_str(),
                            PgObject::Function {
                                schema: routine.schema.clone(),
                                name: routine.name.clone(),
                                signature: routine.signature.clone(),
                            },
                        )
                    })
                    .collect(),
                _ => state
                    .relations
                    .iter()
                    .filter(|relation| {
                        relation.schema == schema
                            && relation.is_sequence == (kind == SchemaObjectKind::Sequence)
                    })
                    .map(|relation| {
                        let object = if relation.is_sequence {
                            PgObject::Sequence {
                                schema: relation.schema.clone(),
                                name: relation.name.clone(),
                            }
                        } else {
                            PgObject::Table {
                                schema: relation.schema.clone(),
                                name: relation.name.clone(),
                            }
                        };
                        (relation.name.as_str(), relation.owner.as_str(), object)
                    })
                    .collect(),
            };
            match &grant.objects {
                ObjectSelector::All => {
                    let objects: Vec<PgObject> = candidates
                        .into_iter()
                        .filter(|(_, owner, _)| *owner != grantee)
                        .map(|(_, _, object)| object)
                        .collect();
                    for object in &objects {
                        add(
                            &mut declared,
                            object.clone(),
                            &grant.privileges,
                            grant.with_grant_option,
                        );
                    }
                    selectors.push(AllSelector {
                        kind,
                        schema,
                        privileges: &grant.privileges,
                        with_grant_option: grant.with_grant_option,
                        objects,
                    });
                }
                ObjectSelector::Named(names) => {
                    for name in names {
                        let found: Vec<&(&str, &str, PgObject)> = candidates
                            .iter()
                            .filter(|(candidate, _, object)| match object {
                                PgObject::Function { signature, .. } => {
                                    routine_matches(name.as_str(), candidate, signature)
                                }
                                _ => *candidate == name.as_str(),
                            })
                            .collect();
                        if found.is_empty() {
                            missing.push(format!("{} {schema}.{name}", kind.noun()));
                        }
                        for (_, owner, object) in found {
                            if *owner != grantee {
                                add(
                                    &mut declared,
                                    object.clone(),
                                    &grant.privileges,
                                    grant.with_grant_option,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    for default in &pg.default_privileges {
        let for_role = default
            .for_role
            .as_ref()
            .map(|role| role.as_str())
            .unwrap_or(state.current_user.as_str());
        // A role's defaults for its own future objects are owner privileges.
        if for_role == grantee {
            continue;
        }
        add(
            &mut declared,
            PgObject::DefaultPrivileges {
                for_role: for_role.to_owned(),
                schema: default.schema.as_ref().map(|schema| schema.as_str().to_owned()),
                object_type: default.object_type,
            },
            &default.privileges,
            default.with_grant_option,
        );
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(EngineError::invalid_spec(
            label,
            "objects",
            format!(
                "not found in database {} (system schemas are not managed): {}",
                spec.database,
                missing.join(", ")
            ),
        ));
    }
    Ok((declared, selectors))
}

/// The grantee's atoms in the database, without objects it owns.
pub(super) fn actual_atoms(grantee: &str, state: &PgGrantState) -> Atoms {
    let relation_owners: HashMap<(&str, &str), &str> = state
        .relations
        .iter()
        .map(|relation| {
            (
                (relation.schema.as_str(), relation.name.as_str()),
                relation.owner.as_str(),
            )
        })
        .collect();
    let routine_owners: HashMap<&str, &str> = state
        .routines
        .iter()
        .map(|routine| (routine.signature.as_str(), routine.owner.as_str()))
        .collect();
    let owned_by_grantee = |object: &PgObject| -> bool {
        let owner = match object {
            PgObject::Database(_) => state.database_owner.as_deref(),
            PgObject::Schema(schema) => state.schemas.get(schema).map(String::as_str),
            PgObject::Table { schema, name } | PgObject::Sequence { schema, name } => {
                relation_owners.get(&(schema.as_str(), name.as_str())).copied()
            }
            PgObject::Function { signature, .. } => routine_owners.get(signature.as_str()).copied(),
            PgObject::DefaultPrivileges { for_role, .. } => return for_role == grantee,
        };
        owner == Some(grantee)
    };
    let mut atoms = Atoms::new();
    for atom in &state.atoms {
        if owned_by_grantee(&atom.object) {
            continue;
        }
        let entry = atoms.entry(atom.object.clone()).or_default();
        let option = entry.entry(atom.privilege).or_insert(false);
        *option |= atom.with_grant_option;
    }
    atoms
}
