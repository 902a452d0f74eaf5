//! `DatabaseBackup`, and the `storage`, `compression` and `encryption` sections schedules and restores share.

use dbprov_core::EngineKind;

use crate::duration::{parse_age, parse_go_duration};
use crate::error::{Errors, FieldPath};
use crate::v1alpha1::{
    BackupStorage, CompressionAlgorithm, CompressionConfig, DatabaseBackupSpec, EncryptionAlgorithm,
    EncryptionConfig, MySqlBackupConfig, MySqlBackupMethod, MySqlGtidPurged, PostgresBackupConfig,
    PostgresBackupMethod, PostgresDumpFormat, StorageType,
};
use crate::validate::common;

pub(super) fn check(errors: &mut Errors, spec: &DatabaseBackupSpec, engine: Option<EngineKind>) {
    check_spec(errors, &FieldPath::root("spec"), spec, engine);
}

/// A backup spec at `path` (`spec`, or a schedule's `spec.template.spec`).
pub(super) fn check_spec(
    errors: &mut Errors,
    path: &FieldPath,
    spec: &DatabaseBackupSpec,
    engine: Option<EngineKind>,
) {
    common::object_name(
        errors,
        &path.field("databaseRef").field("name"),
        &spec.database_ref.name,
    );
    storage(errors, &path.field("storage"), &spec.storage, true);
    if let Some(compression) = &spec.compression {
        self::compression(errors, &path.field("compression"), compression);
    }
    if let Some(encryption) = &spec.encryption {
        self::encryption(errors, &path.field("encryption"), encryption);
    }
    if let Some(ttl) = &spec.ttl
        && let Err(message) = parse_age(ttl)
    {
        errors.invalid(&path.field("ttl"), message);
    }
    if let Some(seconds) = spec.active_deadline_seconds
        && seconds < 1
    {
        errors.invalid(&path.field("activeDeadlineSeconds"), "must be at least 1");
    }
    common::never(
        errors,
        &path.field("clickhouse"),
        spec.clickhouse.as_ref(),
        "ClickHouse is not a dbprov engine",
    );
    if let Some(postgres) = &spec.postgres {
        common::section_engine(
            errors,
            &path.field("postgres"),
            true,
            engine,
            &[EngineKind::Postgres],
        );
        postgres_options(errors, &path.field("postgres"), postgres);
    }
    if let Some(mysql) = &spec.mysql {
        common::section_engine(
            errors,
            &path.field("mysql"),
            true,
            engine,
            &[EngineKind::MySql, EngineKind::MariaDb],
        );
        mysql_options(errors, &path.field("mysql"), mysql, engine);
    }
}

/// `storage`. `name_prefix_allowed` is false for a restore's `fromPath.storage` (names are given there).
pub(super) fn storage(
    errors: &mut Errors,
    path: &FieldPath,
    storage: &BackupStorage,
    name_prefix_allowed: bool,
) {
    let sections = [
        (StorageType::Local, storage.local.is_some()),
        (StorageType::Pvc, storage.pvc.is_some()),
        (StorageType::S3, storage.s3.is_some()),
        (StorageType::Gcs, storage.gcs.is_some()),
        (StorageType::Azure, storage.azure.is_some()),
    ];
    match storage.storage_type {
        StorageType::Gcs | StorageType::Azure => errors.unsupported(
            &path.field("type"),
            format!("{} storage (use s3, pvc or local)", storage.storage_type.as_str()),
        ),
        wanted => {
            if !sections.iter().any(|(kind, present)| *kind == wanted && *present) {
                errors.required(&path.field(wanted.as_str()));
            }
        }
    }
    for (kind, present) in sections {
        if present && kind != storage.storage_type {
            errors.invalid(
                &path.field(kind.as_str()),
                format!(
                    "is set but type is {}; give only the section of the storage type",
                    storage.storage_type.as_str()
                ),
            );
        }
    }
    if let Some(local) = &storage.local
        && (local.path.trim().is_empty() || local.path.contains('\0'))
    {
        errors.invalid(&path.field("local").field("path"), "must be a directory path");
    }
    if let Some(pvc) = &storage.pvc {
        common::object_name(errors, &path.field("pvc").field("claimName"), &pvc.claim_name);
        if let Some(sub_path) = &pvc.sub_path
            && !is_relative_path(sub_path)
        {
            errors.invalid(
                &path.field("pvc").field("subPath"),
                format!("{sub_path:?} must be a relative path without `..`"),
            );
        }
    }
    if let Some(s3) = &storage.s3 {
        let s3_path = path.field("s3");
        if s3.bucket.trim().is_empty() {
            errors.required(&s3_path.field("bucket"));
        }
        if s3.region.trim().is_empty() {
            errors.required(&s3_path.field("region"));
        }
        if let Some(prefix) = &s3.prefix
            && prefix.split('/').any(|part| part == "." || part == "..")
        {
            errors.invalid(&s3_path.field("prefix"), "must not contain `.` or `..` segments");
        }
        if let Some(endpoint) = &s3.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            errors.invalid(
                &s3_path.field("endpoint"),
                format!("{endpoint:?} must be an http:// or https:// URL"),
            );
        }
        if let Some(secret) = &s3.secret_ref {
            common::object_name(errors, &s3_path.field("secretRef").field("name"), &secret.name);
        }
    }
    if let Some(prefix) = &storage.name_prefix {
        if !name_prefix_allowed {
            errors.invalid(
                &path.field("namePrefix"),
                "names artifacts a backup writes; a restore names its artifact with backupPath",
            );
        } else if prefix.is_empty() {
            errors.invalid(&path.field("namePrefix"), "must not be empty");
        }
    }
}

fn is_relative_path(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with('/')
        && !value.contains('\0')
        && value.split('/').all(|part| part != "..")
}

pub(super) fn compression(errors: &mut Errors, path: &FieldPath, config: &CompressionConfig) {
    if config.algorithm == CompressionAlgorithm::Lz4 {
        errors.unsupported(&path.field("algorithm"), "lz4 (use zstd: faster and smaller)");
        return;
    }
    let Some(level) = config.level else { return };
    let range = match config.algorithm {
        _ if !config.enabled => return,
        CompressionAlgorithm::Gzip => 1..=9,
        CompressionAlgorithm::Zstd => 1..=19,
        CompressionAlgorithm::None | CompressionAlgorithm::Lz4 => {
            errors.invalid(&path.field("level"), "an uncompressed backup has no level");
            return;
        }
    };
    if !range.contains(&level) {
        errors.invalid(
            &path.field("level"),
            format!(
                "{} levels are {} to {}",
                config.algorithm.as_str(),
                range.start(),
                range.end()
            ),
        );
    }
}

pub(super) fn encryption(errors: &mut Errors, path: &FieldPath, config: &EncryptionConfig) {
    if config.algorithm == EncryptionAlgorithm::Aes256Cbc {
        errors.unsupported(
            &path.field("algorithm"),
            "aes-256-cbc (it has no integrity protection; use aes-256-gcm)",
        );
    }
    match &config.secret_ref {
        Some(secret) => {
            common::object_name(errors, &path.field("secretRef").field("name"), &secret.name);
            if secret.key.is_empty() {
                errors.required(&path.field("secretRef").field("key"));
            }
        }
        None if config.is_enabled() => errors.required(&path.field("secretRef")),
        None => {}
    }
}

fn postgres_options(errors: &mut Errors, path: &FieldPath, options: &PostgresBackupConfig) {
    if options.method == Some(PostgresBackupMethod::PgBasebackup) {
        errors.unsupported(
            &path.field("method"),
            "pg_basebackup (dbprov backs up one database with pg_dump)",
        );
    }
    if let Some(format @ (PostgresDumpFormat::Directory | PostgresDumpFormat::Tar)) = options.format {
        errors.unsupported(
            &path.field("format"),
            format!(
                "the {} format (a backup is one streamed artifact: use custom or plain)",
                format.as_str()
            ),
        );
    }
    if let Some(jobs) = options.jobs
        && jobs != 1
    {
        errors.unsupported(
            &path.field("jobs"),
            "more than one job (a streamed dump is one stream; pg_dump -j needs the directory format)",
        );
    }
    if options.data_only && options.schema_only {
        errors.invalid(
            &path.field("schemaOnly"),
            "dataOnly and schemaOnly exclude each other",
        );
    }
    if options.blobs == Some(false) {
        errors.unsupported(&path.field("blobs"), "false (large objects are always included)");
    }
    for (field, patterns) in [
        ("schemas", &options.schemas),
        ("excludeSchemas", &options.exclude_schemas),
        ("tables", &options.tables),
        ("excludeTables", &options.exclude_tables),
    ] {
        for (index, pattern) in patterns.iter().enumerate() {
            if pattern.is_empty() || pattern.contains('\0') {
                errors.invalid(&path.field(field).index(index), "must be a non-empty pattern");
            }
        }
    }
    if let Some(timeout) = &options.lock_wait_timeout
        && let Err(message) = parse_go_duration(timeout)
    {
        errors.invalid(&path.field("lockWaitTimeout"), message);
    }
}

fn mysql_options(
    errors: &mut Errors,
    path: &FieldPath,
    options: &MySqlBackupConfig,
    engine: Option<EngineKind>,
) {
    if let Some(method @ (MySqlBackupMethod::Xtrabackup | MySqlBackupMethod::Mysqlpump)) = options.method {
        let name = if method == MySqlBackupMethod::Xtrabackup {
            "xtrabackup"
        } else {
            "mysqlpump"
        };
        errors.unsupported(
            &path.field("method"),
            format!("{name} (dbprov streams mariadb-dump/mysqldump output)"),
        );
    }
    if options.quick == Some(false) {
        errors.unsupported(
            &path.field("quick"),
            "false (rows are always streamed with --quick)",
        );
    }
    if options.lock_tables {
        errors.unsupported(
            &path.field("lockTables"),
            "true (use singleTransaction for a consistent dump)",
        );
    }
    if options.extended_insert == Some(false) {
        errors.unsupported(
            &path.field("extendedInsert"),
            "false (multi-row INSERTs are always written)",
        );
    }
    match options.set_gtid_purged {
        Some(MySqlGtidPurged::On | MySqlGtidPurged::Auto) => errors.unsupported(
            &path.field("setGtidPurged"),
            "ON and AUTO (dbprov dumps with --set-gtid-purged=OFF so the dump restores into any server)",
        ),
        Some(MySqlGtidPurged::Off) if engine == Some(EngineKind::MariaDb) => errors.invalid(
            &path.field("setGtidPurged"),
            "is a MySQL option; MariaDB has no GTID_PURGED",
        ),
        _ => {}
    }
    if !options.databases.is_empty() {
        errors.unsupported(
            &path.field("databases"),
            "a list of databases (a backup dumps exactly its databaseRef's database)",
        );
    }
    for (field, tables) in [
        ("tables", &options.tables),
        ("excludeTables", &options.exclude_tables),
    ] {
        for (index, table) in tables.iter().enumerate() {
            if table.is_empty() || table.contains(['\0', '.', '\n']) {
                errors.invalid(
                    &path.field(field).index(index),
                    "must be a table name of the backed-up database (without a database prefix)",
                );
            }
        }
    }
}
