//! `Database` into `dbprov_core::model::DatabaseSpec`.

use std::collections::BTreeMap;

use dbprov_core::model::{
    DatabaseSpec, GrantSpec, MySqlDatabaseOptions, MySqlGrants, PgDatabaseOptions, PgDefaultPrivilege,
    PgExtension, PgGrants, PgPrivilege, PgSchema,
};
use dbprov_core::{EngineKind, Name, NameKind};

use crate::convert::grant::keep;
use crate::error::{Errors, FieldError, FieldPath};
use crate::names::{check_name, check_new_name};
use crate::v1alpha1::Database;

/// A `Database` in the core model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConversion {
    /// The database itself.
    pub spec: DatabaseSpec,
    /// `spec.postgres.defaultPrivileges`, one grant scope per role (grantee) in this database. They are
    /// managed like `DatabaseGrant`s: merge them with other grants of the same role and database
    /// ([`crate::convert::merge_grants`]).
    pub default_privilege_grants: Vec<GrantSpec>,
}

/// Converts a `Database` for the engine of its instance.
pub fn database(object: &Database, engine: EngineKind) -> Result<DatabaseConversion, Vec<FieldError>> {
    crate::validate::validate_for_engine(&crate::Resource::Database(Box::new(object.clone())), engine)?;
    let spec = &object.spec;
    let path = FieldPath::root("spec");
    let mut errors = Errors::default();
    let engine_some = Some(engine);
    let name = keep(
        &mut errors,
        check_new_name(engine_some, NameKind::Database, &spec.name, &path.field("name")),
    );
    let owner = spec.owner.as_deref().and_then(|owner| {
        keep(
            &mut errors,
            check_name(engine_some, NameKind::Role, owner, &path.field("owner")),
        )
    });
    let mut postgres = PgDatabaseOptions::default();
    let mut grants: BTreeMap<Name, PgGrants> = BTreeMap::new();
    if let Some(config) = &spec.postgres {
        let path = path.field("postgres");
        postgres.encoding = Some(config.encoding.clone());
        postgres.lc_collate = config.lc_collate.clone();
        postgres.lc_ctype = config.lc_ctype.clone();
        postgres.template = keep(
            &mut errors,
            check_name(
                engine_some,
                NameKind::Database,
                &config.template,
                &path.field("template"),
            ),
        );
        postgres.tablespace = keep(
            &mut errors,
            check_name(
                engine_some,
                NameKind::Tablespace,
                &config.tablespace,
                &path.field("tablespace"),
            ),
        );
        postgres.connection_limit = Some(config.connection_limit);
        postgres.is_template = Some(config.is_template);
        postgres.allow_connections = Some(config.allow_connections);
        for (index, extension) in config.extensions.iter().enumerate() {
            let path = path.field("extensions").index(index);
            let name = keep(
                &mut errors,
                check_name(
                    engine_some,
                    NameKind::Extension,
                    &extension.name,
                    &path.field("name"),
                ),
            );
            let schema = keep(
                &mut errors,
                check_name(
                    engine_some,
                    NameKind::Schema,
                    &extension.schema,
                    &path.field("schema"),
                ),
            );
            if let (Some(name), Some(schema)) = (name, schema) {
                postgres.extensions.push(PgExtension {
                    name,
                    schema: Some(schema),
                    version: extension.version.clone(),
                });
            }
        }
        for (index, schema) in config.schemas.iter().enumerate() {
            let path = path.field("schemas").index(index);
            let name = keep(
                &mut errors,
                check_name(engine_some, NameKind::Schema, &schema.name, &path.field("name")),
            );
            let owner = schema.owner.as_deref().and_then(|owner| {
                keep(
                    &mut errors,
                    check_name(engine_some, NameKind::Role, owner, &path.field("owner")),
                )
            });
            if let Some(name) = name {
                postgres.schemas.push(PgSchema { name, owner });
            }
        }
        for (index, default) in config.default_privileges.iter().enumerate() {
            let path = path.field("defaultPrivileges").index(index);
            let role = keep(
                &mut errors,
                check_name(engine_some, NameKind::Role, &default.role, &path.field("role")),
            );
            let schema = keep(
                &mut errors,
                check_name(
                    engine_some,
                    NameKind::Schema,
                    &default.schema,
                    &path.field("schema"),
                ),
            );
            let object_type = default.object_type.core();
            let privileges = PgPrivilege::parse_list(&default.privileges, object_type.object_kind())
                .map_err(|error| FieldError::invalid(path.field("privileges"), error.to_string()));
            if let (Some(role), Some(schema), Some(privileges)) =
                (role, schema, keep(&mut errors, privileges))
            {
                grants
                    .entry(role)
                    .or_default()
                    .default_privileges
                    .push(PgDefaultPrivilege {
                        for_role: owner.clone(),
                        schema: Some(schema),
                        object_type,
                        privileges,
                        with_grant_option: false,
                    });
            }
        }
    }
    let mysql = match &spec.mysql {
        Some(config) => MySqlDatabaseOptions {
            charset: Some(config.charset.clone()),
            collation: Some(config.collation.clone()),
        },
        None => MySqlDatabaseOptions::default(),
    };
    errors.finish()?;
    let name = name.expect("invariant: an invalid name was reported above");
    let default_privilege_grants = grants
        .into_iter()
        .map(|(grantee, postgres)| GrantSpec {
            grantee,
            database: name.clone(),
            postgres,
            mysql: MySqlGrants::default(),
        })
        .collect();
    Ok(DatabaseConversion {
        spec: DatabaseSpec {
            name,
            owner,
            postgres,
            mysql,
        },
        default_privilege_grants,
    })
}
