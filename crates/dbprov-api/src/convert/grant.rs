//! Grants: `PostgresGrant` / `MySqlGrant` entries and `DatabaseGrant` objects into `dbprov_core::GrantSpec`s.
//!
//! The entry parsers are shared with validation, so a manifest that validates converts.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::{GrantSpec, MySqlGrants, MySqlPrivilegeSet, PgGrants};
use dbprov_core::{EngineKind, Name, NameKind};

pub(crate) use crate::convert::mysql_grant::{MySqlEntry, ReferenceDatabase, mysql_grant_entry};
pub(crate) use crate::convert::pg_grant::{pg_default_privilege_entry, pg_grant_entry};
use crate::error::{Errors, FieldError, FieldPath};
use crate::names::check_name;
use crate::v1alpha1::{DatabaseGrant, MySqlGrant};

/// A `DatabaseGrant` in the core model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantConversion {
    /// One spec per database the grant names (its scope: the grantee's privileges in that database).
    pub grants: Vec<GrantSpec>,
    /// Roles the grantee must be a member of. They belong on the grantee's `RoleSpec`
    /// (`postgres.member_of` / `mysql.roles`), merged with the grantee's own.
    pub memberships: BTreeSet<Name>,
}

/// Converts a `DatabaseGrant` for the resolved grantee (the user's `username` or the role's `roleName`).
/// `reference_database` is the name of the `Database` that `databaseRef` resolves to, if any.
pub fn grant(
    object: &DatabaseGrant,
    engine: EngineKind,
    grantee: &Name,
    reference_database: Option<&str>,
) -> Result<GrantConversion, Vec<FieldError>> {
    crate::validate::validate_for_engine(&crate::Resource::DatabaseGrant(Box::new(object.clone())), engine)?;
    let spec = &object.spec;
    let path = FieldPath::root("spec");
    let mut errors = Errors::default();
    let mut builder = GrantBuilder::new(grantee.clone());
    let mut memberships = BTreeSet::new();
    if let Some(postgres) = &spec.postgres {
        let path = path.field("postgres");
        for (index, role) in postgres.roles.iter().enumerate() {
            if let Some(name) = keep(
                &mut errors,
                check_name(
                    Some(engine),
                    NameKind::Role,
                    role,
                    &path.field("roles").index(index),
                ),
            ) {
                memberships.insert(name);
            }
        }
        for (index, entry) in postgres.grants.iter().enumerate() {
            match pg_grant_entry(entry, Some(engine), &path.field("grants").index(index)) {
                Ok((database, grants)) => {
                    builder.add_pg(database, grants, &path.field("grants").index(index), &mut errors)
                }
                Err(entry_errors) => errors.extend(entry_errors),
            }
        }
        for (index, entry) in postgres.default_privileges.iter().enumerate() {
            match pg_default_privilege_entry(
                entry,
                Some(engine),
                &path.field("defaultPrivileges").index(index),
            ) {
                Ok((database, default)) => builder.pg(database).default_privileges.push(default),
                Err(entry_errors) => errors.extend(entry_errors),
            }
        }
    }
    if let Some(mysql) = &spec.mysql {
        let path = path.field("mysql");
        for (index, role) in mysql.roles.iter().enumerate() {
            if let Some(name) = keep(
                &mut errors,
                check_name(
                    Some(engine),
                    NameKind::Role,
                    role,
                    &path.field("roles").index(index),
                ),
            ) {
                memberships.insert(name);
            }
        }
        builder.add_mysql_entries(
            &mysql.grants,
            engine,
            reference_database,
            &path.field("grants"),
            &mut errors,
        );
    }
    errors.finish()?;
    let grants = builder.finish(reference_database, engine, &path.field("mysql").field("grants"))?;
    Ok(GrantConversion { grants, memberships })
}

pub(crate) fn keep<T>(errors: &mut Errors, result: Result<T, FieldError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push(error);
            None
        }
    }
}

/// Collects grant parts per database.
pub(crate) struct GrantBuilder {
    grantee: Name,
    databases: BTreeMap<Name, GrantSpec>,
    /// MySQL global privileges: they belong to no database; attached to one scope in `finish`.
    mysql_global: Option<MySqlPrivilegeSet>,
    /// Whether database-level PostgreSQL privileges of a database were declared with and without grant option.
    pg_database_grant_option: BTreeMap<Name, bool>,
}

impl GrantBuilder {
    pub(crate) fn new(grantee: Name) -> Self {
        Self {
            grantee,
            databases: BTreeMap::new(),
            mysql_global: None,
            pg_database_grant_option: BTreeMap::new(),
        }
    }

    fn spec(&mut self, database: Name) -> &mut GrantSpec {
        let grantee = self.grantee.clone();
        self.databases
            .entry(database.clone())
            .or_insert_with(|| GrantSpec {
                grantee,
                database,
                postgres: PgGrants::default(),
                mysql: MySqlGrants::default(),
            })
    }

    pub(crate) fn pg(&mut self, database: Name) -> &mut PgGrants {
        &mut self.spec(database).postgres
    }

    pub(crate) fn add_pg(&mut self, database: Name, part: PgGrants, path: &FieldPath, errors: &mut Errors) {
        if !part.database.is_empty() {
            let previous = self
                .pg_database_grant_option
                .insert(database.clone(), part.database_with_grant_option);
            if previous.is_some_and(|previous| previous != part.database_with_grant_option) {
                errors.invalid(
                    &path.field("withGrantOption"),
                    format!(
                        "privileges on database {database} are declared both with and without grant option; use one entry"
                    ),
                );
            }
        }
        let target = self.pg(database);
        for privilege in part.database {
            if !target.database.contains(&privilege) {
                target.database.push(privilege);
            }
        }
        target.database.sort();
        target.database_with_grant_option |= part.database_with_grant_option;
        target.schemas.extend(part.schemas);
        target.tables.extend(part.tables);
        target.sequences.extend(part.sequences);
        target.functions.extend(part.functions);
        target.default_privileges.extend(part.default_privileges);
    }

    pub(crate) fn add_mysql_entries(
        &mut self,
        entries: &[MySqlGrant],
        engine: EngineKind,
        reference_database: Option<&str>,
        path: &FieldPath,
        errors: &mut Errors,
    ) {
        for (index, entry) in entries.iter().enumerate() {
            let path = path.index(index);
            let reference = match reference_database {
                Some(database) => ReferenceDatabase::Resolved(database),
                None => ReferenceDatabase::None,
            };
            match mysql_grant_entry(
                entry,
                Some(engine),
                engine == EngineKind::MariaDb,
                reference,
                &path,
            ) {
                Ok(MySqlEntry::Global(set)) => {
                    let global = self.mysql_global.get_or_insert_with(MySqlPrivilegeSet::default);
                    merge_set(global, set);
                }
                Ok(MySqlEntry::Scoped(database, part)) => {
                    let target = &mut self.spec(database).mysql;
                    merge_set(&mut target.database, part.database);
                    target.tables.extend(part.tables);
                    target.columns.extend(part.columns);
                    target.routines.extend(part.routines);
                }
                Ok(MySqlEntry::Unresolved) => {
                    errors.invalid(&path.field("database"), "is required (or set spec.databaseRef)")
                }
                Err(entry_errors) => errors.extend(entry_errors),
            }
        }
    }

    /// The specs, one per database. MySQL global privileges are managed with the `databaseRef`'s scope, or else
    /// with the first database the grant names.
    pub(crate) fn finish(
        mut self,
        reference_database: Option<&str>,
        engine: EngineKind,
        global_path: &FieldPath,
    ) -> Result<Vec<GrantSpec>, Vec<FieldError>> {
        if let Some(global) = self.mysql_global.take() {
            let database = match reference_database {
                Some(name) => check_name(
                    Some(engine),
                    NameKind::Database,
                    name,
                    &FieldPath::root("spec").field("databaseRef"),
                )
                .map_err(|error| vec![error])?,
                None => match self.databases.keys().next() {
                    Some(first) => first.clone(),
                    None => {
                        return Err(vec![FieldError::invalid(
                            global_path,
                            "global privileges are managed together with one database scope: add databaseRef or a database-level entry",
                        )]);
                    }
                },
            };
            self.spec(database).mysql.global = Some(global);
        }
        Ok(self.databases.into_values().collect())
    }
}

fn merge_set(target: &mut MySqlPrivilegeSet, part: MySqlPrivilegeSet) {
    for privilege in part.privileges {
        if !target.privileges.contains(&privilege) {
            target.privileges.push(privilege);
        }
    }
    target.privileges.sort();
    target.with_grant_option |= part.with_grant_option;
}

/// Merges grant scopes of the same grantee and database (from `DatabaseGrant`s, `DatabaseRole.grants` and
/// `Database.spec.postgres.defaultPrivileges`), so each scope is planned once with everything declared for it.
pub fn merge_grants(grants: impl IntoIterator<Item = GrantSpec>) -> Vec<GrantSpec> {
    let mut merged: BTreeMap<(Name, Name), GrantSpec> = BTreeMap::new();
    for grant in grants {
        match merged.entry((grant.grantee.clone(), grant.database.clone())) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(grant);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => {
                let target = slot.get_mut();
                let pg = grant.postgres;
                for privilege in pg.database {
                    if !target.postgres.database.contains(&privilege) {
                        target.postgres.database.push(privilege);
                    }
                }
                target.postgres.database.sort();
                target.postgres.database_with_grant_option |= pg.database_with_grant_option;
                target.postgres.schemas.extend(pg.schemas);
                target.postgres.tables.extend(pg.tables);
                target.postgres.sequences.extend(pg.sequences);
                target.postgres.functions.extend(pg.functions);
                target.postgres.default_privileges.extend(pg.default_privileges);
                let my = grant.mysql;
                if let Some(global) = my.global {
                    merge_set(
                        target.mysql.global.get_or_insert_with(MySqlPrivilegeSet::default),
                        global,
                    );
                }
                merge_set(&mut target.mysql.database, my.database);
                target.mysql.tables.extend(my.tables);
                target.mysql.columns.extend(my.columns);
                target.mysql.routines.extend(my.routines);
            }
        }
    }
    merged.into_values().collect()
}
