//! Zero-copy downloads: the server's connections send archived files with `sendfile(2)`, from the
//! page cache to the socket, as nginx does, instead of reading them into user memory and writing
//! them out again.
//!
//! How, without a second HTTP stack beside hyper:
//! - [`super::serve`] accepts connections through [`Listener`], whose connection type [`Conn`] is
//!   a `TcpStream` plus a per-connection [`Registry`] of mapped files (and the connection's
//!   [`Activity`], which `server` times it by). `Conn` says it writes
//!   vectored (`is_write_vectored`), so hyper 1.x queues the body's `Bytes` as they are and hands
//!   them to `poll_write_vectored` by pointer (its `WriteStrategy::Queue`; with the other
//!   strategy it would copy them into its own buffer first).
//! - A download that takes the fast path ([`crate::http::download`] decides when) maps the file
//!   read-only (`mmap`, `MAP_SHARED`) and answers with a body whose single frame is a view of the
//!   mapping ([`Registry::body`]); the mapping is registered with the request's connection, which
//!   the handler finds through [`ZeroCopy`] (the [`Peer`] that `ConnectInfo` carries).
//! - [`Conn::poll_write_vectored`] looks the iovecs up ([`step`]): those before the first one
//!   that lies inside a registered mapping are written as usual (the response head); when the
//!   first one lies inside a mapping, its bytes are sent with `sendfile` from the file at the
//!   offset the pointer has in the mapping, and the count sent is returned. A partial send is
//!   normal: hyper calls again with the pointer advanced. `EAGAIN` clears the socket's readiness
//!   (`TcpStream::try_io`), so the task sleeps until the socket is writable again.
//!
//! Fail-safe by construction: the body really is the file's bytes. If a frame ever reached a
//! socket write without being recognised (another hyper write strategy, a future hyper, HTTP/2,
//! which is not enabled, or a layer that copies bodies), the kernel or that code would copy the
//! right bytes from the mapping: a slower download, never a wrong one.
//!
//! Memory safety: on the fast path user space never reads the mapped bytes. The pointers go to the
//! kernel only, and `sendfile` reads the file through the page cache, not through the mapping. That
//! matters if a file shrinks while mapped: a user-space read of a page beyond the new end of file
//! raises SIGBUS, whereas `sendfile` simply reads less, which is caught (below). The archive's
//! files are write-once and read-only (mode 0444), so a shrink needs someone outside the
//! application; a middleware that read response bodies would reopen that risk, which is why the
//! router has none (no compression, no body logging).
//!
//! A registration holds the mapping weakly: it is used only while the body's frame, which owns the
//! mapping, is alive (the lookup upgrades it for the duration of the `sendfile`), so its address
//! cannot have been unmapped and reused by anything else while it matches. Once hyper has written
//! and dropped the frame, the mapping is unmapped and the registration is dropped at the next
//! lookup; a response that is never written (a client gone before its answer) leaves nothing
//! behind either.
//!
//! Integrity: before each `sendfile` the file's [`FileVersion`] is compared with the one that was
//! trusted when the response started; a file changed meanwhile (a write, a truncation, a chmod, a
//! replacement) cuts the connection before its remaining bytes are sent, and a file that ends
//! early is an error rather than a short success. The response-level rules (which files are
//! trusted) are `download`'s.

use std::fs::File;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, ready};

use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::serve::{IncomingStream, TapIo};
use memmap2::{MmapOptions, MmapRaw};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::server::Activity;
use crate::storage::{BlobReader, FileVersion};

/// How much the zero-copy path has done since the server started (reported by `/readyz`).
#[derive(Debug, Default)]
pub struct ZeroCopyStats {
    responses: AtomicU64,
    calls: AtomicU64,
    bytes: AtomicU64,
}

impl ZeroCopyStats {
    /// Responses whose body was set up to be sent with `sendfile`.
    pub fn responses(&self) -> u64 {
        self.responses.load(Ordering::Relaxed)
    }

    /// `sendfile` calls that sent something (a response takes several when the socket's buffer
    /// fills up).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Bytes sent with `sendfile`.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A TCP listener whose connections can send registered files with `sendfile` ([`Conn`]).
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
    stats: Arc<ZeroCopyStats>,
}

impl Listener {
    /// Accepts on `inner`, counting what is sent with `sendfile` in `stats`. [`super::serve`] is the
    /// usual way in; this is for serving it otherwise, e.g. with axum's `ListenerExt::tap_io`.
    pub fn new(inner: TcpListener, stats: Arc<ZeroCopyStats>) -> Listener {
        Listener { inner, stats }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        // axum's own accept loop: logs and backs off on errors such as too many open files.
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let files = Arc::new(Registry { maps: Mutex::default(), stats: self.stats.clone() });
        (Conn { stream, files, activity: Arc::new(Activity::new()) }, addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// What a request knows of its connection: the peer's address and, when the connection came
/// through [`Listener`], its registry of mapped files.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The TCP peer's address.
    pub addr: SocketAddr,
    files: Option<Arc<Registry>>,
}

impl From<SocketAddr> for Peer {
    /// A peer whose connection cannot send files (a request made in-process, in tests).
    fn from(addr: SocketAddr) -> Self {
        Peer { addr, files: None }
    }
}

impl Peer {
    /// The peer of `conn`, whose files it can send where `sendfile` is used (Linux).
    pub(super) fn of(addr: SocketAddr, conn: &Conn) -> Peer {
        Peer { addr, files: cfg!(target_os = "linux").then(|| conn.files.clone()) }
    }
}

impl Connected<IncomingStream<'_, Listener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        Peer::of(*stream.remote_addr(), stream.io())
    }
}

impl<F: FnMut(&mut Conn) + Send + 'static> Connected<IncomingStream<'_, TapIo<Listener, F>>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TapIo<Listener, F>>) -> Self {
        Peer::of(*stream.remote_addr(), stream.io())
    }
}

/// The extractor: the request's connection registry, when there is one.
#[derive(Debug, Clone, Default)]
pub struct ZeroCopy(pub Option<Arc<Registry>>);

impl<S: Send + Sync> FromRequestParts<S> for ZeroCopy {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ZeroCopy(parts.extensions.get::<ConnectInfo<Peer>>().and_then(|ConnectInfo(peer)| peer.files.clone())))
    }
}

/// A file mapped read-only, with the open file `sendfile` reads from and the version of the file
/// that was trusted. Its address range identifies it to the connection.
pub struct MappedFile {
    map: MmapRaw,
    file: File,
    version: FileVersion,
    /// The file's name in the store, for logs.
    sha256: String,
}

impl MappedFile {
    /// Maps the local file `reader` reads, all `reader.len()` bytes (more than zero), as the version
    /// the reader was opened at; blocking (run it on the blocking pool), but nothing is read. The
    /// reader comes back when it has no local file or version, or the mapping fails (logged).
    pub fn map(reader: BlobReader, sha256: &str) -> Result<Arc<MappedFile>, BlobReader> {
        let (len, Some(version)) = (reader.len(), reader.version()) else { return Err(reader) };
        let Some(file) = reader.file().filter(|_| len > 0) else { return Err(reader) };
        let map = usize::try_from(len)
            .map_err(io::Error::other)
            .and_then(|len| MmapOptions::new().len(len).map_raw_read_only(file));
        let map = match map {
            Ok(map) => map,
            Err(e) => {
                tracing::warn!(archive.sha256 = %sha256, error = %e, "cannot map an archived file; it is read instead");
                return Err(reader);
            }
        };
        let file = reader.into_file()?;
        Ok(Arc::new(MappedFile { map, file, version, sha256: sha256.to_owned() }))
    }

    fn base(&self) -> usize {
        self.map.as_ptr() as usize
    }

    /// Sends `len` bytes of the file from `offset` to the socket `socket`: at most once, and only
    /// while the file is at the version that was trusted.
    fn send_to(&self, socket: RawFd, offset: u64, len: usize) -> io::Result<usize> {
        let now = FileVersion::of(&self.file.metadata()?);
        if now != self.version {
            tracing::error!(archive.sha256 = %self.sha256, "an archived file changed while it was being sent; the download was cut");
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the archived file changed while it was being sent",
            ));
        }
        let sent = sendfile(socket, &self.file, offset, len)?;
        if sent == 0 && len > 0 {
            tracing::error!(archive.sha256 = %self.sha256, offset, "an archived file ended early; the download was cut");
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stored file ended at byte {offset}"),
            ));
        }
        Ok(sent)
    }
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile").field("sha256", &self.sha256).field("len", &self.map.len()).finish_non_exhaustive()
    }
}

/// The owner of a body frame: keeps the mapping alive while any view of it exists.
struct Owner(Arc<MappedFile>);

impl AsRef<[u8]> for Owner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the mapping is `len` bytes long and lives as long as `self`. The slice is only
        // formed to hand its address to the kernel (module doc, "Memory safety"); nothing on the
        // fast path reads through it.
        unsafe { std::slice::from_raw_parts(self.0.map.as_ptr(), self.0.map.len()) }
    }
}

/// One connection's mapped files, which its writes recognise by address.
#[derive(Debug)]
pub struct Registry {
    /// Weak: a mapping lives as long as the frames that view it (module doc).
    maps: Mutex<Vec<Weak<MappedFile>>>,
    stats: Arc<ZeroCopyStats>,
}

impl Registry {
    /// Registers `mapped` with this connection and returns the `len` bytes at `start` as a body
    /// frame (a view of the mapping, nothing read or copied).
    pub fn body(&self, mapped: Arc<MappedFile>, start: u64, len: u64) -> Bytes {
        let mut maps = self.maps.lock().unwrap_or_else(PoisonError::into_inner);
        maps.retain(|m| m.strong_count() > 0);
        maps.push(Arc::downgrade(&mapped));
        drop(maps);
        self.stats.responses.fetch_add(1, Ordering::Relaxed);
        let (start, end) = (start as usize, (start + len) as usize);
        Bytes::from_owner(Owner(mapped)).slice(start..end)
    }

    /// The live mapping that holds all of `[ptr, ptr + len)`, with the offset of `ptr` in it.
    fn find(&self, ptr: usize, len: usize) -> Option<(Arc<MappedFile>, u64)> {
        let mut maps = self.maps.lock().unwrap_or_else(PoisonError::into_inner);
        let mut found = None;
        maps.retain(|weak| {
            let Some(mapped) = weak.upgrade() else { return false };
            if found.is_none()
                && let Some(offset) = within(mapped.base(), mapped.map.len(), ptr, len)
            {
                found = Some((mapped, offset));
            }
            true
        });
        found
    }

    fn is_empty(&self) -> bool {
        self.maps.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}

/// The offset of `[ptr, ptr + len)` in the mapping `[base, base + map_len)` when it lies wholly
/// inside it and is not empty.
fn within(base: usize, map_len: usize, ptr: usize, len: usize) -> Option<u64> {
    let offset = ptr.checked_sub(base)?;
    (len > 0 && offset.checked_add(len)? <= map_len).then_some(offset as u64)
}

/// What a vectored write does with the iovecs it is given.
#[derive(Debug, PartialEq, Eq)]
enum Step<T> {
    /// Write the first `n` iovecs as they are: none lies in a registered mapping.
    Write(usize),
    /// Send the first iovec, `len` bytes, from `file` at `offset`.
    Send { file: T, offset: u64, len: usize },
}

/// Splits a vectored write at the first iovec that lies in a mapping `find` knows: the ones
/// before it are written as they are, or, when it is the first, it is sent from its file.
fn step<T>(bufs: &[IoSlice<'_>], mut find: impl FnMut(usize, usize) -> Option<(T, u64)>) -> Step<T> {
    for (i, buf) in bufs.iter().enumerate() {
        if let Some((file, offset)) = find(buf.as_ptr() as usize, buf.len()) {
            return if i == 0 { Step::Send { file, offset, len: buf.len() } } else { Step::Write(i) };
        }
    }
    Step::Write(bufs.len())
}

/// `sendfile(2)` of up to `len` bytes of `file` from `offset` to `socket`, retried when
/// interrupted; `WouldBlock` when the socket's buffer is full.
#[cfg(target_os = "linux")]
fn sendfile(socket: RawFd, file: &File, offset: u64, len: usize) -> io::Result<usize> {
    let mut offset = libc::off_t::try_from(offset).map_err(io::Error::other)?;
    loop {
        // SAFETY: both descriptors are open for the duration of the call, and `offset` is a valid
        // pointer to an `off_t`, which the kernel updates.
        let sent = unsafe { libc::sendfile(socket, file.as_raw_fd(), &mut offset, len) };
        if sent >= 0 {
            return Ok(sent as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Elsewhere requests get no registry ([`Peer::of`]), so nothing is ever sent this way.
#[cfg(not(target_os = "linux"))]
fn sendfile(_: RawFd, _: &File, _: u64, _: usize) -> io::Result<usize> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "sendfile is used on Linux only"))
}

/// A connection accepted by [`Listener`]: a TCP stream whose vectored writes send registered
/// mappings with `sendfile` (module doc).
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    files: Arc<Registry>,
    activity: Arc<Activity>,
}

impl Conn {
    /// What has moved on this connection, for its timeouts.
    pub(super) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// The TCP stream, e.g. to set socket options.
    pub fn tcp(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends `len` bytes of `file` from `offset`, waiting for the socket to be writable.
    fn poll_send(&self, cx: &mut Context<'_>, file: &MappedFile, offset: u64, len: usize) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            let socket = self.stream.as_raw_fd();
            match self.stream.try_io(Interest::WRITABLE, || file.send_to(socket, offset, len)) {
                Ok(sent) => {
                    self.files.stats.calls.fetch_add(1, Ordering::Relaxed);
                    self.files.stats.bytes.fetch_add(sent as u64, Ordering::Relaxed);
                    return Poll::Ready(Ok(sent));
                }
                // Readiness was cleared: the next poll registers the waker.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = ready!(Pin::new(&mut self.stream).poll_read(cx, buf));
        self.activity.read(buf.filled().len() - before);
        Poll::Ready(read)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = if this.files.is_empty() {
            ready!(Pin::new(&mut this.stream).poll_write_vectored(cx, bufs))
        } else {
            match step(bufs, |ptr, len| this.files.find(ptr, len)) {
                Step::Write(n) => ready!(Pin::new(&mut this.stream).poll_write_vectored(cx, &bufs[..n])),
                Step::Send { file, offset, len } => ready!(this.poll_send(cx, &file, offset, len)),
            }
        };
        if let Ok(n) = written {
            this.activity.wrote(n);
        }
        Poll::Ready(written)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup over fake mappings `(base, len, name)`.
    fn finder(maps: Vec<(usize, usize, &'static str)>) -> impl FnMut(usize, usize) -> Option<(&'static str, u64)> {
        move |ptr, len| maps.iter().find_map(|&(base, map_len, name)| Some((name, within(base, map_len, ptr, len)?)))
    }

    #[test]
    fn an_iovec_counts_only_when_wholly_inside_a_mapping() {
        assert_eq!(within(1000, 100, 1000, 100), Some(0));
        assert_eq!(within(1000, 100, 1040, 60), Some(40));
        assert_eq!(within(1000, 100, 1099, 1), Some(99));
        assert_eq!(within(1000, 100, 1040, 61), None, "runs past the end");
        assert_eq!(within(1000, 100, 999, 10), None, "starts before");
        assert_eq!(within(1000, 100, 1100, 1), None, "just after");
        assert_eq!(within(1000, 100, 1050, 0), None, "empty");
        assert_eq!(within(1000, 100, usize::MAX, 2), None, "no overflow");
    }

    #[test]
    fn head_then_mapped_body_is_written_then_sent() {
        // Real memory stands in for the head and for two mappings, so the iovecs have real
        // addresses; nothing is sent, only the decisions are checked.
        let head = vec![b'h'; 300];
        let file = vec![0u8; 4096];
        let other = vec![0u8; 512];
        let base = file.as_ptr() as usize;
        let mut find = finder(vec![(base, file.len(), "file"), (other.as_ptr() as usize, other.len(), "other")]);

        // Head and the whole body: the head alone is written first.
        let bufs = [IoSlice::new(&head), IoSlice::new(&file)];
        assert_eq!(step(&bufs, &mut find), Step::Write(1));
        // Then the body, all of it asked for at offset 0.
        assert_eq!(step(&bufs[1..], &mut find), Step::Send { file: "file", offset: 0, len: 4096 });
        // A partial send of 1000 bytes: hyper comes back with the pointer advanced.
        let rest = [IoSlice::new(&file[1000..])];
        assert_eq!(step(&rest, &mut find), Step::Send { file: "file", offset: 1000, len: 3096 });
        // A range of the file (a 206) is sent from its own offset.
        let range = [IoSlice::new(&file[100..200]), IoSlice::new(&head[..2])];
        assert_eq!(step(&range, &mut find), Step::Send { file: "file", offset: 100, len: 100 });
        // Several plain iovecs before a mapped one are written together; one mapping after another
        // is sent one at a time.
        let mixed = [IoSlice::new(&head[..10]), IoSlice::new(&head[10..]), IoSlice::new(&other[5..])];
        assert_eq!(step(&mixed, &mut find), Step::Write(2));
        assert_eq!(step(&mixed[2..], &mut find), Step::Send { file: "other", offset: 5, len: 507 });
        let two = [IoSlice::new(&file[4000..]), IoSlice::new(&other)];
        assert_eq!(step(&two, &mut find), Step::Send { file: "file", offset: 4000, len: 96 });
        // Nothing mapped: everything is written; an empty list writes nothing.
        assert_eq!(step(&[IoSlice::new(&head)], &mut find), Step::Write(1));
        assert_eq!(step(&[], &mut find), Step::Write(0));
    }

    #[test]
    fn a_registration_lives_as_long_as_the_body_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let open = || {
            let file = File::open(&path).unwrap();
            let meta = file.metadata().unwrap();
            BlobReader::local(file, meta.len(), FileVersion::of(&meta))
        };
        let mapped = MappedFile::map(open(), "f").unwrap();
        let stats = Arc::new(ZeroCopyStats::default());
        let registry = Registry { maps: Mutex::default(), stats: stats.clone() };
        let base = mapped.base();
        let body = registry.body(mapped, 10, 5000);
        assert_eq!((body.len(), body.as_ptr() as usize), (5000, base + 10));
        assert_eq!(stats.responses(), 1);
        let (found, offset) = registry.find(base + 10, 5000).expect("registered");
        assert_eq!(offset, 10);
        drop(found);
        assert!(registry.find(base + 9_000, 1000).is_some(), "the whole mapping is known, not only the view");
        assert!(registry.find(base + 9_000, 1001).is_none());
        // The last frame gone, the mapping is unmapped and forgotten.
        drop(body);
        assert!(registry.find(base + 10, 5000).is_none());
        assert!(registry.is_empty());
        // Only a local, non-empty file is mapped; otherwise the reader comes back.
        std::fs::write(&path, b"").unwrap();
        assert!(MappedFile::map(open(), "f").is_err_and(|reader| reader.file().is_some()), "an empty file");
        let memory = BlobReader::new(std::io::Cursor::new(data.clone()), data.len() as u64);
        assert!(MappedFile::map(memory, "f").is_err_and(|reader| reader.len() == 10_000), "not a file");
    }
}
