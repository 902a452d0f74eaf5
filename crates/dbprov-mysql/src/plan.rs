//! Planning is pure: a declaration, the catalog read by `inspect` and the facts found at connect time go
//! in; a `Plan` comes out. Every MySQL DDL statement commits implicitly, so every step is
//! non-transactional and the plan says so.

pub mod database;
pub mod grant;
pub mod user;

use dbprov_core::quote::QuoteError;
use dbprov_core::{Capabilities, EngineError, Statement, Step};

use crate::flavor::ServerFacts;

/// What planning needs to know about the server.
#[derive(Debug, Clone, Copy)]
pub struct Planner<'a> {
    pub facts: &'a ServerFacts,
    pub capabilities: &'a Capabilities,
}

impl Planner<'_> {
    pub fn engine(&self) -> &'static str {
        self.facts.engine()
    }

    pub fn unsupported(&self, operation: impl Into<String>) -> EngineError {
        EngineError::unsupported(self.engine(), operation)
    }
}

/// A step that runs alone: MySQL commits every DDL statement implicitly.
pub fn step(
    statement: Result<Statement, QuoteError>,
    summary: impl Into<String>,
) -> Result<Step, EngineError> {
    Ok(Step::new(statement?, summary).non_transactional())
}
