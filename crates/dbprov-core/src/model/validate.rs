//! Pure validation of declarations against what an engine can do. Runs before any connection opens.

use crate::engine::Capabilities;
use crate::error::EngineError;
use crate::model::catalog::CatalogRequest;
use crate::model::database::{DatabaseSpec, MySqlDatabaseOptions, PgDatabaseOptions};
use crate::model::grant::{GrantSpec, MySqlGrants, ObjectSelector, PgGrants};
use crate::model::privilege::MySqlPrivilege;
use crate::model::role::{MySqlAccountOptions, PgRoleOptions, RoleSpec};
use crate::name::{Name, NameKind};

fn unsupported(caps: &Capabilities, what: impl Into<String>) -> EngineError {
    EngineError::unsupported(caps.engine, what)
}

fn check_name(caps: &Capabilities, kind: NameKind, name: &Name) -> Result<(), EngineError> {
    caps.name_limits
        .check_name(caps.engine, kind, name)
        .map_err(EngineError::from)
}

/// The name of the object a declaration creates: also outside the server's reserved prefixes.
fn check_new_name(caps: &Capabilities, kind: NameKind, name: &Name) -> Result<(), EngineError> {
    caps.name_limits
        .check_new(caps.engine, kind, name)
        .map_err(EngineError::from)
}

/// Checks the names a catalog read asks for: a name the engine's rules reject cannot exist, so the read
/// says so (`InvalidName`) instead of querying the server, or the file system, with it.
pub fn validate_catalog_request(request: &CatalogRequest, caps: &Capabilities) -> Result<(), EngineError> {
    for database in &request.databases {
        check_name(caps, NameKind::Database, &database.name)?;
    }
    for role in &request.roles {
        check_name(caps, NameKind::Role, role)?;
    }
    for scope in &request.grants {
        check_name(caps, NameKind::Role, &scope.grantee)?;
        check_name(caps, NameKind::Database, &scope.database)?;
    }
    Ok(())
}

/// Checks a database declaration.
pub fn validate_database(spec: &DatabaseSpec, caps: &Capabilities) -> Result<(), EngineError> {
    let object = format!("database {}", spec.name);
    check_new_name(caps, NameKind::Database, &spec.name)?;
    if let Some(owner) = &spec.owner {
        if !caps.database_owner {
            return Err(unsupported(
                caps,
                format!("{object}: owner (databases have no owner on {})", caps.engine),
            ));
        }
        check_name(caps, NameKind::Role, owner)?;
    }
    let pg = &spec.postgres;
    if *pg != PgDatabaseOptions::default() {
        if !caps.extensions && !caps.schemas {
            return Err(unsupported(caps, format!("{object}: postgres options")));
        }
        for extension in &pg.extensions {
            check_name(caps, NameKind::Extension, &extension.name)?;
            if let Some(schema) = &extension.schema {
                check_name(caps, NameKind::Schema, schema)?;
            }
        }
        for schema in &pg.schemas {
            check_name(caps, NameKind::Schema, &schema.name)?;
            if let Some(owner) = &schema.owner {
                check_name(caps, NameKind::Role, owner)?;
            }
        }
        if let Some(limit) = pg.connection_limit
            && limit < -1
        {
            return Err(EngineError::invalid_spec(
                object,
                "connectionLimit",
                "must be -1 (unlimited) or more",
            ));
        }
        if let Some(tablespace) = &pg.tablespace {
            check_name(caps, NameKind::Tablespace, tablespace)?;
        }
        if let Some(template) = &pg.template {
            check_name(caps, NameKind::Database, template)?;
        }
    }
    if spec.mysql != MySqlDatabaseOptions::default() && !caps.charset_collation {
        return Err(unsupported(
            caps,
            format!("{object}: mysql options (charset, collation)"),
        ));
    }
    for value in [&spec.mysql.charset, &spec.mysql.collation].into_iter().flatten() {
        if value.is_empty() || !value.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(EngineError::invalid_spec(
                object,
                "mysql",
                format!("{value:?} is not a character set or collation name"),
            ));
        }
    }
    for value in [&pg.encoding, &pg.lc_collate, &pg.lc_ctype].into_iter().flatten() {
        if value.is_empty() || value.contains('\0') {
            return Err(EngineError::invalid_spec(
                object,
                "postgres",
                "encoding and locale names must not be empty",
            ));
        }
    }
    Ok(())
}

/// Checks a user or role declaration.
pub fn validate_role(spec: &RoleSpec, caps: &Capabilities) -> Result<(), EngineError> {
    let object = format!("{} {}", spec.kind(), spec.name);
    if (spec.login && !caps.users) || (!spec.login && !caps.roles) {
        return Err(unsupported(caps, format!("{}s", spec.kind())));
    }
    check_new_name(
        caps,
        if spec.login {
            NameKind::User
        } else {
            NameKind::Role
        },
        &spec.name,
    )?;
    if let Some(password) = &spec.password
        && password.value.expose().contains('\0')
    {
        return Err(EngineError::invalid_spec(
            object,
            "password",
            "must not contain a NUL byte",
        ));
    }
    let pg = &spec.postgres;
    if *pg != PgRoleOptions::default() {
        if !caps.role_attributes {
            return Err(unsupported(caps, format!("{object}: postgres role attributes")));
        }
        for role in pg.member_of.iter().flatten() {
            check_name(caps, NameKind::Role, role)?;
            if *role == spec.name {
                return Err(EngineError::invalid_spec(
                    object,
                    "memberOf",
                    "a role cannot be a member of itself",
                ));
            }
        }
        if let Some(limit) = pg.connection_limit
            && limit < -1
        {
            return Err(EngineError::invalid_spec(
                object,
                "connectionLimit",
                "must be -1 (unlimited) or more",
            ));
        }
        for name in pg.config.iter().flatten().map(|(name, _)| name) {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')
            {
                return Err(EngineError::invalid_spec(
                    object,
                    "config",
                    format!("{name:?} is not a setting name"),
                ));
            }
        }
    }
    let my = &spec.mysql;
    if *my != MySqlAccountOptions::default() {
        if !caps.accounts {
            return Err(unsupported(caps, format!("{object}: mysql account options")));
        }
        for host in &my.hosts {
            let host = Name::parse(NameKind::Host, host.clone())?;
            check_name(caps, NameKind::Host, &host)?;
        }
        if my.account_locked.is_some() && !caps.account_lock {
            return Err(unsupported(caps, format!("{object}: accountLocked")));
        }
        if (my.failed_login_attempts.is_some() || my.password_lock_time.is_some()) && !caps.failed_login_lock
        {
            return Err(unsupported(
                caps,
                format!(
                    "{object}: failedLoginAttempts/passwordLockTime (MySQL 8.0.19+ only; MariaDB has no equivalent)"
                ),
            ));
        }
        if let Some(plugin) = &my.auth_plugin
            && (plugin.is_empty() || !plugin.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(EngineError::invalid_spec(
                object,
                "authPlugin",
                format!("{plugin:?} is not a plugin name"),
            ));
        }
        for role in my.roles.iter().flatten() {
            check_name(caps, NameKind::Role, role)?;
        }
        if !spec.login && (my.hosts.len() > 1 || my.hosts.iter().any(|host| host != "%")) {
            return Err(EngineError::invalid_spec(object, "hosts", "roles have no hosts"));
        }
    }
    Ok(())
}

/// Checks a grant declaration.
pub fn validate_grant(spec: &GrantSpec, caps: &Capabilities) -> Result<(), EngineError> {
    let object = format!("grants of {} on {}", spec.grantee, spec.database);
    if !caps.grants {
        return Err(unsupported(caps, "grants"));
    }
    check_name(caps, NameKind::Role, &spec.grantee)?;
    check_name(caps, NameKind::Database, &spec.database)?;
    let pg = &spec.postgres;
    if *pg != PgGrants::default() {
        if !caps.default_privileges {
            return Err(unsupported(caps, format!("{object}: postgres grants")));
        }
        for grant in &pg.schemas {
            check_name(caps, NameKind::Schema, &grant.schema)?;
        }
        for grant in pg.tables.iter().chain(&pg.sequences).chain(&pg.functions) {
            check_name(caps, NameKind::Schema, &grant.schema)?;
            if let ObjectSelector::Named(names) = &grant.objects {
                if names.is_empty() {
                    return Err(EngineError::invalid_spec(
                        object,
                        "tables",
                        "name at least one object or use all",
                    ));
                }
                for name in names {
                    check_name(caps, NameKind::Table, name)?;
                }
            }
        }
        for default in &pg.default_privileges {
            if let Some(role) = &default.for_role {
                check_name(caps, NameKind::Role, role)?;
            }
            if let Some(schema) = &default.schema {
                check_name(caps, NameKind::Schema, schema)?;
            }
        }
    }
    let my = &spec.mysql;
    if *my != MySqlGrants::default() {
        if !caps.accounts {
            return Err(unsupported(caps, format!("{object}: mysql grants")));
        }
        let all_privileges = my
            .global
            .iter()
            .flat_map(|set| &set.privileges)
            .chain(&my.database.privileges)
            .chain(my.tables.iter().flat_map(|grant| &grant.privileges.privileges))
            .chain(my.columns.iter().flat_map(|grant| &grant.privileges))
            .chain(my.routines.iter().flat_map(|grant| &grant.privileges.privileges));
        for privilege in all_privileges {
            if privilege.mariadb_only() && !caps.mariadb_privileges {
                return Err(unsupported(
                    caps,
                    format!("{object}: privilege {privilege} (MariaDB only)"),
                ));
            }
        }
        for grant in &my.tables {
            check_name(caps, NameKind::Table, &grant.table)?;
        }
        for grant in &my.columns {
            check_name(caps, NameKind::Table, &grant.table)?;
            if grant.columns.is_empty() {
                return Err(EngineError::invalid_spec(
                    object,
                    "columns",
                    "name at least one column",
                ));
            }
            for column in &grant.columns {
                check_name(caps, NameKind::Column, column)?;
            }
            if let Some(bad) = grant.privileges.iter().find(|privilege| {
                !matches!(
                    privilege,
                    MySqlPrivilege::Select
                        | MySqlPrivilege::Insert
                        | MySqlPrivilege::Update
                        | MySqlPrivilege::References
                )
            }) {
                return Err(EngineError::invalid_spec(
                    object,
                    "columns",
                    format!("{bad} cannot be granted on columns"),
                ));
            }
        }
        for grant in &my.routines {
            check_name(caps, NameKind::Function, &grant.name)?;
        }
    }
    Ok(())
}
