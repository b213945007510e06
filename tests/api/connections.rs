//! The server over real TCP sockets: slow and idle connections are closed on time, the cap on
//! connections holds, a request that takes too long is answered 408, heads that are too large get
//! JSON errors, and downloads sent with `sendfile` carry the security headers.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mmr::http::{AppState, ConnectionLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;
use crate::submissions::{open_cycle, submit_and_accept};

/// Serves `state` with `limits` on a free loopback port.
async fn server(mut state: AppState, limits: ConnectionLimits) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    state.connection_limits = limits;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        mmr::http::serve(listener, state, std::future::pending()).await.unwrap();
    });
    (addr, task)
}

fn limits(header_ms: u64, idle_ms: u64, request_ms: u64, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        request_timeout: Duration::from_millis(request_ms),
        max_connections,
    }
}

/// Reads until the server closes the connection (or `limit` passes: a panic); returns what was
/// read and when the connection closed.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Instant) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&seen).into_owned(), Instant::now()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the connection is still open after {limit:?}; read: {}", String::from_utf8_lossy(&seen)),
        }
    }
}

/// Reads one whole response whose body has a Content-Length; returns the head and the body.
async fn response(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            if data.len() >= end + 4 + length {
                return (head, data[end + 4..end + 4 + length].to_vec());
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before a whole response: {}", String::from_utf8_lossy(&data));
        data.extend_from_slice(&buf[..n]);
    }
}

async fn slow_and_idle_connections_are_closed(app: TestApp) {
    let (addr, server) = server(app.state.clone(), limits(400, 1500, 5000, 64)).await;
    // A half-sent head: closed once the header timeout has passed since its first byte.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let (answer, closed) = until_closed(&mut slow, Duration::from_secs(3)).await;
    let took = closed - start;
    assert!(took >= Duration::from_millis(350) && took < Duration::from_millis(1400), "{took:?}");
    assert!(answer.is_empty(), "{answer}");
    // Trickling bytes does not extend it.
    let mut trickle = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let closed = async {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if trickle.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        until_closed(&mut trickle, Duration::from_secs(3)).await.1
    }
    .await;
    assert!(closed - start < Duration::from_millis(1400), "{:?}", closed - start);
    // A connection that sends nothing: the header timeout too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    let (_, closed) = until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(closed - start < Duration::from_millis(1400), "{:?}", closed - start);
    // A keep-alive connection after its answer: open for the idle timeout (longer than the
    // header timeout), then closed.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (head, _) = response(&mut idle).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let answered = Instant::now();
    let (_, closed) = until_closed(&mut idle, Duration::from_secs(5)).await;
    let open = closed - answered;
    assert!(open >= Duration::from_millis(1300) && open < Duration::from_millis(2600), "{open:?}");
    // While it is open it serves the next request.
    let mut busy = TcpStream::connect(addr).await.unwrap();
    for _ in 0..3 {
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(response(&mut busy).await.0.starts_with("HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    server.abort();
}

async fn the_connection_cap_holds(app: TestApp) {
    let (addr, server) = server(app.state.clone(), limits(3000, 3000, 5000, 2)).await;
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The third waits in the backlog: its request is not answered while two are open.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 16];
    let waited = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(waited.is_err(), "the third connection was served beyond the cap");
    // One closes: the third is served at once.
    drop(first);
    let start = Instant::now();
    let (answer, _) = until_closed(&mut third, Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(start.elapsed() < Duration::from_millis(1000), "{:?}", start.elapsed());
    server.abort();
}

async fn a_request_that_takes_too_long_is_answered_408(app: TestApp) {
    let (addr, server) = server(app.state.clone(), limits(2000, 5000, 600, 16)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/cities HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"slug\":",
        app.admin
    );
    let start = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (answer, closed) = until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-content-type-options: nosniff"), "{answer}");
    assert!(closed - start < Duration::from_millis(1500), "{:?}", closed - start);
    server.abort();
}

async fn large_heads_and_downloads_over_tcp(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let archive = submit_and_accept(&app, cycle, &city, "").await;
    // A file changed less than a second before it is hashed is not trusted for `sendfile`.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (addr, server) = server(app.state.clone(), ConnectionLimits::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let target = format!("/api/v1/cities?q={}", "a".repeat(9000));
    stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
    let (head, body) = response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 414"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"uri_too_long\""));
    let headers: String = (0..110).map(|i| format!("X-H{i}: 1\r\n")).collect();
    stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n").as_bytes()).await.unwrap();
    let (head, body) = response(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 431"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("\"code\":\"headers_too_large\""));
    // A PDF twice: the second is sent with sendfile once the first has verified the file; both
    // carry the headers.
    for round in 0..2 {
        stream
            .write_all(format!("GET /api/v1/archive/{archive}/pdf HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let (head, body) = response(&mut stream).await;
        let lower = head.to_ascii_lowercase();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(lower.contains("\r\nx-content-type-options: nosniff"), "round {round}: {head}");
        assert!(lower.contains("\r\ncontent-security-policy: default-src 'none'; frame-ancestors 'none'"), "{head}");
        assert!(body.starts_with(b"%PDF-"));
    }
    assert!(app.state.zero_copy.responses() >= 1, "the second download took the sendfile path");
    server.abort();
}

crate::both_backends!(
    slow_and_idle_connections_are_closed,
    the_connection_cap_holds,
    a_request_that_takes_too_long_is_answered_408,
    large_heads_and_downloads_over_tcp,
);
