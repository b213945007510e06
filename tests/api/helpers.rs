//! The test harness: a fresh database per test (a temporary SQLite file, or a new database on
//! the PostgreSQL server named by `MMR_TEST_POSTGRES_URL`), the real router on top, and helpers
//! to call it as a client would.
//!
//! Without `MMR_TEST_POSTGRES_URL` the PostgreSQL half of each test prints that it was skipped;
//! under CI (`CI` set) a missing URL fails the test instead, so it cannot pass by skipping.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::{Connection, PgConnection, RunQueryDsl};
use http_body_util::BodyExt;
use mmr::db::Db;
use mmr::domain::auth::Role;
use mmr::domain::cities::{CityInput, NewCity};
use mmr::domain::cycles::CycleRules;
use mmr::http::{AppState, router_with_pages};
use mmr::mail::Transport;
use mmr::storage;
use mmr::workflow::reminders::{ReminderConfig, SweepReport};
use mmr::workflow::{self, Actor, tokens::TokenSpec};
use serde_json::Value;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The pinned "now" of every test.
pub fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(9, 30, 0).unwrap()
}

pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// Drops the test's PostgreSQL database when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name)).execute(&mut c);
        }
    }
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] PgDatabase),
}

pub struct TestApp {
    pub db: Db,
    /// The database's URL.
    pub url: String,
    pub backend: Backend,
    router: Router,
    /// A Secretariat token.
    pub admin: String,
    /// The archive's directory (a local blob store).
    pub archive_dir: tempfile::TempDir,
    /// The state the router runs on (store, template, rules).
    pub state: AppState,
    _guard: Guard,
}

/// A response, with the body parsed as JSON when it is JSON.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The body's bytes (for PDFs and ZIPs).
    pub fn text_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The error code of a JSON error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<none>")
    }
}

impl TestApp {
    /// A new app on a new database, or `None` when PostgreSQL is not configured outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        let (url, guard) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                (format!("sqlite://{}", dir.path().join("test.sqlite3").display()), Guard::Sqlite(dir))
            }
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let name = format!("mmr_test_{:016x}", rand::random::<u64>());
                let mut c = PgConnection::establish(&admin_url).expect("connect to MMR_TEST_POSTGRES_URL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut c).unwrap();
                let url = match admin_url.rfind('/') {
                    Some(i) if i > "postgres://".len() => format!("{}/{name}", &admin_url[..i]),
                    _ => format!("{admin_url}/{name}"),
                };
                (url, Guard::Postgres(PgDatabase { admin_url, name }))
            }
        };
        let db = Db::connect(&url).unwrap();
        db.migrate().unwrap();
        let archive_dir = tempfile::tempdir().unwrap();
        let store = storage::open_store(&archive_dir.path().display().to_string()).unwrap();
        let mut state = AppState::new(db.clone(), MAX_BODY, CycleRules::default(), store);
        state.clock = Arc::new(now);
        let mut app = Self {
            db,
            url,
            backend,
            router: router_with_pages(state.clone(), Some(mmr::startup::pages(&state))),
            admin: String::new(),
            archive_dir,
            state,
            _guard: guard,
        };
        app.admin = app.token(Role::Secretariat, None, None);
        Some(app)
    }

    /// Creates a token directly through the workflow and returns its secret.
    pub fn token(&self, role: Role, field: Option<&str>, city: Option<&str>) -> String {
        let spec = TokenSpec::parse(role, field, city, &format!("test {role}")).unwrap();
        self.db.run_blocking(|conn| workflow::tokens::create(conn, &Actor::cli(), &spec, now())).unwrap().1
    }

    /// Registers a city directly through the workflow.
    pub fn city(&self, slug: &str, name: &str, country: &str, field: &str) {
        self.city_designated(slug, name, country, field, NaiveDate::from_ymd_opt(2015, 12, 11).unwrap());
    }

    /// Registers a city designated on `designated`.
    pub fn city_designated(&self, slug: &str, name: &str, country: &str, field: &str, designated: NaiveDate) {
        let input = CityInput {
            slug: Some(slug),
            name,
            country,
            field,
            designation_date: Some(designated),
            ..CityInput::default()
        };
        let city = NewCity::parse(&input, now().date()).unwrap();
        self.db.run_blocking(|conn| workflow::cities::create(conn, &Actor::cli(), &city, now())).unwrap();
    }

    /// Loads the founding cities shipped in demo/cities.csv.
    pub fn seed_demo(&self) {
        let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/cities.csv")).unwrap();
        let rows = workflow::import::parse_csv(&data, now().date()).unwrap();
        self.db
            .run_blocking(|conn| workflow::import::import(conn, &Actor::cli(), &rows, false, &workflow::Silent, now()))
            .unwrap();
    }

    /// Creates the cycles that have started by the pinned date; returns how many were created.
    pub fn sync_cycles(&self) -> usize {
        let rules = CycleRules::default();
        self.db.run_blocking(|conn| workflow::cycles::sync(conn, &Actor::cli(), &rules, now())).unwrap().created
    }

    /// Runs the reminder sweep at `at` through `transport`, as one process named `owner`.
    pub fn sweep(&self, transport: &dyn Transport, at: NaiveDateTime, owner: &str) -> SweepReport {
        let rules = CycleRules::default();
        workflow::reminders::sweep(&self.db, transport, &reminder_config(), &rules, at, owner, false, &workflow::Silent)
            .unwrap()
    }

    /// A fixity run over this app's archive, mailing problems through `notify` when given.
    pub fn fixity(&self, notify: Option<(&dyn Transport, &mmr::mail::Envelope)>) -> workflow::archive::FixityReport {
        workflow::archive::fixity(&self.db, self.state.store.as_ref(), notify, &workflow::Silent, now()).unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        send_via(&self.router, request).await
    }

    /// Calls the API with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.send(request(method, path, token, body)).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    /// Sends raw bytes as a body with the given content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, content_type);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }
}

/// Sends `request` through `router` (e.g. one on a state a test changed) and reads the answer.
pub async fn send_via(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, headers, body, text, bytes: bytes.to_vec() }
}

/// A request with an optional bearer token and JSON body.
pub fn request(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap()
}

/// The text of a PDF, by poppler's pdftotext (`make test` installs poppler-utils).
pub fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext is missing: install the Debian package poppler-utils");
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One part of a multipart body: part name, file name, content type, bytes.
pub type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body and its content type.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "mmr-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes());
        if let Some(file) = file {
            body.extend_from_slice(format!("; filename=\"{file}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        if let Some(ct) = content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The sweep's configuration in tests.
pub fn reminder_config() -> ReminderConfig {
    ReminderConfig {
        schedule: Default::default(),
        from: "UCCN <mmr@uccn.test>".into(),
        public_url: "https://mmr.uccn.test".into(),
        secretariat_email: "secretariat@uccn.test".into(),
        max_attempts: 3,
    }
}

/// A date and time in UTC.
pub fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
}

fn postgres_url() -> Option<String> {
    match std::env::var("MMR_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("MMR_TEST_POSTGRES_URL is not set: under CI the PostgreSQL tests must run")
        }
        _ => {
            skipped_loudly();
            None
        }
    }
}

/// Says on the real standard error (which the test harness does not capture) that a PostgreSQL
/// test was skipped.
pub fn skipped_loudly() {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED on PostgreSQL: set MMR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres to run it"
    );
}

/// Declares each listed `async fn name(app: TestApp)` as two tests, `sqlite::name` and
/// `postgres::name`, each on its own fresh database.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::new($crate::helpers::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::new($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// Binds a local port for [`spawn_server`] and makes its address the app's public URL.
pub async fn listen(app: &mut TestApp) -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    app.state.public_url = base.clone();
    (listener, base)
}

/// Serves the app on `listener` over TCP as `mmr serve` does, pages included.
pub fn spawn_server(app: &TestApp, listener: tokio::net::TcpListener) {
    let (state, pages) = (app.state.clone(), mmr::startup::pages(&app.state));
    tokio::spawn(mmr::http::serve_with_pages(listener, state, Some(pages), std::future::pending()));
}

/// Serves the app over TCP; its base address.
pub async fn serve_tcp(app: &mut TestApp) -> String {
    let (listener, base) = listen(app).await;
    spawn_server(app, listener);
    base
}
