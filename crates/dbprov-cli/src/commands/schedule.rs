//! `dbprov schedule tick` (run what is due once, for system cron) and `dbprov schedule run` (a foreground
//! loop). Each `DatabaseBackupSchedule` of the manifests is checked against its cron expression, time zone,
//! concurrency policy and last run (kept in the state directory); a due run creates and runs a
//! `DatabaseBackup` named `<schedule>-YYYYMMDD-HHMMSS`, then retention deletes the artifacts (and records)
//! the policy does not keep.
//!
//! A per-schedule lock file (`<state-dir>/locks/`) tells a tick whether the previous run still runs in
//! another process: `Forbid` skips, `Replace` sends that process SIGTERM (it cancels its backup, which leaves
//! no artifact) and waits for the lock, `Allow` runs anyway. SIGINT/SIGTERM cancel a running backup cleanly.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use dbprov_api::Resource;
use dbprov_api::v1alpha1::{DatabaseBackup, DatabaseBackupSchedule, DatabaseBackupScheduleStatus};
use dbprov_reconcile::backup_status::time;
use dbprov_reconcile::schedule::{
    Due, created_at, due, last_scheduled, parse_schedule, plan_retention, retention_policy, runs_of,
    schedule_status, scheduled_backup,
};
use dbprov_reconcile::{Context, Mode, ObjectRef, reconcile_instance};

use crate::ExitStatus;
use crate::cli::{FileArgs, GlobalOptions};
use crate::host::{CliWorld, key_of};
use crate::loader::{self, Document};
use crate::output::{resource_name, verdict};
use crate::record::spec_hash;
use crate::runs::{self, recorded_backups};
use crate::state::{ObjectRecord, StateStore};

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(subcommand)]
    pub command: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Run every backup that is due now, apply retention, and exit (call it from system cron every minute).
    Tick {
        #[command(flatten)]
        files: FileArgs,
        /// Act as if it were this time (RFC 3339): for tests and for catching up deliberately.
        #[arg(long, hide = true, value_name = "TIME")]
        now: Option<String>,
    },
    /// Run the schedules in the foreground until interrupted (Ctrl-C while idle stops; during a backup it
    /// cancels the backup, which leaves no artifact).
    Run {
        #[command(flatten)]
        files: FileArgs,
    },
}

pub async fn schedule(global: &GlobalOptions, args: &ScheduleArgs) -> anyhow::Result<ExitStatus> {
    match &args.command {
        ScheduleCommand::Tick { files, now } => {
            let now = match now {
                Some(text) => DateTime::parse_from_rfc3339(text)
                    .map_err(|error| anyhow::anyhow!("--now {text:?} is not an RFC 3339 time: {error}"))?
                    .with_timezone(&Utc),
                None => Utc::now(),
            };
            let session = match Session::open(global, &files.files).await? {
                Ok(session) => session,
                Err(status) => return Ok(status),
            };
            let result = tokio::select! {
                result = session.tick(now) => result,
                () = shutdown_signal() => {
                    eprintln!("dbprov: interrupted: the running backup was cancelled and left no artifact");
                    return Ok(ExitStatus::Failure);
                }
            };
            session.close().await;
            Ok(result?.0)
        }
        ScheduleCommand::Run { files } => run(global, &files.files).await,
    }
}

async fn run(global: &GlobalOptions, paths: &[PathBuf]) -> anyhow::Result<ExitStatus> {
    let session = match Session::open(global, paths).await? {
        Ok(session) => session,
        Err(status) => return Ok(status),
    };
    eprintln!(
        "dbprov: running {} schedule(s); Ctrl-C stops",
        session.schedules().count()
    );
    loop {
        let result = tokio::select! {
            result = session.tick(Utc::now()) => result,
            () = shutdown_signal() => {
                eprintln!("dbprov: interrupted: the running backup was cancelled and left no artifact");
                session.close().await;
                return Ok(ExitStatus::Failure);
            }
        };
        let (_, next) = result?;
        // Wake at the next occurrence, and at least every five minutes (the clock may have been changed).
        let wait = next
            .and_then(|next| (next - Utc::now()).to_std().ok())
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(300))
            + Duration::from_millis(200);
        tracing::info!(seconds = wait.as_secs(), "waiting for the next run");
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown_signal() => {
                eprintln!("dbprov: stopped");
                session.close().await;
                return Ok(ExitStatus::Success);
            }
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM (`Replace`, service managers).
async fn shutdown_signal() {
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// Manifests, state and connections for a series of ticks.
struct Session {
    documents: Vec<Document>,
    state: StateStore,
    world: Arc<CliWorld>,
    ctx: Context,
}

impl Session {
    async fn open(global: &GlobalOptions, paths: &[PathBuf]) -> anyhow::Result<Result<Self, ExitStatus>> {
        let mut documents = match loader::load(paths) {
            Ok(documents) => documents,
            Err(problems) => {
                for problem in &problems {
                    eprintln!("dbprov: error: {problem}");
                }
                return Ok(Err(ExitStatus::Failure));
            }
        };
        loader::dependency_order(&mut documents);
        let state = StateStore::open(&global.state_dir).await?;
        let world = Arc::new(CliWorld::new(
            documents.iter().map(|d| d.loaded.clone()).collect(),
            state.clone(),
        ));
        let ctx = Context::new(world.clone(), world.clone());
        let session = Self {
            documents,
            state,
            world,
            ctx,
        };
        if session.schedules().next().is_none() {
            eprintln!("dbprov: error: the manifests hold no DatabaseBackupSchedule");
            return Ok(Err(ExitStatus::Failure));
        }
        Ok(Ok(session))
    }

    fn schedules(&self) -> impl Iterator<Item = (&Document, &DatabaseBackupSchedule)> {
        self.documents
            .iter()
            .filter_map(|document| match &document.loaded.resource {
                Resource::DatabaseBackupSchedule(schedule) => Some((document, schedule.as_ref())),
                _ => None,
            })
    }

    /// Checks the instances of the manifests (a backup waits for a Ready instance).
    async fn connect_instances(&self) {
        for document in &self.documents {
            let resource = &document.loaded.resource;
            if !matches!(
                resource,
                Resource::DatabaseInstance(_) | Resource::ClusterDatabaseInstance(_)
            ) {
                continue;
            }
            let object = ObjectRef::of(resource).expect("invariant: instances are API kinds");
            let outcome = reconcile_instance(&self.ctx, &object).await;
            if let Some(failure) = &outcome.failure {
                eprintln!("dbprov: error: {}: {failure}", resource_name(&object));
            }
            self.world.mark_ready(&object, outcome.is_ok());
        }
    }

    /// One pass over every schedule; returns the exit status and the earliest next run.
    async fn tick(&self, now: DateTime<Utc>) -> anyhow::Result<(ExitStatus, Option<DateTime<Utc>>)> {
        self.connect_instances().await;
        let mut status = ExitStatus::Success;
        let mut earliest: Option<DateTime<Utc>> = None;
        for (document, schedule) in self.schedules() {
            let (ok, next) = self.tick_schedule(document, schedule, now).await?;
            if !ok {
                status = ExitStatus::Failure;
            }
            earliest = match (earliest, next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        // Backups made outside these schedules (`dbprov apply`) expire by their `ttl` too.
        if let Err(error) = runs::prune_expired(&self.ctx, &self.state, now).await {
            eprintln!("dbprov: error: {error:#}");
            status = ExitStatus::Failure;
        }
        self.ctx.engines.close_all().await;
        Ok((status, earliest))
    }

    async fn tick_schedule(
        &self,
        document: &Document,
        schedule: &DatabaseBackupSchedule,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(bool, Option<DateTime<Utc>>)> {
        let object = ObjectRef::of(&document.loaded.resource).expect("invariant: a schedule is an API kind");
        let name = resource_name(&object);
        let record = self.state.get(&key_of(&object)).await?;
        let previous: DatabaseBackupScheduleStatus = record
            .as_ref()
            .and_then(|record| serde_json::from_value(record.status.clone()).ok())
            .unwrap_or_default();
        let cron = match parse_schedule(schedule) {
            Ok(cron) => cron,
            Err(failure) => {
                println!("{name} failed: {failure}");
                return Ok((false, None));
            }
        };
        let created = record
            .as_ref()
            .and_then(|record| record.manifest["metadata"]["creationTimestamp"].as_str())
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| time.with_timezone(&Utc))
            .unwrap_or_else(|| created_at(schedule, now));
        let lock = ScheduleLock::new(self.state.dir(), &object);
        let mut guard = lock.try_acquire()?;
        let decision = due(
            &cron,
            schedule.spec.paused,
            schedule.spec.concurrency_policy,
            last_scheduled(&previous),
            created,
            now,
            guard.is_none(),
        );
        let mut ok = true;
        let mut ran_at = None;
        match decision {
            Due::Run { scheduled, replace } => {
                if replace && guard.is_none() {
                    lock.stop_holder();
                    guard = lock.acquire_within(Duration::from_secs(120)).await?;
                    if guard.is_none() {
                        println!("{name} failed: the running backup did not stop within 2 minutes");
                        return Ok((false, cron.next_after(now)));
                    }
                }
                ran_at = Some(scheduled);
                ok = self.run_backup(schedule, scheduled, now).await?;
                drop(guard);
            }
            Due::Skip { scheduled } => println!(
                "{name}: the {} run waits: the previous backup is still running (concurrencyPolicy Forbid)",
                scheduled.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            Due::Paused => tracing::info!(%name, "paused"),
            Due::NotDue { next } => tracing::info!(%name, ?next, "not due"),
        }
        let pruned = match self.retention(schedule, &cron, now).await {
            Ok(pruned) => pruned,
            Err(error) => {
                println!("{name} retention failed: {error}");
                ok = false;
                Vec::new()
            }
        };
        let runs: Vec<DatabaseBackup> = runs_of(schedule, &recorded_backups(&self.state).await?)
            .into_values()
            .collect();
        let next = if schedule.spec.paused {
            None
        } else {
            cron.next_after(now.max(ran_at.unwrap_or(now)))
        };
        let mut status = schedule_status(&previous, schedule, &runs, ran_at, next, now);
        if !pruned.is_empty() {
            status.last_pruned = pruned;
        }
        let mut manifest = document.value.clone();
        manifest["metadata"]["creationTimestamp"] = serde_json::Value::from(time(created).0.to_string());
        self.state
            .put(&ObjectRecord {
                key: key_of(&object),
                applied_spec_hash: Some(spec_hash(&document.value)),
                manifest,
                status: serde_json::to_value(&status)?,
                created: false,
                last_sql: Vec::new(),
                extra: record
                    .as_ref()
                    .map(|record| record.extra.clone())
                    .unwrap_or_else(|| serde_json::json!({})),
                updated_at: Utc::now(),
            })
            .await?;
        Ok((ok, next))
    }

    /// Creates and runs the backup of the occurrence at `scheduled`, and records it.
    async fn run_backup(
        &self,
        schedule: &DatabaseBackupSchedule,
        scheduled: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut backup = scheduled_backup(schedule, scheduled);
        backup.metadata.creation_timestamp = Some(time(now));
        let resource = Resource::DatabaseBackup(Box::new(backup.clone()));
        let object = ObjectRef::of(&resource).expect("invariant: a backup is an API kind");
        let previous = self.state.get(&key_of(&object)).await?;
        let (outcome, status) =
            runs::backup(&self.ctx, &self.world, &backup, previous.as_ref(), Mode::Apply).await;
        println!("{} {}", resource_name(&object), verdict(&outcome));
        let mut manifest = serde_json::to_value(&backup)?;
        if let Some(object) = manifest.as_object_mut() {
            object.remove("status");
        }
        self.state
            .put(&ObjectRecord {
                key: key_of(&object),
                applied_spec_hash: Some(spec_hash(&manifest)),
                manifest,
                status: serde_json::to_value(&status)?,
                created: outcome.is_ok(),
                last_sql: outcome.executed.clone(),
                extra: serde_json::json!({}),
                updated_at: Utc::now(),
            })
            .await?;
        Ok(outcome.is_ok())
    }

    /// Deletes the artifacts retention does not keep, and forgets their runs and old failures.
    async fn retention(
        &self,
        schedule: &DatabaseBackupSchedule,
        cron: &dbprov_api::schedule::CronSchedule,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<String>> {
        let runs = runs_of(schedule, &recorded_backups(&self.state).await?);
        let all: Vec<DatabaseBackup> = runs.values().cloned().collect();
        let policy = retention_policy(schedule).map_err(|failure| anyhow::anyhow!("{failure}"))?;
        let plan = plan_retention(schedule, &all, &policy, now, &cron.timezone());
        let mut pruned = Vec::new();
        for (name, why) in &plan.delete {
            let Some(run) = runs.get(name) else { continue };
            pruned.extend(runs::prune_and_forget(&self.ctx, &self.state, run, why).await?);
        }
        for name in &plan.forget {
            let Some(run) = runs.get(name) else { continue };
            let object = ObjectRef::of(&Resource::DatabaseBackup(Box::new(run.clone())))
                .expect("invariant: a backup is an API kind");
            self.state.remove(&key_of(&object)).await?;
        }
        Ok(pruned)
    }

    async fn close(&self) {
        self.ctx.engines.close_all().await;
        self.state.close().await;
    }
}

/// `<state-dir>/locks/<namespace>.<name>.lock`, held (flock) while a schedule's backup runs; it holds the
/// pid of the holder.
struct ScheduleLock {
    path: PathBuf,
}

/// A held lock; dropping it (closing the file) releases it, also when the process dies.
struct LockGuard {
    _file: File,
}

impl ScheduleLock {
    fn new(state_dir: &Path, object: &ObjectRef) -> Self {
        let namespace = object.namespace.as_deref().unwrap_or("cluster");
        Self {
            path: state_dir
                .join("locks")
                .join(format!("{namespace}.{}.lock", object.name)),
        }
    }

    fn try_acquire(&self) -> anyhow::Result<Option<LockGuard>> {
        if let Some(parent) = self.path.parent() {
            crate::state::create_private_dir(parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(|error| anyhow::anyhow!("cannot open the lock file {}: {error}", self.path.display()))?;
        // SAFETY: flock on a file descriptor this function owns; no memory is shared with the call.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            return Ok(None);
        }
        file.set_len(0)?;
        write!(file, "{}", std::process::id())?;
        Ok(Some(LockGuard { _file: file }))
    }

    async fn acquire_within(&self, timeout: Duration) -> anyhow::Result<Option<LockGuard>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(guard) = self.try_acquire()? {
                return Ok(Some(guard));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asks the process holding the lock to cancel its backup (`Replace`).
    fn stop_holder(&self) {
        let Some(pid) = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok())
            .filter(|pid| *pid > 0 && *pid != std::process::id() as i32)
        else {
            return;
        };
        // SAFETY: sending a signal to a pid has no memory-safety implications.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}
