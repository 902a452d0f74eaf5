//! Running the dump and restore programs: a clean environment, secrets in private files, stderr kept for
//! the error message, and the process killed when its handle is dropped.

use std::ffi::OsString;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::ToolError;

/// How much of a tool's stderr is kept for the error message (the end, where the fatal error is).
const STDERR_TAIL: usize = 16 * 1024;

/// Variables a tool may inherit; everything else (a stray `PGSERVICE`, `MYSQL_HOST`, ...) is dropped so the
/// connection is exactly what the spec says.
const INHERITED: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"];

/// A located program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// The program's file name (`pg_dump`, `mariadb-dump`), for messages.
    pub name: String,
    pub path: PathBuf,
}

impl Tool {
    /// A command with a clean environment plus `environment`.
    pub fn command(&self, environment: &[(&str, OsString)]) -> Command {
        let mut command = Command::new(&self.path);
        command.env_clear();
        for name in INHERITED {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        for (name, value) in environment {
            command.env(name, value);
        }
        command.kill_on_drop(true);
        command
    }

    /// `<tool> --version`, first line.
    pub async fn version(&self) -> Result<String, ToolError> {
        let output = self
            .command(&[])
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| ToolError::Spawn {
                tool: self.name.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ToolError::Failed {
                tool: self.name.clone(),
                status: describe_status(output.status),
                stderr: tail(&output.stderr),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned())
    }

    /// Runs the tool to completion and returns its stdout.
    pub async fn run(&self, mut command: Command) -> Result<String, ToolError> {
        let output = command
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|source| ToolError::Spawn {
                tool: self.name.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ToolError::Failed {
                tool: self.name.clone(),
                status: describe_status(output.status),
                stderr: tail(&output.stderr),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// A private directory (0700, removed on drop) for the files a tool reads secrets from: a MySQL option file,
/// a libpq password file, TLS keys.
#[derive(Debug)]
pub struct SecretFiles {
    directory: tempfile::TempDir,
}

impl SecretFiles {
    pub fn new() -> Result<Self, ToolError> {
        let directory = tempfile::Builder::new()
            .prefix("dbprov-tool-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .map_err(|source| ToolError::SecretFile {
                what: "a private directory",
                source,
            })?;
        Ok(Self { directory })
    }

    /// Writes a file readable by this user only.
    pub fn write(&self, file_name: &str, contents: &[u8], what: &'static str) -> Result<PathBuf, ToolError> {
        let path = self.directory.path().join(file_name);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut file| io::Write::write_all(&mut file, contents));
        written.map_err(|source| ToolError::SecretFile { what, source })?;
        Ok(path)
    }
}

/// A running dump or restore program.
#[derive(Debug)]
pub struct ToolProcess {
    tool: String,
    child: Child,
    stderr: Option<JoinHandle<String>>,
    // Kept alive (not read) until the process is done with its files.
    _secrets: Option<SecretFiles>,
}

impl ToolProcess {
    /// Starts `command` with stderr captured; stdin and stdout as the caller configured them.
    pub fn spawn(tool: &Tool, mut command: Command, secrets: Option<SecretFiles>) -> Result<Self, ToolError> {
        command.stderr(Stdio::piped());
        // Arguments never hold secrets (those are in files), so they can be logged.
        tracing::debug!(tool = %tool.path.display(), arguments = ?command.as_std().get_args().collect::<Vec<_>>(), "starting");
        let mut child = command.spawn().map_err(|source| ToolError::Spawn {
            tool: tool.name.clone(),
            source,
        })?;
        let stderr = child.stderr.take().map(|mut pipe| {
            tokio::spawn(async move {
                let mut kept = Vec::new();
                let mut buffer = vec![0u8; 8192];
                loop {
                    match pipe.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(read) => {
                            kept.extend_from_slice(&buffer[..read]);
                            if kept.len() > 2 * STDERR_TAIL {
                                kept.drain(..kept.len() - STDERR_TAIL);
                            }
                        }
                    }
                }
                tail(&kept)
            })
        });
        Ok(Self {
            tool: tool.name.clone(),
            child,
            stderr,
            _secrets: secrets,
        })
    }

    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Waits for the exit; a non-zero status or a signal is an error carrying the end of stderr.
    pub async fn finish(mut self) -> Result<(), ToolError> {
        let status = self.child.wait().await.map_err(|source| ToolError::Spawn {
            tool: self.tool.clone(),
            source,
        })?;
        let stderr = match self.stderr.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        if status.success() {
            if !stderr.is_empty() {
                tracing::debug!(tool = %self.tool, %stderr, "tool finished with messages");
            }
            return Ok(());
        }
        Err(ToolError::Failed {
            tool: self.tool.clone(),
            status: describe_status(status),
            stderr,
        })
    }

    /// Kills the process (the stream it was part of failed) and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// The last [`STDERR_TAIL`] bytes of a tool's output, as trimmed text.
fn tail(output: &[u8]) -> String {
    let start = output.len().saturating_sub(STDERR_TAIL);
    String::from_utf8_lossy(&output[start..]).trim().to_owned()
}

/// Escapes a value for a MySQL option file or a libpq-style quoted string: `\` and `"` escaped, control
/// characters as escape sequences, all inside double quotes.
pub fn option_file_value(value: &str) -> Result<String, &'static str> {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for ch in value.chars() {
        match ch {
            '\\' => quoted.push_str("\\\\"),
            '"' => quoted.push_str("\\\""),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '\0' => return Err("it contains a NUL byte"),
            _ => quoted.push(ch),
        }
    }
    quoted.push('"');
    Ok(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_are_quoted_and_escaped() {
        assert_eq!(option_file_value("plain").unwrap(), "\"plain\"");
        assert_eq!(option_file_value("a\"b\\c\nd").unwrap(), "\"a\\\"b\\\\c\\nd\"");
        assert!(option_file_value("nul\0").is_err());
    }

    #[test]
    fn stderr_keeps_the_end() {
        let long = format!("{}THE ERROR", "x".repeat(3 * STDERR_TAIL));
        let kept = tail(long.as_bytes());
        assert!(kept.ends_with("THE ERROR") && kept.len() == STDERR_TAIL);
    }

    #[tokio::test]
    async fn a_failing_tool_reports_status_and_stderr() {
        let tool = Tool {
            name: "sh".into(),
            path: "/bin/sh".into(),
        };
        let mut command = tool.command(&[("DBPROV_PROBE", "visible".into())]);
        command
            .args([
                "-c",
                "echo \"$DBPROV_PROBE ${CARGO_PKG_NAME:-clean}\" >&2; exit 3",
            ])
            .stdout(Stdio::null());
        // Cargo sets CARGO_PKG_NAME for tests; the tool must not inherit it.
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some());
        let process = ToolProcess::spawn(&tool, command, None).unwrap();
        let error = process.finish().await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("exit status 3"), "{text}");
        assert!(text.contains("visible clean"), "{text}");
    }

    #[test]
    fn secret_files_are_private() {
        let secrets = SecretFiles::new().unwrap();
        let path = secrets.write("my.cnf", b"[client]\n", "an option file").unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let directory = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(secrets.directory.path()).unwrap().permissions(),
        );
        assert_eq!(directory & 0o777, 0o700);
        let kept = secrets.directory.path().to_owned();
        drop(secrets);
        assert!(!kept.exists());
    }
}
