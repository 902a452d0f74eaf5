//! `DatabaseRole` into a group `RoleSpec` plus its inline grants.

use dbprov_core::model::{GrantSpec, PgRoleOptions, RoleSpec};
use dbprov_core::{EngineKind, NameKind};

use crate::convert::grant::{GrantBuilder, keep, pg_grant_entry};
use crate::convert::user::names;
use crate::error::{Errors, FieldError, FieldPath};
use crate::names::check_new_name;
use crate::v1alpha1::DatabaseRole;

/// A `DatabaseRole` in the core model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConversion {
    /// The role itself.
    pub role: RoleSpec,
    /// The role's privileges (`postgres.grants` / `mysql.grants`), one scope per database.
    pub grants: Vec<GrantSpec>,
}

/// Converts a `DatabaseRole` for the engine of its instance.
pub fn role(object: &DatabaseRole, engine: EngineKind) -> Result<RoleConversion, Vec<FieldError>> {
    crate::validate::validate_for_engine(&crate::Resource::DatabaseRole(Box::new(object.clone())), engine)?;
    let spec = &object.spec;
    let path = FieldPath::root("spec");
    let mut errors = Errors::default();
    let name = keep(
        &mut errors,
        check_new_name(
            Some(engine),
            NameKind::Role,
            &spec.role_name,
            &path.field("roleName"),
        ),
    );
    let Some(name) = name else {
        return Err(errors
            .finish()
            .expect_err("invariant: an invalid name was reported"));
    };
    let mut role = RoleSpec::group(name.clone());
    let mut builder = GrantBuilder::new(name);
    if let Some(config) = &spec.postgres {
        let path = path.field("postgres");
        let member_of = names(&mut errors, engine, &config.in_roles, &path.field("inRoles"));
        role.login = config.login;
        role.postgres = PgRoleOptions {
            superuser: Some(config.superuser),
            createdb: Some(config.create_db),
            createrole: Some(config.create_role),
            inherit: Some(config.inherit),
            replication: Some(config.replication),
            bypassrls: Some(config.bypass_rls),
            connection_limit: None,
            valid_until: None,
            member_of: (!member_of.is_empty()).then_some(member_of),
            config: None,
        };
        for (index, entry) in config.grants.iter().enumerate() {
            let path = path.field("grants").index(index);
            match pg_grant_entry(entry, Some(engine), &path) {
                Ok((database, part)) => builder.add_pg(database, part, &path, &mut errors),
                Err(entry_errors) => errors.extend(entry_errors),
            }
        }
    }
    if let Some(config) = &spec.mysql {
        builder.add_mysql_entries(
            &config.grants,
            engine,
            None,
            &path.field("mysql").field("grants"),
            &mut errors,
        );
    }
    errors.finish()?;
    let grants = builder.finish(None, engine, &path.field("mysql").field("grants"))?;
    Ok(RoleConversion { role, grants })
}
