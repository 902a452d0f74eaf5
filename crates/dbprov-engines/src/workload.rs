//! The provisioning workload of the benchmarks (issue 2 and the CLI's issue 3): N databases, each with one
//! user and one grant, applied the way the reconcilers do (one batched inspection per kind), re-planned with no
//! change, dropped, and fed as plain SQL to `psql` / `mariadb` for the baseline. Only built with the `bench`
//! feature.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dbprov_core::model::{
    CatalogRequest, DatabaseSpec, GrantSpec, MySqlPrivilegeSet, PasswordSpec, RoleSpec,
};
use dbprov_core::model::{DropRoleOptions, MySqlGrants, MySqlPrivilege, PgGrants, PgPrivilege};
use dbprov_core::{Engine, EngineKind, Name, NameKind, Plan, Secret};
use dbprov_testkit::ServerAddress;

/// The password of bench user `index` (also what the CLI benchmark's manifests use).
pub fn password(index: usize) -> String {
    format!("Bench-password-{index:04}-x9")
}

pub struct Objects {
    pub databases: Vec<DatabaseSpec>,
    pub users: Vec<RoleSpec>,
    pub grants: Vec<GrantSpec>,
}

pub fn objects(kind: EngineKind, count: usize) -> Objects {
    let name = |kind: NameKind, value: String| Name::parse(kind, value).expect("bench names are valid");
    let mut objects = Objects {
        databases: vec![],
        users: vec![],
        grants: vec![],
    };
    for index in 0..count {
        let database = name(NameKind::Database, format!("bench_db_{index:04}"));
        let user = name(NameKind::User, format!("bench_user_{index:04}"));
        objects.databases.push(DatabaseSpec::new(database.clone()));
        let mut role = RoleSpec::user(user.clone());
        role.password = Some(PasswordSpec::new(Secret::new(format!(
            "Bench-password-{index:04}-x9"
        ))));
        objects.users.push(role);
        let mut grant = GrantSpec {
            grantee: user,
            database,
            postgres: PgGrants::default(),
            mysql: MySqlGrants::default(),
        };
        if kind == EngineKind::Postgres {
            grant.postgres.database = vec![PgPrivilege::Connect, PgPrivilege::Create, PgPrivilege::Temporary];
        } else {
            grant.mysql.database = MySqlPrivilegeSet {
                privileges: vec![
                    MySqlPrivilege::Select,
                    MySqlPrivilege::Insert,
                    MySqlPrivilege::Update,
                    MySqlPrivilege::Delete,
                ],
                with_grant_option: false,
            };
        }
        objects.grants.push(grant);
    }
    objects
}

pub fn request(objects: &Objects) -> CatalogRequest {
    let mut request = CatalogRequest::default();
    for database in &objects.databases {
        request = request.database(database.name.clone(), false);
    }
    for user in &objects.users {
        request = request.role(user.name.clone());
    }
    for grant in &objects.grants {
        request = request.grant_database_level(grant.grantee.clone(), grant.database.clone());
    }
    request
}

/// Applies everything the way the reconcilers do: one batched inspection per kind, then plan and apply each
/// object. Returns the SQL that ran (with secrets: it feeds the baseline) and the query count.
pub async fn apply_all(engine: &dyn Engine, objects: &Objects) -> (Vec<String>, u32) {
    let mut executed = Vec::new();
    let mut queries = 0;
    let run = |plan: Plan, executed: &mut Vec<String>| {
        for step in &plan.steps {
            executed.push(
                step.statement()
                    .expect("no file steps on servers")
                    .sql()
                    .to_owned(),
            );
        }
        plan
    };
    let databases = CatalogRequest {
        databases: request(objects).databases,
        ..Default::default()
    };
    let catalog = engine.inspect(&databases).await.expect("inspect databases");
    queries += catalog.queries;
    for spec in &objects.databases {
        let plan = run(
            engine.plan_database(spec, &catalog).expect("plan database"),
            &mut executed,
        );
        engine.apply(&plan).await.expect("apply database");
    }
    let roles = CatalogRequest {
        roles: request(objects).roles,
        ..Default::default()
    };
    let catalog = engine.inspect(&roles).await.expect("inspect roles");
    queries += catalog.queries;
    for spec in &objects.users {
        let plan = run(
            engine.plan_role(spec, &catalog).expect("plan role"),
            &mut executed,
        );
        engine.apply(&plan).await.expect("apply role");
    }
    let all = request(objects);
    let grants = CatalogRequest {
        grants: all.grants,
        database_level_grants: all.database_level_grants,
        ..Default::default()
    };
    let catalog = engine.inspect(&grants).await.expect("inspect grants");
    queries += catalog.queries;
    for spec in &objects.grants {
        let plan = run(
            engine.plan_grants(spec, &catalog).expect("plan grants"),
            &mut executed,
        );
        engine.apply(&plan).await.expect("apply grants");
    }
    (executed, queries)
}

/// A no-change plan of everything: one batched inspection, then plan each object (nothing may be pending).
pub async fn plan_all(engine: &dyn Engine, objects: &Objects) -> u32 {
    let catalog = engine.inspect(&request(objects)).await.expect("inspect all");
    let mut pending = 0;
    for spec in &objects.databases {
        pending += engine.plan_database(spec, &catalog).expect("plan").steps.len();
    }
    for spec in &objects.users {
        pending += engine.plan_role(spec, &catalog).expect("plan").steps.len();
    }
    for spec in &objects.grants {
        pending += engine.plan_grants(spec, &catalog).expect("plan").steps.len();
    }
    assert_eq!(pending, 0, "a second plan must be empty");
    catalog.queries
}

pub async fn drop_all(engine: &dyn Engine, objects: &Objects) {
    // Databases first: PostgreSQL refuses to drop a role that still holds privileges on one.
    let catalog = engine.inspect(&request(objects)).await.expect("inspect for drop");
    for database in &objects.databases {
        let plan = engine
            .plan_drop_database(&database.name, &catalog)
            .expect("plan drop database");
        engine.apply(&plan).await.expect("drop database");
    }
    let catalog = engine.inspect(&request(objects)).await.expect("inspect for drop");
    for user in &objects.users {
        let plan = engine
            .plan_drop_role(&user.name, &DropRoleOptions::default(), &catalog)
            .expect("plan drop role");
        engine.apply(&plan).await.expect("drop role");
    }
}

pub fn baseline(kind: EngineKind, address: &ServerAddress, statements: &[String]) -> Duration {
    let mut script = tempfile::NamedTempFile::new().expect("temporary SQL file");
    for statement in statements {
        writeln!(script, "{statement};").expect("write the SQL file");
    }
    script.flush().expect("flush the SQL file");
    let started = Instant::now();
    let status = match kind {
        EngineKind::Postgres => Command::new(address.bin_dir.join("psql"))
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                &address.host,
                "-p",
                &address.port.to_string(),
            ])
            .args(["-U", &address.admin_user, "-d", "postgres", "-f"])
            .arg(script.path())
            .env("PGPASSWORD", &address.admin_password)
            .env("PGSSLMODE", "disable")
            .stdout(Stdio::null())
            .status(),
        _ => Command::new(address.bin_dir.join("mariadb"))
            .args([
                "--no-defaults",
                "--protocol=TCP",
                "-h",
                &address.host,
                "-P",
                &address.port.to_string(),
            ])
            .args(["-u", &address.admin_user, "--skip-ssl"])
            .env("MYSQL_PWD", &address.admin_password)
            .stdin(std::fs::File::open(script.path()).expect("open the SQL file"))
            .stdout(Stdio::null())
            .status(),
    }
    .expect("run the command-line client");
    assert!(status.success(), "the baseline client failed");
    started.elapsed()
}
