//! Limits and abuse: what the public can reach, and the rate limit on requests without a token.
//!
//! The first test fills a database with everything the public must never see (a draft, a version
//! awaiting review with comments, planned reminders and their recipients, a reminder hold, an
//! accepted report withdrawn from publication) beside one published report, then calls every GET
//! route without a token, with the ids of all those objects, and reads every answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{NaiveDate, TimeDelta};
use http_body_util::BodyExt;
use mmr::http::{AppState, Peer, RateLimit, RateLimiter, router};
use mmr::mail::MemoryTransport;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::helpers::{Reply, TestApp, now};
use crate::submissions::{b64, full_plan, full_report, open_cycle, png};

const DRAFT_WORD: &str = "Quorblefinch";
const PENDING_WORD: &str = "Zanthoxylumpending";
const WITHDRAWN_WORD: &str = "Vellichorwithdrawn";
const COMMENT: &str = "Glimmerwick: the budget table is missing";
const PUBLISHED_COMMENT: &str = "Snollygoster: fine, accept it";
const RECIPIENT: &str = "private.focal@draftburg.test";
const HOLD_REASON: &str = "Brabblement: city council elections";

/// A report body with `word` in its text.
fn report(word: &str) -> Value {
    json!({ "report_markdown": full_report(&format!(" {word}.")), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(6, 6)) }] })
}

/// The open cycle of a city designated on 1 December 2010 (due 30 November 2026).
async fn open_cycle_of(app: &TestApp, slug: &str, name: &str) -> i64 {
    app.city_designated(slug, name, "SE", "gastronomy", NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    app.sync_cycles();
    let r = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle")["id"]
        .as_i64()
        .unwrap()
}

/// Submits `body` to `cycle` on the city's behalf; returns the version's id and bundle digest.
async fn submit(app: &TestApp, cycle: i64, body: Value) -> (i64, String) {
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (r.body["id"].as_i64().unwrap(), r.body["bundle_sha256"].as_str().unwrap().to_owned())
}

async fn comment(app: &TestApp, version: i64, text: &str) {
    let body = json!({ "body_markdown": text, "section": "Budget" });
    let r =
        app.call(Method::POST, &format!("/api/v1/submissions/{version}/comments"), Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

async fn accept(app: &TestApp, version: i64) -> i64 {
    let body = json!({ "decision": "accept" });
    let r =
        app.call(Method::POST, &format!("/api/v1/submissions/{version}/decision"), Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["archive_id"].as_i64().unwrap()
}

/// What the database holds, by id.
struct Holdings {
    cities: Vec<&'static str>,
    cycles: Vec<i64>,
    versions: Vec<i64>,
    published: i64,
    withdrawn: i64,
    /// Digests that belong to non-public objects.
    secret_digests: Vec<String>,
    published_pdf: String,
}

async fn fill(app: &TestApp) -> Holdings {
    // Östersund: a version awaiting review, with a comment.
    let (pending_cycle, _city) = open_cycle(app).await;
    let (pending, pending_sha) = submit(app, pending_cycle, report(PENDING_WORD)).await;
    comment(app, pending, COMMENT).await;

    // Draftburg: only a draft, and a focal point with planned and sent reminders.
    let draft_cycle = open_cycle_of(app, "draftburg", "Draftburg").await;
    let r = app
        .call(Method::PUT, &format!("/api/v1/cycles/{draft_cycle}/draft"), Some(&app.admin), Some(report(DRAFT_WORD)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let contact = json!({ "name": "Private Focal", "email": RECIPIENT, "primary": true });
    let r = app.call(Method::POST, "/api/v1/cities/draftburg/contacts", Some(&app.admin), Some(contact)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    app.sweep(&MemoryTransport::new(), now(), "abuse");
    let r = app.get("/api/v1/cities/draftburg/reminders?state=planned", Some(&app.admin)).await;
    assert!(r.text.contains(RECIPIENT), "a planned reminder to the focal point: {}", r.text);

    // Pubtown: accepted and published, with a comment on the accepted version.
    let pub_cycle = open_cycle_of(app, "pubtown", "Pubtown").await;
    let (pub_version, _) = submit(app, pub_cycle, report("published")).await;
    comment(app, pub_version, PUBLISHED_COMMENT).await;
    let published = accept(app, pub_version).await;

    // Hidetown: accepted, then withdrawn from the public; its reminders are held.
    let hidden_cycle = open_cycle_of(app, "hidetown", "Hidetown").await;
    let (hidden_version, hidden_sha) = submit(app, hidden_cycle, report(WITHDRAWN_WORD)).await;
    let withdrawn = accept(app, hidden_version).await;
    let path = format!("/api/v1/archive/{withdrawn}");
    let r = app.call(Method::PATCH, &path, Some(&app.admin), Some(json!({ "published_on": null }))).await;
    assert_eq!((r.status, r.body["published"].as_bool()), (StatusCode::OK, Some(false)), "{}", r.text);
    let digest = |file: &str| r.body[file]["sha256"].as_str().unwrap().to_owned();
    let secret_digests = vec![pending_sha, hidden_sha, digest("pdf"), digest("source_bundle")];
    let hold = json!({ "reason": HOLD_REASON, "until": "2027-06-30" });
    let r = app.call(Method::POST, "/api/v1/cities/hidetown/reminder-suppressions", Some(&app.admin), Some(hold)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let r = app.get(&format!("/api/v1/archive/{published}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    Holdings {
        cities: vec!["ostersund", "draftburg", "pubtown", "hidetown"],
        cycles: vec![pending_cycle, draft_cycle, pub_cycle, hidden_cycle],
        versions: vec![pending, pub_version, hidden_version],
        published,
        withdrawn,
        secret_digests,
        published_pdf: r.body["pdf"]["sha256"].as_str().unwrap().to_owned(),
    }
}

/// Every GET route outside the public ones, with every id the database holds.
fn private_paths(h: &Holdings) -> Vec<String> {
    let mut paths: Vec<String> = ["/api/v1/cycles", "/api/v1/dashboard", "/api/v1/deadlines.ics", "/api/v1/reminders"]
        .into_iter()
        .chain(["/api/v1/reminders?state=planned", "/api/v1/audit", "/api/v1/tokens", "/api/v1/cycles?format=csv"])
        .map(str::to_owned)
        .collect();
    for slug in &h.cities {
        for tail in
            ["contacts", "cycles", "deadlines.ics", "reminders", "reminders?state=planned", "reminder-suppressions"]
        {
            paths.push(format!("/api/v1/cities/{slug}/{tail}"));
        }
    }
    for id in &h.cycles {
        for tail in ["", "/draft", "/draft/pdf", "/submissions"] {
            paths.push(format!("/api/v1/cycles/{id}{tail}"));
        }
    }
    for id in &h.versions {
        for tail in ["", "/pdf", "/attachments/map.png", "/comments", "/diff"] {
            paths.push(format!("/api/v1/submissions/{id}{tail}"));
        }
    }
    for tail in ["", "/pdf", "/source.zip", "/source", "/verify"] {
        paths.push(format!("/api/v1/archive/{}{tail}", h.withdrawn));
    }
    paths
}

/// The routes anyone may read, with every id and slug.
fn public_paths(h: &Holdings) -> Vec<String> {
    let mut paths: Vec<String> = ["/healthz", "/readyz", "/api/v1/fields", "/api/v1/cities", "/feeds/archive.atom"]
        .into_iter()
        .chain(["/api/v1/cities?field=gastronomy&per_page=200", "/api/v1/cities?q=town"])
        .map(str::to_owned)
        .collect();
    paths.extend(h.cities.iter().map(|slug| format!("/api/v1/cities/{slug}")));
    for tail in ["", "/pdf", "/source.zip", "/source", "/verify"] {
        paths.push(format!("/api/v1/archive/{}{tail}", h.published));
    }
    // The search, the exports and the bulk download, asked for every private word: nothing, never
    // an error.
    for list in
        ["/api/v1/archive", "/api/v1/archive/export.csv", "/api/v1/archive/export.json", "/api/v1/archive/bulk.zip"]
    {
        paths.push(list.to_owned());
        for word in [DRAFT_WORD, PENDING_WORD, WITHDRAWN_WORD] {
            paths.push(format!("{list}?q={word}"));
        }
        paths.push(format!("{list}?field=gastronomy&country=SE"));
    }
    for verb in [
        "Identify",
        "ListMetadataFormats",
        "ListSets",
        "ListIdentifiers&metadataPrefix=oai_dc",
        "ListRecords&metadataPrefix=oai_dc",
        "ListRecords&metadataPrefix=oai_dc&set=field:gastronomy",
        "ListIdentifiers&metadataPrefix=oai_dc&set=country:SE",
    ] {
        paths.push(format!("/oai?verb={verb}"));
    }
    for id in [h.published, h.withdrawn] {
        paths.push(format!("/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier={}", oai_id(id)));
        paths.push(format!("/oai?verb=ListMetadataFormats&identifier={}", oai_id(id)));
    }
    paths
}

fn oai_id(archive: i64) -> String {
    format!("oai:127.0.0.1:archive/{archive}")
}

/// Whether `text` names archive entry `id` (`archive/7`, not `archive/70`).
fn names_archive(text: &str, id: i64) -> bool {
    let needle = format!("archive/{id}");
    text.match_indices(&needle).any(|(at, _)| !text[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// Fails when the answer to `path` carries anything the public must not see.
fn assert_nothing_private(h: &Holdings, path: &str, reply: &Reply) {
    let headers: String =
        reply.headers.iter().map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes()))).collect();
    // An answer may echo the request itself (the bulk download's manifest records it).
    let seen = format!("{headers}\n{}", reply.text).replace(path, "<the request>");
    for secret in [DRAFT_WORD, PENDING_WORD, WITHDRAWN_WORD, COMMENT, PUBLISHED_COMMENT, RECIPIENT, HOLD_REASON] {
        assert!(!seen.contains(secret), "GET {path} shows {secret:?}: {seen}");
    }
    for digest in &h.secret_digests {
        assert!(!seen.contains(digest.as_str()), "GET {path} shows the digest {digest} of a non-public object: {seen}");
    }
    // A request naming the withdrawn entry may hear its own id back in an error, nothing more.
    if !names_archive(path, h.withdrawn) {
        assert!(!names_archive(&seen, h.withdrawn), "GET {path} names the withdrawn entry {}: {seen}", h.withdrawn);
    }
}

async fn no_public_endpoint_reaches_private_work(app: TestApp) {
    let h = fill(&app).await;
    let admin_token = app.admin.clone();
    let private = private_paths(&h);
    for path in &private {
        let r = app.get(path, None).await;
        assert!(
            matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND),
            "GET {path} without a token: {} {}",
            r.status,
            r.text
        );
        assert!(matches!(r.code(), "unauthenticated" | "not_found"), "GET {path}: {}", r.text);
        assert_nothing_private(&h, path, &r);
        assert!(!r.text.contains(&admin_token));
        // The same with a made-up token: refused, not served as the public.
        let r = app.get(path, Some("mmr_not-a-real-token")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "GET {path} with a made-up token: {}", r.text);
    }
    // HEAD on the withdrawn entry's files is refused like GET.
    for tail in ["pdf", "source.zip"] {
        let r = app.call(Method::HEAD, &format!("/api/v1/archive/{}/{tail}", h.withdrawn), None, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "HEAD {tail}");
    }

    let public = public_paths(&h);
    for path in &public {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text);
        assert_nothing_private(&h, path, &r);
    }
    let r = app
        .raw(
            Method::POST,
            "/oai",
            None,
            "application/x-www-form-urlencoded",
            b"verb=ListRecords&metadataPrefix=oai_dc".to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_nothing_private(&h, "POST /oai", &r);

    // The published report is there, so the checks above looked at real answers.
    let records = app.get("/oai?verb=ListRecords&metadataPrefix=oai_dc", None).await;
    assert!(names_archive(&records.text, h.published), "{}", records.text);
    assert!(records.text.contains("Pubtown"), "{}", records.text);
    let feed = app.get("/feeds/archive.atom", None).await;
    assert!(names_archive(&feed.text, h.published), "{}", feed.text);
    let entry = app.get(&format!("/api/v1/archive/{}", h.published), None).await;
    assert_eq!(entry.body["pdf"]["sha256"], h.published_pdf.as_str());
    let pdf = app.get(&format!("/api/v1/archive/{}/pdf", h.published), None).await;
    assert_eq!(crate::submissions::sha256(pdf.text_bytes()), h.published_pdf);
    // A withdrawn entry's GetRecord says it does not exist, as for an id never used.
    let r =
        app.get(&format!("/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier={}", oai_id(h.withdrawn)), None).await;
    assert!(r.text.contains("idDoesNotExist"), "{}", r.text);
    let unused =
        app.get(&format!("/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier={}", oai_id(999_999)), None).await;
    assert_eq!(r.text.replace(&oai_id(h.withdrawn), "#"), unused.text.replace(&oai_id(999_999), "#"));

    // The Secretariat does see what the public does not: the secrets are really in the database.
    let seen = [
        app.get(&format!("/api/v1/cycles/{}/draft", h.cycles[1]), Some(&app.admin)).await.text,
        app.get(&format!("/api/v1/submissions/{}/comments", h.versions[0]), Some(&app.admin)).await.text,
        app.get("/api/v1/cities/hidetown/reminder-suppressions", Some(&app.admin)).await.text,
        app.get(&format!("/api/v1/archive/{}", h.withdrawn), Some(&app.admin)).await.text,
    ]
    .join("\n");
    for secret in [DRAFT_WORD, COMMENT, HOLD_REASON, h.secret_digests[3].as_str()] {
        assert!(seen.contains(secret), "{secret} should be visible to the Secretariat: {seen}");
    }
}

/// A state with a limit of 5 a minute (burst 5) whose clock tests move by `offset` seconds.
fn limited_state(app: &TestApp, offset: Arc<AtomicI64>) -> AppState {
    let mut state = app.state.clone();
    state.clock = Arc::new(move || now() + TimeDelta::seconds(offset.load(Ordering::SeqCst)));
    let five = std::num::NonZeroU32::new(5).unwrap();
    state.rate_limiter = Some(Arc::new(RateLimiter::new(RateLimit::new(five, five))));
    state
}

/// The router on [`limited_state`].
fn limited(app: &TestApp, offset: Arc<AtomicI64>) -> Router {
    router(limited_state(app, offset))
}

/// GET `path` through `router` from `from` (no address: as the router called in-process).
async fn get_from(
    router: &Router,
    path: &str,
    from: Option<[u8; 4]>,
    token: Option<&str>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let mut req = req.body(Body::empty()).unwrap();
    if let Some(ip) = from {
        req.extensions_mut().insert(ConnectInfo(Peer::from(SocketAddr::from((ip, 40_000)))));
    }
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let retry_after =
        response.headers().get(header::RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), retry_after)
}

const A: Option<[u8; 4]> = Some([192, 0, 2, 1]);
const B: Option<[u8; 4]> = Some([198, 51, 100, 7]);
const C: Option<[u8; 4]> = Some([203, 0, 113, 9]);

async fn anonymous_requests_are_limited_per_address(app: TestApp) {
    let offset = Arc::new(AtomicI64::new(0));
    let r = limited(&app, offset.clone());
    for i in 0..5 {
        assert_eq!(get_from(&r, "/api/v1/fields", A, None).await.0, StatusCode::OK, "request {i}");
    }
    // The sixth: 429 in the error format, retry when one request's worth has refilled (12 s).
    let (status, body, retry_after) = get_from(&r, "/api/v1/cities", A, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("5 a minute"), "{body}");
    assert_eq!(retry_after, "12");
    // Every route counts, public or not, and unknown routes too; the probes never do.
    for path in ["/oai?verb=Identify", "/feeds/archive.atom", "/api/v1/archive/1/pdf", "/api/v1/cycles", "/nowhere"] {
        assert_eq!(get_from(&r, path, A, None).await.0, StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
    for _ in 0..10 {
        assert_eq!(get_from(&r, "/healthz", A, None).await.0, StatusCode::OK);
        assert_eq!(get_from(&r, "/readyz", A, None).await.0, StatusCode::OK);
    }
    // Another address is not affected.
    assert_eq!(get_from(&r, "/api/v1/fields", B, None).await.0, StatusCode::OK);
    // A refused address is refused before its token is looked up: a made-up or malformed token
    // does not get around the limit, and neither does a valid one (telling them apart would cost
    // the lookup that the refusal saves).
    assert_eq!(get_from(&r, "/api/v1/fields", A, Some("mmr_made-up")).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(get_from(&r, "/api/v1/fields", A, Some(&app.admin)).await.0, StatusCode::TOO_MANY_REQUESTS);
    let mut malformed = Request::builder().uri("/oai?verb=Identify").header(header::AUTHORIZATION, "Basic eDp5");
    malformed = malformed.extension(ConnectInfo(Peer::from(SocketAddr::from(([192, 0, 2, 1], 1)))));
    let reply = r.clone().oneshot(malformed.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
    // Signed-in requests use up nothing of their address's allowance.
    for _ in 0..20 {
        assert_eq!(get_from(&r, "/api/v1/cycles", C, Some(&app.admin)).await.0, StatusCode::OK);
    }
    for i in 0..5 {
        assert_eq!(get_from(&r, "/api/v1/fields", C, None).await.0, StatusCode::OK, "request {i} from C");
    }
    // Eleven seconds on, still refused (1 s to go); at twelve, one request passes, then no more.
    offset.store(11, Ordering::SeqCst);
    let (status, _, retry_after) = get_from(&r, "/api/v1/fields", A, None).await;
    assert_eq!((status, retry_after.as_str()), (StatusCode::TOO_MANY_REQUESTS, "1"));
    offset.store(12, Ordering::SeqCst);
    assert_eq!(get_from(&r, "/api/v1/fields", A, None).await.0, StatusCode::OK);
    assert_eq!(get_from(&r, "/api/v1/fields", A, None).await.0, StatusCode::TOO_MANY_REQUESTS);
    // After a full minute the whole burst is back.
    offset.store(72, Ordering::SeqCst);
    for i in 0..5 {
        assert_eq!(get_from(&r, "/api/v1/fields", A, None).await.0, StatusCode::OK, "request {i} after a minute");
    }
    // Requests with no known address share one allowance.
    for _ in 0..5 {
        assert_eq!(get_from(&r, "/api/v1/fields", None, None).await.0, StatusCode::OK);
    }
    assert_eq!(get_from(&r, "/api/v1/fields", None, None).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Without a limiter (the default of `AppState::new`) nothing is limited.
    for _ in 0..20 {
        assert_eq!(app.get("/api/v1/fields", None).await.status, StatusCode::OK);
    }
}

/// A refused address's requests are answered 429 without looking their token up: with every
/// database connection held elsewhere (a lookup would wait the pool's 10 s timeout), the refused
/// address still gets its 429 at once, for a made-up token and a valid one alike.
async fn a_refused_address_costs_no_token_lookup(app: TestApp) {
    let r = limited(&app, Arc::new(AtomicI64::new(0)));
    for i in 0..5 {
        assert_eq!(get_from(&r, "/api/v1/fields", A, None).await.0, StatusCode::OK, "request {i}");
    }
    let pool_size = match app.backend {
        crate::helpers::Backend::Sqlite => 8,
        crate::helpers::Backend::Postgres => 10,
    };
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let mut release = Vec::new();
    for _ in 0..pool_size {
        let (db, held_tx) = (app.db.clone(), held_tx.clone());
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        release.push(tx);
        std::thread::spawn(move || {
            db.run_blocking(|_| {
                held_tx.send(()).unwrap();
                let _ = rx.recv();
                Ok::<_, mmr::db::DbError>(())
            })
        });
    }
    for _ in 0..pool_size {
        held_rx.recv_timeout(std::time::Duration::from_secs(10)).expect("a pooled connection held");
    }
    let made_up = format!("mmr_{}", "0".repeat(64));
    for token in [made_up.as_str(), app.admin.as_str()] {
        let started = std::time::Instant::now();
        let (status, body, _) = get_from(&r, "/api/v1/fields", A, Some(token)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3), "refused after {:?}", started.elapsed());
    }
    drop(release);
    // Once the connections are back, another address's token is looked up as usual.
    assert_eq!(get_from(&r, "/api/v1/fields", B, Some(&made_up)).await.0, StatusCode::UNAUTHORIZED);
}

/// One HTTP/1.1 request over TCP from the local address `from`, with extra header lines and a
/// JSON body; returns the status code and the body.
async fn tcp_request(
    server: SocketAddr,
    from: [u8; 4],
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status =
        answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("not HTTP: {answer}"));
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

/// One HTTP/1.1 GET over TCP from the local address `from`; returns the status code.
async fn tcp_get(server: SocketAddr, from: [u8; 4], path: &str) -> u16 {
    tcp_request(server, from, "GET", path, &[], "").await.0
}

/// Served as `startup::serve` serves it, the limit counts by the TCP peer's address.
async fn the_server_counts_by_peer_address(app: TestApp) {
    let state = limited_state(&app, Arc::new(AtomicI64::new(0)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(mmr::http::serve(listener, state, std::future::pending()));
    for _ in 0..5 {
        assert_eq!(tcp_get(addr, [127, 0, 0, 1], "/api/v1/fields").await, 200);
    }
    assert_eq!(tcp_get(addr, [127, 0, 0, 1], "/api/v1/fields").await, 429);
    // A forwarded-for header is not believed.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = format!(
        "GET /api/v1/fields HTTP/1.1\r\nHost: {addr}\r\nX-Forwarded-For: 10.9.8.7\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("\r\nretry-after: 12\r\n"), "{answer}");
    // Another loopback address is another client.
    assert_eq!(tcp_get(addr, [127, 0, 0, 2], "/api/v1/fields").await, 200);
    server.abort();
}

/// Behind a trusted proxy (127.0.0.1 here) the client is the address it forwarded: each forwarded
/// client has its own allowance and is the one the audit log records. From any other peer the
/// header is ignored.
async fn forwarded_for_is_believed_only_from_trusted_proxies(app: TestApp) {
    let mut state = limited_state(&app, Arc::new(AtomicI64::new(0)));
    state.trusted_proxies = Arc::new("127.0.0.1, 10.0.0.0/8".parse().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(mmr::http::serve(listener, state, std::future::pending()));
    let (proxy, stranger) = ([127, 0, 0, 1], [127, 0, 0, 2]);
    let via = |client: &'static str| [("X-Forwarded-For", client)];
    let get = |from, headers: &'static [(&'static str, &'static str)]| {
        tcp_request(addr, from, "GET", "/api/v1/fields", headers, "")
    };
    // Two clients behind the proxy: each gets the whole allowance of 5.
    for client in ["203.0.113.1", "203.0.113.2"] {
        for i in 0..5 {
            assert_eq!(
                tcp_request(addr, proxy, "GET", "/api/v1/fields", &via(client), "").await.0,
                200,
                "{client} {i}"
            );
        }
        assert_eq!(tcp_request(addr, proxy, "GET", "/api/v1/fields", &via(client), "").await.0, 429, "{client}");
    }
    // What a client wrote itself, left of what the proxy appended, does not buy a new allowance;
    // an inner trusted proxy is skipped.
    for header in ["198.51.100.99, 203.0.113.1", "203.0.113.1, 10.1.2.3"] {
        assert_eq!(get(proxy, &[]).await.0, 200, "the proxy's own requests count apart");
        let (status, _) = tcp_request(addr, proxy, "GET", "/api/v1/fields", &[("X-Forwarded-For", header)], "").await;
        assert_eq!(status, 429, "{header}");
    }
    // A malformed header counts against the proxy itself (which has used 2 of its 5 above).
    for _ in 0..3 {
        assert_eq!(get(proxy, &[("X-Forwarded-For", "203.0.113.3:80")]).await.0, 200);
    }
    assert_eq!(get(proxy, &[("X-Forwarded-For", "junk")]).await.0, 429);
    assert_eq!(get(proxy, &[]).await.0, 429);
    // From an untrusted peer the header is ignored: a new forwarded address every time does not help.
    for i in 0..5 {
        assert_eq!(get(stranger, &[("X-Forwarded-For", "203.0.113.50")]).await.0, 200, "{i}");
    }
    assert_eq!(get(stranger, &[("X-Forwarded-For", "203.0.113.51")]).await.0, 429);

    // The audit log records the forwarded client for a change made through the proxy, and the
    // peer for one made directly (addresses not refused: a refused one is refused, token or not).
    let bearer = format!("Bearer {}", app.admin);
    for (from, forwarded, slug) in [(proxy, "2001:db8::7", "lisbon"), ([127, 0, 0, 3], "203.0.113.9", "porto")] {
        let body = json!({ "slug": slug, "name": slug, "country": "PT", "field": "music",
            "designation_date": "2015-12-11", "time_zone": "Europe/Lisbon" })
        .to_string();
        let headers = [("Authorization", bearer.as_str()), ("X-Forwarded-For", forwarded)];
        let (status, answer) = tcp_request(addr, from, "POST", "/api/v1/cities", &headers, &body).await;
        assert_eq!(status, 201, "{answer}");
    }
    let audit = app.get("/api/v1/audit?action=city.create", Some(&app.admin)).await;
    let recorded: Vec<(&str, &str)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["subject_id"].as_str().unwrap(), e["client_addr"].as_str().unwrap_or("-")))
        .collect();
    assert!(recorded.contains(&("lisbon", "2001:db8::7")), "{recorded:?}");
    assert!(recorded.contains(&("porto", "127.0.0.3")), "{recorded:?}");
    server.abort();
}

crate::both_backends!(
    no_public_endpoint_reaches_private_work,
    forwarded_for_is_believed_only_from_trusted_proxies,
    anonymous_requests_are_limited_per_address,
    a_refused_address_costs_no_token_lookup,
    the_server_counts_by_peer_address,
);
