//! The deployment guide's files work as written (docs/DEPLOYMENT.md): the systemd unit passes
//! `systemd-analyze verify` without a warning, and the nginx site, with only its host-specific
//! values replaced (ports, certificate, upstream), serves a real `mmr serve` over TLS: plain HTTP
//! redirected, the API and the pages through it, and a body over nginx's default 1 MiB limit
//! reaching the server, which names its own limit.

use std::path::Path;
use std::process::Command;

use super::proxy::{Nginx, Server, free_port};
use super::{mmr, run, start_logged_server};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy");

#[test]
fn the_systemd_unit_verifies() {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!("SKIPPED: systemd-analyze is not on this machine (Debian's systemd package has it)");
        return;
    }
    let unit = std::fs::read_to_string(Path::new(DEPLOY).join("mmr.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/mmr serve\n"), "the guide installs the binary there");
    // The binary under test stands where the guide installs it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mmr.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/mmr", env!("CARGO_BIN_EXE_mmr"))).unwrap();
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
}

/// `curl` to the local nginx: the status, the headers and the body.
fn curl(args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-sk", "--max-time", "60", "-D", "-", "-o", "-"])
        .args(args)
        .output()
        .expect("curl (make test-deps installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

#[test]
fn the_nginx_site_serves_the_server_over_tls() {
    let data = tempfile::tempdir().unwrap();
    let (ok, token, err) = run(mmr(data.path()).args(["token", "create", "--role", "secretariat", "--name", "ops"]));
    assert!(ok, "{err}");
    let (server, addr, _log) = start_logged_server(
        data.path(),
        &[("MMR_TRUSTED_PROXIES", "127.0.0.1"), ("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")],
    );
    let _server = Server(server);

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=reports.example.org"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (make test-deps installs it)");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));

    let site = std::fs::read_to_string(Path::new(DEPLOY).join("nginx.conf")).unwrap();
    let (http, https) = (free_port(), free_port());
    // Only what belongs to a host changes; IPv6 listeners are dropped (not every sandbox has ::1).
    let replacements = [
        ("server 127.0.0.1:8080;", format!("server {addr};")),
        ("listen 80;", format!("listen 127.0.0.1:{http};")),
        ("listen 443 ssl;", format!("listen 127.0.0.1:{https} ssl;")),
        ("/etc/letsencrypt/live/reports.example.org/fullchain.pem", cert.display().to_string()),
        ("/etc/letsencrypt/live/reports.example.org/privkey.pem", key.display().to_string()),
    ];
    let mut local = site.lines().filter(|l| !l.trim_start().starts_with("listen [::]")).collect::<Vec<_>>().join("\n");
    for (from, to) in &replacements {
        assert!(local.contains(from), "the site no longer has `{from}`: update this test and the guide");
        local = local.replace(from, to);
    }
    let nginx = Nginx::serve(https, dir, &local);
    let base = format!("https://127.0.0.1:{https}");

    let (status, head, _) = curl(&[&format!("http://127.0.0.1:{http}/reports")]);
    assert_eq!(status, 301, "plain HTTP is redirected: {head}");
    assert!(head.to_ascii_lowercase().contains("location: https://"), "{head}");

    let (status, head, body) = curl(&[&format!("{base}/readyz")]);
    assert_eq!(status, 200, "{head}{body}{}", nginx.error_log());
    assert!(head.to_ascii_lowercase().contains("strict-transport-security"), "{head}");
    let (status, _, body) = curl(&[&format!("{base}/api/docs")]);
    assert_eq!(status, 200);
    assert!(body.contains("<h1>API reference</h1>"));

    // 2 MiB is past nginx's own default limit and within the site's: the server answers, with
    // the limit of the route (1 MiB for a city), in its JSON error.
    let big = temp_file(&format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20)));
    let auth = format!("Authorization: Bearer {}", token.trim());
    let (status, head, body) = curl(&[
        "-X",
        "POST",
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "-H",
        "Expect:",
        "--data-binary",
        &format!("@{}", big.path().display()),
        &format!("{base}/api/v1/cities"),
    ]);
    assert_eq!(status, 413, "{head}");
    assert!(body.contains("\"payload_too_large\"") && body.contains("1 MiB"), "the server's own 413: {body}");
}

fn temp_file(content: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), content).unwrap();
    file
}
