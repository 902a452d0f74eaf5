//! Roles: create, or alter one attribute per statement; passwords as SCRAM verifiers; exact memberships
//! and settings when declared; dropping per owned-objects policy.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::model::validate::validate_role;
use dbprov_core::model::{Catalog, PasswordState, PgRoleState, RoleSpec};
use dbprov_core::{Drift, EngineError, Name, Plan, Secret, Step};

use crate::CAPABILITIES;
use crate::plan::join;
use crate::scram;
use crate::sql::role::{self as sql, RoleAttribute, RoleFlag};

use self::settings::{canonical_timestamp, setting_value};

mod settings;

const REDACTED: &str = "<redacted>";

/// Plans a role: `CREATE ROLE` with every declared attribute when it is missing, otherwise one statement per
/// changed attribute, membership change and setting.
pub(crate) fn plan_role(spec: &RoleSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    validate_role(spec, &CAPABILITIES)?;
    if spec.mysql != Default::default() {
        return Err(EngineError::unsupported(
            CAPABILITIES.engine,
            format!("{} {}: mysql account options", spec.kind(), spec.name),
        ));
    }
    let role = spec.name.as_str();
    let object = format!("{} {role}", spec.kind());
    if spec
        .password
        .as_ref()
        .is_some_and(|password| !scram::survives_saslprep(&password.value))
    {
        return Err(EngineError::invalid_spec(
            &object,
            "password",
            "SASLprep maps every character of it to nothing, and PostgreSQL clears an empty password",
        ));
    }
    let options = &spec.postgres;
    let valid_until = options
        .valid_until
        .as_deref()
        .map(|value| canonical_timestamp(&object, value))
        .transpose()?;
    let declared_flags = [
        (RoleFlag::Superuser, options.superuser),
        (RoleFlag::Createdb, options.createdb),
        (RoleFlag::Createrole, options.createrole),
        (RoleFlag::Inherit, options.inherit),
        (RoleFlag::Replication, options.replication),
        (RoleFlag::Bypassrls, options.bypassrls),
    ];
    let mut plan = Plan::default();

    let Some(state) = catalog.role(&spec.name) else {
        plan.drift.push(Drift::new(&object, "exists", true, false));
        let verifier = spec
            .password
            .as_ref()
            .map(|password| scram::verifier(&password.value));
        let mut attributes = vec![RoleAttribute::Flag(RoleFlag::Login, spec.login)];
        for (flag, declared) in declared_flags {
            if let Some(on) = declared {
                attributes.push(RoleAttribute::Flag(flag, on));
            }
        }
        if let Some(limit) = options.connection_limit {
            attributes.push(RoleAttribute::ConnectionLimit(limit));
        }
        if let Some(timestamp) = &valid_until {
            attributes.push(RoleAttribute::ValidUntil(timestamp));
        }
        if let Some(verifier) = &verifier {
            attributes.push(RoleAttribute::Password(verifier));
        }
        plan.push(Step::new(
            sql::create_role(role, &attributes)?,
            format!("create {object}"),
        ));
        let parents: Vec<&str> = options.member_of.iter().flatten().map(Name::as_str).collect();
        if !parents.is_empty() {
            plan.push(Step::new(
                sql::grant_membership(&parents, role)?,
                format!("make {object} a member of {}", join(&parents)),
            ));
        }
        for (setting, value) in options.config.iter().flatten() {
            plan.push(Step::new(
                sql::alter_role_set(role, setting, &setting_value(setting, value))?,
                format!("set {setting} for {object}"),
            ));
        }
        return Ok(plan);
    };
    let actual = state.postgres.as_ref().ok_or_else(|| {
        EngineError::invalid_spec(
            &object,
            "catalog",
            "the catalog entry was not read from PostgreSQL",
        )
    })?;

    let alter =
        |plan: &mut Plan, field: &str, declared: String, actual: String, attribute: RoleAttribute<'_>| {
            let redacted = matches!(attribute, RoleAttribute::Password(_));
            plan.drift.push(Drift::new(&object, field, declared, actual));
            let summary = if redacted {
                format!("set the password of {object}")
            } else {
                format!("change {field} of {object}")
            };
            sql::alter_role(role, &attribute).map(|statement| plan.push(Step::new(statement, summary)))
        };
    if spec.login != state.login {
        alter(
            &mut plan,
            "login",
            spec.login.to_string(),
            state.login.to_string(),
            RoleAttribute::Flag(RoleFlag::Login, spec.login),
        )?;
    }
    for (flag, declared) in declared_flags {
        let current = flag_value(actual, flag, state.login);
        if let Some(on) = declared
            && on != current
        {
            alter(
                &mut plan,
                flag.field(),
                on.to_string(),
                current.to_string(),
                RoleAttribute::Flag(flag, on),
            )?;
        }
    }
    if let Some(limit) = options.connection_limit
        && limit != actual.connection_limit
    {
        alter(
            &mut plan,
            "connectionLimit",
            limit.to_string(),
            actual.connection_limit.to_string(),
            RoleAttribute::ConnectionLimit(limit),
        )?;
    }
    if let Some(timestamp) = &valid_until
        && Some(timestamp) != actual.valid_until.as_ref()
    {
        alter(
            &mut plan,
            "validUntil",
            timestamp.clone(),
            actual.valid_until.clone().unwrap_or_else(|| "<none>".into()),
            RoleAttribute::ValidUntil(timestamp),
        )?;
    }
    if let Some(password) = &spec.password {
        let actual_password = match &state.password {
            PasswordState::Verifier(stored) if scram::matches(stored, &password.value, role) => None,
            PasswordState::Verifier(_) => Some(REDACTED),
            PasswordState::None => Some("<none>"),
            PasswordState::Unverifiable if password.set_when_unverifiable => Some("<unverifiable>"),
            PasswordState::Unverifiable => None,
        };
        if let Some(actual_password) = actual_password {
            let verifier: Secret = scram::verifier(&password.value);
            alter(
                &mut plan,
                "password",
                REDACTED.to_owned(),
                actual_password.to_owned(),
                RoleAttribute::Password(&verifier),
            )?;
        }
    }
    if let Some(member_of) = &options.member_of {
        plan_memberships(&mut plan, &object, role, member_of, &actual.member_of)?;
    }
    if let Some(config) = &options.config {
        plan_settings(&mut plan, &object, role, config, &actual.config)?;
    }
    Ok(plan)
}

fn flag_value(actual: &PgRoleState, flag: RoleFlag, login: bool) -> bool {
    match flag {
        RoleFlag::Login => login,
        RoleFlag::Superuser => actual.superuser,
        RoleFlag::Createdb => actual.createdb,
        RoleFlag::Createrole => actual.createrole,
        RoleFlag::Inherit => actual.inherit,
        RoleFlag::Replication => actual.replication,
        RoleFlag::Bypassrls => actual.bypassrls,
    }
}

fn plan_memberships(
    plan: &mut Plan,
    object: &str,
    role: &str,
    declared: &BTreeSet<Name>,
    actual: &BTreeSet<String>,
) -> Result<(), EngineError> {
    let missing: Vec<&str> = declared
        .iter()
        .map(Name::as_str)
        .filter(|parent| !actual.contains(*parent))
        .collect();
    let extra: Vec<&str> = actual
        .iter()
        .map(String::as_str)
        .filter(|parent| !declared.iter().any(|declared| declared.as_str() == *parent))
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut drift = Drift::new(object, "memberOf", join(declared), join(actual));
    if !extra.is_empty() {
        drift = drift.destructive();
    }
    plan.drift.push(drift);
    if !missing.is_empty() {
        plan.push(Step::new(
            sql::grant_membership(&missing, role)?,
            format!("make {object} a member of {}", join(&missing)),
        ));
    }
    if !extra.is_empty() {
        plan.push(Step::new(
            sql::revoke_membership(&extra, role)?,
            format!("remove {object} from {}", join(&extra)),
        ));
    }
    Ok(())
}

fn plan_settings(
    plan: &mut Plan,
    object: &str,
    role: &str,
    declared: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Result<(), EngineError> {
    for (setting, value) in declared {
        let current = actual
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(setting))
            .map(|(_, value)| value);
        let wanted = setting_value(setting, value);
        if current.is_some_and(|current| setting_value(setting, current) == wanted) {
            continue;
        }
        plan.drift.push(Drift::new(
            object,
            format!("config.{setting}"),
            value,
            current.map(String::as_str).unwrap_or("<unset>"),
        ));
        plan.push(Step::new(
            sql::alter_role_set(role, setting, &wanted)?,
            format!("set {setting} for {object}"),
        ));
    }
    for (setting, value) in actual {
        if declared.keys().any(|name| name.eq_ignore_ascii_case(setting)) {
            continue;
        }
        plan.drift
            .push(Drift::new(object, format!("config.{setting}"), "<unset>", value));
        plan.push(Step::new(
            sql::alter_role_reset(role, setting)?,
            format!("reset {setting} for {object}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use dbprov_core::NameKind;
    use dbprov_core::model::{PasswordSpec, RoleState};

    use super::*;

    fn name(value: &str) -> Name {
        Name::parse(NameKind::Role, value).unwrap()
    }

    fn state(role: &str, password: PasswordState) -> RoleState {
        RoleState {
            name: name(role),
            login: true,
            password,
            postgres: Some(PgRoleState {
                superuser: false,
                createdb: true,
                createrole: false,
                inherit: true,
                replication: false,
                bypassrls: false,
                connection_limit: 5,
                valid_until: Some("2030-01-01T00:00:00.000000Z".into()),
                member_of: ["readers".to_owned()].into(),
                config: [("search_path".to_owned(), "\"$user\", app".to_owned())].into(),
                dependent_databases: BTreeSet::new(),
                owned_databases: BTreeSet::new(),
            }),
            mysql: None,
        }
    }

    fn catalog(role: RoleState) -> Catalog {
        let mut catalog = Catalog::default();
        catalog.roles.insert(role.name.clone(), role);
        catalog
    }

    fn declared(role: &str) -> RoleSpec {
        let mut spec = RoleSpec::user(name(role));
        spec.postgres.createdb = Some(true);
        spec.postgres.superuser = Some(false);
        spec.postgres.connection_limit = Some(5);
        spec.postgres.valid_until = Some("2030-01-01T01:00:00+01:00".into());
        spec.postgres.member_of = Some([name("readers")].into());
        spec.postgres.config = Some([("search_path".to_owned(), "\"$user\",App".to_owned())].into());
        spec
    }

    #[test]
    fn a_new_role_is_created_with_a_verifier_never_the_password() {
        let mut spec = declared("app");
        spec.password = Some(PasswordSpec::new(Secret::new("hunter2-very-secret")));
        let plan = plan_role(&spec, &Catalog::default()).unwrap();
        assert_eq!(
            plan.statements(),
            vec![
                "CREATE ROLE \"app\" WITH LOGIN NOSUPERUSER CREATEDB CONNECTION LIMIT 5 \
                 VALID UNTIL '2030-01-01T00:00:00.000000Z' PASSWORD '<redacted>'",
                "GRANT \"readers\" TO \"app\"",
                "ALTER ROLE \"app\" SET \"search_path\" = '$user', 'app'",
            ]
        );
        let sql = plan.steps[0].statement().unwrap().sql();
        assert!(sql.contains("PASSWORD 'SCRAM-SHA-256$4096:"), "{sql}");
        assert!(!sql.contains("hunter2"));
        assert!(!format!("{plan:?}").contains("hunter2"));
    }

    #[test]
    fn an_unchanged_role_plans_nothing() {
        let password = Secret::new("pw");
        let stored = scram::verifier(&password);
        let mut spec = declared("app");
        spec.password = Some(PasswordSpec::new(password));
        let plan = plan_role(&spec, &catalog(state("app", PasswordState::Verifier(stored)))).unwrap();
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn one_changed_attribute_is_one_statement() {
        type Change = Box<dyn Fn(&mut RoleSpec)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|spec| spec.postgres.createdb = Some(false)),
                "ALTER ROLE \"app\" WITH NOCREATEDB",
            ),
            (
                Box::new(|spec| spec.postgres.bypassrls = Some(true)),
                "ALTER ROLE \"app\" WITH BYPASSRLS",
            ),
            (
                Box::new(|spec| spec.login = false),
                "ALTER ROLE \"app\" WITH NOLOGIN",
            ),
            (
                Box::new(|spec| spec.postgres.connection_limit = Some(-1)),
                "ALTER ROLE \"app\" WITH CONNECTION LIMIT -1",
            ),
            (
                Box::new(|spec| spec.postgres.valid_until = Some("infinity".into())),
                "ALTER ROLE \"app\" WITH VALID UNTIL 'infinity'",
            ),
            (
                Box::new(|spec| spec.postgres.member_of = Some([name("readers"), name("writers")].into())),
                "GRANT \"writers\" TO \"app\"",
            ),
            (
                Box::new(|spec| spec.postgres.member_of = Some(BTreeSet::new())),
                "REVOKE \"readers\" FROM \"app\"",
            ),
            (
                Box::new(|spec| {
                    spec.postgres
                        .config
                        .as_mut()
                        .unwrap()
                        .insert("work_mem".into(), "64MB".into());
                }),
                "ALTER ROLE \"app\" SET \"work_mem\" = '64MB'",
            ),
            (
                Box::new(|spec| spec.postgres.config = Some(BTreeMap::new())),
                "ALTER ROLE \"app\" RESET \"search_path\"",
            ),
            (
                Box::new(|spec| spec.password = Some(PasswordSpec::new(Secret::new("new")))),
                "ALTER ROLE \"app\" WITH PASSWORD '<redacted>'",
            ),
        ];
        for (change, expected) in cases {
            let mut spec = declared("app");
            change(&mut spec);
            let plan = plan_role(&spec, &catalog(state("app", PasswordState::None))).unwrap();
            assert_eq!(plan.statements(), vec![expected.to_owned()]);
        }
    }

    #[test]
    fn passwords_compare_by_verifier_and_respect_unverifiable() {
        let spec = |set_when_unverifiable| {
            let mut spec = declared("app");
            spec.password = Some(PasswordSpec {
                value: Secret::new("new"),
                set_when_unverifiable,
            });
            spec
        };
        let old = PasswordState::Verifier(scram::verifier(&Secret::new("old")));
        let plan = plan_role(&spec(false), &catalog(state("app", old))).unwrap();
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.drift[0].declared, "<redacted>");
        assert_eq!(plan.drift[0].actual, "<redacted>");
        let unverifiable = catalog(state("app", PasswordState::Unverifiable));
        assert!(plan_role(&spec(false), &unverifiable).unwrap().is_empty());
        assert_eq!(plan_role(&spec(true), &unverifiable).unwrap().steps.len(), 1);
    }

    #[test]
    fn valid_until_must_be_unambiguous() {
        let mut spec = declared("app");
        spec.postgres.valid_until = Some("next tuesday".into());
        let error = plan_role(&spec, &Catalog::default()).unwrap_err();
        assert_eq!(error.kind(), "InvalidSpec");
        assert!(error.to_string().contains("validUntil"), "{error}");
    }
}
