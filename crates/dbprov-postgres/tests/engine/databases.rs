//! Databases: create → inspect round trips, one change → one statement, extensions and schemas, drops.

use dbprov_core::model::{CatalogRequest, DatabaseSpec, PgExtension, PgSchema, RoleSpec};
use dbprov_core::{Engine, EngineError, Plan};
use dbprov_postgres::PgEngine;

use crate::common::{
    apply, drop_database, drop_roles, engine, ensure_database, ensure_role, ident, inspect_database, name,
    psql, unique,
};

fn full_spec(database: &str, owner: &str) -> DatabaseSpec {
    let mut spec = DatabaseSpec::new(name(database));
    spec.owner = Some(name(owner));
    let pg = &mut spec.postgres;
    pg.encoding = Some("UTF8".into());
    pg.lc_collate = Some("C".into());
    pg.lc_ctype = Some("C".into());
    pg.template = Some(name("template0"));
    pg.tablespace = Some(name("pg_default"));
    pg.connection_limit = Some(7);
    pg.is_template = Some(false);
    pg.allow_connections = Some(true);
    pg.schemas = vec![
        PgSchema {
            name: name("app"),
            owner: Some(name(owner)),
        },
        PgSchema {
            name: name("ext"),
            owner: None,
        },
    ];
    pg.extensions = vec![
        PgExtension {
            name: name("pg_trgm"),
            schema: Some(name("public")),
            version: None,
        },
        PgExtension {
            name: name("hstore"),
            schema: Some(name("ext")),
            version: None,
        },
        PgExtension {
            name: name("citext"),
            schema: Some(name("public")),
            version: Some("1.5".into()),
        },
    ];
    spec
}

async fn replan(engine: &PgEngine, spec: &DatabaseSpec) -> Plan {
    let catalog = inspect_database(engine, spec.name.as_str()).await;
    engine.plan_database(spec, &catalog).expect("plan")
}

#[tokio::test]
async fn create_then_inspect_round_trips_every_attribute() {
    let engine = engine().await;
    let database = unique("dbround");
    let owner = unique("dbowner");
    ensure_role(&engine, &RoleSpec::group(name(&owner))).await;
    let spec = full_spec(&database, &owner);

    let plan = ensure_database(&engine, &spec).await;
    assert!(
        !plan.steps[0].transactional,
        "CREATE DATABASE cannot run in a transaction"
    );
    assert_eq!(plan.steps.len(), 1 + 2 + 3);

    let catalog = inspect_database(&engine, &database).await;
    let state = catalog.database(&name(&database)).expect("the database exists");
    assert_eq!(state.owner.as_deref(), Some(owner.as_str()));
    let pg = state.postgres.as_ref().unwrap();
    assert_eq!(pg.encoding, "UTF8");
    assert_eq!(pg.lc_collate, "C");
    assert_eq!(pg.lc_ctype, "C");
    assert_eq!(pg.tablespace, "pg_default");
    assert_eq!(pg.connection_limit, 7);
    assert!(!pg.is_template);
    assert!(pg.allow_connections);
    let extensions: Vec<(String, String, String)> = pg
        .extensions
        .as_ref()
        .unwrap()
        .iter()
        .filter(|extension| extension.name != "plpgsql")
        .map(|extension| {
            (
                extension.name.clone(),
                extension.schema.clone(),
                extension.version.clone(),
            )
        })
        .collect();
    let trgm_version = psql(
        "postgres",
        "SELECT default_version FROM pg_available_extensions WHERE name = 'pg_trgm'",
    );
    let hstore_version = psql(
        "postgres",
        "SELECT default_version FROM pg_available_extensions WHERE name = 'hstore'",
    );
    assert_eq!(
        extensions,
        vec![
            ("citext".into(), "public".into(), "1.5".into()),
            ("hstore".into(), "ext".into(), hstore_version),
            ("pg_trgm".into(), "public".into(), trgm_version),
        ]
    );
    let schemas = pg.schemas.as_ref().unwrap();
    let owner_of = |schema: &str| schemas.iter().find(|s| s.name == schema).map(|s| s.owner.clone());
    assert_eq!(owner_of("app"), Some(owner.clone()));
    assert_eq!(owner_of("ext"), Some("postgres".into()));

    // The same facts, read independently.
    assert_eq!(
        psql(
            "postgres",
            &format!(
                "SELECT pg_get_userbyid(datdba) || '|' || pg_encoding_to_char(encoding) || '|' || datcollate || '|' || \
                 datctype || '|' || datconnlimit || '|' || datistemplate || '|' || datallowconn \
                 FROM pg_database WHERE datname = '{database}'"
            )
        ),
        format!("{owner}|UTF8|C|C|7|false|true")
    );
    assert_eq!(
        psql(
            &database,
            "SELECT extversion FROM pg_extension WHERE extname = 'citext'"
        ),
        "1.5"
    );

    assert!(
        replan(&engine, &spec).await.is_empty(),
        "an unchanged database plans nothing"
    );
    engine.close().await;
    drop_database(&database);
    drop_roles(&[&owner]);
}

#[tokio::test]
async fn each_changed_attribute_plans_exactly_one_statement() {
    let engine = engine().await;
    let database = unique("dbchange");
    let owner = unique("dbown1");
    let heir = unique("dbown2");
    for role in [&owner, &heir] {
        ensure_role(&engine, &RoleSpec::group(name(role))).await;
    }
    let mut spec = full_spec(&database, &owner);
    ensure_database(&engine, &spec).await;

    type Change = Box<dyn Fn(&mut DatabaseSpec)>;
    let changes: Vec<(Change, &str, String)> = vec![
        (
            Box::new(|spec| spec.postgres.connection_limit = Some(-1)),
            "ALTER DATABASE",
            format!("SELECT datconnlimit FROM pg_database WHERE datname = '{database}'"),
        ),
        (
            Box::new({
                let heir = heir.clone();
                move |spec| spec.owner = Some(name(&heir))
            }),
            "OWNER TO",
            format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{database}'"),
        ),
        (
            Box::new(|spec| spec.postgres.allow_connections = Some(false)),
            "ALLOW_CONNECTIONS false",
            format!("SELECT datallowconn FROM pg_database WHERE datname = '{database}'"),
        ),
        (
            Box::new(|spec| spec.postgres.allow_connections = Some(true)),
            "ALLOW_CONNECTIONS true",
            format!("SELECT datallowconn FROM pg_database WHERE datname = '{database}'"),
        ),
        (
            Box::new(|spec| spec.postgres.is_template = Some(true)),
            "IS_TEMPLATE true",
            format!("SELECT datistemplate FROM pg_database WHERE datname = '{database}'"),
        ),
        (
            Box::new(|spec| spec.postgres.extensions[2].version = Some("1.6".into())),
            "ALTER EXTENSION \"citext\" UPDATE TO '1.6'",
            "SELECT extversion FROM pg_extension WHERE extname = 'citext'".into(),
        ),
        (
            Box::new(|spec| spec.postgres.extensions[1].schema = Some(name("public"))),
            "ALTER EXTENSION \"hstore\" SET SCHEMA \"public\"",
            "SELECT extnamespace::regnamespace FROM pg_extension WHERE extname = 'hstore'".into(),
        ),
        (
            Box::new({
                let heir = heir.clone();
                move |spec| spec.postgres.schemas[0].owner = Some(name(&heir))
            }),
            "ALTER SCHEMA \"app\" OWNER TO",
            "SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'app'".into(),
        ),
    ];
    for (change, expected, check) in changes {
        let before_database = if check.contains("pg_database") {
            "postgres"
        } else {
            database.as_str()
        };
        let before = psql(before_database, &check);
        change(&mut spec);
        let plan = plan_without_inside_when_closed(&engine, &spec).await;
        assert_eq!(plan.steps.len(), 1, "{expected}: {:?}", plan.statements());
        assert!(
            plan.statements()[0].contains(expected),
            "{:?} should contain {expected}",
            plan.statements()
        );
        apply(&engine, &plan).await;
        let after = psql(before_database, &check);
        assert_ne!(before, after, "{expected} changed nothing: {check}");
        assert!(
            plan_without_inside_when_closed(&engine, &spec).await.is_empty(),
            "{expected}: replan not empty"
        );
    }

    // A template must be unmarked before it can be dropped: the drop plan does it.
    let catalog = inspect_database(&engine, &database).await;
    let plan = engine.plan_drop_database(&name(&database), &catalog).unwrap();
    assert_eq!(plan.steps.len(), 2, "{:?}", plan.statements());
    apply(&engine, &plan).await;
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{database}'")
        ),
        "0"
    );
    engine.close().await;
    drop_roles(&[&owner, &heir]);
}

/// While a database refuses connections its inside cannot be read nor managed: plan only its attributes then.
async fn plan_without_inside_when_closed(engine: &PgEngine, spec: &DatabaseSpec) -> Plan {
    let catalog = inspect_database(engine, spec.name.as_str()).await;
    let open = catalog
        .database(&spec.name)
        .and_then(|state| state.postgres.as_ref())
        .is_some_and(|pg| pg.allow_connections);
    let mut spec = spec.clone();
    if !open || spec.postgres.allow_connections == Some(false) {
        spec.postgres.extensions.clear();
        spec.postgres.schemas.clear();
    }
    engine.plan_database(&spec, &catalog).expect("plan")
}

#[tokio::test]
async fn encoding_and_locale_drift_is_reported_and_not_corrected() {
    let engine = engine().await;
    let database = unique("dbdrift");
    ensure_database(&engine, &DatabaseSpec::new(name(&database))).await;
    let mut spec = DatabaseSpec::new(name(&database));
    spec.postgres.encoding = Some("LATIN1".into());
    spec.postgres.lc_collate = Some("de_DE.UTF-8".into());
    let catalog = inspect_database(&engine, &database).await;
    let plan = engine.plan_database(&spec, &catalog).unwrap();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.drift.len(), 2);
    assert!(plan.drift.iter().all(|drift| !drift.correctable));
    engine.close().await;
    drop_database(&database);
}

#[tokio::test]
async fn dropping_a_database_with_open_connections_succeeds() {
    let engine = engine().await;
    let database = unique("dbdrop");
    let mut spec = DatabaseSpec::new(name(&database));
    spec.postgres.schemas = vec![PgSchema {
        name: name("s"),
        owner: None,
    }];
    ensure_database(&engine, &spec).await;
    // Our own cached pool into it (from the inside read) and a foreign session.
    inspect_database(&engine, &database).await;
    let server = crate::common::server();
    let mut foreign = sqlx::postgres::PgConnection::connect_with(
        &dbprov_postgres::connect_options(&server.admin_connection(), &database).unwrap(),
    )
    .await
    .expect("a foreign session");
    use sqlx::Connection as _;
    sqlx::query("SELECT 1").execute(&mut foreign).await.unwrap();

    let catalog = inspect_database(&engine, &database).await;
    let plan = engine.plan_drop_database(&name(&database), &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&database)
        )]
    );
    apply(&engine, &plan).await;
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{database}'")
        ),
        "0"
    );
    assert!(
        sqlx::query("SELECT 1").execute(&mut foreign).await.is_err(),
        "the foreign session was ended"
    );
    // Dropping again is a no-op plan.
    let catalog = inspect_database(&engine, &database).await;
    assert!(
        engine
            .plan_drop_database(&name(&database), &catalog)
            .unwrap()
            .is_empty()
    );
    engine.close().await;
}

#[tokio::test]
async fn a_failing_batch_is_rolled_back_and_reported_with_its_statement() {
    let engine = engine().await;
    let database = unique("dbfail");
    ensure_database(&engine, &DatabaseSpec::new(name(&database))).await;
    let mut spec = DatabaseSpec::new(name(&database));
    spec.postgres.schemas = vec![PgSchema {
        name: name("first"),
        owner: None,
    }];
    spec.postgres.extensions = vec![PgExtension {
        name: name("no_such_extension_x"),
        schema: None,
        version: None,
    }];
    let catalog = inspect_database(&engine, &database).await;
    let plan = engine.plan_database(&spec, &catalog).unwrap();
    assert_eq!(plan.steps.len(), 2);
    let error = engine.apply(&plan).await.unwrap_err();
    match &error {
        EngineError::Apply { statement, .. } => {
            assert_eq!(
                statement,
                "CREATE EXTENSION IF NOT EXISTS \"no_such_extension_x\""
            );
        }
        other => panic!("expected an apply error, got {}", other.chain()),
    }
    assert_eq!(error.kind(), "ApplyFailed");
    assert!(error.chain().contains("no_such_extension_x"), "{}", error.chain());
    assert_eq!(
        psql(
            &database,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'first'"
        ),
        "0",
        "the schema created in the same transaction was rolled back"
    );
    engine.close().await;
    drop_database(&database);
}

#[tokio::test]
async fn inspecting_many_databases_costs_a_constant_number_of_queries() {
    let engine = engine().await;
    let databases: Vec<String> = (0..4).map(|_| unique("dbmany")).collect();
    for database in &databases {
        ensure_database(&engine, &DatabaseSpec::new(name(database))).await;
    }
    let mut request = CatalogRequest::default();
    for database in &databases {
        request = request.database(name(database), false);
    }
    request = request.database(name("missing_database_x"), false);
    let catalog = engine.inspect(&request).await.unwrap();
    assert_eq!(catalog.databases.len(), 4);
    assert_eq!(catalog.queries, 1);
    let mut inside = CatalogRequest::default();
    for database in &databases {
        inside = inside.database(name(database), true);
    }
    assert_eq!(engine.inspect(&inside).await.unwrap().queries, 1 + 2 * 4);
    // Reading inside a database does not leave an idle session behind in each of them.
    let in_list = databases
        .iter()
        .map(|database| format!("'{database}'"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT count(*) FROM pg_stat_activity WHERE datname IN ({in_list})")
        ),
        "0"
    );
    engine.close().await;
    for database in &databases {
        drop_database(database);
    }
}

#[tokio::test]
async fn names_longer_than_63_bytes_are_rejected_before_any_sql() {
    let engine = engine().await;
    let long = format!("{}_{}", unique("dblong"), "x".repeat(200));
    let error = engine
        .inspect(&CatalogRequest::default().database(name(&long), false))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), "InvalidName", "{}", error.chain());
    let error = engine
        .plan_database(&DatabaseSpec::new(name(&long)), &Default::default())
        .unwrap_err();
    assert!(matches!(error, EngineError::InvalidName(_)));
    assert!(
        error.to_string().contains("the limit on PostgreSQL is 63"),
        "{error}"
    );
    // 63 bytes of multi-byte characters is fine; 64 is not.
    let fits = format!("{}{}", "é".repeat(31), "x");
    assert_eq!(fits.len(), 63);
    assert!(
        engine
            .plan_database(&DatabaseSpec::new(name(&fits)), &Default::default())
            .is_ok()
    );
    let too_long = "é".repeat(32);
    assert!(
        engine
            .plan_database(&DatabaseSpec::new(name(&too_long)), &Default::default())
            .is_err()
    );
    engine.close().await;
}
