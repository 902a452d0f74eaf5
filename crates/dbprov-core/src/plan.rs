//! Plans: what an engine would run, in order, and why.

use std::fmt;

use serde::Serialize;

/// One SQL statement in two renderings: the text sent to the server and the text shown to people, in which
/// every secret reads `<redacted>`. Only [`crate::SqlBuilder`] creates statements.
#[derive(Clone, PartialEq, Eq)]
pub struct Statement {
    sql: String,
    display: String,
}

impl Statement {
    pub(crate) fn from_builder(sql: String, display: String) -> Self {
        Self { sql, display }
    }

    /// The SQL to execute. Engines pass it to the driver (marked with `sqlx::AssertSqlSafe`) and nowhere else.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The redacted rendering, safe for plans, logs, errors and events.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Whether the statement carries a secret (a password or a verifier).
    pub fn has_secret(&self) -> bool {
        self.sql != self.display
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Statement").field(&self.display).finish()
    }
}

impl Serialize for Statement {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.display)
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "value")]
pub enum StepAction {
    /// Run one SQL statement.
    Sql(Statement),
    /// Remove files (SQLite: a database file and its `-wal`/`-shm` companions). Missing files are fine.
    RemoveFiles(Vec<std::path::PathBuf>),
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub action: StepAction,
    /// The database the step runs in: PostgreSQL schemas, extensions and table grants live inside a
    /// database; a SQLite statement runs in one database file. `None` means the instance's maintenance
    /// connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Whether the statement may run inside a transaction with its neighbours. `CREATE DATABASE`, `DROP
    /// DATABASE` and every MySQL DDL statement cannot, and a plan says so.
    pub transactional: bool,
    /// What the step does, for people: "create database orders".
    pub summary: String,
}

impl Step {
    pub fn new(statement: Statement, summary: impl Into<String>) -> Self {
        Self {
            action: StepAction::Sql(statement),
            database: None,
            transactional: true,
            summary: summary.into(),
        }
    }

    pub fn remove_files(paths: Vec<std::path::PathBuf>, summary: impl Into<String>) -> Self {
        Self {
            action: StepAction::RemoveFiles(paths),
            database: None,
            transactional: false,
            summary: summary.into(),
        }
    }

    pub fn in_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    pub fn non_transactional(mut self) -> Self {
        self.transactional = false;
        self
    }

    /// The SQL statement, when the step is one.
    pub fn statement(&self) -> Option<&Statement> {
        match &self.action {
            StepAction::Sql(statement) => Some(statement),
            StepAction::RemoveFiles(_) => None,
        }
    }

    /// The redacted rendering for people: the SQL, or a description of the file action.
    pub fn display(&self) -> String {
        match &self.action {
            StepAction::Sql(statement) => statement.display().to_owned(),
            StepAction::RemoveFiles(paths) => format!(
                "-- remove {}",
                paths
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A difference between the declaration and the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// The object, e.g. `database orders` or `role app`.
    pub object: String,
    /// The field, e.g. `connectionLimit`.
    pub field: String,
    pub declared: String,
    pub actual: String,
    /// Whether correcting it destroys something (data, a privilege someone relies on, an object).
    pub destructive: bool,
    /// Whether dbprov can correct it at all; some attributes are fixed once an object exists
    /// (PostgreSQL's encoding and collation of a database, for instance).
    pub correctable: bool,
}

impl Drift {
    pub fn new(
        object: impl Into<String>,
        field: impl Into<String>,
        declared: impl fmt::Display,
        actual: impl fmt::Display,
    ) -> Self {
        Self {
            object: object.into(),
            field: field.into(),
            declared: declared.to_string(),
            actual: actual.to_string(),
            destructive: false,
            correctable: true,
        }
    }

    pub fn destructive(mut self) -> Self {
        self.destructive = true;
        self
    }

    pub fn not_correctable(mut self) -> Self {
        self.correctable = false;
        self
    }
}

/// An ordered list of steps plus the drift that produced them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub drift: Vec<Drift>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.drift.is_empty()
    }

    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    pub fn extend(&mut self, other: Plan) {
        self.steps.extend(other.steps);
        self.drift.extend(other.drift);
    }

    /// The redacted rendering of every step, in order.
    pub fn statements(&self) -> Vec<String> {
        self.steps.iter().map(Step::display).collect()
    }
}

/// Consecutive steps an engine runs together: one transaction when `transactional`, otherwise exactly one
/// step on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch<'a> {
    pub database: Option<&'a str>,
    pub transactional: bool,
    pub steps: &'a [Step],
}

impl Plan {
    /// Splits the steps into batches: runs of transactional steps for the same database share a batch;
    /// every non-transactional step is a batch of its own. Order is preserved.
    pub fn batches(&self) -> Vec<Batch<'_>> {
        let mut batches = Vec::new();
        let mut start = 0;
        while start < self.steps.len() {
            let first = &self.steps[start];
            let mut end = start + 1;
            if first.transactional {
                while end < self.steps.len()
                    && self.steps[end].transactional
                    && self.steps[end].database == first.database
                {
                    end += 1;
                }
            }
            batches.push(Batch {
                database: first.database.as_deref(),
                transactional: first.transactional,
                steps: &self.steps[start..end],
            });
            start = end;
        }
        batches
    }
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// The redacted statements that ran, in order.
    pub executed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quote::{Dialect, SqlBuilder};

    fn step(text: &'static str) -> Step {
        let mut builder = SqlBuilder::new(Dialect::Postgres);
        builder.push(text);
        Step::new(builder.build().unwrap(), text)
    }

    #[test]
    fn batches_group_transactional_runs_per_database() {
        let plan = Plan {
            steps: vec![
                step("CREATE DATABASE a").non_transactional(),
                step("CREATE SCHEMA s").in_database("a"),
                step("GRANT USAGE").in_database("a"),
                step("GRANT CONNECT"),
                step("DROP DATABASE b").non_transactional(),
                step("DROP DATABASE c").non_transactional(),
            ],
            drift: vec![],
        };
        let shape: Vec<(Option<&str>, bool, usize)> = plan
            .batches()
            .iter()
            .map(|batch| (batch.database, batch.transactional, batch.steps.len()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (None, false, 1),
                (Some("a"), true, 2),
                (None, true, 1),
                (None, false, 1),
                (None, false, 1)
            ]
        );
    }

    #[test]
    fn file_steps_describe_themselves() {
        let step = Step::remove_files(
            vec!["/d/x.sqlite3".into(), "/d/x.sqlite3-wal".into()],
            "drop database x",
        );
        assert_eq!(step.display(), "-- remove /d/x.sqlite3, /d/x.sqlite3-wal");
        assert!(step.statement().is_none());
    }
}
