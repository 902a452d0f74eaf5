use dbprov_core::model::{
    GrantScope, MySqlColumnGrant, MySqlGrants, MySqlRoutineGrant, MySqlRoutineKind, MySqlTableGrant, PgGrants,
};
use dbprov_core::{EngineKind, MySqlStringMode, Name, NameKind};

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

fn name(kind: NameKind, value: &str) -> Name {
    Name::parse(kind, value).unwrap()
}

fn spec(grants: MySqlGrants) -> GrantSpec {
    GrantSpec {
        grantee: name(NameKind::User, "app"),
        database: name(NameKind::Database, "shop_db"),
        postgres: PgGrants::default(),
        mysql: grants,
    }
}

fn set(privileges: &[MySqlPrivilege], with_grant_option: bool) -> MySqlPrivilegeSet {
    MySqlPrivilegeSet {
        privileges: privileges.to_vec(),
        with_grant_option,
    }
}

fn catalog(hosts: &[&str], atoms: &[(&str, MySqlObject, MySqlPrivilege)]) -> Catalog {
    let mut catalog = Catalog::default();
    catalog.grants.insert(
        GrantScope {
            grantee: name(NameKind::User, "app"),
            database: name(NameKind::Database, "shop_db"),
        },
        GrantState::MySql(MySqlGrantState {
            hosts: hosts.iter().map(|host| host.to_string()).collect(),
            atoms: atoms
                .iter()
                .map(|(host, object, privilege)| MySqlGrantAtom {
                    host: host.to_string(),
                    object: object.clone(),
                    privilege: *privilege,
                })
                .collect(),
        }),
    );
    catalog
}

fn plan_with(facts: ServerFacts, spec: &GrantSpec, catalog: &Catalog) -> Result<Plan, EngineError> {
    let caps = capabilities(facts.kind, facts.version);
    plan_grants(
        &Planner {
            facts: &facts,
            capabilities: &caps,
        },
        spec,
        catalog,
    )
}

fn database() -> MySqlObject {
    MySqlObject::Database("shop_db".into())
}

#[test]
fn missing_privileges_are_granted_per_object_and_host() {
    let grants = MySqlGrants {
        database: set(&[MySqlPrivilege::Select, MySqlPrivilege::Insert], true),
        tables: vec![MySqlTableGrant {
            table: name(NameKind::Table, "orders"),
            privileges: set(&[MySqlPrivilege::Delete], false),
        }],
        columns: vec![MySqlColumnGrant {
            table: name(NameKind::Table, "orders"),
            columns: vec![name(NameKind::Column, "a"), name(NameKind::Column, "b")],
            privileges: vec![MySqlPrivilege::Update],
        }],
        routines: vec![MySqlRoutineGrant {
            kind: MySqlRoutineKind::Function,
            name: name(NameKind::Function, "total"),
            privileges: set(&[MySqlPrivilege::Execute], false),
        }],
        global: None,
    };
    let plan = plan_with(maria(), &spec(grants), &catalog(&["%", "localhost"], &[])).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "GRANT INSERT, SELECT ON `shop\\_db`.* TO `app`@`%` WITH GRANT OPTION",
            "GRANT DELETE ON `shop_db`.`orders` TO `app`@`%`",
            "GRANT EXECUTE ON FUNCTION `shop_db`.`total` TO `app`@`%`",
            "GRANT INSERT, SELECT ON `shop\\_db`.* TO `app`@`localhost` WITH GRANT OPTION",
            "GRANT DELETE ON `shop_db`.`orders` TO `app`@`localhost`",
            "GRANT EXECUTE ON FUNCTION `shop_db`.`total` TO `app`@`localhost`",
            "GRANT UPDATE (`a`, `b`) ON `shop_db`.`orders` TO `app`@`%`",
            "GRANT UPDATE (`a`, `b`) ON `shop_db`.`orders` TO `app`@`localhost`",
        ]
    );
    assert!(plan.steps.iter().all(|step| !step.transactional));
}

#[test]
fn matching_grants_plan_nothing_and_undeclared_ones_are_revoked() {
    let grants = MySqlGrants {
        database: set(&[MySqlPrivilege::Select], false),
        ..MySqlGrants::default()
    };
    let held = [
        ("%", database(), MySqlPrivilege::Select),
        ("%", MySqlObject::Global, MySqlPrivilege::Process),
    ];
    let plan = plan_with(maria(), &spec(grants.clone()), &catalog(&["%"], &held)).unwrap();
    assert!(
        plan.is_empty(),
        "global privileges are outside the scope unless declared: {plan:?}"
    );

    let held = [
        ("%", database(), MySqlPrivilege::Select),
        ("%", database(), MySqlPrivilege::GrantOption),
        ("%", database(), MySqlPrivilege::Delete),
    ];
    let plan = plan_with(maria(), &spec(grants), &catalog(&["%"], &held)).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["REVOKE DELETE, GRANT OPTION ON `shop\\_db`.* FROM `app`@`%`"]
    );
    assert!(plan.drift[0].destructive);
}

#[test]
fn declared_global_privileges_are_managed_exactly() {
    let grants = MySqlGrants {
        global: Some(set(&[MySqlPrivilege::Process], false)),
        ..MySqlGrants::default()
    };
    let held = [
        ("%", MySqlObject::Global, MySqlPrivilege::Process),
        ("%", MySqlObject::Global, MySqlPrivilege::Super),
    ];
    let plan = plan_with(maria(), &spec(grants), &catalog(&["%"], &held)).unwrap();
    assert_eq!(plan.statements(), vec!["REVOKE SUPER ON *.* FROM `app`@`%`"]);

    let grants = MySqlGrants {
        global: Some(set(&[], false)),
        ..MySqlGrants::default()
    };
    let plan = plan_with(maria(), &spec(grants), &catalog(&["%"], &held)).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["REVOKE PROCESS, SUPER ON *.* FROM `app`@`%`"]
    );
}

#[test]
fn mariadb_renamed_privileges_do_not_drift() {
    let grants = MySqlGrants {
        global: Some(set(&[MySqlPrivilege::ReplicationClient], false)),
        ..MySqlGrants::default()
    };
    let held = [("%", MySqlObject::Global, MySqlPrivilege::BinlogMonitor)];
    assert!(
        plan_with(maria(), &spec(grants.clone()), &catalog(&["%"], &held))
            .unwrap()
            .is_empty()
    );
    let held = [("%", MySqlObject::Global, MySqlPrivilege::ReplicationClient)];
    assert!(
        plan_with(mysql8(), &spec(grants), &catalog(&["%"], &held))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn roles_and_missing_grantees_are_written_without_host() {
    let grants = MySqlGrants {
        database: set(&[MySqlPrivilege::Select], false),
        ..MySqlGrants::default()
    };
    let plan = plan_with(maria(), &spec(grants.clone()), &catalog(&[""], &[])).unwrap();
    assert_eq!(plan.statements(), vec!["GRANT SELECT ON `shop\\_db`.* TO `app`"]);
    let plan = plan_with(maria(), &spec(grants), &catalog(&[], &[])).unwrap();
    assert_eq!(plan.statements(), vec!["GRANT SELECT ON `shop\\_db`.* TO `app`"]);
}

#[test]
fn invalid_declarations_are_refused() {
    let grants = MySqlGrants {
        database: set(&[MySqlPrivilege::Super], false),
        ..MySqlGrants::default()
    };
    let error = plan_with(maria(), &spec(grants), &catalog(&["%"], &[])).unwrap_err();
    assert_eq!(error.kind(), "InvalidSpec", "{error}");

    let grants = MySqlGrants {
        database: set(&[MySqlPrivilege::DeleteHistory], false),
        ..MySqlGrants::default()
    };
    let error = plan_with(mysql8(), &spec(grants), &catalog(&["%"], &[])).unwrap_err();
    assert_eq!(error.kind(), "Unsupported", "{error}");

    let grants = MySqlGrants {
        database: set(&[MySqlPrivilege::Select], false),
        ..MySqlGrants::default()
    };
    let error = plan_with(maria(), &spec(grants), &Catalog::default()).unwrap_err();
    assert!(error.to_string().contains("inspect it first"), "{error}");
}

#[test]
fn database_patterns_longer_than_64_characters_are_refused() {
    let long = "a_".repeat(32);
    let mut spec = spec(MySqlGrants {
        database: set(&[MySqlPrivilege::Select], false),
        ..MySqlGrants::default()
    });
    spec.database = name(NameKind::Database, &long);
    let mut catalog = Catalog::default();
    catalog.grants.insert(
        GrantScope {
            grantee: spec.grantee.clone(),
            database: spec.database.clone(),
        },
        GrantState::MySql(MySqlGrantState {
            hosts: vec!["%".into()],
            atoms: BTreeSet::new(),
        }),
    );
    let error = plan_with(maria(), &spec, &catalog).unwrap_err();
    assert_eq!(error.kind(), "Unsupported");
    assert!(error.to_string().contains("96 characters"), "{error}");
}
