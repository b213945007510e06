//! Two `mmr serve` processes on one PostgreSQL database and one S3 bucket (moto), behind a small
//! round-robin TCP proxy, with the reminder sweep firing on both every two seconds: concurrent
//! submissions and acceptances through either, one server killed with SIGKILL in the middle of an
//! acceptance and restarted. Nothing is doubled (each reminder sent once, each version and each
//! archive object once), nothing is lost (every acceptance archived, every file intact), and both
//! servers answer a search alike right after a publication made through the other.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{Value, json};

use crate::moto::{BUCKET, moto};

/// Cities, each with one report submitted and accepted.
const CITIES: usize = 8;

/// The PostgreSQL server to test on; without one, says so and skips, except under CI.
fn postgres_url() -> Option<String> {
    match std::env::var("MMR_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(std::env::var_os("CI").is_none(), "MMR_TEST_POSTGRES_URL is not set: under CI it must be");
            let _ = writeln!(std::io::stderr(), "SKIPPED on PostgreSQL: set MMR_TEST_POSTGRES_URL to run it");
            None
        }
    }
}

/// A fresh database on the test server, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin_url: &str) -> Database {
        let name = format!("mmr_cluster_{:016x}", rand::random::<u64>());
        let mut c = PgConnection::establish(admin_url).expect("connect to MMR_TEST_POSTGRES_URL");
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut c).unwrap();
        let url = format!("{}/{name}", &admin_url[..admin_url.rfind('/').unwrap()]);
        Database { admin_url: admin_url.to_owned(), name, url }
    }

    /// One number from the database.
    fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = PgConnection::establish(&self.url).unwrap();
        diesel::sql_query(sql).get_result::<N>(&mut c).unwrap_or_else(|e| panic!("{sql}: {e}")).n
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut c);
        }
    }
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// `mmr serve` on a free port with its own data directory (its own outbox).
    fn start(data_dir: &Path, db: &Database, prefix: &str) -> Server {
        let mut child = crate::s3::mmr(data_dir, prefix)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("MMR_DATABASE_URL", &db.url)
            .env("MMR_REMINDER_CRON", "*/2 * * * * *")
            .env("MMR_FIXITY_CRON", "")
            .env("MMR_RATE_LIMIT", "0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mmr serve");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
        let addr = loop {
            let line = lines.next().expect("the server exited before listening").unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().trim_end_matches('"').to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, addr }
    }

    fn kill9(&mut self) {
        let _ = std::process::Command::new("kill").args(["-KILL", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy that hands each connection to the next backend in turn, skipping one that does
/// not answer (a killed server).
struct RoundRobin {
    port: u16,
    backends: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl RoundRobin {
    fn start(backends: Vec<String>) -> RoundRobin {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let backends = Arc::new(Mutex::new(backends));
        let (shared, next) = (backends.clone(), Arc::new(AtomicUsize::new(0)));
        runtime.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (shared, next) = (shared.clone(), next.clone());
                tokio::spawn(async move {
                    let candidates = shared.lock().unwrap().clone();
                    let first = next.fetch_add(1, Ordering::SeqCst);
                    for i in 0..candidates.len() {
                        let backend = &candidates[(first + i) % candidates.len()];
                        if let Ok(mut server) = tokio::net::TcpStream::connect(backend.as_str()).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            return;
                        }
                    }
                });
            }
        });
        RoundRobin { port, backends, _runtime: runtime }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn set_backend(&self, index: usize, addr: &str) {
        self.backends.lock().unwrap()[index] = addr.to_owned();
    }
}

/// One HTTP/1.1 request with a JSON body; returns the status and the parsed body (status 0 when
/// the connection broke, as it does when the server is killed).
fn http(addr: &str, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let payload = body.map(Value::to_string).unwrap_or_default();
    let content_type = if body.is_some() { "Content-Type: application/json\r\n" } else { "" };
    let auth = if token.is_empty() { String::new() } else { format!("Authorization: Bearer {token}\r\n") };
    let _ = write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\n{auth}{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A report with every template section, naming `word` (each city its own, to search for).
fn report(word: &str) -> Value {
    let mut report = format!("# Executive Summary\n\n{word} reports.\n\n");
    for section in [
        "General Information",
        "Contribution to the Network's Global Management",
        "Major Initiatives Implemented at the Local Level",
        "Major Initiatives Implemented through Inter-City Cooperation",
    ] {
        report.push_str(&format!("# {section}\n\nThe city's programme brought producers and schools together.\n\n"));
    }
    let plan = "# Proposed Action Plan for the Forthcoming Four-Year Period\n\n## Local Initiatives\n\nGardens.\n\n\
                ## International and Inter-City Initiatives\n\nExchanges.\n\n## Budget\n\n100000 EUR.\n\n\
                ## Communication and Awareness Plan\n\nA festival.\n";
    json!({ "report_markdown": report, "action_plan_markdown": plan })
}

/// The .eml files in a data directory's outbox.
/// The messages of one kind (`reminder`, `decision`) a server wrote to its outbox: their files
/// are named by their Message-ID, `mmr-<kind>-<id>@host`.
fn outbox(data_dir: &Path, kind: &str) -> Vec<PathBuf> {
    let kind = format!("-mmr-{kind}-");
    std::fs::read_dir(data_dir.join("outbox"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(&kind)))
                .collect()
        })
        .unwrap_or_default()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_servers_on_one_database_double_nothing_and_lose_nothing() {
    let Some(admin_url) = postgres_url() else { return };
    let db = Database::create(&admin_url);
    let prefix = format!("cluster-{:08x}", rand::random::<u32>());
    let root = tempfile::tempdir().unwrap();
    let (dir_a, dir_b) = (root.path().join("a"), root.path().join("b"));
    let cli = |args: &[&str]| {
        let out = crate::s3::mmr(&dir_a, &prefix).args(args).env("MMR_DATABASE_URL", &db.url).output().unwrap();
        assert!(out.status.success(), "mmr {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    // Cities designated in 2010: their 2022–2026 cycle takes submissions now and later.
    let mut csv = String::from("name,country,iso3166_alpha2,creative_field,designation_year,verified,slug\n");
    for i in 0..CITIES {
        csv.push_str(&format!("Twinville {i},Sweden,SE,gastronomy,2010,yes,twinville-{i}\n"));
    }
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::write(root.path().join("cities.csv"), csv).unwrap();
    cli(&["cities", "import", root.path().join("cities.csv").to_str().unwrap()]);
    let admin = cli(&["token", "create", "--role", "secretariat", "--name", "desk"]).trim().to_owned();

    let mut a = Server::start(&dir_a, &db, &prefix);
    let b = Server::start(&dir_b, &db, &prefix);
    let proxy = RoundRobin::start(vec![a.addr.clone(), b.addr.clone()]);
    let via = proxy.addr();

    // Two focal points per city: the sweeps on both servers find their reminders due.
    for i in 0..CITIES {
        for n in 0..2 {
            let contact = json!({ "name": format!("Focal {n}"), "email": format!("focal{n}@twinville-{i}.test") });
            let (status, body) =
                http(&via, "POST", &format!("/api/v1/cities/twinville-{i}/contacts"), &admin, Some(&contact));
            assert_eq!(status, 201, "{body}");
        }
    }
    let sent = || db.count("SELECT count(*) AS n FROM reminders WHERE state = 'sent'");
    let due_unsent = || {
        db.count("SELECT count(*) AS n FROM reminders WHERE state IN ('planned', 'failed') AND send_on <= current_date")
    };
    wait_for("the sweeps to send the reminders due", Duration::from_secs(20), || sent() > 0 && due_unsent() == 0);

    // Every city submits at once, through either server.
    let cycles: Vec<i64> = (0..CITIES)
        .map(|i| {
            let (status, cycles) = http(&via, "GET", &format!("/api/v1/cities/twinville-{i}/cycles"), &admin, None);
            assert_eq!(status, 200, "{cycles}");
            cycles["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["status"] == "open" || c["status"] == "overdue")
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let submit = |i: usize| {
        let (via, admin) = (via.clone(), admin.clone());
        let cycle = cycles[i];
        std::thread::spawn(move || {
            let body = report(&format!("Zorblax{i}"));
            let (status, version) =
                http(&via, "POST", &format!("/api/v1/cycles/{cycle}/submissions"), &admin, Some(&body));
            assert_eq!(status, 201, "{version}");
            // The same submission again (a client retrying): the version awaiting review, not a second.
            let (status, again) =
                http(&via, "POST", &format!("/api/v1/cycles/{cycle}/submissions"), &admin, Some(&body));
            assert_eq!((status, &again["id"]), (200, &version["id"]), "{again}");
            version["id"].as_i64().unwrap()
        })
    };
    let versions: Vec<i64> =
        (0..CITIES).map(submit).collect::<Vec<_>>().into_iter().map(|t| t.join().unwrap()).collect();

    // Acceptances at once through the proxy, but the first goes straight to server A, which is
    // killed 60 ms into it and restarted.
    let accept = |addr: String, version: i64| {
        let admin = admin.clone();
        std::thread::spawn(move || {
            http(
                &addr,
                "POST",
                &format!("/api/v1/submissions/{version}/decision"),
                &admin,
                Some(&json!({"decision": "accept"})),
            )
        })
    };
    let killed = accept(a.addr.clone(), versions[0]);
    let others: Vec<_> = versions[1..CITIES - 1].iter().map(|v| accept(via.clone(), *v)).collect();
    std::thread::sleep(Duration::from_millis(60));
    a.kill9();
    let mut answers = vec![killed.join().unwrap().0];
    for t in others {
        let (status, body) = t.join().unwrap();
        // 0: the connection broke (the request was on the killed server).
        assert!(matches!(status, 0 | 201), "an acceptance through the proxy: {status} {body}");
        answers.push(status);
    }
    let a = Server::start(&dir_a, &db, &prefix);
    proxy.set_backend(0, &a.addr);
    eprintln!("acceptance answers around the kill: {answers:?}");
    // A client whose request broke asks again if no decision was recorded; one that was recorded
    // is completed by the restarted server.
    let mut moments = Vec::new();
    for version in &versions[..CITIES - 1] {
        let (_, v) = http(&via, "GET", &format!("/api/v1/submissions/{version}"), &admin, None);
        moments.push(match (v["decision"].is_null(), v["archive_id"].is_null()) {
            (true, _) => "undecided",
            (false, true) => "decided, not yet archived",
            (false, false) => "archived",
        });
        if v["decision"].is_null() {
            let (status, body) = accept(via.clone(), *version).join().unwrap();
            assert_eq!(status, 201, "accepting {version} again after the kill: {body}");
        }
    }
    eprintln!("after the restart: {moments:?}");
    wait_for("every acceptance to be archived", Duration::from_secs(30), || {
        versions[..CITIES - 1].iter().all(|version| {
            !http(&via, "GET", &format!("/api/v1/submissions/{version}"), &admin, None).1["archive_id"].is_null()
        })
    });

    // The last publication is made through B; A answers the search for it at once, as B does.
    let (status, body) = accept(b.addr.clone(), versions[CITIES - 1]).join().unwrap();
    assert_eq!(status, 201, "{body}");
    for i in 0..CITIES {
        let path = format!("/api/v1/archive?q=Zorblax{i}");
        let (from_a, from_b) = (http(&a.addr, "GET", &path, "", None), http(&b.addr, "GET", &path, "", None));
        assert_eq!(from_a.0, 200, "{}", from_a.1);
        assert_eq!(from_a, from_b, "search for city {i}");
        assert_eq!(from_a.1["total"], 1, "{}", from_a.1);
    }

    // Nothing doubled, nothing lost.
    let n = CITIES as i64;
    assert_eq!(db.count("SELECT count(*) AS n FROM submissions"), n, "one version per city");
    assert_eq!(db.count("SELECT count(*) AS n FROM review_decisions"), n, "one decision per version");
    assert_eq!(db.count("SELECT count(DISTINCT submission_id) AS n FROM archived_documents"), n);
    assert_eq!(db.count("SELECT count(*) AS n FROM archived_documents"), n, "one archive entry per version");
    let (status, listing) = moto().request("GET", &format!("/{BUCKET}?list-type=2&prefix={prefix}/"), b"");
    assert_eq!(status, 200);
    let keys = String::from_utf8_lossy(&listing).matches("<Key>").count();
    assert_eq!(keys, 2 * CITIES, "a PDF and a source bundle per acceptance, each stored once");
    for version in &versions {
        let (_, v) = http(&via, "GET", &format!("/api/v1/submissions/{version}"), &admin, None);
        let (status, verified) =
            http(&via, "GET", &format!("/api/v1/archive/{}/verify", v["archive_id"]), &admin, None);
        assert_eq!((status, verified["matches"].as_bool()), (200, Some(true)), "{verified}");
    }
    // Each acceptance told its city once, by whichever server recorded it.
    let told: Vec<PathBuf> = outbox(&dir_a, "decision").into_iter().chain(outbox(&dir_b, "decision")).collect();
    let mut decided: Vec<String> = told
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().split("-mmr-").nth(1).unwrap().to_owned())
        .collect();
    decided.sort();
    decided.dedup();
    assert!(!told.is_empty() && decided.len() == told.len(), "each decision told once: {told:?}");
    let (mails_a, mails_b) = (outbox(&dir_a, "reminder"), outbox(&dir_b, "reminder"));
    eprintln!("reminders sent: {} by server A, {} by server B", mails_a.len(), mails_b.len());
    let mails: Vec<PathBuf> = mails_a.into_iter().chain(mails_b).collect();
    assert_eq!(mails.len() as i64, sent(), "each reminder marked sent was written once: {mails:?}");
    assert!(!mails.is_empty());
    let mut ids: Vec<String> = mails
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), mails.len(), "no Message-ID twice");
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM (SELECT 1 FROM reminders GROUP BY cycle_id, kind, stage, recipient HAVING count(*) > 1) d"
        ),
        0
    );
    drop(b);
    drop(a);
}
