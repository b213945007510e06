//! Crash safety of the archive: a real server process is killed with SIGKILL at several moments
//! while it archives an accepted report. After each kill no stored file is partial under its final
//! name, no database row points at a missing file, and a restart completes the acceptance with a
//! PDF that verifies. `mmr fixity` then finds every file intact.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{mmr, run, start_server};

/// One HTTP/1.1 request with a JSON body; returns the status and the parsed JSON body.
pub(super) fn http(addr: &str, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let payload = body.map(Value::to_string).unwrap_or_default();
    let content_type = if body.is_some() { "Content-Type: application/json\r\n" } else { "" };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    // A server killed mid-request resets the connection: that reads as status 0.
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A long report (every template section, many paragraphs) so that rendering takes a while.
fn long_report(city: &str) -> Value {
    report(city, 60)
}

/// A report with every template section, each of `paragraphs` paragraphs.
pub(super) fn report(city: &str, paragraphs: usize) -> Value {
    let filler = "The city's programme brought producers, schools and restaurants together. ".repeat(12);
    let mut report = format!("# Executive Summary\n\n{city} reports.\n\n");
    for section in [
        "General Information",
        "Contribution to the Network's Global Management",
        "Major Initiatives Implemented at the Local Level",
        "Major Initiatives Implemented through Inter-City Cooperation",
    ] {
        report.push_str(&format!("# {section}\n\n"));
        for i in 0..paragraphs {
            report.push_str(&format!("Paragraph {i}. {filler}\n\n"));
        }
    }
    let plan = "# Proposed Action Plan for the Forthcoming Four-Year Period\n\n## Local Initiatives\n\nGardens.\n\n\
                ## International and Inter-City Initiatives\n\nExchanges.\n\n## Budget\n\n100000 EUR.\n\n\
                ## Communication and Awareness Plan\n\nA festival.\n";
    json!({ "report_markdown": report, "action_plan_markdown": plan })
}

pub(super) fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under its final name in the store holds exactly the bytes its name says.
fn assert_no_partial_objects(archive: &Path) {
    let objects = archive.join("objects");
    let mut stack = vec![objects];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                assert_eq!(hex(&std::fs::read(&path).unwrap()), name, "partial or foreign file {}", path.display());
            }
        }
    }
}

/// What the database holds for a submission right after a kill: `(decided, archived)`.
fn state_after_kill(dir: &Path, submission: i64) -> (bool, bool) {
    let script = format!(
        "import sqlite3; c = sqlite3.connect('{}'); \
         print(c.execute('select count(*) from review_decisions where submission_id = {submission}').fetchone()[0], \
               c.execute('select count(*) from archived_documents where submission_id = {submission}').fetchone()[0])",
        dir.join("mmr.sqlite3").display()
    );
    let out = Command::new("python3").args(["-c", &script]).output().expect("python3 (make test installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let counts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(counts.len(), 2, "{text} {}", String::from_utf8_lossy(&out.stderr));
    (counts[0] == "1", counts[1] == "1")
}

fn kill9(child: &mut std::process::Child) {
    let status = Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let _ = child.wait();
}

#[test]
fn killing_the_server_while_it_archives_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let delays_ms = [0u64, 40, 150, 400, 1200];
    // One city per kill, designated in 2010: their 2022–2026 cycle takes submissions today and
    // later (open, then overdue).
    let mut csv = String::from("name,country,iso3166_alpha2,creative_field,designation_year,verified,slug\n");
    for i in 0..delays_ms.len() {
        csv.push_str(&format!("Crashville {i},Sweden,SE,gastronomy,2010,yes,crashville-{i}\n"));
    }
    let file = dir.path().join("cities.csv");
    std::fs::write(&file, csv).unwrap();
    let (ok, _, err) = run(mmr(dir.path()).args(["cities", "import"]).arg(&file));
    assert!(ok, "{err}");
    let token = |args: &[&str]| {
        let (ok, out, err) = run(mmr(dir.path()).args(["token", "create"]).args(args));
        assert!(ok, "{err}");
        out.trim().to_owned()
    };
    let admin = token(&["--role", "secretariat", "--name", "desk"]);
    let archive = dir.path().join("archive");
    let mut moments = Vec::new();

    for (i, delay) in delays_ms.iter().enumerate() {
        let slug = format!("crashville-{i}");
        let city = token(&["--role", "city", "--city", &slug, "--name", &slug]);
        let (mut server, addr) = start_server(dir.path(), &[("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")]);
        let (status, cycles) = http(&addr, "GET", &format!("/api/v1/cities/{slug}/cycles"), &city, None);
        assert_eq!(status, 200, "{cycles}");
        let cycle = cycles["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "open" || c["status"] == "overdue")
            .expect("a cycle that takes submissions")["id"]
            .as_i64()
            .unwrap();
        let (status, version) =
            http(&addr, "POST", &format!("/api/v1/cycles/{cycle}/submissions"), &city, Some(&long_report(&slug)));
        assert_eq!(status, 201, "{version}");
        let submission = version["id"].as_i64().unwrap();

        // Accept, and kill the server `delay` ms into the request.
        let (a, t) = (addr.clone(), admin.clone());
        let accept = std::thread::spawn(move || {
            http(
                &a,
                "POST",
                &format!("/api/v1/submissions/{submission}/decision"),
                &t,
                Some(&json!({ "decision": "accept" })),
            )
        });
        std::thread::sleep(Duration::from_millis(*delay));
        kill9(&mut server);
        let _ = accept.join();
        assert_no_partial_objects(&archive);
        let moment = match state_after_kill(dir.path(), submission) {
            (false, _) => "before the decision",
            (true, false) => "while archiving",
            (true, true) => "after archiving",
        };
        moments.push(format!("{delay} ms: {moment}"));

        // After a restart the acceptance is completed (if it was recorded) or can be made again.
        let (mut server, addr) = start_server(dir.path(), &[("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")]);
        let (_, v) = http(&addr, "GET", &format!("/api/v1/submissions/{submission}"), &admin, None);
        if v["decision"].is_null() {
            let (status, body) = http(
                &addr,
                "POST",
                &format!("/api/v1/submissions/{submission}/decision"),
                &admin,
                Some(&json!({ "decision": "accept" })),
            );
            assert_eq!(status, 201, "{body}");
        }
        let started = Instant::now();
        let archive_id = loop {
            let (_, v) = http(&addr, "GET", &format!("/api/v1/submissions/{submission}"), &admin, None);
            if let Some(id) = v["archive_id"].as_i64() {
                break id;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "the acceptance was not completed: {v}");
            std::thread::sleep(Duration::from_millis(200));
        };
        let (status, verified) = http(&addr, "GET", &format!("/api/v1/archive/{archive_id}/verify"), &admin, None);
        assert_eq!((status, verified["matches"].as_bool()), (200, Some(true)), "kill after {delay} ms: {verified}");
        kill9(&mut server);
        assert_no_partial_objects(&archive);
    }

    // At least one kill landed between the recorded acceptance and its archive entry.
    assert!(moments.iter().any(|m| m.ends_with("while archiving")), "{moments:?}");
    eprintln!("kills: {moments:?}");

    // Every row points at intact files.
    let (ok, out, err) = run(mmr(dir.path()).arg("fixity"));
    assert!(ok, "{out}{err}");
    assert!(out.contains(&format!("{} files of {} archived reports", 2 * delays_ms.len(), delays_ms.len())), "{out}");

    // A damaged file: non-zero exit, the file named, and a message to the Secretariat (written to
    // the outbox, as no SMTP server is configured; quoted-printable soft breaks are undone).
    let victim = std::fs::read_dir(archive.join("objects"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .next()
        .unwrap();
    let mut perms = std::fs::metadata(&victim).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&victim, perms).unwrap();
    std::fs::write(&victim, b"not what was archived").unwrap();
    let (ok, out, err) = run(mmr(dir.path()).arg("fixity"));
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(!ok && out.contains(&format!("changed ({name})")), "{out}{err}");
    assert!(err.contains("1 archived file(s) are missing or changed"), "{err}");
    let outbox: Vec<String> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap().replace("=\r\n", ""))
        .collect();
    assert!(outbox.iter().any(|m| m.contains("fixity check") && m.contains(&name)), "{outbox:?}");
}

/// An archived report's source bundle, rendered again offline with `mmr render-bundle`, gives the
/// archived PDF's exact bytes; a bundle that names another renderer is warned about.
#[test]
fn a_source_bundle_renders_offline_to_the_archived_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("cities.csv");
    std::fs::write(
        &csv,
        "name,country,iso3166_alpha2,creative_field,designation_year,verified,slug\nBundleton,Sweden,SE,gastronomy,2010,yes,bundleton\n",
    )
    .unwrap();
    let (ok, _, err) = run(mmr(dir.path()).args(["cities", "import"]).arg(&csv));
    assert!(ok, "{err}");
    let token = |args: &[&str]| run(mmr(dir.path()).args(["token", "create"]).args(args)).1.trim().to_owned();
    let admin = token(&["--role", "secretariat", "--name", "desk"]);
    let city = token(&["--role", "city", "--city", "bundleton", "--name", "focal"]);
    let (mut server, addr) = start_server(dir.path(), &[("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")]);
    let (_, cycles) = http(&addr, "GET", "/api/v1/cities/bundleton/cycles", &city, None);
    let cycle =
        cycles["items"].as_array().unwrap().iter().find(|c| c["status"] == "open" || c["status"] == "overdue").unwrap()
            ["id"]
            .as_i64()
            .unwrap();
    let (status, version) =
        http(&addr, "POST", &format!("/api/v1/cycles/{cycle}/submissions"), &city, Some(&report("Bundleton", 40)));
    assert_eq!(status, 201, "{version}");
    let (status, decided) = http(
        &addr,
        "POST",
        &format!("/api/v1/submissions/{}/decision", version["id"]),
        &admin,
        Some(&json!({ "decision": "accept" })),
    );
    assert_eq!(status, 201, "{decided}");
    let (_, entry) = http(&addr, "GET", &format!("/api/v1/archive/{}", decided["archive_id"]), &admin, None);
    kill9(&mut server);
    let (pdf_sha, bundle_sha) =
        (entry["pdf"]["sha256"].as_str().unwrap(), entry["source_bundle"]["sha256"].as_str().unwrap());
    let bundle = dir.path().join("archive/objects").join(&bundle_sha[..2]).join(&bundle_sha[2..4]).join(bundle_sha);
    let out = dir.path().join("again.pdf");
    let (ok, stdout, stderr) = run(mmr(dir.path()).arg("render-bundle").arg(&bundle).arg("-o").arg(&out));
    assert!(ok, "{stderr}");
    assert!(stdout.ends_with(&format!("SHA-256 {pdf_sha}\n")), "{stdout}");
    assert_eq!(hex(&std::fs::read(&out).unwrap()), pdf_sha, "the file written is the one hashed");
    assert!(stderr.is_empty(), "same renderer, no warning: {stderr}");
    // Not a bundle: a clear error, no PDF.
    let (ok, _, stderr) = run(mmr(dir.path()).arg("render-bundle").arg(&csv).arg("-o").arg(dir.path().join("x.pdf")));
    assert!(!ok && !stderr.is_empty() && !dir.path().join("x.pdf").exists(), "{stderr}");
}
