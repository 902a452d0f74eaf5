//! The migration runner: golang-migrate's `Migrate` (`up`, `down`, `goto`, `force`, `version`).
//!
//! Every command takes the migration lock first, then reads the version; a dirty database is refused with
//! golang-migrate's `Dirty database version N. Fix and force version.` until [`Migrator::force`]. Each
//! migration marks its target version dirty, runs, then marks it clean, so a failure leaves the version of the
//! failed migration (for a down migration: the version it was going to) dirty, exactly as golang-migrate does.

mod plan;
mod progress;
mod report;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::driver::{self, DatabaseVersion, DriverError, MigrationDriver};
use crate::source::Source;
use crate::url::MigrationTarget;

pub use plan::PlannedStep;
pub use progress::{Progress, ProgressEvent, StopHandle};
pub use report::{AppliedStep, RunReport};

use plan::{Command, PlanStop};

/// golang-migrate's `DefaultLockTimeout`.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a command did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Connecting, locking or reading the version failed before any migration ran.
    #[error(transparent)]
    Driver(#[from] DriverError),

    /// golang-migrate's `ErrDirty`, word for word (tools and people search for this text).
    #[error("Dirty database version {}. Fix and force version.", .version.as_i64())]
    Dirty { version: DatabaseVersion },

    /// The database's version, or the `goto` target, has no file in the source.
    #[error("no migration found for version {version}: {source_label} has no up or down file for it")]
    VersionNotInSource { version: u64, source_label: String },

    /// golang-migrate's `file does not exist` for `up N` / `down N` with nothing left to run.
    #[error("file does not exist: {reason}")]
    NothingToApply { reason: &'static str },

    #[error("file does not exist: {source_label} has no migrations")]
    EmptySource { source_label: String },

    /// golang-migrate's `ErrInvalidVersion` (`force` below -1).
    #[error("version must be >= -1, got {version}")]
    InvalidVersion { version: i64 },

    /// golang-migrate's `ErrShortLimit`: fewer migrations than requested existed; those that did ran.
    #[error("limit {short} short")]
    ShortLimit { short: usize, report: Box<RunReport> },

    /// A migration (or the bookkeeping around it) failed after `report.applied` had completed.
    #[error(transparent)]
    Failed(Box<FailedRun>),
}

impl RunError {
    /// A stable identifier for metrics and condition reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::Driver(error) => error.kind(),
            RunError::Dirty { .. } => "Dirty",
            RunError::VersionNotInSource { .. } => "VersionNotInSource",
            RunError::NothingToApply { .. } | RunError::EmptySource { .. } => "NothingToApply",
            RunError::InvalidVersion { .. } => "InvalidVersion",
            RunError::ShortLimit { .. } => "ShortLimit",
            RunError::Failed(failed) => failed.error.kind(),
        }
    }

    /// What completed before the error, when anything could have.
    pub fn report(&self) -> Option<&RunReport> {
        match self {
            RunError::ShortLimit { report, .. } => Some(report),
            RunError::Failed(failed) => Some(&failed.report),
            _ => None,
        }
    }
}

/// A command that failed part-way: the error, and what completed before it.
#[derive(Debug)]
pub struct FailedRun {
    pub error: DriverError,
    pub report: RunReport,
}

impl fmt::Display for FailedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for FailedRun {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Runs one source against one database.
pub struct Migrator {
    source: Source,
    driver: Box<dyn MigrationDriver>,
    lock_timeout: Duration,
    progress: Option<Arc<dyn Progress>>,
    stop: StopHandle,
    table_ready: bool,
}

impl fmt::Debug for Migrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migrator")
            .field("source", &self.source.label())
            .field("target", &self.driver.target())
            .field("lock_timeout", &self.lock_timeout)
            .finish()
    }
}

impl Migrator {
    pub fn new(source: Source, driver: Box<dyn MigrationDriver>) -> Self {
        Self {
            source,
            driver,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            progress: None,
            stop: StopHandle::default(),
            table_ready: false,
        }
    }

    /// Connects to `target` and returns a runner for `source`.
    pub async fn connect(target: &MigrationTarget, source: Source) -> Result<Self, RunError> {
        Ok(Self::new(source, driver::connect(target).await?))
    }

    /// How long a command waits for another runner's lock (golang-migrate's `-lock-timeout`, default 15 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    pub fn with_progress(mut self, progress: impl Progress + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// A handle that stops a running command after its current migration.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The database URL, password masked.
    pub fn target(&self) -> &str {
        self.driver.target()
    }

    /// Applies all (`None`) or `limit` up migrations.
    pub async fn up(&mut self, limit: Option<usize>) -> Result<RunReport, RunError> {
        self.execute(Command::Up(limit)).await
    }

    /// Rolls back all (`None`) or `limit` migrations.
    pub async fn down(&mut self, limit: Option<usize>) -> Result<RunReport, RunError> {
        self.execute(Command::Down(limit)).await
    }

    /// Rolls back every migration (`migrate down -all`).
    pub async fn down_all(&mut self) -> Result<RunReport, RunError> {
        self.execute(Command::Down(None)).await
    }

    /// Migrates up or down to `version`, which must be in the source.
    pub async fn goto(&mut self, version: u64) -> Result<RunReport, RunError> {
        self.execute(Command::Goto(version)).await
    }

    /// Records `version` as the current, clean version without running anything (-1: no version, which
    /// empties the table). Neither the source nor the dirty flag is consulted.
    pub async fn force(&mut self, version: i64) -> Result<(), RunError> {
        if version < -1 {
            return Err(RunError::InvalidVersion { version });
        }
        let version = u64::try_from(version).ok();
        self.lock().await?;
        let result = async {
            self.ensure_table().await?;
            self.driver.set_version(version, false).await
        }
        .await;
        let unlocked = self.driver.unlock().await;
        result?;
        unlocked?;
        tracing::info!(target = %self.driver.target(), version = ?version, "forced migration version");
        Ok(())
    }

    /// The database's version. Unlike golang-migrate's `Version`, no version is a value, not an error.
    pub async fn version(&mut self) -> Result<DatabaseVersion, RunError> {
        if !self.table_ready {
            self.lock().await?;
            let ensured = self.ensure_table().await;
            let unlocked = self.driver.unlock().await;
            ensured?;
            unlocked?;
        }
        Ok(self.driver.version().await?)
    }

    /// Closes the connection.
    pub async fn close(self) -> Result<(), RunError> {
        Ok(self.driver.close().await?)
    }

    async fn lock(&mut self) -> Result<(), DriverError> {
        if let Some(progress) = &self.progress {
            progress.event(ProgressEvent::WaitingForLock {
                target: self.driver.target(),
            });
        }
        self.driver.lock(self.lock_timeout).await
    }

    async fn ensure_table(&mut self) -> Result<(), DriverError> {
        if !self.table_ready {
            self.driver.ensure_table().await?;
            self.table_ready = true;
        }
        Ok(())
    }

    async fn execute(&mut self, command: Command) -> Result<RunReport, RunError> {
        let started = Instant::now();
        self.lock().await?;
        let result = self.execute_locked(command, started).await;
        match self.driver.unlock().await {
            Ok(()) => result,
            Err(unlock_error) => match result {
                // The command's own error is the one to report; the lock goes with the connection anyway.
                Err(error) => {
                    tracing::warn!(target = %self.driver.target(), error = %unlock_error, "failed to release the migration lock");
                    Err(error)
                }
                Ok(report) => Err(RunError::Failed(Box::new(FailedRun {
                    error: unlock_error,
                    report,
                }))),
            },
        }
    }

    async fn execute_locked(&mut self, command: Command, started: Instant) -> Result<RunReport, RunError> {
        self.ensure_table().await?;
        let start = self.driver.version().await?;
        if start.dirty {
            return Err(RunError::Dirty { version: start });
        }
        let mut report = RunReport {
            target: self.driver.target().to_owned(),
            source: self.source.label().to_owned(),
            start,
            applied: Vec::new(),
            no_change: false,
            stopped: false,
            duration: Duration::ZERO,
        };
        let (source, driver, progress, stop) = (&self.source, &mut self.driver, &self.progress, &self.stop);
        let plan = match plan::plan(source, start.version, command) {
            Ok(plan) => plan,
            Err(PlanStop::NoChange) => {
                report.no_change = true;
                report.duration = started.elapsed();
                return Ok(report);
            }
            Err(PlanStop::VersionNotInSource(version)) => {
                return Err(RunError::VersionNotInSource {
                    version,
                    source_label: source.label().to_owned(),
                });
            }
            Err(PlanStop::NothingToApply(reason)) => return Err(RunError::NothingToApply { reason }),
            Err(PlanStop::EmptySource) => {
                return Err(RunError::EmptySource {
                    source_label: source.label().to_owned(),
                });
            }
        };

        for step in &plan.steps {
            if stop.is_stop_requested() {
                report.stopped = true;
                break;
            }
            let step_started = Instant::now();
            if let Some(progress) = progress {
                progress.event(ProgressEvent::Started(step));
            }
            let outcome = async {
                driver.set_version(step.target, true).await?;
                if let Some(file) = step.file {
                    driver.run(file).await?;
                }
                driver.set_version(step.target, false).await
            }
            .await;
            if let Err(error) = outcome {
                report.duration = started.elapsed();
                return Err(RunError::Failed(Box::new(FailedRun { error, report })));
            }
            let applied = AppliedStep {
                version: step.version,
                target: step.target,
                direction: step.direction,
                identifier: step.identifier().to_owned(),
                file_name: step.file.map(|file| file.file_name().to_owned()),
                checksum: step.file.map(|file| file.checksum().to_owned()),
                duration: step_started.elapsed(),
            };
            tracing::debug!(target = %report.target, step = %applied, "migration applied");
            if let Some(progress) = progress {
                progress.event(ProgressEvent::Finished(&applied));
            }
            report.applied.push(applied);
        }
        report.duration = started.elapsed();
        match plan.short_limit {
            Some(short) if !report.stopped => Err(RunError::ShortLimit {
                short,
                report: Box::new(report),
            }),
            _ => Ok(report),
        }
    }
}
