//! MySQL and MariaDB: `mariadb-dump`/`mysqldump` with `--single-transaction --routines --triggers
//! --events`, restored with the `mariadb`/`mysql` client.
//!
//! The dump names only the database (no `--databases`), so it holds no `CREATE DATABASE`/`USE` and restores
//! into any database — by hand too: `gunzip -c clients-20250106-120000.sql.gz | mysql clients_copy`.
//! Connection settings and the password go into a `0600` option file passed as `--defaults-file`, which
//! also keeps `/etc/mysql/my.cnf` and `~/.my.cnf` out of the picture. MariaDB's and MySQL's clients spell
//! TLS options differently, so the client's flavour is read from `--version` first.

use std::process::Stdio;

use dbprov_core::{Dialect, Endpoint, EngineKind, MySqlStringMode, SqlBuilder, TlsMode};

use super::process::{SecretFiles, Tool, ToolProcess, option_file_value};
use super::{
    Completion, DatabaseTarget, Dump, Restore, TargetState, ToolError, ToolInfo, ToolLocator, timeout_seconds,
};
use crate::artifact::ArtifactFormat;

const ENGINE: &str = "MySQL";

/// Tables, views, sequences, routines and events of the connection's default database.
const COUNT_USER_OBJECTS: &str = "SELECT \
    (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()) \
  + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()) \
  + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE())";

const SERVER_VERSION: &str = "SELECT VERSION()";

/// Literals are quoted for backslash-escaping sessions; this makes the session one whatever the server's
/// `sql_mode` says.
const BACKSLASH_ESCAPES: &str =
    "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')";

/// `spec.mysql` of a `DatabaseBackup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySqlDumpOptions {
    /// `--single-transaction`: a consistent InnoDB snapshot without locking (default true).
    pub single_transaction: bool,
    /// `--routines` (default true).
    pub routines: bool,
    /// `--triggers` (default true).
    pub triggers: bool,
    /// `--events` (default true).
    pub events: bool,
    /// Only these tables.
    pub tables: Vec<String>,
    /// `--ignore-table` for these tables.
    pub exclude_tables: Vec<String>,
}

impl Default for MySqlDumpOptions {
    fn default() -> Self {
        Self {
            single_transaction: true,
            routines: true,
            triggers: true,
            events: true,
            tables: Vec::new(),
            exclude_tables: Vec::new(),
        }
    }
}

/// Which client family a program belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    MariaDb,
    MySql,
}

async fn flavour_of(tool: &Tool) -> Result<(Flavour, String), ToolError> {
    let version = tool.version().await?;
    let flavour = if version.contains("MariaDB") || tool.name.starts_with("mariadb") {
        Flavour::MariaDb
    } else {
        Flavour::MySql
    };
    Ok((flavour, version))
}

/// The programs for a target: MySQL's names first for a `mysql` instance, MariaDB's for a `mariadb` one;
/// whichever exists.
fn find(tools: &ToolLocator, engine: EngineKind, mariadb: &str, mysql: &str) -> Result<Tool, ToolError> {
    let names = if engine == EngineKind::MariaDb {
        [mariadb, mysql]
    } else {
        [mysql, mariadb]
    };
    tools.find(&names, false)
}

/// The `[client]` option file for `target`.
fn option_file(target: &DatabaseTarget, flavour: Flavour) -> Result<String, ToolError> {
    let connection = &target.connection;
    let invalid = |what: &str, reason: &str| ToolError::InvalidTarget {
        engine: ENGINE,
        reason: format!("the {what} cannot be passed to the client: {reason}"),
    };
    let value = |what: &str, text: &str| option_file_value(text).map_err(|reason| invalid(what, reason));
    let mut lines = vec!["[client]".to_owned()];
    match &connection.endpoint {
        Endpoint::Tcp { host, port } => {
            lines.push(format!("host={}", value("host", host)?));
            lines.push(format!("port={port}"));
            // Otherwise `localhost` silently means the default Unix socket.
            lines.push("protocol=TCP".into());
        }
        Endpoint::Socket { path } => {
            let path = path
                .to_str()
                .ok_or_else(|| invalid("socket path", "it is not UTF-8"))?;
            lines.push(format!("socket={}", value("socket path", path)?));
            lines.push("protocol=SOCKET".into());
        }
        Endpoint::Directory { .. } => {
            return Err(ToolError::InvalidTarget {
                engine: ENGINE,
                reason: "a MySQL server is reached over TCP or a Unix socket, not a directory".into(),
            });
        }
    }
    if let Some(credentials) = &connection.credentials {
        lines.push(format!("user={}", value("user name", &credentials.username)?));
        if let Some(password) = &credentials.password {
            lines.push(format!("password={}", value("password", password.expose())?));
        }
    }
    lines.push("default-character-set=utf8mb4".into());
    // The client's own limit; the server's max_allowed_packet still applies.
    lines.push("max-allowed-packet=1073741824".into());
    lines.extend(tls_options(connection.tls.mode, flavour));
    Ok(lines.join("\n") + "\n")
}

/// TLS mode options. MariaDB's client (10.x) has no `ssl-mode`: `verify-ca` is mapped to
/// `ssl-verify-server-cert`, which also checks the host name — stricter, never weaker.
fn tls_options(mode: TlsMode, flavour: Flavour) -> Vec<String> {
    let options: &[&str] = match (flavour, mode) {
        (Flavour::MySql, TlsMode::Disable) => &["ssl-mode=DISABLED"],
        (Flavour::MySql, TlsMode::Prefer) => &["ssl-mode=PREFERRED"],
        (Flavour::MySql, TlsMode::Require) => &["ssl-mode=REQUIRED"],
        (Flavour::MySql, TlsMode::VerifyCa) => &["ssl-mode=VERIFY_CA"],
        (Flavour::MySql, TlsMode::VerifyFull) => &["ssl-mode=VERIFY_IDENTITY"],
        (Flavour::MariaDb, TlsMode::Disable) => &["skip-ssl"],
        // The MariaDB client's default: TLS when the server offers it, unverified.
        (Flavour::MariaDb, TlsMode::Prefer) => &[],
        (Flavour::MariaDb, TlsMode::Require) => &["ssl"],
        (Flavour::MariaDb, TlsMode::VerifyCa | TlsMode::VerifyFull) => &["ssl", "ssl-verify-server-cert"],
    };
    options.iter().map(|option| (*option).to_owned()).collect()
}

/// Writes the option file and the TLS material; returns the `--defaults-file=` argument.
fn defaults_file(
    target: &DatabaseTarget,
    flavour: Flavour,
    secrets: &SecretFiles,
) -> Result<String, ToolError> {
    let mut contents = option_file(target, flavour)?;
    let tls = &target.connection.tls;
    if tls.mode != TlsMode::Disable {
        let mut add = |option: &str, path: std::path::PathBuf| -> Result<(), ToolError> {
            let path = path.to_str().ok_or_else(|| ToolError::InvalidTarget {
                engine: ENGINE,
                reason: "the temporary directory's path is not UTF-8".into(),
            })?;
            let quoted = option_file_value(path).map_err(|reason| ToolError::InvalidTarget {
                engine: ENGINE,
                reason: reason.into(),
            })?;
            contents.push_str(&format!("{option}={quoted}\n"));
            Ok(())
        };
        if let Some(ca) = &tls.ca_pem {
            add("ssl-ca", secrets.write("ca.pem", ca, "the CA certificate")?)?;
        }
        if let Some(certificate) = &tls.client_cert_pem {
            add(
                "ssl-cert",
                secrets.write("client.pem", certificate, "the client certificate")?,
            )?;
        }
        if let Some(key) = &tls.client_key_pem {
            add(
                "ssl-key",
                secrets.write("client-key.pem", key.expose().as_bytes(), "the client key")?,
            )?;
        }
    }
    // Only the client knows a connect timeout (mysqldump refuses unknown options in [client]).
    contents.push_str(&format!(
        "[mysql]\nconnect-timeout={}\n",
        timeout_seconds(target.connection.connect_timeout)
    ));
    let path = secrets.write("client.cnf", contents.as_bytes(), "the option file")?;
    Ok(format!("--defaults-file={}", path.display()))
}

/// Runs SQL with the client (`database` as the default database when given) and returns the first value.
async fn query(
    client: &Tool,
    flavour: Flavour,
    target: &DatabaseTarget,
    database: Option<&str>,
    sql: &str,
) -> Result<String, ToolError> {
    let secrets = SecretFiles::new()?;
    let mut command = client.command(&[]);
    // --defaults-file must come first.
    command.arg(defaults_file(target, flavour, &secrets)?);
    command.args(["--batch", "--skip-column-names", "--raw"]);
    if let Some(database) = database {
        command.arg(format!("--database={database}"));
    }
    command.arg("-e").arg(sql);
    let output = client.run(command).await?;
    Ok(output.lines().last().unwrap_or_default().trim().to_owned())
}

pub async fn inspect_target(target: &DatabaseTarget, tools: &ToolLocator) -> Result<TargetState, ToolError> {
    let client = find(tools, target.engine, "mariadb", "mysql")?;
    let (flavour, _) = flavour_of(&client).await?;
    let mut builder = SqlBuilder::new(Dialect::MySql(MySqlStringMode::BackslashEscapes));
    builder
        .push(BACKSLASH_ESCAPES)
        .push("; SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ")
        .literal(&target.database);
    let statement = builder.build()?;
    if query(&client, flavour, target, None, statement.sql()).await? == "0" {
        return Ok(TargetState::Missing);
    }
    let count = query(
        &client,
        flavour,
        target,
        Some(&target.database),
        COUNT_USER_OBJECTS,
    )
    .await?;
    let objects: u64 = count.parse().map_err(|_| ToolError::UnexpectedOutput {
        tool: client.name.clone(),
        output: count.clone(),
    })?;
    Ok(if objects == 0 {
        TargetState::Empty
    } else {
        TargetState::NonEmpty { objects }
    })
}

pub async fn start_dump(
    target: &DatabaseTarget,
    options: &MySqlDumpOptions,
    tools: &ToolLocator,
) -> Result<Dump, ToolError> {
    let dump = find(tools, target.engine, "mariadb-dump", "mysqldump")?;
    let client = find(tools, target.engine, "mariadb", "mysql")?;
    let (flavour, tool_version) = flavour_of(&dump).await?;
    let (client_flavour, _) = flavour_of(&client).await?;
    // Also proves the database is reachable before any artifact is created.
    let server_version = query(
        &client,
        client_flavour,
        target,
        Some(&target.database),
        SERVER_VERSION,
    )
    .await?;
    let engine = if server_version.contains("MariaDB") {
        EngineKind::MariaDb
    } else {
        EngineKind::MySql
    };

    let secrets = SecretFiles::new()?;
    let mut command = dump.command(&[]);
    command.arg(defaults_file(target, flavour, &secrets)?);
    command.args(["--no-tablespaces", "--hex-blob"]);
    for (enabled, on, off) in [
        (options.single_transaction, "--single-transaction", None),
        (options.routines, "--routines", None),
        (options.triggers, "--triggers", Some("--skip-triggers")),
        (options.events, "--events", None),
    ] {
        if enabled {
            command.arg(on);
        } else if let Some(off) = off {
            command.arg(off);
        }
    }
    if flavour == Flavour::MySql {
        // GTID_PURGED statements make a single-database dump unrestorable into a server with history.
        command.arg("--set-gtid-purged=OFF");
    }
    for table in &options.exclude_tables {
        command.arg(format!("--ignore-table={}.{table}", target.database));
    }
    // `--` so a database or table named like an option is taken as a name.
    command.arg("--").arg(&target.database).args(&options.tables);
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut process = ToolProcess::spawn(&dump, command, Some(secrets))?;
    let stdout = process.take_stdout().ok_or_else(|| ToolError::UnexpectedOutput {
        tool: dump.name.clone(),
        output: "no stdout pipe".into(),
    })?;
    Ok(Dump {
        reader: Box::new(stdout),
        info: ToolInfo {
            engine,
            tool: dump.name.clone(),
            tool_version,
            server_version,
        },
        format: ArtifactFormat::MySqlSql,
        completion: Completion::Process(process),
    })
}

pub async fn start_restore(target: &DatabaseTarget, tools: &ToolLocator) -> Result<Restore, ToolError> {
    let client = find(tools, target.engine, "mariadb", "mysql")?;
    let (flavour, _) = flavour_of(&client).await?;
    let secrets = SecretFiles::new()?;
    let mut command = client.command(&[]);
    command.arg(defaults_file(target, flavour, &secrets)?);
    // Batch mode stops at the first error.
    command
        .arg("--batch")
        .arg(format!("--database={}", target.database));
    command.stdin(Stdio::piped()).stdout(Stdio::null());
    let mut process = ToolProcess::spawn(&client, command, Some(secrets))?;
    let stdin = process.take_stdin().ok_or_else(|| ToolError::UnexpectedOutput {
        tool: client.name.clone(),
        output: "no stdin pipe".into(),
    })?;
    Ok(Restore {
        writer: Box::new(stdin),
        tool: client.name.clone(),
        completion: Completion::Process(process),
    })
}

#[cfg(test)]
mod tests {
    use dbprov_core::{ConnectionSpec, Secret, TlsSpec};

    use super::*;

    fn target(mode: TlsMode) -> DatabaseTarget {
        let connection = ConnectionSpec::tcp("localhost", 3307)
            .with_credentials("backup", Some(Secret::new("p\"a\\ss word")))
            .with_tls(TlsSpec {
                mode,
                ..TlsSpec::default()
            });
        DatabaseTarget::new(EngineKind::MySql, connection, "clients")
    }

    #[test]
    fn the_option_file_forces_tcp_and_escapes_the_password() {
        let file = option_file(&target(TlsMode::Disable), Flavour::MariaDb).unwrap();
        assert!(file.starts_with("[client]\n"), "{file}");
        for line in [
            "host=\"localhost\"",
            "port=3307",
            "protocol=TCP",
            "user=\"backup\"",
            "password=\"p\\\"a\\\\ss word\"",
            "skip-ssl",
        ] {
            assert!(file.lines().any(|l| l == line), "{line} missing from:\n{file}");
        }
    }

    #[test]
    fn tls_modes_map_per_flavour() {
        assert_eq!(
            tls_options(TlsMode::VerifyFull, Flavour::MySql),
            ["ssl-mode=VERIFY_IDENTITY"]
        );
        assert_eq!(tls_options(TlsMode::Require, Flavour::MariaDb), ["ssl"]);
        assert_eq!(
            tls_options(TlsMode::VerifyCa, Flavour::MariaDb),
            ["ssl", "ssl-verify-server-cert"]
        );
        assert!(tls_options(TlsMode::Prefer, Flavour::MariaDb).is_empty());
    }
}
