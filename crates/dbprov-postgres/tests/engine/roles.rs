//! Roles: attributes round trip, one change → one statement, SCRAM passwords, and drop policies.

use std::collections::{BTreeMap, BTreeSet};

use dbprov_core::error::ConnectFailure;
use dbprov_core::model::{
    DatabaseSpec, DropRoleOptions, OwnedObjectsPolicy, PasswordSpec, PasswordState, RoleSpec,
};
use dbprov_core::{ConnectionSpec, Engine, EngineError, Plan, Secret};
use dbprov_postgres::PgEngine;

use crate::common::{
    apply, drop_database, drop_roles, engine, ensure_database, ensure_role, inspect_role, name, psql, server,
    unique,
};

fn full_spec(role: &str, parent: &str) -> RoleSpec {
    let mut spec = RoleSpec::user(name(role));
    let pg = &mut spec.postgres;
    pg.superuser = Some(false);
    pg.createdb = Some(true);
    pg.createrole = Some(true);
    pg.inherit = Some(false);
    pg.replication = Some(true);
    pg.bypassrls = Some(true);
    pg.connection_limit = Some(3);
    pg.valid_until = Some("2031-02-03T04:05:06Z".into());
    pg.member_of = Some([name(parent)].into());
    pg.config = Some(BTreeMap::from([
        ("statement_timeout".to_owned(), "5s".to_owned()),
        ("search_path".to_owned(), "\"$user\", public".to_owned()),
    ]));
    spec
}

async fn replan(engine: &PgEngine, spec: &RoleSpec) -> Plan {
    let catalog = inspect_role(engine, spec.name.as_str()).await;
    engine.plan_role(spec, &catalog).expect("plan the role")
}

/// Connects as `role` with `password`: whether the server accepts the password.
async fn login(role: &str, password: &str) -> Result<(), ConnectFailure> {
    let spec = ConnectionSpec::tcp(server().host.clone(), server().port)
        .with_credentials(role, Some(Secret::new(password)));
    match PgEngine::connect(&spec).await {
        Ok(engine) => {
            engine.close().await;
            Ok(())
        }
        Err(EngineError::Connect { failure, .. }) => Err(failure),
        Err(other) => panic!("unexpected error: {}", other.chain()),
    }
}

#[tokio::test]
async fn create_then_inspect_round_trips_every_attribute() {
    let engine = engine().await;
    let role = unique("roleround");
    let parent = unique("roleparent");
    ensure_role(&engine, &RoleSpec::group(name(&parent))).await;
    let spec = full_spec(&role, &parent);
    let plan = ensure_role(&engine, &spec).await;
    assert_eq!(plan.steps.len(), 1 + 1 + 2, "{:?}", plan.statements());

    let catalog = inspect_role(&engine, &role).await;
    let state = catalog.role(&name(&role)).expect("the role exists");
    assert!(state.login);
    assert_eq!(state.password, PasswordState::None);
    let pg = state.postgres.as_ref().unwrap();
    assert!(!pg.superuser && pg.createdb && pg.createrole && !pg.inherit && pg.replication && pg.bypassrls);
    assert_eq!(pg.connection_limit, 3);
    assert_eq!(pg.valid_until.as_deref(), Some("2031-02-03T04:05:06.000000Z"));
    assert_eq!(pg.member_of, BTreeSet::from([parent.clone()]));
    assert_eq!(pg.config.get("statement_timeout").map(String::as_str), Some("5s"));
    assert_eq!(
        pg.config.get("search_path").map(String::as_str),
        Some("\"$user\", public")
    );

    // Independently, through psql.
    let row = psql(
        "postgres",
        &format!(
            "SELECT rolcanlogin || '|' || rolsuper || '|' || rolcreatedb || '|' || rolcreaterole || '|' || rolinherit \
             || '|' || rolreplication || '|' || rolbypassrls || '|' || rolconnlimit || '|' || \
             to_char(rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '|' || \
             array_to_string(rolconfig, ';') FROM pg_roles WHERE rolname = '{role}'"
        ),
    );
    assert_eq!(
        row,
        "true|false|true|true|false|true|true|3|2031-02-03 04:05:06|search_path=\"$user\", public;statement_timeout=5s"
    );
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT roleid::regrole FROM pg_auth_members WHERE member = '{role}'::regrole")
        ),
        parent
    );
    assert!(
        replan(&engine, &spec).await.is_empty(),
        "an unchanged role plans nothing"
    );

    // A superuser round trips too.
    let admin = unique("rolesuper");
    let mut superuser = RoleSpec::user(name(&admin));
    superuser.postgres.superuser = Some(true);
    ensure_role(&engine, &superuser).await;
    assert_eq!(
        psql(
            "postgres",
            &format!("SELECT rolsuper FROM pg_roles WHERE rolname = '{admin}'")
        ),
        "t"
    );
    assert!(replan(&engine, &superuser).await.is_empty());
    engine.close().await;
    drop_roles(&[&role, &parent, &admin]);
}

#[tokio::test]
async fn each_changed_attribute_plans_exactly_one_statement() {
    let engine = engine().await;
    let role = unique("rolechange");
    let parent = unique("rolep1");
    let other = unique("rolep2");
    for group in [&parent, &other] {
        ensure_role(&engine, &RoleSpec::group(name(group))).await;
    }
    let mut spec = full_spec(&role, &parent);
    ensure_role(&engine, &spec).await;
    let query = |column: &str| format!("SELECT {column} FROM pg_roles WHERE rolname = '{role}'");
    type Change = Box<dyn Fn(&mut RoleSpec)>;
    let changes: Vec<(Change, String)> = vec![
        (Box::new(|spec| spec.login = false), query("rolcanlogin")),
        (
            Box::new(|spec| spec.postgres.superuser = Some(true)),
            query("rolsuper"),
        ),
        (
            Box::new(|spec| spec.postgres.createdb = Some(false)),
            query("rolcreatedb"),
        ),
        (
            Box::new(|spec| spec.postgres.createrole = Some(false)),
            query("rolcreaterole"),
        ),
        (
            Box::new(|spec| spec.postgres.inherit = Some(true)),
            query("rolinherit"),
        ),
        (
            Box::new(|spec| spec.postgres.replication = Some(false)),
            query("rolreplication"),
        ),
        (
            Box::new(|spec| spec.postgres.bypassrls = Some(false)),
            query("rolbypassrls"),
        ),
        (
            Box::new(|spec| spec.postgres.connection_limit = Some(-1)),
            query("rolconnlimit"),
        ),
        (
            Box::new(|spec| spec.postgres.valid_until = Some("infinity".into())),
            query("rolvaliduntil"),
        ),
        (
            Box::new({
                let other = other.clone();
                move |spec| {
                    spec.postgres.member_of.as_mut().unwrap().insert(name(&other));
                }
            }),
            format!("SELECT count(*) FROM pg_auth_members WHERE member = '{role}'::regrole"),
        ),
        (
            Box::new({
                let parent = parent.clone();
                move |spec| {
                    spec.postgres.member_of.as_mut().unwrap().remove(&name(&parent));
                }
            }),
            format!(
                "SELECT string_agg(roleid::regrole::text, ',') FROM pg_auth_members WHERE member = '{role}'::regrole"
            ),
        ),
        (
            Box::new(|spec| {
                spec.postgres
                    .config
                    .as_mut()
                    .unwrap()
                    .insert("work_mem".into(), "64MB".into());
            }),
            query("rolconfig"),
        ),
        (
            Box::new(|spec| {
                spec.postgres.config.as_mut().unwrap().remove("statement_timeout");
            }),
            query("rolconfig"),
        ),
        (
            Box::new(|spec| {
                spec.postgres
                    .config
                    .as_mut()
                    .unwrap()
                    .insert("search_path".into(), "app, public".into());
            }),
            query("rolconfig"),
        ),
    ];
    for (change, check) in changes {
        let before = psql("postgres", &check);
        change(&mut spec);
        let plan = replan(&engine, &spec).await;
        assert_eq!(plan.steps.len(), 1, "{check}: {:?}", plan.statements());
        apply(&engine, &plan).await;
        assert_ne!(
            before,
            psql("postgres", &check),
            "{:?} changed nothing",
            plan.statements()
        );
        assert!(
            replan(&engine, &spec).await.is_empty(),
            "replan after {:?}",
            plan.statements()
        );
    }
    engine.close().await;
    drop_roles(&[&role, &parent, &other]);
}

#[tokio::test]
async fn passwords_are_sent_as_scram_verifiers_checked_and_rotated() {
    let engine = engine().await;
    let role = unique("rolepw");
    let first = "first-Pa55word-that-must-not-leak";
    let mut spec = RoleSpec::user(name(&role));
    spec.password = Some(PasswordSpec::new(Secret::new(first)));
    let plan = replan(&engine, &spec).await;
    let rendered = format!("{plan:?} {:?} {}", plan.statements(), serde_json_free(&plan));
    assert!(
        !rendered.contains(first),
        "the plan must not contain the password: {rendered}"
    );
    assert!(plan.statements()[0].contains("PASSWORD '<redacted>'"));
    let report = apply(&engine, &plan).await;
    assert!(!format!("{report:?}").contains(first));

    let stored = psql(
        "postgres",
        &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"),
    );
    assert!(stored.starts_with("SCRAM-SHA-256$"), "{stored}");
    assert!(!stored.contains(first));
    assert_eq!(login(&role, first).await, Ok(()));
    assert!(
        replan(&engine, &spec).await.is_empty(),
        "the stored verifier matches: nothing to do"
    );

    // Rotation: one statement, the old password stops working, the new one works.
    let second = "second-Pa55word";
    spec.password = Some(PasswordSpec::new(Secret::new(second)));
    let plan = replan(&engine, &spec).await;
    assert_eq!(
        plan.statements(),
        vec![format!("ALTER ROLE \"{role}\" WITH PASSWORD '<redacted>'")]
    );
    assert_eq!(plan.drift[0].declared, "<redacted>");
    assert_eq!(plan.drift[0].actual, "<redacted>");
    apply(&engine, &plan).await;
    assert_eq!(login(&role, first).await, Err(ConnectFailure::Authentication));
    assert_eq!(login(&role, second).await, Ok(()));
    assert!(replan(&engine, &spec).await.is_empty());

    // A password stored as an md5 verifier (by an older setup) is recognised as the same password.
    psql(
        "postgres",
        &format!("SET password_encryption = 'md5'; ALTER ROLE \"{role}\" PASSWORD '{second}'"),
    );
    assert!(
        psql(
            "postgres",
            &format!("SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")
        )
        .starts_with("md5")
    );
    assert!(replan(&engine, &spec).await.is_empty());
    // And one the server computed itself (its own salt) is checked by recomputing it too.
    psql(
        "postgres",
        &format!("SET password_encryption = 'scram-sha-256'; ALTER ROLE \"{role}\" PASSWORD '{second}'"),
    );
    assert!(replan(&engine, &spec).await.is_empty());
    spec.password = Some(PasswordSpec::new(Secret::new(first)));
    assert_eq!(replan(&engine, &spec).await.steps.len(), 1);
    engine.close().await;
    drop_roles(&[&role]);
}

/// Every rendering of a plan meant for people (the plan is serializable for `--output json`).
fn serde_json_free(plan: &Plan) -> String {
    plan.steps
        .iter()
        .map(|step| format!("{} {}", step.summary, step.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn an_admin_without_superuser_sees_passwords_as_unverifiable() {
    let engine = engine().await;
    let admin = unique("roleadm");
    let target = unique("roletgt");
    let admin_password = "adm-Pa55";
    psql(
        "postgres",
        &format!("CREATE ROLE \"{admin}\" LOGIN CREATEROLE PASSWORD '{admin_password}'"),
    );
    let mut spec = RoleSpec::user(name(&target));
    spec.password = Some(PasswordSpec::new(Secret::new("target-pw")));
    ensure_role(&engine, &spec).await;

    let limited = PgEngine::connect(
        &ConnectionSpec::tcp(server().host.clone(), server().port)
            .with_credentials(&admin, Some(Secret::new(admin_password))),
    )
    .await
    .unwrap_or_else(|error| panic!("{}", error.chain()));
    let catalog = inspect_role(&limited, &target).await;
    assert_eq!(
        catalog.role(&name(&target)).unwrap().password,
        PasswordState::Unverifiable
    );
    spec.password.as_mut().unwrap().set_when_unverifiable = false;
    assert!(limited.plan_role(&spec, &catalog).unwrap().is_empty());
    spec.password.as_mut().unwrap().set_when_unverifiable = true;
    assert_eq!(limited.plan_role(&spec, &catalog).unwrap().steps.len(), 1);
    limited.close().await;
    engine.close().await;
    drop_roles(&[&target, &admin]);
}

/// A role that owns a table in `objects_db`, holds a privilege in `privilege_db`, and owns `owned_db`.
struct Owner {
    role: String,
    objects_db: String,
    privilege_db: String,
    owned_db: String,
}

async fn owner_with_objects(engine: &PgEngine, with_owned_database: bool) -> Owner {
    let owner = Owner {
        role: unique("roleold"),
        objects_db: unique("rdobj"),
        privilege_db: unique("rdpriv"),
        owned_db: unique("rdown"),
    };
    ensure_role(engine, &RoleSpec::group(name(&owner.role))).await;
    for database in [&owner.objects_db, &owner.privilege_db] {
        ensure_database(engine, &DatabaseSpec::new(name(database))).await;
    }
    psql(
        &owner.objects_db,
        &format!(
            "CREATE TABLE owned_t (id int); ALTER TABLE owned_t OWNER TO \"{}\"",
            owner.role
        ),
    );
    psql(
        &owner.privilege_db,
        &format!(
            "CREATE TABLE shared_t (id int); GRANT SELECT ON shared_t TO \"{}\"",
            owner.role
        ),
    );
    if with_owned_database {
        let mut owned = DatabaseSpec::new(name(&owner.owned_db));
        owned.owner = Some(name(&owner.role));
        ensure_database(engine, &owned).await;
    }
    owner
}

async fn plan_drop(engine: &PgEngine, role: &str, policy: OwnedObjectsPolicy) -> Result<Plan, EngineError> {
    let catalog = inspect_role(engine, role).await;
    engine.plan_drop_role(
        &name(role),
        &DropRoleOptions {
            owned_objects: policy,
        },
        &catalog,
    )
}

fn role_exists(role: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"),
    ) == "1"
}

#[tokio::test]
async fn drop_role_refuses_by_default_naming_where_it_owns_things() {
    let engine = engine().await;
    let owner = owner_with_objects(&engine, true).await;
    let catalog = inspect_role(&engine, &owner.role).await;
    let pg = catalog
        .role(&name(&owner.role))
        .unwrap()
        .postgres
        .clone()
        .unwrap();
    assert_eq!(
        pg.dependent_databases,
        BTreeSet::from([owner.objects_db.clone(), owner.privilege_db.clone()])
    );
    assert_eq!(pg.owned_databases, BTreeSet::from([owner.owned_db.clone()]));

    let error = plan_drop(&engine, &owner.role, OwnedObjectsPolicy::Fail)
        .await
        .unwrap_err();
    let message = error.to_string();
    for database in [&owner.objects_db, &owner.privilege_db, &owner.owned_db] {
        assert!(
            message.contains(database.as_str()),
            "{message} should name {database}"
        );
    }
    assert_eq!(error.kind(), "InvalidSpec");
    // `Drop` cannot remove whole databases and says what to do instead.
    let error = plan_drop(&engine, &owner.role, OwnedObjectsPolicy::Drop)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("reassign"), "{error}");
    assert!(role_exists(&owner.role));
    engine.close().await;
    for database in [&owner.objects_db, &owner.privilege_db, &owner.owned_db] {
        drop_database(database);
    }
    drop_roles(&[&owner.role]);
}

#[tokio::test]
async fn drop_role_with_reassign_hands_everything_over() {
    let engine = engine().await;
    let owner = owner_with_objects(&engine, true).await;
    let heir = unique("roleheir");
    ensure_role(&engine, &RoleSpec::group(name(&heir))).await;
    let plan = plan_drop(
        &engine,
        &owner.role,
        OwnedObjectsPolicy::Reassign {
            new_owner: name(&heir),
        },
    )
    .await
    .unwrap();
    apply(&engine, &plan).await;
    assert!(!role_exists(&owner.role));
    assert_eq!(
        psql(
            &owner.objects_db,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'owned_t'"
        ),
        heir
    );
    assert_eq!(
        psql(
            "postgres",
            &format!(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{}'",
                owner.owned_db
            )
        ),
        heir
    );
    assert!(
        plan_drop(&engine, &owner.role, OwnedObjectsPolicy::Fail)
            .await
            .unwrap()
            .is_empty()
    );
    engine.close().await;
    for database in [&owner.objects_db, &owner.privilege_db, &owner.owned_db] {
        drop_database(database);
    }
    drop_roles(&[&heir]);
}

#[tokio::test]
async fn drop_role_with_drop_removes_its_objects_and_privileges() {
    let engine = engine().await;
    let owner = owner_with_objects(&engine, false).await;
    // A privilege on a database (a shared object) must go too.
    psql(
        "postgres",
        &format!(
            "GRANT CONNECT ON DATABASE \"{}\" TO \"{}\"",
            owner.objects_db, owner.role
        ),
    );
    let plan = plan_drop(&engine, &owner.role, OwnedObjectsPolicy::Drop)
        .await
        .unwrap();
    assert_eq!(plan.steps.len(), 3, "{:?}", plan.statements());
    apply(&engine, &plan).await;
    assert!(!role_exists(&owner.role));
    assert_eq!(
        psql(
            &owner.objects_db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'owned_t'"
        ),
        "0"
    );
    assert_eq!(
        psql(
            &owner.privilege_db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'shared_t'"
        ),
        "1"
    );
    engine.close().await;
    for database in [&owner.objects_db, &owner.privilege_db] {
        drop_database(database);
    }
}
