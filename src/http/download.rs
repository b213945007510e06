//! Serving an archived file: conditional requests, byte ranges, and a body streamed from the
//! archive store in chunks, so a download never holds the whole file in memory, or, for a file
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
//! than copying the bytes. Buffers are not zeroed before the read ([`BlobReader::read_chunk`]).
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
//! CPU's SHA instructions, several times the copying), so a match is remembered ([`VerifiedFiles`]):
//! a local file that hashed to its name while served whole is trusted, without hashing, while its
//! [`FileVersion`] (device, inode, size, modification and status-change times) stays the same, for
//! at most [`TRUST_HASH_FOR`] after that hash. This is equivalent for every change made through
//! the file system (a write, a truncation, a `chmod` to allow one, a replaced file: each gives
//! another version, and the status-change time cannot be set back), and bounded for changes that
//! bypass it (disk damage, writes to the block device, which the page cache hides from a re-read
//! anyway until the page is evicted): the next whole-file response after [`TRUST_HASH_FOR`]
//! hashes again, and the weekly fixity job re-reads every file. A file that changed less than
//! [`SETTLED_AFTER`] before its hash started is not remembered, so a change within the same tick
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
//! `sendfile` the connection compares the file's [`FileVersion`] with the trusted one, so a file
//! changed meanwhile is cut before the rest of it is sent (bytes already queued in the kernel
//! still refer to the page cache, so a write racing with them can show; the streaming path has the
//! same window for trusted files, between its reads). Everything else keeps the streaming path:
//! the first whole-file download of a file (it hashes while streaming and makes the file
//! trusted), S3, multipart ranges, HEAD, 304 and 416, and requests that do not come through a
//! connection of [`super::serve`] (the router called in-process, as most tests do).

use std::collections::HashMap;
use std::io::{self, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::zerocopy::{MappedFile, Registry};
use super::{ApiError, blocking};
use crate::storage::{self, BlobReader, BlobStore, FileVersion, StorageError};

/// How many bytes are read from the store at a time.
pub const CHUNK: usize = 256 * 1024;

/// The most ranges one request may ask for; more are answered with the whole file.
pub const MAX_RANGES: usize = 16;

/// Chunks read ahead of the client: the channel between the reader and the response.
const READ_AHEAD: usize = 1;

/// How long a file that hashed to its name is trusted without hashing, while its version stays
/// the same (module doc).
pub const TRUST_HASH_FOR: Duration = Duration::from_secs(15 * 60);

/// A file changed less than this before its hash started is not remembered as verified.
pub const SETTLED_AFTER: Duration = Duration::from_secs(1);

/// The most files [`VerifiedFiles`] remembers; beyond it, it forgets the expired ones, or all.
const REMEMBERED_FILES: usize = 100_000;

/// The local files that hashed to their name when last served whole: by SHA-256, the version that
/// was hashed and when its hash started (module doc, "Integrity"). One per server, shared by every
/// download.
#[derive(Debug)]
pub struct VerifiedFiles {
    files: Mutex<HashMap<String, (FileVersion, Instant)>>,
    trust_for: Duration,
    settled_after: Duration,
}

impl Default for VerifiedFiles {
    fn default() -> Self {
        VerifiedFiles::new(TRUST_HASH_FOR, SETTLED_AFTER)
    }
}

impl VerifiedFiles {
    /// Remembers matches for `trust_for`, of files that had not changed for `settled_after` when
    /// their hash started.
    pub fn new(trust_for: Duration, settled_after: Duration) -> Self {
        VerifiedFiles { files: Mutex::new(HashMap::new()), trust_for, settled_after }
    }

    /// Whether the file named `sha256`, at `version`, hashed to its name recently enough.
    fn trusted(&self, sha256: &str, version: Option<FileVersion>) -> bool {
        let Some(version) = version else { return false };
        let files = self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        files.get(sha256).is_some_and(|(seen, at)| *seen == version && at.elapsed() < self.trust_for)
    }

    /// Records that `version` of the file named `sha256` hashed to its name, the hash having started
    /// at `started` (wall clock, compared with the file's times) and `started_at` (monotonic).
    fn remember(&self, sha256: String, version: FileVersion, started: SystemTime, started_at: Instant) {
        if !started.checked_sub(self.settled_after).is_some_and(|t| version.changed_before(t)) {
            return;
        }
        let mut files = self.files.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if files.len() >= REMEMBERED_FILES {
            files.retain(|_, (_, at)| at.elapsed() < self.trust_for);
            if files.len() >= REMEMBERED_FILES {
                files.clear();
            }
        }
        files.insert(sha256, (version, started_at));
    }
}

/// An archived file to serve, as its archive entry records it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// SHA-256 of the file: its name in the store and its ETag.
    pub sha256: String,
    /// The size recorded when it was archived.
    pub bytes: u64,
    /// `Content-Type` of the file, and of each part of a multipart answer.
    pub content_type: &'static str,
    /// When it was archived (UTC): `Last-Modified`.
    pub modified: NaiveDateTime,
    /// Published entries may be kept by shared caches; the others only by the client.
    pub public: bool,
    /// The name a browser saves it under, in Unicode (an ASCII form is derived).
    pub file_name: String,
    /// Its edge digest (`storage::edges_sha256`), when recorded.
    pub edges_sha256: Option<String>,
}

/// Told when a download finds a stored file damaged (its SHA-256, and what is wrong): marks the
/// entries holding it and alarms the Secretariat (`workflow::archive::report_damage`). Called on
/// the blocking pool.
pub type DamageHook = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// The answer for an archive file that is missing, the wrong size or found changed: logged, and a
/// 500 `archive_damaged` that serves nothing (README: a fault of the archive, not of the request,
/// which retrying will not mend until the file is restored).
pub fn damaged(sha256: &str, problem: &str) -> ApiError {
    tracing::error!(archive.sha256 = %sha256, problem, "an archived file is missing or damaged");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "archive_damaged",
        "the archived file is missing or does not match its SHA-256, so it is not served",
    )
}

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
    file: StoredFile,
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
                .then(|| Check::new(file.sha256.clone(), verified.clone(), damage.clone()));
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

/// Opens the stored file on the blocking pool and checks its size and edge digest against the
/// record; a file missing or failing either is reported to `damage` and answered with the
/// `archive_damaged` 500. With `zero_copy`, a local file trusted at the version just opened is
/// mapped and its body frame made, in the same trip to the blocking pool.
async fn open(
    store: Arc<dyn BlobStore>,
    file: &StoredFile,
    zero_copy: Option<ZeroCopyRequest>,
    damage: &DamageHook,
) -> Result<Opened, ApiError> {
    let (sha, recorded, edges, hook) = (file.sha256.clone(), file.bytes, file.edges_sha256.clone(), damage.clone());
    let opened = blocking(move || {
        let problem = |problem: String| {
            hook(&sha, &problem);
            Ok(Err(problem))
        };
        let mut reader = match store.open(&sha) {
            Err(e @ StorageError::Missing { .. }) => return problem(e.to_string()),
            other => other?,
        };
        if reader.len() != recorded {
            return problem(format!("the stored file has {} bytes, the archive recorded {recorded}", reader.len()));
        }
        if let Some(expected) = edges {
            match storage::read_edges_sha256(&mut reader) {
                Ok(actual) if actual == expected => {}
                Ok(actual) => {
                    return problem(format!(
                        "its first and last 64 KiB hash to {actual}, the archive recorded {expected}"
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return problem(e.to_string()),
                Err(source) => return Err(StorageError::Io { op: "read", path: sha.clone().into(), source }.into()),
            }
        }
        let Some(fast) = zero_copy else { return Ok(Ok(Opened::Reader(reader))) };
        if !fast.verified.trusted(&sha, reader.version()) {
            return Ok(Ok(Opened::Reader(reader)));
        }
        Ok(Ok(match MappedFile::map(reader, &sha) {
            Ok(mapped) => Opened::Mapped(fast.sender.body(mapped, fast.range.start, fast.range.len())),
            Err(reader) => Opened::Reader(reader),
        }))
    })
    .await?;
    opened.map_err(|problem| damaged(&file.sha256, &problem))
}

fn value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(|e| ApiError::interrupted(&e))
}

/// An inclusive byte range within the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteRange {
    start: u64,
    end: u64,
}

impl ByteRange {
    fn len(self) -> u64 {
        self.end - self.start + 1
    }
}

/// What a request is answered with, before any byte is read.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    NotModified,
    Whole,
    Single(ByteRange),
    Multi(Vec<ByteRange>),
    Unsatisfiable,
}

/// Decides the answer from the request's conditional and range headers (module doc).
fn plan(method: &Method, headers: &HeaderMap, etag: &str, modified: DateTime<Utc>, len: u64) -> Plan {
    if method != Method::GET && method != Method::HEAD {
        return Plan::Whole;
    }
    if let Some(tags) = joined(headers, &header::IF_NONE_MATCH) {
        if tag_list_matches(&tags, etag, false) {
            return Plan::NotModified;
        }
    } else if let Some(since) = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok())
        && let Some(since) = parse_http_date(since)
        && modified.timestamp() <= since.timestamp()
    {
        return Plan::NotModified;
    }
    if method != Method::GET {
        return Plan::Whole;
    }
    let mut ranges = headers.get_all(header::RANGE).iter();
    let (Some(range), None) = (ranges.next(), ranges.next()) else {
        return Plan::Whole;
    };
    if let Some(condition) = headers.get(header::IF_RANGE) {
        let condition = condition.to_str().unwrap_or("").trim();
        let holds = if condition.starts_with('"') || condition.starts_with("W/") {
            tag_list_matches(condition, etag, true)
        } else {
            parse_http_date(condition).is_some_and(|d| d.timestamp() == modified.timestamp())
        };
        if !holds {
            return Plan::Whole;
        }
    }
    let Some(specs) = range.to_str().ok().and_then(parse_range) else {
        return Plan::Whole;
    };
    if specs.len() > MAX_RANGES {
        return Plan::Whole;
    }
    let ranges: Vec<ByteRange> = specs.into_iter().filter_map(|s| s.resolve(len)).collect();
    let mut sorted = ranges.clone();
    sorted.sort_by_key(|r| r.start);
    if sorted.windows(2).any(|w| w[1].start <= w[0].end) {
        return Plan::Whole;
    }
    match ranges.len() {
        0 => Plan::Unsatisfiable,
        1 => Plan::Single(ranges[0]),
        _ => Plan::Multi(ranges),
    }
}

/// All values of a list header, joined with commas; `None` when it is absent or not text.
fn joined(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    let values: Option<Vec<&str>> = headers.get_all(name).iter().map(|v| v.to_str().ok()).collect();
    values.filter(|v| !v.is_empty()).map(|v| v.join(","))
}

/// Whether an `If-None-Match`-style list (or `*`) names `etag` (a quoted strong tag). Weak
/// comparison ignores a `W/` prefix; strong comparison never matches a weak tag. A malformed
/// list matches only through the tags read before the fault.
fn tag_list_matches(list: &str, etag: &str, strong: bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let Some(after_quote) = rest.strip_prefix('"') else {
            return false;
        };
        let Some(end) = after_quote.find('"') else {
            return false;
        };
        let tag = &rest[..end + 2];
        if tag == etag && !(strong && weak) {
            return true;
        }
        rest = &after_quote[end + 1..];
    }
}

/// One range of a `Range: bytes=...` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `a-b`
    FromTo(u64, u64),
    /// `a-`
    From(u64),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The bytes this asks for in a file of `len` bytes, or `None` when it is not satisfiable.
    fn resolve(self, len: u64) -> Option<ByteRange> {
        let last = len.checked_sub(1)?;
        match self {
            RangeSpec::FromTo(a, b) if a <= last => Some(ByteRange { start: a, end: b.min(last) }),
            RangeSpec::From(a) if a <= last => Some(ByteRange { start: a, end: last }),
            RangeSpec::Suffix(n) if n > 0 => Some(ByteRange { start: len.saturating_sub(n), end: last }),
            _ => None,
        }
    }
}

/// Parses `bytes=...`; `None` for another unit or any malformed part (the header is then ignored).
/// Numbers too large for 64 bits are read as the largest one: valid syntax, just beyond any file.
fn parse_range(header: &str) -> Option<Vec<RangeSpec>> {
    let (unit, set) = header.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let mut specs = Vec::new();
    for part in set.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (first, last) = part.split_once('-')?;
        let spec = match (first.trim().is_empty(), last.trim().is_empty()) {
            (true, false) => RangeSpec::Suffix(number(last)?),
            (false, true) => RangeSpec::From(number(first)?),
            (false, false) => {
                let (a, b) = (number(first)?, number(last)?);
                if b < a {
                    return None;
                }
                RangeSpec::FromTo(a, b)
            }
            (true, true) => return None,
        };
        specs.push(spec);
    }
    if specs.is_empty() { None } else { Some(specs) }
}

fn content_range(r: ByteRange, len: u64) -> String {
    format!("bytes {}-{}/{len}", r.start, r.end)
}

/// An HTTP date (IMF-fixdate), e.g. `Tue, 24 Nov 2026 09:30:00 GMT`.
fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Reads the three HTTP-date forms RFC 9110 §5.6.7 requires recipients to accept.
fn parse_http_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    ["%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc())
}

/// `attachment` with an ASCII `filename` (transliterated, `[a-z0-9.-]` only) and the Unicode name
/// as `filename*` (RFC 6266, percent-encoded UTF-8 per RFC 8187).
pub(super) fn content_disposition(name: &str) -> Result<HeaderValue, ApiError> {
    value(&format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_file_name(name), percent_encode(name)))
}

/// `name` transliterated to lowercase ASCII, every other character a dash, runs of dashes merged.
pub(super) fn ascii_file_name(name: &str) -> String {
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

/// A piece of the response body: literal bytes (multipart headers) or a range of the file.
#[derive(Debug)]
enum Segment {
    Literal(Bytes),
    File(ByteRange),
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Literal(b) => b.len() as u64,
            Segment::File(r) => r.len(),
        }
    }
}

/// The segments of a `multipart/byteranges` body (RFC 9110 §14.6).
fn multipart(ranges: &[ByteRange], boundary: &str, content_type: &str, len: u64) -> Vec<Segment> {
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
fn stream(reader: BlobReader, segments: Vec<Segment>, check: Option<Check>) -> Body {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let source = Source { reader, position: 0, check };
    tokio::spawn(feed(source, segments, tx).instrument(tracing::Span::current()));
    Body::from_stream(Chunks::new(rx))
}

/// The integrity check of a whole-file body: the running hash and the digest it must reach.
struct Check {
    hasher: Sha256,
    expected: String,
    /// When hashing started (wall clock and monotonic), for [`VerifiedFiles::remember`].
    started: (SystemTime, Instant),
    /// Where a match is remembered.
    verified: Arc<VerifiedFiles>,
    /// Told of a mismatch.
    damage: DamageHook,
}

impl Check {
    fn new(expected: String, verified: Arc<VerifiedFiles>, damage: DamageHook) -> Self {
        Check { hasher: Sha256::new(), expected, started: (SystemTime::now(), Instant::now()), verified, damage }
    }
}

/// The reading side of a download.
struct Source {
    reader: BlobReader,
    /// Where the reader is, to seek only when a range starts elsewhere.
    position: u64,
    /// For a whole-file response that is to be hashed.
    check: Option<Check>,
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
            check.hasher.update(&buf);
            if self.position == self.reader.len() {
                self.finish_check()?;
            }
        }
        Ok(Bytes::from(buf))
    }

    fn finish_check(&mut self) -> io::Result<()> {
        let Some(check) = self.check.take() else { return Ok(()) };
        let actual: String = check.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        if actual != check.expected {
            (check.damage)(&check.expected, &format!("a whole-file download hashed it to {actual}"));
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the stored file {} now hashes to {actual}; the download was cut", check.expected),
            ));
        }
        if let Some(version) = self.reader.version() {
            check.verified.remember(check.expected, version, check.started.0, check.started.1);
        }
        Ok(())
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
pub(super) struct Chunks(mpsc::Receiver<io::Result<Bytes>>);

impl Chunks {
    pub(super) fn new(rx: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        Chunks(rx)
    }
}

impl futures_core::Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use http_body_util::BodyExt;

    use super::*;

    const ETAG: &str = "\"0123\"";

    fn modified() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 11, 24).and_then(|d| d.and_hms_opt(9, 30, 0)).map(|t| t.and_utc()).unwrap()
    }

    fn plan_for(method: Method, pairs: &[(header::HeaderName, &str)]) -> Plan {
        let mut headers = HeaderMap::new();
        for (name, v) in pairs {
            headers.append(name.clone(), HeaderValue::from_str(v).unwrap());
        }
        plan(&method, &headers, ETAG, modified(), 1000)
    }

    fn r(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn if_none_match_uses_weak_comparison_over_lists_and_star() {
        for matching in ["\"0123\"", "W/\"0123\"", "\"x\", \"0123\"", "\"a,b\" ,W/\"0123\"", "*", " * "] {
            assert_eq!(plan_for(Method::GET, &[(header::IF_NONE_MATCH, matching)]), Plan::NotModified, "{matching}");
            assert_eq!(plan_for(Method::HEAD, &[(header::IF_NONE_MATCH, matching)]), Plan::NotModified);
        }
        for other in ["\"0124\"", "\"0123", "0123", "\"\"", "", "\"x\" junk \"0123\""] {
            assert_eq!(plan_for(Method::GET, &[(header::IF_NONE_MATCH, other)]), Plan::Whole, "{other}");
        }
        // Two header lines form one list.
        let two = [(header::IF_NONE_MATCH, "\"a\""), (header::IF_NONE_MATCH, "\"0123\"")];
        assert_eq!(plan_for(Method::GET, &two), Plan::NotModified);
    }

    #[test]
    fn if_modified_since_counts_only_without_if_none_match() {
        let same = http_date(modified());
        assert_eq!(same, "Tue, 24 Nov 2026 09:30:00 GMT");
        assert_eq!(plan_for(Method::GET, &[(header::IF_MODIFIED_SINCE, &same)]), Plan::NotModified);
        for obsolete in ["Tuesday, 24-Nov-26 09:30:00 GMT", "Tue Nov 24 09:30:00 2026", "Wed, 25 Nov 2026 00:00:00 GMT"]
        {
            assert_eq!(
                plan_for(Method::GET, &[(header::IF_MODIFIED_SINCE, obsolete)]),
                Plan::NotModified,
                "{obsolete}"
            );
        }
        for earlier_or_bad in ["Tue, 24 Nov 2026 09:29:59 GMT", "yesterday", ""] {
            assert_eq!(plan_for(Method::GET, &[(header::IF_MODIFIED_SINCE, earlier_or_bad)]), Plan::Whole);
        }
        let both = [(header::IF_NONE_MATCH, "\"other\""), (header::IF_MODIFIED_SINCE, same.as_str())];
        assert_eq!(plan_for(Method::GET, &both), Plan::Whole, "If-None-Match decides when present");
    }

    #[test]
    fn ranges_in_the_three_forms_and_several() {
        let range = |v: &str| plan_for(Method::GET, &[(header::RANGE, v)]);
        assert_eq!(range("bytes=0-99"), Plan::Single(r(0, 99)));
        assert_eq!(range("bytes=990-5000"), Plan::Single(r(990, 999)));
        assert_eq!(range("bytes=900-"), Plan::Single(r(900, 999)));
        assert_eq!(range("bytes=-10"), Plan::Single(r(990, 999)));
        assert_eq!(range("bytes=-5000"), Plan::Single(r(0, 999)));
        assert_eq!(range("BYTES = 5-5"), Plan::Single(r(5, 5)));
        assert_eq!(range("bytes=500-599, 0-9"), Plan::Multi(vec![r(500, 599), r(0, 9)]));
        // Unsatisfiable parts are dropped while another is satisfiable.
        assert_eq!(range("bytes=0-9,2000-"), Plan::Single(r(0, 9)));
        assert_eq!(range("bytes=1000-"), Plan::Unsatisfiable);
        assert_eq!(range("bytes=-0"), Plan::Unsatisfiable);
        assert_eq!(range("bytes=99999999999999999999999-"), Plan::Unsatisfiable);
        assert_eq!(range("bytes=0-99999999999999999999999"), Plan::Single(r(0, 999)));
    }

    #[test]
    fn malformed_overlapping_and_too_many_ranges_get_the_whole_file() {
        let range = |v: &str| plan_for(Method::GET, &[(header::RANGE, v)]);
        for bad in
            ["bytes=", "bytes=5", "bytes=9-1", "bytes=a-b", "bytes=-", "bytes=1-2-3", "items=0-1", "0-1", "bytes=--1"]
        {
            assert_eq!(range(bad), Plan::Whole, "{bad}");
        }
        assert_eq!(range("bytes=0-99,50-150"), Plan::Whole, "overlapping");
        assert_eq!(range("bytes=0-99,-950"), Plan::Whole, "overlapping suffix");
        let many: Vec<String> = (0..=MAX_RANGES as u64).map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
        assert_eq!(range(&format!("bytes={}", many.join(","))), Plan::Whole);
        let enough = &many[..MAX_RANGES];
        assert!(matches!(range(&format!("bytes={}", enough.join(","))), Plan::Multi(v) if v.len() == MAX_RANGES));
        // Two Range lines, HEAD and other methods: the Range header is ignored.
        let two = [(header::RANGE, "bytes=0-1"), (header::RANGE, "bytes=2-3")];
        assert_eq!(plan_for(Method::GET, &two), Plan::Whole);
        assert_eq!(plan_for(Method::HEAD, &[(header::RANGE, "bytes=0-1")]), Plan::Whole);
    }

    #[test]
    fn if_range_needs_the_strong_etag_or_the_exact_date() {
        let with =
            |condition: &str| plan_for(Method::GET, &[(header::RANGE, "bytes=0-9"), (header::IF_RANGE, condition)]);
        assert_eq!(with(ETAG), Plan::Single(r(0, 9)));
        assert_eq!(with(&http_date(modified())), Plan::Single(r(0, 9)));
        for stale in ["\"other\"", "W/\"0123\"", "Tue, 24 Nov 2026 09:30:01 GMT", "garbage"] {
            assert_eq!(with(stale), Plan::Whole, "{stale}");
        }
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
            frames(stream(reader, vec![whole], Some(Check::new(sha(&data), Arc::default(), ignore_damage())))).await;
        assert_eq!(sizes, [CHUNK, CHUNK, CHUNK, 100], "read and sent a chunk at a time");
        assert_eq!((bytes == data, error), (true, None));

        // Changed content of the same size: everything but the last chunk, then an error.
        let mut changed = data.clone();
        changed[5] ^= 1;
        let reader = BlobReader::new(io::Cursor::new(changed), data.len() as u64);
        let whole = Segment::File(r(0, data.len() as u64 - 1));
        let (sizes, _, error) =
            frames(stream(reader, vec![whole], Some(Check::new(sha(&data), Arc::default(), ignore_damage())))).await;
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
    fn overwrite(dir: &tempfile::TempDir, file: &StoredFile, data: &[u8]) {
        let path = dir.path().join("objects").join(&file.sha256[..2]).join(&file.sha256[2..4]).join(&file.sha256);
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).unwrap();
        std::fs::write(&path, data).unwrap();
    }

    /// Stores `data` in a local store under a temporary directory and describes it as archived.
    fn stored(data: &[u8]) -> (tempfile::TempDir, Arc<dyn BlobStore>, StoredFile) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::storage::LocalStore::open(dir.path()).unwrap();
        let blob = store.put(data).unwrap();
        let file = StoredFile {
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

    async fn get_whole(store: &Arc<dyn BlobStore>, verified: &Arc<VerifiedFiles>, file: &StoredFile) -> Option<String> {
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
