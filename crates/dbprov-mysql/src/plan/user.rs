//! Users (one account `user@host` per declared host) and roles.
//!
//! A missing account is created with every declared attribute in one `CREATE USER`; an existing one gets
//! one `ALTER USER` per changed attribute; accounts on hosts no longer declared are dropped (destructive
//! drift). Role memberships are exact when declared, followed by the default role so granted roles are
//! active at login:
//!
//! * MySQL 8: `SET DEFAULT ROLE ALL` (every declared role), `NONE` when no role is declared;
//! * MariaDB activates at most one role at login: with exactly one declared role it becomes the default;
//!   with none or several the default is `NONE` and the application runs `SET ROLE` for the one it needs
//!   (picking one of several would be arbitrary).

use std::collections::BTreeSet;

use dbprov_core::model::validate::validate_role;
use dbprov_core::model::{
    Catalog, DropRoleOptions, MySqlAccountOptions, MySqlAccountState, MySqlTlsRequirement, MySqlUserState,
    PasswordLockTime, PasswordSpec, PasswordState, RoleSpec,
};
use dbprov_core::{Drift, EngineError, Name, NameKind, Plan};

use crate::flavor::{CACHING_SHA2_PASSWORD, NATIVE_PASSWORD};
use crate::password::{native_password_hash, native_password_matches};
use crate::plan::{Planner, step};
use crate::sql::account::{self as sql, AccountClauses, DefaultRole, Identification, ResourceLimit};
use crate::sql::{Account, account_label};

pub fn plan_role(planner: &Planner<'_>, spec: &RoleSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    validate_role(spec, planner.capabilities)?;
    let object = format!("{} {}", spec.kind(), spec.name);
    if let Some(password) = &spec.password
        && password.value.is_empty()
    {
        return Err(EngineError::invalid_spec(
            object,
            "password",
            "must not be empty (an empty password lets any client in)",
        ));
    }
    let state = catalog.role(&spec.name).and_then(|role| role.mysql.as_ref());
    if spec.login {
        plan_user(planner, spec, state)
    } else {
        plan_group_role(planner, spec, state)
    }
}

/// The value of one declared resource limit.
fn declared_limit(options: &MySqlAccountOptions, limit: ResourceLimit) -> Option<u32> {
    match limit {
        ResourceLimit::MaxQueriesPerHour => options.max_queries_per_hour,
        ResourceLimit::MaxUpdatesPerHour => options.max_updates_per_hour,
        ResourceLimit::MaxConnectionsPerHour => options.max_connections_per_hour,
        ResourceLimit::MaxUserConnections => options.max_user_connections,
    }
}

fn actual_limit(account: &MySqlAccountState, limit: ResourceLimit) -> u32 {
    match limit {
        ResourceLimit::MaxQueriesPerHour => account.max_queries_per_hour,
        ResourceLimit::MaxUpdatesPerHour => account.max_updates_per_hour,
        ResourceLimit::MaxConnectionsPerHour => account.max_connections_per_hour,
        ResourceLimit::MaxUserConnections => account.max_user_connections,
    }
}

fn describe_require(require: &MySqlTlsRequirement) -> String {
    match require {
        MySqlTlsRequirement::None => "NONE".into(),
        MySqlTlsRequirement::Ssl => "SSL".into(),
        MySqlTlsRequirement::X509 => "X509".into(),
        MySqlTlsRequirement::Specified {
            issuer,
            subject,
            cipher,
        } => [("ISSUER", issuer), ("SUBJECT", subject), ("CIPHER", cipher)]
            .into_iter()
            .filter_map(|(keyword, value)| value.as_ref().map(|value| format!("{keyword} {value:?}")))
            .collect::<Vec<_>>()
            .join(" AND "),
    }
}

fn describe_lock_time(lock_time: Option<PasswordLockTime>) -> String {
    match lock_time {
        Some(PasswordLockTime::Days(days)) => format!("{days} days"),
        Some(PasswordLockTime::Unbounded) => "UNBOUNDED".into(),
        None => "(unknown)".into(),
    }
}

fn describe_password(state: &PasswordState) -> &'static str {
    match state {
        PasswordState::None => "(none)",
        PasswordState::Unverifiable => "(set, unverifiable)",
        PasswordState::Verifier(_) => "(different)",
    }
}

fn validate_require(object: &str, require: Option<&MySqlTlsRequirement>) -> Result<(), EngineError> {
    if let Some(MySqlTlsRequirement::Specified {
        issuer: None,
        subject: None,
        cipher: None,
    }) = require
    {
        return Err(EngineError::invalid_spec(
            object,
            "require",
            "name at least one of issuer, subject and cipher",
        ));
    }
    Ok(())
}

/// The hosts, deduplicated, in declaration order.
fn declared_hosts(options: &MySqlAccountOptions) -> Vec<String> {
    let mut seen = BTreeSet::new();
    options
        .effective_hosts()
        .into_iter()
        .filter(|host| seen.insert(host.clone()))
        .collect()
}

/// The verifier or password to send, owned for the duration of planning.
enum PlannedIdentification {
    MariaDbNativeHash(String),
    MySqlNativeHash(String),
    CachingSha2,
}

impl PlannedIdentification {
    fn as_sql<'a>(&'a self, password: &'a PasswordSpec) -> Identification<'a> {
        match self {
            PlannedIdentification::MariaDbNativeHash(hash) => Identification::MariaDbNativeHash(hash),
            PlannedIdentification::MySqlNativeHash(hash) => Identification::MySqlNativeHash(hash),
            PlannedIdentification::CachingSha2 => Identification::CachingSha2(password.value.expose()),
        }
    }
}

/// Checks that dbprov can set passwords with `plugin` on this server.
fn check_plugin(planner: &Planner<'_>, object: &str, plugin: &str) -> Result<(), EngineError> {
    let supported =
        plugin == NATIVE_PASSWORD || (plugin == CACHING_SHA2_PASSWORD && !planner.facts.is_mariadb());
    if supported {
        Ok(())
    } else {
        let choices = if planner.facts.is_mariadb() {
            NATIVE_PASSWORD.to_owned()
        } else {
            format!("{NATIVE_PASSWORD}, {CACHING_SHA2_PASSWORD}")
        };
        Err(planner.unsupported(format!(
            "{object}: authentication plugin {plugin} (dbprov sets passwords with {choices})"
        )))
    }
}

fn identification_for(planner: &Planner<'_>, plugin: &str, password: &PasswordSpec) -> PlannedIdentification {
    if plugin == CACHING_SHA2_PASSWORD {
        PlannedIdentification::CachingSha2
    } else if planner.facts.is_mariadb() {
        PlannedIdentification::MariaDbNativeHash(native_password_hash(password.value.expose()))
    } else {
        PlannedIdentification::MySqlNativeHash(native_password_hash(password.value.expose()))
    }
}

/// Decides whether an existing account's password (and plugin) must be set.
fn password_change(
    planner: &Planner<'_>,
    object: &str,
    spec: &RoleSpec,
    account: &MySqlAccountState,
) -> Result<Option<(PlannedIdentification, Drift)>, EngineError> {
    let declared_plugin = spec.mysql.auth_plugin.as_deref();
    let plugin_changes = declared_plugin.is_some_and(|plugin| plugin != account.plugin);
    let Some(password) = &spec.password else {
        if plugin_changes {
            return Err(EngineError::invalid_spec(
                object,
                "authPlugin",
                "changing the authentication plugin of an existing account needs a declared password",
            ));
        }
        return Ok(None);
    };
    let plugin = declared_plugin.unwrap_or(&account.plugin);
    check_plugin(planner, object, plugin)?;
    if plugin_changes {
        let drift = Drift::new(object, "authPlugin", plugin, &account.plugin);
        return Ok(Some((identification_for(planner, plugin, password), drift)));
    }
    let changed = match &account.password {
        PasswordState::None => true,
        PasswordState::Verifier(stored) if plugin == NATIVE_PASSWORD => {
            !native_password_matches(stored.expose(), password.value.expose())
        }
        PasswordState::Verifier(_) | PasswordState::Unverifiable => password.set_when_unverifiable,
    };
    if !changed {
        return Ok(None);
    }
    let drift = Drift::new(
        object,
        "password",
        "(declared)",
        describe_password(&account.password),
    );
    Ok(Some((identification_for(planner, plugin, password), drift)))
}

/// The roles an account should activate at login and the statement that sets them.
fn desired_default_roles<'a>(
    planner: &Planner<'_>,
    roles: &'a BTreeSet<Name>,
) -> (BTreeSet<String>, DefaultRole<'a>) {
    if planner.facts.is_mariadb() {
        match roles.iter().next() {
            Some(role) if roles.len() == 1 => (
                BTreeSet::from([role.to_string()]),
                DefaultRole::One(role.as_str()),
            ),
            _ => (BTreeSet::new(), DefaultRole::None),
        }
    } else if roles.is_empty() {
        (BTreeSet::new(), DefaultRole::None)
    } else {
        (roles.iter().map(Name::to_string).collect(), DefaultRole::All)
    }
}

/// `GRANT`/`REVOKE` of roles so that the account holds exactly `declared`, then its default role.
fn plan_memberships(
    planner: &Planner<'_>,
    plan: &mut Plan,
    account: Account<'_>,
    declared: &BTreeSet<Name>,
    current: &BTreeSet<String>,
    current_defaults: Option<&BTreeSet<String>>,
) -> Result<(), EngineError> {
    let dialect = planner.facts.dialect();
    let label = account_label(account);
    let declared_names: BTreeSet<String> = declared.iter().map(Name::to_string).collect();
    if declared_names != *current {
        plan.drift.push(
            Drift::new(&label, "roles", join(&declared_names), join(current))
                .destructive_if(current.difference(&declared_names).next().is_some()),
        );
    }
    for role in declared.iter().filter(|role| !current.contains(role.as_str())) {
        plan.push(step(
            sql::grant_role(dialect, role.as_str(), account),
            format!("grant role {role} to {label}"),
        )?);
    }
    for role in current.difference(&declared_names) {
        plan.push(step(
            sql::revoke_role(dialect, role, account),
            format!("revoke role {role} from {label}"),
        )?);
    }
    if let Some(current_defaults) = current_defaults {
        let (wanted, statement) = desired_default_roles(planner, declared);
        if wanted != *current_defaults {
            plan.drift.push(Drift::new(
                &label,
                "defaultRoles",
                join(&wanted),
                join(current_defaults),
            ));
            plan.push(step(
                sql::set_default_role(dialect, planner.facts.is_mariadb(), statement, account),
                format!("set the default role of {label}"),
            )?);
        }
    }
    Ok(())
}

fn join(values: &BTreeSet<String>) -> String {
    if values.is_empty() {
        "(none)".to_owned()
    } else {
        values.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

trait DestructiveIf {
    fn destructive_if(self, condition: bool) -> Self;
}

impl DestructiveIf for Drift {
    fn destructive_if(self, condition: bool) -> Self {
        if condition { self.destructive() } else { self }
    }
}

fn plan_user(
    planner: &Planner<'_>,
    spec: &RoleSpec,
    state: Option<&MySqlUserState>,
) -> Result<Plan, EngineError> {
    let object = format!("user {}", spec.name);
    let options = &spec.mysql;
    validate_require(&object, options.require.as_ref())?;
    if let Some(plugin) = &options.auth_plugin {
        check_plugin(planner, &object, plugin)?;
    }
    if planner.facts.is_mariadb()
        && let Some(state) = state
        && state.accounts.values().any(|account| account.is_role)
    {
        return Err(EngineError::invalid_spec(
            object,
            "login",
            format!("{} exists as a role; drop the role or declare a role", spec.name),
        ));
    }
    let hosts = declared_hosts(options);
    let mut plan = Plan::default();
    for host in &hosts {
        let account = Account::new(spec.name.as_str(), host);
        match state.and_then(|state| state.accounts.get(host)) {
            None => plan_create_account(planner, &mut plan, spec, account)?,
            Some(existing) => plan_alter_account(planner, &mut plan, spec, account, existing)?,
        }
    }
    if let Some(state) = state {
        for host in state.accounts.keys().filter(|host| !hosts.contains(host)) {
            let account = Account::new(spec.name.as_str(), host);
            let label = account_label(account);
            plan.drift
                .push(Drift::new(&label, "exists", false, true).destructive());
            plan.push(step(
                sql::drop_user(planner.facts.dialect(), account),
                format!("drop account {label} (host not declared)"),
            )?);
        }
    }
    Ok(plan)
}

fn plan_create_account(
    planner: &Planner<'_>,
    plan: &mut Plan,
    spec: &RoleSpec,
    account: Account<'_>,
) -> Result<(), EngineError> {
    let options = &spec.mysql;
    let label = account_label(account);
    let plugin = options
        .auth_plugin
        .as_deref()
        .unwrap_or(planner.facts.default_auth_plugin());
    let identification = match &spec.password {
        Some(password) => {
            check_plugin(planner, &label, plugin)?;
            Some(identification_for(planner, plugin, password))
        }
        None => {
            // Without a password or a client certificate requirement, anyone may log in from the hosts.
            let certificate_required = matches!(
                options.require,
                Some(MySqlTlsRequirement::X509 | MySqlTlsRequirement::Specified { .. })
            );
            if !certificate_required {
                return Err(EngineError::invalid_spec(
                    format!("user {}", spec.name),
                    "password",
                    "a new account needs a password (or require: X509 / issuer / subject): without one it \
                     accepts any client",
                ));
            }
            None
        }
    };
    let clauses = AccountClauses {
        identification: match (&identification, &spec.password) {
            (Some(planned), Some(password)) => Some(planned.as_sql(password)),
            _ => None,
        },
        require: options.require.as_ref(),
        limits: ResourceLimit::ALL
            .into_iter()
            .filter_map(|limit| declared_limit(options, limit).map(|value| (limit, value)))
            .collect(),
        failed_login_attempts: options.failed_login_attempts,
        password_lock_time: options.password_lock_time,
        locked: options.account_locked,
    };
    plan.drift.push(Drift::new(&label, "exists", true, false));
    plan.push(step(
        sql::create_user(planner.facts.dialect(), account, &clauses),
        format!("create user {label}"),
    )?);
    if let Some(roles) = &options.roles {
        plan_memberships(
            planner,
            plan,
            account,
            roles,
            &BTreeSet::new(),
            Some(&BTreeSet::new()),
        )?;
    }
    Ok(())
}

fn plan_alter_account(
    planner: &Planner<'_>,
    plan: &mut Plan,
    spec: &RoleSpec,
    account: Account<'_>,
    existing: &MySqlAccountState,
) -> Result<(), EngineError> {
    let options = &spec.mysql;
    let label = account_label(account);
    let dialect = planner.facts.dialect();
    let alter = |plan: &mut Plan, clauses: AccountClauses<'_>, drift: Drift| -> Result<(), EngineError> {
        let summary = format!("alter user {label}: {}", drift.field);
        plan.drift.push(drift);
        plan.push(step(sql::alter_user(dialect, account, &clauses), summary)?);
        Ok(())
    };

    if let Some((identification, drift)) = password_change(planner, &label, spec, existing)? {
        let password = spec
            .password
            .as_ref()
            .expect("invariant: a password change is only planned for a declared password");
        let clauses = AccountClauses {
            identification: Some(identification.as_sql(password)),
            ..AccountClauses::default()
        };
        alter(plan, clauses, drift)?;
    }
    if let Some(require) = &options.require
        && *require != existing.require
    {
        let drift = Drift::new(
            &label,
            "require",
            describe_require(require),
            describe_require(&existing.require),
        );
        let clauses = AccountClauses {
            require: Some(require),
            ..AccountClauses::default()
        };
        alter(plan, clauses, drift)?;
    }
    for limit in ResourceLimit::ALL {
        let actual = actual_limit(existing, limit);
        if let Some(declared) = declared_limit(options, limit)
            && declared != actual
        {
            let clauses = AccountClauses {
                limits: vec![(limit, declared)],
                ..AccountClauses::default()
            };
            alter(plan, clauses, Drift::new(&label, limit.field(), declared, actual))?;
        }
    }
    if let Some(attempts) = options.failed_login_attempts
        && existing.failed_login_attempts != Some(attempts)
    {
        let actual = existing
            .failed_login_attempts
            .map_or_else(|| "(unknown)".to_owned(), |value| value.to_string());
        let clauses = AccountClauses {
            failed_login_attempts: Some(attempts),
            ..AccountClauses::default()
        };
        alter(
            plan,
            clauses,
            Drift::new(&label, "failedLoginAttempts", attempts, actual),
        )?;
    }
    if let Some(lock_time) = options.password_lock_time
        && existing.password_lock_time != Some(lock_time)
    {
        let drift = Drift::new(
            &label,
            "passwordLockTime",
            describe_lock_time(Some(lock_time)),
            describe_lock_time(existing.password_lock_time),
        );
        let clauses = AccountClauses {
            password_lock_time: Some(lock_time),
            ..AccountClauses::default()
        };
        alter(plan, clauses, drift)?;
    }
    if let Some(locked) = options.account_locked
        && locked != existing.account_locked
    {
        let clauses = AccountClauses {
            locked: Some(locked),
            ..AccountClauses::default()
        };
        alter(
            plan,
            clauses,
            Drift::new(&label, "accountLocked", locked, existing.account_locked),
        )?;
    }
    if let Some(roles) = &options.roles {
        plan_memberships(
            planner,
            plan,
            account,
            roles,
            &existing.roles,
            Some(&existing.default_roles),
        )?;
    }
    Ok(())
}

/// Roles have a name and role memberships only.
fn check_role_options(object: &str, spec: &RoleSpec) -> Result<(), EngineError> {
    if spec.password.is_some() {
        return Err(EngineError::invalid_spec(
            object,
            "password",
            "roles cannot log in and have no password",
        ));
    }
    let options = &spec.mysql;
    let account_only = MySqlAccountOptions {
        hosts: Vec::new(),
        roles: None,
        ..options.clone()
    };
    if account_only != MySqlAccountOptions::default() {
        return Err(EngineError::invalid_spec(
            object,
            "mysql",
            "roles take no account options (authPlugin, require, limits, locking); declare them on users",
        ));
    }
    Ok(())
}

fn plan_group_role(
    planner: &Planner<'_>,
    spec: &RoleSpec,
    state: Option<&MySqlUserState>,
) -> Result<Plan, EngineError> {
    let object = format!("role {}", spec.name);
    check_role_options(&object, spec)?;
    let dialect = planner.facts.dialect();
    let account = Account::bare(spec.name.as_str());
    let mut plan = Plan::default();
    let existing = match state {
        None => {
            plan.drift.push(Drift::new(&object, "exists", true, false));
            plan.push(step(
                sql::create_role(dialect, spec.name.as_str()),
                format!("create role {}", spec.name),
            )?);
            None
        }
        Some(state) => {
            if planner.facts.is_mariadb() && state.accounts.values().any(|account| !account.is_role) {
                return Err(EngineError::invalid_spec(
                    object,
                    "login",
                    format!("{} exists as a user; drop the user or declare a user", spec.name),
                ));
            }
            state.accounts.values().next()
        }
    };
    if let Some(roles) = &spec.mysql.roles {
        if roles.contains(&spec.name) {
            return Err(EngineError::invalid_spec(
                object,
                "roles",
                "a role cannot be granted to itself",
            ));
        }
        let current = existing.map(|account| account.roles.clone()).unwrap_or_default();
        // Default roles concern logins only: a role activates the roles it holds with itself.
        plan_memberships(planner, &mut plan, account, roles, &current, None)?;
    }
    Ok(plan)
}

pub fn plan_drop_role(
    planner: &Planner<'_>,
    name: &Name,
    options: &DropRoleOptions,
    catalog: &Catalog,
) -> Result<Plan, EngineError> {
    // MySQL accounts own no objects: every owned-objects policy means the same thing here.
    let _ = options;
    planner
        .capabilities
        .name_limits
        .check_new(planner.engine(), NameKind::User, name)?;
    let mut plan = Plan::default();
    let Some(state) = catalog.role(name).and_then(|role| role.mysql.as_ref()) else {
        return Ok(plan);
    };
    let dialect = planner.facts.dialect();
    for (host, account) in &state.accounts {
        // MariaDB stores roles with an empty host, and only `DROP ROLE` names them; MySQL 8 roles are
        // ordinary accounts that `DROP USER` removes.
        if account.is_role && host.is_empty() {
            plan.drift
                .push(Drift::new(format!("role {name}"), "exists", false, true).destructive());
            plan.push(step(
                sql::drop_role(dialect, name.as_str()),
                format!("drop role {name}"),
            )?);
        } else {
            let account = Account::new(name.as_str(), host);
            let label = account_label(account);
            plan.drift
                .push(Drift::new(&label, "exists", false, true).destructive());
            plan.push(step(
                sql::drop_user(dialect, account),
                format!("drop user {label}"),
            )?);
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests;
