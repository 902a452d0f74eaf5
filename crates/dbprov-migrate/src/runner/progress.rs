//! Progress reporting and graceful stop, for the CLI (golang-migrate prints `1/u create_users (12.4ms)` per
//! migration and stops after the running migration on Ctrl-C).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::plan::PlannedStep;
use super::report::AppliedStep;

/// Something the runner is doing.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// About to wait for the migration lock of `target`.
    WaitingForLock { target: &'a str },
    /// A migration starts (its version was just marked dirty).
    Started(&'a PlannedStep<'a>),
    /// A migration finished (its version is clean).
    Finished(&'a AppliedStep),
}

/// Receives [`ProgressEvent`]s. Any `Fn(ProgressEvent<'_>)` closure is one.
pub trait Progress: Send + Sync {
    fn event(&self, event: ProgressEvent<'_>);
}

impl<F> Progress for F
where
    F: Fn(ProgressEvent<'_>) + Send + Sync,
{
    fn event(&self, event: ProgressEvent<'_>) {
        self(event)
    }
}

/// Asks a running command to stop after the migration in progress (golang-migrate's `GracefulStop`).
#[derive(Debug, Clone, Default)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    pub fn request_stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stop_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
