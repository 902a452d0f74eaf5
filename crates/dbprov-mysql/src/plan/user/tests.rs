use std::collections::BTreeMap;

use dbprov_core::model::RoleState;
use dbprov_core::{EngineKind, MySqlStringMode, Secret};

use super::*;
use crate::flavor::{ServerFacts, capabilities};

fn maria() -> ServerFacts {
    ServerFacts::new(
        EngineKind::MariaDb,
        (10, 11, 19),
        MySqlStringMode::BackslashEscapes,
    )
}

fn mysql8() -> ServerFacts {
    ServerFacts::new(EngineKind::MySql, (8, 0, 36), MySqlStringMode::BackslashEscapes)
}

fn plan_with(facts: ServerFacts, spec: &RoleSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    let caps = capabilities(facts.kind, facts.version);
    plan_role(
        &Planner {
            facts: &facts,
            capabilities: &caps,
        },
        spec,
        catalog,
    )
}

fn name(value: &str) -> Name {
    Name::parse(NameKind::User, value).unwrap()
}

fn user(value: &str, password: &str) -> RoleSpec {
    let mut spec = RoleSpec::user(name(value));
    spec.password = Some(PasswordSpec::new(Secret::new(password)));
    spec
}

fn account(host: &str, plugin: &str, password: PasswordState) -> MySqlAccountState {
    MySqlAccountState {
        host: host.into(),
        is_role: false,
        plugin: plugin.into(),
        password,
        require: MySqlTlsRequirement::None,
        max_queries_per_hour: 0,
        max_updates_per_hour: 0,
        max_connections_per_hour: 0,
        max_user_connections: 0,
        account_locked: false,
        failed_login_attempts: None,
        password_lock_time: None,
        roles: BTreeSet::new(),
        default_roles: BTreeSet::new(),
    }
}

fn native(password: &str) -> PasswordState {
    PasswordState::Verifier(Secret::new(native_password_hash(password)))
}

fn catalog_with(user: &str, accounts: Vec<MySqlAccountState>) -> Catalog {
    let mut catalog = Catalog::default();
    catalog.roles.insert(
        name(user),
        RoleState {
            name: name(user),
            login: accounts.iter().any(|account| !account.is_role),
            password: PasswordState::Unverifiable,
            postgres: None,
            mysql: Some(MySqlUserState {
                accounts: accounts
                    .into_iter()
                    .map(|account| (account.host.clone(), account))
                    .collect::<BTreeMap<_, _>>(),
            }),
        },
    );
    catalog
}

#[test]
fn mariadb_creates_an_account_per_host_with_the_native_verifier() {
    let mut spec = user("app", "pw");
    spec.mysql.hosts = vec!["localhost".into(), "10.0.0.%".into()];
    spec.mysql.require = Some(MySqlTlsRequirement::Ssl);
    spec.mysql.max_queries_per_hour = Some(100);
    spec.mysql.account_locked = Some(false);
    let plan = plan_with(maria(), &spec, &Catalog::default()).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "CREATE USER `app`@`localhost` IDENTIFIED BY PASSWORD '<redacted>' REQUIRE SSL WITH \
             MAX_QUERIES_PER_HOUR 100 ACCOUNT UNLOCK",
            "CREATE USER `app`@`10.0.0.%` IDENTIFIED BY PASSWORD '<redacted>' REQUIRE SSL WITH \
             MAX_QUERIES_PER_HOUR 100 ACCOUNT UNLOCK",
        ]
    );
    let sql = plan.steps[0].statement().unwrap().sql();
    assert!(
        sql.contains("'*D821809F681A40A6E379B50D0463EFAE20BDD122'"),
        "{sql}"
    );
    assert!(plan.steps.iter().all(|step| !step.transactional));
}

#[test]
fn unchanged_account_plans_nothing() {
    let mut spec = user("app", "pw");
    spec.mysql.max_user_connections = Some(0);
    spec.mysql.require = Some(MySqlTlsRequirement::None);
    let catalog = catalog_with("app", vec![account("%", NATIVE_PASSWORD, native("pw"))]);
    let plan = plan_with(maria(), &spec, &catalog).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn each_changed_attribute_is_one_alter_user() {
    let catalog = catalog_with("app", vec![account("%", NATIVE_PASSWORD, native("pw"))]);
    let mut spec = user("app", "pw");
    spec.mysql.max_updates_per_hour = Some(5);
    let plan = plan_with(maria(), &spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["ALTER USER `app`@`%` WITH MAX_UPDATES_PER_HOUR 5"]
    );

    let mut spec = user("app", "pw");
    spec.mysql.account_locked = Some(true);
    spec.mysql.require = Some(MySqlTlsRequirement::X509);
    let plan = plan_with(maria(), &spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "ALTER USER `app`@`%` REQUIRE X509",
            "ALTER USER `app`@`%` ACCOUNT LOCK"
        ]
    );

    let plan = plan_with(maria(), &user("app", "rotated"), &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["ALTER USER `app`@`%` IDENTIFIED BY PASSWORD '<redacted>'"]
    );
    assert!(!format!("{plan:?}").contains("rotated"));
}

#[test]
fn undeclared_hosts_are_dropped_as_destructive_drift() {
    let catalog = catalog_with(
        "app",
        vec![
            account("%", NATIVE_PASSWORD, native("pw")),
            account("old-host", NATIVE_PASSWORD, native("pw")),
        ],
    );
    let plan = plan_with(maria(), &user("app", "pw"), &catalog).unwrap();
    assert_eq!(plan.statements(), vec!["DROP USER IF EXISTS `app`@`old-host`"]);
    assert!(plan.drift.iter().any(|drift| drift.destructive));
}

#[test]
fn mysql8_uses_mysql_syntax_and_failed_login_settings() {
    let mut spec = user("app", "pw");
    spec.mysql.failed_login_attempts = Some(3);
    spec.mysql.password_lock_time = Some(PasswordLockTime::Days(2));
    let plan = plan_with(mysql8(), &spec, &Catalog::default()).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "CREATE USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY '<redacted>' FAILED_LOGIN_ATTEMPTS 3 \
             PASSWORD_LOCK_TIME 2"
        ]
    );
    assert!(plan.steps[0].statement().unwrap().sql().contains("BY 'pw'"));

    spec.mysql.auth_plugin = Some(NATIVE_PASSWORD.into());
    let plan = plan_with(mysql8(), &spec, &Catalog::default()).unwrap();
    assert!(
        plan.statements()[0]
            .starts_with("CREATE USER `app`@`%` IDENTIFIED WITH mysql_native_password AS '<redacted>'"),
        "{plan:?}"
    );

    let mut existing = account("%", CACHING_SHA2_PASSWORD, PasswordState::Unverifiable);
    existing.failed_login_attempts = Some(3);
    existing.password_lock_time = Some(PasswordLockTime::Days(0));
    let catalog = catalog_with("app", vec![existing]);
    let mut spec = user("app", "pw");
    spec.mysql.failed_login_attempts = Some(3);
    spec.mysql.password_lock_time = Some(PasswordLockTime::Unbounded);
    spec.password.as_mut().unwrap().set_when_unverifiable = false;
    let plan = plan_with(mysql8(), &spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["ALTER USER `app`@`%` PASSWORD_LOCK_TIME UNBOUNDED"]
    );
}

#[test]
fn unverifiable_passwords_are_set_only_when_asked() {
    let catalog = catalog_with(
        "app",
        vec![account("%", CACHING_SHA2_PASSWORD, PasswordState::Unverifiable)],
    );
    let mut spec = user("app", "pw");
    spec.password.as_mut().unwrap().set_when_unverifiable = false;
    assert!(plan_with(mysql8(), &spec, &catalog).unwrap().is_empty());
    spec.password.as_mut().unwrap().set_when_unverifiable = true;
    assert_eq!(
        plan_with(mysql8(), &spec, &catalog).unwrap().statements(),
        vec!["ALTER USER `app`@`%` IDENTIFIED WITH caching_sha2_password BY '<redacted>'"]
    );
}

#[test]
fn mysql8_native_password_matching_the_verifier_plans_nothing() {
    let catalog = catalog_with("app", vec![account("%", NATIVE_PASSWORD, native("pw"))]);
    assert!(
        plan_with(mysql8(), &user("app", "pw"), &catalog)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        plan_with(mysql8(), &user("app", "new"), &catalog)
            .unwrap()
            .statements(),
        vec!["ALTER USER `app`@`%` IDENTIFIED WITH mysql_native_password AS '<redacted>'"]
    );
}

#[test]
fn mariadb_refuses_what_it_cannot_do() {
    let mut spec = user("app", "pw");
    spec.mysql.failed_login_attempts = Some(3);
    let error = plan_with(maria(), &spec, &Catalog::default()).unwrap_err();
    assert_eq!(error.kind(), "Unsupported", "{error}");

    let mut spec = user("app", "pw");
    spec.mysql.auth_plugin = Some(CACHING_SHA2_PASSWORD.into());
    let error = plan_with(maria(), &spec, &Catalog::default()).unwrap_err();
    assert_eq!(error.kind(), "Unsupported", "{error}");
    assert!(error.to_string().contains("caching_sha2_password"), "{error}");

    let mut spec = user("app", "pw");
    spec.mysql.auth_plugin = Some("ed25519".into());
    assert_eq!(
        plan_with(maria(), &spec, &Catalog::default()).unwrap_err().kind(),
        "Unsupported"
    );
}

#[test]
fn accounts_without_password_or_certificate_are_refused() {
    let spec = RoleSpec::user(name("app"));
    let error = plan_with(maria(), &spec, &Catalog::default()).unwrap_err();
    assert_eq!(error.kind(), "InvalidSpec", "{error}");
    let mut spec = RoleSpec::user(name("app"));
    spec.mysql.require = Some(MySqlTlsRequirement::X509);
    assert_eq!(
        plan_with(maria(), &spec, &Catalog::default())
            .unwrap()
            .statements(),
        vec!["CREATE USER `app`@`%` REQUIRE X509"]
    );
    let error = plan_with(maria(), &user("app", ""), &Catalog::default()).unwrap_err();
    assert_eq!(error.kind(), "InvalidSpec");
}

#[test]
fn changing_the_plugin_needs_a_password() {
    let catalog = catalog_with(
        "app",
        vec![account("%", CACHING_SHA2_PASSWORD, PasswordState::Unverifiable)],
    );
    let mut spec = RoleSpec::user(name("app"));
    spec.mysql.auth_plugin = Some(NATIVE_PASSWORD.into());
    assert_eq!(
        plan_with(mysql8(), &spec, &catalog).unwrap_err().kind(),
        "InvalidSpec"
    );
    spec.password = Some(PasswordSpec::new(Secret::new("pw")));
    let plan = plan_with(mysql8(), &spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["ALTER USER `app`@`%` IDENTIFIED WITH mysql_native_password AS '<redacted>'"]
    );
    assert_eq!(plan.drift[0].field, "authPlugin");
}

#[test]
fn memberships_and_default_roles_per_flavour() {
    let mut spec = user("app", "pw");
    spec.mysql.roles = Some(BTreeSet::from([name("reader")]));
    let catalog = catalog_with("app", vec![account("%", NATIVE_PASSWORD, native("pw"))]);
    assert_eq!(
        plan_with(maria(), &spec, &catalog).unwrap().statements(),
        vec![
            "GRANT `reader` TO `app`@`%`",
            "SET DEFAULT ROLE `reader` FOR `app`@`%`"
        ]
    );
    assert_eq!(
        plan_with(mysql8(), &spec, &catalog).unwrap().statements(),
        vec!["GRANT `reader` TO `app`@`%`", "SET DEFAULT ROLE ALL TO `app`@`%`"]
    );

    // Two roles on MariaDB: only one can be active at login, so none is chosen.
    let mut existing = account("%", NATIVE_PASSWORD, native("pw"));
    existing.roles = BTreeSet::from(["reader".to_owned(), "stale".to_owned()]);
    existing.default_roles = BTreeSet::from(["reader".to_owned()]);
    let catalog = catalog_with("app", vec![existing.clone()]);
    spec.mysql.roles = Some(BTreeSet::from([name("reader"), name("writer")]));
    let plan = plan_with(maria(), &spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "GRANT `writer` TO `app`@`%`",
            "REVOKE `stale` FROM `app`@`%`",
            "SET DEFAULT ROLE NONE FOR `app`@`%`"
        ]
    );
    assert!(
        plan.drift
            .iter()
            .any(|drift| drift.field == "roles" && drift.destructive)
    );

    // MySQL 8 compares the default roles with the declared ones.
    existing.roles = BTreeSet::from(["reader".to_owned(), "writer".to_owned()]);
    existing.default_roles = BTreeSet::from(["reader".to_owned(), "writer".to_owned()]);
    let catalog = catalog_with("app", vec![existing]);
    assert!(plan_with(mysql8(), &spec, &catalog).unwrap().is_empty());
}

#[test]
fn group_roles_are_created_without_hosts() {
    let mut spec = RoleSpec::group(name("reader"));
    spec.mysql.roles = Some(BTreeSet::from([name("base")]));
    let plan = plan_with(maria(), &spec, &Catalog::default()).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["CREATE ROLE `reader`", "GRANT `base` TO `reader`"]
    );

    let mut spec = RoleSpec::group(name("reader"));
    spec.password = Some(PasswordSpec::new(Secret::new("pw")));
    assert_eq!(
        plan_with(maria(), &spec, &Catalog::default()).unwrap_err().kind(),
        "InvalidSpec"
    );
    let mut spec = RoleSpec::group(name("reader"));
    spec.mysql.max_queries_per_hour = Some(1);
    assert_eq!(
        plan_with(maria(), &spec, &Catalog::default()).unwrap_err().kind(),
        "InvalidSpec"
    );
}

#[test]
fn a_role_is_not_silently_turned_into_a_user() {
    let mut role = account("", "", PasswordState::None);
    role.is_role = true;
    let catalog = catalog_with("reader", vec![role]);
    let error = plan_with(maria(), &user("reader", "pw"), &catalog).unwrap_err();
    assert!(error.to_string().contains("exists as a role"), "{error}");
    assert!(
        plan_with(maria(), &RoleSpec::group(name("reader")), &catalog)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn dropping_uses_drop_role_for_mariadb_roles_and_drop_user_otherwise() {
    let facts = maria();
    let caps = capabilities(facts.kind, facts.version);
    let planner = Planner {
        facts: &facts,
        capabilities: &caps,
    };
    let mut role = account("", "", PasswordState::None);
    role.is_role = true;
    let catalog = catalog_with("reader", vec![role]);
    let plan = plan_drop_role(&planner, &name("reader"), &DropRoleOptions::default(), &catalog).unwrap();
    assert_eq!(plan.statements(), vec!["DROP ROLE IF EXISTS `reader`"]);

    let catalog = catalog_with(
        "app",
        vec![
            account("%", NATIVE_PASSWORD, native("pw")),
            account("localhost", NATIVE_PASSWORD, native("pw")),
        ],
    );
    let plan = plan_drop_role(&planner, &name("app"), &DropRoleOptions::default(), &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "DROP USER IF EXISTS `app`@`%`",
            "DROP USER IF EXISTS `app`@`localhost`"
        ]
    );
    assert!(plan.drift.iter().all(|drift| drift.destructive));
    let plan = plan_drop_role(&planner, &name("ghost"), &DropRoleOptions::default(), &catalog).unwrap();
    assert!(plan.is_empty());
}
