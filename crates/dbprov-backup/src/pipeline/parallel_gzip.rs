//! gzip on several cores: the input is cut into 1 MiB blocks, each compressed on its own thread into a
//! complete gzip member, and the members are written in order. RFC 1952 allows a file of several members
//! and `gunzip`, `zcat`, Python and flate2's `MultiGzDecoder` read them as one stream, so the output stays
//! restorable with `gunzip | mysql`. Each block starts with an empty dictionary, which costs well under 1 %
//! of size at 1 MiB blocks (deflate's window is 32 KiB).
//!
//! At most `workers` blocks are compressed at once; the writer blocks until the oldest is done, so memory
//! is bounded by about `workers × 2 × BLOCK_SIZE`.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::thread::JoinHandle;

/// Input per gzip member.
pub const BLOCK_SIZE: usize = 1 << 20;

pub struct ParallelGzipWriter<W: Write> {
    inner: W,
    level: flate2::Compression,
    workers: usize,
    block: Vec<u8>,
    in_flight: VecDeque<JoinHandle<io::Result<Vec<u8>>>>,
}

impl<W: Write> ParallelGzipWriter<W> {
    pub fn new(inner: W, level: u32, workers: usize) -> Self {
        Self {
            inner,
            level: flate2::Compression::new(level),
            workers: workers.max(1),
            block: Vec::with_capacity(BLOCK_SIZE),
            in_flight: VecDeque::new(),
        }
    }

    /// Writes the oldest compressed member.
    fn write_oldest(&mut self) -> io::Result<()> {
        if let Some(handle) = self.in_flight.pop_front() {
            let member = handle
                .join()
                .map_err(|_| io::Error::other("a gzip worker thread panicked"))??;
            self.inner.write_all(&member)?;
        }
        Ok(())
    }

    fn submit(&mut self) -> io::Result<()> {
        while self.in_flight.len() >= self.workers {
            self.write_oldest()?;
        }
        let block = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK_SIZE));
        let level = self.level;
        let handle = std::thread::Builder::new()
            .name("dbprov-gzip".into())
            .spawn(move || {
                let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(block.len() / 2), level);
                encoder.write_all(&block)?;
                encoder.finish()
            })?;
        self.in_flight.push_back(handle);
        Ok(())
    }

    /// Compresses the last block and writes every member; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        // An empty input still becomes one (empty) member, so the output is a valid gzip file.
        if !self.block.is_empty() || self.in_flight.is_empty() {
            self.submit()?;
        }
        while !self.in_flight.is_empty() {
            self.write_oldest()?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParallelGzipWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(BLOCK_SIZE - self.block.len());
        self.block.extend_from_slice(&data[..take]);
        if self.block.len() == BLOCK_SIZE {
            self.submit()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn compress(data: &[u8], workers: usize) -> Vec<u8> {
        let mut writer = ParallelGzipWriter::new(Vec::new(), 6, workers);
        for piece in data.chunks(100_000) {
            writer.write_all(piece).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn members_decode_in_order_as_one_stream() {
        let data: Vec<u8> = (0..3 * BLOCK_SIZE + 777)
            .map(|i| (i % 251) as u8 ^ (i / 4093) as u8)
            .collect();
        for workers in [1, 2, 4] {
            let compressed = compress(&data, workers);
            let mut decoded = Vec::new();
            flate2::read::MultiGzDecoder::new(&compressed[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert!(decoded == data, "workers {workers}");
        }
    }

    #[test]
    fn empty_input_is_a_valid_gzip_file() {
        let compressed = compress(b"", 2);
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert!(decoded.is_empty());
    }
}
