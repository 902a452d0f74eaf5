//! Backups and restores of SQLite database files (online snapshots with `VACUUM INTO`).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use dbprov_backup::artifact::ArtifactFormat;
use dbprov_backup::progress::{Phase, Progress};
use dbprov_backup::verify::VerifyError;
use dbprov_backup::{
    ACKNOWLEDGE_DATA_LOSS, BackupError, BackupRequest, Compression, DatabaseTarget, EncryptionKey,
    RestoreError, RestoreMode, RestoreRequest, backup, restore, verify,
};
use dbprov_core::{ConnectionSpec, EngineKind};

fn sqlite3(file: &Path, sql: &str) -> String {
    let output = Command::new("sqlite3")
        .arg(file)
        .arg(sql)
        .output()
        .expect("run sqlite3");
    assert!(
        output.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The whole database as SQL text, from the sqlite3 shell.
fn dump(file: &Path) -> String {
    sqlite3(file, ".dump")
}

fn target(directory: &Path, name: &str) -> DatabaseTarget {
    DatabaseTarget::new(EngineKind::Sqlite, ConnectionSpec::directory(directory), name)
}

const SEED: &str = "PRAGMA journal_mode = WAL;
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT, photo BLOB);
CREATE INDEX customers_name ON customers (name);
CREATE VIEW named AS SELECT id, name FROM customers WHERE note IS NOT NULL;
CREATE TRIGGER customers_upper AFTER INSERT ON customers BEGIN UPDATE customers SET name = upper(name) WHERE id = NEW.id; END;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO customers (name, note, photo)
SELECT 'customer ' || i, CASE WHEN i % 3 = 0 THEN 'it''s \"quoted\" ☃' END, randomblob(16) FROM n;";

/// An instance directory with a seeded database `app`, in WAL mode.
fn seeded_instance() -> (tempfile::TempDir, std::path::PathBuf) {
    let instance = dbprov_testkit::sqlite_dir();
    let file = instance.path().join("app.sqlite3");
    sqlite3(&file, SEED);
    (instance, file)
}

fn request(instance: &Path) -> BackupRequest {
    BackupRequest::new(target(instance, "app"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_every_compression_with_and_without_encryption() {
    let (instance, file) = seeded_instance();
    let expected = dump(&file);
    let (_directory, storage) = local_storage();
    for compression in [Compression::zstd(), Compression::gzip(), Compression::None] {
        for encrypted in [false, true] {
            let key = encrypted.then(|| EncryptionKey::generate().unwrap());
            let mut backup_request = request(instance.path());
            backup_request.compression = compression;
            backup_request.encryption = key.clone();
            let (sender, receiver) = tokio::sync::watch::channel(Progress::default());
            let report = backup(&backup_request, &storage, Some(sender)).await.unwrap();
            let last = receiver.borrow().clone();
            assert_eq!(last.phase, Phase::Done);
            assert_eq!(
                (last.raw_bytes, last.stored_bytes),
                (report.metadata.raw_size_bytes, report.metadata.stored_size_bytes)
            );
            assert_eq!(report.metadata.format, ArtifactFormat::SqliteDatabase);
            assert!(report.artifact.starts_with("app-"));
            assert!(report.artifact.contains(".sqlite3"), "{}", report.artifact);
            verify(&storage, &report.artifact, key.as_ref(), None)
                .await
                .unwrap();

            let name = dbprov_testkit::unique_name("copy");
            let mut restore_request = RestoreRequest::new(&report.artifact, target(instance.path(), &name));
            restore_request.encryption = key;
            let (sender, receiver) = tokio::sync::watch::channel(Progress::default());
            restore(&restore_request, &storage, Some(sender)).await.unwrap();
            let last = receiver.borrow().clone();
            assert_eq!((last.phase, last.fraction()), (Phase::Done, Some(1.0)));
            let copy = instance.path().join(format!("{name}.sqlite3"));
            assert_eq!(dump(&copy), expected, "{compression:?}, encrypted: {encrypted}");
        }
    }
    // Snapshots and staging files are gone; only the databases remain.
    let leftovers: Vec<String> = files_in(instance.path())
        .into_iter()
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_includes_committed_rows_still_in_the_wal() {
    let (instance, file) = seeded_instance();
    // Another connection commits without checkpointing: the rows live only in app.sqlite3-wal.
    let writer = sqlx::sqlite::SqliteConnectOptions::new().filename(&file);
    let mut connection = sqlx::ConnectOptions::connect(&writer).await.unwrap();
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
        .execute(&mut connection)
        .await
        .unwrap();
    sqlx::query("INSERT INTO customers (name) VALUES ('late arrival')")
        .execute(&mut connection)
        .await
        .unwrap();
    assert!(
        std::fs::metadata(instance.path().join("app.sqlite3-wal"))
            .unwrap()
            .len()
            > 0
    );

    let (directory, storage) = local_storage();
    let mut backup_request = request(instance.path());
    backup_request.compression = Compression::gzip();
    let report = backup(&backup_request, &storage, None).await.unwrap();
    drop(connection);

    // Restorable by hand: gunzip the artifact into a file and open it.
    let by_hand = instance.path().join("by-hand.sqlite3");
    let (ok, stderr) = shell(
        &format!(
            "gunzip -c '{}' > '{}'",
            artifact_path(&directory, &report.artifact).display(),
            by_hand.display()
        ),
        &[],
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        sqlite3(
            &by_hand,
            "SELECT count(*) FROM customers WHERE name = 'LATE ARRIVAL'"
        )
        .trim(),
        "1"
    );
    assert_eq!(sqlite3(&by_hand, "PRAGMA integrity_check").trim(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_refuse_existing_databases_unless_in_place_and_replace_them_atomically() {
    let (instance, file) = seeded_instance();
    let expected = dump(&file);
    let (directory, storage) = local_storage();
    let report = backup(&request(instance.path()), &storage, None).await.unwrap();

    let other = instance.path().join("other.sqlite3");
    sqlite3(
        &other,
        "CREATE TABLE mine (v); INSERT INTO mine VALUES ('keep me');",
    );
    let before = std::fs::read(&other).unwrap();
    let error = restore(
        &RestoreRequest::new(&report.artifact, target(instance.path(), "other")),
        &storage,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, RestoreError::TargetNotEmpty { objects: 1, .. }),
        "{error:?}"
    );

    // A corrupted artifact is refused even in place, and the file stays byte for byte the same.
    let path = artifact_path(&directory, &report.artifact);
    let original = std::fs::read(&path).unwrap();
    flip_byte(&path);
    let mut in_place = RestoreRequest::new(&report.artifact, target(instance.path(), "other"));
    in_place.mode = RestoreMode::InPlace {
        acknowledgement: ACKNOWLEDGE_DATA_LOSS.into(),
    };
    let error = restore(&in_place, &storage, None).await.unwrap_err();
    assert!(
        matches!(
            &error,
            RestoreError::Verify { source, .. } if matches!(**source, VerifyError::Corrupt { .. })
        ),
        "{error:?}"
    );
    assert_eq!(std::fs::read(&other).unwrap(), before);

    std::fs::write(&path, original).unwrap();
    restore(&in_place, &storage, None).await.unwrap();
    assert_eq!(dump(&other), expected);
    assert!(!instance.path().join("other.sqlite3-wal").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_a_typed_error_and_leaves_nothing() {
    let instance = dbprov_testkit::sqlite_dir();
    let (directory, storage) = local_storage();
    let error = backup(
        &BackupRequest::new(target(instance.path(), "absent")),
        &storage,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), "DatabaseMissing");
    assert!(matches!(error, BackupError::StartDump { .. }));
    assert!(files_in(&directory.path().join("backups")).is_empty());
    assert!(files_in(instance.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_verification_catches_damage_the_checksum_cannot() {
    let (instance, _file) = seeded_instance();
    let (directory, storage) = local_storage();
    let mut backup_request = request(instance.path());
    backup_request.compression = Compression::gzip();
    let report = backup(&backup_request, &storage, None).await.unwrap();

    // Damage that happened before the checksum was taken: the metadata matches the damaged bytes.
    let path = artifact_path(&directory, &report.artifact);
    flip_byte(&path);
    let damaged = std::fs::read(&path).unwrap();
    let digest = {
        let output = Command::new("sha256sum").arg(&path).output().unwrap();
        String::from_utf8_lossy(&output.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let metadata_path = artifact_path(&directory, &report.metadata_name);
    let metadata = std::fs::read_to_string(&metadata_path)
        .unwrap()
        .replace(&report.metadata.sha256, &digest);
    std::fs::write(&metadata_path, metadata).unwrap();
    assert_eq!(damaged.len() as u64, report.metadata.stored_size_bytes);

    // `verify` decodes everything and sees it.
    let error = verify(&storage, &report.artifact, None, None).await.unwrap_err();
    assert!(matches!(error, VerifyError::Corrupt { .. }), "{error:?}");

    // A restore asked for full verification refuses before touching the target.
    let mut full = RestoreRequest::new(&report.artifact, target(instance.path(), "full"));
    full.verify = dbprov_backup::VerifyDepth::Full;
    let error = restore(&full, &storage, None).await.unwrap_err();
    assert!(
        matches!(&error, RestoreError::Verify { source, .. } if matches!(**source, VerifyError::Corrupt { .. })),
        "{error:?}"
    );
    assert!(!error.target_touched());

    // The default (integrity) pass trusts the checksum; the damage surfaces while streaming, and a SQLite
    // restore still leaves no file behind because it only renames a complete, checked file into place.
    let integrity = RestoreRequest::new(&report.artifact, target(instance.path(), "integrity"));
    let error = restore(&integrity, &storage, None).await.unwrap_err();
    assert!(matches!(error, RestoreError::Stream { .. }), "{error:?}");
    let names = files_in(instance.path());
    assert!(
        !names
            .iter()
            .any(|name| name.starts_with("full") || name.starts_with("integrity") || name.starts_with('.')),
        "{names:?}"
    );
}
