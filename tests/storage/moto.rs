//! A real S3-compatible server for the tests: moto's server (`pip install 'moto[server]'`), run as
//! a child process on a free loopback port, once per test binary, with one bucket. Also plain
//! HTTP helpers that reach the server behind the store's back, and a counting TCP proxy.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread;
use std::time::Duration;

use mmr::storage::{S3Settings, S3Store};

/// How long the server may take to start.
const STARTUP: Duration = Duration::from_secs(30);

/// An `Authorization` header naming the test key; moto reads the key and ignores the signature.
const FAKE_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing-key/20260101/us-east-1/s3/aws4_request, \
     SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// The bucket every test uses, each under its own prefix.
pub const BUCKET: &str = "mmr-archive";

/// Starts moto in-process on port 0, prints the port, and exits when its stdin closes, so that it
/// dies with the test binary (statics are never dropped).
const SERVER_SCRIPT: &str = r#"
import os, sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print("LISTENING", server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// The running server of this test binary.
pub struct Moto {
    port: u16,
    _child: Child,
    _stdin: ChildStdin,
}

/// The server, started (and the bucket created) on first use.
pub fn moto() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(Moto::start)
}

impl Moto {
    fn start() -> Moto {
        let python = std::env::var("MMR_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut child = Command::new(&python)
            .args(["-c", SERVER_SCRIPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {python} ({e}): the S3 tests need Python 3 and `pip install 'moto[server]'`")
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(STARTUP).unwrap_or_default();
        let Some(port) = line.strip_prefix("LISTENING ").and_then(|p| p.trim().parse::<u16>().ok()) else {
            let _ = child.kill();
            let _ = child.wait();
            let mut errors = String::new();
            let _ = stderr.read_to_string(&mut errors);
            panic!(
                "the S3 test server (moto) did not start (stdout {line:?}).\n{errors}\n\
                 The S3 tests need Python 3 with moto's server: pip install 'moto[server]' (make test-deps does)"
            );
        };
        // Keep draining stderr so that a chatty server never blocks on a full pipe.
        thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        let stdin = child.stdin.take().expect("piped stdin");
        let moto = Moto { port, _child: child, _stdin: stdin };
        let (status, body) = moto.request("PUT", &format!("/{BUCKET}"), b"");
        assert_eq!(status, 200, "creating the test bucket: {}", String::from_utf8_lossy(&body));
        moto
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Settings for this server with the test credentials (moto accepts any).
    pub fn settings(&self) -> S3Settings {
        settings_for(&self.endpoint())
    }

    /// A store on this server under `s3://BUCKET/<prefix>`.
    pub fn store(&self, prefix: &str) -> S3Store {
        S3Store::open(&format!("s3://{BUCKET}/{prefix}"), self.settings()).expect("open the S3 store")
    }

    /// One HTTP/1.1 request with a made-up signature (moto does not check signatures, but refuses
    /// anonymous reads of private objects); returns the status and body.
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: {FAKE_AUTHORIZATION}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("send request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read response");
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
        let status = String::from_utf8_lossy(&response[..split])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        (status, response[split + 4..].to_vec())
    }
}

/// Test credentials for `endpoint`, plain http allowed.
pub fn settings_for(endpoint: &str) -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint.to_owned()),
        region: Some("us-east-1".to_owned()),
        access_key_id: Some("testing-key".to_owned()),
        secret_access_key: Some("testing-secret".to_owned()),
        session_token: None,
        allow_http: true,
    }
}

/// A TCP proxy in front of the server that records what passes both ways, to count requests,
/// responses and bytes.
pub struct CountingProxy {
    port: u16,
    downstream: Arc<Mutex<Vec<u8>>>,
    upstream: Arc<Mutex<Vec<u8>>>,
}

impl CountingProxy {
    /// Listen on a free loopback port and forward every connection to moto.
    pub fn start(target: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let downstream = Arc::new(Mutex::new(Vec::new()));
        let upstream = Arc::new(Mutex::new(Vec::new()));
        let (down, up) = (Arc::clone(&downstream), Arc::clone(&upstream));
        thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { break };
                let (down, up) = (Arc::clone(&down), Arc::clone(&up));
                let (client_read, server_write) =
                    (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                thread::spawn(move || pump(client_read, server_write, |chunk| up.lock().expect("lock").extend(chunk)));
                thread::spawn(move || pump(server, client, |chunk| down.lock().expect("lock").extend(chunk)));
            }
        });
        CountingProxy { port, downstream, upstream }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Bytes the server has sent through the proxy so far (heads and bodies).
    pub fn bytes_down(&self) -> u64 {
        self.downstream.lock().expect("lock").len() as u64
    }

    /// How many responses with this status have come back so far.
    pub fn responses(&self, status: u16) -> usize {
        count(&self.downstream.lock().expect("lock"), &format!("HTTP/1.1 {status} "))
    }

    /// How many requests with this method have gone through so far.
    pub fn requests(&self, method: &str) -> usize {
        count(&self.upstream.lock().expect("lock"), &format!("{method} /"))
    }
}

/// Occurrences of `needle` in `haystack`.
fn count(haystack: &[u8], needle: &str) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

/// Copy `from` to `to`, showing each chunk to `seen`, until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream, mut seen: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        seen(&buf[..n]);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
