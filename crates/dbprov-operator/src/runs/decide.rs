//! What the controller of a backup or restore does next, from the object's status and its Jobs. Pure.
//!
//! A run is one-shot. `Completed` is final. `Failed` is final for the generation it describes: editing the
//! spec (a new generation) runs it again. Otherwise the generation's Job is created once and its pod reports
//! progress and the result into the status; the controller only mirrors what the pod could not report (the
//! Job failed, hit its deadline, or vanished) and never marks a run `Completed` itself.

use dbprov_api::v1alpha1::RunPhase;

use crate::jobs::{JobAction, JobState, JobSummary};

/// The `Ready` reason a pod writes when it was stopped (Job deleted or deadline reached) before finishing.
pub const REASON_INTERRUPTED: &str = "Interrupted";
/// The `Ready` reason while the Job has been created and its pod has not started the run yet.
pub const REASON_JOB_CREATED: &str = "JobCreated";
/// The run's Job disappeared (deleted by hand) after its pod started, without a result.
pub const REASON_JOB_LOST: &str = "JobLost";
/// The Job succeeded, but its pod did not record `Completed`: the result cannot be trusted.
pub const REASON_NO_RESULT: &str = "JobFinishedWithoutResult";
/// The Job hit `activeDeadlineSeconds`.
pub const REASON_DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
/// The Job failed for another reason (its pod crashed, was evicted, or exited without reporting).
pub const REASON_JOB_FAILED: &str = "JobFailed";

/// What the status says, as far as the decision goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunView {
    pub phase: Option<RunPhase>,
    pub observed_generation: Option<i64>,
    /// The `Ready` condition's reason.
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl RunView {
    fn describes(&self, generation: Option<i64>) -> bool {
        self.observed_generation == generation
    }

    /// Final without looking at the Jobs: completed, or failed for this generation by a reason that is not
    /// an interruption (an interrupted pod is overruled by its Job's reason, such as a deadline).
    pub fn is_final(&self, generation: Option<i64>) -> bool {
        match self.phase {
            Some(RunPhase::Completed) => true,
            Some(RunPhase::Failed) => {
                self.describes(generation) && self.reason.as_deref() != Some(REASON_INTERRUPTED)
            }
            _ => false,
        }
    }
}

/// The next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: the run is final.
    Done,
    /// A Job runs; its pod reports.
    Wait { job: String },
    /// The generation's Job finished without the pod's result: record it as failed.
    Mirror {
        job: String,
        reason: &'static str,
        message: String,
    },
    /// The status says the run started, but its Job is gone.
    Lost,
    /// Check the object and create the generation's Job.
    Start,
}

fn is_run(job: &JobSummary) -> bool {
    matches!(job.action, Some(JobAction::Backup | JobAction::Restore))
}

/// Decides from the status `view`, the object's `generation` and its Jobs.
pub fn decide(view: &RunView, generation: Option<i64>, jobs: &[JobSummary]) -> Decision {
    if view.phase == Some(RunPhase::Completed) {
        return Decision::Done;
    }
    let runs: Vec<&JobSummary> = jobs.iter().filter(|job| is_run(job)).collect();
    // Never two runs at once: a Job of an older generation finishes first.
    if let Some(running) = runs.iter().find(|job| !job.state.is_finished()) {
        return Decision::Wait {
            job: running.name.clone(),
        };
    }
    let ours = view.describes(generation);
    let current = runs.iter().find(|job| job.generation == generation);
    match current.map(|job| (&job.name, &job.state)) {
        Some((name, JobState::Succeeded)) => Decision::Mirror {
            job: name.clone(),
            reason: REASON_NO_RESULT,
            message: format!(
                "job {name} succeeded but its pod did not record the result; the run is not trusted as \
                 complete (apply a changed spec to run it again)"
            ),
        },
        Some((name, JobState::Failed { reason, message })) => {
            if view.is_final(generation) {
                // The pod reported why it failed: that is the better account.
                return Decision::Done;
            }
            let deadline = reason == REASON_DEADLINE_EXCEEDED;
            let mut text = if deadline {
                format!("job {name} did not finish within activeDeadlineSeconds and was stopped")
            } else {
                format!(
                    "job {name} failed without reporting a result ({reason}: {message}); see its pod's logs"
                )
            };
            // A pod that was waiting on something when it ended said what.
            if ours
                && view.phase == Some(RunPhase::Pending)
                && let Some(waiting) = view.message.as_deref().filter(|message| !message.is_empty())
            {
                text.push_str(&format!("; it was waiting: {waiting}"));
            }
            Decision::Mirror {
                job: name.clone(),
                reason: if deadline {
                    REASON_DEADLINE_EXCEEDED
                } else {
                    REASON_JOB_FAILED
                },
                message: text,
            }
        }
        Some((name, JobState::Running)) => Decision::Wait { job: name.clone() },
        None if ours && view.phase == Some(RunPhase::Failed) => Decision::Done,
        None if ours && view.phase == Some(RunPhase::Running) => Decision::Lost,
        None => Decision::Start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(phase: RunPhase, generation: i64, reason: &str) -> RunView {
        RunView {
            phase: Some(phase),
            observed_generation: Some(generation),
            reason: Some(reason.to_owned()),
            message: Some("waiting for instance pg".to_owned()),
        }
    }

    fn job(generation: i64, state: JobState) -> JobSummary {
        JobSummary {
            name: format!("b-backup-{generation}"),
            action: Some(JobAction::Backup),
            generation: Some(generation),
            state,
            deleting: false,
        }
    }

    fn failed(reason: &str) -> JobState {
        JobState::Failed {
            reason: reason.to_owned(),
            message: "m".to_owned(),
        }
    }

    #[test]
    fn a_new_object_starts_and_a_completed_one_never_runs_again() {
        assert_eq!(decide(&RunView::default(), Some(1), &[]), Decision::Start);
        let completed = view(RunPhase::Completed, 1, "BackupCompleted");
        assert_eq!(decide(&completed, Some(2), &[]), Decision::Done);
        assert_eq!(
            decide(&completed, Some(1), &[job(1, JobState::Succeeded)]),
            Decision::Done
        );
    }

    #[test]
    fn a_running_job_is_waited_for_whatever_its_generation() {
        let created = view(RunPhase::Pending, 1, REASON_JOB_CREATED);
        assert_eq!(
            decide(&created, Some(2), &[job(1, JobState::Running)]),
            Decision::Wait {
                job: "b-backup-1".into()
            }
        );
        // A prune Job is not a run.
        let prune = JobSummary {
            action: Some(JobAction::Prune),
            ..job(1, JobState::Running)
        };
        assert_eq!(decide(&created, Some(1), &[prune]), Decision::Start);
    }

    #[test]
    fn a_failed_job_is_mirrored_unless_the_pod_reported() {
        let running = view(RunPhase::Running, 1, "InProgress");
        assert_eq!(
            decide(&running, Some(1), &[job(1, failed("DeadlineExceeded"))]),
            Decision::Mirror {
                job: "b-backup-1".into(),
                reason: REASON_DEADLINE_EXCEEDED,
                message: "job b-backup-1 did not finish within activeDeadlineSeconds and was stopped".into()
            }
        );
        let crashed = decide(&running, Some(1), &[job(1, failed("BackoffLimitExceeded"))]);
        assert!(matches!(
            crashed,
            Decision::Mirror {
                reason: REASON_JOB_FAILED,
                ..
            }
        ));
        // The pod wrote why it failed: kept.
        let reported = view(RunPhase::Failed, 1, "DumpFailed");
        assert_eq!(
            decide(&reported, Some(1), &[job(1, failed("BackoffLimitExceeded"))]),
            Decision::Done
        );
        // An interrupted pod is overruled by its Job's deadline.
        let interrupted = view(RunPhase::Failed, 1, REASON_INTERRUPTED);
        assert!(matches!(
            decide(&interrupted, Some(1), &[job(1, failed("DeadlineExceeded"))]),
            Decision::Mirror {
                reason: REASON_DEADLINE_EXCEEDED,
                ..
            }
        ));
        // A pod that was waiting says on what.
        let waiting = view(RunPhase::Pending, 1, "InstanceNotReady");
        let Decision::Mirror { message, .. } =
            decide(&waiting, Some(1), &[job(1, failed("BackoffLimitExceeded"))])
        else {
            panic!("mirrored");
        };
        assert!(
            message.ends_with("it was waiting: waiting for instance pg"),
            "{message}"
        );
    }

    #[test]
    fn success_without_a_result_is_never_completed() {
        let running = view(RunPhase::Running, 1, "InProgress");
        assert!(matches!(
            decide(&running, Some(1), &[job(1, JobState::Succeeded)]),
            Decision::Mirror {
                reason: REASON_NO_RESULT,
                ..
            }
        ));
    }

    #[test]
    fn failures_are_final_per_generation_and_lost_jobs_are_reported() {
        let failed_one = view(RunPhase::Failed, 1, "DumpFailed");
        assert_eq!(decide(&failed_one, Some(1), &[]), Decision::Done);
        assert!(failed_one.is_final(Some(1)) && !failed_one.is_final(Some(2)));
        // The spec changed after the failure: run again.
        assert_eq!(
            decide(&failed_one, Some(2), &[job(1, failed("BackoffLimitExceeded"))]),
            Decision::Start
        );
        assert_eq!(
            decide(&view(RunPhase::Running, 1, "InProgress"), Some(1), &[]),
            Decision::Lost
        );
        // Created but never started, and the Job was removed: create it again.
        assert_eq!(
            decide(&view(RunPhase::Pending, 1, REASON_JOB_CREATED), Some(1), &[]),
            Decision::Start
        );
    }
}
