//! `DatabaseUser` into a login `RoleSpec`.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::{
    MySqlAccountOptions, MySqlTlsRequirement, PasswordLockTime, PgRoleOptions, RoleSpec,
};
use dbprov_core::{EngineKind, Name, NameKind};

use crate::convert::grant::keep;
use crate::error::{Errors, FieldError, FieldPath};
use crate::names::{check_name, check_new_name};
use crate::v1alpha1::{DatabaseUser, MySqlUserConfig, PostgresUserConfig};

/// Converts a `DatabaseUser` for the engine of its instance. The password is not part of it: the reconciler
/// resolves [`crate::convert::password_source`] and sets `RoleSpec::password`. Roles granted by
/// `DatabaseGrant`s are merged in by the caller (see [`crate::convert::GrantConversion::memberships`]).
pub fn user(object: &DatabaseUser, engine: EngineKind) -> Result<RoleSpec, Vec<FieldError>> {
    crate::validate::validate_for_engine(&crate::Resource::DatabaseUser(Box::new(object.clone())), engine)?;
    let spec = &object.spec;
    let path = FieldPath::root("spec");
    let mut errors = Errors::default();
    let name = keep(
        &mut errors,
        check_new_name(
            Some(engine),
            NameKind::User,
            &spec.username,
            &path.field("username"),
        ),
    );
    let mut roles = names(&mut errors, engine, &spec.roles, &path.field("roles"));
    let mut postgres = PgRoleOptions::default();
    let mut mysql = MySqlAccountOptions::default();
    match engine {
        EngineKind::Postgres => {
            if let Some(config) = &spec.postgres {
                roles.extend(names(
                    &mut errors,
                    engine,
                    &config.in_roles,
                    &path.field("postgres").field("inRoles"),
                ));
                postgres = pg_user_options(config);
            }
            if !roles.is_empty() {
                postgres.member_of = Some(roles);
            }
        }
        EngineKind::MySql | EngineKind::MariaDb => {
            if let Some(config) = &spec.mysql {
                mysql = mysql_account_options(config, engine);
            }
            if !roles.is_empty() {
                mysql.roles = Some(roles);
            }
        }
        EngineKind::Sqlite => {}
    }
    errors.finish()?;
    Ok(RoleSpec {
        name: name.expect("invariant: an invalid name was reported above"),
        login: true,
        password: None,
        postgres,
        mysql,
    })
}

pub(crate) fn names(
    errors: &mut Errors,
    engine: EngineKind,
    values: &[String],
    path: &FieldPath,
) -> BTreeSet<Name> {
    values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            keep(
                errors,
                check_name(Some(engine), NameKind::Role, value, &path.index(index)),
            )
        })
        .collect()
}

fn pg_user_options(config: &PostgresUserConfig) -> PgRoleOptions {
    let mut settings: BTreeMap<String, String> = config.config_parameters.clone();
    if let Some(role) = &config.default_role {
        settings.insert("role".to_owned(), role.clone());
    }
    PgRoleOptions {
        superuser: Some(config.superuser),
        createdb: Some(config.create_db),
        createrole: Some(config.create_role),
        inherit: Some(config.inherit),
        replication: Some(config.replication),
        bypassrls: Some(config.bypass_rls),
        connection_limit: Some(config.connection_limit),
        valid_until: config.valid_until.clone(),
        member_of: None,
        config: (!settings.is_empty()).then_some(settings),
    }
}

fn mysql_account_options(config: &MySqlUserConfig, engine: EngineKind) -> MySqlAccountOptions {
    let unsigned = |value: i32| u32::try_from(value).unwrap_or(0);
    let small = |value: i32| u16::try_from(value).unwrap_or(0);
    // 0 (the default) means "not managed": MariaDB has no FAILED_LOGIN_ATTEMPTS / PASSWORD_LOCK_TIME (validation
    // rejects other values there), and an instance declared `mysql` may turn out to be MariaDB, which is only
    // known once connected.
    let _ = engine;
    MySqlAccountOptions {
        hosts: config.allowed_hosts.clone(),
        auth_plugin: config.auth_plugin.map(|plugin| plugin.as_str().to_owned()),
        require: Some(if config.require_x509 {
            MySqlTlsRequirement::X509
        } else if config.require_ssl {
            MySqlTlsRequirement::Ssl
        } else {
            MySqlTlsRequirement::None
        }),
        max_queries_per_hour: Some(unsigned(config.max_queries_per_hour)),
        max_updates_per_hour: Some(unsigned(config.max_updates_per_hour)),
        max_connections_per_hour: Some(unsigned(config.max_connections_per_hour)),
        max_user_connections: Some(unsigned(config.max_user_connections)),
        account_locked: Some(config.account_locked),
        failed_login_attempts: (config.failed_login_attempts != 0)
            .then(|| small(config.failed_login_attempts)),
        password_lock_time: (config.password_lock_time != 0)
            .then(|| PasswordLockTime::Days(small(config.password_lock_time))),
        roles: None,
    }
}
