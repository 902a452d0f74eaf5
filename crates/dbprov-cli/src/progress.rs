//! Progress of a running backup, verification or restore on standard error: a progress bar (bytes, rate,
//! ETA when the total is known) when standard error is a terminal, plain lines otherwise (at each phase
//! change and every ten seconds), so logs of cron jobs and CI stay readable.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use dbprov_backup::{Phase, Progress};
use indicatif::{BinaryBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often plain lines are printed while nothing else happens.
const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// A display fed by a progress channel; it ends when the sender is dropped (the operation finished).
pub struct ProgressDisplay {
    task: JoinHandle<()>,
}

impl ProgressDisplay {
    /// Starts displaying the progress of `label` (`backup clients-nightly`); give the sender to the operation.
    pub fn start(label: String) -> (watch::Sender<Progress>, Self) {
        let (sender, receiver) = watch::channel(Progress::default());
        let task = if std::io::stderr().is_terminal() {
            tokio::spawn(bar(label, receiver))
        } else {
            tokio::spawn(lines(label, receiver))
        };
        (sender, Self { task })
    }

    /// Waits until the display has drawn its last state.
    pub async fn finish(self) {
        let _ = self.task.await;
    }
}

fn verb(phase: Phase) -> &'static str {
    match phase {
        Phase::Starting => "starting",
        Phase::Dumping => "dumping",
        Phase::Verifying => "verifying",
        Phase::Restoring => "restoring",
        Phase::Finishing => "finishing",
        Phase::Done => "done",
    }
}

async fn bar(label: String, mut receiver: watch::Receiver<Progress>) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let known = ProgressStyle::with_template(
        "{prefix} {msg:10} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    )
    .expect("invariant: the template is valid")
    .progress_chars("=> ");
    let unknown =
        ProgressStyle::with_template("{prefix} {spinner} {msg:10} {bytes} {binary_bytes_per_sec} {elapsed}")
            .expect("invariant: the template is valid");
    bar.set_prefix(label);
    bar.set_style(unknown.clone());
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut phase = None;
    loop {
        let progress = receiver.borrow_and_update().clone();
        if phase != Some(progress.phase) {
            phase = Some(progress.phase);
            // A new phase restarts the counters, and the rate with them.
            bar.reset();
            match progress.stored_total {
                Some(total) => {
                    bar.set_style(known.clone());
                    bar.set_length(total);
                }
                None => {
                    bar.set_style(unknown.clone());
                    bar.unset_length();
                }
            }
            bar.set_message(verb(progress.phase));
        }
        // Dumping counts what the tool wrote; reading phases count the artifact's bytes.
        let position = if progress.stored_total.is_some() {
            progress.stored_bytes
        } else {
            progress.raw_bytes
        };
        bar.set_position(position);
        if receiver.changed().await.is_err() {
            break;
        }
        // At most about ten redraws a second, whatever the update rate.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bar.finish_and_clear();
}

async fn lines(label: String, mut receiver: watch::Receiver<Progress>) {
    let mut phase = None;
    let mut last_line = Instant::now();
    loop {
        let progress = receiver.borrow_and_update().clone();
        if phase != Some(progress.phase) {
            // A phase that just started has no numbers yet: say what it does, numbers follow every 10 s.
            phase = Some(progress.phase);
            last_line = Instant::now();
            if matches!(
                progress.phase,
                Phase::Dumping | Phase::Verifying | Phase::Restoring
            ) {
                eprintln!("dbprov: {label}: {}", verb(progress.phase));
            }
        } else if last_line.elapsed() >= LINE_INTERVAL {
            last_line = Instant::now();
            eprintln!("dbprov: {label}: {}", describe(&progress));
        }
        let changed = tokio::select! {
            changed = receiver.changed() => changed.is_ok(),
            () = tokio::time::sleep(LINE_INTERVAL) => true,
        };
        if !changed {
            break;
        }
    }
}

/// `dumping 120.00 MiB (40.00 MiB/s)`, `restoring 50% of 1.00 GiB (80.00 MiB/s, 6s left)`.
pub fn describe(progress: &Progress) -> String {
    let verb = verb(progress.phase);
    match progress.stored_total {
        Some(total) => {
            let percent = progress.fraction().map_or(0.0, |fraction| fraction * 100.0);
            let eta = progress
                .eta()
                .map(|eta| format!(", {}s left", eta.as_secs()))
                .unwrap_or_default();
            format!(
                "{verb} {percent:.0}% of {} ({}/s{eta})",
                BinaryBytes(total),
                BinaryBytes(progress.stored_rate() as u64)
            )
        }
        None => format!(
            "{verb} {} ({}/s)",
            BinaryBytes(progress.raw_bytes),
            BinaryBytes(progress.raw_rate() as u64)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_bytes_rates_and_time_left() {
        let dumping = Progress {
            phase: Phase::Dumping,
            raw_bytes: 10 << 20,
            stored_bytes: 1 << 20,
            stored_total: None,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(describe(&dumping), "dumping 10.00 MiB (5.00 MiB/s)");
        let restoring = Progress {
            phase: Phase::Restoring,
            raw_bytes: 0,
            stored_bytes: 1 << 20,
            stored_total: Some(4 << 20),
            elapsed: Duration::from_secs(1),
        };
        assert_eq!(
            describe(&restoring),
            "restoring 25% of 4.00 MiB (1.00 MiB/s, 3s left)"
        );
    }
}
