//! Behind a real reverse proxy: nginx (Debian's `nginx-light`, which `make test-deps` installs)
//! runs in the foreground as the current user, from a configuration written to a temporary
//! directory, on a free port, in front of a real `mmr serve` that trusts it
//! (`MMR_TRUSTED_PROXIES`). Clients reach nginx from different loopback addresses; nginx appends
//! each one's address to `X-Forwarded-For`, and the server counts, logs and audits that client.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{mmr, run, start_logged_server};

/// The nginx binary: on `PATH`, or where Debian puts it (`/usr/sbin` is not on every user's path).
fn nginx_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file());
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.is_file()))
        .unwrap_or_else(|| panic!("nginx is missing: install the Debian package nginx-light (make test-deps does)"))
}

/// nginx in the foreground, killed when dropped.
pub(super) struct Nginx {
    child: Child,
    pub(super) port: u16,
    pub(super) dir: tempfile::TempDir,
}

/// A free local port.
pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Nginx {
    /// Proxies `127.0.0.1:<free port>` to `upstream`, adding the client to `X-Forwarded-For`.
    fn start(upstream: &str) -> Nginx {
        let port = free_port();
        let server = format!(
            "server {{\n\
               listen 127.0.0.1:{port};\n\
               location / {{\n\
                 proxy_pass http://{upstream};\n\
                 proxy_set_header Host $host;\n\
                 proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
               }}\n\
             }}\n"
        );
        Nginx::serve(port, tempfile::tempdir().unwrap(), &server)
    }

    /// nginx with `servers` (configuration of its `http` block) in `dir`, once it listens on `port`.
    pub(super) fn serve(port: u16, dir: tempfile::TempDir, servers: &str) -> Nginx {
        let p = |name: &str| dir.path().join(name).display().to_string();
        // Every path nginx would otherwise take from its build (under /var) is in the directory.
        let conf = format!(
            "worker_processes 1;\n\
             pid {pid};\n\
             error_log {error} warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n\
               access_log {access};\n\
               client_body_temp_path {body}; proxy_temp_path {proxy}; fastcgi_temp_path {fastcgi};\n\
               uwsgi_temp_path {uwsgi}; scgi_temp_path {scgi};\n\
               proxy_max_temp_file_size 0;\n\
               {servers}\n\
             }}\n",
            pid = p("nginx.pid"),
            error = p("error.log"),
            access = p("access.log"),
            body = p("body"),
            proxy = p("proxy"),
            fastcgi = p("fastcgi"),
            uwsgi = p("uwsgi"),
            scgi = p("scgi"),
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx { child, port, dir };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited ({status}): {}", nginx.error_log());
            }
            assert!(started.elapsed() < Duration::from_secs(20), "nginx did not listen: {}", nginx.error_log());
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }

    pub(super) fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    /// SIGTERM (a fast shutdown that also stops the worker; SIGKILL would orphan it).
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A server process killed when the test ends, passed or failed.
pub(super) struct Server(pub(super) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A log line without its colours.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// One HTTP/1.1 request to `127.0.0.1:port` from the loopback address `from`; returns the status
/// and the body.
fn request_from(
    port: u16,
    from: [u8; 4],
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((from, 0))).unwrap();
        let mut stream = socket.connect(SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: mmr.test\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not HTTP: {answer}"));
        (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
    })
}

#[test]
fn behind_nginx_the_rate_limit_counts_each_forwarded_client() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(mmr(dir.path()).args(["token", "create", "--role", "secretariat", "--name", "desk"]));
    assert!(ok, "{err}");
    let admin = format!("Bearer {}", out.trim());
    let (server, addr, log) = start_logged_server(
        dir.path(),
        &[
            ("MMR_TRUSTED_PROXIES", "127.0.0.1"),
            ("MMR_RATE_LIMIT", "5"),
            ("MMR_RATE_LIMIT_BURST", "5"),
            ("MMR_REMINDER_CRON", ""),
            ("MMR_FIXITY_CRON", ""),
        ],
    );
    let _server = Server(server);
    let nginx = Nginx::start(&addr);
    let get = |from: [u8; 4], headers: &[(&str, &str)]| {
        request_from(nginx.port, from, "GET", "/api/v1/fields", headers, "").0
    };

    // Two clients of the proxy: each has its own allowance of 5, though both come from nginx.
    for client in [[127, 0, 0, 2], [127, 0, 0, 3]] {
        for i in 0..5 {
            assert_eq!(get(client, &[]), 200, "{client:?} request {i}: {}", nginx.error_log());
        }
        assert_eq!(get(client, &[]), 429, "{client:?}");
    }
    // A refused client cannot buy a new allowance by writing the header itself: nginx appends
    // the address it sees, and the server takes the right-most.
    assert_eq!(get([127, 0, 0, 2], &[("X-Forwarded-For", "198.51.100.7")]), 429);
    // Straight to the server from a peer that is not a trusted proxy, the header is ignored.
    let direct = |from: [u8; 4], headers: &[(&str, &str)]| {
        request_from(server_port(&addr), from, "GET", "/api/v1/fields", headers, "").0
    };
    assert_eq!(direct([127, 0, 0, 4], &[("X-Forwarded-For", "127.0.0.5")]), 200);
    for _ in 0..4 {
        assert_eq!(direct([127, 0, 0, 4], &[("X-Forwarded-For", "127.0.0.6")]), 200);
    }
    assert_eq!(
        direct([127, 0, 0, 4], &[("X-Forwarded-For", "127.0.0.7")]),
        429,
        "an untrusted peer's header is ignored"
    );

    // A change made through nginx is audited with the client's address, and logged with it.
    let body = r#"{"slug":"lisbon","name":"Lisboa","country":"PT","field":"music","designation_date":"2015-12-11","time_zone":"Europe/Lisbon"}"#;
    let (status, answer) =
        request_from(nginx.port, [127, 0, 0, 8], "POST", "/api/v1/cities", &[("Authorization", &admin)], body);
    assert_eq!(status, 201, "{answer}");
    let (status, audit) = request_from(
        nginx.port,
        [127, 0, 0, 8],
        "GET",
        "/api/v1/audit?action=city.create",
        &[("Authorization", &admin)],
        "",
    );
    assert_eq!(status, 200, "{audit}");
    let audit: serde_json::Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit["items"][0]["client_addr"], "127.0.0.8", "{audit}");
    let logged = |client: &str| {
        log.lock().unwrap().iter().map(|l| plain(l)).any(|l| {
            l.contains("path=/api/v1/cities") && l.contains(&format!("client={client}")) && l.contains("status=201")
        })
    };
    let started = Instant::now();
    while !logged("127.0.0.8") {
        let tail: Vec<String> = log.lock().unwrap().iter().rev().take(5).map(|l| plain(l)).collect();
        assert!(started.elapsed() < Duration::from_secs(10), "no log line names the client: {tail:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(std::fs::read_to_string(nginx.dir.path().join("access.log")).unwrap().contains("127.0.0.8"));
}

/// The port of a `host:port` address.
fn server_port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}
