//! The archive's write-once blob store and the source-bundle format.
//!
//! Accepted reports are archived as two immutable objects: the rendered PDF and the source bundle
//! ([`bundle`], one deterministic ZIP file). Both are stored content-addressed: an object's name is
//! the SHA-256 of its bytes, so a stored object can be checked against its name at any time
//! ([`BlobStore::verify`], used by the fixity job) and storing the same bytes twice is a no-op.
//!
//! [`BlobStore`] is the interface the workflow depends on; [`LocalStore`] keeps objects in a local
//! directory and [`S3Store`] in an S3-compatible bucket ([`BlobReader`] is a seekable reader with
//! a known length so that downloads can be served in ranges). [`open_store`] picks the
//! implementation from a path or URL (`MMR_ARCHIVE_URL`): a directory path or `file://` URL, or
//! `s3://bucket/prefix` with the endpoint and credentials in the standard `AWS_*` variables (see
//! [`S3Store`]'s module for the list).
//!
//! Durability follows DESIGN.md §6: an object is complete under its final name once
//! [`BlobStore::put`] returns, the caller writes the database row that points to it afterwards, a
//! crash leaves at worst an unreferenced temporary file ([`BlobStore::clean_interrupted`]), and the
//! application never overwrites or deletes a stored object. This module is an adapter: it imports
//! nothing from the rest of the crate.

pub mod bundle;
mod local;
mod reading;
mod s3;
mod verified;

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use local::LocalStore;
pub use reading::{ArchivedFile, DamageHook, HashCheck, open_checked, read_checked};
pub use s3::{S3Settings, S3Store};
pub use verified::{SETTLED_AFTER, TRUST_HASH_FOR, VerifiedFiles};

/// A content-addressed, write-once store of archived files.
///
/// Every method is blocking (file or network I/O): async callers run it on a blocking thread.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Store `bytes` under their SHA-256 and return the digest and size.
    ///
    /// Write-once: if the object already exists with the same content this succeeds without
    /// writing; if something else sits under that name it fails with [`StorageError::Corrupt`] and
    /// leaves it as it is. When this returns `Ok` the object is durable under its final name.
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, StorageError>;

    /// Read a whole object and check it against its name: [`StorageError::Corrupt`] when the bytes
    /// no longer hash to `sha256`, [`StorageError::Missing`] when there is no such object.
    fn get(&self, sha256: &str) -> Result<Vec<u8>, StorageError>;

    /// Open an object for streaming (and seeking) reads, its size known up front. The content is
    /// not checked against the digest: use [`BlobStore::get`] or [`BlobStore::verify`] for that.
    fn open(&self, sha256: &str) -> Result<BlobReader, StorageError>;

    /// Re-hash a stored object and say whether it still matches its name. A missing or changed
    /// object is a [`Fixity`] outcome, not an error; errors are failures to look.
    fn verify(&self, sha256: &str) -> Result<Fixity, StorageError>;

    /// Remove leftovers of interrupted writes (temporary files) and return how many were removed.
    /// Never touches stored objects.
    fn clean_interrupted(&self) -> Result<usize, StorageError>;

    /// Where the objects live, for logs (a directory, a bucket), without credentials.
    fn describe(&self) -> String;
}

/// What [`BlobStore::put`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// SHA-256 of the bytes, 64 lowercase hex digits: the object's name.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The result of re-hashing a stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fixity {
    /// The object hashes to its name.
    Intact,
    /// There is no object under that name.
    Missing,
    /// The object's bytes hash to something else.
    Changed {
        /// SHA-256 of the bytes found.
        actual: String,
    },
}

/// Why a store operation failed.
///
/// Messages name digests and local paths, never credentials.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object is stored under this digest.
    #[error("archived object {sha256} is missing")]
    Missing {
        /// The digest asked for.
        sha256: String,
    },
    /// The object stored under this digest has other content: it was changed or damaged outside
    /// the application, or (for a put) a different file occupies the name.
    #[error("archived object {sha256} is corrupt: its content hashes to {actual}")]
    Corrupt {
        /// The digest the object is stored under.
        sha256: String,
        /// SHA-256 of the bytes actually found.
        actual: String,
    },
    /// A reader found the stored file missing, the wrong size, or its edges or whole content
    /// not hashing as the archive recorded (see [`open_checked`]).
    #[error("archived object {sha256} is damaged: {problem}")]
    Damaged {
        /// The digest the object is stored under.
        sha256: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A digest that is not 64 lowercase hexadecimal digits; it never becomes a path.
    #[error("not a SHA-256 digest (64 lowercase hex digits): {digest:?}")]
    BadDigest {
        /// The offending text, cut to its first 80 characters.
        digest: String,
    },
    /// A file-system operation failed.
    #[error("cannot {op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `create directory`, `read`.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        source: io::Error,
    },
    /// A request to a remote store (S3) failed: the server refused it, could not be reached, or
    /// the connection broke while reading.
    #[error("cannot {op} {location}: {source}")]
    Remote {
        /// What was being done, e.g. `store`, `read`.
        op: &'static str,
        /// The object concerned, `s3://bucket/key` (or the store's location).
        location: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The store's configuration is unusable: a malformed location or a missing or bad setting.
    #[error("archive store setting {setting}: {problem}")]
    Config {
        /// The setting (environment variable) to fix, e.g. `MMR_ARCHIVE_URL`, `AWS_ACCESS_KEY_ID`.
        setting: &'static str,
        /// What is wrong with it; never its value when that could be a secret.
        problem: String,
    },
    /// The store location names a kind of store this build does not have.
    #[error("unsupported archive store location {url:?}: use a directory path, a file:// URL or an s3:// URL")]
    Unsupported {
        /// The location as given, with any user name, password and query removed.
        url: String,
    },
}

/// A stored object opened for reading: `Read + Seek + Send`, with its length known up front, and,
/// for a local file, the open file itself ([`BlobReader::file`]) and its [`FileVersion`].
pub struct BlobReader {
    inner: Inner,
    len: u64,
    version: Option<FileVersion>,
}

/// What a [`BlobReader`] reads from.
enum Inner {
    /// A local file, which a caller may also use directly (to map it, or to `sendfile` it).
    File(File),
    /// Anything else: an S3 object, memory in tests.
    Other(Box<dyn ReadSeek>),
}

/// One version of a file on a local file system: its device, inode, size, and modification and
/// status-change times (nanoseconds since the epoch). Writing to the file, truncating it, changing
/// its permissions or replacing it by another file under the same name all give another version;
/// the status-change time cannot be set back from user space. Changes that bypass the file system
/// (a damaged disk, writes to the block device) keep the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    device: u64,
    inode: u64,
    len: u64,
    modified_ns: i128,
    changed_ns: i128,
}

impl FileVersion {
    /// The version `meta` describes.
    pub fn of(meta: &std::fs::Metadata) -> FileVersion {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        FileVersion {
            device: meta.dev(),
            inode: meta.ino(),
            len: meta.size(),
            modified_ns: ns(meta.mtime(), meta.mtime_nsec()),
            changed_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the file last changed (content or status) before `instant`.
    pub fn changed_before(&self, instant: std::time::SystemTime) -> bool {
        let since_epoch = match instant.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        self.changed_ns.max(self.modified_ns) < since_epoch
    }
}

/// Object-safe union of the traits a [`BlobReader`] needs from its source.
trait ReadSeek: Read + Seek + Send {}

impl<T: Read + Seek + Send> ReadSeek for T {}

impl BlobReader {
    /// Wrap a source of `len` bytes.
    pub fn new(inner: impl Read + Seek + Send + 'static, len: u64) -> BlobReader {
        BlobReader { inner: Inner::Other(Box::new(inner)), len, version: None }
    }

    /// Reads `file`, a local file of `len` bytes at `version`.
    pub fn local(file: File, len: u64, version: FileVersion) -> BlobReader {
        BlobReader { inner: Inner::File(file), len, version: Some(version) }
    }

    /// Reads the next `want` bytes (fewer only at the end of the object) into a new buffer. Unlike
    /// `read_exact` into a zeroed buffer, the buffer is not zeroed first when the source (a file)
    /// can read into uninitialised memory, which for large chunks saves as much time as the copy.
    pub fn read_chunk(&mut self, want: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(want);
        // Each arm on the concrete reader, so that a file's read into uninitialised memory is used.
        match &mut self.inner {
            Inner::File(file) => file.take(want as u64).read_to_end(&mut buf)?,
            Inner::Other(other) => other.take(want as u64).read_to_end(&mut buf)?,
        };
        Ok(buf)
    }

    /// The local file being read, at the position reads have reached; `None` for other sources.
    pub fn file(&self) -> Option<&File> {
        match &self.inner {
            Inner::File(file) => Some(file),
            Inner::Other(_) => None,
        }
    }

    /// The local file being read, or the reader back when it reads something else.
    pub fn into_file(self) -> Result<File, BlobReader> {
        match self.inner {
            Inner::File(file) => Ok(file),
            Inner::Other(_) => Err(self),
        }
    }

    /// The version of the local file being read; `None` for other sources (S3, memory).
    pub fn version(&self) -> Option<FileVersion> {
        self.version
    }

    /// Size of the object in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::File(file) => file.read(buf),
            Inner::Other(other) => other.read(buf),
        }
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.inner {
            Inner::File(file) => file.seek(pos),
            Inner::Other(other) => other.seek(pos),
        }
    }
}

impl fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader").field("len", &self.len).finish_non_exhaustive()
    }
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// How many bytes at each end of a stored file its edge digest covers.
pub const EDGE_BYTES: u64 = 64 * 1024;

/// The two spans `(start, len)` an edge digest covers in a file of `len` bytes: the first and the
/// last [`EDGE_BYTES`], each byte once (so the whole file up to twice that).
fn edge_spans(len: u64) -> [(u64, u64); 2] {
    let head = len.min(EDGE_BYTES);
    let tail = head.max(len.saturating_sub(EDGE_BYTES));
    [(0, head), (tail, len - tail)]
}

/// The edge digest of a file: SHA-256 of its first and last [`EDGE_BYTES`]. Recorded when a
/// file is archived, it lets a reader check what damage most often hits (a truncated or
/// overwritten start or end, and any change at all in a file of up to 128 KiB) by reading 128 KiB
/// instead of the whole file, before it sends anything.
pub fn edges_sha256(bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for (start, len) in edge_spans(bytes.len() as u64) {
        hasher.update(&bytes[start as usize..(start + len) as usize]);
    }
    hex(&hasher.finalize())
}

/// [`edges_sha256`] of an opened object, read with two seeks; leaves the reader at its start.
pub fn read_edges_sha256(reader: &mut BlobReader) -> io::Result<String> {
    let mut hasher = Sha256::new();
    for (start, len) in edge_spans(reader.len()) {
        reader.seek(io::SeekFrom::Start(start))?;
        let chunk = reader.read_chunk(len as usize)?;
        if chunk.len() as u64 != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stored file ended at byte {}", start + chunk.len() as u64),
            ));
        }
        hasher.update(&chunk);
    }
    reader.seek(io::SeekFrom::Start(0))?;
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 and length of everything `reader` yields, read in blocks rather than all at once.
pub(crate) fn sha256_of_reader(reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let total = read_blocks(reader, |block| hasher.update(block))?;
    Ok((hex(&hasher.finalize()), total))
}

/// Hands everything `reader` yields to `each`, one block (64 KiB at most) at a time, and returns
/// how many bytes there were.
pub(crate) fn read_blocks(mut reader: impl Read, mut each: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        each(&buf[..n]);
        total += n as u64;
    }
    Ok(total)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Check that `digest` is a SHA-256 in the form this module writes (64 lowercase hex digits), so
/// that it can safely become part of a path or an object key.
pub(crate) fn check_digest(digest: &str) -> Result<(), StorageError> {
    if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(StorageError::BadDigest { digest: digest.chars().take(80).collect() })
    }
}

/// Open the store named by `url_or_path`: a directory path or a `file://` URL gives a
/// [`LocalStore`] (created if needed), `s3://bucket/prefix` an [`S3Store`] configured from the
/// environment ([`S3Settings::from_env`]; no request is made yet); any other scheme is
/// [`StorageError::Unsupported`].
pub fn open_store(url_or_path: &str) -> Result<Arc<dyn BlobStore>, StorageError> {
    let unsupported = || StorageError::Unsupported { url: redact(url_or_path) };
    if url_or_path.trim().is_empty() {
        return Err(unsupported());
    }
    if !url_or_path.contains("://") {
        return Ok(Arc::new(LocalStore::open(url_or_path)?));
    }
    if is_remote(url_or_path) {
        return Ok(Arc::new(S3Store::open(url_or_path, S3Settings::from_env()?)?));
    }
    let url = url::Url::parse(url_or_path).map_err(|_| unsupported())?;
    if url.scheme() != "file" {
        return Err(unsupported());
    }
    let path = url.to_file_path().map_err(|()| unsupported())?;
    Ok(Arc::new(LocalStore::open(path)?))
}

/// Whether `url_or_path` names a remote store (`s3://`) rather than a local directory, whose
/// files a backup can copy.
pub fn is_remote(url_or_path: &str) -> bool {
    url_or_path.starts_with("s3://")
}

/// The location without user name, password, query or fragment, for error messages and logs.
fn redact(location: &str) -> String {
    match url::Url::parse(location) {
        Ok(mut url) => {
            // Both setters fail only for URLs that cannot carry credentials, which is fine.
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        // Not a URL: a path, or something too malformed to hold credentials we could find.
        Err(_) if !location.contains("://") => location.to_owned(),
        Err(_) => location.split("://").next().map(|scheme| format!("{scheme}://…")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_digests_cover_each_end_once_and_small_files_whole() {
        let e = EDGE_BYTES as usize;
        for len in [0, 1, e, e + 1, 2 * e, 2 * e + 1, 5 * e + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let digest = edges_sha256(&data);
            let mut reader = BlobReader::new(io::Cursor::new(data.clone()), len as u64);
            assert_eq!(read_edges_sha256(&mut reader).unwrap(), digest, "{len}");
            assert_eq!(reader.stream_position().unwrap(), 0, "left at the start");
            if len > 0 {
                let mut first = data.clone();
                first[0] ^= 1;
                let mut last = data.clone();
                last[len - 1] ^= 1;
                assert_ne!(edges_sha256(&first), digest);
                assert_ne!(edges_sha256(&last), digest);
            }
            if len <= 2 * e {
                assert_eq!(digest, sha256_hex(&data), "a small file's edges are the whole file");
            }
        }
        // A reader shorter than its announced length is an error, not a digest.
        let mut short = BlobReader::new(io::Cursor::new(vec![0u8; 10]), 20);
        assert!(read_edges_sha256(&mut short).is_err());
    }

    #[test]
    fn sha256_hex_is_the_standard_digest() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let (digest, len) = sha256_of_reader(&b"abc"[..]).expect("reading a slice cannot fail");
        assert_eq!((digest.as_str(), len), ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3));
    }

    #[test]
    fn only_lowercase_64_hex_digits_are_digests() {
        assert!(check_digest(&sha256_hex(b"x")).is_ok());
        let upper = sha256_hex(b"x").to_uppercase();
        let long = "a".repeat(500);
        for bad in ["", "abc", &upper, &"a".repeat(63), &"a".repeat(65), &"g".repeat(64), "../../etc/passwd", &long] {
            match check_digest(bad) {
                Err(StorageError::BadDigest { digest }) => assert!(digest.chars().count() <= 80),
                other => panic!("{bad:?} was accepted as a digest: {other:?}"),
            }
        }
        let traversal = format!("../{}", &"a".repeat(61));
        assert_eq!(traversal.len(), 64);
        assert!(check_digest(&traversal).is_err());
    }

    #[test]
    fn open_store_takes_paths_and_file_urls_and_names_what_it_supports() {
        let dir = tempfile::tempdir().expect("temp dir");
        let by_path = open_store(dir.path().join("a").to_str().expect("utf-8 temp path")).expect("plain path");
        assert!(by_path.describe().contains(&dir.path().join("a").display().to_string()));
        assert!(dir.path().join("a/objects").is_dir());

        let url = url::Url::from_file_path(dir.path().join("b")).expect("absolute path");
        let by_url = open_store(url.as_str()).expect("file URL");
        let stored = by_url.put(b"hello").expect("put");
        assert_eq!(by_url.get(&stored.sha256).expect("get"), b"hello");
        assert!(dir.path().join("b/objects").is_dir());

        for location in ["gs://bucket/archive", "https://example.org/archive", "", "   ", "file://server/share"] {
            let err = open_store(location).expect_err(location);
            assert!(matches!(err, StorageError::Unsupported { .. }), "{location:?}: {err}");
            assert!(err.to_string().contains("file://"), "the message names what is supported: {err}");
        }
    }

    #[test]
    fn unsupported_locations_are_reported_without_credentials() {
        let err = open_store("gs://AKIAKEY:topsecret@bucket/archive?token=alsosecret").expect_err("gs is not built in");
        let message = err.to_string();
        assert!(message.contains("gs://") && message.contains("bucket"), "{message}");
        assert!(!message.contains("topsecret") && !message.contains("alsosecret") && !message.contains("AKIAKEY"));
        let err = open_store("s3://AKIAKEY:topsecret@bucket/archive?token=alsosecret").expect_err("credentials in URL");
        let message = err.to_string();
        assert!(message.contains("MMR_ARCHIVE_URL") && message.contains("AWS_ACCESS_KEY_ID"), "{message}");
        assert!(!message.contains("topsecret") && !message.contains("alsosecret") && !message.contains("AKIAKEY"));
        let err = open_store("weird scheme://user:pw@host").expect_err("not a URL");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }

    #[test]
    fn blob_reader_reads_seeks_and_knows_its_length() {
        let mut reader = BlobReader::new(io::Cursor::new(b"0123456789".to_vec()), 10);
        assert_eq!(reader.len(), 10);
        assert!(!reader.is_empty());
        reader.seek(SeekFrom::Start(4)).expect("seek");
        let mut rest = String::new();
        reader.read_to_string(&mut rest).expect("read");
        assert_eq!(rest, "456789");
        reader.seek(SeekFrom::Start(2)).expect("seek");
        assert_eq!(reader.read_chunk(3).expect("chunk"), b"234");
        assert_eq!(reader.read_chunk(10).expect("chunk"), b"56789", "short at the end");
        assert_eq!(reader.read_chunk(10).expect("chunk"), b"");
    }
}
