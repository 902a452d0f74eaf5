//! The `clientdb` binary: client management with `-o json`, migrations, the seeds' `DB_*` variables, and
//! `serve` answering on a chosen port until SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dbprov_testkit::{psql, unique_name};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_clientdb");

/// Runs `clientdb` in `directory` with only the given database variables (plus fast hashing).
fn clientdb(directory: &Path, environment: &[(&str, &str)], arguments: &[&str]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .current_dir(directory)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
        .env("CLIENTDB_BCRYPT_COST", "4")
        .env("DB_CONNECT_ATTEMPTS", "1");
    for (name, value) in environment {
        command.env(name, value);
    }
    command.args(arguments).output().expect("run clientdb")
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "clientdb failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {}", String::from_utf8_lossy(&output.stdout)))
}

fn client_lifecycle(directory: &Path, environment: &[(&str, &str)]) {
    let created = json(&clientdb(
        directory,
        environment,
        &[
            "client",
            "create",
            "--name",
            "billing",
            "--grant-types",
            "client_credentials",
            "--scopes",
            "read write",
            "-o",
            "json",
        ],
    ));
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43);
    assert_eq!(created["scopes"], serde_json::json!(["read", "write"]));
    assert!(created.get("client_secret_hash").is_none());

    let listed = json(&clientdb(
        directory,
        environment,
        &["client", "list", "-o", "json"],
    ));
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|client| client["client_id"] == client_id.as_str())
    );
    let table = clientdb(directory, environment, &["client", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.starts_with("CLIENT_ID") && table.contains(&client_id),
        "{table}"
    );

    let updated = json(&clientdb(
        directory,
        environment,
        &[
            "client",
            "update",
            &client_id,
            "--scopes",
            "read",
            "--name",
            "billing v2",
            "-o",
            "json",
        ],
    ));
    assert_eq!(updated["scopes"], serde_json::json!(["read"]));
    assert_eq!(updated["client_name"], "billing v2");

    let rotated = json(&clientdb(
        directory,
        environment,
        &[
            "client",
            "rotate-secret",
            &client_id,
            "--grace-period",
            "1h",
            "-o",
            "json",
        ],
    ));
    assert_eq!(rotated["secret_version"], 2);
    assert_ne!(rotated["client_secret"], secret.as_str());
    assert!(rotated["previous_secret_valid_until"].is_string());

    let disabled = json(&clientdb(
        directory,
        environment,
        &["client", "disable", &client_id, "-o", "json"],
    ));
    assert_eq!(disabled["is_active"], false);
    let enabled = json(&clientdb(
        directory,
        environment,
        &["client", "enable", &client_id, "-o", "json"],
    ));
    assert_eq!(enabled["is_active"], true);
    let shown = json(&clientdb(
        directory,
        environment,
        &["client", "show", &client_id, "-o", "json"],
    ));
    assert_eq!(shown["secret_version"], 2);

    let deleted = json(&clientdb(
        directory,
        environment,
        &["client", "delete", &client_id, "-o", "json"],
    ));
    assert_eq!(deleted["deleted"], true);
    let again = json(&clientdb(
        directory,
        environment,
        &["client", "delete", &client_id, "-o", "json"],
    ));
    assert_eq!(again["deleted"], false, "deleting is idempotent");
    let missing = clientdb(directory, environment, &["client", "show", &client_id]);
    assert_eq!(missing.status.code(), Some(3), "not found");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("clientdb: error: ") && stderr.contains("does not exist"),
        "{stderr}"
    );

    let duplicate = ["client", "create", "--name", "x", "--client-id", "fixed-id"];
    assert!(clientdb(directory, environment, &duplicate).status.success());
    assert_eq!(
        clientdb(directory, environment, &duplicate).status.code(),
        Some(4),
        "already exists"
    );
}

#[test]
fn sqlite_by_default_in_the_working_directory() {
    let directory = tempfile::tempdir().unwrap();
    client_lifecycle(directory.path(), &[]);
    assert!(
        directory.path().join("clientdb.sqlite3").exists(),
        "DB_PATH defaults to ./clientdb.sqlite3"
    );
    let version = clientdb(directory.path(), &[], &["migrate", "version"]);
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "3");
    let down = clientdb(directory.path(), &[], &["migrate", "down", "--all"]);
    assert!(down.status.success(), "{}", String::from_utf8_lossy(&down.stderr));
    let version = clientdb(directory.path(), &[], &["migrate", "version"]);
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "-1");
    // With --no-migrate the CLI refuses an outdated schema instead of failing on a missing table.
    let refused = clientdb(directory.path(), &[], &["--no-migrate", "client", "list"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("migrate up"));
    let up = clientdb(directory.path(), &[], &["migrate", "up"]);
    assert!(String::from_utf8_lossy(&up.stdout).contains("3/u oauth2_client_secret_rotation"));
}

#[test]
fn postgres_through_the_seeds_variables() {
    let address = dbprov_testkit::postgres();
    let database = unique_name("clientcli");
    psql(address, "postgres", &format!("CREATE DATABASE {database}"));
    let port = address.port.to_string();
    let directory = tempfile::tempdir().unwrap();
    let environment = [
        ("DB_DRIVER", "postgres"),
        ("DB_HOST", address.host.as_str()),
        ("DB_PORT", port.as_str()),
        ("DB_USER", address.admin_user.as_str()),
        ("DB_PASSWORD", address.admin_password.as_str()),
        ("DB_NAME", database.as_str()),
        ("DB_SSLMODE", "disable"),
    ];
    client_lifecycle(directory.path(), &environment);
    let tables = psql(address, &database, "SELECT count(*) FROM oauth2_clients");
    assert_eq!(tables.trim(), "1");
    psql(
        address,
        "postgres",
        &format!("DROP DATABASE {database} WITH (FORCE)"),
    );
}

#[test]
fn mariadb_through_database_url() {
    let address = dbprov_testkit::mariadb();
    let database = unique_name("clientcli");
    dbprov_testkit::mariadb_sql(address, &format!("CREATE DATABASE {database}"));
    let password: String = url::form_urlencoded::byte_serialize(address.admin_password.as_bytes()).collect();
    let url = format!(
        "mysql://{}:{password}@{}:{}/{database}",
        address.admin_user, address.host, address.port
    );
    let directory = tempfile::tempdir().unwrap();
    client_lifecycle(directory.path(), &[("DATABASE_URL", url.as_str())]);
    dbprov_testkit::mariadb_sql(address, &format!("DROP DATABASE {database}"));
}

#[test]
fn unreachable_database_exits_5_with_a_masked_dsn() {
    let directory = tempfile::tempdir().unwrap();
    let port = dbprov_testkit::free_port().to_string();
    let output = clientdb(
        directory.path(),
        &[
            ("DB_DRIVER", "postgres"),
            ("DB_HOST", "127.0.0.1"),
            ("DB_PORT", port.as_str()),
            ("DB_PASSWORD", "do-not-print-me"),
            ("DB_CONNECT_TIMEOUT", "2s"),
        ],
        &["client", "list"],
    );
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("postgres://postgres:***@127.0.0.1"), "{stderr}");
    assert!(stderr.contains("clientdb: hint:"), "{stderr}");
    assert!(!stderr.contains("do-not-print-me"), "{stderr}");
}

#[test]
fn serve_answers_until_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let mut child = Command::new(BINARY)
        .current_dir(directory.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CLIENTDB_BCRYPT_COST", "4")
        .env("BOOTSTRAP_CLIENT_ID", "admin-client")
        .args(["serve", "--listen", "127.0.0.1:0", "--dev"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start clientdb serve");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let address = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            let _ = child.kill();
            panic!("clientdb serve exited early:\n{log}");
        }
        log.push_str(&line);
        if let Some(address) = line.trim().strip_prefix("clientdb: listening on ") {
            break address.to_owned();
        }
    };
    assert!(log.contains("INSECURE"), "--dev is loudly logged:\n{log}");
    let drain = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health: Value = client
            .get(format!("http://{address}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            health,
            serde_json::json!({ "status": "ok", "db_driver": "sqlite" })
        );
        let response = client
            .post(format!("http://{address}/oauth2/token"))
            .basic_auth("dev-client", Some("dev-secret-123"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        // The generated bootstrap secret works too.
        let secret = std::fs::read_to_string(directory.path().join("bootstrap-client-secret")).unwrap();
        let response = client
            .post(format!("http://{address}/oauth2/token"))
            .basic_auth("admin-client", Some(secret.trim()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
    assert!(directory.path().join("clientdb-signing-key.pem").exists());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "clientdb did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest = drain.join().unwrap();
    assert!(exit.success(), "exit {exit}:\n{log}{rest}");
    assert!(rest.contains("clientdb stopped"), "{rest}");
}
