//! Serving an archived file over HTTP: conditional requests and byte ranges ([`preconditions`]),
//! and a body streamed from the archive store in chunks ([`body`]), so a download never holds the whole file in memory, or, for a file
//! already verified, sent by the kernel with `sendfile` ("Zero copy" below).
//!
//! What a request gets, in the order RFC 9110 §13.2.2 evaluates it:
//! - `If-None-Match` (`*`, or a list of entity tags, weak comparison) that matches the file's
//!   strong ETag `"<sha256>"` → 304 with the validators and no body; `If-Modified-Since` counts only
//!   without `If-None-Match`. An unparseable value is ignored.
//! - `Range` (GET only; HEAD and other methods ignore it): `bytes=a-b`, `a-` and `-n`, one or
//!   several. One satisfiable range → 206 with `Content-Range`; several → 206
//!   `multipart/byteranges`; none satisfiable → 416 with `Content-Range: bytes */<len>`. A malformed
//!   header, another unit, or an `If-Range` that is not this file's ETag (strong comparison) or
//!   Last-Modified date → the whole file (200), as the RFC allows. More than [`MAX_RANGES`] ranges
//!   or ranges that overlap are also answered with the whole file: that bounds the work one request
//!   can ask for (no re-reading the same bytes many times) and is always a correct answer.
//! - HEAD gets the same headers as GET, with the real `Content-Length`, and no body.
//!
//! Streaming: each chunk ([`CHUNK`] bytes) is read on the blocking pool and handed to the response
//! through a small channel, so a download holds at most a few chunks in memory, and a slow client
//! holds no thread while it is waiting (only the task that feeds the channel). When the client goes
//! away, the channel closes and reading stops. Chunks are large (256 KiB) because each read is a
//! hop to the blocking pool and back: at 64 KiB a profile showed the thread wake-ups costing more
//! than copying the bytes. Buffers are not zeroed before the read ([`crate::storage::BlobReader::read_chunk`]).
//!
//! Integrity, a trade-off: hashing the whole file before answering would mean reading it twice (or
//! holding it), so the file is not hashed up front. Before any header is sent, whatever the
//! request (whole file, ranges, HEAD, and on the zero-copy path), the entry must not be marked
//! damaged, the stored size must equal the recorded size, and the file's edge digest (SHA-256 of
//! its first and last 64 KiB, recorded at archiving: `storage::edges_sha256`) must match, which
//! checks a file of up to 128 KiB whole and, in a larger one, the ends where truncation and
//! overwrites show. A failure is the `archive_damaged` 500 and is reported through the
//! [`DamageHook`] (the entry is marked damaged and the Secretariat alarmed, once). Damage in the
//! middle of a larger file is found by hashing while streaming a whole-file response: the last
//! chunk is sent only if the bytes hash to the file's name, so a client never receives a complete
//! response with changed content (the connection is cut, and the hook called, so every later
//! request gets the 500 at once), and by the fixity job. A range of a file whose middle changed
//! since its last whole read can still be sent; a client can compare the ETag, which is the
//! SHA-256 of the whole file.
//!
//! Hashing costs more CPU than everything else a download does (about 1.3 ms for 2 MB with the
//! CPU's SHA instructions, several times the copying), so a match is remembered ([`VerifiedFiles`], kept by `storage`, the trust cache):
//! a local file that hashed to its name while served whole is trusted, without hashing, while its
//! [`crate::storage::FileVersion`] (device, inode, size, modification and status-change times) stays the same, for
//! at most [`crate::storage::TRUST_HASH_FOR`] after that hash. This is equivalent for every change made through
//! the file system (a write, a truncation, a `chmod` to allow one, a replaced file: each gives
//! another version, and the status-change time cannot be set back), and bounded for changes that
//! bypass it (disk damage, writes to the block device, which the page cache hides from a re-read
//! anyway until the page is evicted): the next whole-file response after [`crate::storage::TRUST_HASH_FOR`]
//! hashes again, and the weekly fixity job re-reads every file. A file that changed less than
//! [`crate::storage::SETTLED_AFTER`] before its hash started is not remembered, so a change within the same tick
//! of the file system's clock cannot keep a remembered version. Files without a version (S3) are
//! hashed on every whole-file response.
//!
//! Zero copy: a GET answered with the whole file (200) or one range (206), of a local file that is
//! trusted as above at the version just opened, on a connection served by [`super::serve`], is not
//! read at all. The file is mapped read-only on the blocking pool (in the same trip as opening it)
//! and the body is one frame that views the mapping, registered with the connection, which sends
//! it with `sendfile(2)` from the page cache ([`super::zerocopy`]'s module doc explains how and why
//! it is fail-safe). Trust is what makes this safe and cheap: the file hashed to its name (no
//! hashing is owed), and it was read whole moments ago, so it is almost surely in the page cache
//! and `sendfile`, which runs on the async threads, will not wait for the disk. Before each
//! `sendfile` the connection compares the file's [`crate::storage::FileVersion`] with the trusted one, so a file
//! changed meanwhile is cut before the rest of it is sent (bytes already queued in the kernel
//! still refer to the page cache, so a write racing with them can show; the streaming path has the
//! same window for trusted files, between its reads). Everything else keeps the streaming path:
//! the first whole-file download of a file (it hashes while streaming and makes the file
//! trusted), S3, multipart ranges, HEAD, 304 and 416, and requests that do not come through a
//! connection of [`super::serve`] (the router called in-process, as most tests do).

mod body;
mod preconditions;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use self::body::Chunks;
use self::body::{Segment, multipart, stream};
use self::preconditions::{ByteRange, Plan, content_range, http_date, plan};
use super::zerocopy::{MappedFile, Registry};
use super::{ApiError, blocking};
use crate::storage::{ArchivedFile, BlobReader, BlobStore, DamageHook, HashCheck, VerifiedFiles, open_checked};

/// How many bytes are read from the store at a time.
pub const CHUNK: usize = 256 * 1024;

/// The most ranges one request may ask for; more are answered with the whole file.
pub const MAX_RANGES: usize = 16;

/// Chunks read ahead of the client: the channel between the reader and the response.
const READ_AHEAD: usize = 1;

/// Answers `method` with `headers` for `file`, reading it from `store` only when a body (or, for
/// HEAD, the checks of its size and edges) is needed; `verified` says which files a whole-file
/// response need not hash again, and learns the ones it hashes; `damage` is told of a damaged file.
pub async fn serve(
    store: Arc<dyn BlobStore>,
    verified: &Arc<VerifiedFiles>,
    damage: &DamageHook,
    zero_copy: Option<Arc<Registry>>,
    method: &Method,
    headers: &HeaderMap,
    file: ArchivedFile,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", file.sha256);
    let modified = file.modified.and_utc();
    let mut validators = HeaderMap::new();
    validators.insert(header::ETAG, value(&etag)?);
    validators.insert(header::LAST_MODIFIED, value(&http_date(modified))?);
    validators.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if file.public { "public, max-age=86400, immutable" } else { "private, no-cache" }),
    );
    validators.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));

    let plan = plan(method, headers, &etag, modified, file.bytes);
    if let Plan::NotModified = plan {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().extend(validators);
        return Ok(response);
    }
    if let Plan::Unsatisfiable = plan {
        let message = format!("the Range header asks only for bytes beyond the file's {} bytes", file.bytes);
        let mut response =
            ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable", message).into_response();
        response.headers_mut().extend(validators);
        response.headers_mut().insert(header::CONTENT_RANGE, value(&format!("bytes */{}", file.bytes))?);
        return Ok(response);
    }

    let whole = ByteRange { start: 0, end: file.bytes.saturating_sub(1) };
    // The zero-copy path (module doc): a GET of the whole file or of one range, on a connection
    // that can send files.
    let fast = match (&plan, zero_copy) {
        (Plan::Whole, Some(sender)) if method == Method::GET && file.bytes > 0 => Some((sender, whole)),
        (Plan::Single(r), Some(sender)) if method == Method::GET => Some((sender, *r)),
        _ => None,
    }
    .map(|(sender, range)| ZeroCopyRequest { sender, range, verified: verified.clone() });
    let opened = open(store, &file, fast, damage).await?;
    let (status, content_type, segments, whole_file) = match plan {
        Plan::Single(r) => {
            validators.insert(header::CONTENT_RANGE, value(&content_range(r, file.bytes))?);
            (StatusCode::PARTIAL_CONTENT, value(file.content_type)?, vec![Segment::File(r)], false)
        }
        Plan::Multi(ranges) => {
            let boundary = format!("mmr-{:032x}", rand::random::<u128>());
            let segments = multipart(&ranges, &boundary, file.content_type, file.bytes);
            (
                StatusCode::PARTIAL_CONTENT,
                value(&format!("multipart/byteranges; boundary={boundary}"))?,
                segments,
                false,
            )
        }
        _ => {
            let segments = if file.bytes == 0 { Vec::new() } else { vec![Segment::File(whole)] };
            (StatusCode::OK, value(file.content_type)?, segments, true)
        }
    };
    let length: u64 = segments.iter().map(Segment::len).sum();
    let body = match opened {
        _ if method == Method::HEAD => Body::empty(),
        Opened::Mapped(frame) => Body::from(frame),
        Opened::Reader(reader) => {
            let check = (whole_file && !verified.trusted(&file.sha256, reader.version()))
                .then(|| HashCheck::new(file.sha256.clone(), verified.clone(), damage.clone()));
            stream(reader, segments, check)
        }
    };
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.extend(validators);
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::CONTENT_DISPOSITION, content_disposition(&file.file_name)?);
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// What a download may send without copying, if the file turns out to be trusted.
struct ZeroCopyRequest {
    /// The request's connection.
    sender: Arc<Registry>,
    /// The bytes to send.
    range: ByteRange,
    verified: Arc<VerifiedFiles>,
}

/// The stored file, opened.
enum Opened {
    /// To be read chunk by chunk.
    Reader(BlobReader),
    /// The whole body: a view of the mapped file, registered with the connection (the zero-copy
    /// path).
    Mapped(Bytes),
}

/// Opens the stored file on the blocking pool with the checks before any header is sent
/// ([`open_checked`]: present, the recorded size and edge digest; a failure is reported to
/// `damage` and answered with the `archive_damaged` 500). With `zero_copy`, a local file trusted
/// at the version just opened is mapped and its body frame made, in the same trip to the blocking
/// pool.
async fn open(
    store: Arc<dyn BlobStore>,
    file: &ArchivedFile,
    zero_copy: Option<ZeroCopyRequest>,
    damage: &DamageHook,
) -> Result<Opened, ApiError> {
    let (file, hook) = (file.clone(), damage.clone());
    blocking(move || {
        let reader = open_checked(store.as_ref(), &file, &hook)?;
        let Some(fast) = zero_copy else { return Ok(Opened::Reader(reader)) };
        if !fast.verified.trusted(&file.sha256, reader.version()) {
            return Ok(Opened::Reader(reader));
        }
        Ok(match MappedFile::map(reader, &file.sha256) {
            Ok(mapped) => Opened::Mapped(fast.sender.body(mapped, fast.range.start, fast.range.len())),
            Err(reader) => Opened::Reader(reader),
        })
    })
    .await
}

fn value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(|e| ApiError::interrupted(&e))
}

/// `attachment` with an ASCII `filename` (transliterated, `[a-z0-9.-]` only) and the Unicode name
/// as `filename*` (RFC 6266, percent-encoded UTF-8 per RFC 8187).
pub fn content_disposition(name: &str) -> Result<HeaderValue, ApiError> {
    value(&format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_file_name(name), percent_encode(name)))
}

/// `name` transliterated to lowercase ASCII, every other character a dash, runs of dashes merged.
pub fn ascii_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in deunicode::deunicode(name).to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// Percent-encodes all but RFC 8187's `attr-char`s.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Mutex;
    use std::time::Duration;

    use chrono::{DateTime, NaiveDate, Utc};
    use http_body_util::BodyExt;
    use sha2::{Digest, Sha256};

    use super::*;

    fn modified() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 11, 24).and_then(|d| d.and_hms_opt(9, 30, 0)).map(|t| t.and_utc()).unwrap()
    }

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn file_names_have_an_ascii_form_and_a_percent_encoded_utf8_form() {
        assert_eq!(ascii_file_name("östersund-gastronomy-mmr-2026.pdf"), "ostersund-gastronomy-mmr-2026.pdf");
        assert_eq!(
            ascii_file_name("são-joão-del-rei-gastronomy-mmr-2026.pdf"),
            "sao-joao-del-rei-gastronomy-mmr-2026.pdf"
        );
        assert_eq!(ascii_file_name("a \"quoted\"\\name;x=y\r\n.pdf"), "a-quoted-name-x-y-.pdf");
        assert_eq!(percent_encode("ö a\"%.pdf"), "%C3%B6%20a%22%25.pdf");
        let v = content_disposition("östersund-music-mmr-2026.pdf").unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "attachment; filename=\"ostersund-music-mmr-2026.pdf\"; filename*=UTF-8''%C3%B6stersund-music-mmr-2026.pdf"
        );
    }

    async fn frames(body: Body) -> (Vec<usize>, Vec<u8>, Option<String>) {
        let (mut sizes, mut all, mut body) = (Vec::new(), Vec::new(), body);
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        sizes.push(data.len());
                        all.extend_from_slice(&data);
                    }
                }
                Err(e) => return (sizes, all, Some(e.to_string())),
            }
        }
        (sizes, all, None)
    }

    fn sha(bytes: &[u8]) -> String {
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[tokio::test]
    async fn a_large_file_streams_in_chunks_and_is_checked_at_the_end() {
        let data: Vec<u8> = (0..(CHUNK * 3 + 100)).map(|i| (i % 251) as u8).collect();
        let reader = BlobReader::new(io::Cursor::new(data.clone()), data.len() as u64);
        let whole = Segment::File(r(0, data.len() as u64 - 1));
        let (sizes, bytes, error) =
            frames(stream(reader, vec![whole], Some(HashCheck::new(sha(&data), Arc::default(), ignore_damage()))))
                .await;
        assert_eq!(sizes, [CHUNK, CHUNK, CHUNK, 100], "read and sent a chunk at a time");
        assert_eq!((bytes == data, error), (true, None));

        // Changed content of the same size: everything but the last chunk, then an error.
        let mut changed = data.clone();
        changed[5] ^= 1;
        let reader = BlobReader::new(io::Cursor::new(changed), data.len() as u64);
        let whole = Segment::File(r(0, data.len() as u64 - 1));
        let (sizes, _, error) =
            frames(stream(reader, vec![whole], Some(HashCheck::new(sha(&data), Arc::default(), ignore_damage()))))
                .await;
        assert_eq!(sizes, [CHUNK, CHUNK, CHUNK]);
        assert!(error.is_some_and(|e| e.contains("now hashes to")));

        // A file shorter than its recorded length ends in an error, not a short success.
        let reader = BlobReader::new(io::Cursor::new(data[..10].to_vec()), data.len() as u64);
        let (_, bytes, error) = frames(stream(reader, vec![Segment::File(r(0, 99))], None)).await;
        assert_eq!(bytes.len(), 0);
        assert!(error.is_some_and(|e| e.contains("ended at byte 10")));
    }

    #[tokio::test]
    async fn ranges_and_multipart_segments_carry_the_right_bytes() {
        let data: Vec<u8> = (0..(CHUNK * 2)).map(|i| (i % 241) as u8).collect();
        let len = data.len() as u64;
        let ranges = [r(CHUNK as u64 - 3, CHUNK as u64 + 2), r(0, 1)];
        let segments = multipart(&ranges, "B", "application/pdf", len);
        let expected_len: u64 = segments.iter().map(Segment::len).sum();
        let reader = BlobReader::new(io::Cursor::new(data.clone()), len);
        let (_, bytes, error) = frames(stream(reader, segments, None)).await;
        assert_eq!(error, None);
        assert_eq!(bytes.len() as u64, expected_len);
        let mut expected = format!(
            "--B\r\nContent-Type: application/pdf\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
            CHUNK - 3,
            CHUNK + 2
        )
        .into_bytes();
        expected.extend_from_slice(&data[CHUNK - 3..=CHUNK + 2]);
        expected.extend_from_slice(
            format!("\r\n--B\r\nContent-Type: application/pdf\r\nContent-Range: bytes 0-1/{len}\r\n\r\n").as_bytes(),
        );
        expected.extend_from_slice(&data[..2]);
        expected.extend_from_slice(b"\r\n--B--\r\n");
        assert_eq!(bytes, expected);
    }

    fn ignore_damage() -> DamageHook {
        Arc::new(|_: &str, _: &str| {})
    }

    /// A hook that notes what it is told.
    fn noting_damage() -> (DamageHook, Arc<Mutex<Vec<String>>>) {
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let noted = seen.clone();
        (Arc::new(move |sha: &str, problem: &str| noted.lock().unwrap().push(format!("{sha}: {problem}"))), seen)
    }

    /// Makes the stored file of `file` writable and writes `data` over it.
    fn overwrite(dir: &tempfile::TempDir, file: &ArchivedFile, data: &[u8]) {
        let path = dir.path().join("objects").join(&file.sha256[..2]).join(&file.sha256[2..4]).join(&file.sha256);
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).unwrap();
        std::fs::write(&path, data).unwrap();
    }

    /// Stores `data` in a local store under a temporary directory and describes it as archived.
    fn stored(data: &[u8]) -> (tempfile::TempDir, Arc<dyn BlobStore>, ArchivedFile) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::LocalStore::open(dir.path()).unwrap();
        let blob = store.put(data).unwrap();
        let file = ArchivedFile {
            sha256: blob.sha256,
            bytes: blob.bytes,
            content_type: "application/pdf",
            modified: modified().naive_utc(),
            public: true,
            file_name: "report.pdf".to_owned(),
            edges_sha256: Some(crate::storage::edges_sha256(data)),
        };
        (dir, Arc::new(store), file)
    }

    async fn get_whole(
        store: &Arc<dyn BlobStore>,
        verified: &Arc<VerifiedFiles>,
        file: &ArchivedFile,
    ) -> Option<String> {
        let response =
            serve(store.clone(), verified, &ignore_damage(), None, &Method::GET, &HeaderMap::new(), file.clone())
                .await
                .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        frames(response.into_body()).await.2
    }

    #[tokio::test]
    async fn a_file_that_hashed_to_its_name_is_trusted_while_its_version_holds() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 7)).map(|i| (i % 239) as u8).collect();
        let (dir, store, file) = stored(&data);
        let version = || store.open(&file.sha256).unwrap().version();
        // The file must be older than the settling time when its hash starts (none here).
        std::thread::sleep(Duration::from_millis(20));
        let verified = Arc::new(VerifiedFiles::new(Duration::from_secs(60), Duration::ZERO));
        assert!(!verified.trusted(&file.sha256, version()));
        assert_eq!(get_whole(&store, &verified, &file).await, None);
        assert!(verified.trusted(&file.sha256, version()), "a match is remembered");
        assert!(!verified.trusted(&file.sha256, None), "a reader without a version is always hashed");

        // Changed through the file system in the middle (past the edges), same size: another
        // version, hashed again, cut.
        let mut changed = data.clone();
        changed[CHUNK] ^= 1;
        overwrite(&dir, &file, &changed);
        assert!(!verified.trusted(&file.sha256, version()));
        let error = get_whole(&store, &verified, &file).await;
        assert!(error.is_some_and(|e| e.contains("now hashes to")));
        overwrite(&dir, &file, &data);

        // Trust expires; a file changed just before its hash started is not remembered.
        for verified in [VerifiedFiles::new(Duration::ZERO, Duration::ZERO), VerifiedFiles::default()] {
            let verified = Arc::new(verified);
            assert_eq!(get_whole(&store, &verified, &file).await, None);
            assert!(!verified.trusted(&file.sha256, version()));
        }
    }

    #[tokio::test]
    async fn damage_at_the_edges_or_in_the_size_is_refused_before_any_header_and_reported() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 7)).map(|i| (i % 233) as u8).collect();
        let (dir, store, file) = stored(&data);
        let verified = Arc::new(VerifiedFiles::default());
        let ask = |range: Option<&str>, method: Method| {
            let (store, verified, file) = (store.clone(), verified.clone(), file.clone());
            let mut headers = HeaderMap::new();
            if let Some(r) = range {
                headers.insert(header::RANGE, HeaderValue::from_str(r).unwrap());
            }
            async move {
                let (hook, seen) = noting_damage();
                let answer = serve(store, &verified, &hook, None, &method, &headers, file).await;
                let seen = seen.lock().unwrap().clone();
                (answer.map(|r| r.status()).map_err(|e| e.into_response().status()), seen)
            }
        };
        assert_eq!(ask(None, Method::GET).await, (Ok(StatusCode::OK), vec![]));

        // The last byte changed: whole file, a range elsewhere and HEAD are all refused.
        let mut changed = data.clone();
        *changed.last_mut().unwrap() ^= 1;
        overwrite(&dir, &file, &changed);
        for (range, method) in [(None, Method::GET), (Some("bytes=0-99"), Method::GET), (None, Method::HEAD)] {
            let (answer, seen) = ask(range, method).await;
            assert_eq!(answer, Err(StatusCode::INTERNAL_SERVER_ERROR), "{range:?}");
            assert_eq!(seen.len(), 1, "{seen:?}");
            assert!(seen[0].contains("first and last 64 KiB"), "{seen:?}");
        }
        // Truncated: the size says so.
        overwrite(&dir, &file, &data[..100]);
        let (answer, seen) = ask(Some("bytes=0-9"), Method::GET).await;
        assert_eq!(answer, Err(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(seen[0].contains("100 bytes"), "{seen:?}");
    }
}
