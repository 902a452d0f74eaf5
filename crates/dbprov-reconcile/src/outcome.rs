//! What one reconcile did: the plan, what ran, the drift left in place, events, and the failure if any.

use std::time::Duration;

use dbprov_core::{Drift, EngineKind, Plan};
use serde::Serialize;

use crate::context::ObjectRef;
use crate::failure::Failure;

/// A Kubernetes-style event: something that happened to an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// PascalCase (`DatabaseCreated`, `DriftCorrected`, `ConnectionFailed`).
    pub reason: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    Normal,
    Warning,
}

impl Event {
    pub fn normal(reason: &str, message: impl Into<String>) -> Self {
        Self {
            event_type: EventType::Normal,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }

    pub fn warning(reason: &str, message: impl Into<String>) -> Self {
        Self {
            event_type: EventType::Warning,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

/// Kind-specific facts for the status.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Info {
    #[default]
    None,
    Instance {
        engine: EngineKind,
        version: String,
    },
    Database {
        engine: EngineKind,
        name: String,
        owner: Option<String>,
        size_bytes: Option<i64>,
        encoding: Option<String>,
        collation: Option<String>,
        extensions: Vec<(String, String)>,
        schemas: Vec<String>,
        charset: Option<String>,
    },
    User {
        engine: EngineKind,
        username: String,
        secret: Option<(String, String)>,
        password_rotated: bool,
    },
    Role {
        engine: EngineKind,
        name: String,
    },
    Migration {
        engine: EngineKind,
    },
    /// A backup (or a schedule's run) of a database on an instance of this engine.
    Backup {
        engine: EngineKind,
    },
    /// A restore into an instance of this engine.
    Restore {
        engine: EngineKind,
    },
    Grant {
        engine: EngineKind,
        grantee: String,
        roles: Vec<String>,
        direct_grants: i32,
        default_privileges: i32,
    },
}

/// What a reconcile did.
#[derive(Debug)]
pub struct Outcome {
    pub object: ObjectRef,
    /// The full plan: pending changes and the drift found.
    pub plan: Plan,
    /// Whether the plan was applied (false in plan mode and when drift is only reported).
    pub applied: bool,
    /// The redacted SQL that ran.
    pub executed: Vec<String>,
    /// Whether the server object existed before this reconcile.
    pub exists_before: bool,
    /// Whether this reconcile created it.
    pub created: bool,
    /// Drift found and left in place (policy `detect`), for the status and the exit code.
    pub drift_left: Vec<Drift>,
    /// Whether the declaration changed since it was last applied.
    pub spec_changed: bool,
    pub info: Info,
    pub events: Vec<Event>,
    pub failure: Option<Failure>,
    /// A Secret written (namespace, name): generated credentials, stored before the password was set.
    pub secret_written: Option<(String, String)>,
    /// A keyed fingerprint of the password set on the server, for hosts to remember (see `password`).
    pub password_fingerprint: Option<String>,
    /// Things the plan will do that are not SQL (writing a Secret), for `plan` output.
    pub notes: Vec<String>,
}

impl Outcome {
    pub fn new(object: ObjectRef) -> Self {
        Self {
            object,
            plan: Plan::default(),
            applied: false,
            executed: Vec::new(),
            exists_before: false,
            created: false,
            drift_left: Vec::new(),
            spec_changed: false,
            info: Info::None,
            events: Vec::new(),
            failure: None,
            secret_written: None,
            password_fingerprint: None,
            notes: Vec::new(),
        }
    }

    /// Records a failure (and its warning event).
    pub fn failed(mut self, failure: Failure) -> Self {
        self.events
            .push(Event::warning(failure.reason(), failure.to_string()));
        self.failure = Some(failure);
        self
    }

    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }

    /// Whether something is pending: statements not yet run, or drift found (whatever the drift policy).
    pub fn has_changes(&self) -> bool {
        (!self.plan.steps.is_empty() && !self.applied)
            || !self.plan.drift.is_empty()
            || !self.notes.is_empty() && !self.applied
    }

    /// When to reconcile again: after a failure per its policy, otherwise `interval` (drift and health checks).
    pub fn requeue_after(&self, interval: Duration) -> Option<Duration> {
        match &self.failure {
            Some(failure) => failure.requeue_after(),
            None => Some(interval),
        }
    }
}
