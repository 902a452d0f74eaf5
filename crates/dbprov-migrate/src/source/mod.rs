//! Migration sources: a directory (golang-migrate's `file://`) or an in-memory list of files (the
//! `DatabaseMigration` kind's inline and ConfigMap sources), both read with golang-migrate's rules.
//!
//! * Only file names matching [`parse_file_name`] count; everything else (READMEs, subdirectories, names whose
//!   version overflows a u64) is ignored, as golang-migrate ignores it.
//! * Two files with the same version and direction are an error naming both files.
//! * A version may have only an up or only a down file.
//! * Versions are ordered numerically; [`Source::next`] and [`Source::prev`] navigate between them.
//!
//! Every file is read when the source is loaded, so checksums describe exactly the bytes that run.

mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use parse::{Direction, NameMismatch, ParsedName, parse_file_name};

/// The highest version a migrations table can hold: the column is a signed 64-bit integer.
pub const MAX_VERSION: u64 = i64::MAX as u64;

/// One migration file.
#[derive(Clone, PartialEq, Eq)]
pub struct MigrationFile {
    version: u64,
    identifier: String,
    direction: Direction,
    file_name: String,
    body: Vec<u8>,
    checksum: String,
}

impl MigrationFile {
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The part of the name between `{version}_` and `.up.`/`.down.` (may be empty).
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The file's name (no directory).
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The file's bytes, exactly as they are sent to the database.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Lower-case hex SHA-256 of [`MigrationFile::body`].
    pub fn checksum(&self) -> &str {
        &self.checksum
    }
}

impl fmt::Debug for MigrationFile {
    // The body is left out: it can be large, and migrations sometimes carry credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrationFile")
            .field("version", &self.version)
            .field("direction", &self.direction)
            .field("file_name", &self.file_name)
            .field("bytes", &self.body.len())
            .field("checksum", &self.checksum)
            .finish()
    }
}

/// The up and down file of one version; at least one is present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct VersionFiles {
    up: Option<MigrationFile>,
    down: Option<MigrationFile>,
}

/// Why a source could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("failed to read migration directory {}", path.display())]
    ReadDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("failed to read migration file {}", path.display())]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// golang-migrate's `duplicate migration file: <name>`, naming the file that was already there too.
    #[error(
        "duplicate migration file: {second} (version {version} {direction} is already {first}) in {source_label}"
    )]
    Duplicate {
        source_label: String,
        version: u64,
        direction: Direction,
        first: String,
        second: String,
    },

    #[error(
        "migration file {file_name} in {source_label} has version {version}, above the largest version a migrations table can hold ({MAX_VERSION})"
    )]
    VersionTooLarge {
        source_label: String,
        file_name: String,
        version: u64,
    },
}

impl SourceError {
    /// A stable identifier for metrics and condition reasons.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::ReadDirectory { .. } | SourceError::ReadFile { .. } => "SourceUnreadable",
            SourceError::Duplicate { .. } => "DuplicateMigration",
            SourceError::VersionTooLarge { .. } => "VersionTooLarge",
        }
    }
}

/// A loaded, validated set of migration files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    label: String,
    versions: BTreeMap<u64, VersionFiles>,
}

impl Source {
    /// Reads the top level of `path` (subdirectories are skipped, symbolic links to files are followed).
    pub fn from_directory(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let read_error = |source| SourceError::ReadDirectory {
            path: path.to_owned(),
            source,
        };
        let mut candidates = Vec::new();
        for entry in std::fs::read_dir(path).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name();
            // Go matches names as bytes; a name that is not UTF-8 is matched with its invalid bytes replaced.
            let name = name.to_string_lossy().into_owned();
            if parse_file_name(&name).is_err() {
                continue;
            }
            let file_path = entry.path();
            let metadata = std::fs::metadata(&file_path).map_err(|source| SourceError::ReadFile {
                path: file_path.clone(),
                source,
            })?;
            if metadata.is_dir() {
                continue;
            }
            candidates.push((name, file_path));
        }
        // golang-migrate sees the entries sorted by name, which decides which file a duplicate error names.
        candidates.sort();
        let mut builder = Builder::new(path.display().to_string());
        for (name, file_path) in candidates {
            let body = std::fs::read(&file_path).map_err(|source| SourceError::ReadFile {
                path: file_path.clone(),
                source,
            })?;
            builder.add(name, body)?;
        }
        Ok(builder.finish())
    }

    /// Builds a source from `(file name, contents)` pairs, with the same rules as a directory: names that are
    /// not migrations are ignored and duplicates are an error. `label` names the source in messages
    /// (`configmap/app-migrations`).
    pub fn from_files(
        label: impl Into<String>,
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Result<Self, SourceError> {
        let mut files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .filter(|(name, _)| parse_file_name(name).is_ok())
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut builder = Builder::new(label.into());
        for (name, body) in files {
            builder.add(name, body)?;
        }
        Ok(builder.finish())
    }

    /// Where the files came from (a directory path or the label given to [`Source::from_files`]).
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// Every version that has an up or a down file, ascending.
    pub fn versions(&self) -> impl Iterator<Item = u64> + '_ {
        self.versions.keys().copied()
    }

    /// Every file, by version then direction (up before down).
    pub fn files(&self) -> impl Iterator<Item = &MigrationFile> + '_ {
        self.versions
            .values()
            .flat_map(|files| files.up.iter().chain(files.down.iter()))
    }

    /// Whether `version` has an up or a down file (golang-migrate's `versionExists`).
    pub fn contains(&self, version: u64) -> bool {
        self.versions.contains_key(&version)
    }

    /// The lowest version.
    pub fn first(&self) -> Option<u64> {
        self.versions.keys().next().copied()
    }

    /// The highest version.
    pub fn last(&self) -> Option<u64> {
        self.versions.keys().next_back().copied()
    }

    /// The version after `version`; `None` when `version` is the last one or not in the source.
    pub fn next(&self, version: u64) -> Option<u64> {
        if !self.contains(version) {
            return None;
        }
        self.versions
            .range(version.checked_add(1)?..)
            .next()
            .map(|(v, _)| *v)
    }

    /// The version before `version`; `None` when `version` is the first one or not in the source.
    pub fn prev(&self, version: u64) -> Option<u64> {
        if !self.contains(version) {
            return None;
        }
        self.versions.range(..version).next_back().map(|(v, _)| *v)
    }

    /// The up file of `version`, when there is one.
    pub fn up(&self, version: u64) -> Option<&MigrationFile> {
        self.versions.get(&version)?.up.as_ref()
    }

    /// The down file of `version`, when there is one.
    pub fn down(&self, version: u64) -> Option<&MigrationFile> {
        self.versions.get(&version)?.down.as_ref()
    }

    /// The file of `version` in `direction`.
    pub fn file(&self, version: u64, direction: Direction) -> Option<&MigrationFile> {
        match direction {
            Direction::Up => self.up(version),
            Direction::Down => self.down(version),
        }
    }
}

struct Builder {
    label: String,
    versions: BTreeMap<u64, VersionFiles>,
}

impl Builder {
    fn new(label: String) -> Self {
        Self {
            label,
            versions: BTreeMap::new(),
        }
    }

    fn add(&mut self, file_name: String, body: Vec<u8>) -> Result<(), SourceError> {
        let Ok(parsed) = parse_file_name(&file_name) else {
            return Ok(());
        };
        if parsed.version > MAX_VERSION {
            return Err(SourceError::VersionTooLarge {
                source_label: self.label.clone(),
                file_name,
                version: parsed.version,
            });
        }
        let files = self.versions.entry(parsed.version).or_default();
        let slot = match parsed.direction {
            Direction::Up => &mut files.up,
            Direction::Down => &mut files.down,
        };
        if let Some(existing) = slot {
            return Err(SourceError::Duplicate {
                source_label: self.label.clone(),
                version: parsed.version,
                direction: parsed.direction,
                first: existing.file_name.clone(),
                second: file_name,
            });
        }
        let checksum = hex::encode(Sha256::digest(&body));
        *slot = Some(MigrationFile {
            version: parsed.version,
            identifier: parsed.identifier,
            direction: parsed.direction,
            file_name,
            body,
            checksum,
        });
        Ok(())
    }

    fn finish(self) -> Source {
        Source {
            label: self.label,
            versions: self.versions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(names: &[&str]) -> Result<Source, SourceError> {
        Source::from_files(
            "test",
            names
                .iter()
                .map(|name| (name.to_string(), format!("-- {name}").into_bytes())),
        )
    }

    #[test]
    fn versions_are_ordered_numerically_not_lexically() {
        let source = source(&["10_c.up.sql", "9_b.up.sql", "1_a.up.sql", "100_d.down.sql"]).unwrap();
        assert_eq!(source.versions().collect::<Vec<_>>(), vec![1, 9, 10, 100]);
        assert_eq!(source.first(), Some(1));
        assert_eq!(source.last(), Some(100));
        assert_eq!(source.next(1), Some(9));
        assert_eq!(source.next(9), Some(10));
        assert_eq!(source.next(100), None);
        assert_eq!(source.prev(10), Some(9));
        assert_eq!(source.prev(1), None);
    }

    #[test]
    fn navigation_from_an_unknown_version_finds_nothing() {
        let source = source(&["1_a.up.sql", "3_c.up.sql"]).unwrap();
        assert_eq!(source.next(2), None);
        assert_eq!(source.prev(2), None);
        assert!(!source.contains(2));
    }

    #[test]
    fn up_and_down_may_have_different_identifiers_or_be_missing() {
        let source = source(&[
            "1_a.up.sql",
            "1_b.down.sql",
            "2_only_up.up.sql",
            "3_only_down.down.sql",
        ])
        .unwrap();
        assert_eq!(source.up(1).unwrap().identifier(), "a");
        assert_eq!(source.down(1).unwrap().identifier(), "b");
        assert!(source.down(2).is_none());
        assert!(source.up(3).is_none());
        assert!(source.contains(3));
    }

    #[test]
    fn duplicate_version_and_direction_names_both_files() {
        let error = source(&["1_b.up.sql", "1_a.up.sql"]).unwrap_err();
        assert_eq!(error.kind(), "DuplicateMigration");
        let message = error.to_string();
        assert!(
            message.starts_with("duplicate migration file: 1_b.up.sql"),
            "{message}"
        );
        assert!(message.contains("1_a.up.sql"), "{message}");
    }

    #[test]
    fn the_extension_does_not_make_files_distinct() {
        let error = source(&["1_x.up.sql", "1_x.up.txt"]).unwrap_err();
        assert!(matches!(error, SourceError::Duplicate { .. }), "{error}");
    }

    #[test]
    fn leading_zeros_collide_with_the_same_version() {
        assert!(matches!(
            source(&["1_x.up.sql", "0001_y.up.sql"]).unwrap_err(),
            SourceError::Duplicate { version: 1, .. }
        ));
    }

    #[test]
    fn non_migrations_are_ignored() {
        let source = source(&[
            "README.md",
            "1.up.sql",
            "1_ok.up.sql",
            "99999999999999999999_x.up.sql",
        ])
        .unwrap();
        assert_eq!(source.versions().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn versions_beyond_bigint_are_rejected() {
        let error = source(&["9223372036854775808_x.up.sql"]).unwrap_err();
        assert_eq!(error.kind(), "VersionTooLarge");
        assert!(source(&["9223372036854775807_x.up.sql"]).is_ok());
    }

    #[test]
    fn checksums_are_sha256_of_the_bytes() {
        let source = Source::from_files("t", [("1_a.up.sql".to_string(), b"abc".to_vec())]).unwrap();
        assert_eq!(
            source.up(1).unwrap().checksum(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn directories_are_read_like_golang_migrate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1_init.up.sql"), "CREATE TABLE a (x int);").unwrap();
        std::fs::write(dir.path().join("1_init.down.sql"), "DROP TABLE a;").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        std::fs::create_dir(dir.path().join("2_dir.up.sql")).unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        std::fs::write(dir.path().join("nested/3_x.up.sql"), "").unwrap();
        let source = Source::from_directory(dir.path()).unwrap();
        assert_eq!(source.versions().collect::<Vec<_>>(), vec![1]);
        assert_eq!(source.up(1).unwrap().body(), b"CREATE TABLE a (x int);");
        assert_eq!(source.files().count(), 2);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let error = Source::from_directory("/nonexistent/dbprov/migrations").unwrap_err();
        assert!(matches!(error, SourceError::ReadDirectory { .. }), "{error}");
    }

    #[test]
    fn debug_leaves_out_bodies() {
        let source = Source::from_files("t", [("1_a.up.sql".to_string(), b"PASSWORD 'x'".to_vec())]).unwrap();
        assert!(!format!("{source:?}").contains("PASSWORD"));
    }
}
