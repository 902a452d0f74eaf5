//! dbprov-migrate: schema migrations that golang-migrate and dbprov can take turns running.
//!
//! * [`source`]: `{version}_{title}.up.{ext}` / `.down.{ext}` files from a directory or from memory, parsed
//!   with golang-migrate's rules, with a SHA-256 checksum per file.
//! * [`url`]: golang-migrate's database URLs (`postgres://`, `pgx://`, `mysql://user:pass@tcp(host)/db`,
//!   `sqlite3://path`, ...) as a typed [`url::MigrationTarget`] whose `Display` masks the password.
//! * [`driver`]: one driver per engine, writing the `schema_migrations` table and taking the advisory locks
//!   exactly as golang-migrate does.
//! * [`runner`]: [`Migrator`] with `up`, `down`, `goto`, `force` and `version` and golang-migrate's state
//!   transitions.
//! * [`create`]: `migrate create` (sequential or timestamped file pairs).
//! * [`checksum`]: detects applied files that changed since they ran.
//! * [`lock_key`]: golang-migrate's advisory lock identifiers.
//!
//! ```no_run
//! use dbprov_migrate::{MigrationTarget, Migrator, ProgressEvent, Source};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let target = MigrationTarget::parse("mysql://app:secret@tcp(db:3306)/client_db")?;
//! let source = Source::from_directory("examples/client-database/migrations")?;
//! let mut migrator = Migrator::connect(&target, source).await?.with_progress(|event: ProgressEvent<'_>| {
//!     if let ProgressEvent::Finished(step) = event {
//!         eprintln!("{step}"); // 1/u create_oauth2_clients (12.4ms)
//!     }
//! });
//! let report = migrator.up(None).await?;
//! if report.no_change {
//!     eprintln!("no change");
//! }
//! migrator.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Where dbprov deliberately differs from golang-migrate
//!
//! The tables, rows, locks and state transitions are golang-migrate's; these details are not:
//!
//! * PostgreSQL `SetVersion` empties the table with `DELETE` for every URL scheme, as golang-migrate's pgx
//!   driver does, instead of lib/pq's `TRUNCATE` (same result, no ACCESS EXCLUSIVE lock, several times
//!   faster).
//! * Waiting for the lock is bounded by the runner's lock timeout (default 15 s) everywhere; PostgreSQL gives
//!   up on the server side (`lock_timeout`), so the connection stays usable.
//! * A whitespace-only file is a no-op on MySQL too (golang-migrate sends it and MySQL answers "Query was
//!   empty").
//! * Failed migrations are reported with the file name and line instead of the whole file body, which can be
//!   large and may contain credentials.
//! * Only a missing table reads as "no version" on SQLite (golang-migrate reads any error that way), MySQL
//!   finds the migrations table by exact name (not `SHOW TABLES LIKE`), and the SQLite in-process lock waits
//!   up to the lock timeout instead of failing at once.
//! * Parameters dbprov cannot honour are errors instead of being ignored or passed on: `x-statement-timeout`,
//!   pgx's `x-lock-strategy=table`, go-sql-driver session variables (`?sql_mode=...`), repeated parameters.
//! * Versions above `i64::MAX` (which no migrations table can store) are refused when the source is loaded.
//! * Sessions match golang-migrate's drivers except that sqlx always sets MySQL's CLIENT_FOUND_ROWS, so
//!   `ROW_COUNT()` after an `UPDATE` inside a migration counts matched rather than changed rows.

pub mod checksum;
pub mod create;
pub mod driver;
pub mod lock_key;
pub mod runner;
pub mod source;
pub mod url;

pub use driver::{DatabaseVersion, DriverError, MigrationDriver, MigrationError};
pub use runner::{
    AppliedStep, DEFAULT_LOCK_TIMEOUT, FailedRun, Migrator, PlannedStep, Progress, ProgressEvent, RunError,
    RunReport, StopHandle,
};
pub use source::{Direction, MigrationFile, Source, SourceError};
pub use url::{MigrationTarget, UrlError};
