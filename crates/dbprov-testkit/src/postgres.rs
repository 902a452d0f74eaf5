//! A throwaway PostgreSQL server: `initdb` + `postgres` from `/usr/lib/postgresql/*/bin`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::ServerAddress;
use crate::packages::ensure_debian_packages;
use crate::process::{
    chown_tree, command_as, free_port, log_tail, service_account, spawn_reaper, terminate, wait_until,
};
use crate::tls::TlsMaterial;

/// The user PostgreSQL's `cert` authentication admits with the harness's client certificate.
pub const CERT_USER: &str = "dbprov_cert_user";

/// A running PostgreSQL server in a temporary directory. Dropping it stops the server and removes the data.
#[derive(Debug)]
pub struct PgServer {
    address: ServerAddress,
    root: Option<tempfile::TempDir>,
    child: Option<Child>,
    account: Option<(u32, u32)>,
    leak_for_reaper: bool,
}

/// The newest installed PostgreSQL's bin directory.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((version, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

impl PgServer {
    /// Starts a new server (installing PostgreSQL first when it is missing).
    pub fn start() -> Self {
        ensure_debian_packages(
            || postgres_bin_dir().is_some(),
            &["postgresql", "postgresql-contrib"],
        );
        let bin = postgres_bin_dir().expect("PostgreSQL was just installed");
        let account = service_account("postgres");
        let root = tempfile::Builder::new()
            .prefix("dbprov-pg-")
            .tempdir()
            .expect("create a temporary directory");
        let data = root.path().join("data");
        let socket = root.path().join("socket");
        let tls_dir = root.path().join("tls");
        std::fs::create_dir_all(&socket).expect("create the socket directory");
        TlsMaterial::generate(&tls_dir, CERT_USER);
        let password = random_password();
        let password_file = root.path().join("pwfile");
        std::fs::write(&password_file, format!("{password}\n")).expect("write the password file");
        chown_tree(root.path(), account);

        let output = command_as(&bin.join("initdb"), account)
            .args([
                "--auth=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--username=postgres",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            .arg("-D")
            .arg(&data)
            .output()
            .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // Password authentication over TCP for everyone, certificate authentication for the cert user.
        std::fs::write(
            data.join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 hostssl all {CERT_USER} 127.0.0.1/32 cert\n\
                 host all all 127.0.0.1/32 scram-sha-256\n\
                 host all all ::1/128 scram-sha-256\n"
            ),
        )
        .expect("write pg_hba.conf");
        chown_tree(&data.join("pg_hba.conf"), account);

        let mut server = Self {
            address: ServerAddress {
                host: "127.0.0.1".into(),
                port: 0,
                admin_user: "postgres".into(),
                admin_password: password,
                tls_dir,
                bin_dir: bin,
                socket,
                version: String::new(),
            },
            root: Some(root),
            child: None,
            account,
            leak_for_reaper: false,
        };
        server.launch();
        server.address.version = server.psql("postgres", "SHOW server_version").trim().to_owned();
        server
    }

    fn data_dir(&self) -> PathBuf {
        self.root_path().join("data")
    }

    fn root_path(&self) -> &Path {
        self.root
            .as_ref()
            .expect("the server directory exists until drop")
            .path()
    }

    fn launch(&mut self) {
        let log = self.root_path().join("postgres.log");
        for attempt in 0..3 {
            let port = if self.address.port != 0 && attempt == 0 {
                self.address.port
            } else {
                free_port()
            };
            let log_file = std::fs::File::create(&log).expect("create the server log");
            chown_tree(&log, self.account);
            let tls = |name: &str| self.address.tls_dir.join(name).display().to_string();
            let child = command_as(&self.address.bin_dir.join("postgres"), self.account)
                .arg("-D")
                .arg(self.data_dir())
                .args(["-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args([
                    "-c",
                    &format!("unix_socket_directories={}", self.address.socket.display()),
                ])
                .args(["-c", "ssl=on"])
                .args(["-c", &format!("ssl_cert_file={}", tls(TlsMaterial::SERVER_CERT))])
                .args(["-c", &format!("ssl_key_file={}", tls(TlsMaterial::SERVER_KEY))])
                .args(["-c", &format!("ssl_ca_file={}", tls(TlsMaterial::CA))])
                // A test server: durability off, room for many parallel tests.
                .args([
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ])
                .args(["-c", "max_connections=500", "-c", "shared_buffers=128MB"])
                .args(["-c", "log_min_messages=warning", "-c", "logging_collector=off"])
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone a file handle"))
                .stderr(log_file)
                .process_group(0)
                .spawn()
                .expect("start postgres");
            self.child = Some(child);
            self.address.port = port;
            let ready = wait_until(Duration::from_secs(60), || self.is_ready() || self.exited());
            if ready && !self.exited() {
                return;
            }
            if let Some(mut child) = self.child.take() {
                terminate(&mut child, Duration::from_secs(5));
            }
            eprintln!(
                "dbprov-testkit: postgres did not start on port {port} (attempt {}): {}",
                attempt + 1,
                log_tail(&log, 5)
            );
        }
        panic!(
            "postgres failed to start three times; last log lines:\n{}",
            log_tail(&log, 30)
        );
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|child| matches!(child.try_wait(), Ok(Some(_))))
    }

    fn is_ready(&self) -> bool {
        Command::new(self.address.bin_dir.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &self.address.port.to_string(),
                "-t",
                "1",
            ])
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    }

    pub fn address(&self) -> &ServerAddress {
        &self.address
    }

    /// Runs SQL with `psql` as the superuser and returns the unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        psql(&self.address, database, sql)
    }

    /// Stops the server, keeping its data (for fault-injection tests).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, Duration::from_secs(20));
        }
    }

    /// Starts the server again on the same port after [`PgServer::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Leaves the server running after this process exits until a reaper cleans it up (for statics).
    /// Hands the server to a reaper process that stops it and removes its data once this process exits,
    /// however it exits (statics are never dropped; Ctrl-C skips destructors).
    pub fn with_reaper(mut self) -> Self {
        let pid = self.child.as_ref().expect("running").id();
        spawn_reaper(pid, self.root_path());
        self.leak_for_reaper = true;
        self
    }
}

/// Runs SQL with `psql` as the superuser over TCP; panics with the output on failure.
pub fn psql(address: &ServerAddress, database: &str, sql: &str) -> String {
    let output = Command::new(address.bin_dir.join("psql"))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &address.host,
            "-p",
            &address.port.to_string(),
        ])
        .args(["-U", &address.admin_user, "-d", database, "-c", sql])
        .env("PGPASSWORD", &address.admin_password)
        .env("PGSSLMODE", "disable")
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "psql failed for {sql:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.leak_for_reaper {
            if let Some(root) = self.root.take() {
                let _ = root.keep();
            }
            return;
        }
        self.stop();
    }
}

pub(crate) fn random_password() -> String {
    let mut bytes = [0u8; 18];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").expect("open /dev/urandom"),
        &mut bytes,
    )
    .expect("read /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

use std::os::unix::process::CommandExt as _;
