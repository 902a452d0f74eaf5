//! `dbprov backup list` and `dbprov backup verify`: what a storage holds (complete artifacts, and what is
//! wrong with the rest), and a full check of one artifact (size, SHA-256, every encrypted chunk, the whole
//! decompressed stream) without touching any database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use dbprov_api::Resource;
use dbprov_api::v1alpha1::{BackupStorage, EncryptionConfig};
use dbprov_backup::artifact::{self, ArtifactEntry, ArtifactState};
use dbprov_backup::storage::S3Config;
use dbprov_backup::{EncryptionKey, Storage, StorageConfig};
use dbprov_reconcile::backup_settings::{BackupEnvironment, encryption_key, open_storage};
use dbprov_reconcile::{Context, Failure};
use indicatif::BinaryBytes;
use serde::Serialize;

use crate::ExitStatus;
use crate::cli::{GlobalOptions, OutputFormat};
use crate::host::{CliWorld, Loaded};
use crate::loader;
use crate::progress::ProgressDisplay;
use crate::runs::recorded_backups;
use crate::state::StateStore;

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// List the artifacts of a storage (--storage), of the storages a manifest names (-f), or of the
    /// storages of every backup dbprov made (neither).
    List {
        #[command(flatten)]
        storage: StorageArgs,
        /// Manifests whose DatabaseBackup, DatabaseBackupSchedule and DatabaseRestore storages are listed.
        #[arg(
            short = 'f',
            long = "filename",
            value_name = "PATH",
            conflicts_with = "storage"
        )]
        files: Vec<PathBuf>,
    },
    /// Delete the artifacts of the backups dbprov made whose `ttl` has passed, and forget them
    /// (`schedule tick` and `schedule run` do this too).
    Prune,
    /// Verify an artifact completely (size, SHA-256, encryption, decompression) without restoring it: NAME is
    /// a DatabaseBackup dbprov made, or an artifact name in --storage; PATH an artifact file.
    Verify {
        /// A DatabaseBackup name, an artifact name (with --storage), or the path of an artifact file.
        target: String,
        #[command(flatten)]
        storage: StorageArgs,
        /// The encryption key (32 raw bytes, 64 hex digits or base64) of an encrypted artifact; default: the
        /// DatabaseBackup's key Secret.
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        #[arg(short, long, default_value = "default")]
        namespace: String,
    },
}

#[derive(Debug, Args)]
pub struct StorageArgs {
    /// A directory, or s3://bucket/prefix (credentials from the AWS_* environment variables).
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub storage: Option<String>,
    /// An S3-compatible endpoint (http://minio:9000).
    #[arg(long, requires = "storage")]
    pub s3_endpoint: Option<String>,
    /// The S3 region.
    #[arg(long, requires = "storage", default_value = "us-east-1")]
    pub s3_region: String,
    /// Path-style S3 requests (MinIO and most S3-compatible servers).
    #[arg(long, requires = "storage")]
    pub s3_force_path_style: bool,
}

impl StorageArgs {
    fn open(&self) -> anyhow::Result<Option<Storage>> {
        let Some(location) = &self.storage else {
            return Ok(None);
        };
        let config = match location.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                let mut config = S3Config::new(bucket, &self.s3_region);
                config.prefix = (!prefix.is_empty()).then(|| prefix.to_owned());
                config.endpoint = self.s3_endpoint.clone();
                config.force_path_style = self.s3_force_path_style;
                StorageConfig::S3(config)
            }
            None => StorageConfig::Local {
                path: PathBuf::from(location),
            },
        };
        Ok(Some(Storage::open(&config)?))
    }
}

pub async fn backup(global: &GlobalOptions, args: &BackupArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        BackupCommand::List { storage, files } => list(global, storage, files).await,
        BackupCommand::Prune => prune_expired(global).await,
        BackupCommand::Verify {
            target,
            storage,
            key_file,
            namespace,
        } => verify(global, target, storage, key_file.as_deref(), namespace).await,
    }
}

async fn prune_expired(global: &GlobalOptions) -> anyhow::Result<ExitStatus> {
    let state = StateStore::open(&global.state_dir).await?;
    let world = Arc::new(CliWorld::new(Vec::new(), state.clone()));
    let ctx = Context::new(world.clone(), world);
    let result = crate::runs::prune_expired(&ctx, &state, chrono::Utc::now()).await;
    state.close().await;
    if result?.is_empty() {
        println!("no expired backups");
    }
    Ok(ExitStatus::Success)
}

/// The storages to list, by location.
async fn storages(
    global: &GlobalOptions,
    args: &StorageArgs,
    files: &[PathBuf],
) -> anyhow::Result<Result<BTreeMap<String, Storage>, ExitStatus>> {
    let mut storages = BTreeMap::new();
    if let Some(storage) = args.open()? {
        storages.insert(storage.location().to_owned(), storage);
        return Ok(Ok(storages));
    }
    let state = StateStore::open(&global.state_dir).await?;
    let mut manifests: Vec<Loaded> = Vec::new();
    let mut declared: Vec<(String, BackupStorage)> = Vec::new();
    if files.is_empty() {
        for backup in recorded_backups(&state).await? {
            let namespace = backup
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into());
            declared.push((namespace, backup.spec.storage));
        }
    } else {
        let documents = match loader::load(files) {
            Ok(documents) => documents,
            Err(problems) => {
                for problem in problems {
                    eprintln!("dbprov: error: {problem}");
                }
                return Ok(Err(ExitStatus::Failure));
            }
        };
        for document in documents {
            let resource = &document.loaded.resource;
            let namespace = resource.namespace().unwrap_or("default").to_owned();
            match resource {
                Resource::DatabaseBackup(backup) => declared.push((namespace, backup.spec.storage.clone())),
                Resource::DatabaseBackupSchedule(schedule) => {
                    declared.push((namespace, schedule.spec.template.spec.storage.clone()))
                }
                Resource::DatabaseRestore(restore) => {
                    if let Some(from) = &restore.spec.from_path {
                        declared.push((namespace, from.storage.clone()));
                    }
                }
                _ => {}
            }
            manifests.push(document.loaded);
        }
    }
    let world = Arc::new(CliWorld::new(manifests, state.clone()));
    let ctx = Context::new(world.clone(), world);
    let env = BackupEnvironment::local();
    for (namespace, storage) in declared {
        let storage = open_storage(&ctx, &namespace, &storage, None, &env, "storage")
            .await
            .map_err(|failure| anyhow::anyhow!("{failure}"))?;
        storages.insert(storage.location().to_owned(), storage);
    }
    state.close().await;
    if storages.is_empty() {
        eprintln!("dbprov: no storage to list: give --storage, or -f with manifests naming storages");
        return Ok(Err(ExitStatus::Failure));
    }
    Ok(Ok(storages))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    storage: &'a str,
    artifact: &'a str,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stored_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    encrypted: bool,
}

fn state_text(state: &ArtifactState) -> String {
    match state {
        ArtifactState::Complete => "complete".into(),
        ArtifactState::MissingMetadata => "incomplete: no metadata".into(),
        ArtifactState::MissingArtifact => "incomplete: artifact missing".into(),
        ArtifactState::SizeMismatch { expected, actual } => {
            format!("corrupt: {actual} bytes, metadata says {expected}")
        }
        ArtifactState::InvalidMetadata { reason } => format!("invalid metadata: {reason}"),
        ArtifactState::Partial => "partial: running or interrupted".into(),
    }
}

fn listed<'a>(location: &'a str, entry: &'a ArtifactEntry) -> Listed<'a> {
    let metadata = entry.metadata.as_ref();
    Listed {
        storage: location,
        artifact: &entry.name,
        state: state_text(&entry.state),
        database: metadata.map(|m| m.database.as_str()),
        engine: metadata.map(|m| m.engine.as_str()),
        stored_bytes: metadata
            .map(|m| m.stored_size_bytes)
            .or(entry.object.as_ref().map(|object| object.size)),
        raw_bytes: metadata.map(|m| m.raw_size_bytes),
        sha256: metadata.map(|m| m.sha256.as_str()),
        started_at: metadata.map(|m| m.started_at.to_rfc3339()),
        encrypted: metadata.is_some_and(|m| m.encryption.is_some()),
    }
}

async fn list(global: &GlobalOptions, args: &StorageArgs, files: &[PathBuf]) -> anyhow::Result<ExitStatus> {
    let storages = match storages(global, args, files).await? {
        Ok(storages) => storages,
        Err(status) => return Ok(status),
    };
    let mut all = Vec::new();
    for (location, storage) in &storages {
        let entries = artifact::list(storage).await?;
        all.push((location.as_str(), entries));
    }
    let rows: Vec<Listed> = all
        .iter()
        .flat_map(|(location, entries)| entries.iter().map(|entry| listed(location, entry)))
        .collect();
    match global.output {
        Some(OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&rows)?),
        Some(OutputFormat::Yaml) => print!("{}", serde_saphyr::to_string(&rows)?),
        _ => {
            for (location, entries) in &all {
                println!("{location}:");
                if entries.is_empty() {
                    println!("  (no artifacts)");
                    continue;
                }
                let rows: Vec<Listed> = entries.iter().map(|entry| listed(location, entry)).collect();
                let width = |values: &mut dyn Iterator<Item = usize>, title: &str| {
                    values.max().unwrap_or(0).max(title.len())
                };
                let artifact = width(&mut rows.iter().map(|row| row.artifact.len()), "ARTIFACT");
                let database = width(
                    &mut rows.iter().map(|row| row.database.map_or(1, str::len)),
                    "DATABASE",
                );
                let engine = width(
                    &mut rows.iter().map(|row| row.engine.map_or(1, str::len)),
                    "ENGINE",
                );
                println!(
                    "  {:artifact$}  {:database$}  {:engine$}  {:>11}  {:19}  STATE",
                    "ARTIFACT", "DATABASE", "ENGINE", "SIZE", "STARTED"
                );
                for row in rows {
                    println!(
                        "  {:artifact$}  {:database$}  {:engine$}  {:>11}  {:19}  {}{}",
                        row.artifact,
                        row.database.unwrap_or("-"),
                        row.engine.unwrap_or("-"),
                        row.stored_bytes
                            .map(|bytes| BinaryBytes(bytes).to_string())
                            .unwrap_or_else(|| "-".into()),
                        row.started_at
                            .as_deref()
                            .map(|time| time.get(..19).unwrap_or(time).replace('T', " "))
                            .unwrap_or_else(|| "-".into()),
                        row.state,
                        if row.encrypted { ", encrypted" } else { "" }
                    );
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}

/// The storage, artifact name and key of what `verify` was asked to check.
async fn locate(
    global: &GlobalOptions,
    target: &str,
    args: &StorageArgs,
    namespace: &str,
) -> anyhow::Result<(Storage, String, Option<EncryptionKey>)> {
    if let Some(storage) = args.open()? {
        return Ok((storage, target.to_owned(), None));
    }
    let state = StateStore::open(&global.state_dir).await?;
    let recorded = recorded_backups(&state).await?;
    let found = recorded.into_iter().find(|backup| {
        backup.metadata.name.as_deref() == Some(target)
            && backup.metadata.namespace.as_deref().unwrap_or("default") == namespace
    });
    if let Some(backup) = found {
        let artifact = backup
            .status
            .as_ref()
            .and_then(|status| status.backup.as_ref())
            .and_then(|info| info.artifact.clone())
            .ok_or_else(|| {
                anyhow::anyhow!("databasebackup/{target} has not completed: it has no artifact")
            })?;
        let world = Arc::new(CliWorld::new(Vec::new(), state.clone()));
        let ctx = Context::new(world.clone(), world);
        let failure = |failure: Failure| anyhow::anyhow!("databasebackup/{target}: {failure}");
        let storage = open_storage(
            &ctx,
            namespace,
            &backup.spec.storage,
            None,
            &BackupEnvironment::local(),
            "spec.storage",
        )
        .await
        .map_err(failure)?;
        let key = encryption_key(
            &ctx,
            namespace,
            backup
                .spec
                .encryption
                .as_ref()
                .filter(|e: &&EncryptionConfig| e.is_enabled()),
            "spec.encryption",
        )
        .await
        .map_err(failure)?;
        state.close().await;
        return Ok((storage, artifact, key));
    }
    state.close().await;
    let path = Path::new(target);
    if path.is_file() {
        let directory = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| anyhow::anyhow!("{target} is not a file name dbprov can read"))?;
        let storage = Storage::open(&StorageConfig::Local {
            path: directory.to_owned(),
        })?;
        return Ok((storage, name.to_owned(), None));
    }
    anyhow::bail!(
        "{target:?} is neither a DatabaseBackup dbprov made (namespace {namespace}) nor an artifact file; give --storage to name an artifact in a storage"
    )
}

async fn verify(
    global: &GlobalOptions,
    target: &str,
    args: &StorageArgs,
    key_file: Option<&Path>,
    namespace: &str,
) -> anyhow::Result<ExitStatus> {
    let (storage, artifact, mut key) = locate(global, target, args, namespace).await?;
    if let Some(file) = key_file {
        let material = std::fs::read(file)
            .map_err(|error| anyhow::anyhow!("cannot read the key file {}: {error}", file.display()))?;
        key = Some(EncryptionKey::from_material(&material)?.with_id(format!("file {}", file.display())));
    }
    let (sender, display) = ProgressDisplay::start(format!("verify {artifact}"));
    let result = dbprov_backup::verify(&storage, &artifact, key.as_ref(), Some(sender)).await;
    display.finish().await;
    match result {
        Ok(report) => {
            let metadata = &report.metadata;
            println!(
                "{artifact}: verified ({} database {} from {}, {} stored, {} uncompressed, sha256:{}{})",
                metadata.engine.display_name(),
                metadata.database,
                metadata.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                BinaryBytes(metadata.stored_size_bytes),
                BinaryBytes(metadata.raw_size_bytes),
                metadata.sha256,
                if metadata.encryption.is_some() {
                    ", encrypted"
                } else {
                    ""
                }
            );
            Ok(ExitStatus::Success)
        }
        Err(error) => {
            eprintln!(
                "dbprov: error: {artifact} failed verification ({}): {}",
                error.kind(),
                dbprov_core::error::error_chain(&error)
            );
            Ok(ExitStatus::Failure)
        }
    }
}
