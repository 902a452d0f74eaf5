//! The bridge from the synchronous codec thread to the async stages: a `std::io::Write` that cuts what it is
//! given into fixed-size chunks and sends them on a bounded channel, blocking while the channel is full.
//! That blocking is the pipeline's back-pressure.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

/// The receiving stage is gone (it failed or was cancelled); its own error explains why.
#[derive(Debug, thiserror::Error)]
#[error("the next pipeline stage stopped")]
pub struct StageClosed;

pub fn is_stage_closed(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<StageClosed>().is_some())
}

pub struct ChannelWriter {
    sender: mpsc::Sender<Bytes>,
    buffer: BytesMut,
    chunk_size: usize,
}

impl ChannelWriter {
    pub fn new(sender: mpsc::Sender<Bytes>, chunk_size: usize) -> Self {
        Self {
            sender,
            buffer: BytesMut::with_capacity(chunk_size),
            chunk_size,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, BytesMut::with_capacity(self.chunk_size)).freeze();
        self.sender
            .blocking_send(chunk)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, StageClosed))
    }

    /// Sends what is left.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let take = data.len().min(self.chunk_size - self.buffer.len());
        self.buffer.extend_from_slice(&data[..take]);
        if self.buffer.len() == self.chunk_size {
            self.send()?;
        }
        Ok(take)
    }

    /// Does not send a short chunk: chunks stay full-sized until `finish`.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
