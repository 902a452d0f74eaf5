//! Backups, schedules and restores: upstream fixtures and every rejection path.

use dbprov_core::EngineKind;

use crate::document::Resource;
use crate::error::FieldErrorKind;
use crate::testing::{assert_error, parse_error, resource, resources, upstream};
use crate::v1alpha1::{CompressionAlgorithm, ConcurrencyPolicy, StorageType};
use crate::validate::{validate, validate_for_engine};

fn errors_of(yaml: &str) -> Vec<crate::FieldError> {
    validate(&resource(yaml)).expect_err("must be rejected")
}

const SEEDS_BACKUP: &str = r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackup
metadata: {name: clients-nightly}
spec:
  databaseRef: {name: clients}
  storage:
    type: local
    local: {path: /var/backups/mysql}
    namePrefix: clients
  compression: {enabled: true, algorithm: gzip}
"#;

fn backup_with(extra: &str) -> String {
    format!("{SEEDS_BACKUP}{extra}")
}

#[test]
fn upstream_s3_backup_parses_and_only_parallel_jobs_are_refused() {
    let documents = resources(&upstream("backup-to-s3.yaml"));
    let Resource::DatabaseBackup(backup) = &documents[1] else {
        panic!("not a backup")
    };
    assert_eq!(backup.spec.storage.storage_type, StorageType::S3);
    let s3 = backup.spec.storage.s3.as_ref().unwrap();
    assert_eq!(s3.secret_ref.as_ref().unwrap().access_key(), "AWS_ACCESS_KEY_ID");
    assert_eq!(backup.spec.ttl.as_deref(), Some("720h"));
    let errors = validate_for_engine(&documents[1], EngineKind::Postgres).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_error(&errors, "spec.postgres.jobs", "more than one job");
    assert_eq!(errors[0].kind, FieldErrorKind::Unsupported);
    let edited = upstream("backup-to-s3.yaml").replace("    jobs: 4\n", "");
    let documents = resources(&edited);
    validate_for_engine(&documents[1], EngineKind::Postgres).expect("valid without jobs");
}

#[test]
fn upstream_schedule_parses_and_the_docs_shape_is_refused_by_name() {
    let yaml = upstream("backup-schedule.yaml").replace("        jobs: 4\n", "");
    let schedule = resource(&yaml);
    validate_for_engine(&schedule, EngineKind::Postgres).expect("valid");
    let Resource::DatabaseBackupSchedule(schedule) = schedule else {
        panic!("not a schedule")
    };
    assert_eq!(schedule.spec.concurrency_policy, ConcurrencyPolicy::Forbid);
    assert_eq!(schedule.spec.retention.as_ref().unwrap().keep_last, Some(10));
    let compression = schedule.spec.template.spec.compression.as_ref().unwrap();
    assert_eq!(compression.algorithm, CompressionAlgorithm::Zstd);
    assert!(
        schedule
            .spec
            .template
            .spec
            .encryption
            .as_ref()
            .unwrap()
            .is_enabled()
    );

    let error = parse_error(&upstream("backup-schedule-docs.yaml"));
    assert_eq!(error.kind, FieldErrorKind::Unknown);
    assert_eq!(error.path, "spec.backupTemplate");
    assert!(error.message.contains("unknown field"), "{error}");
}

#[test]
fn the_seeds_backup_is_valid_and_sections_must_match_the_engine() {
    validate_for_engine(&resource(SEEDS_BACKUP), EngineKind::MariaDb).expect("valid");
    let errors = validate_for_engine(
        &resource(&backup_with("  postgres: {format: plain}\n")),
        EngineKind::MariaDb,
    )
    .unwrap_err();
    assert_error(&errors, "spec.postgres", "applies to PostgreSQL only");
    let errors = validate_for_engine(
        &resource(&backup_with("  mysql: {setGtidPurged: \"OFF\"}\n")),
        EngineKind::MariaDb,
    )
    .unwrap_err();
    assert_error(&errors, "spec.mysql.setGtidPurged", "MariaDB has no GTID_PURGED");
}

#[test]
fn unimplemented_upstream_values_are_refused_by_name() {
    let cases = [
        (
            SEEDS_BACKUP.replace("type: local", "type: gcs"),
            "spec.storage.type",
            "gcs storage",
        ),
        (
            SEEDS_BACKUP.replace("algorithm: gzip", "algorithm: lz4"),
            "spec.compression.algorithm",
            "lz4",
        ),
        (
            backup_with("  encryption: {algorithm: aes-256-cbc, secretRef: {name: k, key: key}}\n"),
            "spec.encryption.algorithm",
            "aes-256-cbc",
        ),
        (
            backup_with("  postgres: {method: pg_basebackup}\n"),
            "spec.postgres.method",
            "pg_basebackup",
        ),
        (
            backup_with("  postgres: {format: directory}\n"),
            "spec.postgres.format",
            "directory format",
        ),
        (
            backup_with("  postgres: {blobs: false}\n"),
            "spec.postgres.blobs",
            "large objects",
        ),
        (
            backup_with("  mysql: {method: xtrabackup}\n"),
            "spec.mysql.method",
            "xtrabackup",
        ),
        (
            backup_with("  mysql: {setGtidPurged: AUTO}\n"),
            "spec.mysql.setGtidPurged",
            "ON and AUTO",
        ),
        (
            backup_with("  mysql: {databases: [a, b]}\n"),
            "spec.mysql.databases",
            "exactly its databaseRef",
        ),
        (
            backup_with("  clickhouse: {format: native}\n"),
            "spec.clickhouse",
            "ClickHouse",
        ),
    ];
    for (yaml, path, needle) in cases {
        let errors = errors_of(&yaml);
        assert_error(&errors, path, needle);
        assert!(
            errors
                .iter()
                .any(|error| error.kind == FieldErrorKind::Unsupported),
            "{errors:#?}"
        );
    }
}

#[test]
fn storage_compression_and_encryption_are_checked() {
    let errors = errors_of(&SEEDS_BACKUP.replace("    local: {path: /var/backups/mysql}\n", ""));
    assert_error(&errors, "spec.storage.local", "is required");
    let errors = errors_of(&SEEDS_BACKUP.replace(
        "    local: {path: /var/backups/mysql}\n",
        "    local: {path: /x}\n    s3: {bucket: b, region: r}\n",
    ));
    assert_error(&errors, "spec.storage.s3", "type is local");
    let errors = errors_of(&SEEDS_BACKUP.replace(
        "type: local\n    local: {path: /var/backups/mysql}",
        "type: pvc\n    pvc: {claimName: backups, subPath: ../etc}",
    ));
    assert_error(&errors, "spec.storage.pvc.subPath", "relative path");
    let errors = errors_of(&SEEDS_BACKUP.replace(
        "type: local\n    local: {path: /var/backups/mysql}",
        "type: s3\n    s3: {bucket: b, region: r, endpoint: minio:9000}",
    ));
    assert_error(&errors, "spec.storage.s3.endpoint", "http://");
    let errors = errors_of(&SEEDS_BACKUP.replace("algorithm: gzip}", "algorithm: gzip, level: 12}"));
    assert_error(&errors, "spec.compression.level", "gzip levels are 1 to 9");
    validate(&resource(
        &SEEDS_BACKUP.replace("algorithm: gzip}", "algorithm: zstd, level: 12}"),
    ))
    .expect("zstd goes to 19");
    let errors = errors_of(&backup_with("  encryption: {enabled: true}\n"));
    assert_error(&errors, "spec.encryption.secretRef", "is required");
    let errors = errors_of(&backup_with("  ttl: 30 days\n  activeDeadlineSeconds: 0\n"));
    assert_error(&errors, "spec.ttl", "is not a duration");
    assert_error(&errors, "spec.activeDeadlineSeconds", "at least 1");
    validate(&resource(&backup_with("  ttl: 7d\n"))).expect("days are a unit");
}

const SCHEDULE: &str = r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseBackupSchedule
metadata: {name: clients-daily}
spec:
  schedule: "0 2 * * *"
  timezone: Europe/Paris
  template:
    spec:
      databaseRef: {name: clients}
      storage: {type: local, local: {path: backups}, namePrefix: clients}
  retention: {keepDaily: 7, minAge: 1d}
"#;

#[test]
fn schedules_check_cron_time_zone_and_retention() {
    validate(&resource(SCHEDULE)).expect("valid");
    let errors = errors_of(&SCHEDULE.replace("0 2 * * *", "0 2 * *"));
    assert_error(&errors, "spec.schedule", "exactly 5 fields");
    let errors = errors_of(&SCHEDULE.replace("0 2 * * *", "@every 1h"));
    assert_error(&errors, "spec.schedule", "@every is not supported");
    let errors = errors_of(&SCHEDULE.replace("Europe/Paris", "Europe/Atlantis"));
    assert_error(&errors, "spec.timezone", "IANA time zone");
    let errors = errors_of(&SCHEDULE.replace("keepDaily: 7, minAge: 1d", "keepLast: -1, minAge: soon"));
    assert_error(&errors, "spec.retention.keepLast", "negative");
    assert_error(&errors, "spec.retention.minAge", "not a duration");
    let errors = errors_of(&SCHEDULE.replace("type: local,", "type: azure,"));
    assert_error(&errors, "spec.template.spec.storage.type", "azure storage");
}

const RESTORE: &str = r#"
apiVersion: dbops.dbprovision.io/v1alpha1
kind: DatabaseRestore
metadata: {name: clients-copy}
spec:
  backupRef: {name: clients-nightly}
  target:
    instanceRef: {name: mysql-main}
    databaseName: clients_copy
"#;

#[test]
fn restores_need_one_source_one_target_and_an_acknowledgement_in_place() {
    validate_for_engine(&resource(RESTORE), EngineKind::MariaDb).expect("valid");
    let errors = errors_of(&RESTORE.replace(
        "  backupRef: {name: clients-nightly}\n",
        "  backupRef: {name: clients-nightly}\n  fromPath: {storage: {type: local, local: {path: b}}, backupPath: x.sql.gz}\n",
    ));
    assert_error(&errors, "spec", "exactly one of backupRef and fromPath");
    let from_path = RESTORE.replace(
        "  backupRef: {name: clients-nightly}\n",
        "  fromPath: {storage: {type: local, local: {path: b}}, path: clients-20250106-120000.sql.gz}\n",
    );
    validate(&resource(&from_path)).expect("path is an alias of backupPath");
    let errors = errors_of(&from_path.replace("path: clients-", "path: ../clients-"));
    assert_error(&errors, "spec.fromPath.path", "must name an artifact");

    let in_place = RESTORE.replace(
        "    instanceRef: {name: mysql-main}\n    databaseName: clients_copy\n",
        "    databaseRef: {name: clients}\n    inPlace: true\n",
    );
    let errors = errors_of(&in_place);
    assert_error(
        &errors,
        "spec.confirmation.acknowledgeDataLoss",
        "I-UNDERSTAND-DATA-LOSS",
    );
    let errors = errors_of(&format!(
        "{in_place}  confirmation: {{acknowledgeDataLoss: i-understand-data-loss}}\n"
    ));
    assert_error(
        &errors,
        "spec.confirmation.acknowledgeDataLoss",
        "I-UNDERSTAND-DATA-LOSS",
    );
    validate(&resource(&format!(
        "{in_place}  confirmation: {{acknowledgeDataLoss: I-UNDERSTAND-DATA-LOSS}}\n"
    )))
    .expect("acknowledged");

    let errors = errors_of(&RESTORE.replace("    databaseName: clients_copy\n", ""));
    assert_error(&errors, "spec.target.databaseName", "is required");
    let errors = errors_of(&RESTORE.replace(
        "    databaseName: clients_copy\n",
        "    databaseName: clients_copy\n    databaseRef: {name: clients}\n",
    ));
    assert_error(&errors, "spec.target", "either databaseRef, or instanceRef");
    let errors = errors_of(&format!(
        "{RESTORE}  postgres: {{roleMapping: {{a: b}}, analyze: true}}\n  mysql: {{disableBinlog: true}}\n"
    ));
    assert_error(&errors, "spec.postgres.roleMapping", "whole artifact");
    assert_error(&errors, "spec.postgres.analyze", "ANALYZE");
    assert_error(&errors, "spec.mysql.disableBinlog", "binary log");
}
