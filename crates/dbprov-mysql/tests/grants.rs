//! Grants on the throwaway MariaDB at every level, compared with `SHOW GRANTS`.

mod common;

use common::{admin, apply, ident, inspect, literal, name, server, show_grants, sql};
use dbprov_core::model::{
    CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, MySqlColumnGrant, MySqlGrants, MySqlPrivilege,
    MySqlPrivilegeSet, MySqlRoutineGrant, MySqlRoutineKind, MySqlTableGrant, PasswordSpec, PgGrants,
    RoleSpec,
};
use dbprov_core::{Engine, EngineKind, NameKind, Secret};
use dbprov_mysql::MySqlEngine;
use dbprov_testkit::unique_name;

fn set(privileges: &[MySqlPrivilege], with_grant_option: bool) -> MySqlPrivilegeSet {
    MySqlPrivilegeSet {
        privileges: privileges.to_vec(),
        with_grant_option,
    }
}

fn grant_spec(grantee: &str, database: &str, mysql: MySqlGrants) -> GrantSpec {
    GrantSpec {
        grantee: name(NameKind::User, grantee),
        database: name(NameKind::Database, database),
        postgres: PgGrants::default(),
        mysql,
    }
}

async fn create_user(engine: &MySqlEngine, user: &str, password: &str) {
    let mut spec = RoleSpec::user(name(NameKind::User, user));
    spec.password = Some(PasswordSpec::new(Secret::new(password)));
    let catalog = inspect(engine, &CatalogRequest::default().role(spec.name.clone())).await;
    apply(engine, &engine.plan_role(&spec, &catalog).unwrap()).await;
}

async fn create_database(engine: &MySqlEngine, database: &str) {
    let spec = DatabaseSpec::new(name(NameKind::Database, database));
    let catalog = inspect(
        engine,
        &CatalogRequest::default().database(spec.name.clone(), false),
    )
    .await;
    apply(engine, &engine.plan_database(&spec, &catalog).unwrap()).await;
}

async fn drop_everything(engine: &MySqlEngine, role: &str, databases: &[&str]) {
    let mut request = CatalogRequest::default().role(name(NameKind::User, role));
    for database in databases {
        request = request.database(name(NameKind::Database, database), false);
    }
    let catalog = inspect(engine, &request).await;
    let plan = engine
        .plan_drop_role(&name(NameKind::User, role), &DropRoleOptions::default(), &catalog)
        .unwrap();
    apply(engine, &plan).await;
    for database in databases {
        let plan = engine
            .plan_drop_database(&name(NameKind::Database, database), &catalog)
            .unwrap();
        apply(engine, &plan).await;
    }
}

/// Plans, applies and checks that re-planning right after finds nothing to do.
async fn converge(engine: &MySqlEngine, spec: &GrantSpec) -> Vec<String> {
    let request = CatalogRequest::default().grant(spec.grantee.clone(), spec.database.clone());
    let plan = engine
        .plan_grants(spec, &inspect(engine, &request).await)
        .unwrap_or_else(|error| panic!("plan: {}", error.chain()));
    let executed = apply(engine, &plan).await;
    let again = engine
        .plan_grants(spec, &inspect(engine, &request).await)
        .unwrap();
    assert!(
        again.is_empty(),
        "re-planning after apply must be empty: {again:?}"
    );
    executed
}

#[tokio::test]
async fn grants_at_every_level_are_added_and_removed_by_editing_the_declaration() {
    let engine = admin().await;
    let user = unique_name("granted");
    let database = unique_name("grant_db");
    create_user(&engine, &user, "pw").await;
    create_database(&engine, &database).await;
    let db = ident(&database);
    sql(&format!(
        "CREATE TABLE {db}.`orders` (a INT, b INT); \
         CREATE PROCEDURE {db}.`refresh`() BEGIN END; \
         CREATE FUNCTION {db}.`total`() RETURNS INT RETURN 1"
    ));
    let table = |table: &str| name(NameKind::Table, table);
    let account = format!("{}@'%'", literal(&user));
    let escaped = database.replace('_', "\\_");

    let first = MySqlGrants {
        global: Some(set(&[MySqlPrivilege::Process], false)),
        database: set(&[MySqlPrivilege::Select, MySqlPrivilege::Insert], true),
        tables: vec![MySqlTableGrant {
            table: table("orders"),
            privileges: set(&[MySqlPrivilege::Delete], true),
        }],
        columns: vec![
            MySqlColumnGrant {
                table: table("orders"),
                columns: vec![name(NameKind::Column, "a"), name(NameKind::Column, "b")],
                privileges: vec![MySqlPrivilege::Update],
            },
            MySqlColumnGrant {
                table: table("orders"),
                columns: vec![name(NameKind::Column, "a")],
                privileges: vec![MySqlPrivilege::Select],
            },
        ],
        routines: vec![
            MySqlRoutineGrant {
                kind: MySqlRoutineKind::Procedure,
                name: name(NameKind::Function, "refresh"),
                privileges: set(&[MySqlPrivilege::Execute], true),
            },
            MySqlRoutineGrant {
                kind: MySqlRoutineKind::Function,
                name: name(NameKind::Function, "total"),
                privileges: set(&[MySqlPrivilege::Execute], false),
            },
        ],
    };
    converge(&engine, &grant_spec(&user, &database, first)).await;
    let grants = show_grants(&account);
    assert!(
        grants[0].starts_with(&format!("GRANT PROCESS ON *.* TO `{user}`@`%`")),
        "{grants:?}"
    );
    let expected = [
        format!("GRANT SELECT, INSERT ON `{escaped}`.* TO `{user}`@`%` WITH GRANT OPTION"),
        format!(
            "GRANT SELECT (`a`), UPDATE (`a`, `b`), DELETE ON `{database}`.`orders` TO `{user}`@`%` WITH GRANT OPTION"
        ),
        format!("GRANT EXECUTE ON PROCEDURE `{database}`.`refresh` TO `{user}`@`%` WITH GRANT OPTION"),
        format!("GRANT EXECUTE ON FUNCTION `{database}`.`total` TO `{user}`@`%`"),
    ];
    for line in &expected {
        assert!(grants.contains(line), "missing {line:?} in {grants:?}");
    }
    assert_eq!(grants.len(), 5, "{grants:?}");

    // Edit: drop the global privilege, the grant options, the table grant, a column and a routine.
    let second = MySqlGrants {
        global: Some(set(&[], false)),
        database: set(&[MySqlPrivilege::Select], false),
        tables: vec![],
        columns: vec![MySqlColumnGrant {
            table: table("orders"),
            columns: vec![name(NameKind::Column, "a")],
            privileges: vec![MySqlPrivilege::Select],
        }],
        routines: vec![MySqlRoutineGrant {
            kind: MySqlRoutineKind::Procedure,
            name: name(NameKind::Function, "refresh"),
            privileges: set(&[MySqlPrivilege::Execute], false),
        }],
    };
    converge(&engine, &grant_spec(&user, &database, second)).await;
    let grants = show_grants(&account);
    assert!(
        grants[0].starts_with(&format!("GRANT USAGE ON *.* TO `{user}`@`%`")),
        "{grants:?}"
    );
    for line in [
        format!("GRANT SELECT ON `{escaped}`.* TO `{user}`@`%`"),
        format!("GRANT SELECT (`a`) ON `{database}`.`orders` TO `{user}`@`%`"),
        format!("GRANT EXECUTE ON PROCEDURE `{database}`.`refresh` TO `{user}`@`%`"),
    ] {
        assert!(grants.contains(&line), "missing {line:?} in {grants:?}");
    }
    assert_eq!(grants.len(), 4, "{grants:?}");

    // An empty declaration revokes everything in the scope.
    converge(
        &engine,
        &grant_spec(
            &user,
            &database,
            MySqlGrants {
                global: Some(set(&[], false)),
                ..MySqlGrants::default()
            },
        ),
    )
    .await;
    let grants = show_grants(&account);
    assert_eq!(grants.len(), 1, "{grants:?}");

    drop_everything(&engine, &user, &[&database]).await;
}

#[tokio::test]
async fn a_database_grant_does_not_reach_a_look_alike_database() {
    let engine = admin().await;
    let user = unique_name("exact");
    let granted = format!("{}_a_b", unique_name("p"));
    let look_alike = granted.replace('_', "x");
    create_user(&engine, &user, "pw").await;
    for database in [&granted, &look_alike] {
        create_database(&engine, database).await;
        sql(&format!(
            "CREATE TABLE {}.`t` (v INT); INSERT INTO {}.`t` VALUES (1)",
            ident(database),
            ident(database)
        ));
    }
    converge(
        &engine,
        &grant_spec(
            &user,
            &granted,
            MySqlGrants {
                database: set(&[MySqlPrivilege::Select], false),
                ..MySqlGrants::default()
            },
        ),
    )
    .await;

    let mut spec = server()
        .admin_connection()
        .with_credentials(&user, Some(Secret::new("pw")));
    spec.max_connections = 1;
    let session = MySqlEngine::connect(&spec, EngineKind::MariaDb)
        .await
        .expect("login");
    let allowed = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT v FROM {}.`t`",
        ident(&granted)
    )))
    .fetch_all(session.pool())
    .await;
    assert!(allowed.is_ok(), "{allowed:?}");
    let denied = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT v FROM {}.`t`",
        ident(&look_alike)
    )))
    .fetch_all(session.pool())
    .await
    .expect_err("the look-alike database must not be readable");
    assert!(denied.to_string().contains("denied"), "{denied}");
    session.close().await;

    drop_everything(&engine, &user, &[&granted, &look_alike]).await;
}

#[tokio::test]
async fn roles_receive_grants_without_a_host() {
    let engine = admin().await;
    let role = unique_name("grole");
    let database = unique_name("rdb");
    let spec = RoleSpec::group(name(NameKind::Role, &role));
    let catalog = inspect(&engine, &CatalogRequest::default().role(spec.name.clone())).await;
    apply(&engine, &engine.plan_role(&spec, &catalog).unwrap()).await;
    create_database(&engine, &database).await;

    let executed = converge(
        &engine,
        &grant_spec(
            &role,
            &database,
            MySqlGrants {
                database: set(&[MySqlPrivilege::Select, MySqlPrivilege::DeleteHistory], false),
                ..MySqlGrants::default()
            },
        ),
    )
    .await;
    assert_eq!(
        executed,
        vec![format!(
            "GRANT DELETE HISTORY, SELECT ON `{}`.* TO `{role}`",
            database.replace('_', "\\_")
        )]
    );
    let grants = show_grants(&ident(&role));
    assert!(
        grants.contains(&format!(
            "GRANT SELECT, DELETE HISTORY ON `{}`.* TO `{role}`",
            database.replace('_', "\\_")
        )),
        "{grants:?}"
    );
    drop_everything(&engine, &role, &[&database]).await;
}

#[tokio::test]
async fn mariadb_admin_privileges_and_renamed_ones_converge() {
    let engine = admin().await;
    let user = unique_name("admin");
    let database = unique_name("adb");
    create_user(&engine, &user, "pw").await;
    let spec = grant_spec(
        &user,
        &database,
        MySqlGrants {
            global: Some(set(
                &[
                    MySqlPrivilege::ReplicationClient,
                    MySqlPrivilege::ReplicaMonitor,
                    MySqlPrivilege::ConnectionAdmin,
                    MySqlPrivilege::ReadOnlyAdmin,
                ],
                true,
            )),
            ..MySqlGrants::default()
        },
    );
    converge(&engine, &spec).await;
    let grants = show_grants(&format!("{}@'%'", literal(&user)));
    assert!(
        grants[0].starts_with(&format!(
            "GRANT BINLOG MONITOR, CONNECTION ADMIN, READ_ONLY ADMIN, SLAVE MONITOR ON *.* TO `{user}`@`%`"
        )),
        "{grants:?}"
    );
    assert!(grants[0].ends_with("WITH GRANT OPTION"), "{grants:?}");
    drop_everything(&engine, &user, &[]).await;
}
