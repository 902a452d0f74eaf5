//! The streaming pipeline, in three stages joined by bounded channels:
//!
//! ```text
//! backup:  source ──read──▶ [raw chunks] ──codec thread: compress → encrypt──▶ [stored chunks] ──hash──▶ sink
//! restore: source ──read + hash──▶ [stored chunks] ──codec thread: decrypt → decompress──▶ [raw chunks] ──▶ sink
//! ```
//!
//! The codec runs on a blocking thread (compression and AES are CPU work that would stall the async runtime)
//! with plain `std::io::Write` adapters, so the same code serves both directions and is unit-tested without a
//! runtime. Memory is bounded whatever the stream's size: each channel holds at most [`STAGE_DEPTH`] chunks of
//! [`CHUNK_SIZE`], the encryption layer one 64 KiB chunk, and the compressor its own window (zstd: a few
//! 2 MiB jobs per worker). A slow sink blocks the codec thread, which stops reading the source, which makes
//! the dump tool wait on its pipe.
//!
//! Dropping the returned future cancels everything: the async stages are dropped, the codec thread sees its
//! channels close and exits.

pub mod compression;
pub mod encryption;

mod channel;
mod parallel_gzip;
mod sink;

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

pub use compression::{Compression, CompressionAlgorithm};
pub use encryption::EncryptionError;
pub use sink::{ChunkSink, DiscardSink, WriterSink};

use crate::key::EncryptionKey;
use crate::progress::ProgressReporter;
use channel::{ChannelWriter, is_stage_closed};
use compression::{Compressor, Decompressor};
use encryption::{DecryptWriter, EncryptWriter, encryption_error};

/// Size of the chunks passed between stages.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Chunks a channel holds before its producer waits.
pub const STAGE_DEPTH: usize = 4;

/// How the backup stream is encoded.
#[derive(Debug, Clone)]
pub struct EncodeSettings {
    pub compression: Compression,
    pub encryption: Option<EncryptionKey>,
}

/// How a stored artifact is decoded. `encryption` must be given exactly when the artifact is encrypted.
#[derive(Debug, Clone)]
pub struct DecodeSettings {
    pub compression: CompressionAlgorithm,
    pub encryption: Option<EncryptionKey>,
    /// Checked while reading: the stream fails as soon as it runs past the size, and at its end when the
    /// size or the SHA-256 differs.
    pub expected: Option<ExpectedArtifact>,
}

/// What the metadata says the stored artifact is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedArtifact {
    pub stored_bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// What went through the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes before compression and encryption.
    pub raw_bytes: u64,
    /// Bytes as stored.
    pub stored_bytes: u64,
    /// SHA-256 of the stored bytes, lower-case hex.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error("failed to read the {what}")]
    Read {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("failed to write the {what}")]
    Write {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("failed to compress the stream")]
    Compress(#[source] io::Error),
    #[error("failed to decompress the artifact: it is corrupt or truncated")]
    Decompress(#[source] io::Error),
    #[error("failed to encrypt or decrypt the stream")]
    Encryption(#[source] EncryptionError),
    #[error("the artifact is {actual} bytes long, but its metadata records {expected}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("the artifact's SHA-256 is {actual}, but its metadata records {expected}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("the pipeline's codec thread failed")]
    Thread(#[source] tokio::task::JoinError),
}

impl PipelineError {
    /// Whether the artifact itself is bad (corrupt, truncated, tampered, or the key is wrong), as opposed to
    /// a failing source, sink or thread.
    pub fn is_integrity_failure(&self) -> bool {
        matches!(
            self,
            PipelineError::Decompress(_)
                | PipelineError::Encryption(_)
                | PipelineError::SizeMismatch { .. }
                | PipelineError::ChecksumMismatch { .. }
        )
    }
}

/// Streams `source` through compression and optional encryption into `sink`.
pub async fn encode<R, S>(
    source: R,
    sink: &mut S,
    settings: &EncodeSettings,
    progress: &ProgressReporter,
) -> Result<StreamSummary, PipelineError>
where
    R: AsyncRead + Unpin + Send,
    S: ChunkSink,
{
    let (raw_sender, raw_receiver) = mpsc::channel::<Bytes>(STAGE_DEPTH);
    let (stored_sender, mut stored_receiver) = mpsc::channel::<Bytes>(STAGE_DEPTH);
    let raw_bytes = Arc::new(AtomicU64::new(0));
    let compression = settings.compression;
    let key = settings.encryption.clone();
    let codec =
        tokio::task::spawn_blocking(move || encode_thread(raw_receiver, stored_sender, compression, key));

    let read = read_stage(
        source,
        raw_sender,
        "dump stream",
        Hashing::Off,
        Arc::clone(&raw_bytes),
    );
    let write = async {
        let mut hasher = Sha256::new();
        let mut stored = 0u64;
        while let Some(chunk) = stored_receiver.recv().await {
            hasher.update(&chunk);
            stored += chunk.len() as u64;
            sink.write_chunk(chunk)
                .await
                .map_err(|source| PipelineError::Write {
                    what: "artifact",
                    source,
                })?;
            progress.update(raw_bytes.load(Ordering::Relaxed), stored);
        }
        Ok((stored, hex::encode(hasher.finalize())))
    };
    let codec = async { codec.await.map_err(PipelineError::Thread)? };
    let (_, (stored_bytes, sha256), ()) = tokio::try_join!(read, write, codec)?;
    Ok(StreamSummary {
        raw_bytes: raw_bytes.load(Ordering::Relaxed),
        stored_bytes,
        sha256,
    })
}

/// Streams a stored artifact through checksum verification, decryption and decompression into `sink`.
pub async fn decode<R, S>(
    source: R,
    sink: &mut S,
    settings: &DecodeSettings,
    progress: &ProgressReporter,
) -> Result<StreamSummary, PipelineError>
where
    R: AsyncRead + Unpin + Send,
    S: ChunkSink,
{
    let (stored_sender, stored_receiver) = mpsc::channel::<Bytes>(STAGE_DEPTH);
    let (raw_sender, mut raw_receiver) = mpsc::channel::<Bytes>(STAGE_DEPTH);
    let stored_bytes = Arc::new(AtomicU64::new(0));
    let algorithm = settings.compression;
    let key = settings.encryption.clone();
    let codec =
        tokio::task::spawn_blocking(move || decode_thread(stored_receiver, raw_sender, algorithm, key));

    let read = read_stage(
        source,
        stored_sender,
        "artifact",
        Hashing::On(settings.expected.as_ref()),
        Arc::clone(&stored_bytes),
    );
    let write = async {
        let mut raw = 0u64;
        while let Some(chunk) = raw_receiver.recv().await {
            raw += chunk.len() as u64;
            sink.write_chunk(chunk)
                .await
                .map_err(|source| PipelineError::Write {
                    what: "restore stream",
                    source,
                })?;
            progress.update(raw, stored_bytes.load(Ordering::Relaxed));
        }
        Ok(raw)
    };
    let codec = async { codec.await.map_err(PipelineError::Thread)? };
    let (sha256, raw_bytes, ()) = tokio::try_join!(read, write, codec)?;
    Ok(StreamSummary {
        raw_bytes,
        stored_bytes: stored_bytes.load(Ordering::Relaxed),
        sha256: sha256.unwrap_or_default(),
    })
}

/// Whether the read stage hashes what it reads (decoding hashes the stored bytes at the source; encoding
/// hashes them at the sink), and against what it checks the result.
enum Hashing<'a> {
    Off,
    On(Option<&'a ExpectedArtifact>),
}

/// Reads `source` into full chunks. With hashing on, also returns the SHA-256 of what it read, and fails
/// when the size or the SHA-256 differs from the expectation (the size as soon as it is exceeded).
async fn read_stage<R: AsyncRead + Unpin>(
    mut source: R,
    sender: mpsc::Sender<Bytes>,
    what: &'static str,
    hashing: Hashing<'_>,
    counter: Arc<AtomicU64>,
) -> Result<Option<String>, PipelineError> {
    let (mut hasher, expected) = match hashing {
        Hashing::Off => (None, None),
        Hashing::On(expected) => (Some(Sha256::new()), expected),
    };
    let mut total = 0u64;
    loop {
        let mut buffer = BytesMut::with_capacity(CHUNK_SIZE);
        let mut end = false;
        while buffer.len() < CHUNK_SIZE {
            let read = source
                .read_buf(&mut buffer)
                .await
                .map_err(|source| PipelineError::Read { what, source })?;
            if read == 0 {
                end = true;
                break;
            }
        }
        total += buffer.len() as u64;
        if let Some(expected) = expected
            && total > expected.stored_bytes
        {
            return Err(PipelineError::SizeMismatch {
                expected: expected.stored_bytes,
                actual: total,
            });
        }
        counter.store(total, Ordering::Relaxed);
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&buffer);
        }
        if !buffer.is_empty() && sender.send(buffer.freeze()).await.is_err() {
            // The codec thread stopped; its result says why.
            return Ok(None);
        }
        if end {
            break;
        }
    }
    let Some(hasher) = hasher else {
        return Ok(None);
    };
    let sha256 = hex::encode(hasher.finalize());
    if let Some(expected) = expected {
        if total != expected.stored_bytes {
            return Err(PipelineError::SizeMismatch {
                expected: expected.stored_bytes,
                actual: total,
            });
        }
        if !sha256.eq_ignore_ascii_case(&expected.sha256) {
            return Err(PipelineError::ChecksumMismatch {
                expected: expected.sha256.clone(),
                actual: sha256,
            });
        }
    }
    Ok(Some(sha256))
}

/// The encryption layer is optional; this keeps the writer chain one concrete type.
enum MaybeEncrypt<W: Write> {
    Plain(W),
    Encrypted(Box<EncryptWriter<W>>),
}

impl<W: Write> MaybeEncrypt<W> {
    fn finish(self) -> io::Result<W> {
        match self {
            MaybeEncrypt::Plain(inner) => Ok(inner),
            MaybeEncrypt::Encrypted(writer) => (*writer).finish(),
        }
    }
}

impl<W: Write> Write for MaybeEncrypt<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            MaybeEncrypt::Plain(inner) => inner.write(data),
            MaybeEncrypt::Encrypted(writer) => writer.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeEncrypt::Plain(inner) => inner.flush(),
            MaybeEncrypt::Encrypted(writer) => writer.flush(),
        }
    }
}

fn encode_thread(
    mut input: mpsc::Receiver<Bytes>,
    output: mpsc::Sender<Bytes>,
    compression: Compression,
    key: Option<EncryptionKey>,
) -> Result<(), PipelineError> {
    let classify = |error: io::Error| match encryption_error(&error) {
        Some(encryption) => PipelineError::Encryption(encryption.clone()),
        None => PipelineError::Compress(error),
    };
    let channel = ChannelWriter::new(output, CHUNK_SIZE);
    let layer = match &key {
        Some(key) => MaybeEncrypt::Encrypted(Box::new(
            EncryptWriter::new(channel, key).map_err(PipelineError::Encryption)?,
        )),
        None => MaybeEncrypt::Plain(channel),
    };
    let mut compressor = Compressor::new(layer, &compression).map_err(PipelineError::Compress)?;
    while let Some(chunk) = input.blocking_recv() {
        match compressor.write_all(&chunk) {
            Ok(()) => {}
            // The sink stage failed or was cancelled; its own error is the one reported.
            Err(error) if is_stage_closed(&error) => return Ok(()),
            Err(error) => return Err(classify(error)),
        }
    }
    let finished = compressor
        .finish()
        .and_then(MaybeEncrypt::finish)
        .and_then(ChannelWriter::finish);
    match finished {
        Ok(()) => Ok(()),
        Err(error) if is_stage_closed(&error) => Ok(()),
        Err(error) => Err(classify(error)),
    }
}

enum MaybeDecrypt<W: Write> {
    Plain(W),
    Encrypted(Box<DecryptWriter<W>>),
}

impl<W: Write> MaybeDecrypt<W> {
    fn finish(self) -> io::Result<W> {
        match self {
            MaybeDecrypt::Plain(inner) => Ok(inner),
            MaybeDecrypt::Encrypted(writer) => (*writer).finish(),
        }
    }
}

impl<W: Write> Write for MaybeDecrypt<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            MaybeDecrypt::Plain(inner) => inner.write(data),
            MaybeDecrypt::Encrypted(writer) => writer.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeDecrypt::Plain(inner) => inner.flush(),
            MaybeDecrypt::Encrypted(writer) => writer.flush(),
        }
    }
}

fn decode_thread(
    mut input: mpsc::Receiver<Bytes>,
    output: mpsc::Sender<Bytes>,
    algorithm: CompressionAlgorithm,
    key: Option<EncryptionKey>,
) -> Result<(), PipelineError> {
    let classify = |error: io::Error| match encryption_error(&error) {
        Some(encryption) => PipelineError::Encryption(encryption.clone()),
        None => PipelineError::Decompress(error),
    };
    let channel = ChannelWriter::new(output, CHUNK_SIZE);
    let decompressor = Decompressor::new(channel, algorithm).map_err(PipelineError::Decompress)?;
    let mut decoder = match &key {
        Some(key) => MaybeDecrypt::Encrypted(Box::new(DecryptWriter::new(decompressor, key))),
        None => MaybeDecrypt::Plain(decompressor),
    };
    while let Some(chunk) = input.blocking_recv() {
        match decoder.write_all(&chunk) {
            Ok(()) => {}
            Err(error) if is_stage_closed(&error) => return Ok(()),
            Err(error) => return Err(classify(error)),
        }
    }
    let finished = decoder
        .finish()
        .and_then(Decompressor::finish)
        .and_then(ChannelWriter::finish);
    match finished {
        Ok(()) => Ok(()),
        Err(error) if is_stage_closed(&error) => Ok(()),
        Err(error) => Err(classify(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects the output in memory.
    #[derive(Default)]
    struct VecSink(Vec<u8>);

    impl ChunkSink for VecSink {
        async fn write_chunk(&mut self, chunk: Bytes) -> io::Result<()> {
            self.0.extend_from_slice(&chunk);
            Ok(())
        }
    }

    struct FailingSink;

    impl ChunkSink for FailingSink {
        async fn write_chunk(&mut self, _chunk: Bytes) -> io::Result<()> {
            Err(io::Error::other("disk full"))
        }
    }

    fn sample(length: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_u32;
        (0..length)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                // Half text, half noise: compressible but not trivially.
                if i % 2 == 0 {
                    b"abcdefgh"[(i / 2) % 8]
                } else {
                    (state % 7) as u8
                }
            })
            .collect()
    }

    async fn round_trip(data: &[u8], compression: Compression, key: Option<EncryptionKey>) -> Vec<u8> {
        let mut stored = VecSink::default();
        let settings = EncodeSettings {
            compression,
            encryption: key.clone(),
        };
        let summary = encode(data, &mut stored, &settings, &ProgressReporter::silent())
            .await
            .unwrap();
        assert_eq!(summary.raw_bytes, data.len() as u64);
        assert_eq!(summary.stored_bytes, stored.0.len() as u64);
        assert_eq!(summary.sha256, hex::encode(Sha256::digest(&stored.0)));

        let mut restored = VecSink::default();
        let decode_settings = DecodeSettings {
            compression: compression.algorithm(),
            encryption: key,
            expected: Some(ExpectedArtifact {
                stored_bytes: summary.stored_bytes,
                sha256: summary.sha256.clone(),
            }),
        };
        let decoded = decode(
            &stored.0[..],
            &mut restored,
            &decode_settings,
            &ProgressReporter::silent(),
        )
        .await
        .unwrap();
        assert_eq!(decoded.raw_bytes, data.len() as u64);
        assert_eq!(decoded.sha256, summary.sha256);
        restored.0
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_combination_round_trips() {
        let data = sample(3 * CHUNK_SIZE + 12_345);
        for compression in [Compression::None, Compression::gzip(), Compression::zstd()] {
            for key in [None, Some(EncryptionKey::generate().unwrap())] {
                let encrypted = key.is_some();
                assert!(
                    round_trip(&data, compression, key).await == data,
                    "{compression:?}, encrypted: {encrypted}"
                );
            }
        }
        assert!(
            round_trip(b"", Compression::zstd(), Some(EncryptionKey::generate().unwrap()))
                .await
                .is_empty()
        );
    }

    async fn stored_artifact(data: &[u8], key: Option<EncryptionKey>) -> (Vec<u8>, StreamSummary) {
        let mut stored = VecSink::default();
        let settings = EncodeSettings {
            compression: Compression::gzip(),
            encryption: key,
        };
        let summary = encode(data, &mut stored, &settings, &ProgressReporter::silent())
            .await
            .unwrap();
        (stored.0, summary)
    }

    async fn decode_result(
        stored: &[u8],
        summary: &StreamSummary,
        key: Option<EncryptionKey>,
    ) -> Result<StreamSummary, PipelineError> {
        let settings = DecodeSettings {
            compression: CompressionAlgorithm::Gzip,
            encryption: key,
            expected: Some(ExpectedArtifact {
                stored_bytes: summary.stored_bytes,
                sha256: summary.sha256.clone(),
            }),
        };
        decode(stored, &mut DiscardSink, &settings, &ProgressReporter::silent()).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checksum_and_size_mismatches_are_reported() {
        let (stored, summary) = stored_artifact(&sample(100_000), None).await;
        let mut flipped = stored.clone();
        flipped[stored.len() / 2] ^= 0x40;
        let error = decode_result(&flipped, &summary, None).await.unwrap_err();
        assert!(
            matches!(
                error,
                PipelineError::ChecksumMismatch { .. } | PipelineError::Decompress(_)
            ),
            "{error:?}"
        );
        assert!(error.is_integrity_failure());
        let error = decode_result(&stored[..stored.len() - 1], &summary, None)
            .await
            .unwrap_err();
        assert!(error.is_integrity_failure(), "{error:?}");
        let mut longer = stored.clone();
        longer.push(0);
        let error = decode_result(&longer, &summary, None).await.unwrap_err();
        assert!(error.is_integrity_failure(), "{error:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_key_is_an_encryption_error() {
        let key = EncryptionKey::generate().unwrap();
        let (stored, summary) = stored_artifact(&sample(100_000), Some(key)).await;
        let wrong = EncryptionKey::generate().unwrap();
        let error = decode_result(&stored, &summary, Some(wrong)).await.unwrap_err();
        assert!(
            matches!(
                error,
                PipelineError::Encryption(EncryptionError::Authentication { chunk: 0 })
            ),
            "{error:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_sink_stops_the_pipeline_with_its_error() {
        let settings = EncodeSettings {
            compression: Compression::zstd(),
            encryption: None,
        };
        let data = sample(10 * CHUNK_SIZE);
        let error = encode(
            &data[..],
            &mut FailingSink,
            &settings,
            &ProgressReporter::silent(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, PipelineError::Write { what: "artifact", .. }),
            "{error:?}"
        );
    }
}
