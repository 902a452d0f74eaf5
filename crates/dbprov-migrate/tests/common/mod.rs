//! Test fixtures: one fresh database per test on the throwaway PostgreSQL and MariaDB servers or in a
//! temporary SQLite file, plus SQL run *outside* the code under test (psql, the mariadb client, or a plain
//! sqlx SQLite connection) to check what the runner did.

#![allow(dead_code)] // each test binary uses a different part of the fixtures

use std::path::{Path, PathBuf};

use dbprov_migrate::{MigrationTarget, Migrator, Source};
use dbprov_testkit::{ServerAddress, mariadb, mariadb_sql, postgres, psql, unique_name};
use sqlx::{Connection, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    MariaDb,
    Sqlite,
}

/// A database that exists for one test and is dropped afterwards.
pub struct TestDatabase {
    pub engine: Engine,
    pub name: String,
    address: Option<&'static ServerAddress>,
    sqlite_dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn new(engine: Engine, prefix: &str) -> Self {
        let name = unique_name(prefix);
        match engine {
            Engine::Postgres => {
                let address = postgres();
                psql(address, "postgres", &format!("CREATE DATABASE {name}"));
                Self {
                    engine,
                    name,
                    address: Some(address),
                    sqlite_dir: None,
                }
            }
            Engine::MariaDb => {
                let address = mariadb();
                mariadb_sql(address, &format!("CREATE DATABASE {name}"));
                Self {
                    engine,
                    name,
                    address: Some(address),
                    sqlite_dir: None,
                }
            }
            Engine::Sqlite => Self {
                engine,
                name,
                address: None,
                sqlite_dir: Some(dbprov_testkit::sqlite_dir()),
            },
        }
    }

    pub fn address(&self) -> &'static ServerAddress {
        self.address.expect("a server engine")
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.sqlite_dir
            .as_ref()
            .expect("a SQLite database")
            .path()
            .join(format!("{}.sqlite3", self.name))
    }

    /// The golang-migrate URL of this database, with `params` (`a=b&c=d`) appended.
    pub fn url_with(&self, params: &str) -> String {
        match self.engine {
            Engine::Postgres => {
                let a = self.address();
                let params = if params.is_empty() {
                    "sslmode=disable".to_owned()
                } else {
                    format!("sslmode=disable&{params}")
                };
                format!(
                    "postgres://{}:{}@{}:{}/{}?{params}",
                    a.admin_user, a.admin_password, a.host, a.port, self.name
                )
            }
            Engine::MariaDb => {
                let a = self.address();
                let query = if params.is_empty() {
                    String::new()
                } else {
                    format!("?{params}")
                };
                format!(
                    "mysql://{}:{}@tcp({}:{})/{}{query}",
                    a.admin_user, a.admin_password, a.host, a.port, self.name
                )
            }
            Engine::Sqlite => {
                let query = if params.is_empty() {
                    String::new()
                } else {
                    format!("?{params}")
                };
                format!("sqlite3://{}{query}", self.sqlite_path().display())
            }
        }
    }

    pub fn url(&self) -> String {
        self.url_with("")
    }

    pub fn target(&self) -> MigrationTarget {
        MigrationTarget::parse(&self.url()).expect("a valid test URL")
    }

    pub async fn migrator(&self, source: Source) -> Migrator {
        self.migrator_with("", source).await
    }

    pub async fn migrator_with(&self, params: &str, source: Source) -> Migrator {
        let target = MigrationTarget::parse(&self.url_with(params)).expect("a valid test URL");
        Migrator::connect(&target, source)
            .await
            .unwrap_or_else(|error| panic!("connect to {target}: {error}"))
            .with_lock_timeout(std::time::Duration::from_secs(10))
    }

    /// Runs `sql` independently of the code under test; rows are `|`-separated columns, one per line.
    pub async fn sql(&self, sql: &str) -> String {
        match self.engine {
            Engine::Postgres => {
                let (address, name, sql) = (self.address(), self.name.clone(), sql.to_owned());
                tokio::task::spawn_blocking(move || psql(address, &name, &sql))
                    .await
                    .expect("psql task")
                    .trim()
                    .to_owned()
            }
            Engine::MariaDb => {
                let (address, sql) = (self.address(), format!("USE {}; {sql}", self.name));
                tokio::task::spawn_blocking(move || mariadb_sql(address, &sql))
                    .await
                    .expect("mariadb task")
                    .trim()
                    .replace('\t', "|")
            }
            Engine::Sqlite => sqlite_sql(&self.sqlite_path(), sql).await,
        }
    }

    pub async fn table_exists(&self, table: &str) -> bool {
        let query = match self.engine {
            Engine::Postgres => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name = '{table}'"
            ),
            Engine::MariaDb => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = '{table}'",
                self.name
            ),
            Engine::Sqlite => {
                format!("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{table}'")
            }
        };
        self.sql(&query).await == "1"
    }

    /// The rows of the migrations table, `(version, dirty)`.
    pub async fn version_rows(&self, table: &str) -> Vec<(i64, bool)> {
        self.sql(&format!("SELECT version, dirty FROM {table}"))
            .await
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| {
                let (version, dirty) = line.split_once('|').expect("two columns");
                (
                    version.parse().expect("a version"),
                    matches!(dirty, "t" | "1" | "true"),
                )
            })
            .collect()
    }

    /// Creates the migrations table with golang-migrate's own DDL (copied from its drivers) and one row.
    pub async fn create_golang_migrate_table(&self, table: &str, version: i64, dirty: bool) {
        let ddl = match self.engine {
            Engine::Postgres => format!(
                "CREATE TABLE IF NOT EXISTS \"public\".\"{table}\" (version bigint not null primary key, dirty boolean not null)"
            ),
            Engine::MariaDb => {
                format!(
                    "CREATE TABLE `{table}` (version bigint not null primary key, dirty boolean not null)"
                )
            }
            Engine::Sqlite => format!(
                "\n\tCREATE TABLE IF NOT EXISTS {table} (version uint64,dirty bool);\n  CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON {table} (version);\n  "
            ),
        };
        self.sql(&ddl).await;
        let dirty = match self.engine {
            Engine::Postgres => dirty.to_string(),
            _ => u8::from(dirty).to_string(),
        };
        self.sql(&format!(
            "INSERT INTO {table} (version, dirty) VALUES ({version}, {dirty})"
        ))
        .await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort: a failed drop must not hide the test's own result.
        match self.engine {
            Engine::Postgres => {
                let _ = std::panic::catch_unwind(|| {
                    psql(
                        self.address(),
                        "postgres",
                        &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                    )
                });
            }
            Engine::MariaDb => {
                let _ = std::panic::catch_unwind(|| {
                    mariadb_sql(self.address(), &format!("DROP DATABASE IF EXISTS {}", self.name))
                });
            }
            Engine::Sqlite => {}
        }
    }
}

/// Runs SQL on a SQLite file through its own connection and renders the rows like `psql -A -t`.
pub async fn sqlite_sql(path: &Path, sql: &str) -> String {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut connection = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("open the SQLite file");
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("sqlite failed for {sql:?}: {error}"));
    let mut lines = Vec::new();
    for row in rows {
        let values: Vec<String> = (0..row.columns().len())
            .map(|index| {
                if let Ok(value) = row.try_get::<Option<i64>, _>(index) {
                    value.map(|v| v.to_string()).unwrap_or_default()
                } else if let Ok(value) = row.try_get::<Option<f64>, _>(index) {
                    value.map(|v| v.to_string()).unwrap_or_default()
                } else if let Ok(value) = row.try_get::<Option<String>, _>(index) {
                    value.unwrap_or_default()
                } else {
                    "<blob>".to_owned()
                }
            })
            .collect();
        lines.push(values.join("|"));
    }
    connection.close().await.expect("close the SQLite file");
    lines.join("\n")
}

/// An in-memory source from `(file name, body)` pairs.
pub fn source(files: &[(&str, &str)]) -> Source {
    Source::from_files(
        "test-source",
        files
            .iter()
            .map(|(name, body)| (name.to_string(), body.as_bytes().to_vec())),
    )
    .expect("a valid test source")
}

/// The examples' migration directory for `engine`.
pub fn example_directory(engine: Engine) -> PathBuf {
    let folder = match engine {
        Engine::Postgres => "migrations-postgres",
        Engine::MariaDb => "migrations",
        Engine::Sqlite => "migrations-sqlite",
    };
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/client-database")
        .join(folder)
}
