//! Fuzzing dbprov's quoting (`dbprov_core::quote`) against independent readers of each dialect's quoted
//! tokens: whatever the input, a quoted identifier or literal must read back, under the server's lexical
//! rules, as exactly the input and end exactly where dbprov's text ends. See README.md.
//!
//! The readers are written from the servers' lexers, not from dbprov's code: [`postgres`] (double-quoted
//! identifiers, `'...'` under either `standard_conforming_strings`, `E'...'`), [`mysql`] (backticks, `'...'`
//! with and without `NO_BACKSLASH_ESCAPES`, grant-table database patterns) and [`sqlite`].

pub mod check;
pub mod mysql;
pub mod postgres;
pub mod scan;
pub mod sqlite;
pub mod statement;

pub use check::check;
