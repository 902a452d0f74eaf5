//! Connecting to the throwaway MariaDB: flavour detection, TLS modes and classified failures.

mod common;

use std::time::Duration;

use common::{admin, name, server};
use dbprov_core::error::ConnectFailure;
use dbprov_core::model::CatalogRequest;
use dbprov_core::{Engine, EngineError, EngineKind, MySqlStringMode, NameKind, Secret, TlsMode};
use dbprov_mysql::MySqlEngine;

fn failure(error: &EngineError) -> ConnectFailure {
    match error {
        EngineError::Connect { failure, .. } => *failure,
        other => panic!("expected a connect error, got {}", other.chain()),
    }
}

async fn ssl_cipher(engine: &MySqlEngine) -> String {
    let (_, cipher): (String, String) = sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        .fetch_one(engine.pool())
        .await
        .expect("read Ssl_cipher");
    cipher
}

#[tokio::test]
async fn the_detected_flavour_wins_over_the_declared_one() {
    let spec = server().admin_connection();
    let engine = MySqlEngine::connect(&spec, EngineKind::MySql)
        .await
        .expect("connect");
    assert_eq!(engine.server().kind, EngineKind::MariaDb);
    assert!(
        engine.server().version.contains("MariaDB"),
        "{}",
        engine.server().version
    );
    assert!(engine.server().at_least(10, 4, 0));
    assert_eq!(engine.capabilities().engine, "MariaDB");
    assert!(!engine.capabilities().failed_login_lock);
    assert_eq!(engine.facts().string_mode, MySqlStringMode::BackslashEscapes);
    engine.ping().await.expect("ping");
    engine.close().await;
}

#[tokio::test]
async fn tls_modes_disable_require_verify_ca_and_verify_full() {
    let plain = MySqlEngine::connect(&server().admin_connection(), EngineKind::MariaDb)
        .await
        .expect("connect without TLS");
    assert_eq!(ssl_cipher(&plain).await, "", "disable must not negotiate TLS");
    for mode in [TlsMode::Require, TlsMode::VerifyCa, TlsMode::VerifyFull] {
        let engine = MySqlEngine::connect(&server().admin_connection_tls(mode), EngineKind::MariaDb)
            .await
            .unwrap_or_else(|error| panic!("connect with {}: {}", mode.as_str(), error.chain()));
        assert_ne!(
            ssl_cipher(&engine).await,
            "",
            "{} must negotiate TLS",
            mode.as_str()
        );
    }
}

#[tokio::test]
async fn verifying_against_another_ca_fails_as_tls() {
    for mode in [TlsMode::VerifyCa, TlsMode::VerifyFull] {
        let mut spec = server().admin_connection_tls(mode);
        spec.tls.ca_pem = Some(std::fs::read(server().tls_file("other-ca.pem")).expect("other-ca.pem"));
        let error = MySqlEngine::connect(&spec, EngineKind::MariaDb)
            .await
            .expect_err("an unrelated CA must not verify the server");
        assert_eq!(failure(&error), ConnectFailure::Tls, "{}", error.chain());
        assert_eq!(error.kind(), "TlsFailed");
    }
}

#[tokio::test]
async fn a_wrong_password_fails_as_authentication() {
    let mut spec = server().admin_connection();
    spec.credentials.as_mut().expect("credentials").password = Some(Secret::new("not-the-password"));
    let error = MySqlEngine::connect(&spec, EngineKind::MariaDb)
        .await
        .expect_err("a wrong password must fail");
    assert_eq!(
        failure(&error),
        ConnectFailure::Authentication,
        "{}",
        error.chain()
    );
    assert!(!error.chain().contains("not-the-password"));
}

#[tokio::test]
async fn a_closed_port_fails_as_unreachable() {
    let mut spec = server().admin_connection();
    spec.endpoint = dbprov_core::Endpoint::Tcp {
        host: "127.0.0.1".into(),
        port: dbprov_testkit::free_port(),
    };
    let error = MySqlEngine::connect(&spec, EngineKind::MariaDb)
        .await
        .expect_err("nothing listens there");
    assert_eq!(failure(&error), ConnectFailure::Unreachable, "{}", error.chain());
}

#[tokio::test]
async fn a_silent_server_fails_as_timeout() {
    // Accepts TCP connections and never sends the MySQL greeting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut spec = server()
        .admin_connection()
        .with_connect_timeout(Duration::from_millis(500));
    spec.endpoint = dbprov_core::Endpoint::Tcp {
        host: "127.0.0.1".into(),
        port,
    };
    let error = MySqlEngine::connect(&spec, EngineKind::MariaDb)
        .await
        .expect_err("no greeting arrives");
    assert_eq!(failure(&error), ConnectFailure::Timeout, "{}", error.chain());
    hold.abort();
}

#[tokio::test]
async fn inspection_costs_a_constant_number_of_queries() {
    let engine = admin().await;
    let request = |count: usize| {
        let mut request = CatalogRequest::default();
        for index in 0..count {
            let value = format!("dbprov_absent_{index}");
            request = request
                .database(name(NameKind::Database, &value), false)
                .role(name(NameKind::User, &value))
                .grant(name(NameKind::User, &value), name(NameKind::Database, &value));
        }
        request
    };
    let one = engine.inspect(&request(1)).await.expect("inspect one");
    let many = engine.inspect(&request(150)).await.expect("inspect many");
    assert_eq!(one.queries, many.queries);
    // SCHEMATA, accounts, role grants, and one query per grant table.
    assert_eq!(many.queries, 7);
    assert!(many.databases.is_empty() && many.roles.is_empty());
    assert_eq!(many.grants.len(), 150);
}

#[tokio::test]
async fn the_unix_socket_is_an_endpoint_too() {
    let mut spec = server().admin_connection();
    spec.endpoint = dbprov_core::Endpoint::Socket {
        path: server().socket.clone(),
    };
    let engine = MySqlEngine::connect(&spec, EngineKind::MariaDb)
        .await
        .unwrap_or_else(|error| panic!("connect over the socket: {}", error.chain()));
    let (user,): (String,) = sqlx::query_as("SELECT CURRENT_USER()")
        .fetch_one(engine.pool())
        .await
        .expect("query over the socket");
    assert_eq!(user, format!("{}@localhost", server().admin_user));
}
