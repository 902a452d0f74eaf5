//! Users and roles on the throwaway MariaDB: every account attribute, passwords, roles, hostile names.

mod common;

use std::collections::BTreeSet;

use common::{admin, apply, inspect, literal, name, server, show_grants, sql};
use dbprov_core::error::ConnectFailure;
use dbprov_core::model::{
    CatalogRequest, DropRoleOptions, MySqlAccountState, MySqlTlsRequirement, PasswordSpec, RoleSpec,
};
use dbprov_core::{Engine, EngineError, EngineKind, NameKind, Secret, TlsMode, TlsSpec};
use dbprov_mysql::MySqlEngine;
use dbprov_testkit::unique_name;

fn request(role: &str) -> CatalogRequest {
    CatalogRequest::default().role(name(NameKind::User, role))
}

fn user_spec(user: &str, password: &str) -> RoleSpec {
    let mut spec = RoleSpec::user(name(NameKind::User, user));
    spec.password = Some(PasswordSpec::new(Secret::new(password)));
    spec
}

/// Plans and applies a role declaration, then checks that planning again finds nothing to do.
async fn converge(engine: &MySqlEngine, spec: &RoleSpec) -> Vec<String> {
    let catalog = inspect(engine, &request(spec.name.as_str())).await;
    let plan = engine
        .plan_role(spec, &catalog)
        .unwrap_or_else(|error| panic!("plan: {}", error.chain()));
    let executed = apply(engine, &plan).await;
    let catalog = inspect(engine, &request(spec.name.as_str())).await;
    let again = engine.plan_role(spec, &catalog).expect("plan again");
    assert!(
        again.is_empty(),
        "re-planning after apply must be empty: {again:?}"
    );
    executed
}

async fn drop_role(engine: &MySqlEngine, role: &str) {
    let catalog = inspect(engine, &request(role)).await;
    let plan = engine
        .plan_drop_role(&name(NameKind::User, role), &DropRoleOptions::default(), &catalog)
        .expect("plan drop");
    apply(engine, &plan).await;
    assert_eq!(
        sql(&format!(
            "SELECT COUNT(*) FROM mysql.global_priv WHERE User = {}",
            literal(role)
        ))
        .trim(),
        "0"
    );
}

async fn account(engine: &MySqlEngine, user: &str, host: &str) -> MySqlAccountState {
    let catalog = inspect(engine, &request(user)).await;
    let role = catalog
        .role(&name(NameKind::User, user))
        .expect("the user exists");
    role.mysql.as_ref().expect("MySQL state").accounts[host].clone()
}

async fn connect_as(user: &str, password: Option<&str>, tls: TlsSpec) -> Result<MySqlEngine, EngineError> {
    let mut spec = server()
        .admin_connection()
        .with_credentials(user, password.map(Secret::new))
        .with_tls(tls);
    spec.max_connections = 1;
    MySqlEngine::connect(&spec, EngineKind::MariaDb).await
}

fn connect_failure(error: &EngineError) -> ConnectFailure {
    match error {
        EngineError::Connect { failure, .. } => *failure,
        other => panic!("expected a connect error, got {}", other.chain()),
    }
}

#[tokio::test]
async fn every_account_attribute_round_trips() {
    let engine = admin().await;
    let role = unique_name("role");
    converge(&engine, &RoleSpec::group(name(NameKind::Role, &role))).await;

    let user = unique_name("user");
    let mut spec = user_spec(&user, "first password");
    spec.mysql.hosts = vec!["%".into(), "localhost".into()];
    spec.mysql.require = Some(MySqlTlsRequirement::Specified {
        issuer: Some("/CN=dbprov test CA".into()),
        subject: Some("/CN=o'brien\\x".into()),
        cipher: Some("ECDHE-RSA-AES256-GCM-SHA384".into()),
    });
    spec.mysql.max_queries_per_hour = Some(11);
    spec.mysql.max_updates_per_hour = Some(12);
    spec.mysql.max_connections_per_hour = Some(13);
    spec.mysql.max_user_connections = Some(14);
    spec.mysql.account_locked = Some(true);
    spec.mysql.auth_plugin = Some("mysql_native_password".into());
    spec.mysql.roles = Some(BTreeSet::from([name(NameKind::Role, &role)]));
    let executed = converge(&engine, &spec).await;
    assert!(
        executed
            .iter()
            .all(|statement| !statement.contains("first password"))
    );

    for host in ["%", "localhost"] {
        let state = account(&engine, &user, host).await;
        assert_eq!(state.plugin, "mysql_native_password");
        assert_eq!(state.require, spec.mysql.require.clone().unwrap());
        assert_eq!(
            (
                state.max_queries_per_hour,
                state.max_updates_per_hour,
                state.max_connections_per_hour,
                state.max_user_connections
            ),
            (11, 12, 13, 14)
        );
        assert!(state.account_locked && !state.is_role);
        assert_eq!(state.roles, BTreeSet::from([role.clone()]));
        assert_eq!(state.default_roles, BTreeSet::from([role.clone()]));
        let created = sql(&format!("SHOW CREATE USER {}@{}", literal(&user), literal(host)));
        assert!(
            created.contains(
                "REQUIRE ISSUER '/CN=dbprov test CA' SUBJECT '/CN=o\\'brien\\\\x' CIPHER 'ECDHE-RSA-AES256-GCM-SHA384'"
            ) || created.contains("REQUIRE ISSUER '/CN=dbprov test CA' SUBJECT '/CN=o''brien\\\\x' CIPHER"),
            "{created}"
        );
        assert!(
            created.contains(
                "WITH MAX_QUERIES_PER_HOUR 11 MAX_UPDATES_PER_HOUR 12 MAX_CONNECTIONS_PER_HOUR 13 MAX_USER_CONNECTIONS 14"
            ),
            "{created}"
        );
        assert!(created.contains("ACCOUNT LOCK"), "{created}");
        let grants = show_grants(&format!("{}@{}", literal(&user), literal(host)));
        assert!(
            grants.contains(&format!("GRANT `{role}` TO `{user}`@`{host}`")),
            "{grants:?}"
        );
        assert!(
            grants.contains(&format!("SET DEFAULT ROLE `{role}` FOR `{user}`@`{host}`")),
            "{grants:?}"
        );
    }

    // Dropping a host from the declaration drops its account.
    spec.mysql.hosts = vec!["%".into()];
    let catalog = inspect(&engine, &request(&user)).await;
    let plan = engine.plan_role(&spec, &catalog).unwrap();
    assert_eq!(
        plan.statements(),
        vec![format!("DROP USER IF EXISTS `{user}`@`localhost`")]
    );
    assert!(plan.drift.iter().all(|drift| drift.destructive));
    apply(&engine, &plan).await;

    drop_role(&engine, &user).await;
    drop_role(&engine, &role).await;
}

#[tokio::test]
async fn changing_one_attribute_plans_exactly_one_statement() {
    let engine = admin().await;
    let user = unique_name("one");
    let mut spec = user_spec(&user, "pw-1");
    spec.mysql.max_queries_per_hour = Some(1);
    spec.mysql.require = Some(MySqlTlsRequirement::None);
    spec.mysql.account_locked = Some(false);
    converge(&engine, &spec).await;

    type Change = Box<dyn Fn(&mut RoleSpec)>;
    let changes: Vec<(&str, Change)> = vec![
        (
            "maxQueriesPerHour",
            Box::new(|spec| spec.mysql.max_queries_per_hour = Some(2)),
        ),
        (
            "maxUpdatesPerHour",
            Box::new(|spec| spec.mysql.max_updates_per_hour = Some(3)),
        ),
        (
            "maxConnectionsPerHour",
            Box::new(|spec| spec.mysql.max_connections_per_hour = Some(4)),
        ),
        (
            "maxUserConnections",
            Box::new(|spec| spec.mysql.max_user_connections = Some(5)),
        ),
        (
            "require",
            Box::new(|spec| spec.mysql.require = Some(MySqlTlsRequirement::Ssl)),
        ),
        (
            "require",
            Box::new(|spec| spec.mysql.require = Some(MySqlTlsRequirement::X509)),
        ),
        (
            "accountLocked",
            Box::new(|spec| spec.mysql.account_locked = Some(true)),
        ),
        (
            "password",
            Box::new(|spec| spec.password = Some(PasswordSpec::new(Secret::new("pw-2")))),
        ),
    ];
    for (field, change) in changes {
        change(&mut spec);
        let catalog = inspect(&engine, &request(&user)).await;
        let plan = engine.plan_role(&spec, &catalog).unwrap();
        assert_eq!(plan.steps.len(), 1, "{field}: {:?}", plan.statements());
        assert_eq!(plan.drift.len(), 1, "{field}");
        assert_eq!(plan.drift[0].field, field);
        apply(&engine, &plan).await;
        let catalog = inspect(&engine, &request(&user)).await;
        assert!(
            engine.plan_role(&spec, &catalog).unwrap().is_empty(),
            "{field} converged"
        );
    }
    let state = account(&engine, &user, "%").await;
    assert_eq!(state.require, MySqlTlsRequirement::X509);
    assert_eq!(state.max_user_connections, 5);
    assert!(state.account_locked);
    drop_role(&engine, &user).await;
}

#[tokio::test]
async fn the_password_logs_in_after_create_and_after_rotation() {
    let engine = admin().await;
    let user = unique_name("login");
    let first = "first 'pass\\word\"";
    converge(&engine, &user_spec(&user, first)).await;
    let session = connect_as(&user, Some(first), TlsSpec::default())
        .await
        .unwrap_or_else(|error| panic!("login with the first password: {}", error.chain()));
    let (current,): (String,) = sqlx::query_as("SELECT CURRENT_USER()")
        .fetch_one(session.pool())
        .await
        .unwrap();
    assert_eq!(current, format!("{user}@%"));
    session.close().await;

    let second = "second-ünïcødé-password";
    let executed = converge(&engine, &user_spec(&user, second)).await;
    assert_eq!(
        executed,
        vec![format!(
            "ALTER USER `{user}`@`%` IDENTIFIED BY PASSWORD '<redacted>'"
        )]
    );
    connect_as(&user, Some(second), TlsSpec::default())
        .await
        .unwrap_or_else(|error| panic!("login with the rotated password: {}", error.chain()))
        .close()
        .await;
    let error = connect_as(&user, Some(first), TlsSpec::default())
        .await
        .expect_err("the old password no longer works");
    assert_eq!(connect_failure(&error), ConnectFailure::Authentication);
    drop_role(&engine, &user).await;
}

#[tokio::test]
async fn require_x509_accepts_the_client_certificate_only() {
    let engine = admin().await;
    let user = unique_name("cert");
    let mut spec = RoleSpec::user(name(NameKind::User, &user));
    spec.mysql.require = Some(MySqlTlsRequirement::X509);
    converge(&engine, &spec).await;

    let read = |file: &str| std::fs::read(server().tls_file(file)).expect("a harness TLS file");
    let with_certificate = TlsSpec {
        mode: TlsMode::VerifyCa,
        ca_pem: Some(read("ca.pem")),
        client_cert_pem: Some(read("client.pem")),
        client_key_pem: Some(Secret::new(
            String::from_utf8(read("client-key.pem")).expect("PEM is text"),
        )),
    };
    connect_as(&user, None, with_certificate)
        .await
        .unwrap_or_else(|error| panic!("login with the client certificate: {}", error.chain()))
        .close()
        .await;
    let without_certificate = TlsSpec {
        mode: TlsMode::VerifyCa,
        ca_pem: Some(read("ca.pem")),
        ..TlsSpec::default()
    };
    let error = connect_as(&user, None, without_certificate)
        .await
        .expect_err("X509 requires a certificate");
    assert_eq!(
        connect_failure(&error),
        ConnectFailure::Authentication,
        "{}",
        error.chain()
    );
    drop_role(&engine, &user).await;
}

#[tokio::test]
async fn granted_roles_are_active_at_login() {
    let engine = admin().await;
    let reader = unique_name("reader");
    let writer = unique_name("writer");
    for role in [&reader, &writer] {
        converge(&engine, &RoleSpec::group(name(NameKind::Role, role))).await;
        let catalog = inspect(&engine, &request(role)).await;
        let state = catalog.role(&name(NameKind::Role, role)).unwrap();
        assert!(!state.login);
        assert!(state.mysql.as_ref().unwrap().accounts[""].is_role);
    }
    let user = unique_name("member");
    let mut spec = user_spec(&user, "pw");
    spec.mysql.roles = Some(BTreeSet::from([name(NameKind::Role, &reader)]));
    converge(&engine, &spec).await;
    let session = connect_as(&user, Some("pw"), TlsSpec::default())
        .await
        .expect("login");
    let (role,): (Option<String>,) = sqlx::query_as("SELECT CURRENT_ROLE()")
        .fetch_one(session.pool())
        .await
        .unwrap();
    assert_eq!(
        role.as_deref(),
        Some(reader.as_str()),
        "the one declared role is the default"
    );
    session.close().await;

    // MariaDB activates one role at login: with two declared roles none is the default.
    spec.mysql.roles = Some(BTreeSet::from([
        name(NameKind::Role, &reader),
        name(NameKind::Role, &writer),
    ]));
    let executed = converge(&engine, &spec).await;
    assert_eq!(
        executed,
        vec![
            format!("GRANT `{writer}` TO `{user}`@`%`"),
            format!("SET DEFAULT ROLE NONE FOR `{user}`@`%`"),
        ]
    );
    let grants = show_grants(&format!("{}@'%'", literal(&user)));
    assert!(
        grants.contains(&format!("GRANT `{writer}` TO `{user}`@`%`")),
        "{grants:?}"
    );
    assert!(
        grants.contains(&format!("GRANT `{reader}` TO `{user}`@`%`")),
        "{grants:?}"
    );

    // A role granted to a role.
    let mut nested = RoleSpec::group(name(NameKind::Role, &writer));
    nested.mysql.roles = Some(BTreeSet::from([name(NameKind::Role, &reader)]));
    assert_eq!(
        converge(&engine, &nested).await,
        vec![format!("GRANT `{reader}` TO `{writer}`")]
    );

    spec.mysql.roles = Some(BTreeSet::new());
    let executed = converge(&engine, &spec).await;
    assert_eq!(executed.len(), 2, "{executed:?}");
    assert!(
        !show_grants(&format!("{}@'%'", literal(&user)))
            .iter()
            .any(|line| line.contains(&reader))
    );

    drop_role(&engine, &user).await;
    drop_role(&engine, &writer).await;
    drop_role(&engine, &reader).await;
}

#[tokio::test]
async fn hostile_user_names_are_created_verbatim() {
    let engine = admin().await;
    let suffix = unique_name("h");
    let hostile = [
        format!("q'uote\"{suffix}"),
        format!("back`tick{suffix}"),
        format!("back\\slash{suffix}"),
        format!("pct%_{suffix}"),
        format!("x'; DROP USER root; -- {suffix}"),
        format!("ünïcødé ☃ {suffix}"),
        format!("{}{suffix}", "u".repeat(128 - suffix.chars().count())),
    ];
    for user in &hostile {
        let mut spec = user_spec(user, "pw");
        spec.mysql.hosts = vec!["10.0.%".into(), "l'ocal\\host".into()];
        converge(&engine, &spec).await;
        assert_eq!(
            sql(&format!(
                "SELECT GROUP_CONCAT(Host ORDER BY Host) FROM mysql.global_priv WHERE User = {}",
                literal(user)
            ))
            .trim_end_matches('\n'),
            "10.0.%,l'ocal\\host",
            "{user:?}"
        );
        drop_role(&engine, user).await;
    }
    for user in ["x".repeat(129), "trailing ".to_owned(), "emoji 😀".to_owned()] {
        let error = engine
            .plan_role(&user_spec(&user, "pw"), &Default::default())
            .expect_err("the name must be rejected");
        assert_eq!(error.kind(), "InvalidName", "{error}");
    }
}

#[tokio::test]
async fn a_failed_statement_reports_the_redacted_statement() {
    let engine = admin().await;
    let user = unique_name("stale");
    let spec = user_spec(&user, "do-not-print-me");
    let stale = engine
        .plan_role(&spec, &inspect(&engine, &request(&user)).await)
        .unwrap();
    apply(&engine, &stale).await;
    // The same creation again fails: the account exists now.
    let error = engine
        .apply(&stale)
        .await
        .expect_err("the account already exists");
    assert_eq!(error.kind(), "ApplyFailed");
    let chain = error.chain();
    assert!(chain.contains("IDENTIFIED BY PASSWORD '<redacted>'"), "{chain}");
    assert!(!chain.contains("do-not-print-me"), "{chain}");
    let hash = dbprov_mysql::password::native_password_hash("do-not-print-me");
    assert!(!chain.contains(&hash[1..]), "{chain}");
    assert!(!format!("{error:?}").contains(&hash[1..]));
    drop_role(&engine, &user).await;
}
