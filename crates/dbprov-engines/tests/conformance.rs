//! The engine conformance suite: written once, run against PostgreSQL, MariaDB and SQLite through the registry.
//! Engine-specific behaviour is tested in each engine crate; this suite pins down what every engine promises.

use dbprov_core::model::{
    CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, GrantState, MySqlGrants, MySqlPrivilege,
    MySqlPrivilegeSet, PasswordSpec, PgGrants, PgPrivilege, RoleSpec,
};
use dbprov_core::{Capabilities, ConnectionSpec, Engine, EngineKind, ErrorCategory, Name, NameKind, Secret};

struct Target {
    kind: EngineKind,
    admin: ConnectionSpec,
    _directory: Option<tempfile::TempDir>,
}

impl Target {
    fn postgres() -> Self {
        Self {
            kind: EngineKind::Postgres,
            admin: dbprov_testkit::postgres().admin_connection(),
            _directory: None,
        }
    }

    fn mariadb() -> Self {
        Self {
            kind: EngineKind::MariaDb,
            admin: dbprov_testkit::mariadb().admin_connection(),
            _directory: None,
        }
    }

    fn sqlite() -> Self {
        let directory = dbprov_testkit::sqlite_dir();
        Self {
            kind: EngineKind::Sqlite,
            admin: ConnectionSpec::directory(directory.path()),
            _directory: Some(directory),
        }
    }

    async fn engine(&self) -> Box<dyn Engine> {
        dbprov_engines::connect(self.kind, &self.admin)
            .await
            .expect("connect as admin")
    }

    fn capabilities(&self) -> Capabilities {
        dbprov_engines::capabilities(self.kind)
    }

    /// The admin connection with other credentials (and the right database for PostgreSQL logins).
    fn login(&self, user: &str, password: &str) -> ConnectionSpec {
        let mut spec = self
            .admin
            .clone()
            .with_credentials(user, Some(Secret::new(password)));
        if self.kind == EngineKind::Postgres {
            spec = spec.with_database("postgres");
        }
        spec
    }
}

fn name(kind: NameKind, value: &str) -> Name {
    Name::parse(kind, value).expect("valid test name")
}

async fn converge_database(engine: &dyn Engine, spec: &DatabaseSpec) -> usize {
    let request = CatalogRequest::default().database(spec.name.clone(), true);
    let catalog = engine.inspect(&request).await.expect("inspect");
    let plan = engine.plan_database(spec, &catalog).expect("plan");
    engine.apply(&plan).await.expect("apply");
    plan.steps.len()
}

async fn database_exists(engine: &dyn Engine, database: &Name) -> bool {
    let catalog = engine
        .inspect(&CatalogRequest::default().database(database.clone(), false))
        .await
        .expect("inspect");
    catalog.database(database).is_some()
}

async fn drop_database(engine: &dyn Engine, database: &Name) -> usize {
    let catalog = engine
        .inspect(&CatalogRequest::default().database(database.clone(), false))
        .await
        .expect("inspect");
    let plan = engine.plan_drop_database(database, &catalog).expect("plan drop");
    engine.apply(&plan).await.expect("drop");
    plan.steps.len()
}

async fn database_lifecycle(target: Target) {
    let engine = target.engine().await;
    let database = name(NameKind::Database, &dbprov_testkit::unique_name("life"));
    let spec = DatabaseSpec::new(database.clone());
    assert!(!database_exists(engine.as_ref(), &database).await);
    assert!(
        converge_database(engine.as_ref(), &spec).await > 0,
        "creating plans statements"
    );
    assert!(database_exists(engine.as_ref(), &database).await);
    assert_eq!(
        converge_database(engine.as_ref(), &spec).await,
        0,
        "an unchanged database plans nothing"
    );
    assert_eq!(
        drop_database(engine.as_ref(), &database).await,
        1,
        "dropping is one step"
    );
    assert!(!database_exists(engine.as_ref(), &database).await);
    assert_eq!(
        drop_database(engine.as_ref(), &database).await,
        0,
        "dropping a missing database is a no-op"
    );
    engine.close().await;
}

async fn hostile_database_names(target: Target) {
    let engine = target.engine().await;
    let capabilities = target.capabilities();
    let suffix = dbprov_testkit::unique_name("h");
    let hostile = [
        format!("q'{suffix}"),
        format!("dq\"{suffix}"),
        format!("bt`{suffix}"),
        format!("bs\\{suffix}"),
        format!("pc%_{suffix}"),
        format!("ü☃ {suffix}"),
        format!("x'; DROP DATABASE {suffix}; --"),
        format!("{}{suffix}", "n".repeat(200)),
    ];
    for raw in &hostile {
        let database = name(NameKind::Database, raw);
        let spec = DatabaseSpec::new(database.clone());
        match capabilities
            .name_limits
            .check(capabilities.engine, NameKind::Database, raw)
        {
            Ok(()) => {
                converge_database(engine.as_ref(), &spec).await;
                assert!(
                    database_exists(engine.as_ref(), &database).await,
                    "{raw:?} must be created verbatim"
                );
                drop_database(engine.as_ref(), &database).await;
            }
            Err(_) => {
                let error = engine
                    .plan_database(&spec, &Default::default())
                    .expect_err("must be rejected");
                assert_eq!(error.category(), ErrorCategory::InvalidName, "{raw:?}: {error}");
            }
        }
    }
    engine.close().await;
}

async fn user_login_and_rotation(target: Target) {
    let engine = target.engine().await;
    let user = name(NameKind::User, &dbprov_testkit::unique_name("login"));
    let mut spec = RoleSpec::user(user.clone());
    spec.password = Some(PasswordSpec::new(Secret::new("first-Password-1")));
    if !target.capabilities().users {
        let error = engine
            .plan_role(&spec, &Default::default())
            .expect_err("users are unsupported");
        assert_eq!(error.category(), ErrorCategory::Unsupported);
        return;
    }
    let converge = |spec: RoleSpec| {
        let engine = engine.as_ref();
        async move {
            let catalog = engine
                .inspect(&CatalogRequest::default().role(spec.name.clone()))
                .await
                .expect("inspect");
            let plan = engine.plan_role(&spec, &catalog).expect("plan role");
            assert!(
                plan.statements().iter().all(|sql| !sql.contains("Password-")),
                "plans never show passwords"
            );
            engine.apply(&plan).await.expect("apply role");
            plan.steps.len()
        }
    };
    assert!(converge(spec.clone()).await > 0);
    assert_eq!(converge(spec.clone()).await, 0, "an unchanged user plans nothing");
    let login = dbprov_engines::connect(target.kind, &target.login(user.as_str(), "first-Password-1")).await;
    login.expect("the user logs in with its password").close().await;

    spec.password = Some(PasswordSpec::new(Secret::new("second-Password-2")));
    assert_eq!(
        converge(spec.clone()).await,
        1,
        "rotating a password is one statement"
    );
    let old = dbprov_engines::connect(target.kind, &target.login(user.as_str(), "first-Password-1")).await;
    assert_eq!(
        old.err().expect("the old password no longer works").category(),
        ErrorCategory::AuthenticationFailed
    );
    dbprov_engines::connect(target.kind, &target.login(user.as_str(), "second-Password-2"))
        .await
        .expect("the new password works")
        .close()
        .await;

    let catalog = engine
        .inspect(&CatalogRequest::default().role(user.clone()))
        .await
        .expect("inspect");
    let plan = engine
        .plan_drop_role(&user, &DropRoleOptions::default(), &catalog)
        .expect("plan drop");
    engine.apply(&plan).await.expect("drop user");
    engine.close().await;
}

async fn database_grants_follow_the_declaration(target: Target) {
    let engine = target.engine().await;
    let database = name(NameKind::Database, &dbprov_testkit::unique_name("grants"));
    let user = name(NameKind::User, &dbprov_testkit::unique_name("grantee"));
    let mut grant = GrantSpec {
        grantee: user.clone(),
        database: database.clone(),
        postgres: PgGrants::default(),
        mysql: MySqlGrants::default(),
    };
    if !target.capabilities().grants {
        let error = engine
            .plan_grants(&grant, &Default::default())
            .expect_err("grants are unsupported");
        assert_eq!(error.category(), ErrorCategory::Unsupported);
        return;
    }
    converge_database(engine.as_ref(), &DatabaseSpec::new(database.clone())).await;
    let mut role = RoleSpec::user(user.clone());
    role.password = Some(PasswordSpec::new(Secret::new("grantee-Password-1")));
    let catalog = engine
        .inspect(&CatalogRequest::default().role(user.clone()))
        .await
        .expect("inspect");
    engine
        .apply(&engine.plan_role(&role, &catalog).expect("plan user"))
        .await
        .expect("create user");

    let converge = |grant: GrantSpec| {
        let engine = engine.as_ref();
        async move {
            let request = CatalogRequest::default().grant(grant.grantee.clone(), grant.database.clone());
            let catalog = engine.inspect(&request).await.expect("inspect grants");
            let plan = engine.plan_grants(&grant, &catalog).expect("plan grants");
            engine.apply(&plan).await.expect("apply grants");
            plan.steps.len()
        }
    };
    let held = |grant: GrantSpec| {
        let engine = engine.as_ref();
        async move {
            let request = CatalogRequest::default().grant(grant.grantee.clone(), grant.database.clone());
            let catalog = engine.inspect(&request).await.expect("inspect grants");
            match catalog
                .grants_of(&grant.grantee, &grant.database)
                .expect("the scope was read")
            {
                GrantState::Postgres(state) => state.atoms.len(),
                GrantState::MySql(state) => state.atoms.len(),
            }
        }
    };
    let declare = |grant: &mut GrantSpec, two: bool| {
        if target.kind == EngineKind::Postgres {
            grant.postgres.database = if two {
                vec![PgPrivilege::Connect, PgPrivilege::Create]
            } else {
                vec![PgPrivilege::Connect]
            };
        } else {
            let privileges = if two {
                vec![MySqlPrivilege::Select, MySqlPrivilege::Insert]
            } else {
                vec![MySqlPrivilege::Select]
            };
            grant.mysql.database = MySqlPrivilegeSet {
                privileges,
                with_grant_option: false,
            };
        }
    };
    declare(&mut grant, true);
    assert!(converge(grant.clone()).await > 0);
    assert_eq!(held(grant.clone()).await, 2);
    assert_eq!(converge(grant.clone()).await, 0, "unchanged grants plan nothing");
    declare(&mut grant, false);
    assert_eq!(
        converge(grant.clone()).await,
        1,
        "removing one privilege is one REVOKE"
    );
    assert_eq!(held(grant.clone()).await, 1);

    // The database goes first: its privileges are what would keep PostgreSQL from dropping the role.
    drop_database(engine.as_ref(), &database).await;
    let catalog = engine
        .inspect(&CatalogRequest::default().role(user.clone()))
        .await
        .expect("inspect");
    engine
        .apply(
            &engine
                .plan_drop_role(&user, &DropRoleOptions::default(), &catalog)
                .expect("plan"),
        )
        .await
        .expect("drop user");
    engine.close().await;
}

macro_rules! conformance {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn database_lifecycle() {
                super::database_lifecycle(Target::$engine()).await
            }

            #[tokio::test]
            async fn hostile_database_names() {
                super::hostile_database_names(Target::$engine()).await
            }

            #[tokio::test]
            async fn user_login_and_rotation() {
                super::user_login_and_rotation(Target::$engine()).await
            }

            #[tokio::test]
            async fn database_grants_follow_the_declaration() {
                super::database_grants_follow_the_declaration(Target::$engine()).await
            }
        }
    };
}

conformance!(postgres);
conformance!(mariadb);
conformance!(sqlite);
