//! Backups and restores against the throwaway MariaDB server.

mod common;

use common::*;
use dbprov_backup::artifact::{ArtifactFormat, ArtifactName};
use dbprov_backup::tools::ToolError;
use dbprov_backup::verify::VerifyError;
use dbprov_backup::{
    ACKNOWLEDGE_DATA_LOSS, BackupError, BackupRequest, Compression, CompressionAlgorithm, EncryptionKey,
    RestoreError, RestoreMode, RestoreRequest, backup, restore, verify,
};
use dbprov_core::{EngineKind, Secret, TlsMode};
use dbprov_testkit::{mariadb, mariadb_sql, unique_name};

fn request(database: &str) -> BackupRequest {
    let mut request = BackupRequest::new(maria_target(database));
    request.tools = tools(mariadb());
    request
}

fn restore_request(artifact: &str, database: &str) -> RestoreRequest {
    let mut request = RestoreRequest::new(artifact, maria_target(database));
    request.tools = tools(mariadb());
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_every_compression_with_and_without_encryption() {
    let source = unique_name("mysrc");
    maria_create(&source);
    maria_seed(&source);
    let expected = maria_fingerprint(&source);
    let (_directory, storage) = local_storage();
    for compression in [Compression::zstd(), Compression::gzip(), Compression::None] {
        for encrypted in [false, true] {
            let key = encrypted.then(|| EncryptionKey::generate().unwrap());
            let mut backup_request = request(&source);
            backup_request.compression = compression;
            backup_request.encryption = key.clone();
            let report = backup(&backup_request, &storage, None).await.unwrap();
            let metadata = &report.metadata;
            assert_eq!(metadata.engine, EngineKind::MariaDb);
            assert_eq!(metadata.format, ArtifactFormat::MySqlSql);
            assert_eq!(metadata.tool, "mariadb-dump");
            assert!(
                metadata.server_version.contains("MariaDB"),
                "{}",
                metadata.server_version
            );
            verify(&storage, &report.artifact, key.as_ref(), None)
                .await
                .unwrap();

            let copy = unique_name("mycopy");
            maria_create(&copy);
            let mut restore_request = restore_request(&report.artifact, &copy);
            restore_request.encryption = key;
            restore(&restore_request, &storage, None).await.unwrap();
            assert_eq!(
                maria_fingerprint(&copy),
                expected.replace(&source, &copy),
                "{compression:?}, encrypted: {encrypted}"
            );
            maria_drop(&copy);
        }
    }
    maria_drop(&source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reproduces_the_seeds_naming_and_restores_by_hand_with_gunzip_and_mariadb() {
    let source = unique_name("clients");
    maria_create(&source);
    maria_seed(&source);
    let expected = maria_fingerprint(&source);
    let (directory, storage) = local_storage();
    let mut backup_request = request(&source);
    backup_request.name_prefix = Some("clients".into());
    backup_request.compression = Compression::gzip();
    let before = chrono::Utc::now().timestamp();
    let report = backup(&backup_request, &storage, None).await.unwrap();
    let after = chrono::Utc::now().timestamp();

    // clients-YYYYMMDD-HHMMSS.sql.gz, in UTC, as the seeds' `mysqldump | gzip` names them.
    let name = &report.artifact;
    assert_eq!(name.len(), "clients-20250106-120000.sql.gz".len(), "{name}");
    assert!(
        name.starts_with("clients-") && name.ends_with(".sql.gz"),
        "{name}"
    );
    let parsed = ArtifactName::parse(name).unwrap();
    assert!(
        (before..=after).contains(&parsed.timestamp().timestamp()),
        "{name}"
    );
    assert_eq!(
        parsed
            .timestamp()
            .format("clients-%Y%m%d-%H%M%S.sql.gz")
            .to_string(),
        *name
    );
    assert_eq!(report.metadata.compression.algorithm, CompressionAlgorithm::Gzip);

    // By hand, as the seeds restore: gunzip -c file | mariadb database.
    let by_hand = unique_name("clientshand");
    maria_create(&by_hand);
    let address = mariadb();
    let (ok, stderr) = shell(
        &format!(
            "gunzip -c '{}' | '{}' --no-defaults --protocol=TCP -h 127.0.0.1 -P {} -u {} --skip-ssl {}",
            artifact_path(&directory, name).display(),
            address.bin_dir.join("mariadb").display(),
            address.port,
            address.admin_user,
            by_hand
        ),
        &[("MYSQL_PWD", &address.admin_password)],
    );
    assert!(ok, "{stderr}");
    assert_eq!(maria_fingerprint(&by_hand), expected.replace(&source, &by_hand));
    // Nothing in the restored copy points back at the source database.
    maria_drop(&source);
    let rich = mariadb_sql(address, &format!("SELECT COUNT(*) FROM `{by_hand}`.rich"));
    assert_eq!(rich.trim(), "434");
    let total = mariadb_sql(address, &format!("SELECT `{by_hand}`.total(1)"));
    assert!(!total.trim().is_empty());
    maria_drop(&by_hand);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_or_truncated_artifacts_are_refused_before_the_target_is_touched() {
    let source = unique_name("mycorrupt");
    maria_create(&source);
    maria_seed(&source);
    let (directory, storage) = local_storage();
    let mut backup_request = request(&source);
    backup_request.compression = Compression::zstd();
    let report = backup(&backup_request, &storage, None).await.unwrap();
    let path = artifact_path(&directory, &report.artifact);
    let original = std::fs::read(&path).unwrap();

    let target = unique_name("mykeep");
    maria_create(&target);
    mariadb_sql(
        mariadb(),
        &format!(
            "CREATE TABLE `{target}`.customers (id INT PRIMARY KEY); INSERT INTO `{target}`.customers VALUES (7)"
        ),
    );
    let before = maria_fingerprint(&target);
    for (what, damage) in [
        ("flipped", flip_byte as fn(&std::path::Path)),
        ("truncated", |path: &std::path::Path| truncate_by(path, 1)),
    ] {
        std::fs::write(&path, &original).unwrap();
        damage(&path);
        let mut in_place = restore_request(&report.artifact, &target);
        in_place.mode = RestoreMode::InPlace {
            acknowledgement: ACKNOWLEDGE_DATA_LOSS.into(),
        };
        let error = restore(&in_place, &storage, None).await.unwrap_err();
        assert!(
            matches!(
                &error,
                RestoreError::Verify { source, .. } if matches!(**source, VerifyError::Corrupt { .. })
            ),
            "{what}: {error:?}"
        );
        assert_eq!(maria_fingerprint(&target), before, "{what}: the target changed");
    }
    maria_drop(&source);
    maria_drop(&target);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_restore_brings_back_the_backed_up_state() {
    let source = unique_name("myinplace");
    maria_create(&source);
    maria_seed(&source);
    let expected = maria_fingerprint(&source);
    let (_directory, storage) = local_storage();
    let report = backup(&request(&source), &storage, None).await.unwrap();

    mariadb_sql(
        mariadb(),
        &format!(
            "USE `{source}`; DELETE FROM invoices WHERE id > 10; UPDATE customers SET name = 'changed'; DROP VIEW rich;"
        ),
    );
    assert_ne!(maria_fingerprint(&source), expected);

    let mut without = restore_request(&report.artifact, &source);
    without.mode = RestoreMode::InPlace {
        acknowledgement: String::new(),
    };
    let error = restore(&without, &storage, None).await.unwrap_err();
    assert_eq!(error.kind(), "AcknowledgementRequired");
    let error = restore(&restore_request(&report.artifact, &source), &storage, None)
        .await
        .unwrap_err();
    assert!(matches!(error, RestoreError::TargetNotEmpty { .. }), "{error:?}");

    let mut in_place = restore_request(&report.artifact, &source);
    in_place.mode = RestoreMode::InPlace {
        acknowledgement: ACKNOWLEDGE_DATA_LOSS.into(),
    };
    restore(&in_place, &storage, None).await.unwrap();
    assert_eq!(maria_fingerprint(&source), expected);
    maria_drop(&source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_killed_midway_leaves_no_artifact() {
    let source = unique_name("mykill");
    maria_create(&source);
    mariadb_sql(
        mariadb(),
        &format!(
            "USE `{source}`; CREATE TABLE big (id INT PRIMARY KEY, payload TEXT) ENGINE=InnoDB; \
             INSERT INTO big SELECT seq, REPEAT(MD5(seq), 30) FROM seq_1_to_50000"
        ),
    );
    let (directory, storage) = local_storage();
    let mut backup_request = request(&source);
    backup_request.compression = Compression::Gzip { level: 9, workers: 1 };
    let (sender, mut receiver) = tokio::sync::watch::channel(Default::default());
    let running = tokio::spawn({
        let storage = storage.clone();
        async move { backup(&backup_request, &storage, Some(sender)).await }
    });
    wait_for_bytes(&mut receiver, 1).await;
    let pid = find_child("mariadb-dump", &source).expect("mariadb-dump runs as a child of the test");
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
    assert_eq!(files_in(&directory.path().join("backups")), Vec::<String>::new());
    maria_drop(&source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_passwords_and_names_reach_the_tools_intact() {
    let database = format!("{}-x'y", unique_name("myhostile"));
    let user = unique_name("myuser");
    let password = r#"p"a\ss w'o#rd;$(x)`y`"#;
    let address = mariadb();
    mariadb_sql(address, &format!("CREATE DATABASE `{database}`"));
    mariadb_sql(
        address,
        &format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{}'; GRANT ALL ON `{}`.* TO '{user}'@'%'",
            password.replace('\\', "\\\\").replace('\'', "\\'"),
            database.replace('_', "\\_")
        ),
    );
    mariadb_sql(
        address,
        &format!("CREATE TABLE `{database}`.t (v TEXT); INSERT INTO `{database}`.t VALUES ('row')"),
    );
    let (_directory, storage) = local_storage();
    let mut backup_request = request(&database);
    backup_request.target.connection = address
        .admin_connection()
        .with_credentials(user.clone(), Some(Secret::new(password)));
    // The user has no EVENT/PROCESS-level rights beyond its database; routines and events are per database.
    let report = backup(&backup_request, &storage, None).await.unwrap();
    assert!(
        report
            .artifact
            .starts_with(&format!("{}-x=27y-", database.trim_end_matches("-x'y"))),
        "{}",
        report.artifact
    );
    let metadata_text =
        String::from_utf8(storage.get_small(&report.metadata_name).await.unwrap().to_vec()).unwrap();
    assert!(
        !metadata_text.contains(password),
        "the password leaked into the metadata"
    );

    let copy = unique_name("myhostcp");
    maria_create(&copy);
    restore(&restore_request(&report.artifact, &copy), &storage, None)
        .await
        .unwrap();
    assert_eq!(
        mariadb_sql(address, &format!("SELECT v FROM `{copy}`.t")).trim(),
        "row"
    );
    mariadb_sql(address, &format!("DROP USER '{user}'@'%'"));
    maria_drop(&database);
    maria_drop(&copy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backs_up_over_verified_tls() {
    let source = unique_name("mytls");
    maria_create(&source);
    maria_seed(&source);
    let (_directory, storage) = local_storage();
    let mut backup_request = request(&source);
    backup_request.target.connection = mariadb().admin_connection_tls(TlsMode::VerifyFull);
    backup(&backup_request, &storage, None).await.unwrap();
    let mut wrong_ca = backup_request.clone();
    wrong_ca.target.connection.tls.ca_pem = Some(std::fs::read(mariadb().tls_file("other-ca.pem")).unwrap());
    let error = backup(&wrong_ca, &storage, None).await.unwrap_err();
    assert!(matches!(error, BackupError::StartDump { .. }), "{error:?}");
    maria_drop(&source);
}
