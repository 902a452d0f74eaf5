//! Hostile names are created verbatim (and never executed as SQL); names over 63 bytes are rejected first.

use dbprov_core::model::privilege::PgPrivilege;
use dbprov_core::model::{
    CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, MySqlGrants, ObjectSelector,
    OwnedObjectsPolicy, PgGrants, PgObjectGrant, PgSchema, PgSchemaGrant, RoleSpec,
};
use dbprov_core::{Engine, EngineError};

use crate::common::{
    apply, engine, ensure_database, ensure_role, inspect_database, inspect_role, name, psql, unique,
};

const HOSTILE: [&str; 10] = [
    "a\"b",
    "a`b",
    "back\\slash",
    "100%_off",
    "ünïcødé ☃",
    "with space",
    "x'; DROP DATABASE postgres; --",
    "\"; DROP ROLE postgres; --",
    "$$dollar$$",
    "MixedCase",
];

/// A SQL string literal for `psql` that does not go through the quoting under test: dollar quoting with a tag
/// none of the names contains.
fn dollar(value: &str) -> String {
    assert!(!value.contains("$q$"));
    format!("$q${value}$q$")
}

#[tokio::test]
async fn hostile_names_are_created_verbatim() {
    let engine = engine().await;
    for hostile in HOSTILE {
        let prefix = unique("h");
        let full = format!("{prefix}{hostile}");
        assert!(full.len() <= 63, "{full}");

        // A role, a database it owns with a schema of the same name, a table in it and a grant on the table.
        let mut role = RoleSpec::user(name(&full));
        role.password = Some(dbprov_core::model::PasswordSpec::new(dbprov_core::Secret::new(
            hostile,
        )));
        ensure_role(&engine, &role).await;
        let mut database = DatabaseSpec::new(name(&full));
        database.owner = Some(name(&full));
        database.postgres.schemas = vec![PgSchema {
            name: name(&full),
            owner: Some(name(&full)),
        }];
        ensure_database(&engine, &database).await;

        let exact = |catalog: &str, column: &str| {
            psql(
                "postgres",
                &format!(
                    "SELECT {column} FROM {catalog} WHERE starts_with({column}, {})",
                    dollar(&prefix)
                ),
            )
        };
        assert_eq!(exact("pg_roles", "rolname"), full, "role name");
        assert_eq!(exact("pg_database", "datname"), full, "database name");
        assert_eq!(
            psql(
                &full,
                &format!(
                    "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, {})",
                    dollar(&prefix)
                )
            ),
            full,
            "schema name"
        );
        assert!(
            ensure_database(&engine, &database).await.is_empty(),
            "replanning {full:?} changes nothing"
        );

        psql(
            &full,
            &format!(
                "DO $do$ BEGIN EXECUTE format('CREATE TABLE %I.%I (id int)', {0}, {0}); END $do$",
                dollar(&full)
            ),
        );
        let grant = GrantSpec {
            grantee: name(&full),
            database: name(&full),
            postgres: PgGrants {
                schemas: vec![PgSchemaGrant {
                    schema: name(&full),
                    privileges: vec![PgPrivilege::Usage],
                    with_grant_option: false,
                }],
                tables: vec![PgObjectGrant {
                    schema: name(&full),
                    objects: ObjectSelector::Named(vec![name(&full)]),
                    privileges: vec![PgPrivilege::Select],
                    with_grant_option: false,
                }],
                ..PgGrants::default()
            },
            mysql: MySqlGrants::default(),
        };
        // The role owns the schema, so only the table needs a grant, and the table is owned by the admin.
        let request = CatalogRequest::default().grant(name(&full), name(&full));
        let catalog = engine.inspect(&request).await.unwrap();
        let plan = engine.plan_grants(&grant, &catalog).unwrap();
        assert_eq!(plan.steps.len(), 1, "{:?}", plan.statements());
        apply(&engine, &plan).await;
        assert_eq!(
            psql(
                &full,
                &format!(
                    "SELECT has_table_privilege(r.oid, c.oid, 'SELECT') FROM pg_roles r, pg_class c \
                     WHERE r.rolname = {0} AND c.relname = {0}",
                    dollar(&full)
                )
            ),
            "t"
        );
        let catalog = engine.inspect(&request).await.unwrap();
        assert!(engine.plan_grants(&grant, &catalog).unwrap().is_empty());

        // And all of it goes away again.
        let catalog = inspect_database(&engine, &full).await;
        apply(
            &engine,
            &engine.plan_drop_database(&name(&full), &catalog).unwrap(),
        )
        .await;
        let catalog = inspect_role(&engine, &full).await;
        let options = DropRoleOptions {
            owned_objects: OwnedObjectsPolicy::Drop,
        };
        apply(
            &engine,
            &engine.plan_drop_role(&name(&full), &options, &catalog).unwrap(),
        )
        .await;
        assert_eq!(exact("pg_roles", "rolname"), "");
        assert_eq!(exact("pg_database", "datname"), "");
    }
    // The statements inside the names never ran.
    assert_eq!(
        psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'postgres'"
        ),
        "1"
    );
    assert_eq!(
        psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'postgres'"
        ),
        "1"
    );
    engine.close().await;
}

#[tokio::test]
async fn names_over_the_limit_are_rejected_with_a_clear_error() {
    let engine = engine().await;
    let long = format!("{}{}", unique("long"), "r".repeat(200));
    let error = engine
        .inspect(&CatalogRequest::default().role(name(&long)))
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::InvalidName(_)), "{}", error.chain());
    let error = engine
        .plan_role(&RoleSpec::user(name(&long)), &Default::default())
        .unwrap_err();
    assert!(error.to_string().contains("is 2"), "{error}");
    assert!(error.to_string().contains("limit on PostgreSQL is 63"), "{error}");
    let grant = GrantSpec {
        grantee: name("someone"),
        database: name(&long),
        postgres: PgGrants::default(),
        mysql: MySqlGrants::default(),
    };
    assert!(matches!(
        engine.plan_grants(&grant, &Default::default()),
        Err(EngineError::InvalidName(_))
    ));
    assert_eq!(
        psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_roles WHERE starts_with(rolname, {})",
                dollar(&long[..20])
            )
        ),
        "0"
    );
    engine.close().await;
}
