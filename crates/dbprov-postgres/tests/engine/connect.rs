//! Connecting: TLS modes, client certificates, sockets, and classified failures.

use std::time::{Duration, Instant};

use dbprov_core::error::ConnectFailure;
use dbprov_core::{ConnectionSpec, Endpoint, Engine, EngineError, EngineKind, Secret, TlsMode, TlsSpec};
use dbprov_postgres::PgEngine;
use dbprov_testkit::CERT_USER;
use sqlx::Row as _;

use crate::common::{engine, psql, server};

fn failure(result: Result<PgEngine, EngineError>) -> (ConnectFailure, String) {
    match result {
        Err(EngineError::Connect { failure, .. }) => {
            let message = result.err().map(|error| error.chain()).unwrap_or_default();
            (failure, message)
        }
        Err(other) => panic!("expected a connection failure, got {}", other.chain()),
        Ok(_) => panic!("expected a connection failure, got a connection"),
    }
}

/// Whether the engine's admin session is encrypted, as the server sees it.
async fn session_ssl(engine: &PgEngine) -> bool {
    let pool = engine.database_pool("postgres").await.expect("the admin pool");
    sqlx::query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .expect("read pg_stat_ssl")
        .get::<bool, _>("ssl")
}

#[tokio::test]
async fn reads_server_facts_and_pings() {
    let engine = engine().await;
    assert_eq!(engine.server().kind, EngineKind::Postgres);
    assert!(
        engine.server().version.starts_with("PostgreSQL "),
        "{}",
        engine.server().version
    );
    let expected_major: u32 = server().version.split('.').next().unwrap().parse().unwrap();
    assert_eq!(engine.server().version_number.0, expected_major);
    engine.ping().await.expect("ping");
    engine.close().await;
}

#[tokio::test]
async fn every_tls_mode_connects_against_the_harness_ca() {
    for (mode, encrypted) in [
        (TlsMode::Disable, false),
        (TlsMode::Prefer, true),
        (TlsMode::Require, true),
        (TlsMode::VerifyCa, true),
        (TlsMode::VerifyFull, true),
    ] {
        let engine = PgEngine::connect(&server().admin_connection_tls(mode))
            .await
            .unwrap_or_else(|error| panic!("{mode:?}: {}", error.chain()));
        assert_eq!(session_ssl(&engine).await, encrypted, "{mode:?}");
        engine.close().await;
    }
}

#[tokio::test]
async fn verify_full_against_another_ca_is_a_tls_failure() {
    let other_ca = std::fs::read(server().tls_file("other-ca.pem")).expect("the harness wrote other-ca.pem");
    let spec = server().admin_connection().with_tls(TlsSpec {
        mode: TlsMode::VerifyFull,
        ca_pem: Some(other_ca.clone()),
        ..TlsSpec::default()
    });
    let (kind, message) = failure(PgEngine::connect(&spec).await);
    assert_eq!(kind, ConnectFailure::Tls, "{message}");
    // verify-ca checks the chain too.
    let spec = server().admin_connection().with_tls(TlsSpec {
        mode: TlsMode::VerifyCa,
        ca_pem: Some(other_ca),
        ..TlsSpec::default()
    });
    assert_eq!(failure(PgEngine::connect(&spec).await).0, ConnectFailure::Tls);
}

#[tokio::test]
async fn client_certificate_login_as_the_cert_user() {
    psql(
        "postgres",
        &format!(
            "DO $do$ BEGIN CREATE ROLE {CERT_USER} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $do$"
        ),
    );
    let read = |file: &str| std::fs::read(server().tls_file(file)).expect("the harness wrote the TLS files");
    let spec = ConnectionSpec::tcp(server().host.clone(), server().port)
        .with_credentials(CERT_USER, None)
        .with_tls(TlsSpec {
            mode: TlsMode::VerifyFull,
            ca_pem: Some(read("ca.pem")),
            client_cert_pem: Some(read("client.pem")),
            client_key_pem: Some(Secret::new(String::from_utf8(read("client-key.pem")).unwrap())),
        });
    let engine = PgEngine::connect(&spec)
        .await
        .unwrap_or_else(|error| panic!("{}", error.chain()));
    let pool = engine.database_pool("postgres").await.unwrap();
    let user: String = sqlx::query("SELECT current_user::text AS u")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("u");
    assert_eq!(user, CERT_USER);
    assert!(session_ssl(&engine).await);
    engine.close().await;

    // Without the certificate the same user is refused by pg_hba's `cert` method.
    let spec = ConnectionSpec::tcp(server().host.clone(), server().port)
        .with_credentials(CERT_USER, None)
        .with_tls(TlsSpec {
            mode: TlsMode::Require,
            ..TlsSpec::default()
        });
    assert_eq!(
        failure(PgEngine::connect(&spec).await).0,
        ConnectFailure::Authentication
    );
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_failure() {
    let spec = server()
        .admin_connection()
        .with_credentials(server().admin_user.clone(), Some(Secret::new("not-the-password")));
    let (kind, message) = failure(PgEngine::connect(&spec).await);
    assert_eq!(kind, ConnectFailure::Authentication, "{message}");
    assert!(!message.contains("not-the-password"), "{message}");
    let unknown = server()
        .admin_connection()
        .with_credentials("no_such_user_x", Some(Secret::new("x")));
    assert_eq!(
        failure(PgEngine::connect(&unknown).await).0,
        ConnectFailure::Authentication
    );
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = dbprov_testkit::free_port();
    let spec = ConnectionSpec::tcp("127.0.0.1", port).with_credentials("postgres", Some(Secret::new("x")));
    let (kind, message) = failure(PgEngine::connect(&spec).await);
    assert_eq!(kind, ConnectFailure::Unreachable, "{message}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // A listener that accepts TCP (the kernel completes the handshake) but never speaks: the PostgreSQL
    // startup exchange hangs deterministically, on the loopback interface only.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local listener");
    let port = silent.local_addr().unwrap().port();
    let spec = ConnectionSpec::tcp("127.0.0.1", port)
        .with_credentials("postgres", Some(Secret::new("x")))
        .with_connect_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let (kind, message) = failure(PgEngine::connect(&spec).await);
    assert_eq!(kind, ConnectFailure::Timeout, "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[tokio::test]
async fn connects_over_the_unix_socket() {
    let socket = server().socket.join(format!(".s.PGSQL.{}", server().port));
    let spec = ConnectionSpec {
        endpoint: Endpoint::Socket { path: socket },
        ..server().admin_connection()
    };
    let engine = PgEngine::connect(&spec)
        .await
        .unwrap_or_else(|error| panic!("{}", error.chain()));
    let pool = engine.database_pool("postgres").await.unwrap();
    let local: bool = sqlx::query("SELECT inet_client_addr() IS NULL AS local")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("local");
    assert!(local, "a Unix-socket session has no client address");
    engine.close().await;
}

#[tokio::test]
async fn a_missing_database_pool_is_a_connection_failure_naming_it() {
    let engine = engine().await;
    let error = engine.database_pool("no_such_database_here").await.unwrap_err();
    assert!(
        error.chain().contains("no_such_database_here"),
        "{}",
        error.chain()
    );
    assert!(matches!(error, EngineError::Connect { .. }));
    // The application name is set on every session.
    let pool = engine.database_pool("postgres").await.unwrap();
    let own: String = sqlx::query("SELECT current_setting('application_name') AS a")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get("a");
    assert_eq!(own, "dbprov");
    engine.close().await;
}
