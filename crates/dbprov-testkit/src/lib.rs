//! Throwaway database servers for dbprov's tests and benchmarks.
//!
//! `cargo xtask test` (the README's test command) starts one PostgreSQL and one MariaDB server for the
//! whole run, each in a temporary data directory on a free 127.0.0.1 port, and passes them to every test
//! process through `DBPROV_TEST_POSTGRES` / `DBPROV_TEST_MARIADB`. A test binary run on its own (plain
//! `cargo test -p ...`) starts its own servers on first use and a reaper process removes them when the test
//! process exits. Servers the machine happens to run are never used.
//!
//! Each test asks for [`unique_name`]s, so tests share a server without sharing objects.
//!
//! When PostgreSQL or MariaDB is not installed, the harness installs the Debian packages (as root, which is
//! how CI runs) or fails with a message naming the packages.

mod mariadb;
mod packages;
mod postgres;
mod process;
mod tls;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use dbprov_core::{ConnectionSpec, Secret, TlsMode, TlsSpec};
use serde::{Deserialize, Serialize};

pub use mariadb::{MariaDbServer, mariadb_sql};
pub use packages::{ensure_debian_packages, ensure_python_packages};
pub use postgres::{CERT_USER, PgServer, psql};
pub use process::free_port;
pub use tls::TlsMaterial;

/// Environment variable carrying a shared PostgreSQL server's [`ServerAddress`] as JSON.
pub const POSTGRES_ENV: &str = "DBPROV_TEST_POSTGRES";
/// Environment variable carrying a shared MariaDB server's [`ServerAddress`] as JSON.
pub const MARIADB_ENV: &str = "DBPROV_TEST_MARIADB";

/// How to reach a running test server: enough to rebuild a connection in another process.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub admin_user: String,
    pub admin_password: String,
    /// Directory with `ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`.
    pub tls_dir: PathBuf,
    /// Directory of the server's client programs (`psql`, `pg_dump`; `mariadb`, `mariadb-dump`).
    pub bin_dir: PathBuf,
    /// The server's Unix socket (directory for PostgreSQL, file for MariaDB).
    pub socket: PathBuf,
    /// The version string the server reported.
    pub version: String,
}

impl ServerAddress {
    pub fn to_env(&self) -> String {
        serde_json::to_string(self).expect("a ServerAddress always serializes")
    }

    pub fn from_env(value: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(value)
    }

    /// An admin connection over TCP without TLS.
    pub fn admin_connection(&self) -> ConnectionSpec {
        ConnectionSpec::tcp(self.host.clone(), self.port)
            .with_credentials(
                self.admin_user.clone(),
                Some(Secret::new(self.admin_password.clone())),
            )
            .with_label(format!("test-server-{}", self.port))
    }

    /// The admin connection with TLS in `mode`, trusting the harness's CA.
    pub fn admin_connection_tls(&self, mode: TlsMode) -> ConnectionSpec {
        self.admin_connection().with_tls(TlsSpec {
            mode,
            ca_pem: Some(std::fs::read(self.tls_dir.join("ca.pem")).expect("the harness wrote ca.pem")),
            client_cert_pem: None,
            client_key_pem: None,
        })
    }

    pub fn tls_file(&self, name: &str) -> PathBuf {
        self.tls_dir.join(name)
    }
}

fn shared<S>(
    cell: &'static OnceLock<ServerAddress>,
    env: &str,
    keep: &'static OnceLock<S>,
    start: impl FnOnce() -> S,
    address: impl Fn(&S) -> ServerAddress,
) -> &'static ServerAddress {
    cell.get_or_init(|| {
        if let Ok(value) = std::env::var(env) {
            return ServerAddress::from_env(&value)
                .unwrap_or_else(|error| panic!("{env} is set but is not a server address: {error}"));
        }
        address(keep.get_or_init(start))
    })
}

/// The PostgreSQL server of this test run (shared; see the module documentation).
pub fn postgres() -> &'static ServerAddress {
    static ADDRESS: OnceLock<ServerAddress> = OnceLock::new();
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    shared(
        &ADDRESS,
        POSTGRES_ENV,
        &SERVER,
        || PgServer::start().with_reaper(),
        |server| server.address().clone(),
    )
}

/// The MariaDB server of this test run (shared; see the module documentation).
pub fn mariadb() -> &'static ServerAddress {
    static ADDRESS: OnceLock<ServerAddress> = OnceLock::new();
    static SERVER: OnceLock<MariaDbServer> = OnceLock::new();
    shared(
        &ADDRESS,
        MARIADB_ENV,
        &SERVER,
        || MariaDbServer::start().with_reaper(),
        |server| server.address().clone(),
    )
}

/// A name no other test of this run uses: `prefix_<pid>_<counter><random>`, at most 30 characters, lower
/// case ASCII (valid unquoted on every engine, and within MySQL 8's 32-character user name limit).
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut random = [0u8; 2];
    // Uniqueness across processes comes from the pid; the random suffix guards against pid reuse.
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
        .is_err()
    {
        random = [0, 0];
    }
    let prefix: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(10)
        .collect::<String>()
        .to_lowercase();
    format!(
        "{prefix}_{}_{}{:04x}",
        base36(std::process::id()),
        base36(counter),
        u16::from_le_bytes(random)
    )
}

fn base36(mut value: u32) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// A fresh directory for SQLite instances (removed when the returned guard drops).
pub fn sqlite_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dbprov-sqlite-")
        .tempdir()
        .expect("create a temporary directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_unique_and_short() {
        let a = unique_name("database-x");
        let b = unique_name("database-x");
        assert_ne!(a, b);
        assert!(a.len() <= 30, "{a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{a}"
        );
    }
}
