//! Compression settings and the `std::io::Write` compressors and decompressors of the pipeline.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::parallel_gzip::ParallelGzipWriter;

/// zstd's multi-threaded job size. zstd's default (4 × the window, 8 MiB at level 3) would hold about
/// 3 × 2 × 8 MiB in flight with two workers; 2 MiB jobs keep that under 16 MiB for a ratio loss below 1 %.
const ZSTD_JOB_SIZE: u32 = 2 << 20;
/// The largest zstd window a restore accepts (16 MiB; level 19 uses 8 MiB), so a hostile frame cannot make
/// the decoder allocate more.
const ZSTD_MAX_WINDOW_LOG: u32 = 24;

/// The compression algorithm of an artifact, as recorded in its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionAlgorithm {
    None,
    Gzip,
    Zstd,
}

impl CompressionAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            CompressionAlgorithm::None => "none",
            CompressionAlgorithm::Gzip => "gzip",
            CompressionAlgorithm::Zstd => "zstd",
        }
    }

    /// The file name extension the algorithm adds (`gz`, `zst`), if any.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            CompressionAlgorithm::None => None,
            CompressionAlgorithm::Gzip => Some("gz"),
            CompressionAlgorithm::Zstd => Some("zst"),
        }
    }
}

/// An algorithm name dbprov does not implement (upstream's `lz4`, or a typo).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("compression algorithm {name:?} is not supported (use gzip, zstd or none)")]
pub struct UnsupportedCompression {
    pub name: String,
}

impl std::str::FromStr for CompressionAlgorithm {
    type Err = UnsupportedCompression;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "none" => Ok(CompressionAlgorithm::None),
            "gzip" => Ok(CompressionAlgorithm::Gzip),
            "zstd" => Ok(CompressionAlgorithm::Zstd),
            other => Err(UnsupportedCompression {
                name: other.to_owned(),
            }),
        }
    }
}

/// How a backup is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    /// gzip (RFC 1952), readable by `gunzip`; level 1 (fast) to 9 (small), 6 by default as in `gzip`. With
    /// more than one worker, 1 MiB blocks are compressed in parallel into consecutive gzip members.
    Gzip {
        level: u32,
        workers: u32,
    },
    /// zstd, level 1 to 19 (3 by default), compressed by `workers` threads (0: on the pipeline's thread).
    Zstd {
        level: i32,
        workers: u32,
    },
}

/// A compression setting outside its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{algorithm} compression level {level} is out of range ({min} to {max})")]
pub struct InvalidCompressionLevel {
    pub algorithm: &'static str,
    pub level: i64,
    pub min: i64,
    pub max: i64,
}

impl Compression {
    pub const DEFAULT_GZIP_LEVEL: u32 = 6;
    pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

    /// gzip at level 6 as one gzip member on one thread: readable by every gzip implementation, and with
    /// the zlib-rs backend already about twice as fast as `gzip -6`. More workers are opt-in (see
    /// [`Compression::Gzip`]): some old decoders (.NET Framework's `GZipStream`) stop after the first member.
    pub fn gzip() -> Self {
        Compression::Gzip {
            level: Self::DEFAULT_GZIP_LEVEL,
            workers: 1,
        }
    }

    /// zstd at level 3 with one worker per CPU (at most 4: beyond that a single dump stream rarely keeps
    /// them busy, and every worker holds its own buffers).
    pub fn zstd() -> Self {
        Compression::Zstd {
            level: Self::DEFAULT_ZSTD_LEVEL,
            workers: default_workers(),
        }
    }

    /// The upstream API's `compression {enabled, algorithm, level}`: disabled means none; a missing level
    /// means the algorithm's default.
    pub fn from_settings(
        enabled: bool,
        algorithm: CompressionAlgorithm,
        level: Option<i64>,
    ) -> Result<Self, InvalidCompressionLevel> {
        if !enabled {
            return Ok(Compression::None);
        }
        let compression = match (algorithm, level) {
            (CompressionAlgorithm::None, _) => Compression::None,
            (CompressionAlgorithm::Gzip, None) => Self::gzip(),
            (CompressionAlgorithm::Zstd, None) => Self::zstd(),
            (CompressionAlgorithm::Gzip, Some(level)) => Compression::Gzip {
                level: u32::try_from(level).unwrap_or(u32::MAX),
                workers: 1,
            },
            (CompressionAlgorithm::Zstd, Some(level)) => Compression::Zstd {
                level: i32::try_from(level).unwrap_or(i32::MAX),
                workers: default_workers(),
            },
        };
        compression.validate().map(|()| compression)
    }

    pub fn algorithm(&self) -> CompressionAlgorithm {
        match self {
            Compression::None => CompressionAlgorithm::None,
            Compression::Gzip { .. } => CompressionAlgorithm::Gzip,
            Compression::Zstd { .. } => CompressionAlgorithm::Zstd,
        }
    }

    pub fn level(&self) -> Option<i64> {
        match self {
            Compression::None => None,
            Compression::Gzip { level, .. } => Some(i64::from(*level)),
            Compression::Zstd { level, .. } => Some(i64::from(*level)),
        }
    }

    pub fn validate(&self) -> Result<(), InvalidCompressionLevel> {
        let (algorithm, level, min, max) = match self {
            Compression::None => return Ok(()),
            Compression::Gzip { level, .. } => ("gzip", i64::from(*level), 1, 9),
            Compression::Zstd { level, .. } => ("zstd", i64::from(*level), 1, 19),
        };
        if (min..=max).contains(&level) {
            Ok(())
        } else {
            Err(InvalidCompressionLevel {
                algorithm,
                level,
                min,
                max,
            })
        }
    }
}

fn default_workers() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get().min(4) as u32)
        .unwrap_or(1)
}

/// Compresses everything written to it into the inner writer.
pub enum Compressor<W: Write> {
    None(W),
    Gzip(flate2::write::GzEncoder<W>),
    ParallelGzip(ParallelGzipWriter<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    pub fn new(inner: W, compression: &Compression) -> io::Result<Self> {
        Ok(match *compression {
            Compression::None => Compressor::None(inner),
            Compression::Gzip { level, workers } if workers > 1 => {
                Compressor::ParallelGzip(ParallelGzipWriter::new(inner, level, workers as usize))
            }
            Compression::Gzip { level, .. } => Compressor::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::new(level),
            )),
            Compression::Zstd { level, workers } => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, level)?;
                // The frame checksum lets `zstd -t` and every decoder check an unencrypted artifact on its own.
                encoder.include_checksum(true)?;
                if workers > 0 {
                    encoder.multithread(workers)?;
                    encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB_SIZE))?;
                }
                Compressor::Zstd(encoder)
            }
        })
    }

    /// Writes the compressed stream's trailer and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::None(inner) => Ok(inner),
            Compressor::Gzip(encoder) => encoder.finish(),
            Compressor::ParallelGzip(writer) => writer.finish(),
            Compressor::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::None(inner) => inner.write(data),
            Compressor::Gzip(encoder) => encoder.write(data),
            Compressor::ParallelGzip(writer) => writer.write(data),
            Compressor::Zstd(encoder) => encoder.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::None(inner) => inner.flush(),
            Compressor::Gzip(encoder) => encoder.flush(),
            Compressor::ParallelGzip(writer) => writer.flush(),
            Compressor::Zstd(encoder) => encoder.flush(),
        }
    }
}

/// Decompresses everything written to it into the inner writer. gzip input may hold several members, as
/// `gunzip` accepts.
pub enum Decompressor<W: Write> {
    None(W),
    Gzip(Box<flate2::write::MultiGzDecoder<W>>),
    Zstd(zstd::stream::write::Decoder<'static, W>),
}

impl<W: Write> Decompressor<W> {
    pub fn new(inner: W, algorithm: CompressionAlgorithm) -> io::Result<Self> {
        Ok(match algorithm {
            CompressionAlgorithm::None => Decompressor::None(inner),
            CompressionAlgorithm::Gzip => {
                Decompressor::Gzip(Box::new(flate2::write::MultiGzDecoder::new(inner)))
            }
            CompressionAlgorithm::Zstd => {
                let mut decoder = zstd::stream::write::Decoder::new(inner)?;
                decoder.window_log_max(ZSTD_MAX_WINDOW_LOG)?;
                Decompressor::Zstd(decoder)
            }
        })
    }

    /// Checks the compressed stream ended on a complete frame/member and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Decompressor::None(inner) => Ok(inner),
            Decompressor::Gzip(mut decoder) => {
                decoder.try_finish()?;
                decoder.finish()
            }
            Decompressor::Zstd(decoder) => decoder.finish(),
        }
    }
}

impl<W: Write> Write for Decompressor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Decompressor::None(inner) => inner.write(data),
            Decompressor::Gzip(decoder) => decoder.write(data),
            Decompressor::Zstd(decoder) => decoder.write(data),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Decompressor::None(inner) => inner.flush(),
            Decompressor::Gzip(decoder) => decoder.flush(),
            Decompressor::Zstd(decoder) => decoder.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| format!("INSERT INTO t VALUES ({i}, 'row {}');\n", i % 977).into_bytes())
            .collect()
    }

    fn compress(data: &[u8], compression: &Compression) -> Vec<u8> {
        let mut compressor = Compressor::new(Vec::new(), compression).unwrap();
        for piece in data.chunks(65_536) {
            compressor.write_all(piece).unwrap();
        }
        compressor.finish().unwrap()
    }

    fn decompress(data: &[u8], algorithm: CompressionAlgorithm) -> io::Result<Vec<u8>> {
        let mut decompressor = Decompressor::new(Vec::new(), algorithm)?;
        for piece in data.chunks(10_000) {
            decompressor.write_all(piece)?;
        }
        decompressor.finish()
    }

    #[test]
    fn every_algorithm_round_trips() {
        let data = sample();
        for compression in [
            Compression::None,
            Compression::gzip(),
            Compression::Gzip { level: 1, workers: 1 },
            Compression::Gzip { level: 6, workers: 3 },
            Compression::Zstd { level: 3, workers: 0 },
            Compression::Zstd { level: 3, workers: 2 },
        ] {
            let compressed = compress(&data, &compression);
            if compression != Compression::None {
                assert!(compressed.len() < data.len() / 4, "{compression:?}");
            }
            assert_eq!(
                decompress(&compressed, compression.algorithm()).unwrap(),
                data,
                "{compression:?}"
            );
        }
    }

    #[test]
    fn single_worker_gzip_is_one_plain_gzip_member() {
        let data = sample();
        let compressed = compress(&data, &Compression::Gzip { level: 6, workers: 1 });
        let mut decoded = Vec::new();
        io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut decoded).unwrap();
        assert_eq!(decoded, data);
    }

    #[test]
    fn concatenated_gzip_members_decode_like_gunzip() {
        let mut compressed = compress(b"first ", &Compression::gzip());
        compressed.extend(compress(b"second", &Compression::gzip()));
        assert_eq!(
            decompress(&compressed, CompressionAlgorithm::Gzip).unwrap(),
            b"first second"
        );
    }

    #[test]
    fn truncated_streams_are_errors() {
        let data = sample();
        for compression in [Compression::gzip(), Compression::Zstd { level: 3, workers: 0 }] {
            let compressed = compress(&data, &compression);
            let truncated = &compressed[..compressed.len() - 7];
            assert!(
                decompress(truncated, compression.algorithm()).is_err(),
                "{compression:?}"
            );
        }
    }

    #[test]
    fn unsupported_algorithms_are_refused_by_name() {
        assert_eq!("zstd".parse(), Ok(CompressionAlgorithm::Zstd));
        let error = "lz4".parse::<CompressionAlgorithm>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "compression algorithm \"lz4\" is not supported (use gzip, zstd or none)"
        );
    }

    #[test]
    fn levels_are_range_checked() {
        assert!(Compression::Gzip { level: 0, workers: 1 }.validate().is_err());
        assert!(
            Compression::Gzip {
                level: 10,
                workers: 1
            }
            .validate()
            .is_err()
        );
        assert!(
            Compression::Zstd {
                level: 20,
                workers: 1
            }
            .validate()
            .is_err()
        );
        assert_eq!(
            Compression::from_settings(true, CompressionAlgorithm::Gzip, None),
            Ok(Compression::gzip())
        );
        assert_eq!(
            Compression::from_settings(false, CompressionAlgorithm::Zstd, Some(99)),
            Ok(Compression::None)
        );
        let error = Compression::from_settings(true, CompressionAlgorithm::Gzip, Some(12)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "gzip compression level 12 is out of range (1 to 9)"
        );
    }
}
