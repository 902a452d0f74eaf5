//! dbprov's MySQL/MariaDB engine (being written).
