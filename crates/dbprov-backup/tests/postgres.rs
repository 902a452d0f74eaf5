//! Backups and restores against the throwaway PostgreSQL server.

mod common;

use common::*;
use dbprov_backup::artifact::{self, ArtifactFormat, ArtifactState};
use dbprov_backup::tools::{PostgresFormat, ToolError};
use dbprov_backup::verify::VerifyError;
use dbprov_backup::{
    ACKNOWLEDGE_DATA_LOSS, BackupError, BackupRequest, Compression, EncryptionKey, RestoreError, RestoreMode,
    RestoreRequest, backup, restore, verify,
};
use dbprov_core::TlsMode;
use dbprov_testkit::{postgres, psql, unique_name};

fn request(database: &str) -> BackupRequest {
    let mut request = BackupRequest::new(pg_target(database));
    request.tools = tools(postgres());
    request
}

fn restore_request(artifact: &str, database: &str) -> RestoreRequest {
    let mut request = RestoreRequest::new(artifact, pg_target(database));
    request.tools = tools(postgres());
    request
}

fn sha256_of_file(path: &std::path::Path) -> String {
    let output = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_every_compression_with_and_without_encryption() {
    let source = unique_name("pgsrc");
    pg_create(&source);
    pg_seed(&source);
    let expected = pg_fingerprint(&source);
    let (directory, storage) = local_storage();

    let compressions = [
        (Compression::zstd(), "dump.zst"),
        (Compression::gzip(), "dump.gz"),
        (Compression::None, "dump"),
    ];
    for (compression, extension) in compressions {
        for encrypted in [false, true] {
            let key = encrypted.then(|| {
                EncryptionKey::generate()
                    .unwrap()
                    .with_id("secret/pg-backup-key#key")
            });
            let mut backup_request = request(&source);
            backup_request.compression = compression;
            backup_request.encryption = key.clone();
            let report = backup(&backup_request, &storage, None).await.unwrap();
            let extension = if encrypted {
                format!("{extension}.enc")
            } else {
                extension.to_owned()
            };
            assert!(
                report.artifact.starts_with(&format!("{source}-")),
                "{}",
                report.artifact
            );
            assert!(
                report.artifact.ends_with(&format!(".{extension}")),
                "{}",
                report.artifact
            );

            // The metadata describes the artifact as an independent tool sees it.
            let metadata = &report.metadata;
            let path = artifact_path(&directory, &report.artifact);
            assert_eq!(metadata.sha256, sha256_of_file(&path));
            assert_eq!(
                metadata.stored_size_bytes,
                std::fs::metadata(&path).unwrap().len()
            );
            assert_eq!(metadata.format, ArtifactFormat::PostgresCustom);
            assert_eq!(metadata.tool, "pg_dump");
            assert!(
                metadata.tool_version.contains("PostgreSQL"),
                "{}",
                metadata.tool_version
            );
            assert!(
                metadata.server_version.starts_with("15."),
                "{}",
                metadata.server_version
            );
            assert_eq!(metadata.database, source);
            assert_eq!(
                metadata.encryption.as_ref().map(|e| e.key_id.as_str()),
                key.as_ref().map(|k| k.id())
            );
            assert!(metadata.raw_size_bytes > 10_000);
            assert!(metadata.completed_at >= metadata.started_at);

            verify(&storage, &report.artifact, key.as_ref(), None)
                .await
                .unwrap();

            let copy = unique_name("pgcopy");
            pg_create(&copy);
            let mut restore_request = restore_request(&report.artifact, &copy);
            restore_request.encryption = key;
            let restored = restore(&restore_request, &storage, None).await.unwrap();
            assert_eq!(restored.raw_bytes, metadata.raw_size_bytes);
            assert_eq!(
                pg_fingerprint(&copy),
                expected,
                "{compression:?}, encrypted: {encrypted}"
            );
            pg_drop(&copy);
        }
    }
    let listed = artifact::list(&storage).await.unwrap();
    assert_eq!(listed.len(), 6);
    assert!(
        listed.iter().all(|entry| entry.state == ArtifactState::Complete),
        "{listed:?}"
    );
    pg_drop(&source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_gzip_output_restores_by_hand_with_gunzip_and_psql() {
    let source = unique_name("pgplain");
    pg_create(&source);
    pg_seed(&source);
    let expected = pg_fingerprint(&source);
    let (directory, storage) = local_storage();
    let mut backup_request = request(&source);
    backup_request.dump.postgres.format = PostgresFormat::Plain;
    backup_request.compression = Compression::gzip();
    backup_request.name_prefix = Some("orders".into());
    let report = backup(&backup_request, &storage, None).await.unwrap();
    assert!(report.artifact.starts_with("orders-") && report.artifact.ends_with(".sql.gz"));
    assert_eq!(report.metadata.format, ArtifactFormat::PostgresPlain);

    // By hand: no dbprov involved.
    let by_hand = unique_name("pghand");
    pg_create(&by_hand);
    let address = postgres();
    let (ok, stderr) = shell(
        &format!(
            "gunzip -c '{}' | '{}' -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p {} -U {} -d {}",
            artifact_path(&directory, &report.artifact).display(),
            address.bin_dir.join("psql").display(),
            address.port,
            address.admin_user,
            by_hand
        ),
        &[("PGPASSWORD", &address.admin_password), ("PGSSLMODE", "disable")],
    );
    assert!(ok, "{stderr}");
    assert_eq!(pg_fingerprint(&by_hand), expected);

    // And through the library (psql for plain dumps).
    let copy = unique_name("pgplaincp");
    pg_create(&copy);
    restore(&restore_request(&report.artifact, &copy), &storage, None)
        .await
        .unwrap();
    assert_eq!(pg_fingerprint(&copy), expected);
    for database in [&source, &by_hand, &copy] {
        pg_drop(database);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_or_truncated_artifacts_are_refused_before_the_target_is_touched() {
    let source = unique_name("pgcorrupt");
    pg_create(&source);
    pg_seed(&source);
    let (directory, storage) = local_storage();
    let report = backup(&request(&source), &storage, None).await.unwrap();
    let path = artifact_path(&directory, &report.artifact);
    let original = std::fs::read(&path).unwrap();

    // An in-place target with data of its own: any touch would show in its fingerprint.
    let target = unique_name("pgkeep");
    pg_create(&target);
    psql(
        postgres(),
        &target,
        "CREATE TABLE precious (id int PRIMARY KEY); INSERT INTO precious VALUES (1), (2);",
    );
    let before = pg_fingerprint(&target);
    // And an empty new-database target.
    let empty = unique_name("pgempty");
    pg_create(&empty);

    type Damage = fn(&std::path::Path);
    let damages: [(&str, Damage); 3] = [
        ("one flipped byte", |path| flip_byte(path)),
        ("truncated", |path| truncate_by(path, 100)),
        ("truncated to half", |path| {
            let length = std::fs::metadata(path).unwrap().len();
            truncate_by(path, length / 2)
        }),
    ];
    for (what, damage) in damages {
        std::fs::write(&path, &original).unwrap();
        damage(&path);
        let error = verify(&storage, &report.artifact, None, None).await.unwrap_err();
        assert!(matches!(error, VerifyError::Corrupt { .. }), "{what}: {error:?}");

        let mut in_place = restore_request(&report.artifact, &target);
        in_place.mode = RestoreMode::InPlace {
            acknowledgement: ACKNOWLEDGE_DATA_LOSS.into(),
        };
        let error = restore(&in_place, &storage, None).await.unwrap_err();
        assert!(matches!(error, RestoreError::Verify { .. }), "{what}: {error:?}");
        assert!(!error.target_touched());
        assert_eq!(
            pg_fingerprint(&target),
            before,
            "{what}: the in-place target changed"
        );

        let error = restore(&restore_request(&report.artifact, &empty), &storage, None)
            .await
            .unwrap_err();
        assert!(matches!(error, RestoreError::Verify { .. }), "{what}: {error:?}");
        assert_eq!(
            pg_table_count(&empty),
            0,
            "{what}: the new database received tables"
        );
    }
    // The intact artifact still restores: the refusals were about the damage.
    std::fs::write(&path, &original).unwrap();
    restore(&restore_request(&report.artifact, &empty), &storage, None)
        .await
        .unwrap();
    assert_eq!(pg_fingerprint(&empty), pg_fingerprint(&source));
    for database in [&source, &target, &empty] {
        pg_drop(database);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_backups_are_unreadable_without_the_key() {
    let source = unique_name("pgenc");
    pg_create(&source);
    pg_seed(&source);
    let marker = "unmistakable-plaintext-marker-4711";
    psql(
        postgres(),
        &source,
        &format!("CREATE TABLE secrets (value text); INSERT INTO secrets VALUES ('{marker}')"),
    );
    let (directory, storage) = local_storage();
    let key = EncryptionKey::generate().unwrap();
    let mut backup_request = request(&source);
    backup_request.compression = Compression::None;
    backup_request.encryption = Some(key.clone());
    let report = backup(&backup_request, &storage, None).await.unwrap();
    let path = artifact_path(&directory, &report.artifact);

    let stored = std::fs::read(&path).unwrap();
    assert!(
        !stored
            .windows(marker.len())
            .any(|window| window == marker.as_bytes())
    );
    let (readable, _) = shell(
        &format!(
            "'{}/pg_restore' -l '{}'",
            postgres().bin_dir.display(),
            path.display()
        ),
        &[],
    );
    assert!(!readable, "pg_restore read an encrypted artifact");

    let target = unique_name("pgenctgt");
    pg_create(&target);
    let without_key = restore(&restore_request(&report.artifact, &target), &storage, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &without_key,
            RestoreError::Verify { source, .. } if matches!(**source, VerifyError::KeyRequired { .. })
        ),
        "{without_key:?}"
    );

    let wrong = EncryptionKey::generate().unwrap();
    let mut wrong_request = restore_request(&report.artifact, &target);
    wrong_request.encryption = Some(wrong.clone());
    let error = restore(&wrong_request, &storage, None).await.unwrap_err();
    assert!(
        matches!(
            &error,
            RestoreError::Verify { source, .. } if matches!(**source, VerifyError::WrongKey { .. })
        ),
        "{error:?}"
    );

    // A wrong key that claims the right fingerprint (edited metadata) still fails: every chunk is
    // authenticated.
    let metadata_path = artifact_path(&directory, &report.metadata_name);
    let edited = std::fs::read_to_string(&metadata_path)
        .unwrap()
        .replace(key.fingerprint(), wrong.fingerprint());
    std::fs::write(&metadata_path, edited).unwrap();
    let error = restore(&wrong_request, &storage, None).await.unwrap_err();
    assert!(
        matches!(
            &error,
            RestoreError::Verify { source, .. } if matches!(**source, VerifyError::Corrupt { .. })
        ),
        "{error:?}"
    );
    assert!(
        dbprov_core::error::error_chain(&error).contains("authentication"),
        "{}",
        dbprov_core::error::error_chain(&error)
    );
    assert_eq!(pg_table_count(&target), 0);
    pg_drop(&source);
    pg_drop(&target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_killed_midway_leaves_no_artifact() {
    let source = unique_name("pgkill");
    pg_create(&source);
    pg_seed_big(&source, 60);
    let (directory, storage) = local_storage();
    let mut backup_request = request(&source);
    // Slow enough that the kill lands while the dump streams.
    backup_request.compression = Compression::Gzip { level: 9, workers: 1 };
    let (sender, mut receiver) = tokio::sync::watch::channel(Default::default());
    let running = tokio::spawn({
        let storage = storage.clone();
        async move { backup(&backup_request, &storage, Some(sender)).await }
    });
    wait_for_bytes(&mut receiver, 1).await;
    let pid = find_child("pg_dump", &source).expect("pg_dump runs as a child of the test");
    kill(pid);
    let error = running.await.unwrap().unwrap_err();
    assert!(
        matches!(
            &error,
            BackupError::Dump {
                source: ToolError::Failed { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        dbprov_core::error::error_chain(&error).contains("signal 9"),
        "{error}"
    );
    assert!(
        receiver.borrow().raw_bytes < 60_000_000,
        "the dump had finished before the kill"
    );
    assert_eq!(files_in(&directory.path().join("backups")), Vec::<String>::new());
    assert!(artifact::list(&storage).await.unwrap().is_empty());
    pg_drop(&source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_backup_leaves_no_artifact_and_no_process() {
    let source = unique_name("pgcancel");
    pg_create(&source);
    pg_seed_big(&source, 40);
    let (directory, storage) = local_storage();
    let mut backup_request = request(&source);
    backup_request.compression = Compression::Gzip { level: 9, workers: 1 };
    let (sender, mut receiver) = tokio::sync::watch::channel(Default::default());
    let running = tokio::spawn({
        let storage = storage.clone();
        async move { backup(&backup_request, &storage, Some(sender)).await }
    });
    wait_for_bytes(&mut receiver, 1).await;
    assert!(find_child("pg_dump", &source).is_some());
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    assert_eq!(files_in(&directory.path().join("backups")), Vec::<String>::new());
    // kill_on_drop: the dump does not outlive the backup.
    let gone = (0..50).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        find_child("pg_dump", &source).is_none()
    });
    assert!(gone, "pg_dump still runs after the backup was cancelled");
    pg_drop(&source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_targets_must_exist_and_be_empty_unless_in_place_is_acknowledged() {
    let source = unique_name("pgmode");
    pg_create(&source);
    pg_seed(&source);
    let expected = pg_fingerprint(&source);
    let (_directory, storage) = local_storage();
    let report = backup(&request(&source), &storage, None).await.unwrap();

    let missing = unique_name("pgmissing");
    let error = restore(&restore_request(&report.artifact, &missing), &storage, None)
        .await
        .unwrap_err();
    assert!(matches!(error, RestoreError::TargetMissing { .. }), "{error:?}");

    let target = unique_name("pgfull");
    pg_create(&target);
    psql(
        postgres(),
        &target,
        "CREATE TABLE customers (id int); INSERT INTO customers VALUES (42);",
    );
    let before = pg_fingerprint(&target);
    let error = restore(&restore_request(&report.artifact, &target), &storage, None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, RestoreError::TargetNotEmpty { objects: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.kind(), "TargetNotEmpty");

    let mut in_place = restore_request(&report.artifact, &target);
    in_place.mode = RestoreMode::InPlace {
        acknowledgement: "yes".into(),
    };
    let error = restore(&in_place, &storage, None).await.unwrap_err();
    assert!(
        matches!(error, RestoreError::AcknowledgementRequired { .. }),
        "{error:?}"
    );
    assert_eq!(pg_fingerprint(&target), before);

    in_place.mode = RestoreMode::InPlace {
        acknowledgement: ACKNOWLEDGE_DATA_LOSS.into(),
    };
    let report = restore(&in_place, &storage, None).await.unwrap();
    assert!(report.in_place);
    // The backup's objects replaced the existing ones (pg_restore --clean --if-exists).
    assert_eq!(pg_fingerprint(&target), expected);
    pg_drop(&source);
    pg_drop(&target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backs_up_over_verified_tls_and_refuses_an_unknown_ca() {
    let source = unique_name("pgtls");
    pg_create(&source);
    pg_seed(&source);
    let (_directory, storage) = local_storage();
    let address = postgres();
    let mut backup_request = request(&source);
    backup_request.target.connection = address.admin_connection_tls(TlsMode::VerifyFull);
    let report = backup(&backup_request, &storage, None).await.unwrap();
    assert!(report.metadata.raw_size_bytes > 0);

    let mut wrong_ca = backup_request.clone();
    wrong_ca.target.connection.tls.ca_pem = Some(std::fs::read(address.tls_file("other-ca.pem")).unwrap());
    let error = backup(&wrong_ca, &storage, None).await.unwrap_err();
    assert!(matches!(error, BackupError::StartDump { .. }), "{error:?}");
    let chain = dbprov_core::error::error_chain(&error);
    assert!(chain.contains("certificate"), "{chain}");
    // Only the first backup's artifact and metadata exist.
    assert_eq!(storage.list().await.unwrap().len(), 2);
    pg_drop(&source);
}
