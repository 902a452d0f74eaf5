//! What `plan` and `apply` print: one line (or block) per resource for people, or JSON/YAML for machines.

use dbprov_reconcile::{Mode, ObjectRef, Outcome};
use serde::Serialize;

/// `database/client-db`, or `database/client-db -n shop` outside the default namespace.
pub fn resource_name(object: &ObjectRef) -> String {
    let base = format!("{}/{}", object.kind.singular(), object.name);
    match object.namespace.as_deref() {
        Some("default") | None => base,
        Some(namespace) => format!("{base} -n {namespace}"),
    }
}

/// The one-word result of an apply.
pub fn verdict(outcome: &Outcome) -> String {
    if let Some(failure) = &outcome.failure {
        return format!("failed: {failure}");
    }
    if !outcome.drift_left.is_empty() {
        let count = outcome.drift_left.len();
        return format!(
            "drift detected ({count} difference{}, left as is)",
            if count == 1 { "" } else { "s" }
        );
    }
    if let dbprov_reconcile::outcome::Info::Backup { .. } | dbprov_reconcile::outcome::Info::Restore { .. } =
        &outcome.info
        && outcome.applied
    {
        return match outcome.executed.last() {
            Some(what) => format!("completed: {what}"),
            None => "completed".into(),
        };
    }
    if outcome.created {
        return "created".into();
    }
    if let dbprov_reconcile::outcome::Info::Instance { engine, version } = &outcome.info {
        return format!("connected ({} {version})", engine.display_name());
    }
    if !outcome.executed.is_empty() {
        let count = outcome.executed.len();
        return format!(
            "configured ({count} statement{})",
            if count == 1 { "" } else { "s" }
        );
    }
    if outcome.secret_written.is_some() {
        return "configured (secret updated)".into();
    }
    if outcome.applied || !outcome.notes.is_empty() {
        return outcome
            .notes
            .first()
            .map(|note| format!("released: {note}"))
            .unwrap_or_else(|| "configured".into());
    }
    "unchanged".into()
}

pub fn print_human(outcomes: &[&Outcome], mode: Mode) {
    for outcome in outcomes {
        let name = resource_name(&outcome.object);
        match mode {
            Mode::Apply => {
                println!("{name} {}", verdict(outcome));
                for drift in &outcome.drift_left {
                    println!(
                        "  ~ {} {}: declared {}, found {}",
                        drift.object, drift.field, drift.declared, drift.actual
                    );
                }
            }
            Mode::Plan => {
                if let Some(failure) = &outcome.failure {
                    println!("{name}: error: {failure}");
                    continue;
                }
                if !outcome.has_changes() {
                    println!("{name}: in sync");
                    continue;
                }
                println!("{name}:");
                for step in &outcome.plan.steps {
                    let database = step
                        .database
                        .as_deref()
                        .map(|db| format!("  [in {db}]"))
                        .unwrap_or_default();
                    println!("  + {};{database}", step.display());
                }
                for drift in &outcome.plan.drift {
                    let fixable = if drift.correctable {
                        ""
                    } else {
                        " (cannot be corrected in place)"
                    };
                    println!(
                        "  ~ drift: {} {}: declared {}, found {}{fixable}",
                        drift.object, drift.field, drift.declared, drift.actual
                    );
                }
                for note in &outcome.notes {
                    println!("  * {note}");
                }
            }
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    kind: &'static str,
    namespace: Option<&'a str>,
    name: &'a str,
    result: String,
    statements: Vec<String>,
    executed: &'a [String],
    drift: &'a [dbprov_core::Drift],
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn reports<'a>(outcomes: &'a [&'a Outcome], mode: Mode) -> Vec<Report<'a>> {
    outcomes
        .iter()
        .map(|outcome| Report {
            kind: outcome.object.kind.as_str(),
            namespace: outcome.object.namespace.as_deref(),
            name: &outcome.object.name,
            result: match mode {
                Mode::Apply => verdict(outcome),
                Mode::Plan if outcome.failure.is_some() => "error".into(),
                Mode::Plan if outcome.has_changes() => "changes".into(),
                Mode::Plan => "in sync".into(),
            },
            statements: outcome.plan.statements(),
            executed: &outcome.executed,
            drift: &outcome.plan.drift,
            notes: &outcome.notes,
            reason: outcome.failure.as_ref().map(|failure| failure.reason()),
            error: outcome.failure.as_ref().map(ToString::to_string),
        })
        .collect()
}

pub fn print_json(outcomes: &[&Outcome], mode: Mode) {
    println!(
        "{}",
        serde_json::to_string_pretty(&reports(outcomes, mode)).unwrap_or_default()
    );
}

pub fn print_yaml(outcomes: &[&Outcome], mode: Mode) {
    print!(
        "{}",
        serde_saphyr::to_string(&reports(outcomes, mode)).unwrap_or_default()
    );
}
