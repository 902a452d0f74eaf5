//! PostgreSQL: `pg_dump` (custom format by default, plain SQL on request), `pg_restore` for the custom
//! format and `psql` for plain SQL.
//!
//! The connection goes through libpq's environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`,
//! `PGSSLMODE`, `PGSSLROOTCERT`, ...), the password through a `0600` `PGPASSFILE`. `pg_dump` is asked not to
//! compress (`--compress=0`): the pipeline compresses better and in parallel.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use dbprov_core::{Dialect, Endpoint, EngineKind, SqlBuilder, TlsMode};

use super::process::{SecretFiles, Tool, ToolProcess};
use super::{
    Completion, DatabaseTarget, Dump, Restore, TargetState, ToolError, ToolInfo, ToolLocator, timeout_seconds,
};
use crate::artifact::ArtifactFormat;

const ENGINE: &str = "PostgreSQL";

/// Objects a freshly created database does not have: relations, routines, user types, schemas other than
/// `public`, and extensions other than `plpgsql`.
const COUNT_USER_OBJECTS: &str = "SELECT \
    (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
      WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema') \
  + (SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
      WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema') \
  + (SELECT count(*) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
      WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' \
        AND t.typtype IN ('b', 'd', 'e', 'r', 'm') AND t.typcategory <> 'A') \
  + (SELECT count(*) FROM pg_catalog.pg_namespace n \
      WHERE n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'public')) \
  + (SELECT count(*) FROM pg_catalog.pg_extension WHERE extname <> 'plpgsql')";

const SERVER_VERSION: &str = "SHOW server_version";

/// `spec.postgres.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostgresFormat {
    /// `pg_dump --format=custom`: restorable selectively, with `--clean` for in-place restores.
    #[default]
    Custom,
    /// Plain SQL, restorable by hand with `psql` (or `gunzip | psql`).
    Plain,
}

impl PostgresFormat {
    /// The upstream API's `format` values; `directory` and `tar` cannot be streamed as one artifact.
    pub fn parse(value: &str) -> Result<Self, ToolError> {
        match value {
            "custom" => Ok(PostgresFormat::Custom),
            "plain" => Ok(PostgresFormat::Plain),
            other => Err(ToolError::Unsupported {
                engine: ENGINE,
                operation: format!("the {other:?} dump format (dbprov streams custom or plain dumps)"),
            }),
        }
    }
}

/// `spec.postgres` of a `DatabaseBackup`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostgresDumpOptions {
    pub format: PostgresFormat,
    /// `--schema` patterns (only these schemas).
    pub schemas: Vec<String>,
    /// `--exclude-schema` patterns.
    pub exclude_schemas: Vec<String>,
    /// `--table` patterns (only these tables).
    pub tables: Vec<String>,
    /// `--exclude-table` patterns.
    pub exclude_tables: Vec<String>,
    pub data_only: bool,
    pub schema_only: bool,
    /// `--no-owner`: no `ALTER ... OWNER TO` (plain format; the custom format decides at restore).
    pub no_owner: bool,
    /// `--no-privileges`: no `GRANT`/`REVOKE`.
    pub no_privileges: bool,
    /// `--lock-wait-timeout`: fail instead of waiting longer for a table lock.
    pub lock_wait_timeout: Option<Duration>,
}

/// `spec.postgres` of a `DatabaseRestore`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresRestoreOptions {
    /// `--no-owner`: restored objects belong to the restoring user (upstream's default: true).
    pub no_owner: bool,
    /// `--no-privileges`.
    pub no_privileges: bool,
    /// `--single-transaction`: all or nothing. Off by default because one transaction takes a lock per
    /// restored object and large schemas exceed `max_locks_per_transaction`.
    pub single_transaction: bool,
}

impl Default for PostgresRestoreOptions {
    fn default() -> Self {
        Self {
            no_owner: true,
            no_privileges: false,
            single_transaction: false,
        }
    }
}

/// libpq's environment for `target`, with secrets written into `secrets`.
fn environment(
    target: &DatabaseTarget,
    database: &str,
    secrets: &SecretFiles,
) -> Result<Vec<(&'static str, OsString)>, ToolError> {
    let connection = &target.connection;
    let mut environment: Vec<(&'static str, OsString)> = Vec::new();
    match &connection.endpoint {
        Endpoint::Tcp { host, port } => {
            environment.push(("PGHOST", host.into()));
            environment.push(("PGPORT", port.to_string().into()));
        }
        Endpoint::Socket { path } => environment.push(("PGHOST", path.into())),
        Endpoint::Directory { .. } => {
            return Err(ToolError::InvalidTarget {
                engine: ENGINE,
                reason: "a PostgreSQL server is reached over TCP or a Unix socket, not a directory".into(),
            });
        }
    }
    environment.push(("PGDATABASE", database.into()));
    environment.push(("PGAPPNAME", "dbprov-backup".into()));
    environment.push((
        "PGCONNECT_TIMEOUT",
        timeout_seconds(connection.connect_timeout).to_string().into(),
    ));
    if let Some(credentials) = &connection.credentials {
        environment.push(("PGUSER", credentials.username.clone().into()));
        if let Some(password) = &credentials.password {
            match passfile_line(password.expose()) {
                Some(line) => {
                    let path = secrets.write("pgpass", line.as_bytes(), "the password file")?;
                    environment.push(("PGPASSFILE", path.into()));
                }
                // A password file cannot hold a line break; the environment of our own child is the
                // remaining private channel (readable only by this user).
                None => environment.push(("PGPASSWORD", password.expose().into())),
            }
        }
    }
    let tls = &connection.tls;
    environment.push(("PGSSLMODE", tls.mode.as_str().into()));
    if tls.mode != TlsMode::Disable {
        if let Some(ca) = &tls.ca_pem {
            let path = secrets.write("root.crt", ca, "the CA certificate")?;
            environment.push(("PGSSLROOTCERT", path.into()));
        }
        if let Some(certificate) = &tls.client_cert_pem {
            let path = secrets.write("postgresql.crt", certificate, "the client certificate")?;
            environment.push(("PGSSLCERT", path.into()));
        }
        if let Some(key) = &tls.client_key_pem {
            let path = secrets.write("postgresql.key", key.expose().as_bytes(), "the client key")?;
            environment.push(("PGSSLKEY", path.into()));
        }
    }
    Ok(environment)
}

/// `*:*:*:*:password` with `\` and `:` escaped, or `None` when the password has a line break.
fn passfile_line(password: &str) -> Option<String> {
    if password.contains(['\n', '\r']) {
        return None;
    }
    Some(format!(
        "*:*:*:*:{}\n",
        password.replace('\\', "\\\\").replace(':', "\\:")
    ))
}

/// A conninfo string naming only the database (the rest comes from the environment), for `pg_restore -d`.
fn conninfo_database(database: &str) -> String {
    format!("dbname='{}'", database.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn find(tools: &ToolLocator, name: &str) -> Result<Tool, ToolError> {
    tools.find(&[name], true)
}

/// Runs one query with `psql` in `database` and returns the single value.
async fn query(psql: &Tool, target: &DatabaseTarget, database: &str, sql: &str) -> Result<String, ToolError> {
    let secrets = SecretFiles::new()?;
    let environment = environment(target, database, &secrets)?;
    let mut command = psql.command(&environment);
    command.args([
        "--no-password",
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
    ]);
    let output = psql.run(command).await?;
    Ok(output.trim().to_owned())
}

fn maintenance_database(target: &DatabaseTarget) -> &str {
    target.connection.database.as_deref().unwrap_or("postgres")
}

async fn database_exists(psql: &Tool, target: &DatabaseTarget) -> Result<bool, ToolError> {
    let mut builder = SqlBuilder::new(Dialect::Postgres);
    builder
        .push("SELECT count(*) FROM pg_catalog.pg_database WHERE datname = ")
        .literal(&target.database);
    let statement = builder.build()?;
    let count = query(psql, target, maintenance_database(target), statement.sql()).await?;
    Ok(count != "0")
}

pub async fn inspect_target(target: &DatabaseTarget, tools: &ToolLocator) -> Result<TargetState, ToolError> {
    let psql = find(tools, "psql")?;
    if !database_exists(&psql, target).await? {
        return Ok(TargetState::Missing);
    }
    let count = query(&psql, target, &target.database, COUNT_USER_OBJECTS).await?;
    let objects: u64 = count.parse().map_err(|_| ToolError::UnexpectedOutput {
        tool: psql.name.clone(),
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
    options: &PostgresDumpOptions,
    tools: &ToolLocator,
) -> Result<Dump, ToolError> {
    let pg_dump = find(tools, "pg_dump")?;
    let psql = find(tools, "psql")?;
    if options.data_only && options.schema_only {
        return Err(ToolError::InvalidTarget {
            engine: ENGINE,
            reason: "dataOnly and schemaOnly exclude each other".into(),
        });
    }
    let tool_version = pg_dump.version().await?;
    // Also proves the database is reachable before any artifact is created.
    let server_version = query(&psql, target, &target.database, SERVER_VERSION).await?;

    let secrets = SecretFiles::new()?;
    let environment = environment(target, &target.database, &secrets)?;
    let mut command = pg_dump.command(&environment);
    command.arg("--no-password");
    let format = match options.format {
        PostgresFormat::Custom => {
            command.args(["--format=custom", "--compress=0"]);
            ArtifactFormat::PostgresCustom
        }
        PostgresFormat::Plain => {
            command.arg("--format=plain");
            ArtifactFormat::PostgresPlain
        }
    };
    // `--option=value` keeps a pattern starting with `-` from being read as an option.
    for (flag, patterns) in [
        ("--schema", &options.schemas),
        ("--exclude-schema", &options.exclude_schemas),
        ("--table", &options.tables),
        ("--exclude-table", &options.exclude_tables),
    ] {
        for pattern in patterns {
            command.arg(format!("{flag}={pattern}"));
        }
    }
    for (enabled, flag) in [
        (options.data_only, "--data-only"),
        (options.schema_only, "--schema-only"),
        (options.no_owner, "--no-owner"),
        (options.no_privileges, "--no-privileges"),
    ] {
        if enabled {
            command.arg(flag);
        }
    }
    if let Some(timeout) = options.lock_wait_timeout {
        command.arg(format!("--lock-wait-timeout={}ms", timeout.as_millis().max(1)));
    }
    command.stdin(Stdio::null()).stdout(Stdio::piped());
    let mut process = ToolProcess::spawn(&pg_dump, command, Some(secrets))?;
    let stdout = process.take_stdout().ok_or_else(|| ToolError::UnexpectedOutput {
        tool: pg_dump.name.clone(),
        output: "no stdout pipe".into(),
    })?;
    Ok(Dump {
        reader: Box::new(stdout),
        info: ToolInfo {
            engine: EngineKind::Postgres,
            tool: pg_dump.name.clone(),
            tool_version,
            server_version,
        },
        format,
        completion: Completion::Process(process),
    })
}

pub async fn start_restore(
    target: &DatabaseTarget,
    format: ArtifactFormat,
    in_place: bool,
    options: &PostgresRestoreOptions,
    tools: &ToolLocator,
) -> Result<Restore, ToolError> {
    let secrets = SecretFiles::new()?;
    let environment = environment(target, &target.database, &secrets)?;
    let (tool, mut command) = match format {
        ArtifactFormat::PostgresCustom => {
            let pg_restore = find(tools, "pg_restore")?;
            let mut command = pg_restore.command(&environment);
            command.args(["--no-password", "--exit-on-error"]);
            if in_place {
                command.args(["--clean", "--if-exists"]);
            }
            for (enabled, flag) in [
                (options.no_owner, "--no-owner"),
                (options.no_privileges, "--no-privileges"),
                (options.single_transaction, "--single-transaction"),
            ] {
                if enabled {
                    command.arg(flag);
                }
            }
            // Without --dbname pg_restore would print SQL instead of restoring; the rest of the
            // connection comes from the environment.
            command.arg(format!("--dbname={}", conninfo_database(&target.database)));
            (pg_restore, command)
        }
        ArtifactFormat::PostgresPlain => {
            if in_place {
                return Err(ToolError::Unsupported {
                    engine: ENGINE,
                    operation:
                        "an in-place restore of a plain SQL dump (it cannot drop what exists; use the \
                                custom format, or restore into a new database)"
                            .into(),
                });
            }
            let psql = find(tools, "psql")?;
            let mut command = psql.command(&environment);
            command.args(["--no-password", "-X", "-q", "-v", "ON_ERROR_STOP=1"]);
            if options.single_transaction {
                command.arg("--single-transaction");
            }
            command.args(["-f", "-"]);
            (psql, command)
        }
        other => {
            return Err(ToolError::Unsupported {
                engine: ENGINE,
                operation: format!("restoring a {} artifact", other.as_str()),
            });
        }
    };
    command.stdin(Stdio::piped()).stdout(Stdio::null());
    let mut process = ToolProcess::spawn(&tool, command, Some(secrets))?;
    let stdin = process.take_stdin().ok_or_else(|| ToolError::UnexpectedOutput {
        tool: tool.name.clone(),
        output: "no stdin pipe".into(),
    })?;
    Ok(Restore {
        writer: Box::new(stdin),
        tool: tool.name.clone(),
        completion: Completion::Process(process),
    })
}

#[cfg(test)]
mod tests {
    use dbprov_core::{ConnectionSpec, Secret, TlsSpec};

    use super::*;

    #[test]
    fn passwords_are_escaped_for_the_password_file() {
        assert_eq!(passfile_line("a:b\\c").unwrap(), "*:*:*:*:a\\:b\\\\c\n");
        assert_eq!(passfile_line("two\nlines"), None);
    }

    #[test]
    fn the_database_goes_into_a_quoted_conninfo() {
        assert_eq!(conninfo_database("plain"), "dbname='plain'");
        assert_eq!(conninfo_database("it's a\\b"), "dbname='it\\'s a\\\\b'");
    }

    #[test]
    fn secrets_go_to_files_not_to_the_environment() {
        let connection = ConnectionSpec::tcp("db.internal", 6432)
            .with_credentials("backup", Some(Secret::new("s3cr:et")))
            .with_tls(TlsSpec {
                mode: TlsMode::VerifyFull,
                ca_pem: Some(b"CA".to_vec()),
                client_cert_pem: None,
                client_key_pem: Some(Secret::new("KEY")),
            });
        let target = DatabaseTarget::new(EngineKind::Postgres, connection, "orders");
        let secrets = SecretFiles::new().unwrap();
        let environment = environment(&target, "orders", &secrets).unwrap();
        let get = |name: &str| {
            environment
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string_lossy().into_owned())
        };
        assert_eq!(get("PGHOST").as_deref(), Some("db.internal"));
        assert_eq!(get("PGPORT").as_deref(), Some("6432"));
        assert_eq!(get("PGSSLMODE").as_deref(), Some("verify-full"));
        assert_eq!(get("PGPASSWORD"), None);
        assert!(
            environment
                .iter()
                .all(|(_, value)| !value.to_string_lossy().contains("s3cr"))
        );
        let passfile = get("PGPASSFILE").unwrap();
        assert_eq!(std::fs::read_to_string(passfile).unwrap(), "*:*:*:*:s3cr\\:et\n");
        assert_eq!(std::fs::read_to_string(get("PGSSLKEY").unwrap()).unwrap(), "KEY");
    }

    #[test]
    fn streamable_formats_only() {
        assert_eq!(PostgresFormat::parse("custom").unwrap(), PostgresFormat::Custom);
        assert_eq!(PostgresFormat::parse("plain").unwrap(), PostgresFormat::Plain);
        for other in ["directory", "tar"] {
            assert!(matches!(
                PostgresFormat::parse(other),
                Err(ToolError::Unsupported { .. })
            ));
        }
    }
}
