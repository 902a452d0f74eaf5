//! dbprov's SQLite engine.
//!
//! An instance is a directory; a database is the file `<name>.sqlite3` in it, in WAL mode. Dropping a
//! database removes the file and its `-wal`/`-shm` companions. SQLite has no users, roles or grants: the
//! engine says so with `EngineError::Unsupported`, and `CAPABILITIES` lets validation refuse such a
//! declaration before anything runs.

mod connect;
mod engine;
mod inspect;
mod plan;
mod sql;

pub use connect::{database_file, database_files};
pub use engine::{CAPABILITIES, SqliteEngine};
