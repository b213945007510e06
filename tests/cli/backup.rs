//! `mmr backup DIR` against a live server under write load: the backup is taken while a client
//! keeps registering cities and contacts, saving drafts, submitting and accepting reports over
//! HTTP; it is restored into an empty data directory by copying its database and archive, served,
//! and every cycle, version, reminder and archived file it holds is found as the live server has
//! it, with `mmr fixity` clean.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::archive::{hex, http, report};
use super::{mmr, run, start_server};

/// Cities in the load, designated in 2010: their 2022–2026 cycle takes submissions.
const CITIES: usize = 40;

/// A GET whose body is bytes (a PDF, a ZIP); returns the status and the body.
fn download(addr: &str, path: &str, token: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

/// Every item of a paginated list.
fn all_items(addr: &str, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    for page in 1.. {
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, body) = http(addr, "GET", &format!("{path}{sep}per_page=200&page={page}"), token, None);
        assert_eq!(status, 200, "{path}: {body}");
        let got = body["items"].as_array().unwrap().clone();
        let done = got.len() < 200;
        items.extend(got);
        if done {
            break;
        }
    }
    items
}

/// What a server holds, by id: cycles (city, due date), versions (cycle, number, digest) and
/// reminders (cycle, stage, recipient), the facts that never change once written.
#[derive(Debug, Default)]
struct Holdings {
    cycles: BTreeMap<i64, Value>,
    versions: BTreeMap<i64, Value>,
    reminders: BTreeMap<i64, Value>,
}

fn holdings(addr: &str, token: &str) -> Holdings {
    let mut h = Holdings::default();
    for c in all_items(addr, "/api/v1/cycles", token) {
        let id = c["id"].as_i64().unwrap();
        h.cycles.insert(id, json!([c["city"]["slug"], c["scheduled_due_date"], c["number"]]));
        for v in all_items(addr, &format!("/api/v1/cycles/{id}/submissions"), token) {
            h.versions.insert(v["id"].as_i64().unwrap(), json!([v["cycle_id"], v["version"], v["bundle_sha256"]]));
        }
    }
    for r in all_items(addr, "/api/v1/reminders", token) {
        h.reminders.insert(r["id"].as_i64().unwrap(), json!([r["cycle_id"], r["stage"], r["recipient"], r["kind"]]));
    }
    h
}

/// Copies the directory tree `from` into `to`, keeping permission bits.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_backup_taken_under_write_load_restores_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let mut csv = String::from("name,country,iso3166_alpha2,creative_field,designation_year,verified,slug\n");
    for i in 0..CITIES {
        csv.push_str(&format!("Loadville {i},Sweden,SE,gastronomy,2010,yes,loadville-{i}\n"));
    }
    std::fs::create_dir(&live).unwrap();
    std::fs::write(dir.path().join("cities.csv"), csv).unwrap();
    let (ok, _, err) = run(mmr(&live).args(["cities", "import"]).arg(dir.path().join("cities.csv")));
    assert!(ok, "{err}");
    let (ok, token, err) = run(mmr(&live).args(["token", "create", "--role", "secretariat", "--name", "desk"]));
    assert!(ok, "{err}");
    let admin = token.trim().to_owned();
    let quiet = [("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")];
    let (mut server, addr) = start_server(&live, &quiet);
    let cycle_of = |slug: &str| {
        let (status, cycles) = http(&addr, "GET", &format!("/api/v1/cities/{slug}/cycles"), &admin, None);
        assert_eq!(status, 200, "{cycles}");
        cycles["items"].as_array().unwrap().iter().find(|c| c["status"] == "open" || c["status"] == "overdue").unwrap()
            ["id"]
            .as_i64()
            .unwrap()
    };
    let cycles: Vec<i64> = (0..CITIES).map(|i| cycle_of(&format!("loadville-{i}"))).collect();

    // Some history before the load: contacts, reminders planned and sent (to the outbox), and two
    // accepted reports in the archive.
    for i in 0..4 {
        let contact = json!({ "name": "Focal", "email": format!("focal@loadville-{i}.test"), "primary": true });
        let (status, body) =
            http(&addr, "POST", &format!("/api/v1/cities/loadville-{i}/contacts"), &admin, Some(&contact));
        assert_eq!(status, 201, "{body}");
    }
    let (ok, out, err) = run(mmr(&live).arg("remind"));
    assert!(ok, "{out}{err}");
    for cycle in &cycles[..2] {
        let (status, version) =
            http(&addr, "POST", &format!("/api/v1/cycles/{cycle}/submissions"), &admin, Some(&report("Loadville", 2)));
        assert_eq!(status, 201, "{version}");
        let decision = json!({ "decision": "accept" });
        let path = format!("/api/v1/submissions/{}", version["id"]);
        let (status, body) = http(&addr, "POST", &format!("{path}/decision"), &admin, Some(&decision));
        assert_eq!(status, 201, "{body}");
        let started = Instant::now();
        while http(&addr, "GET", &path, &admin, None).1["archive_id"].is_null() {
            assert!(started.elapsed() < Duration::from_secs(60), "{path} was not archived");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let revision_due = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();

    // The load: one client writing in a loop until told to stop.
    let (stop, writes) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let writer = {
        let (stop, writes, addr, admin, cycles) =
            (stop.clone(), writes.clone(), addr.clone(), admin.clone(), cycles.clone());
        let revise =
            json!({ "decision": "request_revision", "comments": "More, please.", "revision_due": revision_due });
        std::thread::spawn(move || {
            let mut k = 0usize;
            while !stop.load(Ordering::SeqCst) && k < 1000 {
                let i = 2 + k % (CITIES - 2);
                let slug = format!("loadville-{i}");
                let city = json!({ "slug": format!("newtown-{k}"), "name": format!("Newtown {k}"), "country": "PT",
                    "field": "music", "designation_date": "2019-10-31", "time_zone": "Europe/Lisbon" });
                let contact = json!({ "name": format!("Focal {k}"), "email": format!("f{k}@{slug}.test") });
                let cycle = cycles[i];
                let steps: [(&str, String, Option<Value>); 4] = [
                    ("POST", "/api/v1/cities".to_owned(), Some(city)),
                    ("POST", format!("/api/v1/cities/{slug}/contacts"), Some(contact)),
                    ("PUT", format!("/api/v1/cycles/{cycle}/draft"), Some(report(&format!("Draft {k}"), 1))),
                    ("POST", format!("/api/v1/cycles/{cycle}/submissions"), None),
                ];
                let mut version = Value::Null;
                for (method, path, body) in steps {
                    let (status, answer) = http(&addr, method, &path, &admin, body.as_ref());
                    assert!(matches!(status, 200 | 201), "{method} {path}: {status} {answer}");
                    writes.fetch_add(1, Ordering::SeqCst);
                    version = answer;
                }
                // A revision request, so that the cycle takes the next version.
                let path = format!("/api/v1/submissions/{}/decision", version["id"]);
                let (status, answer) = http(&addr, "POST", &path, &admin, Some(&revise));
                assert_eq!(status, 201, "{path}: {answer}");
                k += 1;
            }
        })
    };
    let started = Instant::now();
    while writes.load(Ordering::SeqCst) < 20 {
        assert!(started.elapsed() < Duration::from_secs(30), "the load does not get going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let backup = dir.path().join("backup");
    let before = writes.load(Ordering::SeqCst);
    let (ok, out, err) = run(mmr(&live).arg("backup").arg(&backup));
    let during = writes.load(Ordering::SeqCst) - before;
    assert!(ok, "{out}{err}");
    // Some more writes after the backup, then stop.
    let after_backup = writes.load(Ordering::SeqCst);
    while writes.load(Ordering::SeqCst) < after_backup + 8 {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    eprintln!("backup: {out}{} writes landed while it ran", during);
    assert!(out.contains("4 archived files copied from local directory"), "{out}");

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(backup.join("manifest.json")).unwrap()).unwrap();
    let rows = &manifest["database"]["rows"];
    let live_holdings = holdings(&addr, &admin);
    assert!(
        live_holdings.versions.len() as i64 > rows["submissions"].as_i64().unwrap(),
        "writes went on after the backup, so the live server has more versions than the backup"
    );

    // Restore: the database and the archive copied into an empty data directory.
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(backup.join("mmr.sqlite3"), restored.join("mmr.sqlite3")).unwrap();
    copy_tree(&backup.join("archive"), &restored.join("archive"));
    let (mut second, restored_addr) = start_server(&restored, &quiet);
    let restored_holdings = holdings(&restored_addr, &admin);
    second.kill().unwrap();
    second.wait().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    // What the manifest counts is what the restore holds, and each of it is as the live server has
    // it. The restored server syncs cycles at start, like any start: the cities registered during
    // the load get theirs then (the live server, started before them, has none yet).
    let (synced_at_start, kept): (Vec<_>, Vec<_>) =
        restored_holdings.cycles.iter().partition(|(id, _)| !live_holdings.cycles.contains_key(id));
    assert_eq!(kept.len() as i64, rows["reporting_cycles"].as_i64().unwrap());
    for (id, facts) in synced_at_start {
        assert!(facts[0].as_str().unwrap().starts_with("newtown-"), "cycle {id} {facts} is not in the live server");
    }
    assert_eq!(restored_holdings.versions.len() as i64, rows["submissions"].as_i64().unwrap());
    assert_eq!(restored_holdings.reminders.len() as i64, rows["reminders"].as_i64().unwrap());
    assert!(!restored_holdings.reminders.is_empty() && restored_holdings.versions.len() > 2, "{rows}");
    let kept: BTreeMap<i64, Value> = kept.into_iter().map(|(id, facts)| (*id, facts.clone())).collect();
    for (what, restored, live) in [
        ("cycle", &kept, &live_holdings.cycles),
        ("version", &restored_holdings.versions, &live_holdings.versions),
        ("reminder", &restored_holdings.reminders, &live_holdings.reminders),
    ] {
        for (id, facts) in restored {
            assert_eq!(live.get(id), Some(facts), "{what} {id}");
        }
    }
    // Every archived file the manifest lists is served by the restore with its listed digest.
    let files = manifest["archive"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "{manifest}");
    let (mut third, restored_addr) = start_server(&restored, &quiet);
    for file in files {
        let kind = if file["kind"] == "pdf" { "pdf" } else { "source" };
        let (status, bytes) =
            download(&restored_addr, &format!("/api/v1/archive/{}/{kind}", file["archive_id"]), &admin);
        assert_eq!(status, 200);
        assert_eq!(hex(&bytes), file["sha256"].as_str().unwrap(), "{file}");
        assert_eq!(bytes.len() as i64, file["bytes"].as_i64().unwrap());
    }
    third.kill().unwrap();
    third.wait().unwrap();
    let (ok, out, err) = run(mmr(&restored).arg("fixity"));
    assert!(ok, "{out}{err}");
    assert!(out.contains("4 files of 2 archived reports") && out.contains("0 problem(s)"), "{out}");
}

/// A backup goes into a new or empty directory only, and PostgreSQL is pointed to pg_dump.
#[test]
fn backup_refuses_a_used_directory_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(mmr(dir.path()).arg("migrate")).0);
    let (ok, _, err) = run(mmr(dir.path()).arg("backup").arg(dir.path()));
    assert!(!ok && err.contains("is not empty: a backup goes into a new or empty directory"), "{err}");
    let (ok, out, err) = run(mmr(dir.path()).arg("backup").arg(dir.path().join("b")));
    assert!(ok && out.contains("0 archived files copied"), "{out}{err}");
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&dir.path().join("b")), mode(&dir.path().join("b/mmr.sqlite3"))), (0o700, 0o600));
    let Some(url) = super::postgres_url() else { return };
    let (ok, _, err) = run(mmr(dir.path()).arg("backup").arg(dir.path().join("c")).env("MMR_DATABASE_URL", url));
    assert!(
        !ok && err.contains("MMR_DATABASE_URL: mmr backup copies a SQLite database; for PostgreSQL use pg_dump"),
        "{err}"
    );
    assert!(!dir.path().join("c").exists(), "nothing is written for PostgreSQL");
}
