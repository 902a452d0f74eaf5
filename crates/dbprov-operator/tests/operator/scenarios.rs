//! Live objects: finalizers, status, Secrets, events and requeue times.

use std::time::Duration;

use dbprov_api::v1alpha1::{Database, DatabaseGrant, DatabaseInstance, DatabaseRole, DatabaseUser};
use dbprov_operator::annotations::{ANNOTATION_PASSWORD_FINGERPRINT, ANNOTATION_SKIP_RECONCILE};
use dbprov_operator::reconcile::{error_policy, reconcile_once};
use dbprov_operator::secrets::copy_name;
use dbprov_testkit::{mariadb, mariadb_sql, postgres, psql, unique_name};
use kube::runtime::controller::Action;
use serde_json::json;

use crate::support::*;

const HEALTH: Option<Duration> = Some(Duration::from_secs(30));
const DRIFT: Option<Duration> = Some(Duration::from_secs(300));

/// A Ready PostgreSQL instance `pg` with its admin Secret `pg-admin`.
async fn ready_postgres(harness: &Harness) {
    harness.api.create(admin_secret("pg-admin", postgres()));
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", postgres()));
    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseInstance", "pg")
    );
    harness.api.take_calls();
}

#[tokio::test]
async fn instance_gets_finalizer_status_credentials_copy_and_event() {
    let harness = Harness::start();
    harness.api.create(admin_secret("pg-admin", postgres()));
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", postgres()));

    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    let copy = copy_name(NS, "pg-admin");
    assert_calls(
        &harness.api.take_calls(),
        &[
            "PATCH databaseinstances team/pg finalizers=[dbops.dbprovision.io/database-instance]",
            "GET secret team/pg-admin",
            "APPLY databaseinstances/status team/pg phase=Ready",
            &format!("APPLY secret {OPERATOR_NS}/{copy}"),
            "EVENT Normal Connected",
        ],
    );
    assert_eq!(reconciled.requeue_after, HEALTH, "healthCheck.intervalSeconds");
    let status = harness.status("DatabaseInstance", "pg");
    assert_eq!(status["observedGeneration"], 1);
    assert!(
        status["version"]
            .as_str()
            .is_some_and(|v| v.contains("PostgreSQL")),
        "{status:#}"
    );
    assert_eq!(harness.condition("DatabaseInstance", "pg", "Connected").0, "True");
    assert_eq!(
        harness
            .api
            .secret_value(OPERATOR_NS, &copy, "password")
            .as_deref(),
        Some(postgres().admin_password.as_str())
    );

    // The next health check: no finalizer write, no copy rewrite, no repeated "Connected" event.
    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/pg-admin",
            "APPLY databaseinstances/status team/pg phase=Ready",
        ],
    );
    assert_eq!(reconciled.requeue_after, HEALTH);
    assert!(
        harness
            .metrics
            .encode()
            .contains("dbprov_objects{kind=\"DatabaseInstance\",phase=\"Ready\"} 1")
    );
}

#[tokio::test]
async fn upstream_finalizers_are_taken_over_in_one_patch() {
    let harness = Harness::start();
    harness.api.create(admin_secret("pg-admin", postgres()));
    let mut object = instance("pg", "postgres", "pg-admin", postgres());
    object["metadata"]["finalizers"] =
        json!(["example.com/keep", "dbops.dbprovision.io/instance-protection"]);
    harness.api.create(object);
    harness.reconcile::<DatabaseInstance>("pg").await;
    let calls = harness.api.take_calls();
    assert_eq!(
        calls[0],
        "PATCH databaseinstances team/pg finalizers=[example.com/keep,dbops.dbprovision.io/database-instance]"
    );
    assert_eq!(
        calls
            .iter()
            .filter(|call| call.starts_with("PATCH databaseinstances"))
            .count(),
        1
    );
}

#[tokio::test]
async fn missing_admin_secret_names_it_and_waits_thirty_seconds() {
    let harness = Harness::start();
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", postgres()));
    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    assert_eq!(reconciled.failure, Some("SecretNotFound"));
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(30)));
    let (ready, reason, message) = harness.condition("DatabaseInstance", "pg", "Ready");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "SecretNotFound"));
    assert!(
        message.contains("secret team/pg-admin does not exist"),
        "{message}"
    );
    assert_eq!(harness.status("DatabaseInstance", "pg")["phase"], "Pending");
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, kind, _)| reason == "SecretNotFound" && kind == "Warning")
    );

    // A Secret without the password key names the key.
    let mut secret = admin_secret("pg-admin", postgres());
    secret["data"].as_object_mut().expect("data").remove("password");
    harness.api.create(secret);
    harness.reconcile::<DatabaseInstance>("pg").await;
    let (_, _, message) = harness.condition("DatabaseInstance", "pg", "Ready");
    assert!(message.contains("has no key \"password\""), "{message}");
}

#[tokio::test]
async fn database_waits_for_its_instance_then_is_created() {
    let harness = Harness::start();
    let name = unique_name("opdb");
    harness.api.create(admin_secret("pg-admin", postgres()));
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", postgres()));
    harness.api.create(database(
        "app",
        "pg",
        &name,
        json!({"deletionProtection": false, "deletionPolicy": "Delete"}),
    ));

    // The instance has not been reconciled yet: not Ready, so the database waits 10 s and runs no SQL.
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_eq!(reconciled.failure, Some("InstanceNotReady"));
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(10)));
    assert_eq!(harness.status("Database", "app")["phase"], "Pending");
    assert!(!pg_database_exists(postgres(), &name));
    harness.api.take_calls();

    harness.reconcile::<DatabaseInstance>("pg").await;
    harness.api.take_calls();
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/pg-admin",
            "APPLY databases/status team/app phase=Ready",
            "EVENT Normal DatabaseCreated",
        ],
    );
    assert_eq!(reconciled.failure, None);
    assert_eq!(reconciled.requeue_after, DRIFT, "the default drift interval");
    assert!(pg_database_exists(postgres(), &name));
    let status = harness.status("Database", "app");
    assert!(status["database"]["createdAt"].is_string(), "{status:#}");
    assert_eq!(status["observedGeneration"], 1);
    for condition in ["Ready", "Connected", "Synced"] {
        assert_eq!(
            harness.condition("Database", "app", condition).0,
            "True",
            "{condition}"
        );
    }
    assert_eq!(harness.condition("Database", "app", "Degraded").0, "False");

    // No change: nothing but the status.
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/pg-admin",
            "APPLY databases/status team/app phase=Ready",
        ],
    );
    assert_eq!(reconciled.requeue_after, DRIFT);
    psql(postgres(), "postgres", &format!("DROP DATABASE \"{name}\""));
}

#[tokio::test]
async fn a_new_database_gets_finalizer_status_and_event_in_one_reconcile() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = unique_name("opdb");
    harness.api.create(database(
        "app",
        "pg",
        &name,
        json!({"driftPolicy": {"mode": "correct", "interval": "2m"}}),
    ));
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "PATCH databases team/app finalizers=[dbops.dbprovision.io/database]",
            "GET secret team/pg-admin",
            "APPLY databases/status team/app phase=Ready",
            "EVENT Normal DatabaseCreated",
        ],
    );
    assert_eq!(
        reconciled.requeue_after,
        Some(Duration::from_secs(120)),
        "driftPolicy.interval"
    );
    psql(postgres(), "postgres", &format!("DROP DATABASE \"{name}\""));
}

#[tokio::test]
async fn an_invalid_spec_waits_for_a_change() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    harness
        .api
        .create(database("app", "pg", "bad\u{0}name", json!({})));
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_eq!(reconciled.requeue_after, None, "no retry until the spec changes");
    let (ready, _, message) = harness.condition("Database", "app", "Ready");
    assert_eq!(ready, "False");
    assert!(message.contains("spec.name"), "{message}");
    assert_eq!(harness.status("Database", "app")["phase"], "Failed");
}

#[tokio::test]
async fn skip_reconcile_leaves_the_object_alone() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let mut object = database("app", "pg", &unique_name("opdb"), json!({}));
    annotate(&mut object, ANNOTATION_SKIP_RECONCILE, "true");
    harness.api.create(object);
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_eq!(reconciled.requeue_after, None);
    assert_calls(&harness.api.take_calls(), &[]);
    // Even while being deleted.
    harness.api.update("Database", Some(NS), "app", |object| {
        object["metadata"]["finalizers"] = json!(["dbops.dbprovision.io/database"]);
    });
    harness.api.delete("Database", Some(NS), "app");
    harness.reconcile::<Database>("app").await;
    assert_calls(&harness.api.take_calls(), &[]);
}

#[tokio::test]
async fn user_secret_is_written_with_owner_reference_first_then_reused() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let username = unique_name("opuser");
    harness.api.create(user(
        "app",
        "pg",
        &username,
        json!({"passwordSecret": {"secretName": "app-credentials", "length": 24}}),
    ));
    let reconciled = harness.reconcile::<DatabaseUser>("app").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseUser", "app")
    );
    assert_calls(
        &harness.api.take_calls(),
        &[
            "PATCH databaseusers team/app finalizers=[dbops.dbprovision.io/database-user]",
            "GET secret team/app-credentials",
            "GET secret team/pg-admin",
            "APPLY secret team/app-credentials",
            "APPLY databaseusers/status team/app phase=Ready",
            "PATCH secret team/app-credentials",
            "EVENT Normal SecretWritten",
            "EVENT Normal UserCreated",
        ],
    );
    let secret = harness
        .api
        .get("Secret", Some(NS), "app-credentials")
        .expect("secret written");
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "DatabaseUser");
    assert_eq!(owner["name"], "app");
    assert_eq!(owner["uid"], "uid-databaseuser-app");
    assert_eq!(owner["controller"], true);
    assert_eq!(secret["metadata"]["labels"]["dbops.dbprovision.io/user"], "app");
    assert!(secret["metadata"]["annotations"][ANNOTATION_PASSWORD_FINGERPRINT].is_string());
    let password = harness
        .api
        .secret_value(NS, "app-credentials", "password")
        .expect("password key");
    assert_eq!(password.len(), 24);
    assert!(
        pg_login(postgres(), &username, &password),
        "the Secret's password logs in"
    );
    let status = harness.status("DatabaseUser", "app");
    assert!(status["user"]["createdAt"].is_string(), "{status:#}");
    assert_eq!(status["secret"]["name"], "app-credentials");

    // Nothing changed: the Secret is reused, not rewritten; no event.
    let reconciled = harness.reconcile::<DatabaseUser>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/app-credentials",
            "GET secret team/pg-admin",
            "APPLY databaseusers/status team/app phase=Ready",
        ],
    );
    assert_eq!(reconciled.requeue_after, DRIFT);
    assert_eq!(
        harness
            .api
            .secret_value(NS, "app-credentials", "password")
            .as_deref(),
        Some(password.as_str())
    );
    psql(postgres(), "postgres", &format!("DROP ROLE \"{username}\""));
}

#[tokio::test]
async fn deleting_the_credentials_secret_rotates_the_password() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let username = unique_name("opuser");
    harness.api.create(user(
        "app",
        "pg",
        &username,
        json!({"passwordSecret": {"secretName": "app-credentials"}}),
    ));
    harness.reconcile::<DatabaseUser>("app").await;
    let old = harness
        .api
        .secret_value(NS, "app-credentials", "password")
        .expect("password");
    harness.api.take_calls();

    harness.api.delete("Secret", Some(NS), "app-credentials");
    harness.reconcile::<DatabaseUser>("app").await;
    assert_calls(
        &harness.api.take_calls(),
        &[
            "GET secret team/app-credentials",
            "GET secret team/pg-admin",
            "APPLY secret team/app-credentials",
            "APPLY databaseusers/status team/app phase=Ready",
            "PATCH secret team/app-credentials",
            "EVENT Normal SecretWritten",
            "EVENT Normal UserUpdated",
        ],
    );
    let new = harness
        .api
        .secret_value(NS, "app-credentials", "password")
        .expect("regenerated");
    assert_ne!(new, old);
    assert!(
        pg_login(postgres(), &username, &new),
        "the regenerated password works"
    );
    assert!(
        !pg_login(postgres(), &username, &old),
        "the old password no longer works"
    );
    assert!(harness.status("DatabaseUser", "app")["secret"]["lastRotatedAt"].is_string());
    psql(postgres(), "postgres", &format!("DROP ROLE \"{username}\""));
}

#[tokio::test]
async fn editing_the_password_in_the_secret_rotates_it_on_the_server() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let username = unique_name("opuser");
    harness.api.create(user(
        "app",
        "pg",
        &username,
        json!({"passwordSecret": {"secretName": "app-credentials"}}),
    ));
    harness.reconcile::<DatabaseUser>("app").await;
    harness.api.take_calls();

    let chosen = "Chosen-by-hand-0123456789";
    harness
        .api
        .set_secret_value(NS, "app-credentials", "password", chosen);
    harness.reconcile::<DatabaseUser>("app").await;
    let calls = harness.api.take_calls();
    // The other keys (connection URIs) are rewritten with the new password before it is set.
    let write = calls
        .iter()
        .position(|c| c == "APPLY secret team/app-credentials")
        .expect("keys rewritten");
    let status = calls
        .iter()
        .position(|c| c.starts_with("APPLY databaseusers/status"))
        .expect("status");
    assert!(write < status, "{calls:#?}");
    assert!(pg_login(postgres(), &username, chosen));
    let uri = harness
        .api
        .secret_value(NS, "app-credentials", "uri")
        .unwrap_or_default();
    assert!(uri.contains(chosen), "the uri key carries the new password");
    psql(postgres(), "postgres", &format!("DROP ROLE \"{username}\""));
}

#[tokio::test]
async fn roles_and_grants_converge_and_the_user_gets_the_memberships() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let database_name = unique_name("opdb");
    let role_name = unique_name("oprole");
    let username = unique_name("opuser");
    harness.api.create(database(
        "app-db",
        "pg",
        &database_name,
        json!({"deletionProtection": false}),
    ));
    harness.api.create(custom(
        "DatabaseRole",
        "readers",
        json!({"instanceRef": {"name": "pg"}, "roleName": role_name, "postgres": {"login": false}}),
    ));
    harness.api.create(user(
        "app",
        "pg",
        &username,
        json!({"passwordSecret": {"secretName": "app-credentials"}}),
    ));
    harness.api.create(custom(
        "DatabaseGrant",
        "app-grant",
        json!({
            "userRef": {"name": "app"},
            "databaseRef": {"name": "app-db"},
            "postgres": {
                "roles": [role_name],
                "grants": [{"database": database_name, "privileges": ["CONNECT", "CREATE"]}]
            }
        }),
    ));
    assert_eq!(harness.reconcile::<Database>("app-db").await.failure, None);
    assert_eq!(harness.reconcile::<DatabaseRole>("readers").await.failure, None);
    assert_eq!(harness.reconcile::<DatabaseUser>("app").await.failure, None);
    let reconciled = harness.reconcile::<DatabaseGrant>("app-grant").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseGrant", "app-grant")
    );
    assert_eq!(
        psql(
            postgres(),
            "postgres",
            &format!("SELECT has_database_privilege('{username}', '{database_name}', 'CREATE')")
        )
        .trim(),
        "t"
    );
    // The membership comes from the grant; the user's reconcile merges it (the grant index).
    assert_eq!(
        psql(
            postgres(),
            "postgres",
            &format!("SELECT pg_has_role('{username}', '{role_name}', 'MEMBER')")
        )
        .trim(),
        "t"
    );
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, _, _)| reason == "GrantsApplied")
    );
    assert_eq!(
        harness.status("DatabaseGrant", "app-grant")["grantee"],
        username.as_str()
    );

    // Deleting the grant revokes what only it declared.
    harness.api.delete("DatabaseGrant", Some(NS), "app-grant");
    assert_eq!(
        harness.reconcile::<DatabaseGrant>("app-grant").await.failure,
        None
    );
    assert!(
        harness.api.get("DatabaseGrant", Some(NS), "app-grant").is_none(),
        "finalizer removed"
    );
    assert_eq!(
        psql(
            postgres(),
            "postgres",
            &format!("SELECT has_database_privilege('{username}', '{database_name}', 'CREATE')")
        )
        .trim(),
        "f"
    );
    psql(
        postgres(),
        "postgres",
        &format!("DROP DATABASE \"{database_name}\""),
    );
    psql(postgres(), "postgres", &format!("DROP ROLE \"{username}\""));
    psql(postgres(), "postgres", &format!("DROP ROLE \"{role_name}\""));
}

#[tokio::test]
async fn mariadb_database_user_and_grant() {
    let harness = Harness::start();
    harness.api.create(admin_secret("maria-admin", mariadb()));
    harness
        .api
        .create(instance("maria", "mariadb", "maria-admin", mariadb()));
    assert_eq!(harness.reconcile::<DatabaseInstance>("maria").await.failure, None);
    let database_name = unique_name("opdb");
    let username = unique_name("opuser");
    harness.api.create(database(
        "client-db",
        "maria",
        &database_name,
        json!({"mysql": {"charset": "utf8mb4", "collation": "utf8mb4_unicode_ci"}}),
    ));
    harness.api.create(user(
        "client",
        "maria",
        &username,
        json!({"passwordSecret": {"secretName": "client-credentials", "includeSpecialChars": false}}),
    ));
    harness.api.create(custom(
        "DatabaseGrant",
        "client-grant",
        json!({
            "userRef": {"name": "client"},
            "mysql": {"grants": [{"level": "database", "database": database_name, "privileges": ["SELECT", "INSERT"]}]}
        }),
    ));
    assert_eq!(harness.reconcile::<Database>("client-db").await.failure, None);
    assert_eq!(harness.reconcile::<DatabaseUser>("client").await.failure, None);
    let reconciled = harness.reconcile::<DatabaseGrant>("client-grant").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("DatabaseGrant", "client-grant")
    );
    assert_eq!(
        mariadb_sql(
            mariadb(),
            &format!(
                "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database_name}'"
            )
        )
        .trim(),
        "utf8mb4_unicode_ci"
    );
    let password = harness
        .api
        .secret_value(NS, "client-credentials", "password")
        .expect("password");
    assert!(mariadb_login(mariadb(), &username, &password));
    let grants = mariadb_sql(mariadb(), &format!("SHOW GRANTS FOR '{username}'@'%'"));
    assert!(grants.contains("SELECT, INSERT"), "{grants}");
    // MariaDB cannot verify a stored password: the fingerprint on the Secret keeps it from being reset on
    // every reconcile.
    harness.api.take_calls();
    harness.reconcile::<DatabaseUser>("client").await;
    assert!(
        !harness
            .api
            .events()
            .iter()
            .any(|(reason, _, _)| reason == "UserUpdated")
    );
    mariadb_sql(mariadb(), &format!("DROP DATABASE `{database_name}`"));
    mariadb_sql(mariadb(), &format!("DROP USER '{username}'@'%'"));
}

#[tokio::test]
async fn failed_status_writes_are_errors_with_backoff_and_conflicts_retry_at_once() {
    let harness = Harness::start();
    ready_postgres(&harness).await;
    let name = unique_name("opdb");
    harness.api.create(database("app", "pg", &name, json!({})));
    harness.api.fail_next("APPLY databases/status", 500);
    let error = harness
        .try_reconcile::<Database>("app")
        .await
        .expect_err("the status write failed");
    assert_eq!(error.kind(), "StatusWriteFailed");
    assert!(
        harness
            .metrics
            .encode()
            .contains("dbprov_reconcile_errors_total{kind=\"Database\",reason=\"StatusWriteFailed\"} 1")
    );
    let object: Database = harness.api.object("Database", Some(NS), "app");
    let action = error_policy(std::sync::Arc::new(object), &error, harness.ctx.clone());
    assert_ne!(action, Action::await_change());
    assert_ne!(action, Action::requeue(Duration::from_secs(1)));

    // A stale copy of the object: the finalizer write loses the race and is retried at once.
    let mut stale: Database = harness.api.object("Database", Some(NS), "app");
    stale.metadata.finalizers = None;
    harness.api.update("Database", Some(NS), "app", |object| {
        object["metadata"]["labels"] = json!({"touched": "yes"});
    });
    let error = reconcile_once(std::sync::Arc::new(stale.clone()), &harness.ctx)
        .await
        .expect_err("conflict");
    assert!(error.is_conflict(), "{error:?}");
    assert_eq!(
        error_policy(std::sync::Arc::new(stale), &error, harness.ctx.clone()),
        Action::requeue(Duration::from_secs(1))
    );
    psql(
        postgres(),
        "postgres",
        &format!("DROP DATABASE IF EXISTS \"{name}\""),
    );
}
