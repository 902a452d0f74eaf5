//! The `NO_BACKSLASH_ESCAPES` case on the real server: sessions are put in that mode through the private
//! session setup (changing the shared server's global `sql_mode` would disturb parallel tests).

use dbprov_core::model::{
    CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, MySqlGrants, MySqlPrivilege, MySqlPrivilegeSet,
    MySqlTlsRequirement, PasswordSpec, PgGrants, RoleSpec,
};
use dbprov_core::{Engine, EngineKind, MySqlStringMode, Name, NameKind, Secret};

use super::MySqlEngine;

const NO_BACKSLASH_ESCAPES: &str =
    "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')";

fn name(kind: NameKind, value: &str) -> Name {
    Name::parse(kind, value).expect("a valid name")
}

async fn converge_role(engine: &MySqlEngine, spec: &RoleSpec) {
    let request = CatalogRequest::default().role(spec.name.clone());
    let plan = engine
        .plan_role(spec, &engine.inspect(&request).await.unwrap())
        .unwrap();
    engine
        .apply(&plan)
        .await
        .unwrap_or_else(|error| panic!("{}", error.chain()));
    let again = engine
        .plan_role(spec, &engine.inspect(&request).await.unwrap())
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn literals_are_written_for_a_no_backslash_escapes_session() {
    let server = dbprov_testkit::mariadb();
    let engine = MySqlEngine::connect_with_session(
        &server.admin_connection(),
        EngineKind::MariaDb,
        Some(NO_BACKSLASH_ESCAPES),
    )
    .await
    .unwrap_or_else(|error| panic!("connect: {}", error.chain()));
    assert_eq!(engine.facts().string_mode, MySqlStringMode::NoBackslashEscapes);
    let mode: String = sqlx::query_scalar("SELECT @@SESSION.sql_mode")
        .fetch_one(engine.pool())
        .await
        .unwrap();
    assert!(mode.contains("NO_BACKSLASH_ESCAPES"), "{mode}");

    // A backslash before a quote would end the literal early if it were written for the default mode.
    let subject = "/CN=a\\' OR 1=1 -- \\";
    let user = dbprov_testkit::unique_name("nbe");
    let mut spec = RoleSpec::user(name(NameKind::User, &user));
    spec.password = Some(PasswordSpec::new(Secret::new("pw\\'")));
    spec.mysql.require = Some(MySqlTlsRequirement::Specified {
        issuer: None,
        subject: Some(subject.to_owned()),
        cipher: None,
    });
    converge_role(&engine, &spec).await;

    let stored = dbprov_testkit::mariadb_sql(
        server,
        &format!("SELECT JSON_VALUE(Priv, '$.x509_subject') FROM mysql.global_priv WHERE User = '{user}'"),
    );
    assert_eq!(stored.trim_end_matches('\n'), subject, "stored verbatim");

    // Database grant patterns escape with backslashes inside an identifier, which the mode does not touch.
    let database = format!("{user}_x\\y");
    let database_spec = DatabaseSpec::new(name(NameKind::Database, &database));
    let request = CatalogRequest::default().database(database_spec.name.clone(), false);
    let plan = engine
        .plan_database(&database_spec, &engine.inspect(&request).await.unwrap())
        .unwrap();
    engine.apply(&plan).await.unwrap();
    let grants = GrantSpec {
        grantee: spec.name.clone(),
        database: database_spec.name.clone(),
        postgres: PgGrants::default(),
        mysql: MySqlGrants {
            database: MySqlPrivilegeSet {
                privileges: vec![MySqlPrivilege::Select],
                with_grant_option: false,
            },
            ..MySqlGrants::default()
        },
    };
    let request = CatalogRequest::default().grant(grants.grantee.clone(), grants.database.clone());
    let plan = engine
        .plan_grants(&grants, &engine.inspect(&request).await.unwrap())
        .unwrap();
    assert_eq!(plan.steps.len(), 1);
    engine
        .apply(&plan)
        .await
        .unwrap_or_else(|error| panic!("{}", error.chain()));
    let again = engine
        .plan_grants(&grants, &engine.inspect(&request).await.unwrap())
        .unwrap();
    assert!(again.is_empty(), "{again:?}");

    // Clean up.
    let catalog = engine
        .inspect(
            &CatalogRequest::default()
                .role(spec.name.clone())
                .database(database_spec.name.clone(), false),
        )
        .await
        .unwrap();
    let plan = engine
        .plan_drop_role(&spec.name, &DropRoleOptions::default(), &catalog)
        .unwrap();
    engine.apply(&plan).await.unwrap();
    let plan = engine.plan_drop_database(&database_spec.name, &catalog).unwrap();
    engine.apply(&plan).await.unwrap();
    engine.close().await;
}
