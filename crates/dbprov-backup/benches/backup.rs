//! Backup and restore benchmark against the shell pipelines people use today.
//!
//! ```text
//! cargo bench -p dbprov-backup --bench backup
//! DBPROV_BENCH_SIZE=256MiB DBPROV_BENCH_ENGINES=postgres cargo bench -p dbprov-backup --bench backup
//! ```
//!
//! For each engine it generates a database of about `DBPROV_BENCH_SIZE` (default 1 GiB, measured as the
//! server reports the database's size) on the throwaway servers of `dbprov-testkit`, then, in the same run:
//!
//! * backup: `pg_dump | gzip` / `mariadb-dump | gzip` (shell pipelines) against dbprov with zstd and with
//!   gzip (PostgreSQL: dbprov's default custom format, uncompressed by `pg_dump`);
//! * restore: `gunzip | psql` / `gunzip | mariadb` against dbprov restoring its zstd artifact (which
//!   includes the verification pass: size and SHA-256 of the stored bytes); on PostgreSQL also a plain-SQL
//!   artifact restored through `psql`, the baseline's own format. Each restore starts from a server that has written out the
//!   previous import (PostgreSQL `CHECKPOINT`, InnoDB dirty pages flushed), so the order does not decide.
//!
//! Every measured operation runs as its own process: the shell pipelines under `bash`, dbprov as this
//! binary re-executed with `DBPROV_BENCH_CHILD` set, so each peak RSS is a fresh process tree's. "tree RSS"
//! is the largest resident set of any process in the tree (from `wait4`), so it includes `pg_dump` or
//! `gzip`; "dbprov RSS" is the dbprov process's own peak (`VmHWM`), the figure the 64 MiB target is about.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dbprov_backup::tools::PostgresFormat;
use dbprov_backup::{
    BackupRequest, Compression, DatabaseTarget, RestoreRequest, Storage, StorageConfig, ToolLocator, backup,
    restore,
};
use dbprov_core::EngineKind;
use dbprov_testkit::{MARIADB_ENV, POSTGRES_ENV, ServerAddress, mariadb_sql, psql};
use serde::{Deserialize, Serialize};

const CHILD_ENV: &str = "DBPROV_BENCH_CHILD";
const MIB: f64 = 1024.0 * 1024.0;

/// What a child process runs.
#[derive(Debug, Serialize, Deserialize)]
enum ChildJob {
    Backup {
        engine: String,
        database: String,
        compression: String,
        /// PostgreSQL only: plain SQL instead of the custom format.
        #[serde(default)]
        plain: bool,
        directory: PathBuf,
    },
    Restore {
        engine: String,
        database: String,
        artifact: String,
        directory: PathBuf,
    },
}

/// What a child reports back on stdout.
#[derive(Debug, Serialize, Deserialize)]
struct ChildResult {
    artifact: String,
    raw_bytes: u64,
    stored_bytes: u64,
    peak_rss_kib: u64,
}

/// One row of the table.
struct Row {
    engine: &'static str,
    operation: String,
    wall: Duration,
    raw_bytes: u64,
    stored_bytes: u64,
    tree_rss_kib: u64,
    dbprov_rss_kib: Option<u64>,
    baseline_wall: Option<Duration>,
}

fn main() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        run_child(&job);
        return;
    }
    let size = std::env::var("DBPROV_BENCH_SIZE")
        .map(|value| {
            parse_size(&value).unwrap_or_else(|| panic!("DBPROV_BENCH_SIZE={value:?} is not a size"))
        })
        .unwrap_or(1 << 30);
    let engines = std::env::var("DBPROV_BENCH_ENGINES").unwrap_or_else(|_| "postgres,mariadb".into());
    let work = tempfile::Builder::new()
        .prefix("dbprov-bench-")
        .tempdir()
        .expect("a temporary directory");
    println!(
        "dbprov backup benchmark: {:.0} MiB per database, artifacts in {}",
        size as f64 / MIB,
        work.path().display()
    );
    let mut rows = Vec::new();
    for engine in engines
        .split(',')
        .map(str::trim)
        .filter(|engine| !engine.is_empty())
    {
        match engine {
            "postgres" => rows.extend(bench_postgres(size, work.path())),
            "mariadb" => rows.extend(bench_mariadb(size, work.path())),
            other => panic!("unknown engine {other:?} in DBPROV_BENCH_ENGINES (postgres, mariadb)"),
        }
    }
    print_table(&rows);
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

fn bench_postgres(size: u64, work: &Path) -> Vec<Row> {
    let address = dbprov_testkit::postgres();
    let database = format!("bench_pg_{}", std::process::id());
    let restored = |what: &str| format!("bench_pg_{}_{what}", std::process::id());
    psql(
        address,
        "postgres",
        &format!("DROP DATABASE IF EXISTS {database}"),
    );
    psql(address, "postgres", &format!("CREATE DATABASE {database}"));
    let started = Instant::now();
    psql(
        address,
        &database,
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer int NOT NULL, amount numeric(12, 2) NOT NULL, \
         created timestamptz NOT NULL, status text NOT NULL, note text)",
    );
    // About 190 bytes per row on disk with the primary key; batches of a million rows.
    let rows_needed = size / 190;
    let mut inserted = 0u64;
    while inserted < rows_needed {
        let batch = (rows_needed - inserted).min(1_000_000);
        psql(
            address,
            &database,
            &format!(
                "INSERT INTO orders SELECT g, g % 100000, (g % 1000000) / 100.0, \
                 timestamptz '2025-01-01' + g * interval '1 second', \
                 (ARRAY['new', 'paid', 'shipped', 'returned'])[1 + g % 4], \
                 md5(g::text) || ' ' || repeat(chr(97 + (g % 26)::int), 10 + (g % 50)::int) \
                 FROM generate_series({}, {}) g",
                inserted + 1,
                inserted + batch
            ),
        );
        inserted += batch;
    }
    psql(address, &database, "VACUUM ANALYZE orders");
    let actual: u64 = psql(address, &database, "SELECT pg_database_size(current_database())")
        .trim()
        .parse()
        .expect("a size");
    println!(
        "postgres: generated {inserted} rows, {:.0} MiB, in {:.1} s",
        actual as f64 / MIB,
        started.elapsed().as_secs_f64()
    );

    let bin = address.bin_dir.display().to_string();
    let connection = format!(
        "-h {} -p {} -U {}",
        address.host, address.port, address.admin_user
    );
    let environment = [
        ("PGPASSWORD", address.admin_password.as_str()),
        ("PGSSLMODE", "disable"),
    ];
    let baseline_file = work.join("pg-baseline.sql.gz");
    let mut rows = Vec::new();

    let baseline = run_shell(
        &format!(
            "'{bin}/pg_dump' {connection} -d {database} | gzip > '{}'",
            baseline_file.display()
        ),
        &environment,
    );
    let baseline_size = std::fs::metadata(&baseline_file).map(|m| m.len()).unwrap_or(0);
    rows.push(Row {
        engine: "postgres",
        operation: "baseline: pg_dump | gzip".into(),
        wall: baseline.0,
        raw_bytes: 0,
        stored_bytes: baseline_size,
        tree_rss_kib: baseline.1,
        dbprov_rss_kib: None,
        baseline_wall: None,
    });
    let mut zstd_artifact = String::new();
    let mut plain_artifact = String::new();
    for (compression, plain) in [("zstd", false), ("gzip", false), ("zstd", true)] {
        let (wall, tree, result) = run_child_job(&ChildJob::Backup {
            engine: "postgres".into(),
            database: database.clone(),
            compression: compression.into(),
            plain,
            directory: work.join("pg-dbprov"),
        });
        match (compression, plain) {
            ("zstd", false) => zstd_artifact = result.artifact.clone(),
            ("zstd", true) => plain_artifact = result.artifact.clone(),
            _ => {}
        }
        let format = if plain { "plain SQL" } else { "custom format" };
        rows.push(Row {
            engine: "postgres",
            operation: format!("dbprov backup: {compression} ({format})"),
            wall,
            raw_bytes: result.raw_bytes,
            stored_bytes: result.stored_bytes,
            tree_rss_kib: tree,
            dbprov_rss_kib: Some(result.peak_rss_kib),
            baseline_wall: Some(baseline.0),
        });
    }

    let by_hand = restored("baseline");
    psql(address, "postgres", &format!("CREATE DATABASE {by_hand}"));
    psql(address, "postgres", "CHECKPOINT");
    let restore_baseline = run_shell(
        &format!(
            "gunzip -c '{}' | '{bin}/psql' -X -q -v ON_ERROR_STOP=1 {connection} -d {by_hand} > /dev/null",
            baseline_file.display()
        ),
        &environment,
    );
    rows.push(Row {
        engine: "postgres",
        operation: "baseline: gunzip | psql".into(),
        wall: restore_baseline.0,
        raw_bytes: 0,
        stored_bytes: baseline_size,
        tree_rss_kib: restore_baseline.1,
        dbprov_rss_kib: None,
        baseline_wall: None,
    });
    let copy = restored("dbprov");
    psql(address, "postgres", &format!("CREATE DATABASE {copy}"));
    // The baseline's import is still being written out: start from the same quiet server.
    psql(address, "postgres", "CHECKPOINT");
    let (wall, tree, result) = run_child_job(&ChildJob::Restore {
        engine: "postgres".into(),
        database: copy.clone(),
        artifact: zstd_artifact,
        directory: work.join("pg-dbprov"),
    });
    rows.push(Row {
        engine: "postgres",
        operation: "dbprov restore: zstd (verify + pg_restore)".into(),
        wall,
        raw_bytes: result.raw_bytes,
        stored_bytes: result.stored_bytes,
        tree_rss_kib: tree,
        dbprov_rss_kib: Some(result.peak_rss_kib),
        baseline_wall: Some(restore_baseline.0),
    });
    // The same format as the baseline, to separate the pipeline from pg_restore-versus-psql.
    let plain_copy = restored("dbprov_plain");
    psql(address, "postgres", &format!("CREATE DATABASE {plain_copy}"));
    psql(address, "postgres", "CHECKPOINT");
    let (wall, tree, result) = run_child_job(&ChildJob::Restore {
        engine: "postgres".into(),
        database: plain_copy.clone(),
        artifact: plain_artifact,
        directory: work.join("pg-dbprov"),
    });
    rows.push(Row {
        engine: "postgres",
        operation: "dbprov restore: zstd plain (verify + psql)".into(),
        wall,
        raw_bytes: result.raw_bytes,
        stored_bytes: result.stored_bytes,
        tree_rss_kib: tree,
        dbprov_rss_kib: Some(result.peak_rss_kib),
        baseline_wall: Some(restore_baseline.0),
    });
    let count = |db: &str| {
        psql(address, db, "SELECT count(*), sum(amount) FROM orders")
            .trim()
            .to_owned()
    };
    let expected = count(&database);
    for db in [&by_hand, &copy, &plain_copy] {
        assert_eq!(count(db), expected, "{db} does not hold the source's rows");
    }
    for db in [&database, &by_hand, &copy, &plain_copy] {
        psql(address, "postgres", &format!("DROP DATABASE {db}"));
    }
    rows
}

// ---------------------------------------------------------------------------------------------------------
// MariaDB

fn bench_mariadb(size: u64, work: &Path) -> Vec<Row> {
    let address = dbprov_testkit::mariadb();
    let database = format!("bench_my_{}", std::process::id());
    let restored = |what: &str| format!("bench_my_{}_{what}", std::process::id());
    mariadb_sql(
        address,
        &format!("DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}"),
    );
    let started = Instant::now();
    mariadb_sql(
        address,
        &format!(
            "CREATE TABLE {database}.orders (id BIGINT PRIMARY KEY, customer INT NOT NULL, \
             amount DECIMAL(12, 2) NOT NULL, created DATETIME NOT NULL, status VARCHAR(10) NOT NULL, note TEXT) \
             ENGINE=InnoDB"
        ),
    );
    // Seed rows from the sequence engine, then double with INSERT ... SELECT until the size is reached.
    mariadb_sql(
        address,
        &format!(
            "USE {database}; INSERT INTO orders SELECT seq, seq % 100000, (seq % 1000000) / 100, \
             '2025-01-01' + INTERVAL seq SECOND, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'returned'), \
             CONCAT(MD5(seq), ' ', REPEAT(CHAR(97 + seq % 26), 10 + seq % 50)) FROM seq_1_to_100000"
        ),
    );
    let table_size = || -> u64 {
        mariadb_sql(
            address,
            &format!(
                "SELECT DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = '{database}' AND TABLE_NAME = 'orders'"
            ),
        )
        .trim()
        .parse()
        .expect("a size")
    };
    let mut rows_now: u64 = 100_000;
    while table_size() < size {
        // At most a million rows per statement keeps each transaction's undo log small.
        let batch = rows_now.min(1_000_000);
        mariadb_sql(
            address,
            &format!(
                "USE {database}; INSERT INTO orders SELECT id + {rows_now}, customer, amount, \
                 created + INTERVAL {rows_now} SECOND, status, CONCAT(MD5(id + {rows_now}), SUBSTRING(note, 33)) \
                 FROM orders WHERE id <= {batch}; ANALYZE TABLE orders"
            ),
        );
        rows_now += batch;
    }
    println!(
        "mariadb: generated {rows_now} rows, {:.0} MiB, in {:.1} s",
        table_size() as f64 / MIB,
        started.elapsed().as_secs_f64()
    );

    let bin = address.bin_dir.display().to_string();
    let connection = format!(
        "--no-defaults --protocol=TCP -h {} -P {} -u {} --skip-ssl",
        address.host, address.port, address.admin_user
    );
    let environment = [("MYSQL_PWD", address.admin_password.as_str())];
    let baseline_file = work.join("my-baseline.sql.gz");
    let mut rows = Vec::new();
    let baseline = run_shell(
        &format!(
            "'{bin}/mariadb-dump' {connection} --single-transaction --routines --triggers --events {database} \
             | gzip > '{}'",
            baseline_file.display()
        ),
        &environment,
    );
    let baseline_size = std::fs::metadata(&baseline_file).map(|m| m.len()).unwrap_or(0);
    rows.push(Row {
        engine: "mariadb",
        operation: "baseline: mariadb-dump | gzip".into(),
        wall: baseline.0,
        raw_bytes: 0,
        stored_bytes: baseline_size,
        tree_rss_kib: baseline.1,
        dbprov_rss_kib: None,
        baseline_wall: None,
    });
    let mut zstd_artifact = String::new();
    for compression in ["zstd", "gzip"] {
        let (wall, tree, result) = run_child_job(&ChildJob::Backup {
            engine: "mariadb".into(),
            database: database.clone(),
            compression: compression.into(),
            plain: false,
            directory: work.join("my-dbprov"),
        });
        if compression == "zstd" {
            zstd_artifact = result.artifact.clone();
        }
        rows.push(Row {
            engine: "mariadb",
            operation: format!("dbprov backup: {compression}"),
            wall,
            raw_bytes: result.raw_bytes,
            stored_bytes: result.stored_bytes,
            tree_rss_kib: tree,
            dbprov_rss_kib: Some(result.peak_rss_kib),
            baseline_wall: Some(baseline.0),
        });
    }

    let by_hand = restored("baseline");
    mariadb_sql(address, &format!("CREATE DATABASE {by_hand}"));
    settle_innodb(address);
    let restore_baseline = run_shell(
        &format!(
            "gunzip -c '{}' | '{bin}/mariadb' {connection} {by_hand}",
            baseline_file.display()
        ),
        &environment,
    );
    rows.push(Row {
        engine: "mariadb",
        operation: "baseline: gunzip | mariadb".into(),
        wall: restore_baseline.0,
        raw_bytes: 0,
        stored_bytes: baseline_size,
        tree_rss_kib: restore_baseline.1,
        dbprov_rss_kib: None,
        baseline_wall: None,
    });
    let copy = restored("dbprov");
    mariadb_sql(address, &format!("CREATE DATABASE {copy}"));
    // The baseline's import is still being written out: start from the same quiet server.
    settle_innodb(address);
    let (wall, tree, result) = run_child_job(&ChildJob::Restore {
        engine: "mariadb".into(),
        database: copy.clone(),
        artifact: zstd_artifact,
        directory: work.join("my-dbprov"),
    });
    rows.push(Row {
        engine: "mariadb",
        operation: "dbprov restore: zstd (verify + mariadb)".into(),
        wall,
        raw_bytes: result.raw_bytes,
        stored_bytes: result.stored_bytes,
        tree_rss_kib: tree,
        dbprov_rss_kib: Some(result.peak_rss_kib),
        baseline_wall: Some(restore_baseline.0),
    });
    let count = |db: &str| {
        mariadb_sql(address, &format!("SELECT COUNT(*), SUM(amount) FROM {db}.orders"))
            .trim()
            .to_owned()
    };
    let expected = count(&database);
    for db in [&by_hand, &copy] {
        assert_eq!(count(db), expected, "{db} does not hold the source's rows");
    }
    mariadb_sql(
        address,
        &format!("DROP DATABASE {database}; DROP DATABASE {by_hand}; DROP DATABASE {copy}"),
    );
    rows
}

// ---------------------------------------------------------------------------------------------------------
// Measuring

/// Runs a shell pipeline; returns the wall time and the largest RSS in its process tree (KiB).
fn run_shell(script: &str, environment: &[(&str, &str)]) -> (Duration, u64) {
    let mut command = Command::new("bash");
    command.arg("-c").arg(format!("set -o pipefail; {script}"));
    for (name, value) in environment {
        command.env(name, value);
    }
    let (wall, rss, _) = run_measured(command);
    (wall, rss)
}

/// Runs `job` in a fresh process of this binary; returns wall time, the tree's largest RSS and the result.
fn run_child_job(job: &ChildJob) -> (Duration, u64, ChildResult) {
    let mut command = Command::new(std::env::current_exe().expect("the benchmark's own path"));
    command
        .env(CHILD_ENV, serde_json::to_string(job).expect("a job serializes"))
        .env(POSTGRES_ENV, dbprov_testkit::postgres().to_env())
        .env(MARIADB_ENV, dbprov_testkit::mariadb().to_env());
    let (wall, rss, stdout) = run_measured(command);
    let result: ChildResult = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("the child printed {stdout:?}, not a result: {error}"));
    (wall, rss, result)
}

#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped with wait4, which also returns its rusage"
)]
fn run_measured(mut command: Command) -> (Duration, u64, String) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn a measured process");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout)
        .expect("read the child's output");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child (std never reaped it), with valid pointers to locals.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert!(waited > 0, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the measured process failed (status {status})"
    );
    (wall, usage.ru_maxrss as u64, stdout)
}

// ---------------------------------------------------------------------------------------------------------
// The child: one dbprov operation in a fresh process.

fn run_child(job: &str) {
    let job: ChildJob = serde_json::from_str(job).expect("a job from the parent");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        match job {
            ChildJob::Backup {
                engine,
                database,
                compression,
                plain,
                directory,
            } => {
                let storage =
                    Storage::open(&StorageConfig::Local { path: directory }).expect("local storage");
                let mut request = BackupRequest::new(target(&engine, &database));
                request.tools = tools(&engine);
                request.dump.postgres.format = if plain {
                    PostgresFormat::Plain
                } else {
                    PostgresFormat::Custom
                };
                request.compression = match compression.as_str() {
                    "zstd" => Compression::zstd(),
                    "gzip" => Compression::gzip(),
                    other => panic!("unknown compression {other}"),
                };
                let report = backup(&request, &storage, None)
                    .await
                    .expect("the backup succeeds");
                ChildResult {
                    artifact: report.artifact,
                    raw_bytes: report.metadata.raw_size_bytes,
                    stored_bytes: report.metadata.stored_size_bytes,
                    peak_rss_kib: 0,
                }
            }
            ChildJob::Restore {
                engine,
                database,
                artifact,
                directory,
            } => {
                let storage =
                    Storage::open(&StorageConfig::Local { path: directory }).expect("local storage");
                let mut request = RestoreRequest::new(&artifact, target(&engine, &database));
                request.tools = tools(&engine);
                let (progress, phases) = phase_trace();
                let report = restore(&request, &storage, progress)
                    .await
                    .expect("the restore succeeds");
                drop(phases);
                ChildResult {
                    artifact,
                    raw_bytes: report.raw_bytes,
                    stored_bytes: report.metadata.stored_size_bytes,
                    peak_rss_kib: 0,
                }
            }
        }
    });
    let result = ChildResult {
        peak_rss_kib: vm_hwm_kib(),
        ..result
    };
    println!("{}", serde_json::to_string(&result).expect("a result serializes"));
}

fn address(engine: &str) -> &'static ServerAddress {
    match engine {
        "postgres" => dbprov_testkit::postgres(),
        _ => dbprov_testkit::mariadb(),
    }
}

fn target(engine: &str, database: &str) -> DatabaseTarget {
    let kind = if engine == "postgres" {
        EngineKind::Postgres
    } else {
        EngineKind::MariaDb
    };
    DatabaseTarget::new(kind, address(engine).admin_connection(), database)
}

fn tools(engine: &str) -> ToolLocator {
    ToolLocator::in_directory(&address(engine).bin_dir)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------------------
// Output

fn parse_size(value: &str) -> Option<u64> {
    let value = value.trim();
    let split = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let number: u64 = value[..split].parse().ok()?;
    let unit = match value[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(unit)
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<9} {:<45} {:>9} {:>8} {:>11} {:>11} {:>14} {:>13}",
        "engine",
        "operation",
        "wall (s)",
        "vs base",
        "size (MiB)",
        "raw (MiB/s)",
        "tree RSS (MiB)",
        "dbprov (MiB)"
    );
    for row in rows {
        let speedup = row
            .baseline_wall
            .map(|baseline| format!("{:.2}x", baseline.as_secs_f64() / row.wall.as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        let rate = if row.raw_bytes > 0 {
            format!("{:.1}", row.raw_bytes as f64 / MIB / row.wall.as_secs_f64())
        } else {
            "-".into()
        };
        let own = row
            .dbprov_rss_kib
            .map(|kib| format!("{:.1}", kib as f64 / 1024.0))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<9} {:<45} {:>9.2} {:>8} {:>11.1} {:>11} {:>14.1} {:>13}",
            row.engine,
            row.operation,
            row.wall.as_secs_f64(),
            speedup,
            row.stored_bytes as f64 / MIB,
            rate,
            row.tree_rss_kib as f64 / 1024.0,
            own
        );
    }
    println!();
    println!("vs base: the baseline's wall time divided by this row's (above 1 is faster).");
    println!("tree RSS: largest resident set of any process of the operation (the dump tool, gzip, dbprov).");
    println!("dbprov: peak resident set of the dbprov process itself.");
}

/// Waits (up to two minutes) until InnoDB has written out its dirty pages, so a timed import does not pay for
/// the previous one's background flushing.
fn settle_innodb(address: &ServerAddress) {
    let previous = mariadb_sql(address, "SELECT @@GLOBAL.innodb_max_dirty_pages_pct");
    mariadb_sql(address, "SET GLOBAL innodb_max_dirty_pages_pct = 0");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let dirty: u64 = mariadb_sql(
            address,
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
             WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'",
        )
        .trim()
        .parse()
        .unwrap_or(0);
        if dirty <= 16 {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    mariadb_sql(
        address,
        &format!("SET GLOBAL innodb_max_dirty_pages_pct = {}", previous.trim()),
    );
}

/// With `DBPROV_BENCH_PHASES` set, a child prints when each phase of its operation starts (to standard error).
fn phase_trace() -> (
    Option<tokio::sync::watch::Sender<dbprov_backup::Progress>>,
    Option<tokio::task::JoinHandle<()>>,
) {
    if std::env::var_os("DBPROV_BENCH_PHASES").is_none() {
        return (None, None);
    }
    let (sender, mut receiver) = tokio::sync::watch::channel(dbprov_backup::Progress::default());
    let started = Instant::now();
    let task = tokio::spawn(async move {
        let mut phase = None;
        while receiver.changed().await.is_ok() {
            let now = receiver.borrow().phase;
            if phase != Some(now) {
                eprintln!("{:>8.3}s {now:?}", started.elapsed().as_secs_f64());
                phase = Some(now);
            }
        }
    });
    (Some(sender), Some(task))
}
