//! `dbprov get` and `dbprov describe`: what the state directory knows, with the same columns `kubectl get`
//! shows for the CRDs (they are read from the CRDs' printer columns, so the two never disagree).

use dbprov_api::crd::crd;
use dbprov_api::{Kind, Scope};

use crate::ExitStatus;
use crate::cli::{GlobalOptions, OutputFormat};
use crate::state::{ObjectRecord, StateStore};

/// The object as `kubectl get -o json` would show it: manifest plus status.
fn full_object(record: &ObjectRecord) -> serde_json::Value {
    let mut object = record.manifest.clone();
    object["status"] = record.status.clone();
    object
}

/// Evaluates the printer-column JSONPath forms the CRDs use: `.a.b`, `.a[?(@.k=="v")].b`.
pub fn json_path(object: &serde_json::Value, path: &str) -> Option<serde_json::Value> {
    let mut current = object.clone();
    let mut rest = path.trim_start_matches('.');
    while !rest.is_empty() {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let (field, tail) = rest.split_at(end);
        if !field.is_empty() {
            current = current.get(field)?.clone();
        }
        rest = tail;
        if let Some(filter) = rest.strip_prefix("[?(@.") {
            let close = filter.find(")]")?;
            let (condition, tail) = filter.split_at(close);
            let (key, value) = condition.split_once("==")?;
            let value = value.trim_matches('"');
            current = current
                .as_array()?
                .iter()
                .find(|item| item.get(key).and_then(|v| v.as_str()) == Some(value))?
                .clone();
            rest = &tail[2..];
        }
        rest = rest.trim_start_matches('.');
    }
    Some(current)
}

fn render_cell(value: Option<serde_json::Value>, column_type: &str) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "<none>".into(),
        Some(serde_json::Value::String(text)) if column_type == "date" => age(&text),
        Some(serde_json::Value::String(text)) => text,
        Some(other) => other.to_string(),
    }
}

/// `5m`, `3h`, `2d`, as kubectl prints ages; a time still to come (a schedule's next run) as `in 5m`.
fn age(timestamp: &str) -> String {
    let Ok(time) = chrono::DateTime::parse_from_rfc3339(timestamp) else {
        return timestamp.to_owned();
    };
    let seconds = (chrono::Utc::now() - time.with_timezone(&chrono::Utc)).num_seconds();
    if seconds < 0 {
        return format!("in {}", duration(seconds.unsigned_abs()));
    }
    duration(seconds.unsigned_abs())
}

fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m", seconds / 60),
        3600..86400 => format!("{}h", seconds / 3600),
        _ => format!("{}d", seconds / 86400),
    }
}

fn print_table(kind: Kind, records: &[ObjectRecord], wide: bool, show_namespace: bool) {
    let definition = crd(kind);
    let columns: Vec<_> = definition.spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|column| wide || column.priority.unwrap_or(0) == 0)
        .collect();
    let mut rows = vec![];
    let mut header = vec![];
    if show_namespace {
        header.push("NAMESPACE".to_owned());
    }
    header.push("NAME".to_owned());
    header.extend(columns.iter().map(|column| column.name.to_uppercase()));
    rows.push(header);
    for record in records {
        let object = full_object(record);
        let mut row = vec![];
        if show_namespace {
            row.push(record.key.namespace.clone());
        }
        row.push(record.key.name.clone());
        row.extend(
            columns
                .iter()
                .map(|column| render_cell(json_path(&object, &column.json_path), &column.type_)),
        );
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|index| {
            rows.iter()
                .map(|row| row[index].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("   ").trim_end());
    }
}

pub async fn get(
    global: &GlobalOptions,
    kind: &str,
    name: Option<&str>,
    namespace: &str,
    all_namespaces: bool,
) -> anyhow::Result<ExitStatus> {
    let kind = Kind::parse(kind)?;
    let state = StateStore::open(&global.state_dir).await?;
    let records: Vec<ObjectRecord> = state
        .list(Some(kind.as_str()))
        .await?
        .into_iter()
        .filter(|record| {
            all_namespaces || kind.scope() == Scope::Cluster || record.key.namespace == namespace
        })
        .filter(|record| name.is_none_or(|name| record.key.name == name))
        .collect();
    state.close().await;
    if let Some(name) = name
        && records.is_empty()
    {
        eprintln!(
            "dbprov: error: {} {name:?} not found (namespace {namespace})",
            kind.singular()
        );
        return Ok(ExitStatus::Failure);
    }
    match global.output {
        Some(OutputFormat::Json) | Some(OutputFormat::Yaml) => {
            let items: Vec<serde_json::Value> = records.iter().map(full_object).collect();
            let document = if name.is_some() {
                items.into_iter().next().unwrap_or_default()
            } else {
                serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})
            };
            if global.output == Some(OutputFormat::Json) {
                println!("{}", serde_json::to_string_pretty(&document)?);
            } else {
                print!("{}", serde_saphyr::to_string(&document)?);
            }
        }
        _ if records.is_empty() => eprintln!("No {} found.", kind.plural()),
        other => print_table(kind, &records, other == Some(OutputFormat::Wide), all_namespaces),
    }
    Ok(ExitStatus::Success)
}

pub async fn describe(
    global: &GlobalOptions,
    kind: &str,
    name: &str,
    namespace: &str,
) -> anyhow::Result<ExitStatus> {
    let kind = Kind::parse(kind)?;
    let state = StateStore::open(&global.state_dir).await?;
    let namespace = if kind.scope() == Scope::Cluster {
        ""
    } else {
        namespace
    };
    let key = crate::state::ObjectKey {
        kind: kind.as_str().to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    };
    let record = state.get(&key).await?;
    state.close().await;
    let Some(record) = record else {
        eprintln!("dbprov: error: {} {name:?} not found", kind.singular());
        return Ok(ExitStatus::Failure);
    };
    println!("Name:         {}", record.key.name);
    if !record.key.namespace.is_empty() {
        println!("Namespace:    {}", record.key.namespace);
    }
    println!("Kind:         {}", kind.as_str());
    println!(
        "Phase:        {}",
        record.status["phase"].as_str().unwrap_or("<none>")
    );
    println!(
        "Message:      {}",
        record.status["message"].as_str().unwrap_or("")
    );
    println!("Updated:      {}", record.updated_at.to_rfc3339());
    println!(
        "Created by dbprov: {}",
        if record.created {
            "yes"
        } else {
            "no (adopted or not created yet)"
        }
    );
    println!("Spec:");
    for line in serde_saphyr::to_string(&record.manifest["spec"])?.lines() {
        println!("  {line}");
    }
    println!("Conditions:");
    println!("  {:<10} {:<8} {:<22} MESSAGE", "TYPE", "STATUS", "REASON");
    for condition in record.status["conditions"].as_array().into_iter().flatten() {
        println!(
            "  {:<10} {:<8} {:<22} {}",
            condition["type"].as_str().unwrap_or(""),
            condition["status"].as_str().unwrap_or(""),
            condition["reason"].as_str().unwrap_or(""),
            condition["message"].as_str().unwrap_or("")
        );
    }
    let diffs = record.status["drift"]["diffs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if diffs.is_empty() {
        println!("Drift:        none");
    } else {
        println!("Drift:");
        for diff in diffs {
            println!(
                "  {}: declared {}, found {}",
                diff["field"].as_str().unwrap_or(""),
                diff["expected"].as_str().unwrap_or(""),
                diff["actual"].as_str().unwrap_or("")
            );
        }
    }
    if record.last_sql.is_empty() {
        println!("Last SQL:     none");
    } else {
        println!("Last SQL:");
        for statement in &record.last_sql {
            println!("  {statement};");
        }
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_of_printer_columns() {
        let object = serde_json::json!({
            "spec": {"engine": "postgres", "connection": {"port": 5432}},
            "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True", "reason": "ReconcileSuccess"}]}
        });
        assert_eq!(json_path(&object, ".spec.engine"), Some("postgres".into()));
        assert_eq!(json_path(&object, ".spec.connection.port"), Some(5432.into()));
        assert_eq!(
            json_path(&object, ".status.conditions[?(@.type==\"Ready\")].status"),
            Some("True".into())
        );
        assert_eq!(
            json_path(&object, ".status.conditions[?(@.type==\"Ready\")].reason"),
            Some("ReconcileSuccess".into())
        );
        assert_eq!(json_path(&object, ".status.version"), None);
    }

    #[test]
    fn ages_in_the_past_and_the_future() {
        let at = |offset: chrono::Duration| (chrono::Utc::now() + offset).to_rfc3339();
        assert_eq!(
            age(&at(chrono::Duration::minutes(-5) - chrono::Duration::seconds(2))),
            "5m"
        );
        assert_eq!(
            age(&at(chrono::Duration::hours(-3) - chrono::Duration::seconds(2))),
            "3h"
        );
        assert_eq!(
            age(&at(chrono::Duration::days(2) + chrono::Duration::seconds(30))),
            "in 2d"
        );
        assert_eq!(
            age(&at(chrono::Duration::minutes(5) + chrono::Duration::seconds(30))),
            "in 5m"
        );
        assert_eq!(age("not a time"), "not a time");
    }
}
