//! Files that hold secrets (generated signing keys, the generated bootstrap secret).

use std::io::Write as _;
use std::path::Path;

/// Creates `path` with mode 0600 — never replacing an existing file (`AlreadyExists` tells the caller another
/// instance got there first) — writes `bytes` and syncs them to disk.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
