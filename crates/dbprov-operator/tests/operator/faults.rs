//! Faults, on private servers: the database server stops in the middle of a reconcile and comes back; the
//! operator crashes between writing a generated password to the Secret and setting it on the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbprov_api::v1alpha1::{Database, DatabaseInstance, DatabaseUser};
use dbprov_operator::kinds::Managed;
use dbprov_reconcile::index::GrantIndex;
use dbprov_reconcile::prepare::{Hints, prepare};
use dbprov_testkit::{PgServer, unique_name};
use serde_json::json;

use crate::support::*;

fn within(value: Option<Duration>, low: u64, high: u64) -> bool {
    value.is_some_and(|value| value >= Duration::from_secs(low) && value <= Duration::from_secs(high))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stopped_mid_reconcile_degrades_then_recovers_on_its_own() {
    let server = Arc::new(Mutex::new(PgServer::start()));
    let address = server.lock().expect("server lock").address().clone();
    let harness = Harness::start();
    harness.api.create(admin_secret("pg-admin", &address));
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", &address));
    assert_eq!(harness.reconcile::<DatabaseInstance>("pg").await.failure, None);
    let name = unique_name("opfault");
    harness
        .api
        .create(database("app", "pg", &name, json!({"deletionProtection": false})));
    assert_eq!(harness.reconcile::<Database>("app").await.failure, None);
    assert!(pg_database_exists(&address, &name));

    // The server stops after the reconcile started (the admin Secret is being read), before any SQL.
    let stopper = server.clone();
    harness.api.on("GET secret team/pg-admin", move || {
        stopper.lock().expect("server lock").stop()
    });
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_eq!(reconciled.failure, Some("ConnectionFailed"));
    assert!(
        within(reconciled.requeue_after, 24, 36),
        "30 s ± jitter: {:?}",
        reconciled.requeue_after
    );
    let (ready, reason, message) = harness.condition("Database", "app", "Ready");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "ConnectionFailed"));
    assert!(message.contains("failed to connect"), "a clear reason: {message}");
    assert_eq!(harness.condition("Database", "app", "Degraded").0, "True");
    assert_eq!(harness.condition("Database", "app", "Connected").0, "False");
    assert_eq!(harness.status("Database", "app")["phase"], "Failed");
    assert!(
        harness
            .api
            .events()
            .iter()
            .any(|(reason, kind, _)| reason == "ConnectionFailed" && kind == "Warning")
    );

    // Still down: the backoff grows, the object stays degraded.
    let reconciled = harness.reconcile::<Database>("app").await;
    assert!(
        within(reconciled.requeue_after, 48, 72),
        "backoff: {:?}",
        reconciled.requeue_after
    );
    assert_eq!(harness.condition("Database", "app", "Degraded").0, "True");
    // The instance's health check sees it too.
    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    assert_eq!(reconciled.failure, Some("ConnectionFailed"));
    assert_eq!(harness.condition("DatabaseInstance", "pg", "Ready").0, "False");
    assert!(
        harness
            .metrics
            .encode()
            .contains("dbprov_reconcile_errors_total{kind=\"Database\",reason=\"ConnectionFailed\"} 2")
    );

    // The server comes back; the requeues the controller already scheduled bring everything back.
    server.lock().expect("server lock").restart();
    let reconciled = harness.reconcile::<DatabaseInstance>("pg").await;
    assert_eq!(reconciled.failure, None);
    let reconciled = harness.reconcile::<Database>("app").await;
    assert_eq!(
        reconciled.failure,
        None,
        "{:#}",
        harness.status("Database", "app")
    );
    assert_eq!(reconciled.requeue_after, Some(Duration::from_secs(300)));
    for condition in ["Ready", "Connected", "Synced"] {
        assert_eq!(
            harness.condition("Database", "app", condition).0,
            "True",
            "{condition}"
        );
    }
    assert_eq!(harness.condition("Database", "app", "Degraded").0, "False");
    assert_eq!(harness.status("Database", "app")["phase"], "Ready");
    assert!(pg_database_exists(&address, &name));
}

/// Does what a reconcile does first for a user (write the credentials Secret), then "crashes".
async fn write_secret_then_crash(harness: &Harness, user_name: &str) -> String {
    let (ctx, _) = harness.ctx.reconcile_context();
    let object: DatabaseUser = harness.api.object("DatabaseUser", Some(NS), user_name);
    let index = GrantIndex::build(&ctx).await.expect("index");
    let hints = Hints {
        spec_changed: true,
        ..Hints::default()
    };
    let prepared = prepare(&ctx, &object.to_resource(), &index, hints)
        .await
        .expect("prepared");
    let password = prepared
        .role
        .and_then(|role| role.password)
        .expect("a user has a password");
    let secret = password
        .write
        .expect("a generated password is written before it is set");
    ctx.secrets.put(&secret).await.expect("secret written");
    harness
        .api
        .secret_value(NS, &secret.name, "password")
        .expect("the Secret holds the password")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_secret_written_and_password_set_converges() {
    let server = PgServer::start();
    let address = server.address().clone();
    let harness = Harness::start();
    harness.api.create(admin_secret("pg-admin", &address));
    harness
        .api
        .create(instance("pg", "postgres", "pg-admin", &address));
    assert_eq!(harness.reconcile::<DatabaseInstance>("pg").await.failure, None);
    let username = unique_name("opcrash");
    harness.api.create(user(
        "app",
        "pg",
        &username,
        json!({"passwordSecret": {"secretName": "app-credentials"}}),
    ));

    // A new user: the Secret is written, the user never created.
    let written = write_secret_then_crash(&harness, "app").await;
    assert!(
        !pg_role_exists(&address, &username),
        "the crash came before the server changed"
    );
    assert_eq!(harness.reconcile::<DatabaseUser>("app").await.failure, None);
    assert_eq!(
        harness
            .api
            .secret_value(NS, "app-credentials", "password")
            .as_deref(),
        Some(written.as_str()),
        "the Secret's password is kept, not regenerated"
    );
    assert!(
        pg_login(&address, &username, &written),
        "the Secret's password works on the server"
    );

    // A rotation (the Secret was deleted): the new password is written, the crash comes before ALTER ROLE.
    harness.api.delete("Secret", Some(NS), "app-credentials");
    let rotated = write_secret_then_crash(&harness, "app").await;
    assert_ne!(rotated, written);
    assert!(
        pg_login(&address, &username, &written),
        "the server still has the old password"
    );
    assert!(!pg_login(&address, &username, &rotated));
    assert_eq!(harness.reconcile::<DatabaseUser>("app").await.failure, None);
    assert!(
        pg_login(&address, &username, &rotated),
        "converged on the Secret's password"
    );
    assert!(!pg_login(&address, &username, &written));
}
