//! The metadata file written next to each artifact, last, once the artifact is complete. Its presence is
//! what makes an artifact complete; restores check the artifact against it before touching a target.

use chrono::{DateTime, Utc};
use dbprov_core::EngineKind;
use serde::{Deserialize, Serialize};

use super::ArtifactFormat;
use crate::pipeline::CompressionAlgorithm;

/// The metadata format this dbprov writes and reads.
pub const METADATA_VERSION: u32 = 1;
/// The only encryption algorithm dbprov writes.
pub const AES_256_GCM: &str = crate::key::ALGORITHM;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactMetadata {
    /// Bumped on incompatible changes; a reader refuses versions it does not know.
    pub metadata_version: u32,
    /// The artifact's file or object name.
    pub artifact: String,
    /// `postgres`, `mysql`, `mariadb` or `sqlite`: the server that was dumped.
    #[serde(with = "engine_name")]
    pub engine: EngineKind,
    /// The instance label (`pg-main`, `host:port`, a SQLite directory).
    pub instance: String,
    pub database: String,
    pub format: ArtifactFormat,
    pub server_version: String,
    /// The program that produced the stream (`pg_dump`, `mariadb-dump`, `sqlite VACUUM INTO`).
    pub tool: String,
    pub tool_version: String,
    pub compression: CompressionInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionInfo>,
    /// Bytes the tool produced (the uncompressed dump).
    pub raw_size_bytes: u64,
    /// Bytes of the artifact as stored.
    pub stored_size_bytes: u64,
    /// SHA-256 of the stored bytes, lower-case hex.
    pub sha256: String,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    pub dbprov_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompressionInfo {
    pub algorithm: CompressionAlgorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionInfo {
    /// `aes-256-gcm` (chunked; see `pipeline::encryption`).
    pub algorithm: String,
    /// Where the key lives, as the backup was told (a Secret name and key), or the fingerprint.
    pub key_id: String,
    /// `sha256:<16 hex>` derived from the key, checked before a restore reads anything.
    pub key_fingerprint: String,
    pub chunk_size: u32,
}

/// Metadata that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    #[error("the metadata is not valid JSON for an artifact")]
    Parse(#[source] serde_json::Error),
    #[error("the metadata has version {found}; this dbprov reads version {METADATA_VERSION}")]
    UnsupportedVersion { found: u32 },
    #[error("the metadata describes {described}, not {artifact}")]
    WrongArtifact { artifact: String, described: String },
    #[error("the metadata's encryption algorithm {algorithm:?} is not supported")]
    UnsupportedEncryption { algorithm: String },
}

impl ArtifactMetadata {
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("invariant: metadata always serializes");
        json.push(b'\n');
        json
    }

    /// Parses and checks the metadata of `artifact`.
    pub fn from_json(artifact: &str, json: &[u8]) -> Result<Self, MetadataError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Version {
            metadata_version: u32,
        }
        let version: Version = serde_json::from_slice(json).map_err(MetadataError::Parse)?;
        if version.metadata_version != METADATA_VERSION {
            return Err(MetadataError::UnsupportedVersion {
                found: version.metadata_version,
            });
        }
        let metadata: Self = serde_json::from_slice(json).map_err(MetadataError::Parse)?;
        if metadata.artifact != artifact {
            return Err(MetadataError::WrongArtifact {
                artifact: artifact.to_owned(),
                described: metadata.artifact,
            });
        }
        if let Some(encryption) = &metadata.encryption
            && encryption.algorithm != AES_256_GCM
        {
            return Err(MetadataError::UnsupportedEncryption {
                algorithm: encryption.algorithm.clone(),
            });
        }
        Ok(metadata)
    }
}

mod engine_name {
    use dbprov_core::EngineKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(engine: &EngineKind, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(engine.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<EngineKind, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ArtifactMetadata {
        ArtifactMetadata {
            metadata_version: METADATA_VERSION,
            artifact: "clients-20250106-120000.sql.gz".into(),
            engine: EngineKind::MariaDb,
            instance: "mysql-main".into(),
            database: "clients".into(),
            format: ArtifactFormat::MySqlSql,
            server_version: "10.11.19-MariaDB".into(),
            tool: "mariadb-dump".into(),
            tool_version: "mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB".into(),
            compression: CompressionInfo {
                algorithm: CompressionAlgorithm::Gzip,
                level: Some(6),
            },
            encryption: None,
            raw_size_bytes: 1000,
            stored_size_bytes: 200,
            sha256: "ab".repeat(32),
            started_at: "2025-01-06T12:00:00Z".parse().unwrap(),
            completed_at: "2025-01-06T12:00:05Z".parse().unwrap(),
            dbprov_version: "0.1.0".into(),
        }
    }

    #[test]
    fn round_trips_with_camel_case_fields() {
        let metadata = sample();
        let json = metadata.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        for field in [
            "\"rawSizeBytes\": 1000",
            "\"engine\": \"mariadb\"",
            "\"format\": \"mysql-sql\"",
            "\"algorithm\": \"gzip\"",
        ] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
        assert!(!text.contains("encryption"), "{text}");
        assert_eq!(
            ArtifactMetadata::from_json(&metadata.artifact, &json).unwrap(),
            metadata
        );
    }

    #[test]
    fn refuses_other_versions_artifacts_and_algorithms() {
        let metadata = sample();
        let mut value: serde_json::Value = serde_json::from_slice(&metadata.to_json()).unwrap();
        value["metadataVersion"] = 2.into();
        let error =
            ArtifactMetadata::from_json(&metadata.artifact, value.to_string().as_bytes()).unwrap_err();
        assert!(matches!(error, MetadataError::UnsupportedVersion { found: 2 }));
        let error = ArtifactMetadata::from_json("other.sql.gz", &metadata.to_json()).unwrap_err();
        assert!(matches!(error, MetadataError::WrongArtifact { .. }));
        let mut encrypted = sample();
        encrypted.encryption = Some(EncryptionInfo {
            algorithm: "aes-256-cbc".into(),
            key_id: "k".into(),
            key_fingerprint: "f".into(),
            chunk_size: 65536,
        });
        let error = ArtifactMetadata::from_json(&encrypted.artifact, &encrypted.to_json()).unwrap_err();
        assert!(matches!(error, MetadataError::UnsupportedEncryption { .. }));
        assert!(ArtifactMetadata::from_json("x", b"{not json").is_err());
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let metadata = sample();
        let mut value: serde_json::Value = serde_json::from_slice(&metadata.to_json()).unwrap();
        value["addedLater"] = "x".into();
        assert_eq!(
            ArtifactMetadata::from_json(&metadata.artifact, value.to_string().as_bytes()).unwrap(),
            metadata
        );
    }
}
