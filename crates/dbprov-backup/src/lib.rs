//! dbprov-backup: streaming backups and restores with bounded memory.
//!
//! ```text
//! backup:  dump tool ─▶ compression (zstd multi-threaded | gzip | none) ─▶ AES-256-GCM chunks (optional)
//!          ─▶ storage (local directory, PVC, S3 multipart), SHA-256 on the fly ─▶ metadata file, last
//! restore: metadata ─▶ verification pass (size, SHA-256, authentication, decompression)
//!          ─▶ restore pass: storage ─▶ decrypt ─▶ decompress ─▶ restore tool
//! ```
//!
//! * [`tools`]: `pg_dump`/`pg_restore`/`psql`, `mariadb-dump`/`mysqldump` and the `mariadb`/`mysql` client,
//!   SQLite's `VACUUM INTO`; connections from a [`dbprov_core::ConnectionSpec`], secrets in private files;
//! * [`pipeline`]: the bounded, cancellable stream with compression and encryption;
//! * [`storage`]: where artifacts live, with all-or-nothing commits;
//! * [`artifact`]: names (`clients-20250106-120000.sql.gz`), metadata, listing and deletion;
//! * [`retention`]: which backups a policy keeps (pure);
//! * [`backup()`], [`verify()`], [`restore()`]: the operations the CLI and the operator's Jobs run, reporting
//!   [`Progress`] on a `watch` channel.

pub mod artifact;
pub mod backup;
pub mod key;
pub mod pipeline;
pub mod progress;
pub mod restore;
pub mod retention;
pub mod storage;
pub mod tools;
pub mod verify;

pub use backup::{BackupError, BackupReport, BackupRequest, backup};
pub use key::{EncryptionKey, KeyError, UnsupportedEncryption};
pub use pipeline::compression::UnsupportedCompression;
pub use pipeline::{Compression, CompressionAlgorithm};
pub use progress::{Phase, Progress};
pub use restore::{ACKNOWLEDGE_DATA_LOSS, RestoreError, RestoreMode, RestoreReport, RestoreRequest, restore};
pub use storage::{Storage, StorageConfig};
pub use tools::{DatabaseTarget, DumpOptions, RestoreOptions, ToolLocator};
pub use verify::{VerifyDepth, VerifyError, VerifyReport, verify};
