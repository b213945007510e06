//! A ZIP file streamed from the archive store: what `GET /api/v1/archive/bulk.zip` sends.
//!
//! Members are stored, not compressed (PDFs are compressed already), and written front to back
//! ([`zip`]). Every size is known before the first byte, so the response has an exact
//! `Content-Length` and every member's local header carries its CRC-32: no data descriptors, which
//! some streaming unzippers cannot read after a stored member.
//!
//! Memory stays bounded whatever the selection: a stored member is read twice, a block
//! at a time on the blocking pool. The first pass computes its CRC-32 and SHA-256 and
//! checks them against its name and recorded size before its header is sent, so a damaged file
//! is never sent as if it were whole; the second pass streams it ([`CHUNK`] bytes at a time)
//! through a small channel,
//! checking the CRC-32 again. What the server holds per download is a chunk or two and one
//! directory record per member. A slow client holds no thread, only the task feeding the
//! channel; when it goes away, the channel closes and reading stops. A file found missing or
//! changed while streaming cuts the response (the client's ZIP is then visibly incomplete) and is
//! logged.

mod zip;

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tracing::Instrument;

use self::zip::{Layout, Member};
use super::ApiError;
use super::download::{CHUNK, Chunks, content_disposition};
use crate::error::Error;
use crate::storage::{BlobReader, BlobStore};

/// Chunks read ahead of the client.
const READ_AHEAD: usize = 2;

/// What a member holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// Bytes made for this download (a manifest, a checksum list).
    Inline(Bytes),
    /// An archived file, by its SHA-256 (its name in the store) and its recorded size.
    Stored { sha256: String, bytes: u64 },
}

/// A member of the ZIP file.
#[derive(Debug, Clone)]
pub struct Part {
    /// Its path in the ZIP: ASCII, `/`-separated.
    pub name: String,
    pub modified: NaiveDateTime,
    pub content: Content,
}

impl Part {
    fn len(&self) -> u64 {
        match &self.content {
            Content::Inline(bytes) => bytes.len() as u64,
            Content::Stored { bytes, .. } => *bytes,
        }
    }
}

/// The ZIP of `parts`, in order, saved as `file_name`; refused before anything is sent when it
/// would not fit a ZIP without ZIP64 records.
pub fn respond(store: Arc<dyn BlobStore>, parts: Vec<Part>, file_name: &str) -> Result<Response, ApiError> {
    let mut layout = Layout::default();
    let mut offsets = Vec::with_capacity(parts.len());
    for part in &parts {
        let offset = layout.add(&part.name, part.len()).ok_or_else(|| {
            Error::TooLarge(format!(
                "the selection does not fit one ZIP file (4 GiB and 65,535 files at most); narrow it (at `{}`)",
                part.name
            ))
        })?;
        offsets.push(offset);
    }
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    tokio::spawn(feed(store, parts, offsets, tx).instrument(tracing::Span::current()));
    let mut response = (StatusCode::OK, Body::from_stream(Chunks::new(rx))).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(layout.len()));
    h.insert(header::CONTENT_DISPOSITION, content_disposition(file_name)?);
    // The selection changes as reports are published; never answered from a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// Why writing stopped early.
enum Stop {
    /// The client went away: nothing to tell anyone.
    Gone,
    /// A stored file could not be sent whole: logged and sent as an error, which cuts the response.
    Failed(io::Error),
}

/// Writes the members, then the directory, into `tx`.
async fn feed(store: Arc<dyn BlobStore>, parts: Vec<Part>, offsets: Vec<u32>, tx: mpsc::Sender<io::Result<Bytes>>) {
    let mut members = Vec::with_capacity(parts.len());
    for (part, offset) in parts.into_iter().zip(offsets) {
        match member(&store, part, offset, &tx).await {
            Ok(member) => members.push(member),
            Err(Stop::Gone) => return,
            Err(Stop::Failed(e)) => {
                tracing::error!(error = %e, "a bulk download was cut");
                // The client may already be gone; there is nothing else to tell.
                let _ = tx.send(Err(e)).await;
                return;
            }
        }
    }
    let _ = tx.send(Ok(Bytes::from(zip::directory(&members)))).await;
}

async fn send(tx: &mpsc::Sender<io::Result<Bytes>>, bytes: Bytes) -> Result<(), Stop> {
    tx.send(Ok(bytes)).await.map_err(|_| Stop::Gone)
}

/// Writes one member: its local header, then its data.
async fn member(
    store: &Arc<dyn BlobStore>,
    part: Part,
    offset: u32,
    tx: &mpsc::Sender<io::Result<Bytes>>,
) -> Result<Member, Stop> {
    let size = u32::try_from(part.len()).map_err(|_| Stop::Failed(io::Error::other("a member above 4 GiB")))?;
    let mut member = Member { name: part.name, size, crc32: 0, modified: part.modified, offset };
    match part.content {
        Content::Inline(bytes) => {
            member.crc32 = crc32fast::hash(&bytes);
            send(tx, Bytes::from(zip::local_header(&member))).await?;
            send(tx, bytes).await?;
        }
        Content::Stored { sha256, bytes } => {
            let store = store.clone();
            let (reader, crc32) = blocking(move || checked(store.as_ref(), &sha256, bytes)).await?;
            member.crc32 = crc32;
            send(tx, Bytes::from(zip::local_header(&member))).await?;
            stream(reader, crc32, tx).await?;
        }
    }
    Ok(member)
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> io::Result<T> + Send + 'static) -> Result<T, Stop> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Stop::Failed),
        Err(e) => Err(Stop::Failed(io::Error::other(format!("reading the archive was interrupted: {e}")))),
    }
}

/// Opens the stored file `sha256` and reads it whole: its size must be `bytes` and its content
/// must hash to its name. Returns the reader (rewound) and the CRC-32.
fn checked(store: &dyn BlobStore, sha256: &str, bytes: u64) -> io::Result<(BlobReader, u32)> {
    let mut reader = store.open(sha256).map_err(io::Error::other)?;
    if reader.len() != bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the stored file {sha256} has {} bytes, the archive recorded {bytes}", reader.len()),
        ));
    }
    let (mut sha, mut crc) = (Sha256::new(), crc32fast::Hasher::new());
    crate::storage::read_blocks(&mut reader, |block| {
        sha.update(block);
        crc.update(block);
    })?;
    let actual = crate::storage::hex(&sha.finalize());
    if actual != sha256 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the stored file {sha256} now hashes to {actual}; it was not sent"),
        ));
    }
    reader.seek(SeekFrom::Start(0))?;
    Ok((reader, crc.finalize()))
}

/// Sends the rest of `reader` a chunk at a time; its bytes must have the CRC-32 `expected`.
async fn stream(reader: BlobReader, expected: u32, tx: &mpsc::Sender<io::Result<Bytes>>) -> Result<(), Stop> {
    let mut state = (reader, crc32fast::Hasher::new(), 0u64);
    while state.2 < state.0.len() {
        let (back, chunk) = blocking(move || {
            let (reader, crc, sent) = &mut state;
            let want = usize::try_from((reader.len() - *sent).min(CHUNK as u64)).unwrap_or(CHUNK);
            let mut buf = vec![0u8; want];
            reader.read_exact(&mut buf)?;
            crc.update(&buf);
            *sent += want as u64;
            Ok((state, buf))
        })
        .await?;
        state = back;
        if state.2 == state.0.len() && state.1.clone().finalize() != expected {
            return Err(Stop::Failed(io::Error::new(
                io::ErrorKind::InvalidData,
                "a stored file changed while it was being sent".to_owned(),
            )));
        }
        send(tx, Bytes::from(chunk)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use chrono::NaiveDate;
    use http_body_util::BodyExt;

    use super::*;
    use crate::storage::LocalStore;

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(9, 30, 0).unwrap()
    }

    /// The body's frames, and the error that cut it, if one did.
    async fn frames(response: Response) -> (Vec<Bytes>, Option<String>) {
        let mut body = response.into_body();
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => frames.extend(f.into_data().ok()),
                Err(e) => return (frames, Some(e.to_string())),
            }
        }
        (frames, None)
    }

    fn stored(store: &LocalStore, bytes: &[u8]) -> Content {
        let put = store.put(bytes).unwrap();
        Content::Stored { sha256: put.sha256, bytes: put.bytes }
    }

    #[tokio::test]
    async fn a_large_selection_streams_in_chunks_with_the_announced_length() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let big: Vec<u8> = (0..CHUNK * 5 + 7).map(|i| (i % 253) as u8).collect();
        let parts = vec![
            Part { name: "manifest.json".into(), modified: at(), content: Content::Inline(Bytes::from_static(b"{}")) },
            Part { name: "pdf/big.pdf".into(), modified: at(), content: stored(&store, &big) },
            Part { name: "pdf/small.pdf".into(), modified: at(), content: stored(&store, b"%PDF small") },
        ];
        let response = respond(Arc::new(store), parts, "bulk.zip").unwrap();
        let length: u64 = response.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        let (frames, error) = frames(response).await;
        assert_eq!(error, None);
        assert!(frames.iter().all(|f| f.len() <= CHUNK), "no frame above a chunk");
        let bytes: Vec<u8> = frames.concat();
        assert_eq!(bytes.len() as u64, length);
        let mut archive = ::zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut read = Vec::new();
        archive.by_name("pdf/big.pdf").unwrap().read_to_end(&mut read).unwrap();
        assert!(read == big, "the big member reads back whole");
    }

    #[tokio::test]
    async fn a_changed_or_missing_file_cuts_the_download_before_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let good = stored(&store, b"%PDF good");
        let Content::Stored { sha256, bytes } = stored(&store, b"%PDF will change") else { unreachable!() };
        let path = dir.path().join("objects").join(&sha256[0..2]).join(&sha256[2..4]).join(&sha256);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        std::fs::write(&path, b"%PDF has changes").unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(store);
        for (changed, problem) in [
            (Content::Stored { sha256: sha256.clone(), bytes }, "now hashes to"),
            (Content::Stored { sha256: "0".repeat(64), bytes: 3 }, ""),
        ] {
            let parts = vec![
                Part { name: "pdf/good.pdf".into(), modified: at(), content: good.clone() },
                Part { name: "pdf/changed.pdf".into(), modified: at(), content: changed },
            ];
            let (frames, error) = frames(respond(store.clone(), parts, "bulk.zip").unwrap()).await;
            let sent = frames.concat();
            assert!(error.is_some_and(|e| e.contains(problem)), "cut with {problem:?}");
            assert!(sent.ends_with(b"%PDF good"), "the good member went out whole, nothing of the other");
        }
    }

    #[tokio::test]
    async fn a_selection_that_needs_zip64_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(LocalStore::open(dir.path()).unwrap());
        let huge = |n: u32| Part {
            name: format!("pdf/{n}.pdf"),
            modified: at(),
            content: Content::Stored { sha256: "0".repeat(64), bytes: 3 << 30 },
        };
        let refused = respond(store, vec![huge(1), huge(2)], "bulk.zip").unwrap_err();
        assert_eq!(refused.into_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
