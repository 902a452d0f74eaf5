//! Grant scopes: one cluster-level query for the ACLs of every requested database, then four queries inside
//! each database (schemas, relations, routines, default privileges), each answering for every grantee asked
//! about in that database and listing the objects (with owners) that `All` selectors expand over.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::{
    CatalogRequest, GrantScope, GrantState, PgDefaultObjectType, PgGrantAtom, PgGrantState, PgObject,
    PgPrivilege, PgRelation, PgRoutine,
};
use dbprov_core::{EngineError, Name};
use futures::{StreamExt as _, TryStreamExt as _, stream};
use sqlx::postgres::PgRow;

use super::column;
use crate::engine::PgEngine;
use crate::error::{PgError, inspect_error};
use crate::sql::catalog;

/// One privilege held by a grantee: `(grantee, atom)`.
type Held = (String, PgGrantAtom);

/// What a database-level read found.
#[derive(Debug, Default)]
struct DatabaseAcl {
    owner: String,
    allow_connections: bool,
    held: Vec<Held>,
}

/// What the reads inside one database found.
#[derive(Debug, Default)]
struct Inside {
    held: Vec<Held>,
    schemas: BTreeMap<String, String>,
    relations: Vec<PgRelation>,
    routines: Vec<PgRoutine>,
}

pub(super) async fn read_grants(
    engine: &PgEngine,
    request: &CatalogRequest,
) -> Result<(BTreeMap<GrantScope, GrantState>, u32), EngineError> {
    let scopes = &request.grants;
    let target = engine.target_label();
    let mut grantees_by_database: BTreeMap<&Name, BTreeSet<&str>> = BTreeMap::new();
    for scope in scopes {
        grantees_by_database
            .entry(&scope.database)
            .or_default()
            .insert(scope.grantee.as_str());
    }
    let databases: Vec<String> = grantees_by_database
        .keys()
        .map(|name| name.as_str().to_owned())
        .collect();
    let grantees: Vec<String> = scopes
        .iter()
        .map(|scope| scope.grantee.as_str().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let rows = sqlx::query(catalog::DATABASE_ACLS)
        .bind(&databases)
        .bind(&grantees)
        .fetch_all(engine.admin_pool())
        .await
        .map_err(|error| inspect_error(target, "read database privileges", error))?;
    let mut queries = 1;
    let mut acls: BTreeMap<String, DatabaseAcl> = BTreeMap::new();
    for row in &rows {
        decode_database_acl(row, &mut acls)
            .map_err(|error| inspect_error(target, "read database privileges", error))?;
    }

    // Collected first: a stream over iterator adapters would not be `Send` for the async trait.
    let reads: Vec<_> = grantees_by_database
        .iter()
        .filter(|(database, _)| acls.contains_key(database.as_str()))
        // Scopes that only manage privileges on the database itself need nothing from inside it.
        .filter(|(database, _)| request.needs_inside_grants(database))
        .map(|(database, grantees)| {
            let acl = &acls[database.as_str()];
            async move {
                if !acl.allow_connections {
                    return Err(inspect_error(
                        target,
                        format!("read privileges inside database {database}"),
                        PgError::Catalog("the database does not allow connections".into()),
                    ));
                }
                let inside = read_inside(engine, database.as_str(), grantees).await?;
                Ok::<_, EngineError>((database.as_str().to_owned(), inside))
            }
        })
        .collect();
    let mut insides: BTreeMap<String, Inside> = BTreeMap::new();
    let read: Vec<_> = stream::iter(reads)
        .buffer_unordered(engine.parallelism())
        .try_collect()
        .await?;
    for (database, inside) in read {
        queries += 4;
        insides.insert(database, inside);
    }

    let current_user = engine.facts().current_user.clone();
    let mut grants = BTreeMap::new();
    for scope in scopes {
        let database = scope.database.as_str();
        let grantee = scope.grantee.as_str();
        let mut state = PgGrantState {
            current_user: current_user.clone(),
            ..PgGrantState::default()
        };
        if let Some(acl) = acls.get(database) {
            state.database_exists = true;
            state.database_owner = Some(acl.owner.clone());
            state.atoms.extend(held_by(&acl.held, grantee));
        }
        if let Some(inside) = insides.get(database) {
            state.inside_read = true;
            state.atoms.extend(held_by(&inside.held, grantee));
            state.schemas = inside.schemas.clone();
            state.relations = inside.relations.clone();
            state.routines = inside.routines.clone();
        }
        grants.insert(scope.clone(), GrantState::Postgres(state));
    }
    Ok((grants, queries))
}

fn held_by<'a>(held: &'a [Held], grantee: &'a str) -> impl Iterator<Item = PgGrantAtom> + 'a {
    held.iter()
        .filter(move |(holder, _)| holder == grantee)
        .map(|(_, atom)| atom.clone())
}

/// The privilege of an `aclexplode` row, when the row has one (the ACL part of a listing is a left join) and
/// dbprov knows it (newer servers add privileges such as `MAINTAIN`, which are left alone).
fn privilege_of(row: &PgRow) -> Result<Option<(String, PgPrivilege, bool)>, PgError> {
    let Some(grantee) = column::<Option<String>>(row, "grantee")? else {
        return Ok(None);
    };
    let keyword: String = column(row, "privilege_type")?;
    let with_grant_option: bool = column(row, "is_grantable")?;
    match PgPrivilege::parse(&keyword) {
        Ok(privilege) => Ok(Some((grantee, privilege, with_grant_option))),
        Err(_) => {
            tracing::debug!(privilege = %keyword, "ignoring a privilege dbprov does not manage");
            Ok(None)
        }
    }
}

fn decode_database_acl(row: &PgRow, acls: &mut BTreeMap<String, DatabaseAcl>) -> Result<(), PgError> {
    let database: String = column(row, "database")?;
    let acl = acls.entry(database.clone()).or_default();
    acl.owner = column(row, "owner")?;
    acl.allow_connections = column(row, "allow_connections")?;
    if let Some((grantee, privilege, with_grant_option)) = privilege_of(row)? {
        acl.held.push((
            grantee,
            PgGrantAtom {
                object: PgObject::Database(database),
                privilege,
                with_grant_option,
            },
        ));
    }
    Ok(())
}

async fn read_inside(
    engine: &PgEngine,
    database: &str,
    grantees: &BTreeSet<&str>,
) -> Result<Inside, EngineError> {
    let target = engine.target_label();
    let action = || format!("read privileges inside database {database}");
    let grantees: Vec<String> = grantees.iter().map(|grantee| (*grantee).to_owned()).collect();
    // One connection for the four reads, returned (closed) whatever the outcome.
    let mut connection = engine.connection(Some(database)).await?;
    let rows = async {
        let mut read = async |query: &'static str| {
            sqlx::query(query)
                .bind(&grantees)
                .fetch_all(&mut *connection)
                .await
        };
        Ok::<_, sqlx::Error>((
            read(catalog::SCHEMA_ACLS).await?,
            read(catalog::RELATION_ACLS).await?,
            read(catalog::ROUTINE_ACLS).await?,
            read(catalog::DEFAULT_ACLS).await?,
        ))
    }
    .await;
    engine.release(connection, Some(database)).await;
    let (schemas, relations, routines, defaults) =
        rows.map_err(|error| inspect_error(target, action(), error))?;
    decode_inside(&schemas, &relations, &routines, &defaults)
        .map_err(|error| inspect_error(target, action(), error))
}

fn decode_inside(
    schemas: &[PgRow],
    relations: &[PgRow],
    routines: &[PgRow],
    defaults: &[PgRow],
) -> Result<Inside, PgError> {
    let mut inside = Inside::default();
    for row in schemas {
        let schema: String = column(row, "schema")?;
        inside.schemas.insert(schema.clone(), column(row, "owner")?);
        if let Some((grantee, privilege, with_grant_option)) = privilege_of(row)? {
            inside.held.push((
                grantee,
                PgGrantAtom {
                    object: PgObject::Schema(schema),
                    privilege,
                    with_grant_option,
                },
            ));
        }
    }
    let mut listed = BTreeMap::new();
    for row in relations {
        let relation = PgRelation {
            schema: column(row, "schema")?,
            name: column(row, "name")?,
            owner: column(row, "owner")?,
            is_sequence: column(row, "is_sequence")?,
        };
        if let Some((grantee, privilege, with_grant_option)) = privilege_of(row)? {
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
            inside.held.push((
                grantee,
                PgGrantAtom {
                    object,
                    privilege,
                    with_grant_option,
                },
            ));
        }
        listed.insert((relation.schema.clone(), relation.name.clone()), relation);
    }
    inside.relations = listed.into_values().collect();
    let mut listed = BTreeMap::new();
    for row in routines {
        let routine = PgRoutine {
            schema: column(row, "schema")?,
            name: column(row, "name")?,
            signature: column(row, "signature")?,
            owner: column(row, "owner")?,
        };
        if let Some((grantee, privilege, with_grant_option)) = privilege_of(row)? {
            let object = PgObject::Function {
                schema: routine.schema.clone(),
                name: routine.name.clone(),
                signature: routine.signature.clone(),
            };
            inside.held.push((
                grantee,
                PgGrantAtom {
                    object,
                    privilege,
                    with_grant_option,
                },
            ));
        }
        listed.insert(routine.signature.clone(), routine);
    }
    inside.routines = listed.into_values().collect();
    for row in defaults {
        let code: String = column(row, "object_type")?;
        let object_type = code
            .chars()
            .next()
            .and_then(PgDefaultObjectType::from_catalog_code)
            .ok_or_else(|| PgError::Catalog(format!("unknown default privilege object type {code:?}")))?;
        if let Some((grantee, privilege, with_grant_option)) = privilege_of(row)? {
            let object = PgObject::DefaultPrivileges {
                for_role: column(row, "for_role")?,
                schema: column(row, "schema")?,
                object_type,
            };
            inside.held.push((
                grantee,
                PgGrantAtom {
                    object,
                    privilege,
                    with_grant_option,
                },
            ));
        }
    }
    Ok(inside)
}
