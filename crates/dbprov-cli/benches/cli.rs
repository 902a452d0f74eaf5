//! CLI benchmark (issue 3): `dbprov apply` of N databases + users + grants from generated manifests, against
//! the engine-level workload of the provisioning benchmark (the same objects, driven in-process) in the same
//! run; then a no-change `dbprov plan` of them (wall time and catalog queries).
//!
//! `cargo bench -p dbprov-cli --bench cli` (`DBPROV_BENCH_N`, `DBPROV_BENCH_ROUNDS`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use dbprov_core::EngineKind;
use dbprov_engines::workload::{apply_all, drop_all, objects, password};
use dbprov_testkit::{MariaDbServer, PgServer, ServerAddress};

fn manifests(kind: EngineKind, server: &ServerAddress, count: usize, dir: &Path) {
    let engine = if kind == EngineKind::Postgres {
        "postgres"
    } else {
        "mariadb"
    };
    let mut text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: admin}}\nstringData: {{username: {}, password: \"{}\"}}\n---\n\
         apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {{name: bench}}\nspec:\n  engine: {engine}\n  \
         connection: {{host: {}, port: {}, database: {}, secretRef: {{name: admin}}}}\n",
        server.admin_user,
        server.admin_password,
        server.host,
        server.port,
        if kind == EngineKind::Postgres {
            "postgres"
        } else {
            "mysql"
        },
    );
    for index in 0..count {
        let privileges = if kind == EngineKind::Postgres {
            format!(
                "  postgres:\n    grants:\n      - database: bench_db_{index:04}\n        privileges: [CONNECT, CREATE, TEMPORARY]\n"
            )
        } else {
            format!(
                "  mysql:\n    grants:\n      - level: database\n        database: bench_db_{index:04}\n        privileges: [SELECT, INSERT, UPDATE, DELETE]\n"
            )
        };
        let _ = write!(
            text,
            "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: user-{index}}}\nstringData: {{password: \"{password}\"}}\n\
             ---\napiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseUser\nmetadata: {{name: user-{index}}}\nspec:\n  \
             instanceRef: {{name: bench}}\n  username: bench_user_{index:04}\n  existingPasswordSecret: {{name: user-{index}, key: password}}\n\
             ---\napiVersion: dbops.dbprovision.io/v1alpha1\nkind: Database\nmetadata: {{name: db-{index}}}\nspec:\n  \
             instanceRef: {{name: bench}}\n  name: bench_db_{index:04}\n  deletionProtection: false\n  deletionPolicy: Delete\n\
             ---\napiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseGrant\nmetadata: {{name: grant-{index}}}\nspec:\n  \
             userRef: {{name: user-{index}}}\n{privileges}",
            password = password(index),
        );
    }
    std::fs::write(dir.join("bench.yaml"), text).expect("write the manifests");
}

fn dbprov(dir: &Path, args: &[&str]) -> (Duration, String) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_dbprov"))
        .args(args)
        .current_dir(dir)
        .env("DBPROV_LOG", "dbprov_reconcile=debug")
        .env("DBPROV_LOG_FORMAT", "json")
        .output()
        .expect("run dbprov");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "dbprov {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (elapsed, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The catalog queries a run issued, from its debug log.
fn queries(log: &str) -> u64 {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|entry| entry["fields"]["queries"].as_u64())
        .sum()
}

struct Row {
    engine: &'static str,
    engine_apply: Duration,
    cli_apply: Duration,
    cli_plan: Duration,
    plan_queries: u64,
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    kind: EngineKind,
    server: &ServerAddress,
    count: usize,
    rounds: usize,
) -> Row {
    let workload = objects(kind, count);
    let engine = runtime
        .block_on(dbprov_engines::connect(kind, &server.admin_connection()))
        .expect("connect");
    let mut row = Row {
        engine: kind.display_name(),
        engine_apply: Duration::MAX,
        cli_apply: Duration::MAX,
        cli_plan: Duration::MAX,
        plan_queries: 0,
    };
    // A server still writing out the previous round's 200 dropped databases slows whatever runs next: each
    // timed run starts after a checkpoint (PostgreSQL), and the order alternates between rounds.
    let settle = || {
        if kind == EngineKind::Postgres {
            dbprov_testkit::psql(server, "postgres", "CHECKPOINT");
        }
    };
    for round in 0..rounds {
        let engine_run = |row: &mut Row| {
            settle();
            let started = Instant::now();
            runtime.block_on(apply_all(engine.as_ref(), &workload));
            row.engine_apply = row.engine_apply.min(started.elapsed());
            runtime.block_on(drop_all(engine.as_ref(), &workload));
        };
        let cli_run = |row: &mut Row| {
            let dir = tempfile::tempdir().expect("a working directory");
            manifests(kind, server, count, dir.path());
            settle();
            let (elapsed, _) = dbprov(dir.path(), &["apply", "-f", "bench.yaml"]);
            row.cli_apply = row.cli_apply.min(elapsed);
            let (elapsed, log) = dbprov(dir.path(), &["plan", "-f", "bench.yaml", "--detailed-exitcode"]);
            row.cli_plan = row.cli_plan.min(elapsed);
            row.plan_queries = queries(&log);
            runtime.block_on(drop_all(engine.as_ref(), &workload));
        };
        if round % 2 == 0 {
            engine_run(&mut row);
            cli_run(&mut row);
        } else {
            cli_run(&mut row);
            engine_run(&mut row);
        }
    }
    runtime.block_on(engine.close());
    row
}

fn main() {
    let count: usize = std::env::var("DBPROV_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let rounds: usize = std::env::var("DBPROV_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let postgres = PgServer::start();
    let mariadb = MariaDbServer::start();
    let rows = [
        measure(&runtime, EngineKind::Postgres, postgres.address(), count, rounds),
        measure(&runtime, EngineKind::MariaDb, mariadb.address(), count, rounds),
    ];
    println!(
        "\ndbprov apply of {count} databases + users + grants from manifests (best of {rounds} rounds)\n"
    );
    println!(
        "{:<11} {:>13} {:>11} {:>9} {:>16} {:>13}",
        "engine", "engine-level", "CLI apply", "overhead", "CLI no-change", "plan queries"
    );
    for row in rows {
        println!(
            "{:<11} {:>12.2}s {:>10.2}s {:>8.1}% {:>15.3}s {:>13}",
            row.engine,
            row.engine_apply.as_secs_f64(),
            row.cli_apply.as_secs_f64(),
            (row.cli_apply.as_secs_f64() / row.engine_apply.as_secs_f64() - 1.0) * 100.0,
            row.cli_plan.as_secs_f64(),
            row.plan_queries,
        );
    }
    println!("\ntarget: CLI overhead <= 10%");
}
