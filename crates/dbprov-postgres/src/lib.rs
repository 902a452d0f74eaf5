//! dbprov's PostgreSQL engine (being written).
