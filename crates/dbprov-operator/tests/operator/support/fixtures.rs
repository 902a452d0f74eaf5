//! Builders for fixture objects.

use std::process::Command;

use base64::Engine as _;
use dbprov_testkit::ServerAddress;
use serde_json::{Value, json};

/// The namespace test objects live in.
pub const NS: &str = "team";
/// The operator's namespace (credentials copies).
pub const OPERATOR_NS: &str = "dbprov-system";

fn encode(value: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

/// A Secret with the server's admin credentials.
pub fn admin_secret(name: &str, server: &ServerAddress) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "type": "Opaque",
        "data": {"username": encode(&server.admin_user), "password": encode(&server.admin_password)}
    })
}

/// A `DatabaseInstance` for a throwaway server (`engine`: postgres or mariadb).
pub fn instance(name: &str, engine: &str, secret: &str, server: &ServerAddress) -> Value {
    let mut spec = json!({
        "engine": engine,
        "connection": {"host": server.host, "port": server.port, "secretRef": {"name": secret}},
        "healthCheck": {"enabled": true, "intervalSeconds": 30, "timeoutSeconds": 5}
    });
    if engine == "postgres" {
        spec["connection"]["database"] = Value::from("postgres");
        spec["postgres"] = json!({"sslMode": "disable"});
    } else {
        spec["mysql"] = json!({"tls": "disabled"});
    }
    custom("DatabaseInstance", name, spec)
}

/// Any custom resource in [`NS`].
pub fn custom(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "dbops.dbprovision.io/v1alpha1", "kind": kind,
        "metadata": {"name": name, "namespace": NS},
        "spec": spec
    })
}

/// A `Database` on `instance`; `extra` is merged into the spec.
pub fn database(name: &str, instance: &str, database: &str, extra: Value) -> Value {
    let mut spec = json!({"instanceRef": {"name": instance}, "name": database});
    merge_into(&mut spec, extra);
    custom("Database", name, spec)
}

/// A `DatabaseUser` on `instance` with a generated password; `extra` is merged into the spec.
pub fn user(name: &str, instance: &str, username: &str, extra: Value) -> Value {
    let mut spec = json!({"instanceRef": {"name": instance}, "username": username});
    merge_into(&mut spec, extra);
    custom("DatabaseUser", name, spec)
}

fn merge_into(spec: &mut Value, extra: Value) {
    if let Value::Object(fields) = extra {
        for (key, value) in fields {
            spec[key] = value;
        }
    }
}

/// Sets an annotation.
pub fn annotate(object: &mut Value, key: &str, value: &str) {
    object["metadata"]["annotations"][key] = Value::from(value);
}

/// Whether `user` can log in to PostgreSQL with `password` (checked with `psql`, not with dbprov's code).
pub fn pg_login(server: &ServerAddress, user: &str, password: &str) -> bool {
    Command::new(server.bin_dir.join("psql"))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-h",
            &server.host,
            "-p",
            &server.port.to_string(),
        ])
        .args(["-U", user, "-d", "postgres", "-c", "SELECT current_user"])
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "5")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false)
}

/// Whether `user` can log in to MariaDB with `password` (checked with the `mariadb` client).
pub fn mariadb_login(server: &ServerAddress, user: &str, password: &str) -> bool {
    Command::new(server.bin_dir.join("mariadb"))
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            &server.host,
            "-P",
            &server.port.to_string(),
        ])
        .args(["-u", user, "--batch", "--skip-ssl", "-e", "SELECT CURRENT_USER()"])
        .env("MYSQL_PWD", password)
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false)
}

/// Whether a PostgreSQL database exists (checked with `psql`).
pub fn pg_database_exists(server: &ServerAddress, name: &str) -> bool {
    dbprov_testkit::psql(
        server,
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    )
    .trim()
        == "1"
}

/// Whether a PostgreSQL role exists.
pub fn pg_role_exists(server: &ServerAddress, name: &str) -> bool {
    dbprov_testkit::psql(
        server,
        "postgres",
        &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{name}'"),
    )
    .trim()
        == "1"
}
