//! The engine registry: the one module that branches on the engine kind. Everything above it (reconcilers,
//! migrations, clientdb, the CLI and the operator) holds a `Box<dyn Engine>` and never names an engine.

use dbprov_core::{Capabilities, ConnectionSpec, Engine, EngineError, EngineKind};

#[cfg(feature = "bench")]
pub mod workload;

/// Connects to an instance of `kind`. For `mysql` and `mariadb` the server's own flavour wins (a `mysql`
/// instance that turns out to be MariaDB is handled as MariaDB, and `Engine::server()` says so).
pub async fn connect(kind: EngineKind, spec: &ConnectionSpec) -> Result<Box<dyn Engine>, EngineError> {
    Ok(match kind {
        EngineKind::Postgres => Box::new(dbprov_postgres::PgEngine::connect(spec).await?),
        EngineKind::MySql | EngineKind::MariaDb => {
            Box::new(dbprov_mysql::MySqlEngine::connect(spec, kind).await?)
        }
        EngineKind::Sqlite => Box::new(dbprov_sqlite::SqliteEngine::connect(spec).await?),
    })
}

/// What an engine of `kind` can do, before connecting (for validation). MySQL capabilities assume a current
/// server of the declared flavour; the connected engine refines them by version.
pub fn capabilities(kind: EngineKind) -> Capabilities {
    match kind {
        EngineKind::Postgres => dbprov_postgres::CAPABILITIES,
        EngineKind::MySql => dbprov_mysql::capabilities(EngineKind::MySql, (8, 4, 0)),
        EngineKind::MariaDb => dbprov_mysql::capabilities(EngineKind::MariaDb, (11, 4, 0)),
        EngineKind::Sqlite => dbprov_sqlite::CAPABILITIES,
    }
}
