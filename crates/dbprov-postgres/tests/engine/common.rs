//! Helpers shared by the tests: connecting, names, applying, and independent checks through `psql`.

use dbprov_core::model::{Catalog, CatalogRequest, DatabaseSpec, RoleSpec};
use dbprov_core::quote::{quote_identifier, quote_literal};
use dbprov_core::{ApplyReport, Dialect, Engine, Name, NameKind, Plan};
use dbprov_postgres::PgEngine;
use dbprov_testkit::ServerAddress;

pub fn server() -> &'static ServerAddress {
    dbprov_testkit::postgres()
}

pub async fn engine() -> PgEngine {
    PgEngine::connect(&server().admin_connection())
        .await
        .expect("connect to the test server as its admin")
}

pub fn unique(prefix: &str) -> String {
    dbprov_testkit::unique_name(prefix)
}

pub fn name(value: &str) -> Name {
    Name::parse(NameKind::Table, value).expect("a valid test name")
}

/// Runs SQL through the real `psql` client and returns its trimmed, unaligned output.
pub fn psql(database: &str, sql: &str) -> String {
    dbprov_testkit::psql(server(), database, sql).trim().to_owned()
}

/// `"name"` for SQL given to `psql` (the checks must not depend on the code under test, but quoting a test's
/// own names with the shared quoting module keeps hostile-name tests readable; the names' exact bytes are
/// verified separately).
pub fn ident(name: &str) -> String {
    quote_identifier(Dialect::Postgres, name)
}

pub fn literal(value: &str) -> String {
    quote_literal(Dialect::Postgres, value).expect("no NUL in test values")
}

pub async fn apply(engine: &PgEngine, plan: &Plan) -> ApplyReport {
    engine
        .apply(plan)
        .await
        .unwrap_or_else(|error| panic!("apply failed: {}\nplan: {:#?}", error.chain(), plan.statements()))
}

pub async fn inspect_database(engine: &PgEngine, database: &str) -> Catalog {
    engine
        .inspect(&CatalogRequest::default().database(name(database), true))
        .await
        .expect("inspect the database")
}

pub async fn inspect_role(engine: &PgEngine, role: &str) -> Catalog {
    engine
        .inspect(&CatalogRequest::default().role(name(role)))
        .await
        .expect("inspect the role")
}

/// Plans and applies a database, returning the applied plan.
pub async fn ensure_database(engine: &PgEngine, spec: &DatabaseSpec) -> Plan {
    let catalog = inspect_database(engine, spec.name.as_str()).await;
    let plan = engine.plan_database(spec, &catalog).expect("plan the database");
    apply(engine, &plan).await;
    plan
}

/// Plans and applies a role, returning the applied plan.
pub async fn ensure_role(engine: &PgEngine, spec: &RoleSpec) -> Plan {
    let catalog = inspect_role(engine, spec.name.as_str()).await;
    let plan = engine.plan_role(spec, &catalog).expect("plan the role");
    apply(engine, &plan).await;
    plan
}

/// Best-effort cleanup through `psql`.
pub fn drop_database(database: &str) {
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(database)),
    );
}

pub fn drop_roles(roles: &[&str]) {
    for role in roles {
        let quoted = ident(role);
        // Objects of the role in the maintenance database (e.g. privileges on databases) go first.
        psql(
            "postgres",
            &format!(
                "DO $do$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {}) THEN EXECUTE 'DROP OWNED BY {}'; END IF; END $do$",
                literal(role),
                quoted.replace('\'', "''")
            ),
        );
        psql("postgres", &format!("DROP ROLE IF EXISTS {quoted}"));
    }
}
