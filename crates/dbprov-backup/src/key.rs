//! Encryption keys: 32 bytes, given raw, as 64 hex digits or as base64, with an id recorded in the metadata.

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The encryption algorithm dbprov implements (chunked, see `pipeline::encryption`).
pub const ALGORITHM: &str = "aes-256-gcm";

/// An `encryption.algorithm` other than [`ALGORITHM`] (upstream also lists `aes-256-cbc`, which offers no
/// integrity protection and is not implemented).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("encryption algorithm {name:?} is not supported (use aes-256-gcm)")]
pub struct UnsupportedEncryption {
    pub name: String,
}

/// Checks an `encryption.algorithm` value.
pub fn check_algorithm(name: &str) -> Result<(), UnsupportedEncryption> {
    if name == ALGORITHM {
        Ok(())
    } else {
        Err(UnsupportedEncryption {
            name: name.to_owned(),
        })
    }
}

/// AES-256 keys are 32 bytes.
pub const KEY_LENGTH: usize = 32;

/// Why key material was rejected. Messages describe the shape of the input, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error(
        "the encryption key must be 32 bytes, given raw, as 64 hex digits or as base64 of 32 bytes; got {found}"
    )]
    InvalidKey { found: String },
    #[error("failed to generate a random key: the operating system's random source failed")]
    Random,
}

/// An AES-256-GCM key. `Debug` shows only the id and the fingerprint; the bytes are zeroed on drop.
#[derive(Clone)]
pub struct EncryptionKey {
    bytes: [u8; KEY_LENGTH],
    id: String,
    fingerprint: String,
}

impl EncryptionKey {
    /// Reads key material as it is usually stored in a Secret: exactly 32 raw bytes, or text (surrounding
    /// whitespace ignored) holding 64 hex digits or the standard/URL-safe base64 of 32 bytes. The id defaults
    /// to the fingerprint; callers usually set it to where the key lives (`secret/backup-key#key`).
    pub fn from_material(material: &[u8]) -> Result<Self, KeyError> {
        if material.len() == KEY_LENGTH {
            let mut bytes = [0u8; KEY_LENGTH];
            bytes.copy_from_slice(material);
            return Ok(Self::from_raw(bytes));
        }
        let text = std::str::from_utf8(material)
            .map(str::trim)
            .map_err(|_| KeyError::InvalidKey {
                found: format!("{} bytes that are neither 32 raw bytes nor text", material.len()),
            })?;
        if text.len() == 2 * KEY_LENGTH && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let decoded = hex::decode(text).map_err(|_| KeyError::InvalidKey {
                found: "malformed hex".into(),
            })?;
            return Self::from_decoded(decoded);
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            if let Ok(decoded) = engine.decode(text) {
                return Self::from_decoded(decoded);
            }
        }
        Err(KeyError::InvalidKey {
            found: format!(
                "{} characters of text that are neither hex nor base64",
                text.len()
            ),
        })
    }

    /// A new random key (for `dbprov backup keygen` and tests).
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; KEY_LENGTH];
        getrandom::fill(&mut bytes).map_err(|_| KeyError::Random)?;
        Ok(Self::from_raw(bytes))
    }

    fn from_decoded(mut decoded: Vec<u8>) -> Result<Self, KeyError> {
        let result = if decoded.len() == KEY_LENGTH {
            let mut bytes = [0u8; KEY_LENGTH];
            bytes.copy_from_slice(&decoded);
            Ok(Self::from_raw(bytes))
        } else {
            Err(KeyError::InvalidKey {
                found: format!("text that decodes to {} bytes", decoded.len()),
            })
        };
        wipe(&mut decoded);
        result
    }

    fn from_raw(bytes: [u8; KEY_LENGTH]) -> Self {
        // A domain-separated hash: it identifies the key without being usable as one.
        let digest = Sha256::new()
            .chain_update(b"dbprov-backup key fingerprint\0")
            .chain_update(bytes)
            .finalize();
        let fingerprint = format!("sha256:{}", hex::encode(&digest[..8]));
        Self {
            bytes,
            id: fingerprint.clone(),
            fingerprint,
        }
    }

    /// Names the key in the metadata (for example the Secret it came from). Never put key material here.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// `sha256:<16 hex digits>`, derived from the key: restores compare it with the metadata before reading.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The key as hex, for storing a generated key. Call sites are the audit trail.
    pub fn expose_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LENGTH] {
        &self.bytes
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Drop for EncryptionKey {
    fn drop(&mut self) {
        wipe(&mut self.bytes);
    }
}

/// Overwrites key material so it does not linger in freed memory (best effort, like `Secret`).
fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, aligned, exclusive reference; the volatile write keeps the compiler from
        // removing a store to memory that is about to be freed.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

    #[test]
    fn raw_hex_and_base64_give_the_same_key() {
        let raw = EncryptionKey::from_material(&RAW).unwrap();
        let hex_text = format!("{}\n", hex::encode(RAW));
        let from_hex = EncryptionKey::from_material(hex_text.as_bytes()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(RAW);
        let from_base64 = EncryptionKey::from_material(b64.as_bytes()).unwrap();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(RAW);
        let from_url = EncryptionKey::from_material(url.as_bytes()).unwrap();
        for key in [&from_hex, &from_base64, &from_url] {
            assert_eq!(key.bytes(), raw.bytes());
            assert_eq!(key.fingerprint(), raw.fingerprint());
        }
    }

    #[test]
    fn wrong_lengths_are_refused_without_echoing_the_input() {
        for material in [&b"short"[..], &[0u8; 31][..], &[0xffu8; 33][..], b"aGVsbG8="] {
            let error = EncryptionKey::from_material(material).unwrap_err();
            let text = error.to_string();
            assert!(!text.contains("hello") && !text.contains("short"), "{text}");
        }
    }

    #[test]
    fn only_aes_256_gcm_is_accepted() {
        assert!(check_algorithm("aes-256-gcm").is_ok());
        assert!(check_algorithm("aes-256-cbc").is_err());
    }

    #[test]
    fn debug_hides_the_key_and_fingerprints_differ() {
        let key = EncryptionKey::from_material(&RAW)
            .unwrap()
            .with_id("secret/backup#key");
        let debug = format!("{key:?}");
        assert!(debug.contains("secret/backup#key"), "{debug}");
        assert!(!debug.contains("0123456789abcdef"), "{debug}");
        let other = EncryptionKey::generate().unwrap();
        assert_ne!(other.fingerprint(), key.fingerprint());
        assert!(key.fingerprint().starts_with("sha256:") && key.fingerprint().len() == 23);
    }
}
