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

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub statement: Statement,
    /// PostgreSQL: the database the statement must run in (schemas, extensions, table grants live inside a
    /// database). `None` means the instance's maintenance connection.
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
            statement,
            database: None,
            transactional: true,
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

    /// The redacted statements, one per line.
    pub fn statements(&self) -> impl Iterator<Item = &str> {
        self.steps.iter().map(|step| step.statement.display())
    }
}

/// What applying a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// The redacted statements that ran, in order.
    pub executed: Vec<String>,
}
