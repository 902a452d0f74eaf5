//! A throwaway MariaDB server: `mariadb-install-db` + `mariadbd`.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::ServerAddress;
use crate::packages::ensure_debian_packages;
use crate::postgres::random_password;
use crate::process::{chown_tree, free_port, log_tail, service_account, spawn_reaper, terminate, wait_until};
use crate::tls::TlsMaterial;

/// The admin account the harness creates (`'dbprov_admin'@'%'`, all privileges, grant option).
pub const ADMIN_USER: &str = "dbprov_admin";

#[derive(Debug)]
pub struct MariaDbServer {
    address: ServerAddress,
    root: Option<tempfile::TempDir>,
    child: Option<Child>,
    account: Option<(u32, u32)>,
    server_binary: PathBuf,
    leak_for_reaper: bool,
}

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]
        .iter()
        .flat_map(|dir| names.iter().map(move |name| Path::new(dir).join(name)))
        .find(|path| path.exists())
}

impl MariaDbServer {
    /// Starts a new server (installing MariaDB first when it is missing).
    pub fn start() -> Self {
        let present = || {
            find_binary(&["mariadbd"]).is_some()
                && find_binary(&["mariadb-install-db"]).is_some()
                && find_binary(&["mariadb"]).is_some()
        };
        ensure_debian_packages(present, &["mariadb-server", "mariadb-client"]);
        let server_binary = find_binary(&["mariadbd"]).expect("MariaDB was just installed");
        let install_db = find_binary(&["mariadb-install-db"]).expect("MariaDB was just installed");
        let client = find_binary(&["mariadb"]).expect("MariaDB was just installed");
        let account = service_account("mysql");
        let root = tempfile::Builder::new()
            .prefix("dbprov-maria-")
            .tempdir()
            .expect("create a temporary directory");
        let data = root.path().join("data");
        // Each server its own temporary directory: servers bootstrapping at once in a shared /tmp collide on
        // MariaDB's temporary table file names (`Unknown table 'mysql.tmp_user_sys'`).
        std::fs::create_dir(root.path().join("tmp")).expect("create the server's temporary directory");
        let tls_dir = root.path().join("tls");
        TlsMaterial::generate(&tls_dir, "dbprov_cert_user");
        let password = random_password();
        // Runs at every start, before clients are accepted: the admin account tests connect as.
        std::fs::write(
            root.path().join("init.sql"),
            format!(
                "CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'%' IDENTIFIED BY '{password}';\n\
                 GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'%' WITH GRANT OPTION;\n\
                 CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'localhost' IDENTIFIED BY '{password}';\n\
                 GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'localhost' WITH GRANT OPTION;\n"
            ),
        )
        .expect("write init.sql");
        chown_tree(root.path(), account);

        let mut install = Command::new(&install_db);
        install
            .args([
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", root.path().join("tmp").display()));
        if let Some((uid, _)) = account {
            install.arg(format!("--user={}", user_name(uid)));
        }
        let output = install.output().expect("run mariadb-install-db");
        assert!(
            output.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        chown_tree(&data, account);

        let mut server = Self {
            address: ServerAddress {
                host: "127.0.0.1".into(),
                port: 0,
                admin_user: ADMIN_USER.into(),
                admin_password: password,
                tls_dir,
                bin_dir: client.parent().expect("a binary has a directory").to_owned(),
                socket: root.path().join("mysqld.sock"),
                version: String::new(),
            },
            root: Some(root),
            child: None,
            account,
            server_binary,
            leak_for_reaper: false,
        };
        server.launch();
        server.address.version = server.sql("SELECT VERSION()").trim().to_owned();
        server
    }

    fn root_path(&self) -> &Path {
        self.root
            .as_ref()
            .expect("the server directory exists until drop")
            .path()
    }

    fn launch(&mut self) {
        let log = self.root_path().join("error.log");
        for attempt in 0..3 {
            let port = if self.address.port != 0 && attempt == 0 {
                self.address.port
            } else {
                free_port()
            };
            let _ = std::fs::remove_file(&log);
            let root = self.root_path().to_owned();
            let tls = |name: &str| self.address.tls_dir.join(name).display().to_string();
            let mut command = Command::new(&self.server_binary);
            command
                .arg("--no-defaults")
                .arg(format!("--datadir={}", root.join("data").display()))
                .arg(format!("--tmpdir={}", root.join("tmp").display()))
                .arg(format!("--port={port}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--socket={}", self.address.socket.display()))
                .arg(format!("--pid-file={}", root.join("mysqld.pid").display()))
                .arg(format!("--log-error={}", log.display()))
                .arg(format!("--init-file={}", root.join("init.sql").display()))
                .arg(format!("--ssl-ca={}", tls(TlsMaterial::CA)))
                .arg(format!("--ssl-cert={}", tls(TlsMaterial::SERVER_CERT)))
                .arg(format!("--ssl-key={}", tls(TlsMaterial::SERVER_KEY)))
                .arg("--skip-name-resolve")
                // A test server: durability off, room for many parallel tests.
                .arg("--innodb-flush-log-at-trx-commit=0")
                .arg("--innodb-doublewrite=0")
                .arg("--innodb-buffer-pool-size=128M")
                .arg("--max-connections=500")
                .arg("--skip-log-bin")
                .arg("--character-set-server=utf8mb4")
                .arg("--collation-server=utf8mb4_unicode_ci")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0);
            if let Some((uid, _)) = self.account {
                command.arg(format!("--user={}", user_name(uid)));
            }
            self.child = Some(command.spawn().expect("start mariadbd"));
            self.address.port = port;
            let ready = wait_until(Duration::from_secs(60), || self.is_ready() || self.exited());
            if ready && !self.exited() {
                return;
            }
            if let Some(mut child) = self.child.take() {
                terminate(&mut child, Duration::from_secs(5));
            }
            eprintln!(
                "dbprov-testkit: mariadbd did not start on port {port} (attempt {}): {}",
                attempt + 1,
                log_tail(&log, 5)
            );
        }
        panic!(
            "mariadbd failed to start three times; last log lines:\n{}",
            log_tail(&log, 30)
        );
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|child| matches!(child.try_wait(), Ok(Some(_))))
    }

    fn is_ready(&self) -> bool {
        try_sql(&self.address, "SELECT 1").is_ok()
    }

    pub fn address(&self) -> &ServerAddress {
        &self.address
    }

    /// Runs SQL with the `mariadb` client as the admin over TCP; panics with the output on failure.
    pub fn sql(&self, sql: &str) -> String {
        mariadb_sql(&self.address, sql)
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, Duration::from_secs(30));
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Hands the server to a reaper process that stops it and removes its data once this process exits,
    /// however it exits (statics are never dropped; Ctrl-C skips destructors).
    pub fn with_reaper(mut self) -> Self {
        let pid = self.child.as_ref().expect("running").id();
        spawn_reaper(pid, self.root_path());
        self.leak_for_reaper = true;
        self
    }
}

fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.get(2) == Some(&uid.to_string().as_str())).then(|| fields[0].to_owned())
            })
        })
        .unwrap_or_else(|| "nobody".to_owned())
}

fn try_sql(address: &ServerAddress, sql: &str) -> Result<String, String> {
    let output = Command::new(address.bin_dir.join("mariadb"))
        .args([
            "--no-defaults",
            "--protocol=TCP",
            "-h",
            &address.host,
            "-P",
            &address.port.to_string(),
        ])
        .args([
            "-u",
            &address.admin_user,
            "--batch",
            "--skip-column-names",
            "--raw",
            "--skip-ssl",
            "-e",
            sql,
        ])
        .env("MYSQL_PWD", &address.admin_password)
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Runs SQL with the `mariadb` client as the admin over TCP; panics with the output on failure.
pub fn mariadb_sql(address: &ServerAddress, sql: &str) -> String {
    try_sql(address, sql).unwrap_or_else(|error| panic!("mariadb failed for {sql:?}: {error}"))
}

impl Drop for MariaDbServer {
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
