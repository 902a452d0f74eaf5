//! Batched catalog reads: one query for all requested databases, one for all roles, one for all database
//! ACLs, and a fixed number per database that must be looked into (extensions and schemas: 2; grants: 4).

mod grants;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dbprov_core::model::validate::validate_catalog_request;
use dbprov_core::model::{
    Catalog, CatalogRequest, DatabaseState, PasswordState, PgDatabaseState, PgExtensionState, PgRoleState,
    PgSchemaState, RoleState,
};
use dbprov_core::{EngineError, Name, Secret};
use futures::{StreamExt as _, TryStreamExt as _, stream};
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::CAPABILITIES;
use crate::engine::PgEngine;
use crate::error::{PgError, inspect_error};
use crate::sql::catalog;

/// Reads everything `request` names.
pub(crate) async fn inspect(engine: &PgEngine, request: &CatalogRequest) -> Result<Catalog, EngineError> {
    validate_catalog_request(request, &CAPABILITIES)?;
    let mut catalog = Catalog::default();
    if !request.databases.is_empty() {
        read_databases(engine, request, &mut catalog).await?;
    }
    if !request.roles.is_empty() {
        read_roles(engine, request, &mut catalog).await?;
    }
    if !request.grants.is_empty() {
        let (grants, queries) = grants::read_grants(engine, request).await?;
        catalog.grants = grants;
        catalog.queries += queries;
    }
    Ok(catalog)
}

/// Decodes one column, naming it when the row does not have the expected shape.
pub(crate) fn column<'r, T>(row: &'r PgRow, name: &str) -> Result<T, PgError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name)
        .map_err(|error| PgError::Catalog(format!("column {name}: {error}")))
}

async fn read_databases(
    engine: &PgEngine,
    request: &CatalogRequest,
    catalog: &mut Catalog,
) -> Result<(), EngineError> {
    let target = engine.target_label();
    let requested: HashMap<&str, &Name> = request
        .databases
        .iter()
        .map(|database| (database.name.as_str(), &database.name))
        .collect();
    let names: Vec<String> = requested.keys().map(|name| (*name).to_owned()).collect();
    let rows = sqlx::query(catalog::DATABASES)
        .bind(&names)
        .fetch_all(engine.admin_pool())
        .await
        .map_err(|error| inspect_error(target, "read databases", error))?;
    catalog.queries += 1;
    for row in &rows {
        let state = decode_database(row, &requested)
            .map_err(|error| inspect_error(target, "read databases", error))?;
        catalog.databases.insert(state.name.clone(), state);
    }

    // Inside the databases that asked for it (and exist, and accept connections): in parallel.
    let inside: BTreeSet<&Name> = request
        .databases
        .iter()
        .filter(|database| database.inside)
        .map(|database| &database.name)
        .filter(|name| {
            catalog
                .databases
                .get(*name)
                .and_then(|state| state.postgres.as_ref())
                .is_some_and(|pg| pg.allow_connections)
        })
        .collect();
    // Collected first: a stream over iterator adapters would not be `Send` for the async trait.
    let reads: Vec<_> = inside
        .into_iter()
        .map(|name| async move {
            let contents = read_inside(engine, name.as_str()).await?;
            Ok::<_, EngineError>((name.clone(), contents))
        })
        .collect();
    let contents: Vec<_> = stream::iter(reads)
        .buffer_unordered(engine.parallelism())
        .try_collect()
        .await?;
    for (name, (extensions, schemas)) in contents {
        if let Some(pg) = catalog
            .databases
            .get_mut(&name)
            .and_then(|state| state.postgres.as_mut())
        {
            pg.extensions = Some(extensions);
            pg.schemas = Some(schemas);
        }
        catalog.queries += 2;
    }
    Ok(())
}

fn decode_database(row: &PgRow, requested: &HashMap<&str, &Name>) -> Result<DatabaseState, PgError> {
    let name: String = column(row, "name")?;
    Ok(DatabaseState {
        name: requested
            .get(name.as_str())
            .map(|name| (*name).clone())
            .ok_or_else(|| PgError::Catalog(format!("database {name:?} was not requested")))?,
        owner: column(row, "owner")?,
        postgres: Some(PgDatabaseState {
            encoding: column(row, "encoding")?,
            lc_collate: column(row, "lc_collate")?,
            lc_ctype: column(row, "lc_ctype")?,
            tablespace: column::<Option<String>>(row, "tablespace")?.unwrap_or_default(),
            connection_limit: column(row, "connection_limit")?,
            is_template: column(row, "is_template")?,
            allow_connections: column(row, "allow_connections")?,
            extensions: None,
            schemas: None,
        }),
        mysql: None,
        sqlite: None,
    })
}

/// Extensions and schemas of one database: two queries on its pool.
async fn read_inside(
    engine: &PgEngine,
    database: &str,
) -> Result<(Vec<PgExtensionState>, Vec<PgSchemaState>), EngineError> {
    let target = engine.target_label();
    let action = || format!("read extensions and schemas of database {database}");
    // One connection, returned (closed) whatever the outcome.
    let mut connection = engine.connection(Some(database)).await?;
    let rows = async {
        let extensions = sqlx::query(catalog::EXTENSIONS)
            .fetch_all(&mut *connection)
            .await?;
        let schemas = sqlx::query(catalog::SCHEMAS).fetch_all(&mut *connection).await?;
        Ok::<_, sqlx::Error>((extensions, schemas))
    }
    .await;
    engine.release(connection, Some(database)).await;
    let (extension_rows, schema_rows) = rows.map_err(|error| inspect_error(target, action(), error))?;
    let decode = || -> Result<_, PgError> {
        let mut extensions = extension_rows
            .iter()
            .map(|row| {
                Ok(PgExtensionState {
                    name: column(row, "name")?,
                    schema: column(row, "schema")?,
                    version: column(row, "version")?,
                })
            })
            .collect::<Result<Vec<_>, PgError>>()?;
        extensions.sort_by(|a, b| a.name.cmp(&b.name));
        let mut schemas = schema_rows
            .iter()
            .map(|row| {
                Ok(PgSchemaState {
                    name: column(row, "name")?,
                    owner: column(row, "owner")?,
                })
            })
            .collect::<Result<Vec<_>, PgError>>()?;
        schemas.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((extensions, schemas))
    };
    decode().map_err(|error| inspect_error(target, action(), error))
}

async fn read_roles(
    engine: &PgEngine,
    request: &CatalogRequest,
    catalog: &mut Catalog,
) -> Result<(), EngineError> {
    let target = engine.target_label();
    let requested: HashMap<&str, &Name> = request.roles.iter().map(|name| (name.as_str(), name)).collect();
    let names: Vec<String> = requested.keys().map(|name| (*name).to_owned()).collect();
    // Only superusers may read pg_authid; anyone else learns that a password cannot be checked.
    let query = if engine.facts().superuser {
        catalog::ROLES_WITH_PASSWORD
    } else {
        catalog::ROLES
    };
    let rows = sqlx::query(query)
        .bind(&names)
        .fetch_all(engine.admin_pool())
        .await
        .map_err(|error| inspect_error(target, "read roles", error))?;
    catalog.queries += 1;
    for row in &rows {
        let state =
            decode_role(row, &requested).map_err(|error| inspect_error(target, "read roles", error))?;
        catalog.roles.insert(state.name.clone(), state);
    }
    Ok(())
}

fn decode_role(row: &PgRow, requested: &HashMap<&str, &Name>) -> Result<RoleState, PgError> {
    let name: String = column(row, "name")?;
    let password = if column::<bool>(row, "password_readable")? {
        match column::<Option<String>>(row, "password")? {
            Some(verifier) => PasswordState::Verifier(Secret::new(verifier)),
            None => PasswordState::None,
        }
    } else {
        PasswordState::Unverifiable
    };
    let config: BTreeMap<String, String> = column::<Vec<String>>(row, "config")?
        .into_iter()
        .filter_map(|entry| {
            entry
                .split_once('=')
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
        })
        .collect();
    let set = |values: Vec<String>| values.into_iter().collect::<BTreeSet<String>>();
    Ok(RoleState {
        name: requested
            .get(name.as_str())
            .map(|name| (*name).clone())
            .ok_or_else(|| PgError::Catalog(format!("role {name:?} was not requested")))?,
        login: column(row, "login")?,
        password,
        postgres: Some(PgRoleState {
            superuser: column(row, "superuser")?,
            createdb: column(row, "createdb")?,
            createrole: column(row, "createrole")?,
            inherit: column(row, "inherit")?,
            replication: column(row, "replication")?,
            bypassrls: column(row, "bypassrls")?,
            connection_limit: column(row, "connection_limit")?,
            valid_until: column(row, "valid_until")?,
            member_of: set(column(row, "member_of")?),
            config,
            dependent_databases: set(column(row, "dependent_databases")?),
            owned_databases: set(column(row, "owned_databases")?),
        }),
        mysql: None,
    })
}
