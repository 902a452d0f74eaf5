//! Project automation: `cargo xtask test` is the README's test command and what CI runs.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use dbprov_testkit::{MARIADB_ENV, MariaDbServer, POSTGRES_ENV, PgServer};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test [--no-lint] [-- <test filter/args>]   fmt + clippy, then the whole test suite against throwaway
                                             PostgreSQL and MariaDB servers started for the run
  servers                                    start the throwaway servers, print their env, wait for Ctrl-C";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("servers") => servers(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(mut command: Command, what: &str) -> Result<()> {
    eprintln!("xtask: {what}");
    let status = command
        .status()
        .with_context(|| format!("failed to start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false)
}

fn test(args: &[String]) -> Result<()> {
    let lint = !args.iter().any(|arg| arg == "--no-lint");
    let passthrough: Vec<String> = args
        .iter()
        .skip_while(|arg| *arg != "--")
        .skip(1)
        .cloned()
        .collect();
    if lint {
        let mut fmt = cargo();
        fmt.args(["fmt", "--all", "--", "--check"]);
        run(fmt, "cargo fmt --check")?;
        let mut clippy = cargo();
        clippy.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
        run(clippy, "cargo clippy -D warnings")?;
    }

    // One server of each kind for the whole run; every test process finds them through the environment.
    eprintln!("xtask: starting throwaway PostgreSQL and MariaDB servers");
    let postgres = PgServer::start();
    let mariadb = MariaDbServer::start();
    eprintln!(
        "xtask: PostgreSQL {} on 127.0.0.1:{}, MariaDB {} on 127.0.0.1:{}",
        postgres.address().version,
        postgres.address().port,
        mariadb.address().version,
        mariadb.address().port
    );

    let mut command = cargo();
    if has_nextest() {
        command.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        eprintln!("xtask: cargo-nextest not found; running cargo test");
        command.args(["test", "--workspace", "--no-fail-fast"]);
    }
    command.args(&passthrough);
    command
        .env(POSTGRES_ENV, postgres.address().to_env())
        .env(MARIADB_ENV, mariadb.address().to_env());
    let result = run(command, "the test suite");
    drop(postgres);
    drop(mariadb);
    result
}

fn servers() -> Result<()> {
    let postgres = PgServer::start().with_reaper();
    let mariadb = MariaDbServer::start().with_reaper();
    println!("export {POSTGRES_ENV}='{}'", postgres.address().to_env());
    println!("export {MARIADB_ENV}='{}'", mariadb.address().to_env());
    eprintln!("xtask: servers running; press Ctrl-C to stop them");
    loop {
        std::thread::park();
    }
}
