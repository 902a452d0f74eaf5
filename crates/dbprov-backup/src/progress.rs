//! Progress of a running backup, verification or restore, published on a `tokio::sync::watch` channel: the
//! CLI draws a progress bar from it, the operator copies it into the object's status.

use std::time::{Duration, Instant};

use tokio::sync::watch;

/// What the operation is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Starting,
    /// Streaming the dump into storage.
    Dumping,
    /// Reading the artifact back to check its checksum, size and (when encrypted) authenticity.
    Verifying,
    /// Streaming the artifact into the target.
    Restoring,
    /// Waiting for the tool to finish, committing the artifact, writing the metadata.
    Finishing,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "Starting",
            Phase::Dumping => "Dumping",
            Phase::Verifying => "Verifying",
            Phase::Restoring => "Restoring",
            Phase::Finishing => "Finishing",
            Phase::Done => "Done",
        }
    }
}

/// A snapshot of the counters.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Progress {
    pub phase: Phase,
    /// Uncompressed, unencrypted bytes: what the dump tool wrote or the restore tool read.
    pub raw_bytes: u64,
    /// Bytes of the artifact as stored.
    pub stored_bytes: u64,
    /// The artifact's stored size when it is known (verification and restore), for percentages and ETAs.
    pub stored_total: Option<u64>,
    /// Time since the current phase started.
    pub elapsed: Duration,
}

impl Progress {
    /// Raw bytes per second in the current phase.
    pub fn raw_rate(&self) -> f64 {
        rate(self.raw_bytes, self.elapsed)
    }

    /// Stored bytes per second in the current phase.
    pub fn stored_rate(&self) -> f64 {
        rate(self.stored_bytes, self.elapsed)
    }

    /// Completion from 0.0 to 1.0 when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.stored_total?;
        Some(if total == 0 {
            1.0
        } else {
            (self.stored_bytes as f64 / total as f64).min(1.0)
        })
    }

    /// Estimated time left at the current stored-bytes rate, when the total is known.
    pub fn eta(&self) -> Option<Duration> {
        let total = self.stored_total?;
        let rate = self.stored_rate();
        (rate > 0.0).then(|| Duration::from_secs_f64(total.saturating_sub(self.stored_bytes) as f64 / rate))
    }
}

fn rate(bytes: u64, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        bytes as f64 / seconds
    } else {
        0.0
    }
}

/// Publishes progress; a reporter without a channel does nothing.
#[derive(Debug, Clone)]
pub struct ProgressReporter {
    sender: Option<watch::Sender<Progress>>,
    phase: Phase,
    started: Instant,
    stored_total: Option<u64>,
}

impl ProgressReporter {
    pub fn new(sender: Option<watch::Sender<Progress>>) -> Self {
        Self {
            sender,
            phase: Phase::Starting,
            started: Instant::now(),
            stored_total: None,
        }
    }

    /// A reporter nobody listens to.
    pub fn silent() -> Self {
        Self::new(None)
    }

    /// Starts a phase: the counters and the clock restart.
    pub fn phase(&mut self, phase: Phase, stored_total: Option<u64>) {
        self.phase = phase;
        self.started = Instant::now();
        self.stored_total = stored_total;
        self.update(0, 0);
    }

    pub fn update(&self, raw_bytes: u64, stored_bytes: u64) {
        if let Some(sender) = &self.sender {
            sender.send_replace(Progress {
                phase: self.phase,
                raw_bytes,
                stored_bytes,
                stored_total: self.stored_total,
                elapsed: self.started.elapsed(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_fractions_and_eta() {
        let progress = Progress {
            phase: Phase::Restoring,
            raw_bytes: 400,
            stored_bytes: 100,
            stored_total: Some(400),
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(progress.raw_rate(), 200.0);
        assert_eq!(progress.stored_rate(), 50.0);
        assert_eq!(progress.fraction(), Some(0.25));
        assert_eq!(progress.eta(), Some(Duration::from_secs(6)));
        assert_eq!(Progress::default().fraction(), None);
        assert_eq!(Progress::default().raw_rate(), 0.0);
    }

    #[test]
    fn reporter_publishes_the_phase() {
        let (sender, receiver) = watch::channel(Progress::default());
        let mut reporter = ProgressReporter::new(Some(sender));
        reporter.phase(Phase::Verifying, Some(10));
        reporter.update(5, 3);
        let seen = receiver.borrow().clone();
        assert_eq!(seen.phase, Phase::Verifying);
        assert_eq!(
            (seen.raw_bytes, seen.stored_bytes, seen.stored_total),
            (5, 3, Some(10))
        );
    }
}
