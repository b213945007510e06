//! The hash-checked body of a download: the file's segments (whole, one range, or the parts of a
//! `multipart/byteranges` answer) read chunk by chunk on the blocking pool into a small channel
//! the response drains; for a whole-file answer the bytes go through a [`HashCheck`] and the last
//! chunk is sent only if the file hashed to its name. The module doc of [`super`] says why.

use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::preconditions::{ByteRange, content_range};
use super::{CHUNK, READ_AHEAD};
use crate::storage::{BlobReader, HashCheck};

/// A piece of the response body: literal bytes (multipart headers) or a range of the file.
#[derive(Debug)]
pub enum Segment {
    Literal(Bytes),
    File(ByteRange),
}

impl Segment {
    pub fn len(&self) -> u64 {
        match self {
            Segment::Literal(b) => b.len() as u64,
            Segment::File(r) => r.len(),
        }
    }
}

/// The segments of a `multipart/byteranges` body (RFC 9110 §14.6).
pub fn multipart(ranges: &[ByteRange], boundary: &str, content_type: &str, len: u64) -> Vec<Segment> {
    let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
    for (i, r) in ranges.iter().enumerate() {
        let head = format!(
            "{}--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: {}\r\n\r\n",
            if i == 0 { "" } else { "\r\n" },
            content_range(*r, len)
        );
        segments.push(Segment::Literal(Bytes::from(head)));
        segments.push(Segment::File(*r));
    }
    segments.push(Segment::Literal(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    segments
}

/// The response body: a task reads the segments chunk by chunk (each read on the blocking pool)
/// into a small channel the body drains. With `check`, the file is hashed as it goes and its last
/// chunk is sent only if the whole hashes to the expected digest.
pub fn stream(reader: BlobReader, segments: Vec<Segment>, check: Option<HashCheck>) -> Body {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let source = Source { reader, position: 0, check };
    tokio::spawn(feed(source, segments, tx).instrument(tracing::Span::current()));
    Body::from_stream(Chunks::new(rx))
}

/// The reading side of a download.
struct Source {
    reader: BlobReader,
    /// Where the reader is, to seek only when a range starts elsewhere.
    position: u64,
    /// For a whole-file response that is to be hashed.
    check: Option<HashCheck>,
}

impl Source {
    /// Reads `want` bytes at `at`; at the end of the file, checks the hash.
    fn read_at(&mut self, at: u64, want: usize) -> io::Result<Bytes> {
        if self.position != at {
            self.reader.seek(SeekFrom::Start(at))?;
            self.position = at;
        }
        let buf = self.reader.read_chunk(want)?;
        if buf.len() < want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stored file ended at byte {}", at + buf.len() as u64),
            ));
        }
        self.position += want as u64;
        if let Some(check) = &mut self.check {
            check.update(&buf);
            if self.position == self.reader.len() {
                self.finish_check()?;
            }
        }
        Ok(Bytes::from(buf))
    }

    fn finish_check(&mut self) -> io::Result<()> {
        match self.check.take() {
            Some(check) => check.finish(self.reader.version()),
            None => Ok(()),
        }
    }
}

/// Sends the segments into `tx` until done, the client leaves (the channel closes) or reading
/// fails (the error is sent, which cuts the response, and logged).
async fn feed(mut source: Source, segments: Vec<Segment>, tx: mpsc::Sender<io::Result<Bytes>>) {
    for segment in segments {
        let range = match segment {
            Segment::Literal(bytes) => {
                if tx.send(Ok(bytes)).await.is_err() {
                    return;
                }
                continue;
            }
            Segment::File(range) => range,
        };
        let mut at = range.start;
        while at <= range.end {
            let want = usize::try_from((range.end - at + 1).min(CHUNK as u64)).unwrap_or(CHUNK);
            let read = tokio::task::spawn_blocking(move || {
                let chunk = source.read_at(at, want);
                (source, chunk)
            })
            .await;
            let (back, chunk) = match read {
                Ok(done) => done,
                Err(e) => {
                    let e = io::Error::other(format!("reading the archive was interrupted: {e}"));
                    tracing::error!(error = %e, "an archived file could not be served whole");
                    // The client may already be gone; there is nothing else to tell.
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            source = back;
            let failed = chunk.is_err();
            if let Err(e) = &chunk {
                tracing::error!(error = %e, "an archived file could not be served whole");
            }
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
            at += want as u64;
        }
    }
}

/// The receiving end of the channel, as the `Stream` a streamed body is made from.
pub struct Chunks(mpsc::Receiver<io::Result<Bytes>>);

impl Chunks {
    pub fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        Chunks(rx)
    }
}

impl futures_core::Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
