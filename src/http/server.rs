//! The server's connections: the accept loop and what bounds each connection, so that slow or
//! idle clients cannot hold the server (DESIGN.md §6). hyper's HTTP/1.1 connections are driven
//! here by hand, over [`super::zerocopy`]'s [`Conn`] (which keeps downloads zero-copy).
//!
//! - **Connections** ([`ConnectionLimits::max_connections`]): at most this many are served at
//!   once; beyond it the server stops accepting, so new connections wait in the kernel's backlog
//!   until one closes.
//! - **Header timeout**: a request head (request line and headers) must arrive whole within this
//!   time of its first byte, and a new connection must deliver its first head within it; a
//!   half-sent head (slowloris) is closed.
//! - **Idle timeout**: a keep-alive connection with no request is closed after this long without
//!   traffic, and so is a connection whose response stalls (a client that stopped reading a
//!   download). A download that keeps moving is never cut, however long it takes.
//! - **Request timeout**: from a request's head to its response's head (reading the body and
//!   running the handler) at most this long; then 408 `request_timeout` and the connection is
//!   closed. Streaming the response body is not counted.
//! - **Head size**: a request line or headers over [`MAX_URI_BYTES`], [`MAX_HEADER_BYTES`] or
//!   [`MAX_HEADERS`] are answered 414 or 431 in the JSON error shape ([`head_limits`]). Heads
//!   beyond hyper's own buffer (about 400 KB) are refused by hyper itself, without a body.
//!
//! A connection's deadline is kept lazily: [`Activity`] records when bytes moved and requests
//! started and finished (from [`Conn`]'s reads and writes and the service around the router), and
//! the connection's task sleeps until the current deadline, re-reading it when it wakes.
//! On shutdown the server stops accepting, lets each connection finish its request in flight
//! (hyper's graceful shutdown) and waits for all of them.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::middleware::Next;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use super::zerocopy::{Conn, Listener, Peer};
use super::{ApiError, AppState};

/// The longest request target (path and query) accepted, in bytes; longer is 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The largest request headers accepted (names and values), in bytes; larger is 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The most request headers accepted; more is 431.
pub const MAX_HEADERS: usize = 100;
/// hyper's own bound on the number of headers (its 431 has no body), above [`MAX_HEADERS`] so that
/// [`head_limits`] answers first, in JSON.
const HYPER_MAX_HEADERS: usize = 128;

/// What bounds each connection (module doc); `mmr serve` takes them from `MMR_HEADER_TIMEOUT_SECS`,
/// `MMR_IDLE_TIMEOUT_SECS`, `MMR_REQUEST_TIMEOUT_SECS` and `MMR_MAX_CONNECTIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in flight.
/// Each request carries its [`Peer`] (`ConnectInfo`): the TCP peer's address, which the rate limit
/// counts by, and the connection's registry, through which downloads are sent with `sendfile`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_pages(listener, state, None, shutdown).await
}

/// [`serve`], with the HTML pages beside the API ([`super::router_with_pages`]).
pub async fn serve_with_pages(
    listener: TcpListener,
    state: AppState,
    pages: Option<Router>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = state.connection_limits;
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let mut listener = Listener::new(listener, state.zero_copy.clone());
    let router = super::router_with_pages(state, pages);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
        };
        let (conn, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
        };
        let (router, stopping) = (router.clone(), stopping.clone());
        tokio::spawn(async move {
            connection(conn, addr, router, limits, stopping).await;
            drop(slot);
        });
    }
    // Every connection finishes its request in flight, then gives its slot back.
    let _ = stop.send(true);
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// Serves one connection until the client closes it, a deadline passes or the server stops.
async fn connection(
    conn: Conn,
    addr: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = conn.activity().clone();
    let peer = Peer::of(addr, &conn);
    let watched = activity.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer.clone()));
        let (router, activity) = (router.clone(), watched.clone());
        let started = RequestInFlight::start(activity);
        async move {
            let answer = tokio::time::timeout(limits.request_timeout, router.oneshot(request.map(Body::new))).await;
            drop(started);
            Ok::<_, Infallible>(match answer {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => timed_out(limits.request_timeout),
            })
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    // The timeouts are this module's (hyper's header timeout would also end idle keep-alives).
    http.header_read_timeout(None).max_headers(HYPER_MAX_HEADERS).keep_alive(true);
    let serving = http.serve_connection(TokioIo::new(conn), service);
    tokio::pin!(serving);
    let mut draining = *stopping.borrow();
    if draining {
        serving.as_mut().graceful_shutdown();
    }
    loop {
        let wake = activity.deadline(&limits).unwrap_or_else(|| Instant::now() + limits.header_timeout);
        tokio::select! {
            result = serving.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %addr, error = %e, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(wake) => {
                if activity.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(peer = %addr, "connection timed out; closed");
                    return;
                }
            }
            changed = stopping.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    serving.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// 408 for a request whose response did not start within the request timeout; the connection
/// is closed after it.
fn timed_out(limit: Duration) -> Response<Body> {
    let message = format!("the request took longer than {} s (MMR_REQUEST_TIMEOUT_SECS)", limit.as_secs());
    let mut response = ApiError::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", message).into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    super::secure(response)
}

/// The router layer that answers over-long request targets (414) and over-large headers (431) in
/// the JSON error shape.
pub(super) async fn head_limits(request: axum::extract::Request, next: Next) -> Response<Body> {
    let target = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        let message = format!("the request target is {target} bytes long; at most {MAX_URI_BYTES} are accepted");
        return ApiError::new(StatusCode::URI_TOO_LONG, "uri_too_long", message).into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        let message = format!(
            "the request has {} headers of {bytes} bytes; at most {MAX_HEADERS} headers of {MAX_HEADER_BYTES} bytes are accepted",
            headers.len()
        );
        return ApiError::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large", message)
            .into_response();
    }
    next.run(request).await
}

/// What a connection has done, for its deadlines (module doc). Times are milliseconds since the
/// connection was accepted.
#[derive(Debug)]
pub struct Activity {
    accepted: Instant,
    /// When bytes were last read or written.
    last_io: AtomicU64,
    /// One more than when the first byte of a request head arrived; 0: none is arriving.
    head_started: AtomicU64,
    /// Requests whose response has not started.
    in_flight: AtomicUsize,
    /// Whether a request has been received.
    served: AtomicBool,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            accepted: Instant::now(),
            last_io: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.accepted.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    fn at(&self, millis: u64) -> Instant {
        self.accepted + Duration::from_millis(millis)
    }

    /// `n` bytes were read from the client.
    pub(super) fn read(&self, n: usize) {
        if n > 0 {
            self.read_at(self.now());
        }
    }

    fn read_at(&self, now: u64) {
        self.last_io.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_started.compare_exchange(0, now + 1, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// `n` bytes were written to the client.
    pub(super) fn wrote(&self, n: usize) {
        if n > 0 {
            self.last_io.store(self.now(), Ordering::Relaxed);
        }
    }

    /// A request's head has arrived: its handling starts.
    fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
        self.served.store(true, Ordering::Relaxed);
    }

    /// A request's response has started (or its handling was dropped), at `now`.
    fn answered_at(&self, now: u64) {
        self.last_io.store(now, Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// When the connection is to be closed, or `None` while a request is being handled (the
    /// request timeout bounds that).
    fn deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let head = self.head_started.load(Ordering::Relaxed);
        Some(if head != 0 {
            self.at(head - 1) + limits.header_timeout
        } else if !self.served.load(Ordering::Relaxed) {
            self.accepted + limits.header_timeout
        } else {
            self.at(self.last_io.load(Ordering::Relaxed)) + limits.idle_timeout
        })
    }
}

/// A request between its head and its response's head.
struct RequestInFlight(Arc<Activity>);

impl RequestInFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.started();
        Self(activity)
    }
}

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        self.0.answered_at(self.0.now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 4,
        }
    }

    #[test]
    fn deadlines_follow_the_connection() {
        let a = Activity::new();
        let at = |secs: u64| a.accepted + Duration::from_secs(secs);
        let ms = |secs: u64| secs * 1000;
        assert_eq!(a.deadline(&limits()), Some(at(10)), "a first head is due");
        a.read_at(ms(3));
        assert_eq!(a.deadline(&limits()), Some(at(13)), "from its first byte");
        a.read_at(ms(5));
        assert_eq!(a.deadline(&limits()), Some(at(13)), "more bytes do not extend it");
        a.started();
        assert_eq!(a.deadline(&limits()), None, "the request timeout applies");
        a.read_at(ms(6));
        assert_eq!(a.deadline(&limits()), None, "a body being read");
        a.answered_at(ms(7));
        assert_eq!(a.deadline(&limits()), Some(at(67)), "idle from the answer");
        a.last_io.store(ms(30), Ordering::Relaxed);
        assert_eq!(a.deadline(&limits()), Some(at(90)), "a download moving on");
        a.read_at(ms(31));
        assert_eq!(a.deadline(&limits()), Some(at(41)), "the next head is due");
    }
}
