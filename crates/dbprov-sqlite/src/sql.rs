//! SQL builders: pure functions from validated input to statements.

use dbprov_core::{Dialect, EngineError, SqlBuilder, Statement};

/// `PRAGMA journal_mode = WAL`: the mode every dbprov-managed SQLite database runs in (readers do not block the
/// writer, and the setting persists in the file).
pub fn enable_wal() -> Result<Statement, EngineError> {
    let mut builder = SqlBuilder::new(Dialect::Sqlite);
    builder.push("PRAGMA journal_mode = WAL");
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_pragma() {
        assert_eq!(enable_wal().unwrap().sql(), "PRAGMA journal_mode = WAL");
    }
}
