//! 500 small migrations up then down on PostgreSQL and MariaDB, with the runner and, as the baseline, the
//! same files sent by the servers' own clients (`psql -f ...`, `mariadb < files`) in one process each.
//!
//! `cargo bench -p dbprov-migrate --bench migrations` (uses the throwaway test servers). Each measurement is
//! repeated `DBPROV_BENCH_ROUNDS` times (default 3), alternating runner and baseline, and the fastest round is
//! reported, which keeps a busy machine from deciding the ratio. `DBPROV_BENCH_MIGRATIONS` changes the count.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dbprov_migrate::{MigrationTarget, Migrator, Source};
use dbprov_testkit::{ServerAddress, mariadb, mariadb_sql, postgres, psql, unique_name};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    MariaDb,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::MariaDb => "MariaDB",
        }
    }
}

/// Writes `count` migrations cycling through create table / add column / insert row, with matching downs.
fn write_migrations(dir: &Path, count: usize) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for index in 0..count {
        let version = index + 1;
        let table = format!("bench_{}", index / 3);
        let (up, down) = match index % 3 {
            0 => (
                format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY);\n"),
                format!("DROP TABLE {table};\n"),
            ),
            1 => (
                format!("ALTER TABLE {table} ADD COLUMN note VARCHAR(40);\n"),
                format!("ALTER TABLE {table} DROP COLUMN note;\n"),
            ),
            _ => (
                format!("INSERT INTO {table} (id, note) VALUES ({version}, 'migration {version}');\n"),
                format!("DELETE FROM {table} WHERE id = {version};\n"),
            ),
        };
        let up_path = dir.join(format!("{version:06}_step.up.sql"));
        let down_path = dir.join(format!("{version:06}_step.down.sql"));
        std::fs::write(&up_path, up).expect("write an up file");
        std::fs::write(&down_path, down).expect("write a down file");
        ups.push(up_path);
        downs.push(down_path);
    }
    downs.reverse();
    (ups, downs)
}

fn create_database(engine: Engine, address: &ServerAddress, name: &str) {
    match engine {
        Engine::Postgres => {
            psql(address, "postgres", &format!("CREATE DATABASE {name}"));
        }
        Engine::MariaDb => {
            mariadb_sql(address, &format!("CREATE DATABASE {name}"));
        }
    }
}

fn drop_database(engine: Engine, address: &ServerAddress, name: &str) {
    match engine {
        Engine::Postgres => {
            psql(
                address,
                "postgres",
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
        Engine::MariaDb => {
            mariadb_sql(address, &format!("DROP DATABASE IF EXISTS {name}"));
        }
    }
}

fn url(engine: Engine, address: &ServerAddress, database: &str) -> String {
    match engine {
        Engine::Postgres => format!(
            "postgres://{}:{}@{}:{}/{database}?sslmode=disable",
            address.admin_user, address.admin_password, address.host, address.port
        ),
        Engine::MariaDb => format!(
            "mysql://{}:{}@tcp({}:{})/{database}",
            address.admin_user, address.admin_password, address.host, address.port
        ),
    }
}

/// Sends `files` in order through one client process, stopping at the first error.
fn client_run(engine: Engine, address: &ServerAddress, database: &str, files: &[PathBuf]) -> Duration {
    let started = Instant::now();
    let status = match engine {
        Engine::Postgres => {
            let mut command = Command::new(address.bin_dir.join("psql"));
            command
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", &address.host, "-p"])
                .arg(address.port.to_string())
                .args(["-U", &address.admin_user, "-d", database])
                .env("PGPASSWORD", &address.admin_password)
                .env("PGSSLMODE", "disable")
                .stdout(Stdio::null());
            for file in files {
                command.arg("-f").arg(file);
            }
            command.status().expect("run psql")
        }
        Engine::MariaDb => {
            let mut child = Command::new(address.bin_dir.join("mariadb"))
                .args([
                    "--no-defaults",
                    "--protocol=TCP",
                    "--skip-ssl",
                    "-h",
                    &address.host,
                    "-P",
                ])
                .arg(address.port.to_string())
                .args(["-u", &address.admin_user, database])
                .env("MYSQL_PWD", &address.admin_password)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("run mariadb");
            let mut stdin = child.stdin.take().expect("a piped stdin");
            for file in files {
                stdin
                    .write_all(&std::fs::read(file).expect("read a migration"))
                    .expect("feed mariadb");
            }
            drop(stdin);
            child.wait().expect("wait for mariadb")
        }
    };
    assert!(status.success(), "the {} client failed", engine.name());
    started.elapsed()
}

struct Row {
    engine: Engine,
    dbprov_up: Duration,
    dbprov_down: Duration,
    baseline_up: Duration,
    baseline_down: Duration,
}

async fn measure(engine: Engine, count: usize) -> Row {
    let address = match engine {
        Engine::Postgres => postgres(),
        Engine::MariaDb => mariadb(),
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (ups, downs) = write_migrations(dir.path(), count);
    let source = Source::from_directory(dir.path()).expect("the generated migrations load");

    let database = unique_name("bench");
    create_database(engine, address, &database);
    let target = MigrationTarget::parse(&url(engine, address, &database)).expect("a valid URL");
    let mut migrator = Migrator::connect(&target, source).await.expect("connect");
    let started = Instant::now();
    let report = migrator.up(None).await.expect("all up migrations apply");
    let dbprov_up = started.elapsed();
    assert_eq!(report.applied.len(), count);
    let started = Instant::now();
    let report = migrator.down_all().await.expect("all down migrations apply");
    let dbprov_down = started.elapsed();
    assert_eq!(report.applied.len(), count);
    migrator.close().await.expect("close");
    drop_database(engine, address, &database);

    let baseline = unique_name("benchbase");
    create_database(engine, address, &baseline);
    let baseline_up = client_run(engine, address, &baseline, &ups);
    let baseline_down = client_run(engine, address, &baseline, &downs);
    drop_database(engine, address, &baseline);

    Row {
        engine,
        dbprov_up,
        dbprov_down,
        baseline_up,
        baseline_down,
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|value| *value > 0)
        .unwrap_or(default)
}

fn fastest(rows: &[Row]) -> Row {
    let min = |pick: fn(&Row) -> Duration| rows.iter().map(pick).min().expect("at least one round");
    Row {
        engine: rows[0].engine,
        dbprov_up: min(|row| row.dbprov_up),
        dbprov_down: min(|row| row.dbprov_down),
        baseline_up: min(|row| row.baseline_up),
        baseline_down: min(|row| row.baseline_down),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other arguments (filters) are ignored.
    let count = env_number("DBPROV_BENCH_MIGRATIONS", 500);
    let rounds = env_number("DBPROV_BENCH_ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rows: Vec<Row> = [Engine::Postgres, Engine::MariaDb]
        .into_iter()
        .map(|engine| {
            let measured: Vec<Row> = (0..rounds)
                .map(|_| runtime.block_on(measure(engine, count)))
                .collect();
            fastest(&measured)
        })
        .collect();

    println!(
        "{count} migrations, up then down; fastest of {rounds} rounds \
         (baseline: the same files through one psql / mariadb process)"
    );
    println!(
        "{:<11} {:>11} {:>12} {:>12} {:>14} {:>7}",
        "engine", "dbprov up", "dbprov down", "baseline up", "baseline down", "ratio"
    );
    for row in rows {
        let dbprov = row.dbprov_up + row.dbprov_down;
        let baseline = row.baseline_up + row.baseline_down;
        println!(
            "{:<11} {:>9.0}ms {:>10.0}ms {:>10.0}ms {:>12.0}ms {:>6.2}x",
            row.engine.name(),
            row.dbprov_up.as_secs_f64() * 1000.0,
            row.dbprov_down.as_secs_f64() * 1000.0,
            row.baseline_up.as_secs_f64() * 1000.0,
            row.baseline_down.as_secs_f64() * 1000.0,
            dbprov.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
