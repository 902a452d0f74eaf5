//! Artifact names: `{prefix}-{YYYYMMDD-HHMMSS}.{extension}` in UTC, where the prefix is the database name
//! unless `storage.namePrefix` replaces it, and the extension says the format, compression and encryption
//! (`clients-20250106-120000.sql.gz`, `orders-20250106-120000.dump.zst.enc`).
//!
//! Prefixes are escaped so that any database name gives one safe path component that no storage rewrites:
//! bytes outside `[A-Za-z0-9_.-]` (and `=` itself, and a leading `.`) become `=XX` in hex, so `a/b` becomes
//! `a=2Fb`. Escaping is injective; very long prefixes are shortened and suffixed with a hash of the original
//! so names stay unique and below file-name limits.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use super::ArtifactFormat;
use crate::pipeline::CompressionAlgorithm;

/// Longest escaped prefix kept whole; longer ones are shortened (file names are limited to 255 bytes, and
/// the timestamp, extension, `.meta.json` and the temporary suffix need about 60).
const MAX_PREFIX: usize = 150;
const TIMESTAMP_FORMAT: &str = "%Y%m%d-%H%M%S";
const ENCRYPTED_EXTENSION: &str = "enc";
const METADATA_SUFFIX: &str = ".meta.json";

/// A prefix that cannot name artifacts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid artifact name prefix {prefix:?}: it must not be empty")]
pub struct InvalidPrefix {
    pub prefix: String,
}

/// Escapes a database name or `namePrefix` into a safe file-name prefix (see the module documentation).
pub fn escape_prefix(raw: &str) -> Result<String, InvalidPrefix> {
    if raw.is_empty() {
        return Err(InvalidPrefix {
            prefix: raw.to_owned(),
        });
    }
    let mut escaped = String::with_capacity(raw.len());
    for (index, byte) in raw.bytes().enumerate() {
        let plain =
            byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' || (byte == b'.' && index > 0);
        if plain {
            escaped.push(char::from(byte));
        } else {
            escaped.push_str(&format!("={byte:02X}"));
        }
    }
    if escaped.len() > MAX_PREFIX {
        let mut cut = MAX_PREFIX - 17;
        // Do not split an escape sequence.
        while escaped.as_bytes()[..cut].iter().rev().take(2).any(|&b| b == b'=') {
            cut -= 1;
        }
        let hash = hex::encode(&Sha256::digest(raw.as_bytes())[..8]);
        escaped = format!("{}={hash}", &escaped[..cut]);
    }
    Ok(escaped)
}

/// The extension for a format, compression and encryption: `dump`, `sql.gz`, `sqlite3.zst.enc`.
pub fn extension(format: ArtifactFormat, compression: CompressionAlgorithm, encrypted: bool) -> String {
    let mut extension = format.extension().to_owned();
    if let Some(compressed) = compression.extension() {
        extension.push('.');
        extension.push_str(compressed);
    }
    if encrypted {
        extension.push('.');
        extension.push_str(ENCRYPTED_EXTENSION);
    }
    extension
}

/// Every extension dbprov writes, longest first (so parsing matches `sql.gz.enc` before `enc` alone could).
fn known_extensions() -> Vec<String> {
    let mut all = Vec::new();
    for format in ArtifactFormat::ALL {
        for compression in [
            CompressionAlgorithm::None,
            CompressionAlgorithm::Gzip,
            CompressionAlgorithm::Zstd,
        ] {
            for encrypted in [false, true] {
                all.push(extension(format, compression, encrypted));
            }
        }
    }
    all.sort_by_key(|extension| std::cmp::Reverse(extension.len()));
    all.dedup();
    all
}

/// A parsed or generated artifact name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactName {
    prefix: String,
    timestamp: DateTime<Utc>,
    extension: String,
}

impl ArtifactName {
    /// The name for a backup of `prefix` (a database name or `namePrefix`, escaped here) started at
    /// `started_at` (UTC, truncated to the second).
    pub fn new(
        prefix: &str,
        started_at: DateTime<Utc>,
        format: ArtifactFormat,
        compression: CompressionAlgorithm,
        encrypted: bool,
    ) -> Result<Self, InvalidPrefix> {
        let timestamp = Utc
            .timestamp_opt(started_at.timestamp(), 0)
            .single()
            .expect("invariant: whole seconds of a valid timestamp are valid");
        Ok(Self {
            prefix: escape_prefix(prefix)?,
            timestamp,
            extension: extension(format, compression, encrypted),
        })
    }

    /// Recognises `{prefix}-{YYYYMMDD-HHMMSS}.{extension}` with an extension dbprov writes.
    pub fn parse(name: &str) -> Option<Self> {
        let extension = known_extensions()
            .into_iter()
            .find(|extension| name.len() > extension.len() + 1 && name.ends_with(&format!(".{extension}")))?;
        let stem = &name[..name.len() - extension.len() - 1];
        // "-YYYYMMDD-HHMMSS" is 16 bytes, and the prefix is not empty.
        if stem.len() < 18 || !stem.is_char_boundary(stem.len() - 16) {
            return None;
        }
        let (prefix, stamp) = stem.split_at(stem.len() - 16);
        let stamp = stamp.strip_prefix('-')?;
        if !stamp
            .bytes()
            .enumerate()
            .all(|(i, b)| if i == 8 { b == b'-' } else { b.is_ascii_digit() })
        {
            return None;
        }
        let timestamp = NaiveDateTime::parse_from_str(stamp, TIMESTAMP_FORMAT)
            .ok()?
            .and_utc();
        Some(Self {
            prefix: prefix.to_owned(),
            timestamp,
            extension,
        })
    }

    /// The escaped prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }

    pub fn extension(&self) -> &str {
        &self.extension
    }

    /// The metadata file written next to the artifact.
    pub fn metadata_name(&self) -> String {
        metadata_name(&self.to_string())
    }
}

impl fmt::Display for ArtifactName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}.{}",
            self.prefix,
            self.timestamp.format(TIMESTAMP_FORMAT),
            self.extension
        )
    }
}

/// `{artifact}.meta.json`.
pub fn metadata_name(artifact: &str) -> String {
    format!("{artifact}{METADATA_SUFFIX}")
}

/// The artifact a metadata file describes, when `name` is a metadata file name.
pub fn artifact_of_metadata(name: &str) -> Option<&str> {
    name.strip_suffix(METADATA_SUFFIX)
        .filter(|artifact| !artifact.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
    }

    #[test]
    fn reproduces_the_seeds_names() {
        let name = ArtifactName::new(
            "clients",
            at("2025-01-06 12:00:00"),
            ArtifactFormat::MySqlSql,
            CompressionAlgorithm::Gzip,
            false,
        )
        .unwrap();
        assert_eq!(name.to_string(), "clients-20250106-120000.sql.gz");
        assert_eq!(name.metadata_name(), "clients-20250106-120000.sql.gz.meta.json");
    }

    #[test]
    fn extensions_follow_format_compression_and_encryption() {
        use ArtifactFormat::*;
        use CompressionAlgorithm::*;
        assert_eq!(extension(PostgresCustom, None, false), "dump");
        assert_eq!(extension(PostgresPlain, Zstd, false), "sql.zst");
        assert_eq!(extension(SqliteDatabase, Gzip, true), "sqlite3.gz.enc");
        assert_eq!(extension(MySqlSql, None, true), "sql.enc");
    }

    #[test]
    fn names_round_trip_through_parse() {
        let started = at("2024-12-31 23:59:58") + chrono::Duration::milliseconds(900);
        for prefix in [
            "orders",
            "a-b.c",
            "x'; DROP TABLE t; --",
            "ünï/../etc",
            ".hidden",
            "a=b",
        ] {
            let name = ArtifactName::new(
                prefix,
                started,
                ArtifactFormat::PostgresCustom,
                CompressionAlgorithm::Zstd,
                true,
            )
            .unwrap();
            let text = name.to_string();
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-=".contains(&b)),
                "{text}"
            );
            assert!(!text.starts_with('.'), "{text}");
            let parsed = ArtifactName::parse(&text).unwrap();
            assert_eq!(parsed, name);
            assert_eq!(parsed.timestamp(), at("2024-12-31 23:59:58"));
        }
    }

    #[test]
    fn escaping_is_injective_and_bounded() {
        assert_eq!(escape_prefix("a/b").unwrap(), "a=2Fb");
        assert_ne!(escape_prefix("a/b").unwrap(), escape_prefix("a=2Fb").unwrap());
        assert_ne!(escape_prefix("a b").unwrap(), escape_prefix("a_b").unwrap());
        assert!(escape_prefix("").is_err());
        let long_a = "é".repeat(64);
        let long_b = format!("{}x", "é".repeat(63));
        let (a, b) = (escape_prefix(&long_a).unwrap(), escape_prefix(&long_b).unwrap());
        assert!(a.len() <= MAX_PREFIX, "{}", a.len());
        assert_ne!(a, b);
    }

    #[test]
    fn foreign_names_are_not_artifacts() {
        for name in [
            "notes.txt",
            "clients.sql.gz",
            "clients-2025010-120000.sql.gz",
            "-20250106-120000.sql.gz",
            "clients-20251306-120000.sql.gz",
            "clients-20250106-120000.sql.gz.meta.json",
            "clients-20250106-120000.sql.gz.1a2b3c4d5e6f.partial",
        ] {
            assert_eq!(ArtifactName::parse(name), None, "{name}");
        }
        assert_eq!(
            artifact_of_metadata("clients-20250106-120000.sql.gz.meta.json"),
            Some("clients-20250106-120000.sql.gz")
        );
        assert_eq!(artifact_of_metadata(".meta.json"), None);
    }
}
