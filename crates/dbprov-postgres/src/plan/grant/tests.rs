//! Planning grants without a server: expansion, diffing and grouping.

use PgPrivilege::*;
use dbprov_core::model::{
    GrantScope, PgDefaultPrivilege, PgGrantAtom, PgGrants, PgRelation, PgRoutine, PgSchemaGrant,
};
use dbprov_core::{Name, NameKind};

use std::collections::BTreeSet;

use dbprov_core::model::{ObjectSelector, PgGrantState};

use super::*;

fn name(value: &str) -> Name {
    Name::parse(NameKind::Table, value).unwrap()
}

fn table(schema: &str, table: &str) -> PgObject {
    PgObject::Table {
        schema: schema.into(),
        name: table.into(),
    }
}

fn state() -> PgGrantState {
    let relation = |name: &str, owner: &str, is_sequence| PgRelation {
        schema: "app".into(),
        name: name.into(),
        owner: owner.into(),
        is_sequence,
    };
    PgGrantState {
        database_exists: true,
        inside_read: true,
        atoms: BTreeSet::new(),
        schemas: [
            ("public", "pg_database_owner"),
            ("app", "owner"),
            ("mine", "reader"),
        ]
        .into_iter()
        .map(|(schema, owner)| (schema.to_owned(), owner.to_owned()))
        .collect(),
        relations: vec![
            relation("orders", "owner", false),
            relation("items", "owner", false),
            relation("mine_t", "reader", false),
            relation("ids", "owner", true),
        ],
        routines: vec![
            PgRoutine {
                schema: "app".into(),
                name: "touch".into(),
                signature: "app.touch(integer)".into(),
                owner: "owner".into(),
            },
            PgRoutine {
                schema: "app".into(),
                name: "touch".into(),
                signature: "app.touch(text)".into(),
                owner: "owner".into(),
            },
        ],
        current_user: "postgres".into(),
        database_owner: Some("owner".into()),
    }
}

fn declared() -> GrantSpec {
    GrantSpec {
        grantee: name("reader"),
        database: name("shop"),
        postgres: PgGrants {
            database: vec![Connect],
            database_with_grant_option: false,
            schemas: vec![PgSchemaGrant {
                schema: name("app"),
                privileges: vec![Usage],
                with_grant_option: false,
            }],
            tables: vec![PgObjectGrant {
                schema: name("app"),
                objects: ObjectSelector::All,
                privileges: vec![Select, Insert],
                with_grant_option: false,
            }],
            sequences: vec![PgObjectGrant {
                schema: name("app"),
                objects: ObjectSelector::Named(vec![name("ids")]),
                privileges: vec![Usage],
                with_grant_option: false,
            }],
            functions: vec![PgObjectGrant {
                schema: name("app"),
                objects: ObjectSelector::Named(vec![name("touch(integer)")]),
                privileges: vec![Execute],
                with_grant_option: false,
            }],
            default_privileges: vec![PgDefaultPrivilege {
                for_role: Some(name("owner")),
                schema: Some(name("app")),
                object_type: PgDefaultObjectType::Tables,
                privileges: vec![Select],
                with_grant_option: false,
            }],
        },
        mysql: MySqlGrants::default(),
    }
}

fn catalog(state: PgGrantState) -> Catalog {
    let mut catalog = Catalog::default();
    catalog.grants.insert(
        GrantScope {
            grantee: name("reader"),
            database: name("shop"),
        },
        GrantState::Postgres(state),
    );
    catalog
}

/// The atoms the declaration above amounts to, as the server would report them after applying it.
fn applied() -> BTreeSet<PgGrantAtom> {
    let atom = |object: PgObject, privilege| PgGrantAtom {
        object,
        privilege,
        with_grant_option: false,
    };
    [
        atom(PgObject::Database("shop".into()), Connect),
        atom(PgObject::Schema("app".into()), Usage),
        atom(table("app", "orders"), Select),
        atom(table("app", "orders"), Insert),
        atom(table("app", "items"), Select),
        atom(table("app", "items"), Insert),
        atom(
            PgObject::Sequence {
                schema: "app".into(),
                name: "ids".into(),
            },
            Usage,
        ),
        atom(
            PgObject::Function {
                schema: "app".into(),
                name: "touch".into(),
                signature: "app.touch(integer)".into(),
            },
            Execute,
        ),
        atom(
            PgObject::DefaultPrivileges {
                for_role: "owner".into(),
                schema: Some("app".into()),
                object_type: PgDefaultObjectType::Tables,
            },
            Select,
        ),
    ]
    .into()
}

#[test]
fn nothing_granted_yet_plans_every_grant() {
    let plan = plan_grants(&declared(), &catalog(state())).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "GRANT CONNECT ON DATABASE \"shop\" TO \"reader\"",
            "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA \"app\" TO \"reader\"",
            "GRANT USAGE ON SCHEMA \"app\" TO \"reader\"",
            "GRANT USAGE ON SEQUENCE \"app\".\"ids\" TO \"reader\"",
            "GRANT EXECUTE ON ROUTINE app.touch(integer) TO \"reader\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" IN SCHEMA \"app\" GRANT SELECT ON TABLES TO \"reader\"",
        ]
    );
    assert_eq!(plan.steps[0].database, None);
    assert!(
        plan.steps[1..]
            .iter()
            .all(|step| step.database.as_deref() == Some("shop"))
    );
    assert!(plan.drift.iter().all(|drift| !drift.destructive));
}

#[test]
fn applied_grants_plan_nothing() {
    let mut state = state();
    state.atoms = applied();
    // The grantee's own table and schema are outside the scope, whatever their ACL says.
    state.atoms.insert(PgGrantAtom {
        object: table("app", "mine_t"),
        privilege: Delete,
        with_grant_option: true,
    });
    state.atoms.insert(PgGrantAtom {
        object: PgObject::Schema("mine".into()),
        privilege: Create,
        with_grant_option: true,
    });
    let plan = plan_grants(&declared(), &catalog(state)).unwrap();
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn a_new_table_is_covered_by_one_all_statement() {
    let mut state = state();
    state.atoms = applied();
    state.relations.push(PgRelation {
        schema: "app".into(),
        name: "new".into(),
        owner: "owner".into(),
        is_sequence: false,
    });
    let plan = plan_grants(&declared(), &catalog(state)).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA \"app\" TO \"reader\""]
    );
}

#[test]
fn undeclared_privileges_are_revoked_and_grouped() {
    let mut state = state();
    state.atoms = applied();
    for table_name in ["orders", "items"] {
        state.atoms.insert(PgGrantAtom {
            object: table("app", table_name),
            privilege: Delete,
            with_grant_option: false,
        });
    }
    state.atoms.insert(PgGrantAtom {
        object: PgObject::Database("shop".into()),
        privilege: Temporary,
        with_grant_option: false,
    });
    let plan = plan_grants(&declared(), &catalog(state)).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "REVOKE TEMPORARY ON DATABASE \"shop\" FROM \"reader\"",
            "REVOKE DELETE ON TABLE \"app\".\"items\", \"app\".\"orders\" FROM \"reader\"",
        ]
    );
    assert!(plan.drift.iter().all(|drift| drift.destructive));
}

#[test]
fn grant_options_are_added_and_removed() {
    let mut spec = declared();
    spec.postgres.schemas[0].with_grant_option = true;
    let mut state = state();
    state.atoms = applied();
    let plan = plan_grants(&spec, &catalog(state.clone())).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["GRANT USAGE ON SCHEMA \"app\" TO \"reader\" WITH GRANT OPTION"]
    );

    state.atoms.insert(PgGrantAtom {
        object: PgObject::Schema("app".into()),
        privilege: Usage,
        with_grant_option: true,
    });
    state.atoms.remove(&PgGrantAtom {
        object: PgObject::Schema("app".into()),
        privilege: Usage,
        with_grant_option: false,
    });
    let plan = plan_grants(&declared(), &catalog(state)).unwrap();
    assert_eq!(
        plan.statements(),
        vec!["REVOKE GRANT OPTION FOR USAGE ON SCHEMA \"app\" FROM \"reader\""]
    );
}

#[test]
fn removing_a_default_privilege_revokes_it() {
    let mut spec = declared();
    spec.postgres.default_privileges.clear();
    let mut state = state();
    state.atoms = applied();
    let plan = plan_grants(&spec, &catalog(state)).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" IN SCHEMA \"app\" REVOKE SELECT ON TABLES FROM \"reader\""
        ]
    );
}

#[test]
fn named_objects_that_do_not_exist_are_an_error_naming_them() {
    let mut spec = declared();
    spec.postgres.tables.push(PgObjectGrant {
        schema: name("app"),
        objects: ObjectSelector::Named(vec![name("ghost"), name("orders")]),
        privileges: vec![Select],
        with_grant_option: false,
    });
    spec.postgres.schemas.push(PgSchemaGrant {
        schema: name("nowhere"),
        privileges: vec![Usage],
        with_grant_option: false,
    });
    let error = plan_grants(&spec, &catalog(state())).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("schema nowhere") && message.contains("table app.ghost"),
        "{message}"
    );
    assert!(!message.contains("app.orders"), "{message}");
}

#[test]
fn wrong_privileges_for_the_object_are_refused() {
    let mut spec = declared();
    spec.postgres.tables[0].privileges = vec![Execute];
    let error = plan_grants(&spec, &catalog(state())).unwrap_err();
    assert!(
        error.to_string().contains("EXECUTE cannot be granted on TABLE"),
        "{error}"
    );
}

#[test]
fn database_owners_have_nothing_to_grant_on_it() {
    let mut spec = declared();
    spec.grantee = name("owner");
    let mut state = state();
    state.relations.retain(|relation| relation.owner == "owner");
    let mut catalog = Catalog::default();
    catalog.grants.insert(
        GrantScope {
            grantee: name("owner"),
            database: name("shop"),
        },
        GrantState::Postgres(state),
    );
    let plan = plan_grants(&spec, &catalog).unwrap();
    // Owner of the database, the schema, every table and the routine: only the default privileges remain,
    // and those are the owner's own.
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn a_database_that_does_not_exist_yet_gets_everything() {
    let mut spec = declared();
    spec.postgres.functions[0].objects = ObjectSelector::Named(vec![name("touch")]);
    let state = PgGrantState {
        current_user: "postgres".into(),
        ..PgGrantState::default()
    };
    let plan = plan_grants(&spec, &catalog(state)).unwrap();
    assert_eq!(
        plan.statements(),
        vec![
            "GRANT CONNECT ON DATABASE \"shop\" TO \"reader\"",
            "GRANT USAGE ON SCHEMA \"app\" TO \"reader\"",
            "GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA \"app\" TO \"reader\"",
            "GRANT USAGE ON SEQUENCE \"app\".\"ids\" TO \"reader\"",
            "GRANT EXECUTE ON ROUTINE \"app\".\"touch\" TO \"reader\"",
            "ALTER DEFAULT PRIVILEGES FOR ROLE \"owner\" IN SCHEMA \"app\" GRANT SELECT ON TABLES TO \"reader\"",
        ]
    );
}

#[test]
fn routines_match_by_name_or_signature() {
    assert!(routine_matches("touch", "touch", "app.touch(integer)"));
    assert!(routine_matches("touch(integer)", "touch", "app.touch(integer)"));
    assert!(routine_matches("touch(integer)", "touch", "touch(integer)"));
    assert!(!routine_matches("touch(text)", "touch", "app.touch(integer)"));
    assert!(!routine_matches("ouch(integer)", "touch", "app.touch(integer)"));
}

#[test]
fn a_database_level_read_cannot_plan_inside_grants() {
    let mut state = state();
    state.inside_read = false;
    let error = plan_grants(&declared(), &catalog(state)).unwrap_err();
    assert!(
        error.to_string().contains("database-level privileges only"),
        "{error}"
    );
}
