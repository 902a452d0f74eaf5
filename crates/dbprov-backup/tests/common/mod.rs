//! Helpers shared by the integration tests: storages, targets, independent fingerprints of a database
//! (through the real CLI clients, not the code under test), and process inspection.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dbprov_backup::progress::Progress;
use dbprov_backup::{DatabaseTarget, Storage, StorageConfig, ToolLocator};
use dbprov_core::EngineKind;
use dbprov_testkit::{ServerAddress, mariadb_sql, psql};
use tokio::sync::watch;

/// A local storage in a fresh temporary directory.
pub fn local_storage() -> (tempfile::TempDir, Storage) {
    let directory = tempfile::Builder::new()
        .prefix("dbprov-backup-test-")
        .tempdir()
        .expect("create a temporary directory");
    let storage = Storage::open(&StorageConfig::Local {
        path: directory.path().join("backups"),
    })
    .expect("open local storage");
    (directory, storage)
}

/// File names in a directory (empty when it does not exist), hidden ones included.
pub fn files_in(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The tools next to the test server (also exercises the configurable tool directory).
pub fn tools(address: &ServerAddress) -> ToolLocator {
    ToolLocator::in_directory(&address.bin_dir)
}

// ---------------------------------------------------------------------------------------------------------
// PostgreSQL

pub fn pg_target(database: &str) -> DatabaseTarget {
    DatabaseTarget::new(
        EngineKind::Postgres,
        dbprov_testkit::postgres().admin_connection(),
        database,
    )
}

pub fn pg_create(database: &str) {
    psql(
        dbprov_testkit::postgres(),
        "postgres",
        &format!("CREATE DATABASE \"{database}\""),
    );
}

pub fn pg_drop(database: &str) {
    psql(
        dbprov_testkit::postgres(),
        "postgres",
        &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
    );
}

/// Tables, a view, a sequence, a function, a trigger, an enum, a second schema, awkward values.
pub const PG_SEED: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SCHEMA billing;
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    note text,
    balance numeric(12, 2) NOT NULL DEFAULT 0,
    feeling mood,
    tags text[],
    profile jsonb,
    photo bytea,
    created timestamptz NOT NULL DEFAULT '2025-01-06 12:00:00+00'
);
CREATE INDEX customers_name ON customers (name);
CREATE TABLE billing.invoices (
    id serial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    amount numeric(12, 2) NOT NULL
);
CREATE FUNCTION billing.total(customer bigint) RETURNS numeric LANGUAGE sql STABLE
    AS $$ SELECT coalesce(sum(amount), 0) FROM billing.invoices WHERE customer_id = customer $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.amount := round(NEW.amount, 2); RETURN NEW; END $$;
CREATE TRIGGER invoices_touch BEFORE INSERT ON billing.invoices FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW rich AS SELECT c.id, c.name, billing.total(c.id) AS total FROM customers c WHERE c.balance > 100;
COMMENT ON TABLE customers IS 'people who pay';
INSERT INTO customers (name, note, balance, feeling, tags, profile, photo)
SELECT 'customer ' || g,
       CASE WHEN g % 3 = 0 THEN E'it''s "quoted"\nand \\ back-slashed ☃' END,
       g * 1.5,
       (ARRAY['sad', 'ok', 'happy']::mood[])[1 + g % 3],
       ARRAY['t' || g, 'x'],
       jsonb_build_object('n', g, 'even', g % 2 = 0),
       decode(md5(g::text), 'hex')
FROM generate_series(1, 500) g;
INSERT INTO billing.invoices (customer_id, amount) SELECT 1 + g % 500, g * 0.333 FROM generate_series(1, 1500) g;
"#;

pub fn pg_seed(database: &str) {
    psql(dbprov_testkit::postgres(), database, PG_SEED);
}

fn pg_tool(name: &str) -> Command {
    let address = dbprov_testkit::postgres();
    let mut command = Command::new(address.bin_dir.join(name));
    command
        .env("PGHOST", &address.host)
        .env("PGPORT", address.port.to_string())
        .env("PGUSER", &address.admin_user)
        .env("PGPASSWORD", &address.admin_password)
        .env("PGSSLMODE", "disable");
    command
}

/// The schema (as `pg_dump --schema-only` prints it) and a checksum of every table's rows, computed with
/// the real client.
pub fn pg_fingerprint(database: &str) -> String {
    let output = pg_tool("pg_dump")
        .args(["--schema-only", "--no-owner", "-d", database])
        .output()
        .expect("run pg_dump");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let schema: String = String::from_utf8_lossy(&output.stdout)
        .lines()
        // Comments, and the random keys of pg_dump's `\restrict` guard.
        .filter(|line| {
            !line.starts_with("--") && !line.starts_with("\\restrict") && !line.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let address = dbprov_testkit::postgres();
    let tables = psql(
        address,
        database,
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    let mut fingerprint = schema;
    for table in tables.lines().filter(|line| !line.is_empty()) {
        let checksum = psql(
            address,
            database,
            &format!(
                "SELECT count(*) || ':' || md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {table} x"
            ),
        );
        fingerprint.push_str(&format!("\n{table} {}", checksum.trim()));
    }
    fingerprint
}

/// Number of user tables.
pub fn pg_table_count(database: &str) -> u64 {
    psql(
        dbprov_testkit::postgres(),
        database,
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .trim()
    .parse()
    .expect("a count")
}

/// A table of about `megabytes` MB of poorly compressible text, generated by the server.
pub fn pg_seed_big(database: &str, megabytes: u32) {
    psql(
        dbprov_testkit::postgres(),
        database,
        &format!(
            "CREATE TABLE big AS SELECT g AS id, string_agg(md5((g * 1000 + i)::text), '') AS payload \
             FROM generate_series(1, {}) g, generate_series(1, 31) i GROUP BY g",
            megabytes * 1000
        ),
    );
}

// ---------------------------------------------------------------------------------------------------------
// MariaDB

pub fn maria_target(database: &str) -> DatabaseTarget {
    DatabaseTarget::new(
        EngineKind::MariaDb,
        dbprov_testkit::mariadb().admin_connection(),
        database,
    )
}

pub fn maria_create(database: &str) {
    mariadb_sql(
        dbprov_testkit::mariadb(),
        &format!("CREATE DATABASE `{database}`"),
    );
}

pub fn maria_drop(database: &str) {
    mariadb_sql(
        dbprov_testkit::mariadb(),
        &format!("DROP DATABASE IF EXISTS `{database}`"),
    );
}

pub const MARIA_SEED: &str = r#"
CREATE TABLE customers (
    id INT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    note TEXT,
    balance DECIMAL(12, 2) NOT NULL DEFAULT 0,
    feeling ENUM('sad', 'ok', 'happy'),
    photo BLOB,
    created DATETIME NOT NULL DEFAULT '2025-01-06 12:00:00',
    KEY customers_name (name)
) ENGINE=InnoDB;
CREATE TABLE invoices (
    id INT AUTO_INCREMENT PRIMARY KEY,
    customer_id INT NOT NULL,
    amount DECIMAL(12, 2) NOT NULL,
    FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB;
CREATE VIEW rich AS SELECT id, name FROM customers WHERE balance > 100;
CREATE FUNCTION total(customer INT) RETURNS DECIMAL(12, 2) READS SQL DATA
    RETURN (SELECT COALESCE(SUM(amount), 0) FROM invoices WHERE customer_id = customer);
CREATE TRIGGER invoices_round BEFORE INSERT ON invoices FOR EACH ROW SET NEW.amount = ROUND(NEW.amount, 2);
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM invoices WHERE amount < 0;
INSERT INTO customers (name, note, balance, feeling, photo)
SELECT CONCAT('customer ', seq),
       IF(seq % 3 = 0, CONCAT('it''s "quoted"', CHAR(10), 'and \\ back-slashed ☃'), NULL),
       seq * 1.5,
       ELT(1 + seq % 3, 'sad', 'ok', 'happy'),
       UNHEX(MD5(seq))
FROM seq_1_to_500;
INSERT INTO customers (name, photo) VALUES ('all bytes', (SELECT UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR '')) FROM seq_0_to_255));
INSERT INTO invoices (customer_id, amount) SELECT 1 + seq % 500, seq * 0.333 FROM seq_1_to_1500;
"#;

pub fn maria_seed(database: &str) {
    mariadb_sql(
        dbprov_testkit::mariadb(),
        &format!("USE `{database}`; {MARIA_SEED}"),
    );
}

/// Schema (from `mariadb-dump --no-data`, with the database name normalised) and row checksums.
pub fn maria_fingerprint(database: &str) -> String {
    let address = dbprov_testkit::mariadb();
    let output = Command::new(address.bin_dir.join("mariadb-dump"))
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
            "--skip-ssl",
            "--no-data",
            "--skip-comments",
            "--skip-dump-date",
        ])
        .args(["--routines", "--events", "--triggers", "--", database])
        .env("MYSQL_PWD", &address.admin_password)
        .output()
        .expect("run mariadb-dump");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut fingerprint = String::from_utf8_lossy(&output.stdout).replace(database, "<database>");
    let tables = mariadb_sql(
        address,
        &format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{database}' \
             AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"
        ),
    );
    for table in tables.lines().filter(|line| !line.is_empty()) {
        let checksum = mariadb_sql(
            address,
            &format!("CHECKSUM TABLE `{database}`.`{table}` EXTENDED"),
        );
        let value = checksum.split('\t').nth(1).unwrap_or_default().trim().to_owned();
        fingerprint.push_str(&format!("\n{table} {value}"));
    }
    fingerprint
}

pub fn maria_table_count(database: &str) -> u64 {
    mariadb_sql(
        dbprov_testkit::mariadb(),
        &format!("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{database}'"),
    )
    .trim()
    .parse()
    .expect("a count")
}

// ---------------------------------------------------------------------------------------------------------
// Artifacts and processes

/// Flips one byte in the middle of a file.
pub fn flip_byte(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read the artifact");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(path, bytes).expect("write the artifact");
}

/// Cuts the last `count` bytes off a file.
pub fn truncate_by(path: &Path, count: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open the artifact");
    let length = file.metadata().expect("stat").len();
    file.set_len(length - count).expect("truncate");
}

/// The pid of a child of this test process running `program` whose command line or environment mentions
/// `marker` (a unique database name), if any.
pub fn find_child(program: &str, marker: &str) -> Option<i32> {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").ok()?.filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map(|(_, comm)| comm).unwrap_or_default();
        let mut fields = tail.split_whitespace();
        let state = fields.next().unwrap_or_default();
        let parent = fields.next().unwrap_or_default();
        if parent != me || comm != program || state == "Z" {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let mentions = |bytes: &[u8]| {
            bytes
                .windows(marker.len())
                .any(|window| window == marker.as_bytes())
        };
        if mentions(&cmdline) || mentions(&environ) {
            return Some(pid);
        }
    }
    None
}

pub fn kill(pid: i32) {
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Waits until the progress channel reports streamed bytes.
pub async fn wait_for_bytes(receiver: &mut watch::Receiver<Progress>, at_least: u64) {
    tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            if receiver.borrow_and_update().raw_bytes >= at_least {
                return;
            }
            if receiver.changed().await.is_err() {
                panic!("the backup ended before streaming {at_least} bytes");
            }
        }
    })
    .await
    .expect("the backup streams within two minutes");
}

/// Runs a shell pipeline and returns its status and stderr (for "restore by hand" checks).
pub fn shell(script: &str, environment: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new("bash");
    command.arg("-c").arg(format!("set -o pipefail; {script}"));
    for (name, value) in environment {
        command.env(name, value);
    }
    let output = command.output().expect("run sh");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn artifact_path(directory: &tempfile::TempDir, artifact: &str) -> PathBuf {
    directory.path().join("backups").join(artifact)
}
