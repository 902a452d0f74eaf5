//! Kubernetes Events (`events.k8s.io/v1`) for what a reconcile did. Events are best effort: a failure to
//! publish one is logged and never fails the reconcile.

use dbprov_reconcile::EventType;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType as KubeEventType, Recorder};

/// The API limit on an event note.
const MAX_NOTE: usize = 1024;

/// What the operator was doing when the event happened (the event's `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Reconcile,
    Delete,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Reconcile => "Reconcile",
            Action::Delete => "Delete",
        }
    }
}

fn truncate(message: &str) -> String {
    if message.len() <= MAX_NOTE {
        return message.to_owned();
    }
    let mut end = MAX_NOTE - 3;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// Publishes each event for `reference`.
pub async fn publish(
    recorder: &Recorder,
    reference: &ObjectReference,
    events: &[dbprov_reconcile::Event],
    action: Action,
) {
    for event in events {
        let published = recorder
            .publish(
                &Event {
                    type_: match event.event_type {
                        EventType::Normal => KubeEventType::Normal,
                        EventType::Warning => KubeEventType::Warning,
                    },
                    reason: event.reason.clone(),
                    note: Some(truncate(&event.message)),
                    action: action.as_str().to_owned(),
                    secondary: None,
                },
                reference,
            )
            .await;
        if let Err(error) = published {
            tracing::warn!(
                object = reference.name.as_deref().unwrap_or_default(),
                reason = %event.reason,
                error = %dbprov_core::error::error_chain(&error),
                "failed to publish an event"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_are_cut_at_a_character_boundary() {
        assert_eq!(truncate("short"), "short");
        let long = "é".repeat(800);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_NOTE);
        assert!(cut.ends_with("..."));
    }
}
