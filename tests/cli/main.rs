//! The `mmr` binary as an operator runs it: import, tokens, configuration errors, and a real
//! server process that answers and shuts down gracefully on SIGTERM.

mod archive;
mod backup;
mod demo;
mod deployment;
mod history;
mod proxy;
mod reminders;
mod walkthrough;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn mmr(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmr"));
    cmd.env_remove("MMR_DATABASE_URL").env("MMR_DATA_DIR", data_dir).env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let Output { status, stdout, stderr } = cmd.output().unwrap();
    (status.success(), String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/cities.csv");

#[test]
fn importing_the_founding_cities_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(mmr(dir.path()).args(["cities", "import", DEMO]));
    assert!(ok, "{err}");
    assert!(out.ends_with(": 116 created, 0 updated, 0 unchanged; 116 cities in 54 countries\n"), "{out}");
    let (ok, out, _) = run(mmr(dir.path()).args(["cities", "import", DEMO]));
    assert!(ok);
    assert!(out.ends_with(": 0 created, 0 updated, 116 unchanged; 116 cities in 54 countries\n"), "{out}");
    // The bare shared format (no slugs, zones or aliases) matches the same cities and changes nothing.
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/domain/cities.csv");
    if shared.exists() {
        let (ok, out, err) = run(mmr(dir.path()).args(["cities", "import"]).arg(&shared));
        assert!(ok, "{err}");
        assert!(out.ends_with(": 0 created, 0 updated, 116 unchanged; 116 cities in 54 countries\n"), "{out}");
    }
    // --if-empty leaves a populated database alone.
    let (ok, out, _) = run(mmr(dir.path()).args(["cities", "import", "--if-empty", DEMO]));
    assert!(ok);
    assert!(out.ends_with("not imported, the database already has 116 cities\n"), "{out}");
}

#[test]
fn a_file_with_a_bad_row_imports_nothing_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "name,country,iso3166_alpha2,creative_field,designation_year,verified\n\
         Adelaide,Australia,AU,music,2015,yes\n\
         Atlantis,Nowhere,AT,underwater_basket_weaving,2015,no\n\
         Parma,Italy,IT,gastronomy,2015,yes\n",
    )
    .unwrap();
    let (ok, out, err) = run(mmr(dir.path()).args(["cities", "import"]).arg(&csv));
    assert!(!ok);
    assert_eq!(out, "");
    assert!(err.contains("1 bad row in the file; nothing was imported"), "{err}");
    assert!(err.contains("line 3: field: `underwater_basket_weaving` is not a creative field"), "{err}");
    // Nothing was written: the good rows are not there either.
    let (ok, out, _) = run(mmr(dir.path()).args(["cities", "import", "--if-empty", DEMO]));
    assert!(ok && out.contains("116 created"), "{out}");
    // A missing file is a clear error too.
    let (ok, _, err) = run(mmr(dir.path()).args(["cities", "import", "/no/such/file.csv"]));
    assert!(!ok && err.contains("reading /no/such/file.csv"), "{err}");
}

#[test]
fn token_create_prints_the_token_alone_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) =
        run(mmr(dir.path()).args(["token", "create", "--role", "secretariat", "--name", "Paris desk"]));
    assert!(ok, "{err}");
    let token = out.strip_suffix('\n').unwrap();
    assert!(
        token.starts_with("mmr_") && token.len() == 68 && token[4..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{out}"
    );
    assert!(err.contains("shown only this once"));
    let (ok, out, _) = run(mmr(dir.path()).args(["token", "list"]));
    assert!(ok && out.contains("secretariat") && out.contains("Paris desk") && !out.contains(&token[4..]), "{out}");
    let (ok, _, err) =
        run(mmr(dir.path()).args(["token", "create", "--role", "city", "--city", "atlantis", "--name", "x"]));
    assert!(!ok && err.contains("no city has slug `atlantis`"), "{err}");
    let (ok, _, err) = run(mmr(dir.path()).args(["token", "create", "--role", "admin", "--name", "x"]));
    assert!(!ok && err.contains("`admin` is not a role"), "{err}");
    let (ok, _, err) = run(mmr(dir.path()).args(["token", "revoke", "1"]));
    assert!(ok, "{err}");
    let (ok, _, err) = run(mmr(dir.path()).args(["token", "revoke", "1"]));
    assert!(!ok && err.contains("active token `1` does not exist"), "{err}");
}

#[test]
fn bad_settings_fail_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(mmr(dir.path()).arg("serve").env("MMR_BIND", "nowhere"));
    assert!(!ok && err.contains("MMR_BIND / --bind"), "{err}");
    let (ok, _, err) = run(mmr(dir.path()).arg("serve").env("MMR_TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.1/8"));
    assert!(!ok && err.contains("MMR_TRUSTED_PROXIES / --trusted-proxies") && err.contains("host bits set"), "{err}");
    let (ok, _, err) = run(mmr(dir.path()).arg("migrate").env("MMR_LOG_FORMAT", "xml"));
    assert!(!ok && err.contains("MMR_LOG_FORMAT / --log-format"), "{err}");
    let (ok, _, err) = run(mmr(dir.path()).arg("migrate").env("MMR_DATABASE_URL", "mysql://localhost/mmr"));
    assert!(!ok && err.contains("MMR_DATABASE_URL") && err.contains("sqlite:// or postgres://"), "{err}");
    let (ok, _, err) =
        run(mmr(dir.path()).arg("migrate").env("MMR_DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/none"));
    assert!(!ok && err.contains("MMR_DATABASE_URL") && !err.contains("secret"), "{err}");
    for sub in [
        &["serve", "--help"][..],
        &["cities", "import", "--help"],
        &["token", "create", "--help"],
        &["backup", "--help"],
    ] {
        let (ok, out, _) = run(mmr(dir.path()).args(sub));
        assert!(ok && out.contains("Usage: mmr"), "{sub:?}");
    }
}

/// Starts `mmr serve` on a free port, returns the child and its address.
fn start_server(dir: &Path, extra_env: &[(&str, &str)]) -> (std::process::Child, String) {
    let (child, addr, _) = start_logged_server(dir, extra_env);
    (child, addr)
}

/// The lines a server has logged so far.
type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`start_server`], also keeping what the server logs.
fn start_logged_server(dir: &Path, extra_env: &[(&str, &str)]) -> (std::process::Child, String, Log) {
    let mut child = mmr(dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .envs(extra_env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().trim_end_matches('"').to_owned();
        }
    };
    // Keep draining the log so the server never blocks on a full pipe.
    let log = Log::default();
    let kept = log.clone();
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|line| kept.lock().unwrap().push(line)));
    (child, addr, log)
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_server_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(mmr(dir.path()).args(["cities", "import", DEMO]));
    assert!(ok, "{err}");
    let (mut child, addr) = start_server(dir.path(), &[]);
    let health = http_get(&addr, "/readyz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.to_ascii_lowercase().contains("x-request-id: "), "{health}");
    let cities = http_get(&addr, "/api/v1/cities/reykjavik");
    assert!(cities.contains("\"name\":\"Reykjavík\""), "{cities}");
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit after SIGTERM: {exit:?}");
}

#[test]
fn json_logs_carry_the_request_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = mmr(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env("MMR_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if let Some(addr) = v["addr"].as_str() {
            break addr.to_owned();
        }
    };
    let reply = http_get(&addr, "/api/v1/fields");
    let request_id =
        reply.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("x-request-id: ").map(str::to_owned)).unwrap();
    let done = lines
        .map(Result::unwrap)
        .find(|l| l.contains("\"done\""))
        .map(|l| serde_json::from_str::<serde_json::Value>(&l).unwrap())
        .unwrap();
    assert_eq!(done["span"]["request.id"], request_id.trim());
    assert_eq!(done["span"]["path"], "/api/v1/fields");
    assert_eq!(done["status"], 200);
    assert!(done["latency_ms"].as_f64().is_some());
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The PostgreSQL server to test on; without one, says so on the real standard error (the test
/// harness does not capture it) and skips, except under CI, where it fails.
fn postgres_url() -> Option<String> {
    match std::env::var("MMR_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "MMR_TEST_POSTGRES_URL is not set: under CI the PostgreSQL tests must run"
            );
            let _ = writeln!(std::io::stderr(), "SKIPPED on PostgreSQL: set MMR_TEST_POSTGRES_URL to run it");
            None
        }
    }
}

/// A fresh PostgreSQL database on the test server, dropped when the value goes (also when the
/// test fails).
struct PgDatabase {
    admin_url: String,
    name: String,
    /// Its URL, for `MMR_DATABASE_URL`.
    url: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> Self {
        let name = format!("mmr_cli_{:016x}", rand::random::<u64>());
        let db = Self {
            admin_url: admin_url.to_owned(),
            url: format!("{}/{name}", &admin_url[..admin_url.rfind('/').unwrap()]),
            name,
        };
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    fn psql(&self, sql: &str) -> bool {
        Command::new("psql").arg(&self.admin_url).args(["-qc", sql]).status().is_ok_and(|s| s.success())
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let dropped = self.psql(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        if !dropped && !std::thread::panicking() {
            panic!("psql could not drop {}", self.name);
        }
    }
}

#[test]
fn import_and_tokens_work_on_postgres() {
    let Some(admin_url) = postgres_url() else { return };
    let db = PgDatabase::create(&admin_url);
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(mmr(dir.path()).args(["cities", "import", DEMO]).env("MMR_DATABASE_URL", &url));
    let (ok2, out2, _) = run(mmr(dir.path()).args(["cities", "import", DEMO]).env("MMR_DATABASE_URL", &url));
    let (ok3, token, _) = run(mmr(dir.path())
        .args(["token", "create", "--role", "coordinator", "--field", "music", "--name", "Music"])
        .env("MMR_DATABASE_URL", &url));
    drop(db);
    assert!(ok, "{err}");
    assert!(out.ends_with("116 created, 0 updated, 0 unchanged; 116 cities in 54 countries\n"), "{out}");
    assert!(ok2 && out2.ends_with("0 created, 0 updated, 116 unchanged; 116 cities in 54 countries\n"), "{out2}");
    assert!(ok3 && token.starts_with("mmr_"));
    assert!(!dir.path().join("mmr.sqlite3").exists(), "no SQLite file is made when PostgreSQL is chosen");
}

/// The SMTP server harness of the mail tests (aiosmtpd in a child process).
#[allow(dead_code)]
#[path = "../mail/server.rs"]
mod smtp;

/// Two `mmr remind` processes on one PostgreSQL database, started at the same moment, deliver
/// each reminder to a real SMTP server exactly once.
#[test]
fn two_processes_sweeping_at_once_send_each_reminder_exactly_once() {
    let Some(admin_url) = postgres_url() else { return };
    let server = smtp::SmtpServer::start();
    let name = format!("mmr_sweep_{:016x}", rand::random::<u64>());
    let psql = |db: &str, sql: &str| {
        let url = format!("{}/{db}", &admin_url[..admin_url.rfind('/').unwrap()]);
        let out = Command::new("psql").arg(&url).args(["-qAtc", sql]).output().unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    psql("postgres", &format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", &admin_url[..admin_url.rfind('/').unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let env = |cmd: &mut Command| {
        cmd.env("MMR_DATABASE_URL", &url)
            .env("MMR_SMTP_URL", server.url())
            .env("MMR_SECRETARIAT_EMAIL", "secretariat@uccn.test");
    };
    let mut import = mmr(dir.path());
    env(import.args(["cities", "import", DEMO]));
    assert!(run(&mut import).0);
    let mut sync = mmr(dir.path());
    env(sync.args(["cycles", "sync", "--as-of", "2027-01-20"]));
    assert!(run(&mut sync).0);
    // Every city gets two focal points.
    psql(
        &name,
        "INSERT INTO contacts (city_id, name, email, is_primary, created_at, updated_at) \
         SELECT id, 'Focal ' || n, slug || '-' || n || '@uccn.test', n = 1, now(), now() \
         FROM cities CROSS JOIN generate_series(1, 2) AS n",
    );
    let spawn = || {
        let mut cmd = mmr(dir.path());
        env(cmd.args(["remind", "--as-of", "2027-01-20"]));
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let sent_by =
        |out: &Output| String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("sent ")).count();
    let sent_in_ledger: usize = psql(&name, "SELECT count(*) FROM reminders WHERE state = 'sent'").parse().unwrap();
    let received = server.received();
    psql("postgres", &format!("DROP DATABASE {name} WITH (FORCE)"));
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    // 39 cities were due on 30 November 2026; 51 days later the second formal reminder goes to
    // both focal points of each.
    assert_eq!(sent_in_ledger, 78);
    let _ = writeln!(std::io::stderr(), "process A sent {}, process B sent {}", sent_by(&a), sent_by(&b));
    assert_eq!(sent_by(&a) + sent_by(&b), 78, "together the two processes sent each message once");
    assert_eq!(received.len(), 78);
    let mut ids: Vec<&str> = received.iter().map(|m| m["headers"]["Message-ID"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 78, "no Message-ID arrived twice");
}

/// With the mail server down nothing is lost (the ledger records the failures), and once it is
/// back every reminder arrives once, in the city's language.
#[test]
fn with_the_mail_server_down_nothing_is_lost_and_nothing_doubles() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(mmr(dir.path()).args(["cities", "import", DEMO])).0);
    let db = dir.path().join("mmr.sqlite3");
    let sql = |q: &str| {
        let out = Command::new("python3")
            .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); r=c.execute(sys.argv[2]).fetchall(); c.commit(); print(r)"])
            .arg(&db)
            .arg(q)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    sql("INSERT INTO contacts (city_id, name, email, is_primary, created_at, updated_at) \
         SELECT id, 'Focal', slug || '@uccn.test', 1, '2026-11-01', '2026-11-01' FROM cities \
         WHERE slug IN ('ostersund', 'montreal', 'saint-etienne', 'krakow')");
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, out, err) = run(mmr(dir.path())
        .args(["remind", "--as-of", "2026-11-24"])
        .env("MMR_SMTP_URL", format!("smtp://127.0.0.1:{closed}")));
    assert!(!ok, "failures make the command fail: {out}");
    assert!(out.contains("0 sent, 3 failed"), "{out}");
    assert!(err.contains("3 reminders failed"), "{err}");
    assert_eq!(
        sql("SELECT state, attempts, next_attempt_at IS NOT NULL FROM reminders WHERE state = 'failed' ORDER BY id"),
        "[('failed', 1, 1), ('failed', 1, 1), ('failed', 1, 1)]"
    );
    // The server is back the next day: each message goes once, in the city's language.
    let server = smtp::SmtpServer::start();
    for _ in 0..2 {
        let (ok, out, err) =
            run(mmr(dir.path()).args(["remind", "--as-of", "2026-11-25"]).env("MMR_SMTP_URL", server.url()));
        assert!(ok, "{out}{err}");
    }
    let received = server.received();
    assert_eq!(received.len(), 3, "{received:?}");
    let subject_for = |to: &str| {
        received
            .iter()
            .find(|m| m["rcpt_tos"][0] == to)
            .map(|m| m["headers"]["Subject"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(subject_for("ostersund@uccn.test").contains("Östersund"));
    assert!(subject_for("montreal@uccn.test").contains("Montréal"));
    let montreal = received.iter().find(|m| m["rcpt_tos"][0] == "montreal@uccn.test").unwrap();
    // French typography puts non-breaking spaces in "23 h 59".
    let body = montreal["body"].as_str().unwrap().replace(['\u{a0}', '\u{202f}'], " ");
    assert!(body.contains("30 novembre 2026 à 23 h 59 (America/Toronto)"), "{body}");
    assert_eq!(sql("SELECT count(*), sum(attempts) FROM reminders WHERE state = 'sent'"), "[(3, 6)]");
}

/// `mmr render` turns a generated report into a PDF, with the cover from the registry, and
/// names what is wrong when it cannot.
#[test]
fn render_writes_a_pdf_and_names_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_report.py");
    let report = dir.path().join("report.md");
    let status = Command::new("python3")
        .arg(&generator)
        .args(["--pages", "5", "--seed", "7", "--out"])
        .arg(&report)
        .status()
        .expect("python3 runs the report generator");
    assert!(status.success());
    assert!(run(mmr(dir.path()).args(["cities", "import", DEMO])).0);
    let out = dir.path().join("ostersund.pdf");
    let (ok, stdout, err) = run(mmr(dir.path())
        .arg("render")
        .arg(&report)
        .args(["--city", "ostersund", "--cycle", "2022–2026", "--date", "2026-11-24", "-o"])
        .arg(&out));
    assert!(ok, "{err}");
    assert!(stdout.contains(" pages, "), "{stdout}");
    let pdf = std::fs::read(&out).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // The same input renders to the same bytes.
    let again = dir.path().join("again.pdf");
    assert!(
        run(mmr(dir.path())
            .arg("render")
            .arg(&report)
            .args(["--city", "ostersund", "--cycle", "2022–2026", "--date", "2026-11-24", "-o"])
            .arg(&again))
        .0
    );
    assert_eq!(pdf, std::fs::read(&again).unwrap());
    // Without a database, by title.
    let (ok, _, err) = run(mmr(&dir.path().join("nowhere"))
        .arg("render")
        .arg(&report)
        .args(["--title", "Test", "-o"])
        .arg(dir.path().join("t.pdf")));
    assert!(ok, "{err}");
    assert!(!dir.path().join("nowhere").exists(), "rendering by title touches no database");
    for (args, message) in [
        (vec!["render", "/no/such.md", "-o", "x.pdf"], "reading /no/such.md"),
        (
            vec!["render", report.to_str().unwrap(), "--city", "atlantis", "-o", "x.pdf"],
            "city `atlantis` does not exist",
        ),
        (
            vec!["render", report.to_str().unwrap(), "--attachments", "/no/such/dir", "-o", "x.pdf"],
            "--attachments /no/such/dir",
        ),
    ] {
        let (ok, _, err) = run(mmr(dir.path()).args(&args));
        assert!(!ok && err.contains(message), "{args:?}: {err}");
    }
}
