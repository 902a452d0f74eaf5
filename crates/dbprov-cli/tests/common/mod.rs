//! Running the built `dbprov` binary in a temporary directory, and writing manifests for the throwaway servers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dbprov_testkit::ServerAddress;

/// A temporary working directory (the state directory is `.dbprov` inside it).
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

/// What one `dbprov` run printed and returned.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with both streams unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("dbprov-cli-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn dbprov(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_dbprov"))
            .args(args)
            .current_dir(self.path())
            .env_remove("DBPROV_STATE_DIR")
            .env("NO_COLOR", "1")
            .output()
            .expect("run dbprov");
        Run::from(output)
    }

    /// Writes a manifest file and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the manifest directory");
        }
        std::fs::write(&path, contents).expect("write a manifest");
        path
    }

    /// The decoded value of a key of a Secret dbprov generated.
    pub fn secret_value(&self, namespace: &str, name: &str, key: &str) -> String {
        let text = std::fs::read_to_string(
            self.path()
                .join(".dbprov/secrets")
                .join(format!("{namespace}.{name}.yaml")),
        )
        .expect("the generated Secret exists");
        let document: serde_json::Value = serde_saphyr::from_str(&text).expect("the Secret is YAML");
        let encoded = document["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("the Secret has no key {key}"));
        use base64::Engine as _;
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .expect("base64"),
        )
        .expect("UTF-8")
    }

    /// Copies an example directory, pointing its instance at the test server (host, port, admin credentials).
    pub fn example(&self, name: &str, server: &ServerAddress, host_line: &str, port_line: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        let target = self.path().join("manifests").join(name);
        std::fs::create_dir_all(&target).expect("create the example copy");
        for entry in std::fs::read_dir(&source).expect("the example exists") {
            let path = entry.expect("an entry").path();
            if path.extension().is_none_or(|extension| extension != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .expect("read the example")
                .replace(host_line, &format!("host: {}", server.host))
                .replace(port_line, &format!("port: {}", server.port))
                .replace("username: root", &format!("username: {}", server.admin_user))
                .replace(
                    "username: postgres\n",
                    &format!("username: {}\n", server.admin_user),
                )
                .replace(
                    "password: change-me",
                    &format!("password: \"{}\"\n  # ", server.admin_password),
                );
            std::fs::write(target.join(path.file_name().expect("a file name")), text)
                .expect("write the example copy");
        }
        target
    }
}

/// An instance manifest (with its admin Secret) for a test server.
pub fn instance(name: &str, engine: &str, server: &ServerAddress, extra: &str) -> String {
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: {name}-admin
stringData:
  username: {user}
  password: \"{password}\"
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: {name}
spec:
  engine: {engine}
  connection:
    host: {host}
    port: {port}
    database: {database}
    secretRef:
      name: {name}-admin
{extra}",
        user = server.admin_user,
        password = server.admin_password,
        host = server.host,
        port = server.port,
        database = if engine == "postgres" { "postgres" } else { "mysql" },
    )
}

pub fn psql(sql: &str) -> String {
    dbprov_testkit::psql(dbprov_testkit::postgres(), "postgres", sql)
        .trim()
        .to_owned()
}

pub fn mariadb(sql: &str) -> String {
    dbprov_testkit::mariadb_sql(dbprov_testkit::mariadb(), sql)
        .trim()
        .to_owned()
}
