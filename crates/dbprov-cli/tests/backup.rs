//! Backups and restores through `dbprov apply`, `dbprov backup list|verify` and `dbprov schedule tick`, on
//! the throwaway MariaDB and PostgreSQL servers (and S3 through a moto server).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Workspace, instance, mariadb, psql};
use dbprov_testkit::unique_name;

fn database(name: &str, object: &str, instance: &str) -> String {
    format!(
        "---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: Database
metadata:
  name: {object}
spec:
  instanceRef:
    name: {instance}
  name: {name}
  deletionProtection: false
  deletionPolicy: Delete
"
    )
}

/// Artifacts (not metadata, not temporary files) in a directory.
fn artifacts(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.ends_with(".meta.json") && !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn is_seeds_name(name: &str) -> bool {
    // clients-YYYYMMDD-HHMMSS.sql.gz
    let Some(stamp) = name
        .strip_prefix("clients-")
        .and_then(|rest| rest.strip_suffix(".sql.gz"))
    else {
        return false;
    };
    stamp.len() == 15
        && stamp
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 8 { b == b'-' } else { b.is_ascii_digit() })
}

/// Row count and a checksum of the rows, through the real client.
fn maria_rows(database: &str) -> String {
    mariadb(&format!(
        "SELECT CONCAT(COUNT(*), ':', MD5(GROUP_CONCAT(id, name, balance ORDER BY id))) FROM `{database}`.clients"
    ))
}

fn maria_database_exists(database: &str) -> bool {
    mariadb(&format!(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{database}'"
    )) == "1"
}

#[test]
fn mariadb_backup_verify_restore_and_refusals() {
    let server = dbprov_testkit::mariadb();
    let workspace = Workspace::new();
    let source = unique_name("clients");
    let copy = format!("{source}_copy");
    let bad = format!("{source}_bad");
    let storage = workspace.path().join("backups");
    workspace.write(
        "db.yaml",
        &format!(
            "{}{}",
            instance("maria", "mariadb", server, ""),
            database(&source, "clients", "maria")
        ),
    );
    workspace.dbprov(&["apply", "-f", "db.yaml"]).expect(0);
    mariadb(&format!(
        "USE `{source}`;
         CREATE TABLE clients (id INT PRIMARY KEY, name VARCHAR(50), balance DECIMAL(10,2));
         INSERT INTO clients SELECT seq, CONCAT('client ', seq), seq * 1.25 FROM seq_1_to_300;"
    ));
    let rows = maria_rows(&source);
    assert!(rows.starts_with("300:"), "{rows}");

    workspace.write(
        "backup.yaml",
        &format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackup
metadata:
  name: clients-nightly
spec:
  databaseRef:
    name: clients
  storage:
    type: local
    local:
      path: {}
    namePrefix: clients
  compression:
    enabled: true
    algorithm: gzip
",
            storage.display()
        ),
    );
    // Plan says what would happen and runs nothing.
    let plan = workspace
        .dbprov(&["plan", "-f", "backup.yaml", "--detailed-exitcode"])
        .expect(2);
    assert!(
        plan.stdout.contains("back up database") && plan.stdout.contains("clients-<YYYYMMDD-HHMMSS>.sql.gz"),
        "{}",
        plan.stdout
    );
    assert!(artifacts(&storage).is_empty());

    let apply = workspace.dbprov(&["apply", "-f", "backup.yaml"]).expect(0);
    assert!(
        apply.stdout.contains("databasebackup/clients-nightly completed"),
        "{}",
        apply.stdout
    );
    let made = artifacts(&storage);
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(is_seeds_name(&made[0]), "the seeds' naming: {made:?}");
    assert!(storage.join(format!("{}.meta.json", made[0])).exists());
    // Plain gzip SQL: readable with gunzip, so nobody is locked in.
    let output = Command::new("gzip")
        .args(["-dc"])
        .arg(storage.join(&made[0]))
        .output()
        .expect("run gzip");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("CREATE TABLE `clients`"));

    // Applying a completed backup again is a no-op.
    let again = workspace.dbprov(&["apply", "-f", "backup.yaml"]).expect(0);
    assert!(
        again.stdout.contains("databasebackup/clients-nightly unchanged"),
        "{}",
        again.stdout
    );
    assert_eq!(artifacts(&storage), made);
    let status = workspace
        .dbprov(&["-o", "json", "get", "dbbak", "clients-nightly"])
        .expect(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["status"]["phase"], "Completed");
    assert_eq!(status["status"]["backup"]["artifact"], made[0].as_str());
    assert!(
        status["status"]["backup"]["checksum"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    let verified = workspace
        .dbprov(&["backup", "verify", "clients-nightly"])
        .expect(0);
    assert!(verified.stdout.contains("verified"), "{}", verified.stdout);
    let path = storage.join(&made[0]).display().to_string();
    workspace.dbprov(&["backup", "verify", &path]).expect(0);
    let listed = workspace
        .dbprov(&["backup", "list", "--storage", &storage.display().to_string()])
        .expect(0);
    assert!(
        listed.stdout.contains(&made[0]) && listed.stdout.contains("complete"),
        "{}",
        listed.stdout
    );

    // Restore into a new database: planned first, then the same rows.
    workspace.write(
        "restore.yaml",
        &format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseRestore
metadata:
  name: clients-copy
spec:
  backupRef:
    name: clients-nightly
  target:
    instanceRef:
      name: maria
    databaseName: {copy}
"
        ),
    );
    let plan = workspace.dbprov(&["plan", "-f", "restore.yaml"]).expect(0);
    assert!(
        plan.stdout.contains(&format!("create database {copy}"))
            && plan.stdout.contains("after verifying it"),
        "{}",
        plan.stdout
    );
    assert!(!maria_database_exists(&copy));
    let restored = workspace.dbprov(&["apply", "-f", "restore.yaml"]).expect(0);
    assert!(
        restored.stdout.contains("databaserestore/clients-copy completed"),
        "{}",
        restored.stdout
    );
    assert_eq!(maria_rows(&copy), rows);

    // In place without the acknowledgement: refused before anything runs; the target is untouched.
    mariadb(&format!(
        "INSERT INTO `{source}`.clients VALUES (1000, 'after the backup', 1)"
    ));
    let changed = maria_rows(&source);
    workspace.write(
        "in-place.yaml",
        "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseRestore
metadata:
  name: clients-rollback
spec:
  backupRef:
    name: clients-nightly
  target:
    databaseRef:
      name: clients
    inPlace: true
",
    );
    let refused = workspace.dbprov(&["apply", "-f", "in-place.yaml"]).expect(1);
    assert!(
        refused.stderr.contains("acknowledgeDataLoss") && refused.stderr.contains("I-UNDERSTAND-DATA-LOSS"),
        "{}",
        refused.stderr
    );
    assert_eq!(maria_rows(&source), changed);

    // A corrupted artifact is refused before the target is touched (the database created for it is gone).
    let artifact = storage.join(&made[0]);
    let mut bytes = std::fs::read(&artifact).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&artifact, bytes).unwrap();
    let failed = workspace
        .dbprov(&["backup", "verify", "clients-nightly"])
        .expect(1);
    assert!(failed.stderr.contains("ArtifactInvalid"), "{}", failed.stderr);
    workspace.write(
        "bad.yaml",
        &format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseRestore
metadata:
  name: clients-bad
spec:
  fromPath:
    storage:
      type: local
      local:
        path: {}
    backupPath: {}
  target:
    instanceRef:
      name: maria
    databaseName: {bad}
",
            storage.display(),
            made[0]
        ),
    );
    let corrupt = workspace.dbprov(&["apply", "-f", "bad.yaml"]).expect(1);
    assert!(
        corrupt.stdout.contains("databaserestore/clients-bad failed")
            && corrupt.stdout.contains("not touched"),
        "{}",
        corrupt.stdout
    );
    assert!(!maria_database_exists(&bad));
    let status = workspace
        .dbprov(&["-o", "json", "get", "dbrestore", "clients-bad"])
        .expect(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["status"]["phase"], "Failed");
    assert_eq!(status["status"]["conditions"][0]["reason"], "ArtifactInvalid");

    for name in [&source, &copy, &bad] {
        mariadb(&format!("DROP DATABASE IF EXISTS `{name}`"));
    }
}

/// A moto S3 server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Self {
        dbprov_testkit::ensure_python_packages(&["moto", "moto.server"], &["moto[server]"]);
        let port = dbprov_testkit::free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port }
    }

    fn create_bucket(&self, bucket: &str) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pg_rows(database: &str) -> String {
    dbprov_testkit::psql(
        dbprov_testkit::postgres(),
        database,
        "SELECT count(*) || ':' || md5(string_agg(id || name, ',' ORDER BY id)) FROM clients",
    )
    .trim()
    .to_owned()
}

#[test]
fn postgres_encrypted_backup_to_s3_restores_into_a_new_database() {
    let server = dbprov_testkit::postgres();
    let moto = Moto::start();
    moto.create_bucket("backups");
    let workspace = Workspace::new();
    let source = unique_name("pgbak");
    let copy = format!("{source}_copy");
    workspace.write(
        "db.yaml",
        &format!(
            "{}{}",
            instance("pg", "postgres", server, ""),
            database(&source, "app", "pg")
        ),
    );
    workspace.dbprov(&["apply", "-f", "db.yaml"]).expect(0);
    dbprov_testkit::psql(
        server,
        &source,
        "CREATE TABLE clients (id int PRIMARY KEY, name text);
         INSERT INTO clients SELECT g, 'client ' || g FROM generate_series(1, 500) g;",
    );
    let rows = pg_rows(&source);
    let key = "11".repeat(32);
    workspace.write(
        "backup.yaml",
        &format!(
            "apiVersion: v1
kind: Secret
metadata:
  name: s3-credentials
stringData:
  AWS_ACCESS_KEY_ID: testing
  AWS_SECRET_ACCESS_KEY: testing
---
apiVersion: v1
kind: Secret
metadata:
  name: backup-key
stringData:
  key: \"{key}\"
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackup
metadata:
  name: app-s3
spec:
  databaseRef:
    name: app
  storage:
    type: s3
    s3:
      bucket: backups
      region: us-east-1
      prefix: team/app
      endpoint: http://127.0.0.1:{port}
      forcePathStyle: true
      secretRef:
        name: s3-credentials
  compression:
    algorithm: zstd
  encryption:
    secretRef:
      name: backup-key
      key: key
---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseRestore
metadata:
  name: app-copy
spec:
  backupRef:
    name: app-s3
  target:
    instanceRef:
      name: pg
    databaseName: {copy}
",
            port = moto.port
        ),
    );
    let apply = workspace.dbprov(&["apply", "-f", "backup.yaml"]).expect(0);
    assert!(
        apply.stdout.contains("databasebackup/app-s3 completed"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("databaserestore/app-copy completed"),
        "{}",
        apply.stdout
    );
    assert_eq!(pg_rows(&copy), rows);
    let status = workspace
        .dbprov(&["-o", "json", "get", "dbbak", "app-s3"])
        .expect(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let location = status["status"]["backup"]["path"].as_str().unwrap();
    assert!(location.starts_with("s3://backups/team/app/"), "{location}");
    assert!(location.ends_with(".dump.zst.enc"), "{location}");
    assert_eq!(
        status["status"]["backup"]["encryptionKeyId"],
        "secret/default/backup-key#key"
    );
    // The key and credentials came from the Secrets, kept in the state directory: verify needs nothing else.
    workspace.dbprov(&["backup", "verify", "app-s3"]).expect(0);
    for name in [&source, &copy] {
        psql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}

#[test]
fn schedule_tick_runs_due_backups_and_keeps_what_retention_says() {
    let server = dbprov_testkit::postgres();
    let workspace = Workspace::new();
    let source = unique_name("pgsched");
    let storage: PathBuf = workspace.path().join("scheduled");
    workspace.write(
        "all.yaml",
        &format!(
            "{}{}---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackupSchedule
metadata:
  name: app-minutely
spec:
  schedule: \"* * * * *\"
  retention:
    keepLast: 2
  template:
    spec:
      databaseRef:
        name: app
      storage:
        type: local
        local:
          path: {}
",
            instance("pg", "postgres", server, ""),
            database(&source, "app", "pg"),
            storage.display()
        ),
    );
    let apply = workspace.dbprov(&["apply", "-f", "all.yaml"]).expect(0);
    assert!(
        apply.stdout.contains("databasebackupschedule/app-minutely"),
        "{}",
        apply.stdout
    );
    dbprov_testkit::psql(
        server,
        &source,
        "CREATE TABLE clients (id int PRIMARY KEY, name text)",
    );
    let schedule = workspace
        .dbprov(&["-o", "json", "get", "dbbaksched", "app-minutely"])
        .expect(0);
    let schedule: serde_json::Value = serde_json::from_str(&schedule.stdout).unwrap();
    assert_eq!(schedule["status"]["phase"], "Active");
    let next = schedule["status"]["nextBackupTime"].as_str().unwrap().to_owned();
    let next = chrono::DateTime::parse_from_rfc3339(&next).unwrap();

    // Not due before the next minute.
    workspace
        .dbprov(&["schedule", "tick", "-f", "all.yaml"])
        .expect(0);
    assert!(artifacts(&storage).is_empty());
    let mut made = Vec::new();
    for minute in 0..4 {
        let at = (next + chrono::TimeDelta::minutes(minute) + chrono::TimeDelta::seconds(5)).to_rfc3339();
        let tick = workspace
            .dbprov(&["schedule", "tick", "-f", "all.yaml", "--now", &at])
            .expect(0);
        let name = format!(
            "databasebackup/app-minutely-{} completed",
            (next + chrono::TimeDelta::minutes(minute)).format("%Y%m%d-%H%M%S")
        );
        assert!(tick.stdout.contains(&name), "{}", tick.stdout);
        made.push(artifacts(&storage));
        // Artifact names have a one-second resolution.
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_eq!(made[0].len(), 1);
    assert_eq!(made[1].len(), 2);
    // keepLast: 2 keeps exactly the two newest.
    assert_eq!(made[2].len(), 2);
    assert_eq!(made[3].len(), 2);
    assert!(!made[3].contains(&made[1][0]) && made[3].contains(&made[2][1]));
    let backups = workspace.dbprov(&["-o", "json", "get", "dbbak"]).expect(0);
    let backups: serde_json::Value = serde_json::from_str(&backups.stdout).unwrap();
    assert_eq!(backups["items"].as_array().map(Vec::len), Some(2), "{backups}");
    // The same minute again: nothing more runs.
    let at = (next + chrono::TimeDelta::minutes(3) + chrono::TimeDelta::seconds(30)).to_rfc3339();
    let idle = workspace
        .dbprov(&["schedule", "tick", "-f", "all.yaml", "--now", &at])
        .expect(0);
    assert!(!idle.stdout.contains("completed"), "{}", idle.stdout);
    let schedule = workspace
        .dbprov(&["-o", "json", "get", "dbbaksched", "app-minutely"])
        .expect(0);
    let schedule: serde_json::Value = serde_json::from_str(&schedule.stdout).unwrap();
    assert_eq!(schedule["status"]["statistics"]["successfulBackups"], 2);
    assert_eq!(schedule["status"]["lastBackup"]["status"], "Completed");
    psql(&format!("DROP DATABASE IF EXISTS \"{source}\" WITH (FORCE)"));
}

#[test]
fn expired_backups_are_pruned_with_their_artifacts() {
    let server = dbprov_testkit::postgres();
    let workspace = Workspace::new();
    let source = unique_name("pgttl");
    let storage: PathBuf = workspace.path().join("expiring");
    let backup = |name: &str, ttl: &str| {
        format!(
            "---
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackup
metadata:
  name: {name}
spec:
  databaseRef:
    name: app
  ttl: {ttl}
  storage:
    type: local
    local:
      path: {}
",
            storage.display()
        )
    };
    workspace.write(
        "setup.yaml",
        &format!(
            "{}{}",
            instance("pg", "postgres", server, ""),
            database(&source, "app", "pg")
        ),
    );
    workspace.dbprov(&["apply", "-f", "setup.yaml"]).expect(0);
    workspace.write("short.yaml", &backup("short", "1s"));
    workspace.write("long.yaml", &backup("long", "7d"));
    workspace.dbprov(&["apply", "-f", "short.yaml"]).expect(0);
    // Artifact names have a one-second resolution.
    std::thread::sleep(Duration::from_millis(1100));
    workspace.dbprov(&["apply", "-f", "long.yaml"]).expect(0);
    let before = artifacts(&storage);
    assert_eq!(before.len(), 2, "{before:?}");
    let short = workspace
        .dbprov(&["-o", "json", "get", "dbbak", "short"])
        .expect(0);
    let short: serde_json::Value = serde_json::from_str(&short.stdout).unwrap();
    let artifact = short["status"]["backup"]["artifact"].as_str().unwrap().to_owned();
    assert!(short["status"]["expiresAt"].is_string(), "{short:#}");

    let pruned = workspace.dbprov(&["backup", "prune"]).expect(0);
    assert!(
        pruned
            .stdout
            .contains(&format!("databasebackup/short pruned: {artifact} (ttl expired)")),
        "{}",
        pruned.stdout
    );
    let after = artifacts(&storage);
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(!after.contains(&artifact), "{after:?}");
    let backups = workspace.dbprov(&["-o", "json", "get", "dbbak"]).expect(0);
    let backups: serde_json::Value = serde_json::from_str(&backups.stdout).unwrap();
    let names: Vec<&str> = backups["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["long"]);
    // Nothing else has expired.
    let again = workspace.dbprov(&["backup", "prune"]).expect(0);
    assert!(again.stdout.contains("no expired backups"), "{}", again.stdout);
    assert_eq!(artifacts(&storage).len(), 1);
    psql(&format!("DROP DATABASE IF EXISTS \"{source}\" WITH (FORCE)"));
}
