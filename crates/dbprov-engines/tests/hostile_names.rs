//! Randomized hostile names through the real servers: no name or value can escape its quoting.
//!
//! For PostgreSQL, MariaDB and SQLite, proptest generates database names, user names and passwords weighted
//! towards what ends or changes a quoted token (quotes, backticks, backslashes, `%`, `_`, `;`, `--`, `/*`,
//! newlines), unicode (combining marks, right-to-left text and controls, look-alike quotes, characters outside
//! the Basic Multilingual Plane), spaces at the ends, and lengths around and past each engine's limit. Each
//! case goes through `dbprov_engines::connect` and the `Engine` trait only (inspect, plan, apply), then is
//! checked independently of dbprov through the servers' own catalogs and command-line clients, comparing names
//! as hex so the check itself cannot be fooled by quoting:
//!
//! * a name the engine accepts is created verbatim, byte for byte, and re-planning it plans nothing;
//! * a name the engine rejects fails with `ErrorCategory::InvalidName` from the pure planning step, so no
//!   statement exists to run, and nothing appears on the server;
//! * on PostgreSQL and MariaDB the user logs in with the random password (and not with another one), is who
//!   the server says is logged in, and holds exactly the declared database-level grant: on MariaDB, where a
//!   grant's database is a pattern, the user sees exactly its own database and not a decoy that an unescaped
//!   `_` or `%` would match (a database whose escaped pattern needs more than MySQL's 64 characters gets
//!   `Unsupported` for the grant instead, as the engine documents);
//! * no other database or user appears, and everything is gone after the cleanup. On a server this process
//!   owns that is exact; on one shared with other test processes (`cargo xtask test`) only objects that could
//!   come from this case's text count.
//!
//! The run is deterministic (fixed seed, 64 cases per engine). To explore further, set
//! `DBPROV_HOSTILE_SEED` (any `u64`) and `DBPROV_HOSTILE_CASES`.
//!
//! Names (and PostgreSQL passwords) that earlier runs found accepted by dbprov but refused by the servers are
//! kept as regression tests at the end of this file, with catalog reads of names the rules reject.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt as _;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use dbprov_core::model::{
    Catalog, CatalogRequest, DatabaseSpec, DropRoleOptions, GrantSpec, MySqlGrants, MySqlPrivilege,
    MySqlPrivilegeSet, PasswordSpec, PgGrants, PgPrivilege, RoleSpec,
};
use dbprov_core::{ConnectionSpec, Engine, EngineError, EngineKind, ErrorCategory, Name, NameKind, Secret};
use dbprov_testkit::ServerAddress;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

const DEFAULT_SEED: u64 = 0x6462_7072_6f76_0002;
const DEFAULT_CASES: u32 = 64;

// ---------------------------------------------------------------------------------------------------------
// Generating hostile names
// ---------------------------------------------------------------------------------------------------------

/// Characters and sequences that end, escape or comment out a quoted token in some dialect, and payloads
/// that would show up as extra objects if they ever ran.
#[rustfmt::skip]
const DANGEROUS: &[&str] = &[
    "'", "''", "\"", "\"\"", "`", "``",
    "\\", "\\\\", "\\'", "\\\"", "\\`", "\\0", "\\Z", "\\_", "\\%",
    "%", "_", ";", "--", "-- ", "#", "/*", "*/", "$$", "$1", "?", ":name", "E'", "U&\"",
    "@", "@%", ".", "*", "/",
    "\n", "\r\n", "\r", "\t", " ", "\u{1a}", "\u{7f}",
    "x'; DROP DATABASE postgres; --",
    "\"; DROP ROLE postgres; --",
    "`; DROP DATABASE mysql; -- ",
    "' OR '1'='1",
    "'); CREATE DATABASE injected; --",
];

/// Unicode that normalisation, bidirectional text or look-alikes could turn into something else.
#[rustfmt::skip]
const UNICODE: &[&str] = &[
    // combining marks, precomposed letters
    "\u{301}", "e\u{301}", "\u{e9}", "u\u{308}",
    // right-to-left text and bidirectional controls
    "\u{202e}", "\u{202b}", "\u{200f}", "\u{2066}",
    "\u{5e9}\u{5dc}\u{5d5}\u{5dd}", "\u{645}\u{631}\u{62d}\u{628}\u{627}",
    // invisible characters
    "\u{200d}", "\u{200b}", "\u{feff}", "\u{a0}", "\u{2028}",
    // look-alike quotes and backslashes
    "\u{ff07}", "\u{ff02}", "\u{ff3c}", "\u{2019}", "\u{2bc}",
    // a symbol, characters outside the Basic Multilingual Plane, and its last ones
    "\u{2603}", "\u{1f600}", "\u{1d54f}", "\u{fffd}", "\u{ffff}",
];

/// Characters used to pad names to their length limits.
#[rustfmt::skip]
const PADDING: &[&str] = &["n", "'", "\"", "`", "\\", "%", "_", "\u{e9}", "\u{2603}", "e\u{301}", "\u{1f600}"];

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(DANGEROUS).prop_map(str::to_owned),
        3 => prop::sample::select(UNICODE).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9]{1,6}",
        // Mostly the Basic Multilingual Plane, which MySQL identifiers are limited to; any character at times.
        2 => prop::collection::vec(prop::char::range('\u{1}', '\u{ffff}'), 1..4).prop_map(String::from_iter),
        1 => any::<char>().prop_filter("names never hold NUL", |ch| *ch != '\0').prop_map(String::from),
    ]
}

/// A generated name; the run's unique token is placed in it when the case runs.
#[derive(Debug, Clone)]
struct HostileName {
    pieces: Vec<String>,
    /// Where the unique token goes: before the first piece (0) up to after the last.
    token_at: usize,
    /// Pad (before any trailing space) with `unit` to about `characters` characters.
    padding: Option<(String, usize)>,
    leading_space: bool,
    trailing_space: bool,
}

impl HostileName {
    fn build(&self, token: &str) -> String {
        let mut name = String::new();
        if self.leading_space {
            name.push(' ');
        }
        for (index, piece) in self.pieces.iter().enumerate() {
            if index == self.token_at {
                name.push_str(token);
            }
            name.push_str(piece);
        }
        if self.token_at >= self.pieces.len() {
            name.push_str(token);
        }
        if let Some((unit, characters)) = &self.padding {
            let reserved = usize::from(self.trailing_space);
            while name.chars().count() + unit.chars().count() + reserved <= *characters {
                name.push_str(unit);
            }
        }
        if self.trailing_space {
            name.push(' ');
        }
        name
    }
}

fn hostile_name() -> impl Strategy<Value = HostileName> {
    // Lengths around PostgreSQL's 63 bytes, MariaDB's 64 characters (databases) and 128 (users), and the
    // 239 bytes dbprov allows a SQLite database's name (what leaves room for `<name>.sqlite3-journal`).
    let length = prop_oneof![56..72usize, 120..136usize, 236..262usize];
    (
        prop::collection::vec(piece(), 1..8),
        any::<prop::sample::Index>(),
        prop::option::weighted(
            0.3,
            (prop::sample::select(PADDING).prop_map(str::to_owned), length),
        ),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(pieces, token_at, padding, leading_space, trailing_space)| HostileName {
                token_at: token_at.index(pieces.len() + 1),
                pieces,
                padding,
                leading_space,
                trailing_space,
            },
        )
}

#[derive(Debug, Clone)]
struct Case {
    database: HostileName,
    user: HostileName,
    password: String,
}

fn case() -> impl Strategy<Value = Case> {
    (
        hostile_name(),
        hostile_name(),
        prop::collection::vec(piece(), 1..10),
    )
        .prop_map(|(database, user, password)| Case {
            database,
            user,
            password: password.concat(),
        })
}

// ---------------------------------------------------------------------------------------------------------
// Reading the servers independently of dbprov
// ---------------------------------------------------------------------------------------------------------

/// The server under test, read through its own client or file system.
enum Server {
    Postgres(&'static ServerAddress),
    MariaDb(&'static ServerAddress),
    Sqlite(tempfile::TempDir),
}

/// What exists on a server: raw name bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Snapshot {
    databases: BTreeSet<Vec<u8>>,
    users: BTreeSet<Vec<u8>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(
        text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit()),
        "not hex: {text:?}"
    );
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).expect("hex digits"))
        .collect()
}

impl Snapshot {
    /// Reads `d <hex>` (database) and `u <hex>` (user) lines.
    fn from_tagged_lines(output: &str) -> Self {
        let mut snapshot = Snapshot::default();
        for line in output.lines().map(str::trim).filter(|line| !line.is_empty()) {
            match line.split_once(' ') {
                Some(("d", name)) => snapshot.databases.insert(unhex(name)),
                Some(("u", name)) => snapshot.users.insert(unhex(name)),
                _ => panic!("unexpected catalog line {line:?}"),
            };
        }
        snapshot
    }
}

/// Lines of hex printed by a client, decoded.
fn hex_lines(output: &str) -> BTreeSet<Vec<u8>> {
    output
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(unhex)
        .collect()
}

/// Runs `sql` with `psql` as `user` with `password` (the testkit's `psql` only logs in as the admin).
fn psql_as(address: &ServerAddress, user: &str, password: &str, sql: &str) -> Result<String, String> {
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
        ])
        .args(["-p", &address.port.to_string(), "-d", "postgres"])
        .arg(format!("--username={user}"))
        .args(["-c", sql])
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "disable")
        .env("PGCLIENTENCODING", "UTF8")
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PGPASSFILE", "/dev/null")
        .output()
        .map_err(|error| format!("run psql: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Runs `sql` with the `mariadb` client as `user` with `password`.
fn mariadb_as(address: &ServerAddress, user: &str, password: &str, sql: &str) -> Result<String, String> {
    let output = Command::new(address.bin_dir.join("mariadb"))
        .args(["--no-defaults", "--protocol=TCP", "-h", &address.host])
        .args(["-P", &address.port.to_string()])
        .arg(format!("--user={user}"))
        .args(["--default-character-set=utf8mb4", "--connect-timeout=10"])
        .args(["--batch", "--skip-column-names", "--raw", "--skip-ssl", "-e", sql])
        .env("MYSQL_PWD", password)
        .output()
        .map_err(|error| format!("run mariadb: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

impl Server {
    fn postgres() -> Self {
        Server::Postgres(dbprov_testkit::postgres())
    }

    fn mariadb() -> Self {
        Server::MariaDb(dbprov_testkit::mariadb())
    }

    fn sqlite() -> Self {
        Server::Sqlite(dbprov_testkit::sqlite_dir())
    }

    fn kind(&self) -> EngineKind {
        match self {
            Server::Postgres(_) => EngineKind::Postgres,
            Server::MariaDb(_) => EngineKind::MariaDb,
            Server::Sqlite(_) => EngineKind::Sqlite,
        }
    }

    fn admin(&self) -> ConnectionSpec {
        match self {
            Server::Postgres(address) | Server::MariaDb(address) => address.admin_connection(),
            Server::Sqlite(directory) => ConnectionSpec::directory(directory.path()),
        }
    }

    /// Serializes the tests of this file that use the same server, since they compare whole-server snapshots.
    fn exclusive(&self) -> MutexGuard<'static, ()> {
        static POSTGRES: Mutex<()> = Mutex::new(());
        static MARIADB: Mutex<()> = Mutex::new(());
        static SQLITE: Mutex<()> = Mutex::new(());
        let lock = match self {
            Server::Postgres(_) => &POSTGRES,
            Server::MariaDb(_) => &MARIADB,
            Server::Sqlite(_) => &SQLITE,
        };
        // A failed test poisons the lock; the next one still runs on its own.
        lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether this process owns the server, so that every change on it is this file's own.
    fn is_private(&self) -> bool {
        match self {
            Server::Postgres(_) => std::env::var_os(dbprov_testkit::POSTGRES_ENV).is_none(),
            Server::MariaDb(_) => std::env::var_os(dbprov_testkit::MARIADB_ENV).is_none(),
            Server::Sqlite(_) => true,
        }
    }

    fn snapshot(&self) -> Snapshot {
        match self {
            Server::Postgres(address) => Snapshot::from_tagged_lines(&dbprov_testkit::psql(
                address,
                "postgres",
                "SELECT 'd ' || encode(convert_to(datname, 'UTF8'), 'hex') FROM pg_database \
                 UNION ALL SELECT 'u ' || encode(convert_to(rolname, 'UTF8'), 'hex') FROM pg_roles",
            )),
            // Every account of every user: `user@host` is one entry per host.
            Server::MariaDb(address) => Snapshot::from_tagged_lines(&dbprov_testkit::mariadb_sql(
                address,
                "SELECT CONCAT('d ', HEX(SCHEMA_NAME)) FROM information_schema.SCHEMATA \
                 UNION ALL SELECT CONCAT('u ', HEX(CONCAT(User, '@', Host))) FROM mysql.user",
            )),
            Server::Sqlite(directory) => Snapshot {
                databases: std::fs::read_dir(directory.path())
                    .expect("list the SQLite instance directory")
                    .map(|entry| {
                        entry
                            .expect("read a directory entry")
                            .file_name()
                            .as_bytes()
                            .to_vec()
                    })
                    .collect(),
                users: BTreeSet::new(),
            },
        }
    }

    /// The names a created database and user leave in a snapshot.
    fn expected_entries(&self, databases: &[&str], user: Option<&str>) -> Snapshot {
        let databases = databases.iter().flat_map(|name| match self {
            Server::Sqlite(_) => ["", "-wal", "-shm"]
                .iter()
                .map(|suffix| format!("{name}.sqlite3{suffix}").into_bytes())
                .collect::<Vec<_>>(),
            _ => vec![name.as_bytes().to_vec()],
        });
        let users = user.map(|user| match self {
            Server::MariaDb(_) => format!("{user}@%").into_bytes(),
            _ => user.as_bytes().to_vec(),
        });
        Snapshot {
            databases: databases.collect(),
            users: users.into_iter().collect(),
        }
    }

    /// SQLite: the database file is a real SQLite database in WAL mode, read from its header.
    fn check_sqlite_file(&self, database: &str) -> Result<(), String> {
        let Server::Sqlite(directory) = self else {
            return Ok(());
        };
        let path = directory.path().join(format!("{database}.sqlite3"));
        let header = std::fs::read(&path).map_err(|error| format!("read {}: {error}", path.display()))?;
        if !header.starts_with(b"SQLite format 3\0") {
            return Err(format!("{} is not a SQLite database", path.display()));
        }
        // Bytes 18 and 19: file format write/read versions, 2 in WAL mode.
        if header.get(18..20) != Some(&[2, 2][..]) {
            return Err(format!("{} is not in WAL mode", path.display()));
        }
        Ok(())
    }

    /// Logs in as `user` with `password` and checks who the server says is logged in; a wrong password
    /// must be refused.
    fn check_login(&self, user: &str, password: &str) -> Result<(), String> {
        let (who, expected, wrong) = match self {
            Server::Postgres(address) => (
                psql_as(
                    address,
                    user,
                    password,
                    "SELECT encode(convert_to(current_user, 'UTF8'), 'hex')",
                ),
                hex(user.as_bytes()),
                psql_as(address, user, &format!("{password}x"), "SELECT 1"),
            ),
            Server::MariaDb(address) => (
                mariadb_as(address, user, password, "SELECT HEX(CURRENT_USER())"),
                hex(format!("{user}@%").as_bytes()),
                mariadb_as(address, user, &format!("{password}x"), "SELECT 1"),
            ),
            Server::Sqlite(_) => return Ok(()),
        };
        let who = who.map_err(|error| format!("{user:?} cannot log in with its password: {error}"))?;
        if !who.trim().eq_ignore_ascii_case(&expected) {
            return Err(format!(
                "logged in as {user:?}, the server reports the user {:?}",
                String::from_utf8_lossy(&unhex(who.trim()))
            ));
        }
        if wrong.is_ok() {
            return Err(format!("{user:?} logs in with a wrong password"));
        }
        Ok(())
    }

    /// Checks the database-level grant of `user` on `database` as the server reports or enforces it.
    fn check_grant(
        &self,
        database: &str,
        user: &str,
        password: &str,
        decoy: Option<&str>,
    ) -> Result<(), String> {
        match self {
            Server::Postgres(address) => {
                let sql = format!(
                    "SELECT encode(convert_to(r.rolname, 'UTF8'), 'hex') || ' ' || a.privilege_type \
                     FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a \
                     JOIN pg_roles r ON r.oid = a.grantee \
                     WHERE encode(convert_to(d.datname, 'UTF8'), 'hex') = '{}' AND a.grantee <> d.datdba",
                    hex(database.as_bytes())
                );
                let held: BTreeSet<String> = dbprov_testkit::psql(address, "postgres", &sql)
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned)
                    .collect();
                let grantee = hex(user.as_bytes());
                let expected: BTreeSet<String> = ["CONNECT", "CREATE"]
                    .iter()
                    .map(|privilege| format!("{grantee} {privilege}"))
                    .collect();
                if held != expected {
                    return Err(format!(
                        "privileges on {database:?} (grantee hex, privilege): {held:?}; expected CONNECT and \
                         CREATE for {user:?} only"
                    ));
                }
                Ok(())
            }
            Server::MariaDb(address) => {
                // A user sees exactly the databases it holds a privilege on (and information_schema).
                let seen = mariadb_as(
                    address,
                    user,
                    password,
                    "SELECT HEX(SCHEMA_NAME) FROM information_schema.SCHEMATA",
                )
                .map_err(|error| format!("{user:?} cannot list its databases: {error}"))?;
                let seen = hex_lines(&seen);
                let expected: BTreeSet<Vec<u8>> = [database.as_bytes(), b"information_schema"]
                    .iter()
                    .map(|name| name.to_vec())
                    .collect();
                if seen != expected {
                    let seen: Vec<String> = seen
                        .iter()
                        .map(|name| String::from_utf8_lossy(name).into_owned())
                        .collect();
                    return Err(format!(
                        "{user:?}, granted SELECT on {database:?} only, sees {seen:?} (decoy {decoy:?})"
                    ));
                }
                Ok(())
            }
            Server::Sqlite(_) => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Driving the engine
// ---------------------------------------------------------------------------------------------------------

/// How a name fared, for the run's summary.
#[derive(Default)]
struct Tally {
    created_databases: Cell<u32>,
    rejected_databases: Cell<u32>,
    created_users: Cell<u32>,
    rejected_users: Cell<u32>,
    /// Valid users whose (PostgreSQL) password SASLprep erases: refused as `InvalidSpec`.
    rejected_passwords: Cell<u32>,
    /// MySQL database-level grants refused as unsupported: the escaped pattern is over 64 characters.
    grants_too_long: Cell<u32>,
}

fn bump(counter: &Cell<u32>) {
    counter.set(counter.get() + 1);
}

/// Whether the engine's declared rules accept `value` as a name of `kind`.
fn accepts(engine: &dyn Engine, kind: NameKind, value: &str) -> Option<Name> {
    let name = Name::parse(kind, value).ok()?;
    let capabilities = engine.capabilities();
    capabilities
        .name_limits
        .check_new(capabilities.engine, kind, &name)
        .ok()
        .map(|()| name)
}

/// The error a rejected name must produce: `InvalidName`, from planning, which takes no connection.
fn expect_invalid_name(
    what: &str,
    value: &str,
    result: Result<dbprov_core::Plan, EngineError>,
) -> Result<(), String> {
    match result {
        Err(error) if error.category() == ErrorCategory::InvalidName => Ok(()),
        Err(error) => Err(format!(
            "{what} {value:?}: rejected with {} instead of InvalidName: {}",
            error.kind(),
            error.chain()
        )),
        Ok(plan) => Err(format!(
            "{what} {value:?} breaks the engine's name rules but planned {} statement(s): {:?}",
            plan.steps.len(),
            plan.statements()
        )),
    }
}

/// Checks that a database name the engine's rules reject is refused by planning, which takes no connection:
/// no statement exists, so nothing can reach the server.
fn reject_database(engine: &dyn Engine, value: &str) -> Result<(), String> {
    let Ok(name) = Name::parse(NameKind::Database, value) else {
        return Ok(()); // refused by `Name` itself: it can never reach an engine
    };
    let empty = Catalog::default();
    expect_invalid_name(
        "database",
        value,
        engine.plan_database(&DatabaseSpec::new(name.clone()), &empty),
    )?;
    expect_invalid_name(
        "dropping database",
        value,
        engine.plan_drop_database(&name, &empty),
    )
}

fn reject_user(engine: &dyn Engine, value: &str, password: &str) -> Result<(), String> {
    let Ok(name) = Name::parse(NameKind::User, value) else {
        return Ok(());
    };
    let mut spec = RoleSpec::user(name.clone());
    spec.password = Some(PasswordSpec::new(Secret::new(password)));
    let empty = Catalog::default();
    expect_invalid_name("user", value, engine.plan_role(&spec, &empty))?;
    expect_invalid_name(
        "dropping user",
        value,
        engine.plan_drop_role(&name, &DropRoleOptions::default(), &empty),
    )
}

/// A valid user with a password the server would clear is refused by planning as `InvalidSpec`.
fn reject_password(engine: &dyn Engine, value: &str, password: &str) -> Result<(), String> {
    let name = Name::parse(NameKind::User, value).expect("a name the rules accept");
    let mut spec = RoleSpec::user(name);
    spec.password = Some(PasswordSpec::new(Secret::new(password)));
    match engine.plan_role(&spec, &Catalog::default()) {
        Err(error) if error.category() == ErrorCategory::InvalidSpec => Ok(()),
        Err(error) => Err(format!(
            "password {password:?}: {} instead of InvalidSpec",
            error.kind()
        )),
        Ok(plan) => Err(format!(
            "password {password:?} planned {} statement(s)",
            plan.steps.len()
        )),
    }
}

/// A grant naming a rejected database or grantee is refused by planning too.
fn reject_grant(engine: &dyn Engine, kind: EngineKind, user: &str, database: &str) -> Result<(), String> {
    let (Ok(grantee), Ok(database_name)) = (
        Name::parse(NameKind::User, user),
        Name::parse(NameKind::Database, database),
    ) else {
        return Ok(());
    };
    let grant = grant_spec(kind, grantee, database_name);
    expect_invalid_name(
        "grant",
        &format!("{user} on {database}"),
        engine.plan_grants(&grant, &Catalog::default()),
    )
}

/// Creates a database through the engine, then checks that re-planning it plans nothing (dbprov reads the
/// name back as it wrote it).
async fn create_database(engine: &dyn Engine, name: &Name) -> Result<(), String> {
    let spec = DatabaseSpec::new(name.clone());
    let request = CatalogRequest::default().database(name.clone(), false);
    for round in 0..2 {
        let catalog = engine
            .inspect(&request)
            .await
            .map_err(|error| format!("inspect database {name:?}: {}", error.chain()))?;
        let plan = engine
            .plan_database(&spec, &catalog)
            .map_err(|error| format!("plan database {name:?}: {}", error.chain()))?;
        if round == 1 {
            return match plan.steps.len() {
                0 => Ok(()),
                steps => Err(format!(
                    "database {name:?} was created but re-plans {steps} statement(s): {:?}",
                    plan.statements()
                )),
            };
        }
        engine
            .apply(&plan)
            .await
            .map_err(|error| format!("engine accepted database {name:?} but: {}", error.chain()))?;
    }
    Ok(())
}

async fn create_user(engine: &dyn Engine, name: &Name, password: &str) -> Result<(), String> {
    let mut spec = RoleSpec::user(name.clone());
    spec.password = Some(PasswordSpec::new(Secret::new(password)));
    let request = CatalogRequest::default().role(name.clone());
    for round in 0..2 {
        let catalog = engine
            .inspect(&request)
            .await
            .map_err(|error| format!("inspect user {name:?}: {}", error.chain()))?;
        let plan = engine
            .plan_role(&spec, &catalog)
            .map_err(|error| format!("plan user {name:?}: {}", error.chain()))?;
        // What a creating plan shows must not depend on the password (nor on a verifier made from it).
        if round == 0 {
            let mut other = spec.clone();
            other.password = Some(PasswordSpec::new(Secret::new(format!("{password}-other"))));
            let shown = engine
                .plan_role(&other, &catalog)
                .map_err(|error| format!("plan user {name:?}: {}", error.chain()))?;
            if shown.statements() != plan.statements() {
                return Err(format!(
                    "the plan for user {name:?} shows something of its password: {:?}",
                    plan.statements()
                ));
            }
        }
        if round == 1 {
            return match plan.steps.len() {
                0 => Ok(()),
                steps => Err(format!(
                    "user {name:?} was created but re-plans {steps} statement(s): {:?}",
                    plan.statements()
                )),
            };
        }
        engine
            .apply(&plan)
            .await
            .map_err(|error| format!("engine accepted user {name:?} but: {}", error.chain()))?;
    }
    Ok(())
}

/// PostgreSQL: `CONNECT, CREATE` on the database; MySQL: `SELECT` on `database.*`.
fn grant_spec(kind: EngineKind, grantee: Name, database: Name) -> GrantSpec {
    let mut grant = GrantSpec {
        grantee,
        database,
        postgres: PgGrants::default(),
        mysql: MySqlGrants::default(),
    };
    if kind == EngineKind::Postgres {
        grant.postgres.database = vec![PgPrivilege::Connect, PgPrivilege::Create];
    } else {
        grant.mysql.database = MySqlPrivilegeSet {
            privileges: vec![MySqlPrivilege::Select],
            with_grant_option: false,
        };
    }
    grant
}

async fn grant_database(
    engine: &dyn Engine,
    kind: EngineKind,
    user: &Name,
    database: &Name,
) -> Result<(), String> {
    let grant = grant_spec(kind, user.clone(), database.clone());
    let request = CatalogRequest::default().grant_database_level(user.clone(), database.clone());
    for round in 0..2 {
        let catalog = engine
            .inspect(&request)
            .await
            .map_err(|error| format!("inspect grants of {user:?} on {database:?}: {}", error.chain()))?;
        let plan = engine
            .plan_grants(&grant, &catalog)
            .map_err(|error| format!("plan grants of {user:?} on {database:?}: {}", error.chain()))?;
        if round == 1 {
            return match plan.steps.len() {
                0 => Ok(()),
                steps => Err(format!(
                    "grants of {user:?} on {database:?} re-plan {steps} statement(s): {:?}",
                    plan.statements()
                )),
            };
        }
        engine
            .apply(&plan)
            .await
            .map_err(|error| format!("grant to {user:?} on {database:?}: {}", error.chain()))?;
    }
    Ok(())
}

/// A MySQL database-level grant whose pattern cannot be stored is refused by planning as unsupported.
async fn expect_grant_unsupported(
    engine: &dyn Engine,
    kind: EngineKind,
    user: &Name,
    database: &Name,
) -> Result<(), String> {
    let request = CatalogRequest::default().grant_database_level(user.clone(), database.clone());
    let catalog = engine
        .inspect(&request)
        .await
        .map_err(|error| format!("inspect grants on {database:?}: {}", error.chain()))?;
    match engine.plan_grants(&grant_spec(kind, user.clone(), database.clone()), &catalog) {
        Err(error) if error.category() == ErrorCategory::Unsupported => Ok(()),
        other => Err(format!(
            "a grant on {database:?} needs a pattern over 64 characters; planning it gave {:?}",
            other.map(|plan| plan.statements()).map_err(|error| error.chain())
        )),
    }
}

async fn drop_database(engine: &dyn Engine, name: &Name) -> Result<(), String> {
    let catalog = engine
        .inspect(&CatalogRequest::default().database(name.clone(), false))
        .await
        .map_err(|error| format!("inspect database {name:?} to drop it: {}", error.chain()))?;
    let plan = engine
        .plan_drop_database(name, &catalog)
        .map_err(|error| format!("plan dropping database {name:?}: {}", error.chain()))?;
    engine
        .apply(&plan)
        .await
        .map_err(|error| format!("drop database {name:?}: {}", error.chain()))?;
    Ok(())
}

async fn drop_user(engine: &dyn Engine, name: &Name) -> Result<(), String> {
    let catalog = engine
        .inspect(&CatalogRequest::default().role(name.clone()))
        .await
        .map_err(|error| format!("inspect user {name:?} to drop it: {}", error.chain()))?;
    let plan = engine
        .plan_drop_role(name, &DropRoleOptions::default(), &catalog)
        .map_err(|error| format!("plan dropping user {name:?}: {}", error.chain()))?;
    engine
        .apply(&plan)
        .await
        .map_err(|error| format!("drop user {name:?}: {}", error.chain()))?;
    Ok(())
}

/// PostgreSQL clears a password whose SCRAM verifier is the empty password's. SASLprep maps some characters
/// to nothing (RFC 3454 table B.1): a password made of them only must be refused as `InvalidSpec`.
fn password_erased_by_saslprep(kind: EngineKind, password: &str) -> bool {
    let mapped_to_nothing = |ch: char| {
        matches!(
            ch,
            '\u{ad}' | '\u{34f}' | '\u{1806}' | '\u{180b}'..='\u{180d}' | '\u{200b}'..='\u{200d}' | '\u{2060}'
                | '\u{fe00}'..='\u{fe0f}' | '\u{feff}'
        )
    };
    kind == EngineKind::Postgres && password.chars().all(mapped_to_nothing)
}

/// The length of a MySQL grant's database pattern: `_`, `%` and `\` take an escaping backslash.
fn mysql_grant_pattern_chars(database: &str) -> usize {
    database
        .chars()
        .map(|ch| if matches!(ch, '_' | '%' | '\\') { 2 } else { 1 })
        .sum()
}

/// A database a grant pattern with an unescaped `_` or `%` would also match.
fn decoy_of(database: &str) -> String {
    database.replace(['_', '%'], "Z")
}

/// Compares what appeared on the server with what the case created. On a server shared with other test
/// processes, objects of other tests may appear too; they are told apart from anything this case's text
/// could have created (every such name would contain the token or be a piece of the generated text).
fn check_changes(
    server: &Server,
    before: &Snapshot,
    after: &Snapshot,
    expected: &Snapshot,
    token: &str,
    texts: &[&str],
) -> Result<(), String> {
    let sets = [
        (
            "database",
            &before.databases,
            &after.databases,
            &expected.databases,
        ),
        ("user", &before.users, &after.users, &expected.users),
    ];
    for (what, before, after, expected) in sets {
        let appeared: BTreeSet<&Vec<u8>> = after.difference(before).collect();
        let expected_present: BTreeSet<&Vec<u8>> =
            expected.iter().filter(|name| after.contains(*name)).collect();
        let is_sqlite_sidecar =
            |name: &Vec<u8>| name.ends_with(b".sqlite3-wal") || name.ends_with(b".sqlite3-shm");
        for name in expected {
            if !after.contains(name) && !is_sqlite_sidecar(name) {
                return Err(format!(
                    "{what} {:?} is missing byte for byte (hex {})",
                    String::from_utf8_lossy(name),
                    hex(name)
                ));
            }
        }
        for name in appeared.difference(&expected_present) {
            let text = String::from_utf8_lossy(name);
            let ours =
                text.contains(token) || texts.iter().any(|generated| generated.contains(text.as_ref()));
            if server.is_private() || ours {
                return Err(format!(
                    "an unexpected {what} {text:?} (hex {}) appeared",
                    hex(name)
                ));
            }
        }
    }
    Ok(())
}

/// One generated case: create, check independently, clean up.
async fn run_case(server: &Server, engine: &dyn Engine, case: &Case, tally: &Tally) -> Result<(), String> {
    let token = dbprov_testkit::unique_name("hn");
    let database = case.database.build(&token);
    let user = case.user.build(&token);
    let password = case.password.as_str();
    let users = engine.capabilities().users;

    let kind = server.kind();
    let database_rules = accepts(engine, NameKind::Database, &database);
    let user_rules = users.then(|| accepts(engine, NameKind::User, &user)).flatten();
    let database_name = database_rules.clone();
    let user_name = user_rules
        .clone()
        .filter(|_| !password_erased_by_saslprep(kind, password));
    // MySQL stores a grant's database as a pattern in a 64-character column: a name that needs more once
    // `_`, `%` and `\` are escaped cannot get a database-level grant, and the engine says so.
    let grant_fits = kind != EngineKind::MariaDb || mysql_grant_pattern_chars(&database) <= 64;
    // MariaDB: a database an unescaped `_` or `%` in the grant's pattern would also match.
    let decoy = (kind == EngineKind::MariaDb && user_name.is_some() && grant_fits)
        .then(|| database_name.as_ref().map(|_| decoy_of(&database)))
        .flatten()
        .filter(|decoy| *decoy != database)
        .and_then(|decoy| accepts(engine, NameKind::Database, &decoy));

    let before = server.snapshot();
    let outcome = async {
        match &database_name {
            Some(name) => {
                bump(&tally.created_databases);
                create_database(engine, name).await?;
                server.check_sqlite_file(&database)?;
            }
            None => {
                bump(&tally.rejected_databases);
                reject_database(engine, &database)?;
            }
        }
        if let Some(decoy) = &decoy {
            create_database(engine, decoy).await?;
        }
        if users {
            match &user_name {
                Some(name) => {
                    bump(&tally.created_users);
                    create_user(engine, name, password).await?;
                    server.check_login(&user, password)?;
                }
                None if user_rules.is_some() => {
                    bump(&tally.rejected_passwords);
                    reject_password(engine, &user, password)?;
                }
                None => {
                    bump(&tally.rejected_users);
                    reject_user(engine, &user, password)?;
                }
            }
            if database_rules.is_none() || user_rules.is_none() {
                reject_grant(engine, kind, &user, &database)?;
            }
        }
        if let (Some(database_name), Some(user_name)) = (&database_name, &user_name) {
            if grant_fits {
                grant_database(engine, kind, user_name, database_name).await?;
                server.check_grant(&database, &user, password, decoy.as_ref().map(Name::as_str))?;
            } else {
                bump(&tally.grants_too_long);
                expect_grant_unsupported(engine, kind, user_name, database_name).await?;
            }
        }
        let mut databases: Vec<&str> = database_name.iter().map(Name::as_str).collect();
        databases.extend(decoy.iter().map(Name::as_str));
        let expected = server.expected_entries(&databases, user_name.as_ref().map(Name::as_str));
        let texts = [database.as_str(), user.as_str(), password];
        check_changes(server, &before, &server.snapshot(), &expected, &token, &texts)
    }
    .await;

    // Clean up whatever exists, even after a failure; the database goes first, since its privileges would
    // keep PostgreSQL from dropping the user.
    let mut cleanup = Vec::new();
    for name in database_name.iter().chain(decoy.iter()) {
        cleanup.push(drop_database(engine, name).await);
    }
    if let Some(name) = &user_name {
        cleanup.push(drop_user(engine, name).await);
    }
    let after_cleanup = server.snapshot();
    let leftovers: Vec<String> = after_cleanup
        .databases
        .iter()
        .chain(after_cleanup.users.iter())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .filter(|name| name.contains(&token))
        .collect();
    outcome?;
    cleanup.into_iter().collect::<Result<Vec<()>, String>>()?;
    if !leftovers.is_empty() {
        return Err(format!("left behind after dropping: {leftovers:?}"));
    }
    if server.is_private() && after_cleanup != before {
        return Err("the server does not look as before the case after dropping everything".to_owned());
    }
    Ok(())
}

fn seed() -> [u8; 32] {
    let seed = std::env::var("DBPROV_HOSTILE_SEED")
        .map(|value| value.parse::<u64>().expect("DBPROV_HOSTILE_SEED is a u64"))
        .unwrap_or(DEFAULT_SEED);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    bytes
}

fn cases() -> u32 {
    std::env::var("DBPROV_HOSTILE_CASES")
        .map(|value| value.parse().expect("DBPROV_HOSTILE_CASES is a number"))
        .unwrap_or(DEFAULT_CASES)
}

/// Runs the generated cases against one server, sequentially (the checks compare whole-server snapshots).
fn hostile_names_round_trip(server: Server) {
    let _exclusive = server.exclusive();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build a tokio runtime");
    let engine = runtime
        .block_on(dbprov_engines::connect(server.kind(), &server.admin()))
        .expect("connect as admin");
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed()));
    let tally = Tally::default();
    let result = runner.run(&case(), |case| {
        runtime
            .block_on(run_case(&server, engine.as_ref(), &case, &tally))
            .map_err(TestCaseError::fail)
    });
    runtime.block_on(engine.close());
    eprintln!(
        "{}: databases created {} / rejected {}, users created {} / rejected {}, \
         passwords refused {}, grants refused as too long {}",
        server.kind(),
        tally.created_databases.get(),
        tally.rejected_databases.get(),
        tally.created_users.get(),
        tally.rejected_users.get(),
        tally.rejected_passwords.get(),
        tally.grants_too_long.get()
    );
    if let Err(error) = result {
        panic!("{}: {error}", server.kind());
    }
    // The generator must reach both sides of each limit, or the run proves less than it claims.
    assert!(
        tally.created_databases.get() >= cases() / 3,
        "too few databases created"
    );
    assert!(
        tally.rejected_databases.get() > 0,
        "no database name was rejected"
    );
    if engine.capabilities().users {
        assert!(tally.created_users.get() >= cases() / 3, "too few users created");
    }
}

#[test]
fn postgres_hostile_names_round_trip() {
    hostile_names_round_trip(Server::postgres());
}

#[test]
fn mariadb_hostile_names_round_trip() {
    hostile_names_round_trip(Server::mariadb());
}

#[test]
fn sqlite_hostile_names_round_trip() {
    hostile_names_round_trip(Server::sqlite());
}

// ---------------------------------------------------------------------------------------------------------
// Regression tests: names the servers refuse, and catalog reads of names the rules reject
// ---------------------------------------------------------------------------------------------------------

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a tokio runtime")
        .block_on(future)
}

/// A name must be rejected as `InvalidName` by planning, or created verbatim (and is then dropped again).
async fn rejected_or_created(
    server: &Server,
    engine: &dyn Engine,
    name_kind: NameKind,
    value: &str,
) -> Result<(), String> {
    let name = Name::parse(name_kind, value).expect("regression inputs are valid names");
    let empty = Catalog::default();
    let mut role = RoleSpec::user(name.clone());
    role.password = Some(PasswordSpec::new(Secret::new("regression-Password-1")));
    let planned = match name_kind {
        NameKind::Database => engine.plan_database(&DatabaseSpec::new(name.clone()), &empty),
        _ => engine.plan_role(&role, &empty),
    };
    match planned {
        Err(error) if error.category() == ErrorCategory::InvalidName => return Ok(()),
        Err(error) => {
            return Err(format!(
                "{name_kind} {value:?}: {} instead of InvalidName: {}",
                error.kind(),
                error.chain()
            ));
        }
        Ok(_) => {}
    }
    let before = server.snapshot();
    let created = match name_kind {
        NameKind::Database => create_database(engine, &name).await,
        _ => create_user(engine, &name, "regression-Password-1").await,
    };
    let expected = match name_kind {
        NameKind::Database => server.expected_entries(&[value], None),
        _ => server.expected_entries(&[], Some(value)),
    };
    let checked =
        created.and_then(|()| check_changes(server, &before, &server.snapshot(), &expected, value, &[value]));
    let dropped = match name_kind {
        NameKind::Database => drop_database(engine, &name).await,
        _ => drop_user(engine, &name).await,
    };
    checked.and(dropped)
}

fn names_the_server_refuses(server: Server, names: &[(NameKind, String)]) {
    let _exclusive = server.exclusive();
    let failures: Vec<String> = block_on(async {
        let engine = dbprov_engines::connect(server.kind(), &server.admin())
            .await
            .expect("connect as admin");
        let mut failures = Vec::new();
        for (name_kind, value) in names {
            if let Err(failure) = rejected_or_created(&server, engine.as_ref(), *name_kind, value).await {
                failures.push(failure);
            }
        }
        engine.close().await;
        failures
    });
    assert!(
        failures.is_empty(),
        "names the server refuses must be rejected as InvalidName before any SQL runs:\n{}",
        failures.join("\n")
    );
}

#[test]
fn postgres_role_names_with_the_reserved_prefix_are_invalid() {
    let token = dbprov_testkit::unique_name("reserved");
    names_the_server_refuses(Server::postgres(), &[(NameKind::User, format!("pg_{token}"))]);
}

#[test]
fn mariadb_database_names_the_server_refuses_are_invalid() {
    let token = dbprov_testkit::unique_name("r");
    let fill = |unit: &str| format!("{token}{}", unit.repeat(64 - token.chars().count()));
    let mut names: Vec<(NameKind, String)> = ["\t", "\n", "\u{b}", "\u{c}", "\r"]
        .iter()
        .map(|end| (NameKind::Database, format!("{token}{end}")))
        .collect();
    names.push((NameKind::Database, format!("#mysql50#{token}")));
    // 64 characters, over 50 of them stored as `@XXXX` in the database's directory name: over 255 bytes.
    names.push((NameKind::Database, fill("'")));
    names.push((NameKind::Database, fill("\u{2603}")));
    names_the_server_refuses(Server::mariadb(), &names);
}

#[test]
fn sqlite_database_names_leave_room_for_the_journal_file() {
    let token = dbprov_testkit::unique_name("journal");
    let names: Vec<(NameKind, String)> = [240, 247]
        .iter()
        .map(|bytes| {
            (
                NameKind::Database,
                format!("{token}{}", "n".repeat(bytes - token.len())),
            )
        })
        .collect();
    names_the_server_refuses(Server::sqlite(), &names);
}

#[test]
fn postgres_passwords_that_saslprep_erases_are_invalid() {
    let server = Server::postgres();
    let _exclusive = server.exclusive();
    let failures: Vec<String> = block_on(async {
        let engine = dbprov_engines::connect(EngineKind::Postgres, &server.admin())
            .await
            .expect("connect as admin");
        let mut failures = Vec::new();
        // Zero width joiner, soft hyphen, byte order mark: SASLprep maps each to nothing.
        for password in ["\u{200d}", "\u{ad}\u{feff}"] {
            let name =
                Name::parse(NameKind::User, dbprov_testkit::unique_name("erased")).expect("a valid Name");
            let mut spec = RoleSpec::user(name.clone());
            spec.password = Some(PasswordSpec::new(Secret::new(password)));
            match engine.plan_role(&spec, &Catalog::default()) {
                Err(error) if error.category() == ErrorCategory::InvalidSpec => continue,
                Err(error) => failures.push(format!("{password:?}: {}: {}", error.kind(), error.chain())),
                Ok(_) => {
                    let created = create_user(engine.as_ref(), &name, password)
                        .await
                        .and_then(|()| server.check_login(name.as_str(), password));
                    if let Err(failure) = created {
                        failures.push(format!("password {password:?} accepted, but {failure}"));
                    }
                    if let Err(failure) = drop_user(engine.as_ref(), &name).await {
                        failures.push(failure);
                    }
                }
            }
        }
        engine.close().await;
        failures
    });
    assert!(
        failures.is_empty(),
        "a password SASLprep maps to nothing must be refused as InvalidSpec (PostgreSQL would clear it):\n{}",
        failures.join("\n")
    );
}

/// Reading the catalog for a name the engine's rules reject must say `InvalidName` (as the PostgreSQL engine
/// does: such a name cannot exist) instead of running a query or a file lookup with it.
fn catalog_reads_refuse(kind: EngineKind, admin: &ConnectionSpec, requests: Vec<(String, CatalogRequest)>) {
    let failures: Vec<String> = block_on(async {
        let engine = dbprov_engines::connect(kind, admin)
            .await
            .expect("connect as admin");
        let mut failures = Vec::new();
        for (what, request) in requests {
            match engine.inspect(&request).await {
                Err(error) if error.category() == ErrorCategory::InvalidName => {}
                Err(error) => failures.push(format!("{what}: {}: {}", error.kind(), error.chain())),
                Ok(catalog) => failures.push(format!(
                    "{what}: read with {} queries; found databases {:?}",
                    catalog.queries,
                    catalog.databases.keys().collect::<Vec<_>>()
                )),
            }
        }
        engine.close().await;
        failures
    });
    assert!(
        failures.is_empty(),
        "catalog reads of names the rules reject must fail as InvalidName:\n{}",
        failures.join("\n")
    );
}

fn database_request(value: String) -> (String, CatalogRequest) {
    let name = Name::parse(NameKind::Database, value.clone()).expect("a valid Name");
    (
        format!("database {value:?}"),
        CatalogRequest::default().database(name, false),
    )
}

fn role_request(value: String) -> (String, CatalogRequest) {
    let name = Name::parse(NameKind::User, value.clone()).expect("a valid Name");
    (format!("user {value:?}"), CatalogRequest::default().role(name))
}

#[test]
fn postgres_catalog_reads_refuse_invalid_names() {
    let token = dbprov_testkit::unique_name("inspect");
    let long = format!("{token}{}", "n".repeat(64 - token.len()));
    catalog_reads_refuse(
        EngineKind::Postgres,
        &Server::postgres().admin(),
        vec![database_request(long.clone()), role_request(long)],
    );
}

#[test]
fn mariadb_catalog_reads_refuse_invalid_names() {
    let token = dbprov_testkit::unique_name("inspect");
    let outside_bmp = format!("{token}\u{1f600}");
    let grantee = Name::parse(NameKind::User, outside_bmp.clone()).expect("a valid Name");
    let database = Name::parse(NameKind::Database, token.clone()).expect("a valid Name");
    catalog_reads_refuse(
        EngineKind::MariaDb,
        &Server::mariadb().admin(),
        vec![
            database_request(outside_bmp.clone()),
            role_request(outside_bmp.clone()),
            (
                format!("grants of {outside_bmp:?}"),
                CatalogRequest::default().grant(grantee, database),
            ),
            database_request(format!("{token}{}", "n".repeat(65 - token.len()))),
        ],
    );
}

#[test]
fn sqlite_catalog_reads_refuse_invalid_names() {
    // The instance directory sits inside another directory holding a database file of its own: reading
    // `../<name>` must not find it.
    let outer = dbprov_testkit::sqlite_dir();
    let instance = outer.path().join("instance");
    std::fs::create_dir(&instance).expect("create the instance directory");
    let token = dbprov_testkit::unique_name("inspect");
    std::fs::write(outer.path().join(format!("{token}.sqlite3")), b"").expect("write a database outside");
    catalog_reads_refuse(
        EngineKind::Sqlite,
        &ConnectionSpec::directory(&instance),
        vec![
            database_request(format!("../{token}")),
            database_request(format!("{token}{}", "n".repeat(300 - token.len()))),
        ],
    );
}
