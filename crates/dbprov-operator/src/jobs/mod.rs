//! Backup, restore and prune Jobs: the arguments of `dbprov job`, the Job the controllers create (the
//! operator's image, identity and restrictions, the object's deadline and storage claims), what its status
//! says, and [`run`]: what runs inside it.

mod api;
mod args;
mod build;
mod progress;
pub mod run;
mod state;
mod template;

pub use api::{create, delete_foreground, jobs_of};
pub use args::{DEFAULT_PROGRESS_INTERVAL_SECONDS, DEFAULT_PVC_ROOT, JobArgs, JobKind};
pub use build::{
    ANNOTATION_GENERATION, BuildError, CONTAINER, ClaimMount, JobAction, JobRequest, LABEL_JOB_ACTION,
    LABEL_OWNER_UID, build_job, job_labels, job_name,
};
pub use state::{JobState, JobSummary, job_state, summary};
pub use template::{ENV_IMAGE, ENV_POD_NAME, JobTemplate};
