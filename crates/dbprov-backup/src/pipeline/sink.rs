//! Where the pipeline's output goes: an artifact upload, a tool's stdin, a file, or nowhere (verification).

use std::future::Future;
use std::io;

use bytes::Bytes;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Receives the pipeline's output in order, one chunk at a time. Back-pressure is the future not completing.
pub trait ChunkSink: Send {
    fn write_chunk(&mut self, chunk: Bytes) -> impl Future<Output = io::Result<()>> + Send;
}

/// Any `AsyncWrite` (a tool's stdin, a file) as a sink.
#[derive(Debug)]
pub struct WriterSink<W>(pub W);

impl<W: AsyncWrite + Unpin + Send> ChunkSink for WriterSink<W> {
    async fn write_chunk(&mut self, chunk: Bytes) -> io::Result<()> {
        self.0.write_all(&chunk).await
    }
}

/// Drops everything (verification only needs the counters and checks on the way).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardSink;

impl ChunkSink for DiscardSink {
    async fn write_chunk(&mut self, _chunk: Bytes) -> io::Result<()> {
        Ok(())
    }
}
