//! Chunked AES-256-GCM, as a pair of `std::io::Write` adapters.
//!
//! The format (all integers big-endian):
//!
//! ```text
//! header  = magic "DBPVAEAD" (8) | version 1 (1) | algorithm 1 = AES-256-GCM (1) | log2(chunk size) (1)
//!           | reserved 0 (1) | nonce prefix (8 random bytes)                                  = 20 bytes
//! chunk i = AES-256-GCM(key, nonce = prefix || i as u32, aad = header || final flag, plaintext_i) || tag (16)
//! ```
//!
//! Every chunk but the last holds exactly `chunk size` bytes of plaintext; the last one holds 0 to `chunk size`
//! bytes and is sealed with the final flag set to 1. So:
//! * a flipped bit anywhere fails that chunk's authentication (or the header's, which every chunk covers);
//! * reordered or dropped chunks fail because the counter is part of the nonce;
//! * truncation at a chunk boundary fails because the last chunk left was sealed as not final;
//! * appended data fails because the real final chunk is then opened as not final.
//!
//! The random prefix makes nonces unique per file under one key (2^32 files before a collision is likely),
//! and the 32-bit counter bounds one file to 2^32 chunks (256 TiB with 64 KiB chunks).

use std::io::{self, Write};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};

use crate::key::EncryptionKey;

pub const MAGIC: [u8; 8] = *b"DBPVAEAD";
pub const HEADER_LENGTH: usize = 20;
pub const TAG_LENGTH: usize = 16;
/// 64 KiB of plaintext per chunk: small enough to bound memory, large enough that tags cost 0.02 %.
pub const DEFAULT_CHUNK_LOG2: u8 = 16;
const VERSION: u8 = 1;
const ALGORITHM_AES_256_GCM: u8 = 1;
/// Chunk sizes a reader accepts (4 KiB to 16 MiB), so a hostile header cannot make it allocate much.
const CHUNK_LOG2_RANGE: std::ops::RangeInclusive<u8> = 12..=24;

/// What is wrong with an encrypted stream. Carried inside `io::Error` through the writer chain and recovered
/// by the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptionError {
    #[error("the artifact is not a dbprov encrypted stream (bad magic)")]
    NotEncrypted,
    #[error(
        "the encrypted stream uses version {version}, algorithm {algorithm} or chunk size 2^{chunk_log2}, which this dbprov does not read"
    )]
    UnsupportedHeader {
        version: u8,
        algorithm: u8,
        chunk_log2: u8,
    },
    #[error("chunk {chunk} failed authentication: wrong key, or the artifact was modified")]
    Authentication { chunk: u64 },
    #[error("the encrypted stream is truncated")]
    Truncated,
    #[error("the stream exceeds the 2^32 chunks one nonce prefix allows")]
    TooManyChunks,
    #[error("failed to generate a nonce prefix: the operating system's random source failed")]
    Random,
}

impl EncryptionError {
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

fn nonce(prefix: &[u8; 8], counter: u32) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(&counter.to_be_bytes());
    nonce
}

fn aad(header: &[u8; HEADER_LENGTH], last: bool) -> [u8; HEADER_LENGTH + 1] {
    let mut aad = [0u8; HEADER_LENGTH + 1];
    aad[..HEADER_LENGTH].copy_from_slice(header);
    aad[HEADER_LENGTH] = u8::from(last);
    aad
}

/// Encrypts everything written to it into `inner`. Call [`EncryptWriter::finish`] to seal the last chunk;
/// dropping it without `finish` leaves a stream every reader rejects as truncated.
pub struct EncryptWriter<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    header: [u8; HEADER_LENGTH],
    prefix: [u8; 8],
    counter: u32,
    chunk_size: usize,
    buffer: Vec<u8>,
    header_written: bool,
    exhausted: bool,
}

impl<W: Write> EncryptWriter<W> {
    pub fn new(inner: W, key: &EncryptionKey) -> Result<Self, EncryptionError> {
        Self::with_chunk_log2(inner, key, DEFAULT_CHUNK_LOG2)
    }

    pub fn with_chunk_log2(inner: W, key: &EncryptionKey, chunk_log2: u8) -> Result<Self, EncryptionError> {
        debug_assert!(CHUNK_LOG2_RANGE.contains(&chunk_log2));
        let mut prefix = [0u8; 8];
        getrandom::fill(&mut prefix).map_err(|_| EncryptionError::Random)?;
        let mut header = [0u8; HEADER_LENGTH];
        header[..8].copy_from_slice(&MAGIC);
        header[8] = VERSION;
        header[9] = ALGORITHM_AES_256_GCM;
        header[10] = chunk_log2;
        header[11] = 0;
        header[12..].copy_from_slice(&prefix);
        let chunk_size = 1usize << chunk_log2;
        Ok(Self {
            inner,
            cipher: Aes256Gcm::new(key.bytes().into()),
            header,
            prefix,
            counter: 0,
            chunk_size,
            buffer: Vec::with_capacity(chunk_size + TAG_LENGTH),
            header_written: false,
            exhausted: false,
        })
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.inner.write_all(&self.header)?;
            self.header_written = true;
        }
        Ok(())
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        if self.exhausted {
            return Err(EncryptionError::TooManyChunks.into_io());
        }
        self.write_header()?;
        let nonce = nonce(&self.prefix, self.counter);
        let tag = self
            .cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &aad(&self.header, last),
                &mut self.buffer,
            )
            .map_err(|_| EncryptionError::TooManyChunks.into_io())?;
        self.inner.write_all(&self.buffer)?;
        self.inner.write_all(&tag)?;
        self.buffer.clear();
        match self.counter.checked_add(1) {
            Some(next) => self.counter = next,
            None => self.exhausted = true,
        }
        Ok(())
    }

    /// Seals the last chunk (possibly empty) and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for EncryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        // A full buffer is sealed as "not final" only once more data arrives, so the last chunk is always
        // sealed by `finish` with the final flag.
        if self.buffer.len() == self.chunk_size {
            self.seal(false)?;
        }
        let take = data.len().min(self.chunk_size - self.buffer.len());
        self.buffer.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Decrypts and authenticates a stream written by [`EncryptWriter`], writing the plaintext into `inner`.
/// Nothing unauthenticated is ever passed on: a chunk is released only after its tag checked out.
pub struct DecryptWriter<W: Write> {
    inner: W,
    cipher: Aes256Gcm,
    header: Vec<u8>,
    parsed: Option<([u8; HEADER_LENGTH], [u8; 8], usize)>,
    counter: u32,
    buffer: Vec<u8>,
}

impl<W: Write> DecryptWriter<W> {
    pub fn new(inner: W, key: &EncryptionKey) -> Self {
        Self {
            inner,
            cipher: Aes256Gcm::new(key.bytes().into()),
            header: Vec::with_capacity(HEADER_LENGTH),
            parsed: None,
            counter: 0,
            buffer: Vec::new(),
        }
    }

    fn parse_header(&mut self) -> Result<(), EncryptionError> {
        let header: [u8; HEADER_LENGTH] = self
            .header
            .as_slice()
            .try_into()
            .map_err(|_| EncryptionError::Truncated)?;
        if header[..8] != MAGIC {
            return Err(EncryptionError::NotEncrypted);
        }
        let (version, algorithm, chunk_log2) = (header[8], header[9], header[10]);
        if version != VERSION || algorithm != ALGORITHM_AES_256_GCM || !CHUNK_LOG2_RANGE.contains(&chunk_log2)
        {
            return Err(EncryptionError::UnsupportedHeader {
                version,
                algorithm,
                chunk_log2,
            });
        }
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&header[12..]);
        let chunk_size = 1usize << chunk_log2;
        self.buffer = Vec::with_capacity(chunk_size + TAG_LENGTH);
        self.parsed = Some((header, prefix, chunk_size));
        Ok(())
    }

    fn open(&mut self, last: bool) -> io::Result<()> {
        let (header, prefix, _) = self.parsed.ok_or_else(|| EncryptionError::Truncated.into_io())?;
        if self.buffer.len() < TAG_LENGTH {
            return Err(EncryptionError::Truncated.into_io());
        }
        let split = self.buffer.len() - TAG_LENGTH;
        let tag = Tag::clone_from_slice(&self.buffer[split..]);
        self.buffer.truncate(split);
        let nonce = nonce(&prefix, self.counter);
        self.cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce),
                &aad(&header, last),
                &mut self.buffer,
                &tag,
            )
            .map_err(|_| {
                EncryptionError::Authentication {
                    chunk: u64::from(self.counter),
                }
                .into_io()
            })?;
        self.inner.write_all(&self.buffer)?;
        self.buffer.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| EncryptionError::TooManyChunks.into_io())?;
        Ok(())
    }

    /// Authenticates the last chunk (which must carry the final flag) and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.parsed.is_none() {
            return Err(if self.header.len() < HEADER_LENGTH {
                EncryptionError::Truncated.into_io()
            } else {
                EncryptionError::NotEncrypted.into_io()
            });
        }
        self.open(true)?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for DecryptWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let Some((_, _, chunk_size)) = self.parsed else {
            let take = data.len().min(HEADER_LENGTH - self.header.len());
            self.header.extend_from_slice(&data[..take]);
            if self.header.len() == HEADER_LENGTH {
                self.parse_header().map_err(EncryptionError::into_io)?;
            }
            return Ok(take);
        };
        let sealed_size = chunk_size + TAG_LENGTH;
        // A full sealed chunk followed by more data cannot be the last one.
        if self.buffer.len() == sealed_size {
            self.open(false)?;
        }
        let take = data.len().min(sealed_size - self.buffer.len());
        self.buffer.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The [`EncryptionError`] inside an `io::Error` produced by these writers, if any.
pub fn encryption_error(error: &io::Error) -> Option<&EncryptionError> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<EncryptionError>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> EncryptionKey {
        EncryptionKey::from_material(&[7u8; 32]).unwrap()
    }

    fn encrypt(plaintext: &[u8], chunk_log2: u8) -> Vec<u8> {
        let mut writer = EncryptWriter::with_chunk_log2(Vec::new(), &key(), chunk_log2).unwrap();
        // Uneven writes exercise the buffering.
        for piece in plaintext.chunks(1000) {
            writer.write_all(piece).unwrap();
        }
        writer.finish().unwrap()
    }

    fn decrypt(ciphertext: &[u8], key: &EncryptionKey) -> Result<Vec<u8>, EncryptionError> {
        let mut writer = DecryptWriter::new(Vec::new(), key);
        let result = ciphertext
            .chunks(777)
            .try_for_each(|piece| writer.write_all(piece))
            .and_then(|()| writer.finish());
        result.map_err(|error| encryption_error(&error).cloned().expect("an encryption error"))
    }

    fn sample(length: usize) -> Vec<u8> {
        (0..length).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_every_boundary() {
        let chunk = 1usize << 12;
        for length in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 5] {
            let plaintext = sample(length);
            let ciphertext = encrypt(&plaintext, 12);
            let chunks = length.div_ceil(chunk).max(1);
            assert_eq!(
                ciphertext.len(),
                HEADER_LENGTH + length + chunks * TAG_LENGTH,
                "length {length}"
            );
            assert_eq!(
                decrypt(&ciphertext, &key()).unwrap(),
                plaintext,
                "length {length}"
            );
        }
    }

    #[test]
    fn the_same_plaintext_encrypts_differently_each_time() {
        let plaintext = sample(5000);
        assert_ne!(encrypt(&plaintext, 12), encrypt(&plaintext, 12));
    }

    #[test]
    fn a_wrong_key_fails_the_first_chunk() {
        let ciphertext = encrypt(&sample(10_000), 12);
        let wrong = EncryptionKey::from_material(&[8u8; 32]).unwrap();
        assert_eq!(
            decrypt(&ciphertext, &wrong),
            Err(EncryptionError::Authentication { chunk: 0 })
        );
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let ciphertext = encrypt(&sample(9000), 12);
        for position in (0..ciphertext.len()).step_by(97).chain([ciphertext.len() - 1]) {
            let mut corrupted = ciphertext.clone();
            corrupted[position] ^= 0x01;
            assert!(
                decrypt(&corrupted, &key()).is_err(),
                "flip at {position} went unnoticed"
            );
        }
    }

    #[test]
    fn truncation_reordering_and_appending_are_detected() {
        let chunk = (1usize << 12) + TAG_LENGTH;
        let ciphertext = encrypt(&sample(3 * 4096 + 100), 12);
        // Truncated at a chunk boundary: the remaining last chunk was not sealed as final.
        let truncated = &ciphertext[..HEADER_LENGTH + 2 * chunk];
        assert_eq!(
            decrypt(truncated, &key()),
            Err(EncryptionError::Authentication { chunk: 1 })
        );
        // Truncated inside the header.
        assert_eq!(
            decrypt(&ciphertext[..10], &key()),
            Err(EncryptionError::Truncated)
        );
        // Chunks 0 and 1 swapped.
        let mut swapped = ciphertext[..HEADER_LENGTH].to_vec();
        swapped.extend_from_slice(&ciphertext[HEADER_LENGTH + chunk..HEADER_LENGTH + 2 * chunk]);
        swapped.extend_from_slice(&ciphertext[HEADER_LENGTH..HEADER_LENGTH + chunk]);
        swapped.extend_from_slice(&ciphertext[HEADER_LENGTH + 2 * chunk..]);
        assert_eq!(
            decrypt(&swapped, &key()),
            Err(EncryptionError::Authentication { chunk: 0 })
        );
        // Data appended after the final chunk.
        let mut appended = ciphertext.clone();
        appended.extend_from_slice(&[0u8; 40]);
        assert!(decrypt(&appended, &key()).is_err());
    }

    #[test]
    fn plain_data_is_not_mistaken_for_a_stream() {
        assert_eq!(
            decrypt(b"-- PostgreSQL database dump --------------", &key()),
            Err(EncryptionError::NotEncrypted)
        );
    }
}
