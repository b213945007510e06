//! `mmr demo load`: the demonstration reports a newcomer's `make run` loads, taken through the
//! real path into the archive, found by the public search, loaded once, and never into an archive
//! that already holds a report. On SQLite and, when one answers, PostgreSQL.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use super::archive::{http, report};
use super::{DEMO, PgDatabase, http_get, mmr, postgres_url, run, start_server};

const LOADED: &str = "loaded 6 demo reports: Chengdu (gastronomy, en, archive 1), Dakar (media_arts, fr, archive 2), \
                      Dublin (literature, en, archive 3), Busan (film, en, archive 4), Bologna (music, en, archive 5), \
                      Jacmel (crafts_folk_art, fr, archive 6)\n";

/// A GET without credentials, as the public makes it: the status and the JSON body.
fn public_get(addr: &str, path: &str) -> (u16, Value) {
    let reply = http_get(addr, path);
    let status = reply.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A GET without credentials, its whole reply as bytes (a PDF is not text).
fn get_bytes(addr: &str, path: &str) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// `mmr` on the data directory, on PostgreSQL when `url` is given.
fn mmr_on(dir: &Path, url: Option<&str>) -> Command {
    let mut cmd = mmr(dir);
    if let Some(url) = url {
        cmd.env("MMR_DATABASE_URL", url);
    }
    cmd
}

/// On a fresh database: six reports loaded, their files intact, a second run changes nothing.
fn loads_once(dir: &Path, url: Option<&str>) {
    let (ok, _, err) = run(mmr_on(dir, url).args(["cities", "import", "--if-empty", DEMO]));
    assert!(ok, "{err}");
    let (ok, out, err) = run(mmr_on(dir, url).args(["demo", "load", "--if-empty"]));
    assert!(ok, "{err}");
    assert_eq!(out, LOADED);
    // Every archived PDF and source bundle is in the store and hashes to its name.
    let (ok, out, err) = run(mmr_on(dir, url).arg("fixity"));
    assert!(ok && out.contains("fixity: 12 files of 6 archived reports checked"), "{out}{err}");
    assert!(out.ends_with(", 0 problem(s)\n"), "{out}");
    // Again: nothing, with or without --if-empty.
    let (ok, out, err) = run(mmr_on(dir, url).args(["demo", "load", "--if-empty"]));
    assert!(ok, "{err}");
    assert_eq!(out, "archive not empty (6 archived reports): no demo reports loaded\n");
    let (ok, out, err) = run(mmr_on(dir, url).args(["demo", "load"]));
    assert!(ok, "{err}");
    for city in ["chengdu", "dakar", "dublin", "busan", "bologna", "jacmel"] {
        assert!(out.contains(&format!("{city}: no demo report loaded: its report is accepted already\n")), "{out}");
    }
    assert!(out.ends_with("loaded 0 demo reports: none\n"), "{out}");
}

/// The public sees the six reports, published, and finds each by its own words, accents ignored.
fn the_public_finds_them(dir: &Path, url: Option<&str>) {
    let mut env = vec![("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")];
    if let Some(url) = url {
        env.push(("MMR_DATABASE_URL", url));
    }
    let (mut server, addr) = start_server(dir, &env);
    let search = |q: &str| {
        let (status, v) = public_get(&addr, &format!("/api/v1/archive?{q}"));
        assert_eq!(status, 200, "{v}");
        let cities: Vec<String> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["city"]["slug"].as_str().unwrap_or("?").to_owned())
            .collect();
        (v["total"].as_i64().unwrap(), cities)
    };
    let (total, _) = search("per_page=50");
    assert_eq!(total, 6);
    // Words of one report each, accents ignored: `ostersund` finds `Östersund`, `angouleme`
    // `Angoulême`, and `creative` in the French reports `créative`.
    assert_eq!(search("q=ostersund").1, ["chengdu"]);
    assert_eq!(search("q=angouleme").1, ["dublin"]);
    assert_eq!(search("q=restoration+subtitles").1, ["busan"]);
    assert_eq!(search("q=conservatoire+organs").1, ["bologna"]);
    assert_eq!(search("q=papier+mache").1, ["jacmel"]);
    let (n, mut french) = search("q=creative&language=fr");
    french.sort();
    assert_eq!((n, french), (2, vec!["dakar".to_owned(), "jacmel".to_owned()]));
    // A PDF, downloaded by anyone, and its verification by re-rendering.
    let (status, doc) = public_get(&addr, "/api/v1/archive/1");
    assert_eq!((status, doc["city"]["slug"].as_str()), (200, Some("chengdu")), "{doc}");
    let pdf = get_bytes(&addr, "/api/v1/archive/1/pdf");
    let head = String::from_utf8_lossy(&pdf[..pdf.len().min(2000)]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("\r\n\r\n%PDF-"), "{head}");
    let (status, verified) = public_get(&addr, "/api/v1/archive/1/verify");
    assert_eq!((status, verified["intact"].as_bool(), verified["matches"].as_bool()), (200, Some(true), Some(true)));
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn demo_reports_load_once_through_the_real_path_and_the_public_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    loads_once(dir.path(), None);
    the_public_finds_them(dir.path(), None);
    fixity_at_a_terminal_shows_its_progress(dir.path());
}

/// `mmr fixity` at a terminal (a pseudo-terminal made by util-linux's `script`) draws its progress
/// bar and clears it for the summary; in a pipe (the other tests) it prints the summary alone.
fn fixity_at_a_terminal_shows_its_progress(dir: &Path) {
    let command = format!("{} fixity", env!("CARGO_BIN_EXE_mmr"));
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("MMR_DATABASE_URL")
        .env("MMR_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("script (util-linux) runs a command on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("archive entries:") && shown.contains("6/6"), "a bar counting the entries: {shown}");
    assert!(shown.contains("fixity: 12 files of 6 archived reports checked"), "{shown}");
    let (_, piped, err) = run(mmr(dir).arg("fixity"));
    assert!(!piped.contains("archive entries:") && !err.contains("archive entries:"), "no bar in a pipe: {err}");
    assert!(!err.contains('\u{1b}'), "no terminal colours in a pipe: {err}");
}

#[test]
fn demo_reports_load_on_postgres() {
    let Some(admin_url) = postgres_url() else { return };
    let db = PgDatabase::create(&admin_url);
    let dir = tempfile::tempdir().unwrap();
    loads_once(dir.path(), Some(&db.url));
    the_public_finds_them(dir.path(), Some(&db.url));
}

/// An archive that holds a report gets no demo report; without `--if-empty`, a city's own draft
/// keeps its cycle out of the demo.
#[test]
fn an_archive_with_a_report_gets_no_demo_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(mmr(dir.path()).args(["cities", "import", DEMO]));
    assert!(ok, "{err}");
    let token = |args: &[&str]| run(mmr(dir.path()).args(["token", "create"]).args(args)).1.trim().to_owned();
    let admin = token(&["--role", "secretariat", "--name", "desk"]);
    let (mut server, addr) = start_server(dir.path(), &[("MMR_REMINDER_CRON", ""), ("MMR_FIXITY_CRON", "")]);
    let open_cycle = |slug: &str| -> i64 {
        let (_, cycles) = http(&addr, "GET", &format!("/api/v1/cities/{slug}/cycles"), &admin, None);
        let open =
            cycles["items"].as_array().unwrap().iter().find(|c| c["status"] == "open" || c["status"] == "overdue");
        open.unwrap_or_else(|| panic!("{cycles}"))["id"].as_i64().unwrap()
    };
    // Östersund's report, accepted and archived through the API.
    let cycle = open_cycle("ostersund");
    let (status, version) =
        http(&addr, "POST", &format!("/api/v1/cycles/{cycle}/submissions"), &admin, Some(&report("Östersund", 2)));
    assert_eq!(status, 201, "{version}");
    let decision = format!("/api/v1/submissions/{}/decision", version["id"]);
    let (status, decided) = http(&addr, "POST", &decision, &admin, Some(&json!({ "decision": "accept" })));
    assert_eq!((status, decided["archive_id"].is_i64()), (201, true), "{decided}");
    // Dublin's focal point saves a draft of its own.
    let cycle = open_cycle("dublin");
    let (status, draft) =
        http(&addr, "PUT", &format!("/api/v1/cycles/{cycle}/draft"), &admin, Some(&report("Dublin", 1)));
    assert_eq!(status, 200, "{draft}");
    server.kill().unwrap();
    server.wait().unwrap();

    let (ok, out, err) = run(mmr(dir.path()).args(["demo", "load", "--if-empty"]));
    assert!(ok, "{err}");
    assert_eq!(out, "archive not empty (1 archived report): no demo reports loaded\n");
    let (ok, out, err) = run(mmr(dir.path()).args(["demo", "load"]));
    assert!(ok, "{err}");
    assert!(
        out.starts_with("dublin: no demo report loaded: it has a draft of its own\nloaded 5 demo reports: Chengdu"),
        "{out}"
    );
    let (ok, out, _) = run(mmr(dir.path()).arg("fixity"));
    assert!(ok && out.contains("12 files of 6 archived reports"), "{out}");
}
