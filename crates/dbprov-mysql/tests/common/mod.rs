//! Helpers shared by the MariaDB integration tests.

#![allow(dead_code)]

use dbprov_core::model::{Catalog, CatalogRequest};
use dbprov_core::{Engine, EngineKind, Name, NameKind, Plan};
use dbprov_mysql::MySqlEngine;
use dbprov_testkit::ServerAddress;

pub fn server() -> &'static ServerAddress {
    dbprov_testkit::mariadb()
}

/// The admin engine on the shared MariaDB server.
pub async fn admin() -> MySqlEngine {
    MySqlEngine::connect(&server().admin_connection(), EngineKind::MariaDb)
        .await
        .expect("connect as the admin")
}

pub fn name(kind: NameKind, value: &str) -> Name {
    Name::parse(kind, value).expect("a valid name")
}

pub async fn inspect(engine: &MySqlEngine, request: &CatalogRequest) -> Catalog {
    engine.inspect(request).await.expect("inspect")
}

/// Applies a plan and returns its redacted statements.
pub async fn apply(engine: &MySqlEngine, plan: &Plan) -> Vec<String> {
    engine
        .apply(plan)
        .await
        .unwrap_or_else(|error| panic!("apply failed: {}", error.chain()))
        .executed
}

/// Runs SQL through the `mariadb` client as the admin (independent of the code under test).
pub fn sql(statement: &str) -> String {
    dbprov_testkit::mariadb_sql(server(), statement)
}

/// A string literal for SQL typed into the `mariadb` client (default `sql_mode`).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// A backtick-quoted identifier for SQL typed into the `mariadb` client.
pub fn ident(value: &str) -> String {
    format!("`{}`", value.replace('`', "``"))
}

/// The lines of `SHOW GRANTS FOR account`.
pub fn show_grants(account: &str) -> Vec<String> {
    sql(&format!("SHOW GRANTS FOR {account}"))
        .lines()
        .map(str::to_owned)
        .collect()
}
