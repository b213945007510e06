//! Runs `smtp_server.py` (aiosmtpd) as a child process on a free loopback port, and reads what it
//! received. A missing Python or aiosmtpd fails the test with the command that fixes it.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

/// How long the server may take to start.
const STARTUP: Duration = Duration::from_secs(30);

/// A running SMTP server; killed when dropped.
pub struct SmtpServer {
    child: Child,
    port: u16,
    inbox: TempDir,
}

impl SmtpServer {
    /// A plain SMTP server.
    pub fn start() -> Self {
        Self::spawn(&[])
    }

    /// A server that requires STARTTLS with the given certificate chain and key.
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        Self::spawn(&["--tls-cert".as_ref(), cert.as_os_str(), "--tls-key".as_ref(), key.as_os_str()])
    }

    fn spawn(extra: &[&std::ffi::OsStr]) -> Self {
        let inbox = tempfile::tempdir().expect("tempdir");
        let log = inbox.path().join("server.log");
        let python = std::env::var("MMR_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut child = Command::new(&python)
            .arg(script())
            .arg("--dir")
            .arg(inbox.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {python} ({e}): the SMTP tests need Python 3 and `pip install aiosmtpd`")
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(STARTUP).unwrap_or_default();
        let port = line.strip_prefix("LISTENING ").and_then(|port| port.trim().parse::<u16>().ok());
        match port {
            Some(port) => SmtpServer { child, port, inbox },
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                panic!(
                    "the SMTP test server did not start (stdout {line:?}).\n{stderr}\n\
                     The SMTP tests need Python 3 with aiosmtpd: pip install aiosmtpd"
                );
            }
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, in order, as decoded by Python's `email` package:
    /// `{"mail_from", "rcpt_tos", "tls", "headers": {name: value}, "content_type", "charset",
    /// "body"}`.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let mut numbered: Vec<(u32, PathBuf)> = std::fs::read_dir(self.inbox.path())
            .expect("inbox")
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                let n = path.file_name()?.to_str()?.strip_suffix(".json")?.parse().ok()?;
                Some((n, path))
            })
            .collect();
        numbered.sort();
        numbered
            .into_iter()
            .map(|(_, path)| {
                let text = std::fs::read_to_string(&path).expect("readable record");
                serde_json::from_str(&text).expect("JSON record")
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/mail/smtp_server.py`, found beside this file: `file!()` is relative to the package root
/// (the tests' working directory) in the main crate and absolute when built from elsewhere.
fn script() -> PathBuf {
    Path::new(file!()).with_file_name("smtp_server.py")
}
