//! What a Job's status says, reduced to what the controllers decide on. Pure.

use k8s_openapi::api::batch::v1::Job;

use crate::jobs::build::{ANNOTATION_GENERATION, JobAction, LABEL_JOB_ACTION};

/// A Job's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Not finished (waiting for its pod, running, or terminating its pod after a failure).
    Running,
    Succeeded,
    /// `reason` is the Job's (`DeadlineExceeded`, `BackoffLimitExceeded`, ...).
    Failed {
        reason: String,
        message: String,
    },
}

impl JobState {
    pub fn is_finished(&self) -> bool {
        !matches!(self, JobState::Running)
    }
}

/// A Job of an object, as the controllers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    pub name: String,
    pub action: Option<JobAction>,
    /// The object's generation it runs (run Jobs).
    pub generation: Option<i64>,
    pub state: JobState,
    /// The Job is being deleted (its pods are being stopped).
    pub deleting: bool,
}

fn condition_true(job: &Job, kind: &str) -> Option<(String, String)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|condition| condition.type_ == kind && condition.status == "True")
        .map(|condition| {
            (
                condition.reason.clone().unwrap_or_default(),
                condition.message.clone().unwrap_or_default(),
            )
        })
}

/// The state of a Job from its conditions: `Complete` or `Failed` finish it. (`FailureTarget` and
/// `SuccessCriteriaMet` come first while the pods stop: still running, since the pod may report yet.)
pub fn job_state(job: &Job) -> JobState {
    if condition_true(job, "Complete").is_some() {
        return JobState::Succeeded;
    }
    if let Some((reason, message)) = condition_true(job, "Failed") {
        return JobState::Failed {
            reason: if reason.is_empty() {
                "JobFailed".to_owned()
            } else {
                reason
            },
            message,
        };
    }
    JobState::Running
}

/// The summary of a Job.
pub fn summary(job: &Job) -> JobSummary {
    let metadata = &job.metadata;
    JobSummary {
        name: metadata.name.clone().unwrap_or_default(),
        action: metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(LABEL_JOB_ACTION))
            .and_then(|value| JobAction::from_label(value)),
        generation: metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(ANNOTATION_GENERATION))
            .and_then(|value| value.parse().ok()),
        state: job_state(job),
        deleting: metadata.deletion_timestamp.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};

    use super::*;

    fn job(conditions: &[(&str, &str, &str)]) -> Job {
        Job {
            status: Some(JobStatus {
                conditions: Some(
                    conditions
                        .iter()
                        .map(|(kind, status, reason)| JobCondition {
                            type_: (*kind).to_owned(),
                            status: (*status).to_owned(),
                            reason: Some((*reason).to_owned()),
                            message: Some(format!("{kind} {reason}")),
                            ..JobCondition::default()
                        })
                        .collect(),
                ),
                ..JobStatus::default()
            }),
            ..Job::default()
        }
    }

    #[test]
    fn conditions_decide_the_state() {
        assert_eq!(job_state(&Job::default()), JobState::Running);
        assert_eq!(job_state(&job(&[("Complete", "True", "")])), JobState::Succeeded);
        assert_eq!(
            job_state(&job(&[
                ("FailureTarget", "True", "DeadlineExceeded"),
                ("Failed", "True", "DeadlineExceeded")
            ])),
            JobState::Failed {
                reason: "DeadlineExceeded".to_owned(),
                message: "Failed DeadlineExceeded".to_owned()
            }
        );
        // The pods are still being stopped: the Job has not failed yet.
        assert_eq!(
            job_state(&job(&[("FailureTarget", "True", "BackoffLimitExceeded")])),
            JobState::Running
        );
        assert_eq!(job_state(&job(&[("Failed", "False", "")])), JobState::Running);
        assert!(JobState::Succeeded.is_finished() && !JobState::Running.is_finished());
    }
}
