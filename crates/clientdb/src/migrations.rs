//! The schema as golang-migrate migrations, embedded in the binary and applied with `dbprov-migrate`.
//!
//! The canonical files live in `examples/client-database/`: `migrations/` (MySQL/MariaDB),
//! `migrations-postgres/` and `migrations-sqlite/`. They are embedded at compile time; a test fails when a
//! file is added there but not here. The `schema_migrations` table is golang-migrate's, so the seeds'
//! `migrate` CLI and clientdb can take turns on the same database.

use dbprov_migrate::url::{MySqlTarget, PostgresTarget, SqliteTarget};
use dbprov_migrate::{
    DatabaseVersion, MigrationTarget, Migrator, RunError, RunReport, Source, SourceError, UrlError,
};

use crate::config::{DatabaseConfig, DatabaseTarget, Driver};

macro_rules! embed {
    ($directory:literal: $($name:literal),* $(,)?) => {
        &[$((
            $name,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/client-database/", $directory, "/", $name)),
        )),*]
    };
}

/// `migrations/` (MySQL and MariaDB).
pub const MYSQL: &[(&str, &str)] = embed!("migrations":
    "000001_create_oauth2_clients.up.sql",
    "000001_create_oauth2_clients.down.sql",
    "000002_index_oauth2_clients_is_active.up.sql",
    "000002_index_oauth2_clients_is_active.down.sql",
    "000003_oauth2_client_secret_rotation.up.sql",
    "000003_oauth2_client_secret_rotation.down.sql",
);

/// `migrations-postgres/`.
pub const POSTGRES: &[(&str, &str)] = embed!("migrations-postgres":
    "000001_create_oauth2_clients.up.sql",
    "000001_create_oauth2_clients.down.sql",
    "000002_index_oauth2_clients_is_active.up.sql",
    "000002_index_oauth2_clients_is_active.down.sql",
    "000003_oauth2_client_secret_rotation.up.sql",
    "000003_oauth2_client_secret_rotation.down.sql",
);

/// `migrations-sqlite/`.
pub const SQLITE: &[(&str, &str)] = embed!("migrations-sqlite":
    "000001_create_oauth2_clients.up.sql",
    "000001_create_oauth2_clients.down.sql",
    "000002_index_oauth2_clients_is_active.up.sql",
    "000002_index_oauth2_clients_is_active.down.sql",
    "000003_oauth2_client_secret_rotation.up.sql",
    "000003_oauth2_client_secret_rotation.down.sql",
);

/// The version this build's queries need.
pub const SCHEMA_VERSION: u64 = 3;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    #[error("the embedded {driver} migrations are invalid")]
    Source {
        driver: Driver,
        #[source]
        source: SourceError,
    },
    #[error("cannot build a migration target for {target}")]
    Target {
        target: String,
        #[source]
        source: UrlError,
    },
    #[error("failed to read a TLS file")]
    ReadCertificate {
        #[source]
        source: std::io::Error,
    },
    #[error("failed to migrate {target}")]
    Run {
        target: String,
        #[source]
        source: RunError,
    },
    #[error(
        "the database {target} is at schema version {found}, older than the {SCHEMA_VERSION} this build needs; run `clientdb migrate up` or start without --no-migrate"
    )]
    Outdated { target: String, found: DatabaseVersion },
}

impl MigrationError {
    pub fn kind(&self) -> &'static str {
        match self {
            MigrationError::Source { .. } => "source",
            MigrationError::ReadCertificate { .. } | MigrationError::Target { .. } => "config",
            MigrationError::Run { source, .. } => source.kind(),
            MigrationError::Outdated { .. } => "outdated",
        }
    }
}

/// The embedded files for `driver`.
pub fn files(driver: Driver) -> &'static [(&'static str, &'static str)] {
    match driver {
        Driver::Sqlite => SQLITE,
        Driver::Postgres => POSTGRES,
        Driver::MySql => MYSQL,
    }
}

/// The embedded migrations for `driver` as a `dbprov-migrate` source.
pub fn source(driver: Driver) -> Result<Source, MigrationError> {
    Source::from_files(
        format!("clientdb embedded {driver} migrations"),
        files(driver)
            .iter()
            .map(|(name, body)| ((*name).to_owned(), body.as_bytes().to_vec())),
    )
    .map_err(|source| MigrationError::Source { driver, source })
}

/// The migration target for the configured database (same host, credentials and TLS as the store).
pub fn target(config: &DatabaseConfig) -> Result<MigrationTarget, MigrationError> {
    if let DatabaseTarget::Sqlite { path } = &config.target {
        return Ok(MigrationTarget::Sqlite(SqliteTarget::from_path(path)));
    }
    let (driver, spec, database) = config
        .target
        .server_connection(config.pool.connect_timeout)
        .map_err(|source| MigrationError::ReadCertificate { source })?
        .expect("invariant: every target but SQLite is a server");
    let failed = |source| MigrationError::Target {
        target: config.masked_dsn(),
        source,
    };
    Ok(match driver {
        Driver::Postgres => {
            MigrationTarget::Postgres(PostgresTarget::from_connection(&spec, &database).map_err(failed)?)
        }
        _ => MigrationTarget::MySql(MySqlTarget::from_connection(&spec, &database).map_err(failed)?),
    })
}

async fn migrator(config: &DatabaseConfig) -> Result<Migrator, MigrationError> {
    let target = target(config)?;
    let source = source(config.driver())?;
    Migrator::connect(&target, source)
        .await
        .map_err(|source| MigrationError::Run {
            target: config.masked_dsn(),
            source,
        })
}

async fn run<T>(
    config: &DatabaseConfig,
    command: impl AsyncFnOnce(&mut Migrator) -> Result<T, RunError>,
) -> Result<T, MigrationError> {
    let mut migrator = migrator(config).await?;
    let result = command(&mut migrator).await;
    let closed = migrator.close().await;
    let wrap = |source| MigrationError::Run {
        target: config.masked_dsn(),
        source,
    };
    let value = result.map_err(wrap)?;
    closed.map_err(wrap)?;
    Ok(value)
}

/// Applies every pending migration (no change is success).
pub async fn up(config: &DatabaseConfig) -> Result<RunReport, MigrationError> {
    let report = run(config, async |migrator: &mut Migrator| migrator.up(None).await).await?;
    for step in &report.applied {
        tracing::info!(dsn = %config.masked_dsn(), migration = %step, "applied migration");
    }
    Ok(report)
}

/// Rolls back `limit` migrations, or all of them.
pub async fn down(config: &DatabaseConfig, limit: Option<usize>) -> Result<RunReport, MigrationError> {
    run(config, async |migrator: &mut Migrator| match limit {
        Some(limit) => migrator.down(Some(limit)).await,
        None => migrator.down_all().await,
    })
    .await
}

pub async fn version(config: &DatabaseConfig) -> Result<DatabaseVersion, MigrationError> {
    run(config, async |migrator: &mut Migrator| migrator.version().await).await
}

/// With `--no-migrate`: refuses to start on a schema older than this build's queries need.
pub async fn ensure_current(config: &DatabaseConfig) -> Result<(), MigrationError> {
    let found = version(config).await?;
    match found.version {
        Some(version) if version >= SCHEMA_VERSION && !found.dirty => Ok(()),
        _ => Err(MigrationError::Outdated {
            target: config.masked_dsn(),
            found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    /// Every file in the canonical directories is embedded, byte for byte, and nothing else.
    #[test]
    fn embedded_files_match_the_directories() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/client-database");
        for (directory, embedded) in [
            ("migrations", MYSQL),
            ("migrations-postgres", POSTGRES),
            ("migrations-sqlite", SQLITE),
        ] {
            let on_disk: BTreeSet<String> = std::fs::read_dir(root.join(directory))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            let names: BTreeSet<String> = embedded.iter().map(|(name, _)| (*name).to_owned()).collect();
            assert_eq!(
                on_disk, names,
                "{directory}: embed new migration files in migrations.rs"
            );
            for (name, body) in embedded {
                assert_eq!(
                    std::fs::read_to_string(root.join(directory).join(name)).unwrap(),
                    *body
                );
            }
        }
    }

    #[test]
    fn sources_parse_and_end_at_the_schema_version() {
        for driver in [Driver::Sqlite, Driver::Postgres, Driver::MySql] {
            let source = source(driver).unwrap();
            assert_eq!(source.last(), Some(SCHEMA_VERSION), "{driver}");
            assert!(
                source.versions().all(|version| source.down(version).is_some()),
                "{driver}"
            );
        }
    }
}
