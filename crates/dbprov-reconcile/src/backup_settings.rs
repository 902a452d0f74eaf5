//! From the API's backup sections to `dbprov_backup`'s settings: storages (with their S3 credentials from a
//! Secret), encryption keys (from a Secret), compression, dump and restore options, and the database a
//! `databaseRef` names. Shared by the backup, restore and schedule reconcilers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbprov_api::FieldError;
use dbprov_api::duration::{parse_age, parse_go_duration};
use dbprov_api::v1alpha1::{
    BackupStorage, CompressionAlgorithm, CompressionConfig, Database, DatabaseBackupSpec,
    DatabaseRestoreSpec, EncryptionConfig, ObjectReference, PostgresDumpFormat, StorageType,
};
use dbprov_backup::artifact::ArtifactFormat;
use dbprov_backup::storage::{S3Config, S3Credentials};
use dbprov_backup::tools::{MySqlDumpOptions, PostgresDumpOptions, PostgresFormat, PostgresRestoreOptions};
use dbprov_backup::{
    Compression, DatabaseTarget, DumpOptions, EncryptionKey, RestoreOptions, Storage, StorageConfig,
    ToolLocator,
};
use dbprov_core::{EngineKind, Secret};

use crate::context::{Context, ObjectRef};
use crate::database_ref::{DatabaseAndInstance, database_and_instance};
use crate::failure::Failure;
use crate::instance::ResolvedInstance;

/// What the host provides to backups and restores beyond objects and Secrets.
#[derive(Debug, Clone, Default)]
pub struct BackupEnvironment {
    /// Where the dump and restore programs are.
    pub tools: ToolLocator,
    /// Where PersistentVolumeClaims are mounted (`<root>/<claimName>`), in a backup Job. `None` outside a
    /// cluster: `type: pvc` storage is then refused.
    pub pvc_root: Option<PathBuf>,
}

impl BackupEnvironment {
    /// The programs found on this machine; no PersistentVolumeClaims.
    pub fn local() -> Self {
        Self::default()
    }
}

/// The namespace of an object (`default` when the manifest has none).
pub(crate) fn namespace_of(namespace: Option<&String>) -> String {
    namespace.cloned().unwrap_or_else(|| "default".to_owned())
}

fn invalid(path: &str, message: impl Into<String>) -> Failure {
    Failure::invalid(FieldError::invalid(path, message.into()))
}

/// A `Database` reference resolved down to a connection.
#[derive(Debug, Clone)]
pub struct ResolvedDatabase {
    pub object: ObjectRef,
    pub database: Database,
    pub instance: ResolvedInstance,
    /// The database on its server, ready for the dump and restore tools.
    pub target: DatabaseTarget,
}

/// Reads the `Database` `reference` names (in `namespace` unless it names one) and resolves its instance.
pub async fn resolve_database(
    ctx: &Context,
    namespace: &str,
    reference: &ObjectReference,
    field: &'static str,
) -> Result<ResolvedDatabase, Failure> {
    let DatabaseAndInstance {
        object,
        database,
        instance,
    } = database_and_instance(ctx, namespace, reference, field).await?;
    let target = DatabaseTarget::new(
        instance.kind,
        instance.connection.clone(),
        database.spec.name.clone(),
    );
    Ok(ResolvedDatabase {
        object,
        database,
        instance,
        target,
    })
}

/// Opens a storage. `sub_directory` (a restore's `fromPath` directory part) is appended to the local path,
/// the PVC sub-path or the S3 prefix.
pub async fn open_storage(
    ctx: &Context,
    namespace: &str,
    storage: &BackupStorage,
    sub_directory: Option<&str>,
    env: &BackupEnvironment,
    field: &str,
) -> Result<Storage, Failure> {
    let join = |base: Option<&str>| -> Option<String> {
        match (
            base.filter(|b| !b.is_empty()),
            sub_directory.filter(|s| !s.is_empty()),
        ) {
            (Some(base), Some(sub)) => Some(format!("{}/{sub}", base.trim_end_matches('/'))),
            (Some(base), None) => Some(base.to_owned()),
            (None, sub) => sub.map(str::to_owned),
        }
    };
    let missing = |section: &str| invalid(&format!("{field}.{section}"), "is required for this storage type");
    let config = match storage.storage_type {
        StorageType::Local => {
            let local = storage.local.as_ref().ok_or_else(|| missing("local"))?;
            let mut path = PathBuf::from(&local.path);
            if let Some(sub) = sub_directory.filter(|s| !s.is_empty()) {
                path.push(sub);
            }
            StorageConfig::Local { path }
        }
        StorageType::Pvc => {
            let pvc = storage.pvc.as_ref().ok_or_else(|| missing("pvc"))?;
            let Some(root) = &env.pvc_root else {
                return Err(invalid(
                    &format!("{field}.type"),
                    "pvc storage is only available in a cluster (use type: local with local.path)",
                ));
            };
            StorageConfig::Pvc {
                claim_name: pvc.claim_name.clone(),
                mount_path: root.join(&pvc.claim_name),
                sub_path: join(pvc.sub_path.as_deref()),
            }
        }
        StorageType::S3 => {
            let s3 = storage.s3.as_ref().ok_or_else(|| missing("s3"))?;
            let mut config = S3Config::new(&s3.bucket, &s3.region);
            config.prefix = join(s3.prefix.as_deref());
            config.endpoint = s3.endpoint.clone();
            config.force_path_style = s3.force_path_style;
            if let Some(reference) = &s3.secret_ref {
                let secret_namespace = reference.namespace.as_deref().unwrap_or(namespace);
                let purpose = "S3 credentials of the backup storage";
                let name = reference.name.as_str();
                let access_key_id =
                    read_secret_key(ctx, secret_namespace, name, reference.access_key(), purpose).await?;
                let access_key_id = String::from_utf8(access_key_id)
                    .map_err(|_| secret_invalid(secret_namespace, name, "the access key id is not UTF-8"))?;
                let secret_access_key =
                    read_secret_key(ctx, secret_namespace, name, reference.secret_key(), purpose).await?;
                let secret_access_key = text(secret_access_key, secret_namespace, name)?;
                let session_token = match reference.session_token_key() {
                    Some(key) => {
                        let token = read_secret_key(ctx, secret_namespace, name, key, purpose).await?;
                        Some(text(token, secret_namespace, name)?)
                    }
                    None => None,
                };
                config.credentials = Some(S3Credentials {
                    access_key_id: access_key_id.trim().to_owned(),
                    secret_access_key,
                    session_token,
                });
            }
            StorageConfig::S3(config)
        }
        StorageType::Gcs | StorageType::Azure => {
            return Err(Failure::invalid(FieldError::unsupported(
                format!("{field}.type"),
                format!("{} storage (use s3, pvc or local)", storage.storage_type.as_str()),
            )));
        }
    };
    Storage::open(&config).map_err(|error| invalid(field, dbprov_core::error::error_chain(&error)))
}

fn text(bytes: Vec<u8>, namespace: &str, name: &str) -> Result<Secret, Failure> {
    String::from_utf8(bytes)
        .map(|value| Secret::new(value.trim().to_owned()))
        .map_err(|_| secret_invalid(namespace, name, "a credential is not UTF-8"))
}

fn secret_invalid(namespace: &str, name: &str, why: &str) -> Failure {
    Failure::Backup {
        reason: "SecretInvalid",
        message: format!("secret {namespace}/{name} is unusable: {why}"),
        transient: false,
    }
}

async fn read_secret_key(
    ctx: &Context,
    namespace: &str,
    name: &str,
    key: &str,
    purpose: &'static str,
) -> Result<Vec<u8>, Failure> {
    let secret = ctx
        .secrets
        .get(namespace, name)
        .await
        .map_err(|error| Failure::Source { error })?
        .ok_or_else(|| Failure::SecretNotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            key: None,
            purpose,
        })?;
    secret
        .data
        .get(key)
        .cloned()
        .ok_or_else(|| Failure::SecretNotFound {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            key: Some(key.to_owned()),
            purpose,
        })
}

/// The encryption key `config` asks for, read from its Secret; `None` when encryption is off. The key's id
/// (recorded in the artifact's metadata) is `secret/<namespace>/<name>#<key>`.
pub async fn encryption_key(
    ctx: &Context,
    namespace: &str,
    config: Option<&EncryptionConfig>,
    field: &str,
) -> Result<Option<EncryptionKey>, Failure> {
    let Some(config) = config.filter(|config| config.is_enabled()) else {
        return Ok(None);
    };
    let reference = config
        .secret_ref
        .as_ref()
        .ok_or_else(|| Failure::invalid(FieldError::required(format!("{field}.secretRef"))))?;
    let secret_namespace = reference.namespace.as_deref().unwrap_or(namespace);
    let material = read_secret_key(
        ctx,
        secret_namespace,
        &reference.name,
        &reference.key,
        "backup encryption key",
    )
    .await?;
    let key = EncryptionKey::from_material(&material)
        .map_err(|error| secret_invalid(secret_namespace, &reference.name, &error.to_string()))?;
    Ok(Some(key.with_id(format!(
        "secret/{secret_namespace}/{}#{}",
        reference.name, reference.key
    ))))
}

/// `compression`, defaulting to gzip level 6.
pub fn compression(config: Option<&CompressionConfig>, field: &str) -> Result<Compression, Failure> {
    let Some(config) = config else {
        return Ok(Compression::gzip());
    };
    let algorithm = match config.algorithm {
        CompressionAlgorithm::Gzip => dbprov_backup::CompressionAlgorithm::Gzip,
        CompressionAlgorithm::Zstd => dbprov_backup::CompressionAlgorithm::Zstd,
        CompressionAlgorithm::None => dbprov_backup::CompressionAlgorithm::None,
        CompressionAlgorithm::Lz4 => {
            return Err(Failure::invalid(FieldError::unsupported(
                format!("{field}.algorithm"),
                "lz4 (use zstd)",
            )));
        }
    };
    Compression::from_settings(config.enabled, algorithm, config.level.map(i64::from))
        .map_err(|error| invalid(&format!("{field}.level"), error.to_string()))
}

/// The dump options of a backup spec (validated: every value dbprov cannot honour was refused already).
pub fn dump_options(spec: &DatabaseBackupSpec) -> Result<DumpOptions, Failure> {
    let mut options = DumpOptions::default();
    if let Some(postgres) = &spec.postgres {
        let format = match postgres.format.unwrap_or_default() {
            PostgresDumpFormat::Custom => PostgresFormat::Custom,
            PostgresDumpFormat::Plain => PostgresFormat::Plain,
            other => {
                return Err(Failure::invalid(FieldError::unsupported(
                    "spec.postgres.format",
                    format!("the {} format", other.as_str()),
                )));
            }
        };
        let lock_wait_timeout = match &postgres.lock_wait_timeout {
            Some(value) => Some(
                parse_go_duration(value)
                    .map_err(|message| invalid("spec.postgres.lockWaitTimeout", message))?,
            ),
            None => None,
        };
        options.postgres = PostgresDumpOptions {
            format,
            schemas: postgres.schemas.clone(),
            exclude_schemas: postgres.exclude_schemas.clone(),
            tables: postgres.tables.clone(),
            exclude_tables: postgres.exclude_tables.clone(),
            data_only: postgres.data_only,
            schema_only: postgres.schema_only,
            no_owner: postgres.no_owner,
            no_privileges: postgres.no_privileges,
            lock_wait_timeout,
        };
    }
    if let Some(mysql) = &spec.mysql {
        let defaults = MySqlDumpOptions::default();
        options.mysql = MySqlDumpOptions {
            single_transaction: mysql.single_transaction.unwrap_or(defaults.single_transaction),
            routines: mysql.routines.unwrap_or(defaults.routines),
            triggers: mysql.triggers.unwrap_or(defaults.triggers),
            events: mysql.events.unwrap_or(defaults.events),
            tables: mysql.tables.clone(),
            exclude_tables: mysql.exclude_tables.clone(),
        };
    }
    Ok(options)
}

/// The format a backup of `engine` with `options` produces.
pub fn dump_format(engine: EngineKind, options: &DumpOptions) -> ArtifactFormat {
    match engine {
        EngineKind::Postgres => match options.postgres.format {
            PostgresFormat::Custom => ArtifactFormat::PostgresCustom,
            PostgresFormat::Plain => ArtifactFormat::PostgresPlain,
        },
        EngineKind::MySql | EngineKind::MariaDb => ArtifactFormat::MySqlSql,
        EngineKind::Sqlite => ArtifactFormat::SqliteDatabase,
    }
}

/// The restore options of a restore spec.
pub fn restore_options(spec: &DatabaseRestoreSpec) -> RestoreOptions {
    let defaults = PostgresRestoreOptions::default();
    let postgres = spec.postgres.as_ref();
    RestoreOptions {
        postgres: PostgresRestoreOptions {
            no_owner: postgres.and_then(|p| p.no_owner).unwrap_or(defaults.no_owner),
            no_privileges: postgres.is_some_and(|p| p.no_privileges),
            single_transaction: postgres.is_some_and(|p| p.single_transaction),
        },
    }
}

/// `activeDeadlineSeconds` as a duration.
pub fn deadline(seconds: Option<i64>, default: i64) -> Duration {
    Duration::from_secs(u64::try_from(seconds.unwrap_or(default)).unwrap_or(1).max(1))
}

/// `ttl` as a duration (validated already).
pub fn ttl(spec: &DatabaseBackupSpec) -> Result<Option<Duration>, Failure> {
    spec.ttl
        .as_deref()
        .map(parse_age)
        .transpose()
        .map_err(|message| invalid("spec.ttl", message))
}

/// Splits `dir/name` into the directory (added to the storage's location) and the artifact name.
pub fn split_artifact_path(path: &str) -> (Option<&str>, &str) {
    match path.rsplit_once('/') {
        Some((directory, name)) => (Some(directory), name),
        None => (None, path),
    }
}

/// `<location>/<artifact>`, as `status.backup.path` shows it.
pub fn artifact_location(storage: &Storage, artifact: &str) -> String {
    let location = storage.location();
    if location.starts_with("s3://") {
        format!("{}/{artifact}", location.trim_end_matches('/'))
    } else {
        Path::new(location).join(artifact).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use dbprov_api::Resource;

    use super::*;

    fn spec(yaml: &str) -> DatabaseBackupSpec {
        let document = format!(
            "apiVersion: dbops.dbprovision.io/v1alpha1\nkind: DatabaseBackup\nmetadata: {{name: b}}\nspec:\n  databaseRef: {{name: app}}\n  storage: {{type: local, local: {{path: /b}}}}\n{yaml}"
        );
        let value = dbprov_api::document::parse_yaml(&document).unwrap().remove(0);
        match dbprov_api::parse_document(value).unwrap() {
            Resource::DatabaseBackup(backup) => backup.spec,
            _ => unreachable!(),
        }
    }

    #[test]
    fn compression_defaults_to_gzip_six_and_follows_the_section() {
        assert_eq!(compression(None, "c").unwrap(), Compression::gzip());
        let zstd = spec("  compression: {algorithm: zstd, level: 9}\n");
        let zstd = compression(zstd.compression.as_ref(), "c").unwrap();
        assert_eq!(
            (zstd.algorithm(), zstd.level()),
            (dbprov_backup::CompressionAlgorithm::Zstd, Some(9))
        );
        let off = spec("  compression: {enabled: false, algorithm: zstd}\n");
        assert_eq!(
            compression(off.compression.as_ref(), "c").unwrap(),
            Compression::None
        );
    }

    #[test]
    fn dump_options_map_the_sections() {
        let options = dump_options(&spec(
            "  postgres: {format: plain, schemas: [billing], noOwner: true, lockWaitTimeout: 90s}\n",
        ))
        .unwrap();
        assert_eq!(options.postgres.format, PostgresFormat::Plain);
        assert_eq!(options.postgres.schemas, ["billing"]);
        assert!(options.postgres.no_owner);
        assert_eq!(options.postgres.lock_wait_timeout, Some(Duration::from_secs(90)));
        assert_eq!(
            dump_format(EngineKind::Postgres, &options),
            ArtifactFormat::PostgresPlain
        );
        let options = dump_options(&spec("  mysql: {events: false, excludeTables: [audit]}\n")).unwrap();
        assert!(!options.mysql.events && options.mysql.routines && options.mysql.single_transaction);
        assert_eq!(options.mysql.exclude_tables, ["audit"]);
        assert_eq!(
            dump_format(EngineKind::MariaDb, &options),
            ArtifactFormat::MySqlSql
        );
        let defaults = dump_options(&spec("")).unwrap();
        assert_eq!(defaults, DumpOptions::default());
    }

    #[test]
    fn artifact_paths_split_into_directory_and_name() {
        assert_eq!(split_artifact_path("a.sql.gz"), (None, "a.sql.gz"));
        assert_eq!(
            split_artifact_path("team/app/a.dump"),
            (Some("team/app"), "a.dump")
        );
        assert_eq!(deadline(None, 3600), Duration::from_secs(3600));
        assert_eq!(deadline(Some(5), 3600), Duration::from_secs(5));
        assert_eq!(
            ttl(&spec("  ttl: 7d\n")).unwrap(),
            Some(Duration::from_secs(7 * 86_400))
        );
    }
}
