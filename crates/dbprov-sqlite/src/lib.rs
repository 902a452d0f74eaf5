//! dbprov's SQLite engine (being written).
