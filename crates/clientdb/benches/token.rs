//! Token endpoint benchmark: `wrk` against an in-process `clientdb serve` (release build) on loopback, on
//! SQLite and PostgreSQL, with a minimal axum endpoint answering a fixed token JSON as the ceiling.
//!
//! Run: `cargo bench -p clientdb --bench token` (`CLIENTDB_BENCH_SECONDS`, default 10, per measurement;
//! `CLIENTDB_BENCH_SIGNING_ONLY=1` measures only the per-token signing cost).
//! Measures warm token requests/s at 64 connections and p99 at 8 connections (credentials in the cache),
//! cold requests/s (cache disabled, bcrypt cost 10), introspection requests/s, warm ES256 against the default
//! EdDSA, and the per-token signing and verification cost of ES256, EdDSA and RS256; then prints a table.
//! wrk shares the machine's CPUs with the server, as the baseline does.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use base64::Engine as _;
use clientdb::auth::AuthSettings;
use clientdb::config::{DatabaseConfig, DatabaseTarget, PoolSettings, RetryPolicy, ServerTarget};
use clientdb::registry::NewClient;
use clientdb::secret::HashPolicy;
use clientdb::server::{ServeSettings, Server};
use clientdb::token::{DEFAULT_SIGNING_ALGORITHM, KeySet, SigningAlgorithm, SigningKey, TokenIssuer};
use dbprov_core::{Secret, TlsMode};

struct WrkResult {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    failed: u64,
    requests: u64,
}

const WRK_REPORT: &str = r#"
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %.3f %.3f\n", summary.requests, summary.duration, errors,
    latency:percentile(50), latency:percentile(99)))
end
"#;

fn write_script(
    directory: &Path,
    name: &str,
    path: &str,
    authorization: &str,
    body: &str,
) -> std::path::PathBuf {
    let script = format!(
        "wrk.method = \"POST\"\nwrk.path = \"{path}\"\nwrk.body = \"{body}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n\
         wrk.headers[\"Authorization\"] = \"{authorization}\"\n{WRK_REPORT}"
    );
    let file = directory.join(name);
    std::fs::write(&file, script).expect("write the wrk script");
    file
}

fn wrk(address: SocketAddr, script: &Path, connections: u32, seconds: u64) -> WrkResult {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "30s",
            "-s",
        ])
        .arg(script)
        .arg(format!("http://{address}"))
        .output()
        .expect("run wrk");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no result:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let fields: Vec<f64> = line
        .split_whitespace()
        .map(|field| field.parse().unwrap())
        .collect();
    WrkResult {
        requests: fields[0] as u64,
        requests_per_second: fields[0] / (fields[1] / 1e6),
        failed: fields[2] as u64,
        p50_ms: fields[3] / 1000.0,
        p99_ms: fields[4] / 1000.0,
    }
}

fn basic(client_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    )
}

struct Row {
    scenario: String,
    result: WrkResult,
}

async fn start(database: DatabaseConfig, keys: &Path, algorithm: SigningAlgorithm, cache: usize) -> Server {
    let mut settings = ServeSettings::new(database);
    settings.listen = "127.0.0.1:0".into();
    settings.signing_key = keys.join(format!("{}.pem", algorithm.as_str()));
    settings.signing_algorithm = algorithm;
    settings.auth = AuthSettings {
        policy: HashPolicy::default(),
        cache_capacity: cache,
        ..AuthSettings::default()
    };
    Server::start(settings).await.expect("start clientdb")
}

/// Runs one database's scenarios; returns the rows.
fn database_scenarios(
    runtime: &tokio::runtime::Runtime,
    label: &str,
    database: DatabaseConfig,
    directory: &Path,
    seconds: u64,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let server = runtime.block_on(start(
        database.clone(),
        directory,
        DEFAULT_SIGNING_ALGORITHM,
        10_000,
    ));
    let address = server.local_addr();
    let created = runtime
        .block_on(
            server.state().registry.create(
                NewClient::new("bench")
                    .with_client_id(format!("bench-{label}"))
                    .with_scopes(["read"]),
            ),
        )
        .expect("seed a client");
    let authorization = basic(&created.client.client_id, created.secret.expose());
    let issuer = server.state().issuer.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = runtime.spawn(server.run(async move {
        let _ = stopped.await;
    }));
    let token_script = write_script(
        directory,
        &format!("token-{label}.lua"),
        "/oauth2/token",
        &authorization,
        "grant_type=client_credentials",
    );
    // Warm the cache and the pool.
    wrk(address, &token_script, 8, 1);
    rows.push(Row {
        scenario: format!("{label} warm token, 64 conns"),
        result: wrk(address, &token_script, 64, seconds),
    });
    rows.push(Row {
        scenario: format!("{label} warm token, 8 conns"),
        result: wrk(address, &token_script, 8, seconds),
    });
    let token = issuer
        .issue(&created.client.client_id, &["read".to_owned()])
        .unwrap()
        .access_token;
    let introspect_script = write_script(
        directory,
        &format!("introspect-{label}.lua"),
        "/oauth2/introspect",
        &authorization,
        &format!("token={token}"),
    );
    rows.push(Row {
        scenario: format!("{label} introspection, 64 conns"),
        result: wrk(address, &introspect_script, 64, seconds),
    });
    let _ = stop.send(());
    let _ = runtime.block_on(task);

    // Cold: the cache is off, so every request pays bcrypt cost 10.
    let cold = runtime.block_on(start(database, directory, DEFAULT_SIGNING_ALGORITHM, 0));
    let address = cold.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = runtime.spawn(cold.run(async move {
        let _ = stopped.await;
    }));
    rows.push(Row {
        scenario: format!("{label} cold token (bcrypt 10), 64 conns"),
        result: wrk(address, &token_script, 64, seconds),
    });
    let _ = stop.send(());
    let _ = runtime.block_on(task);
    rows
}

/// The ceiling: a minimal axum endpoint answering a fixed token JSON.
fn baseline(runtime: &tokio::runtime::Runtime, directory: &Path, seconds: u64) -> Row {
    let body: &'static str = r#"{"access_token":"eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl","token_type":"Bearer","expires_in":3600,"scope":"read"}"#;
    let router = Router::new().route(
        "/oauth2/token",
        post(move || async move {
            (
                [
                    ("content-type", "application/json"),
                    ("cache-control", "no-store"),
                ],
                body,
            )
        }),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let address = listener.local_addr().unwrap();
    let task = runtime.spawn(async move { axum::serve(listener, router).await });
    let script = write_script(
        directory,
        "baseline.lua",
        "/oauth2/token",
        "Basic eDp5",
        "grant_type=client_credentials",
    );
    wrk(address, &script, 8, 1);
    let result = wrk(address, &script, 64, seconds);
    task.abort();
    Row {
        scenario: "baseline: fixed token JSON (axum), 64 conns".into(),
        result,
    }
}

/// Per-token signing cost of each algorithm (single thread).
fn signing_costs() -> Vec<(SigningAlgorithm, Duration, Duration)> {
    [
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
    ]
    .into_iter()
    .map(|algorithm| {
        let (key, _) = SigningKey::generate(algorithm).unwrap();
        let issuer = TokenIssuer::new(
            Arc::new(KeySet::new(vec![key]).unwrap()),
            "https://bench.example",
            vec![],
            Duration::from_secs(3600),
        );
        let iterations = if algorithm == SigningAlgorithm::Rs256 {
            2_000
        } else {
            20_000
        };
        let scopes = ["read".to_owned()];
        let started = Instant::now();
        let mut last = String::new();
        for _ in 0..iterations {
            last = issuer.issue("bench-client", &scopes).unwrap().access_token;
        }
        let sign = started.elapsed() / iterations;
        let started = Instant::now();
        for _ in 0..iterations {
            issuer.verify(&last).unwrap();
        }
        (algorithm, sign, started.elapsed() / iterations)
    })
    .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: only run when benchmarking.
    if !std::env::args().any(|argument| argument == "--bench") {
        return;
    }
    if std::env::var("CLIENTDB_BENCH_SIGNING_ONLY").is_ok_and(|value| value == "1") {
        print_signing_costs(signing_costs());
        return;
    }
    dbprov_testkit::ensure_debian_packages(
        || Command::new("wrk").arg("--version").output().is_ok(),
        &["wrk"],
    );
    let seconds: u64 = std::env::var("CLIENTDB_BENCH_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let directory = tempfile::tempdir().unwrap();

    // `CLIENTDB_BENCH_POOL`: the pool size (default: the seeds' 25); `CLIENTDB_BENCH_ONLY`: sqlite or postgres.
    let pool = PoolSettings {
        max_open: std::env::var("CLIENTDB_BENCH_POOL")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(PoolSettings::default().max_open),
        ..PoolSettings::default()
    };
    let only = std::env::var("CLIENTDB_BENCH_ONLY").unwrap_or_default();
    let costs = signing_costs();
    let mut rows = vec![baseline(&runtime, directory.path(), seconds)];

    let sqlite = DatabaseConfig {
        target: DatabaseTarget::Sqlite {
            path: directory.path().join("bench.sqlite3"),
        },
        pool: pool.clone(),
        retry: RetryPolicy::once(),
    };
    if only.is_empty() || only == "sqlite" {
        rows.extend(database_scenarios(
            &runtime,
            "sqlite",
            sqlite.clone(),
            directory.path(),
            seconds,
        ));

        // ES256 on SQLite, warm: the algorithm comparison under load (the other rows use the default, EdDSA).
        {
            let server = runtime.block_on(start(sqlite, directory.path(), SigningAlgorithm::Es256, 10_000));
            let address = server.local_addr();
            let created = runtime
                .block_on(
                    server
                        .state()
                        .registry
                        .create(NewClient::new("bench-es256").with_scopes(["read"])),
                )
                .unwrap();
            let script = write_script(
                directory.path(),
                "token-es256.lua",
                "/oauth2/token",
                &basic(&created.client.client_id, created.secret.expose()),
                "grant_type=client_credentials",
            );
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let task = runtime.spawn(server.run(async move {
                let _ = stopped.await;
            }));
            wrk(address, &script, 8, 1);
            rows.push(Row {
                scenario: "sqlite warm token ES256, 64 conns".into(),
                result: wrk(address, &script, 64, seconds),
            });
            let _ = stop.send(());
            let _ = runtime.block_on(task);
        }
    }

    if only.is_empty() || only == "postgres" {
        let postgres = dbprov_testkit::postgres();
        let name = dbprov_testkit::unique_name("clientbench");
        dbprov_testkit::psql(postgres, "postgres", &format!("CREATE DATABASE {name}"));
        let pg = DatabaseConfig {
            target: DatabaseTarget::Postgres(ServerTarget {
                host: postgres.host.clone(),
                port: postgres.port,
                user: postgres.admin_user.clone(),
                password: Some(Secret::new(postgres.admin_password.clone())),
                database: name.clone(),
                tls_mode: TlsMode::Disable,
                tls_root_cert: None,
                tls_client_cert: None,
                tls_client_key: None,
            }),
            pool,
            retry: RetryPolicy::once(),
        };
        rows.extend(database_scenarios(
            &runtime,
            "postgres",
            pg,
            directory.path(),
            seconds,
        ));
        dbprov_testkit::psql(
            postgres,
            "postgres",
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        );
    }

    let ceiling = rows[0].result.requests_per_second;
    println!();
    println!(
        "clientdb token benchmark ({} s per run, wrk -t2, loopback, {} CPUs)",
        seconds,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!(
        "{:<46} {:>10} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "scenario", "req/s", "% ceil", "p50 ms", "p99 ms", "failed", "total"
    );
    for row in &rows {
        println!(
            "{:<46} {:>10.0} {:>8.1}% {:>9.2} {:>9.2} {:>8} {:>7}",
            row.scenario,
            row.result.requests_per_second,
            100.0 * row.result.requests_per_second / ceiling,
            row.result.p50_ms,
            row.result.p99_ms,
            row.result.failed,
            row.result.requests
        );
    }
    println!();
    print_signing_costs(costs);
}

fn print_signing_costs(costs: Vec<(SigningAlgorithm, Duration, Duration)>) {
    println!(
        "{:<10} {:>14} {:>16}",
        "algorithm", "sign µs/token", "verify µs/token"
    );
    for (algorithm, sign, verify) in costs {
        println!(
            "{:<10} {:>14.1} {:>16.1}",
            algorithm.as_str(),
            sign.as_secs_f64() * 1e6,
            verify.as_secs_f64() * 1e6
        );
    }
}
