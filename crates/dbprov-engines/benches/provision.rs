//! Provisioning benchmark (issue 2): 200 databases, each with one user and one grant, on throwaway PostgreSQL
//! and MariaDB servers, then a no-change re-plan. Baseline in the same run: the very same SQL statements fed
//! straight to `psql` / `mariadb`.
//!
//! `cargo bench -p dbprov-engines --features bench --bench provision` (`DBPROV_BENCH_N` changes the count, `DBPROV_BENCH_ROUNDS`
//! the rounds; the best round of each side is reported).

use std::time::{Duration, Instant};

use dbprov_core::EngineKind;
use dbprov_engines::workload::{apply_all, baseline, drop_all, objects, plan_all};
use dbprov_testkit::{MariaDbServer, PgServer, ServerAddress};

struct Row {
    engine: &'static str,
    dbprov_apply: Duration,
    baseline: Duration,
    no_change_plan: Duration,
    plan_queries: u32,
    apply_queries: u32,
    statements: usize,
}

async fn measure(kind: EngineKind, address: &ServerAddress, count: usize, rounds: usize) -> Row {
    let engine = dbprov_engines::connect(kind, &address.admin_connection())
        .await
        .expect("connect");
    let objects = objects(kind, count);
    let mut best_apply = Duration::MAX;
    let mut best_baseline = Duration::MAX;
    let mut best_plan = Duration::MAX;
    let mut plan_queries = 0;
    let mut apply_queries = 0;
    let mut statement_count = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let (statements, queries) = apply_all(engine.as_ref(), &objects).await;
        best_apply = best_apply.min(started.elapsed());
        apply_queries = queries;
        statement_count = statements.len();

        let started = Instant::now();
        plan_queries = plan_all(engine.as_ref(), &objects).await;
        best_plan = best_plan.min(started.elapsed());

        drop_all(engine.as_ref(), &objects).await;
        best_baseline = best_baseline.min(baseline(kind, address, &statements));
        drop_all(engine.as_ref(), &objects).await;
    }
    engine.close().await;
    Row {
        engine: kind.display_name(),
        dbprov_apply: best_apply,
        baseline: best_baseline,
        no_change_plan: best_plan,
        plan_queries,
        apply_queries,
        statements: statement_count,
    }
}

fn main() {
    let count: usize = std::env::var("DBPROV_BENCH_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let rounds: usize = std::env::var("DBPROV_BENCH_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let postgres = PgServer::start();
    let mariadb = MariaDbServer::start();
    let rows = vec![
        runtime.block_on(measure(EngineKind::Postgres, postgres.address(), count, rounds)),
        runtime.block_on(measure(EngineKind::MariaDb, mariadb.address(), count, rounds)),
    ];
    println!("\nprovision {count} databases + {count} users + {count} grants (best of {rounds} rounds)\n");
    println!(
        "{:<11} {:>10} {:>10} {:>9} {:>11} {:>13} {:>8} {:>9} {:>10}",
        "engine",
        "dbprov",
        "baseline",
        "ratio",
        "no-change",
        "plan/apply",
        "queries",
        "queries",
        "statements"
    );
    println!(
        "{:<11} {:>10} {:>10} {:>9} {:>11} {:>13} {:>8} {:>9} {:>10}",
        "", "apply", "(CLI)", "", "plan", "", "(plan)", "(apply)", ""
    );
    for row in rows {
        println!(
            "{:<11} {:>9.2}s {:>9.2}s {:>8.2}x {:>10.3}s {:>12.3}x {:>8} {:>9} {:>10}",
            row.engine,
            row.dbprov_apply.as_secs_f64(),
            row.baseline.as_secs_f64(),
            row.dbprov_apply.as_secs_f64() / row.baseline.as_secs_f64(),
            row.no_change_plan.as_secs_f64(),
            row.no_change_plan.as_secs_f64() / row.dbprov_apply.as_secs_f64(),
            row.plan_queries,
            row.apply_queries,
            row.statements,
        );
    }
    println!("\ntargets: apply <= 1.5x baseline; no-change plan <= 0.25x apply");
}
