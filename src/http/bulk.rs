//! A ZIP file streamed from the archive store: what `GET /api/v1/archive/bulk.zip` sends.
//!
//! Members are stored, not compressed (PDFs are compressed already), and written front to back
//! ([`zip`]). Every size is known before the first byte, so the response has an exact
//! `Content-Length` and every member's local header carries its CRC-32: no data descriptors, which
//! some streaming unzippers cannot read after a stored member.
//!
//! Integrity: a ZIP that cannot be opened is worse than one without a report, so every stored
//! file is read whole and checked against its name and recorded size before anything is sent
//! ([`check`], on the blocking pool); the caller leaves out a file found missing or damaged (and
//! reports it, so its entry is marked damaged and the Secretariat alarmed) and lists it in the
//! manifest. The check also computes each member's CRC-32, which its local header needs, so the
//! selection is read twice in all, as when each member was checked just before its header: the
//! cost is that the first byte waits for the whole selection to be read once.
//!
//! Memory stays bounded whatever the selection: the second pass streams each member ([`CHUNK`]
//! bytes at a time, on the blocking pool) through a small channel, checking its size and CRC-32
//! again. What the server holds per download is a chunk or two and one directory record per
//! member. A slow client holds no thread, only the task feeding the channel; when it goes away,
//! the channel closes and reading stops. A file that changed between the check and its turn cuts
//! the response (the client's ZIP is then visibly incomplete) and is logged.

mod zip;

use std::io::{self, Read};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use tokio::sync::mpsc;
use tracing::Instrument;

use self::zip::{Layout, Member};
use super::ApiError;
use super::download::{CHUNK, Chunks, content_disposition};
use crate::error::Error;
use crate::storage::{BlobReader, BlobStore, DamageHook, StorageError};

/// Chunks read ahead of the client.
const READ_AHEAD: usize = 2;

/// What a member holds.
#[derive(Debug, Clone)]
pub enum Content {
    /// Bytes made for this download (a manifest, a checksum list).
    Inline(Bytes),
    /// An archived file, by its SHA-256 (its name in the store) and its recorded size, with the
    /// CRC-32 [`check`] found.
    Stored { sha256: String, bytes: u64, crc32: u32 },
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
        Content::Stored { sha256, bytes, crc32 } => {
            let store = store.clone();
            let reader = blocking(move || {
                let reader = store.open(&sha256).map_err(io::Error::other)?;
                if reader.len() != bytes {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("the stored file {sha256} changed size after it was checked"),
                    ));
                }
                Ok(reader)
            })
            .await?;
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

/// Reads each stored file `(sha256, recorded size)` whole, before anything is sent: its CRC-32
/// when it has its recorded size and hashes to its name; `None` when it is missing or damaged,
/// which is told to `damage` (on the blocking pool) and which the caller leaves out. Failing to
/// read a file for another reason (an unreachable store) fails the download.
pub async fn check(
    store: Arc<dyn BlobStore>,
    files: Vec<(String, u64)>,
    damage: DamageHook,
) -> Result<Vec<Option<u32>>, ApiError> {
    let checked = tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(files.len());
        for (sha256, bytes) in files {
            match checked(store.as_ref(), &sha256, bytes)? {
                Ok(crc32) => out.push(Some(crc32)),
                Err(problem) => {
                    damage(&sha256, &problem);
                    out.push(None);
                }
            }
        }
        Ok::<_, StorageError>(out)
    })
    .in_current_span()
    .await;
    match checked {
        Ok(result) => Ok(result.map_err(Error::from)?),
        Err(e) => Err(ApiError::interrupted(&e)),
    }
}

/// Reads the stored file `sha256` whole ([`crate::storage::read_checked`]: its recorded size,
/// hashing to its name): its CRC-32, or what is wrong with it.
fn checked(store: &dyn BlobStore, sha256: &str, bytes: u64) -> Result<Result<u32, String>, StorageError> {
    let mut crc = crc32fast::Hasher::new();
    Ok(crate::storage::read_checked(store, sha256, bytes, |block| crc.update(block))?.map(|()| crc.finalize()))
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
        Content::Stored { sha256: put.sha256, bytes: put.bytes, crc32: crc32fast::hash(bytes) }
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
    async fn the_check_finds_changed_and_missing_files_and_a_later_change_cuts_before_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let good = stored(&store, b"%PDF good");
        let Content::Stored { sha256, bytes, crc32 } = stored(&store, b"%PDF will change") else { unreachable!() };
        let Content::Stored { sha256: good_sha, .. } = good.clone() else { unreachable!() };
        let path = dir.path().join("objects").join(&sha256[0..2]).join(&sha256[2..4]).join(&sha256);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        std::fs::write(&path, b"%PDF has changes").unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(store);

        // Checked before the response: the changed and the missing file are found and reported.
        let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let noted = seen.clone();
        let hook: DamageHook = Arc::new(move |sha: &str, problem: &str| {
            noted.lock().unwrap().push(format!("{sha}: {problem}"));
        });
        let files = vec![(good_sha, 9), (sha256.clone(), bytes), ("0".repeat(64), 3)];
        let found = check(store.clone(), files, hook).await.unwrap();
        assert_eq!(found, [Some(crc32fast::hash(b"%PDF good")), None, None]);
        let seen = seen.lock().unwrap().clone();
        assert!(seen[0].starts_with(&sha256) && seen[0].contains("hashed it to"), "{seen:?}");
        assert!(seen[1].contains("missing"), "{seen:?}");

        // A file that changes after its check: its data is not sent, the response is cut.
        let parts = vec![
            Part { name: "pdf/good.pdf".into(), modified: at(), content: good.clone() },
            Part { name: "pdf/changed.pdf".into(), modified: at(), content: Content::Stored { sha256, bytes, crc32 } },
        ];
        let (frames, error) = frames(respond(store.clone(), parts, "bulk.zip").unwrap()).await;
        let sent = frames.concat();
        assert!(error.is_some_and(|e| e.contains("changed while it was being sent")));
        assert!(!sent.windows(16).any(|w| w == b"%PDF has changes"), "none of its bytes went out");
    }

    #[tokio::test]
    async fn a_selection_that_needs_zip64_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn BlobStore> = Arc::new(LocalStore::open(dir.path()).unwrap());
        let huge = |n: u32| Part {
            name: format!("pdf/{n}.pdf"),
            modified: at(),
            content: Content::Stored { sha256: "0".repeat(64), bytes: 3 << 30, crc32: 0 },
        };
        let refused = respond(store, vec![huge(1), huge(2)], "bulk.zip").unwrap_err();
        assert_eq!(refused.into_response().status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
