//! Grants: added and removed by editing the declaration, checked against what the server reports.

use dbprov_core::model::privilege::PgPrivilege::{self, *};
use dbprov_core::model::{
    CatalogRequest, DatabaseSpec, GrantSpec, MySqlGrants, ObjectSelector, PgDefaultObjectType,
    PgDefaultPrivilege, PgGrants, PgObjectGrant, PgSchema, PgSchemaGrant, RoleSpec,
};
use dbprov_core::{Engine, Plan};
use dbprov_postgres::PgEngine;

use crate::common::{
    apply, drop_database, drop_roles, engine, ensure_database, ensure_role, name, psql, unique,
};

/// Every privilege `grantee` holds in `database`, as `aclexplode` reports it: one sorted line per privilege,
/// `*` marking the grant option.
pub fn privileges(database: &str, grantee: &str) -> Vec<String> {
    let sql = format!(
        "WITH g AS (SELECT oid FROM pg_roles WHERE rolname = '{grantee}'),
         acl AS (
           SELECT 'database ' || datname AS object, (aclexplode(datacl)).* FROM pg_database WHERE datname = current_database()
           UNION ALL SELECT 'schema ' || nspname, (aclexplode(nspacl)).* FROM pg_namespace
           UNION ALL SELECT CASE relkind WHEN 'S' THEN 'sequence ' ELSE 'table ' END || relnamespace::regnamespace || '.' || relname,
                            (aclexplode(relacl)).* FROM pg_class
           UNION ALL SELECT 'routine ' || oid::regprocedure, (aclexplode(proacl)).* FROM pg_proc
           UNION ALL SELECT 'default ' || defaclrole::regrole || ' ' || defaclobjtype::text, (aclexplode(defaclacl)).* FROM pg_default_acl
         )
         SELECT object || ' ' || privilege_type || CASE WHEN is_grantable THEN '*' ELSE '' END
         FROM acl WHERE grantee = (SELECT oid FROM g) ORDER BY 1"
    );
    psql(database, &sql)
        .lines()
        .map(str::to_owned)
        .filter(|line| !line.is_empty())
        .collect()
}

struct Fixture {
    database: String,
    owner: String,
    reader: String,
}

/// A database owned by `owner` with schema `app` (tables t1, t2, sequence s, function f(integer)), and a
/// `reader` role with nothing granted.
async fn fixture(engine: &PgEngine) -> Fixture {
    let fixture = Fixture {
        database: unique("grdb"),
        owner: unique("grown"),
        reader: unique("grread"),
    };
    ensure_role(engine, &RoleSpec::group(name(&fixture.owner))).await;
    ensure_role(engine, &RoleSpec::user(name(&fixture.reader))).await;
    let mut spec = DatabaseSpec::new(name(&fixture.database));
    spec.owner = Some(name(&fixture.owner));
    spec.postgres.schemas = vec![PgSchema {
        name: name("app"),
        owner: Some(name(&fixture.owner)),
    }];
    ensure_database(engine, &spec).await;
    psql(
        &fixture.database,
        &format!(
            "SET ROLE \"{}\"; CREATE TABLE app.t1 (id int); CREATE TABLE app.t2 (id int); CREATE SEQUENCE app.s; \
             CREATE FUNCTION app.f(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1'",
            fixture.owner
        ),
    );
    fixture
}

fn object_grant(
    schema: &str,
    objects: ObjectSelector,
    privileges: &[PgPrivilege],
    with_grant_option: bool,
) -> PgObjectGrant {
    PgObjectGrant {
        schema: name(schema),
        objects,
        privileges: privileges.to_vec(),
        with_grant_option,
    }
}

fn declaration(fixture: &Fixture) -> GrantSpec {
    GrantSpec {
        grantee: name(&fixture.reader),
        database: name(&fixture.database),
        postgres: PgGrants {
            database: vec![Connect],
            database_with_grant_option: false,
            schemas: vec![PgSchemaGrant {
                schema: name("app"),
                privileges: vec![Usage],
                with_grant_option: false,
            }],
            tables: vec![object_grant("app", ObjectSelector::All, &[Select], false)],
            sequences: vec![object_grant(
                "app",
                ObjectSelector::Named(vec![name("s")]),
                &[Usage, Select],
                false,
            )],
            functions: vec![object_grant("app", ObjectSelector::All, &[Execute], false)],
            default_privileges: vec![PgDefaultPrivilege {
                for_role: Some(name(&fixture.owner)),
                schema: Some(name("app")),
                object_type: PgDefaultObjectType::Tables,
                privileges: vec![Select],
                with_grant_option: false,
            }],
        },
        mysql: MySqlGrants::default(),
    }
}

async fn plan(engine: &PgEngine, spec: &GrantSpec) -> Plan {
    let request = CatalogRequest::default().grant(spec.grantee.clone(), spec.database.clone());
    let catalog = engine.inspect(&request).await.expect("inspect grants");
    assert_eq!(
        catalog.queries,
        1 + 4,
        "one cluster query plus four inside the database"
    );
    engine.plan_grants(spec, &catalog).expect("plan grants")
}

/// Applies the declaration and checks that planning again right away gives nothing.
async fn converge(engine: &PgEngine, spec: &GrantSpec) -> Plan {
    let applied = plan(engine, spec).await;
    apply(engine, &applied).await;
    let again = plan(engine, spec).await;
    assert!(
        again.is_empty(),
        "re-planning after apply must be empty: {:?}",
        again.statements()
    );
    applied
}

#[tokio::test]
async fn grants_follow_the_declaration_both_ways() {
    let engine = engine().await;
    let fixture = fixture(&engine).await;
    let (database, owner, reader) = (&fixture.database, &fixture.owner, &fixture.reader);
    let mut spec = declaration(&fixture);

    let applied = converge(&engine, &spec).await;
    assert_eq!(
        applied.steps[0].database, None,
        "database privileges are granted on the admin connection"
    );
    let expected = |extra: &[&str]| {
        let mut lines: Vec<String> = [
            format!("database {database} CONNECT"),
            "routine app.f(integer) EXECUTE".to_owned(),
            "schema app USAGE".to_owned(),
            "sequence app.s SELECT".to_owned(),
            "sequence app.s USAGE".to_owned(),
            "table app.t1 SELECT".to_owned(),
            "table app.t2 SELECT".to_owned(),
            format!("default {owner} r SELECT"),
        ]
        .into_iter()
        .chain(extra.iter().map(|line| line.to_string()))
        .collect();
        lines.sort();
        lines
    };
    assert_eq!(privileges(database, reader), expected(&[]));
    assert_eq!(
        psql(
            database,
            &format!("SELECT has_table_privilege('{reader}', 'app.t2', 'SELECT')")
        ),
        "t"
    );

    // A table the owner creates later is covered by the default privileges: nothing to do.
    psql(
        database,
        &format!("SET ROLE \"{owner}\"; CREATE TABLE app.t3 (id int)"),
    );
    assert!(plan(&engine, &spec).await.is_empty());
    // One created by someone else is covered by the `All` selector: one statement.
    psql(database, "CREATE TABLE app.t4 (id int)");
    let next = plan(&engine, &spec).await;
    assert_eq!(
        next.statements(),
        vec![format!(
            "GRANT SELECT ON ALL TABLES IN SCHEMA \"app\" TO \"{reader}\""
        )]
    );
    apply(&engine, &next).await;
    assert_eq!(
        privileges(database, reader),
        expected(&["table app.t3 SELECT", "table app.t4 SELECT"])
    );

    // Edit: INSERT with grant option on t1 only, no sequence grants, TEMPORARY on the database.
    spec.postgres.tables.push(object_grant(
        "app",
        ObjectSelector::Named(vec![name("t1")]),
        &[Insert],
        true,
    ));
    spec.postgres.sequences.clear();
    spec.postgres.database.push(Temporary);
    converge(&engine, &spec).await;
    let mut lines = expected(&[
        "table app.t3 SELECT",
        "table app.t4 SELECT",
        "table app.t1 INSERT*",
    ]);
    lines.retain(|line| !line.starts_with("sequence"));
    lines.push(format!("database {database} TEMPORARY"));
    lines.sort();
    assert_eq!(privileges(database, reader), lines);

    // Drop the grant option but keep the privilege: one REVOKE GRANT OPTION FOR.
    spec.postgres.tables[1].with_grant_option = false;
    let applied = converge(&engine, &spec).await;
    assert_eq!(
        applied.statements(),
        vec![format!(
            "REVOKE GRANT OPTION FOR INSERT ON TABLE \"app\".\"t1\" FROM \"{reader}\""
        )]
    );
    assert!(privileges(database, reader).contains(&"table app.t1 INSERT".to_owned()));

    // Declare nothing: everything is revoked.
    spec.postgres = PgGrants::default();
    let applied = converge(&engine, &spec).await;
    assert!(applied.drift.iter().all(|drift| drift.destructive));
    assert_eq!(privileges(database, reader), Vec::<String>::new());
    assert_eq!(
        psql(
            database,
            &format!("SELECT has_table_privilege('{reader}', 'app.t1', 'SELECT')")
        ),
        "f"
    );

    engine.close().await;
    drop_database(database);
    drop_roles(&[reader, owner]);
}

#[tokio::test]
async fn owners_are_left_alone_and_missing_objects_are_named() {
    let engine = engine().await;
    let fixture = fixture(&engine).await;
    // The owner's own privileges are implicit: declaring nothing for the owner revokes nothing from it.
    let mut spec = declaration(&fixture);
    spec.grantee = name(&fixture.owner);
    spec.postgres = PgGrants::default();
    assert!(plan(&engine, &spec).await.is_empty());
    assert_eq!(
        psql(
            &fixture.database,
            &format!(
                "SELECT has_table_privilege('{}', 'app.t1', 'DELETE')",
                fixture.owner
            )
        ),
        "t"
    );

    let mut spec = declaration(&fixture);
    spec.postgres.tables.push(object_grant(
        "app",
        ObjectSelector::Named(vec![name("ghost")]),
        &[Select],
        false,
    ));
    spec.postgres
        .functions
        .push(object_grant("nope", ObjectSelector::All, &[Execute], false));
    let request = CatalogRequest::default().grant(spec.grantee.clone(), spec.database.clone());
    let catalog = engine.inspect(&request).await.unwrap();
    let error = engine.plan_grants(&spec, &catalog).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("table app.ghost") && message.contains("schema nope"),
        "{message}"
    );
    assert_eq!(error.kind(), "InvalidSpec");
    engine.close().await;
    drop_database(&fixture.database);
    drop_roles(&[&fixture.reader, &fixture.owner]);
}

#[tokio::test]
async fn global_default_privileges_for_the_admin_and_named_routines() {
    let engine = engine().await;
    let fixture = fixture(&engine).await;
    let mut spec = declaration(&fixture);
    spec.postgres = PgGrants {
        functions: vec![object_grant(
            "app",
            ObjectSelector::Named(vec![name("f(integer)")]),
            &[Execute],
            true,
        )],
        default_privileges: vec![PgDefaultPrivilege {
            for_role: None,
            schema: None,
            object_type: PgDefaultObjectType::Sequences,
            privileges: vec![Usage],
            with_grant_option: false,
        }],
        ..PgGrants::default()
    };
    converge(&engine, &spec).await;
    assert_eq!(
        privileges(&fixture.database, &fixture.reader),
        vec![
            "default postgres S USAGE".to_owned(),
            "routine app.f(integer) EXECUTE*".to_owned()
        ]
    );
    spec.postgres.default_privileges.clear();
    converge(&engine, &spec).await;
    assert_eq!(
        privileges(&fixture.database, &fixture.reader),
        vec!["routine app.f(integer) EXECUTE*".to_owned()]
    );
    engine.close().await;
    drop_database(&fixture.database);
    drop_roles(&[&fixture.reader, &fixture.owner]);
}

#[tokio::test]
async fn grants_for_a_database_created_in_the_same_run() {
    let engine = engine().await;
    let database = unique("grnew");
    let reader = unique("grnewr");
    ensure_role(&engine, &RoleSpec::user(name(&reader))).await;
    let spec = GrantSpec {
        grantee: name(&reader),
        database: name(&database),
        postgres: PgGrants {
            database: vec![Connect],
            schemas: vec![PgSchemaGrant {
                schema: name("public"),
                privileges: vec![Usage],
                with_grant_option: false,
            }],
            tables: vec![object_grant("public", ObjectSelector::All, &[Select], false)],
            ..PgGrants::default()
        },
        mysql: MySqlGrants::default(),
    };
    // Both planned before anything is applied, as a reconcile of a new database does.
    let request = CatalogRequest::default()
        .database(name(&database), false)
        .grant(name(&reader), name(&database));
    let catalog = engine.inspect(&request).await.unwrap();
    let mut plan = engine
        .plan_database(&DatabaseSpec::new(name(&database)), &catalog)
        .unwrap();
    plan.extend(engine.plan_grants(&spec, &catalog).unwrap());
    apply(&engine, &plan).await;
    assert_eq!(
        privileges(&database, &reader),
        vec![
            format!("database {database} CONNECT"),
            "schema public USAGE".to_owned()
        ]
    );
    let again = {
        let catalog = engine.inspect(&request).await.unwrap();
        engine.plan_grants(&spec, &catalog).unwrap()
    };
    assert!(again.is_empty(), "{:?}", again.statements());
    engine.close().await;
    drop_database(&database);
    drop_roles(&[&reader]);
}

#[tokio::test]
async fn database_level_scopes_are_read_without_connecting_inside() {
    let engine = engine().await;
    let database = unique("grdb");
    let reader = unique("grdbr");
    ensure_role(&engine, &RoleSpec::user(name(&reader))).await;
    let catalog = engine
        .inspect(&CatalogRequest::default().database(name(&database), false))
        .await
        .unwrap();
    apply(
        &engine,
        &engine
            .plan_database(&DatabaseSpec::new(name(&database)), &catalog)
            .unwrap(),
    )
    .await;
    let mut spec = GrantSpec {
        grantee: name(&reader),
        database: name(&database),
        postgres: PgGrants {
            database: vec![Connect, Temporary],
            ..PgGrants::default()
        },
        mysql: MySqlGrants::default(),
    };
    let request = CatalogRequest::default().grant_database_level(name(&reader), name(&database));
    let catalog = engine.inspect(&request).await.unwrap();
    assert_eq!(
        catalog.queries, 1,
        "one cluster-level query, nothing inside the database"
    );
    apply(&engine, &engine.plan_grants(&spec, &catalog).unwrap()).await;
    assert_eq!(
        privileges(&database, &reader),
        vec![
            format!("database {database} CONNECT"),
            format!("database {database} TEMPORARY")
        ]
    );
    let catalog = engine.inspect(&request).await.unwrap();
    assert!(engine.plan_grants(&spec, &catalog).unwrap().is_empty());

    spec.postgres.database = vec![Connect];
    let plan = engine.plan_grants(&spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![format!(
            "REVOKE TEMPORARY ON DATABASE {} FROM {}",
            super::common::ident(&database),
            super::common::ident(&reader)
        )]
    );
    apply(&engine, &plan).await;
    assert_eq!(
        privileges(&database, &reader),
        vec![format!("database {database} CONNECT")]
    );

    spec.postgres.tables = vec![object_grant("public", ObjectSelector::All, &[Select], false)];
    let error = engine.plan_grants(&spec, &catalog).unwrap_err();
    assert!(
        error.to_string().contains("database-level privileges only"),
        "{error}"
    );
    engine.close().await;
    drop_database(&database);
    drop_roles(&[&reader]);
}
