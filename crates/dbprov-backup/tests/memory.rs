//! Memory stays bounded whatever the stream's size. Alone in its test binary so no other test's allocations
//! count towards this process's peak RSS.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use dbprov_backup::pipeline::{self, ChunkSink, DecodeSettings, EncodeSettings, ExpectedArtifact};
use dbprov_backup::progress::ProgressReporter;
use dbprov_backup::{Compression, EncryptionKey, Storage, StorageConfig};
use tokio::io::{AsyncRead, ReadBuf};

/// Deterministic text-like bytes (compressible about 3:1, like a dump), produced on demand: 4 KiB slices
/// of a 4 MiB table at pseudo-random offsets, so repeats lie further apart than any compressor's window and
/// the test binary (built without optimisations) spends its time in the pipeline, not in the generator.
struct Generator {
    remaining: u64,
    state: u64,
    slice: Vec<u8>,
    position: usize,
}

const SLICE: usize = 4096;

fn table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        const TEXT: &[u8] = b"INSERT INTO orders VALUES (42, 'customer', 1234.50, '2025-01-06');\n";
        let mut state = 0x853c_49e6_748f_ea9b_u64;
        (0..4 << 20)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let value = state % 16;
                if value < 11 {
                    TEXT[(state >> 8) as usize % TEXT.len()]
                } else {
                    b'0' + value as u8
                }
            })
            .collect()
    })
}

impl Generator {
    fn new(length: u64) -> Self {
        Self {
            remaining: length,
            state: 0x2545_f491_4f6c_dd1d,
            slice: Vec::new(),
            position: SLICE,
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        let mut written = 0;
        while written < out.len() {
            if self.position == SLICE {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                let table = table();
                let offset = (self.state as usize) % (table.len() - SLICE);
                self.slice = table[offset..offset + SLICE].to_vec();
                self.position = 0;
            }
            let take = (SLICE - self.position).min(out.len() - written);
            out[written..written + take].copy_from_slice(&self.slice[self.position..self.position + take]);
            self.position += take;
            written += take;
        }
    }
}

impl AsyncRead for Generator {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let take = (buf.remaining() as u64).min(self.remaining).min(64 * 1024) as usize;
        let mut chunk = vec![0u8; take];
        self.fill(&mut chunk);
        buf.put_slice(&chunk);
        self.remaining -= take as u64;
        Poll::Ready(Ok(()))
    }
}

/// Checks the restored stream against a second generator, byte for byte, without keeping it.
struct CheckingSink {
    expected: Generator,
    seen: u64,
}

impl ChunkSink for CheckingSink {
    async fn write_chunk(&mut self, chunk: Bytes) -> io::Result<()> {
        let mut expected = vec![0u8; chunk.len()];
        self.expected.fill(&mut expected);
        assert!(
            expected[..] == chunk[..],
            "restored bytes differ after {} bytes",
            self.seen
        );
        self.seen += chunk.len() as u64;
        Ok(())
    }
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{field} missing from /proc/self/status"))
}

async fn round_trip(storage: &Storage, length: u64, compression: Compression, key: Option<EncryptionKey>) {
    let silent = ProgressReporter::silent();
    let name = format!("stream-{length}-{}.bin", compression.algorithm().as_str());
    let mut writer = storage.create(&name).await.unwrap();
    let settings = EncodeSettings {
        compression,
        encryption: key.clone(),
    };
    let summary = pipeline::encode(Generator::new(length), &mut writer, &settings, &silent)
        .await
        .unwrap();
    writer.commit().await.unwrap();
    assert_eq!(summary.raw_bytes, length);

    let mut source = storage.open_artifact(&name).await.unwrap();
    let mut sink = CheckingSink {
        expected: Generator::new(length),
        seen: 0,
    };
    let decode = DecodeSettings {
        compression: compression.algorithm(),
        encryption: key,
        expected: Some(ExpectedArtifact {
            stored_bytes: summary.stored_bytes,
            sha256: summary.sha256.clone(),
        }),
    };
    let decoded = pipeline::decode(source.reader().await.unwrap(), &mut sink, &decode, &silent)
        .await
        .unwrap();
    assert_eq!((decoded.raw_bytes, sink.seen), (length, length));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_whatever_the_stream_size() {
    const MIB: u64 = 1 << 20;
    const BOUND: u64 = 64 * MIB;
    let directory = tempfile::tempdir().unwrap();
    let storage = Storage::open(&StorageConfig::Local {
        path: directory.path().to_path_buf(),
    })
    .unwrap();
    let key = EncryptionKey::generate().unwrap();

    // Writing 5 to clear_refs resets VmHWM (the peak) to the current RSS.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    let before = status_kib("VmRSS:") * 1024;

    // The long stream without encryption: this test binary is built without optimisations, and AES-GCM's
    // generic code is compiled at the caller's level (about 4 MB/s here; release builds run at GB/s).
    // Encryption holds one 64 KiB chunk whatever the stream's size; the shorter streams cover it.
    round_trip(&storage, 256 * MIB, Compression::zstd(), None).await;
    round_trip(&storage, 24 * MIB, Compression::zstd(), Some(key.clone())).await;
    round_trip(&storage, 24 * MIB, Compression::gzip(), Some(key)).await;
    round_trip(&storage, 24 * MIB, Compression::None, None).await;

    let peak = status_kib("VmHWM:") * 1024;
    let growth = peak.saturating_sub(before);
    eprintln!(
        "peak RSS growth while streaming 328 MiB: {:.1} MiB (before {:.1} MiB, peak {:.1} MiB)",
        growth as f64 / MIB as f64,
        before as f64 / MIB as f64,
        peak as f64 / MIB as f64
    );
    assert!(
        growth < BOUND,
        "peak RSS grew by {growth} bytes, more than {BOUND}"
    );
}
