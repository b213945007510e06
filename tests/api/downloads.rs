//! Downloading archived files: the whole file against its ETag, conditional requests, HEAD, single
//! and multipart ranges, file names, visibility of unpublished entries, damaged files, the body
//! arriving in chunks, and, over real TCP connections, trusted files sent with `sendfile`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::serve::ListenerExt;
use chrono::{DateTime, NaiveDate};
use http_body_util::BodyExt;
use mmr::domain::auth::Role;
use mmr::http::{AppState, Conn, Listener, Peer, VerifiedFiles, router};
use mmr::mail::{Envelope, MemoryTransport};
use mmr::workflow::archive::Alarm;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use crate::helpers::{Reply, TestApp};
use crate::submissions::{b64, full_plan, full_report, png, sha256};

/// A PNG of pseudo-random pixels, which no compression shrinks much.
fn noise_png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let mut state = 0x2545_f491_u32;
    let data: Vec<u8> = (0..side * side * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

/// An archived (and published) report of a city registered as `slug`/`name` with the map `map`;
/// returns the entry.
async fn archived(app: &TestApp, slug: &str, name: &str, country: &str, map: Vec<u8>) -> Value {
    app.city_designated(slug, name, country, "gastronomy", NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    app.sync_cycles();
    let city = app.token(Role::City, None, Some(slug));
    let cycles = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&city)).await;
    let open = cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle");
    let cycle = open["id"].as_i64().unwrap();
    let body = json!({ "report_markdown": full_report(""), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&map) }] });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    let decision = json!({ "decision": "accept" });
    let path = format!("/api/v1/submissions/{id}/decision");
    let r = app.call(Method::POST, &path, Some(&app.admin), Some(decision)).await;
    let archive = r.body["archive_id"].as_i64().expect("archived on acceptance");
    let entry = app.get(&format!("/api/v1/archive/{archive}"), None).await;
    assert_eq!((entry.status, entry.body["published"].as_bool()), (StatusCode::OK, Some(true)), "{}", entry.text);
    entry.body
}

/// Östersund's archived report.
async fn ostersund(app: &TestApp) -> Value {
    archived(app, "ostersund", "Östersund", "SE", png(6, 6)).await
}

fn pdf_path(entry: &Value) -> String {
    format!("/api/v1/archive/{}/pdf", entry["id"])
}

/// A request with extra headers.
async fn request(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    request(app, Method::GET, path, headers).await
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers.get(&name).map(|v| v.to_str().unwrap()).unwrap_or_else(|| panic!("no {name} header"))
}

async fn whole_files_match_their_etag_and_record(app: TestApp) {
    let entry = ostersund(&app).await;
    let id = &entry["id"];
    let archived_at = DateTime::parse_from_rfc3339(entry["archived_at"].as_str().unwrap()).unwrap();
    for (path, file, content_type) in [
        (format!("/api/v1/archive/{id}/pdf"), &entry["pdf"], "application/pdf"),
        (format!("/api/v1/archive/{id}/source.zip"), &entry["source_bundle"], "application/zip"),
        (format!("/api/v1/archive/{id}/source"), &entry["source_bundle"], "application/zip"),
    ] {
        let r = app.get(&path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        let sha = file["sha256"].as_str().unwrap();
        assert_eq!(sha256(&r.bytes), sha, "{path}");
        assert_eq!(header(&r.headers, header::ETAG), format!("\"{}\"", sha256(&r.bytes)));
        assert_eq!(header(&r.headers, header::CONTENT_LENGTH), r.bytes.len().to_string());
        assert_eq!(r.bytes.len() as i64, file["bytes"].as_i64().unwrap());
        assert_eq!(header(&r.headers, header::CONTENT_TYPE), content_type);
        assert_eq!(header(&r.headers, header::ACCEPT_RANGES), "bytes");
        assert_eq!(header(&r.headers, header::CACHE_CONTROL), "public, max-age=86400, immutable");
        assert_eq!(
            header(&r.headers, header::LAST_MODIFIED),
            archived_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
        );
    }
    assert_eq!(entry["source_bundle"]["url"], format!("/api/v1/archive/{id}/source.zip"));
    let r = app.get("/api/v1/archive/999999/pdf", None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
}

async fn conditional_requests_answer_not_modified(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let etag = format!("\"{}\"", entry["pdf"]["sha256"].as_str().unwrap());
    let whole = app.get(&path, None).await;
    let last_modified = header(&whole.headers, header::LAST_MODIFIED).to_owned();
    let list = format!("\"abc\", {etag}");
    let weak = format!("W/{etag}");
    for tags in [etag.as_str(), list.as_str(), "*", weak.as_str()] {
        let r = get_with(&app, &path, &[("if-none-match", tags)]).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{tags}");
        assert!(r.bytes.is_empty());
        assert_eq!(header(&r.headers, header::ETAG), etag);
        assert!(r.headers.get(header::CACHE_CONTROL).is_some());
        let r = request(&app, Method::HEAD, &path, &[("if-none-match", tags)]).await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "HEAD {tags}");
    }
    for other in ["\"0000\"", "W/\"0000\", \"1111\"", "not a tag"] {
        let r = get_with(&app, &path, &[("if-none-match", other)]).await;
        assert_eq!((r.status, r.bytes == whole.bytes), (StatusCode::OK, true), "{other}");
    }
    // If-Modified-Since: only without If-None-Match.
    let r = get_with(&app, &path, &[("if-modified-since", &last_modified)]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = get_with(&app, &path, &[("if-modified-since", "Mon, 01 Jan 2024 00:00:00 GMT")]).await;
    assert_eq!((r.status, r.bytes == whole.bytes), (StatusCode::OK, true));
    let r = get_with(&app, &path, &[("if-modified-since", &last_modified), ("if-none-match", "\"0000\"")]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get_with(&app, &path, &[("if-modified-since", "last week")]).await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn head_gives_the_headers_without_the_body(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let whole = app.get(&path, None).await;
    let r = request(&app, Method::HEAD, &path, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.bytes.is_empty());
    assert_eq!(header(&r.headers, header::CONTENT_LENGTH), entry["pdf"]["bytes"].to_string());
    for name in [header::ETAG, header::LAST_MODIFIED, header::CONTENT_DISPOSITION, header::CONTENT_TYPE] {
        assert_eq!(r.headers.get(&name), whole.headers.get(&name), "{name}");
    }
    // Ranges apply to GET only.
    let r = request(&app, Method::HEAD, &path, &[("range", "bytes=0-9")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r.headers, header::CONTENT_LENGTH), entry["pdf"]["bytes"].to_string());
    let r = request(&app, Method::HEAD, &format!("/api/v1/archive/{}/source.zip", entry["id"]), &[]).await;
    assert_eq!(header(&r.headers, header::CONTENT_LENGTH), entry["source_bundle"]["bytes"].to_string());
}

async fn single_ranges_give_the_exact_bytes(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let whole = app.get(&path, None).await.bytes;
    let len = whole.len();
    for (range, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=1000-1999", 1000, 1999),
        (&format!("bytes={}-", len - 300), len - 300, len - 1),
        ("bytes=-50", len - 50, len - 1),
        (&format!("bytes=10-{}", len * 2), 10, len - 1),
    ] {
        let r = get_with(&app, &path, &[("range", range)]).await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header(&r.headers, header::CONTENT_RANGE), format!("bytes {start}-{end}/{len}"));
        assert_eq!(header(&r.headers, header::CONTENT_LENGTH), (end - start + 1).to_string());
        assert_eq!(header(&r.headers, header::CONTENT_TYPE), "application/pdf");
        assert_eq!(r.bytes, whole[start..=end], "{range}");
    }
}

/// Splits a `multipart/byteranges` body into (Content-Range, bytes) parts.
fn parts(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("--{boundary}");
    let find = |from: usize, needle: &[u8]| {
        body[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from).expect("delimiter")
    };
    let mut out = Vec::new();
    let mut at = find(0, delimiter.as_bytes()) + delimiter.len();
    while !body[at..].starts_with(b"--") {
        let headers_end = find(at, b"\r\n\r\n");
        let head = std::str::from_utf8(&body[at..headers_end]).unwrap();
        let range =
            head.lines().find_map(|l| l.strip_prefix("Content-Range: ")).expect("each part names its range").to_owned();
        assert!(head.contains("Content-Type: application/pdf"), "{head}");
        let next = find(headers_end, format!("\r\n{delimiter}").as_bytes());
        out.push((range, body[headers_end + 4..next].to_vec()));
        at = next + 2 + delimiter.len();
    }
    assert_eq!(&body[at..], b"--\r\n", "the body ends with the closing delimiter");
    out
}

async fn several_ranges_come_as_multipart_byteranges(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let whole = app.get(&path, None).await.bytes;
    let len = whole.len();
    let r = get_with(&app, &path, &[("range", "bytes=200-299, 0-9, -5")]).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{}", r.text);
    assert!(r.headers.get(header::CONTENT_RANGE).is_none());
    assert_eq!(header(&r.headers, header::CONTENT_LENGTH), r.bytes.len().to_string());
    let content_type = header(&r.headers, header::CONTENT_TYPE);
    let boundary = content_type.strip_prefix("multipart/byteranges; boundary=").expect(content_type);
    let found = parts(&r.bytes, boundary);
    let expected = [
        (format!("bytes 200-299/{len}"), whole[200..300].to_vec()),
        (format!("bytes 0-9/{len}"), whole[..10].to_vec()),
        (format!("bytes {}-{}/{len}", len - 5, len - 1), whole[len - 5..].to_vec()),
    ];
    assert_eq!(found, expected);

    // Overlapping ranges, or more than 16, get the whole file.
    let r = get_with(&app, &path, &[("range", "bytes=0-99,50-60")]).await;
    assert_eq!((r.status, r.bytes == whole), (StatusCode::OK, true));
    let many: Vec<String> = (0..17).map(|i| format!("{}-{}", i * 10, i * 10 + 1)).collect();
    let r = get_with(&app, &path, &[("range", &format!("bytes={}", many.join(",")))]).await;
    assert_eq!((r.status, r.bytes == whole), (StatusCode::OK, true));
}

async fn bad_and_conditional_ranges(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let whole = app.get(&path, None).await.bytes;
    let len = whole.len();
    for unsatisfiable in [format!("bytes={len}-"), format!("bytes={}-{}", len + 5, len + 10), "bytes=-0".to_owned()] {
        let r = get_with(&app, &path, &[("range", &unsatisfiable)]).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable"),
            "{unsatisfiable}"
        );
        assert_eq!(header(&r.headers, header::CONTENT_RANGE), format!("bytes */{len}"));
    }
    for malformed in ["bytes=5-1", "bytes=abc", "lines=0-9", "bytes 0-9", "bytes=0-9;x", "bytes=,"] {
        let r = get_with(&app, &path, &[("range", malformed)]).await;
        assert_eq!((r.status, r.bytes == whole), (StatusCode::OK, true), "{malformed}");
    }
    let etag = header(&app.get(&path, None).await.headers, header::ETAG).to_owned();
    let r = get_with(&app, &path, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!((r.status, r.bytes.as_slice()), (StatusCode::PARTIAL_CONTENT, &whole[..10]));
    for stale in ["\"0000\"", &format!("W/{etag}"), "Mon, 01 Jan 2024 00:00:00 GMT"] {
        let r = get_with(&app, &path, &[("range", "bytes=0-9"), ("if-range", stale)]).await;
        assert_eq!((r.status, r.bytes == whole), (StatusCode::OK, true), "{stale}");
    }
}

async fn file_names_have_ascii_and_utf8_forms(app: TestApp) {
    let entry = ostersund(&app).await;
    let r = request(&app, Method::HEAD, &pdf_path(&entry), &[]).await;
    assert_eq!(
        header(&r.headers, header::CONTENT_DISPOSITION),
        "attachment; filename=\"ostersund-gastronomy-mmr-2026.pdf\"; \
         filename*=UTF-8''%C3%B6stersund-gastronomy-mmr-2026.pdf"
    );
    let entry = archived(&app, "sao-joao-del-rei", "São João del-Rei", "BR", png(6, 6)).await;
    let r = request(&app, Method::HEAD, &format!("/api/v1/archive/{}/source.zip", entry["id"]), &[]).await;
    assert_eq!(
        header(&r.headers, header::CONTENT_DISPOSITION),
        "attachment; filename=\"sao-joao-del-rei-gastronomy-mmr-2026.source.zip\"; \
         filename*=UTF-8''s%C3%A3o-jo%C3%A3o-del-rei-gastronomy-mmr-2026.source.zip"
    );
}

async fn unpublished_files_are_hidden_from_the_public(app: TestApp) {
    let entry = ostersund(&app).await;
    let id = &entry["id"];
    let r = app
        .call(Method::PATCH, &format!("/api/v1/archive/{id}"), Some(&app.admin), Some(json!({ "published_on": null })))
        .await;
    assert_eq!(r.body["published"], false, "{}", r.text);
    let etag = format!("\"{}\"", entry["pdf"]["sha256"].as_str().unwrap());
    for file in ["pdf", "source.zip", "source"] {
        let path = format!("/api/v1/archive/{id}/{file}");
        for (method, headers) in [
            (Method::GET, vec![]),
            (Method::HEAD, vec![]),
            (Method::GET, vec![("range", "bytes=0-9")]),
            (Method::GET, vec![("if-none-match", "*")]),
            (Method::GET, vec![("if-none-match", etag.as_str())]),
        ] {
            let r = request(&app, method.clone(), &path, &headers).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path} {headers:?}");
        }
        // The Secretariat still gets it, marked private.
        let r = app.get(&path, Some(&app.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(header(&r.headers, header::CACHE_CONTROL), "private, no-cache");
    }
}

/// The path of a stored object in the local store, made writable.
fn writable_object(app: &TestApp, sha: &str) -> std::path::PathBuf {
    let path = app.archive_dir.path().join("objects").join(&sha[..2]).join(&sha[2..4]).join(sha);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    path
}

/// A state whose archive alarms go to `transport`.
fn alarmed_state(app: &TestApp, transport: &Arc<MemoryTransport>) -> AppState {
    let mut state = app.state.clone();
    state.alarm = Some(Arc::new(Alarm {
        transport: transport.clone(),
        envelope: Envelope {
            from: "UCCN <mmr@uccn.test>".into(),
            to: vec!["secretariat@uccn.test".into()],
            cc: vec![],
            message_id: "fixity.test@uccn.test".into(),
        },
    }));
    state
}

/// A byte flipped in an archived PDF before any fixity run: no request gets a 200 (whole file,
/// range, HEAD), the entry is marked damaged at once, and the Secretariat is alarmed once.
async fn damaged_files_are_not_served(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let sha = entry["pdf"]["sha256"].as_str().unwrap();
    let pdf = writable_object(&app, sha);
    let original = std::fs::read(&pdf).unwrap();
    let transport = Arc::new(MemoryTransport::new());
    let router = router(alarmed_state(&app, &transport));
    let ask = |headers: Vec<(&'static str, &'static str)>, method: Method| {
        let (router, path) = (router.clone(), path.clone());
        async move {
            let mut req = Request::builder().method(method).uri(path);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            crate::helpers::send_via(&router, req.body(Body::empty()).unwrap()).await
        }
    };

    // Same size, one byte changed, no fixity run yet: refused before any header, every way asked.
    let mut changed = original.clone();
    changed[10] ^= 0x01;
    std::fs::write(&pdf, &changed).unwrap();
    for (headers, method) in
        [(vec![], Method::GET), (vec![("range", "bytes=0-9")], Method::GET), (vec![], Method::HEAD)]
    {
        let r = ask(headers.clone(), method.clone()).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {headers:?}");
        if method == Method::GET {
            assert_eq!(r.code(), "archive_damaged", "{}", r.text);
        }
    }
    // Marked damaged at once, recorded, and the Secretariat told once for all those requests.
    let shown = app.get(&format!("/api/v1/archive/{}", entry["id"]), None).await;
    assert_eq!(shown.body["last_fixity_ok"], false, "{}", shown.text);
    let audit = app.get("/api/v1/audit?action=archive.damaged", Some(&app.admin)).await;
    assert_eq!(audit.body["total"], 1, "{}", audit.text);
    let mail = transport.messages();
    assert_eq!(mail.len(), 1, "one alarm per entry");
    assert_eq!(mail[0].to(), ["secretariat@uccn.test"]);
    assert!(mail[0].subject().contains(&format!("archive {}", entry["id"])), "{}", mail[0].subject());
    assert!(mail[0].body().contains(sha), "{}", mail[0].body());

    // A different size: refused too.
    let mut longer = original.clone();
    longer.push(b'\n');
    std::fs::write(&pdf, &longer).unwrap();
    for headers in [vec![], vec![("range", "bytes=0-9")]] {
        let r = get_with(&app, &path, &headers).await;
        assert_eq!((r.status, r.code()), (StatusCode::INTERNAL_SERVER_ERROR, "archive_damaged"), "{headers:?}");
    }

    // Missing.
    let bundle = writable_object(&app, entry["source_bundle"]["sha256"].as_str().unwrap());
    let bundle_bytes = std::fs::read(&bundle).unwrap();
    std::fs::remove_file(&bundle).unwrap();
    let r = app.get(&format!("/api/v1/archive/{}/source.zip", entry["id"]), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::INTERNAL_SERVER_ERROR, "archive_damaged"));

    // Restored, the entry stays refused until a fixity run finds both files intact again.
    std::fs::write(&pdf, &original).unwrap();
    assert_eq!(app.get(&path, None).await.status, StatusCode::INTERNAL_SERVER_ERROR);
    let report = app.fixity(None);
    assert_eq!(report.problems.len(), 1, "the bundle is still missing");
    assert_eq!(app.get(&path, None).await.status, StatusCode::INTERNAL_SERVER_ERROR);
    std::fs::write(&bundle, &bundle_bytes).unwrap();
    let report = app.fixity(None);
    assert!(report.problems.is_empty());
    let r = app.get(&path, None).await;
    assert_eq!((r.status, sha256(&r.bytes)), (StatusCode::OK, sha.to_owned()));
}

async fn the_body_streams_in_chunks(app: TestApp) {
    // A large map makes a PDF of several chunks.
    let entry = archived(&app, "ostersund", "Östersund", "SE", noise_png(400)).await;
    let path = pdf_path(&entry);
    let len = entry["pdf"]["bytes"].as_u64().unwrap();
    assert!(len > 256 * 1024, "the test PDF spans several 256 KiB chunks ({len} bytes)");
    let router = mmr::http::router(app.state.clone());
    let response = router.oneshot(Request::get(&path).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        sizes.push(data.len());
        all.extend_from_slice(&data);
    }
    assert!(sizes.len() > 1 && sizes.iter().all(|&n| n <= 256 * 1024), "{sizes:?}");
    assert_eq!(sha256(&all), entry["pdf"]["sha256"].as_str().unwrap());
}

/// The API served over real TCP on a port of its own, as `mmr serve` serves it (`http::serve`),
/// with a fresh zero-copy counter and a `VerifiedFiles` that remembers a match at once (the
/// archive's files are only moments old here); stopped when dropped.
struct Server {
    addr: SocketAddr,
    state: AppState,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(app: &TestApp) -> Server {
        Server::start_with(app, None).await
    }

    /// With `send_buffer`, each connection's socket send buffer is set to that many bytes, so that
    /// a large file fills it and is sent in several `sendfile` calls whatever the kernel's
    /// defaults (it would otherwise take a few megabytes at once).
    async fn start_with(app: &TestApp, send_buffer: Option<libc::c_int>) -> Server {
        let mut state = app.state.clone();
        state.verified = Arc::new(VerifiedFiles::new(Duration::from_secs(600), Duration::ZERO));
        state.zero_copy = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = match send_buffer {
            None => tokio::spawn(mmr::http::serve(listener, state.clone(), std::future::pending())),
            Some(size) => {
                let listener = Listener::new(listener, state.zero_copy.clone())
                    .tap_io(move |conn: &mut Conn| set_send_buffer(conn.tcp(), size));
                let service = router(state.clone()).into_make_service_with_connect_info::<Peer>();
                tokio::spawn(async move { axum::serve(listener, service).await })
            }
        };
        Server { addr, state, task }
    }

    /// (responses, sendfile calls, bytes) sent with `sendfile` so far.
    fn zero_copy(&self) -> (u64, u64, u64) {
        let z = &self.state.zero_copy;
        (z.responses(), z.calls(), z.bytes())
    }

    /// [`Server::zero_copy`] once at least `bytes` have been sent, or after two seconds: the
    /// server counts the bytes when `sendfile` returns, which can be after the client has read
    /// them.
    async fn zero_copy_at(&self, bytes: u64) -> (u64, u64, u64) {
        for _ in 0..200 {
            if self.zero_copy().2 >= bytes {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.zero_copy()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn set_send_buffer(stream: &tokio::net::TcpStream, size: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket and a pointer to a c_int of the size given.
    let done = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(done, 0, "setsockopt SO_SNDBUF: {}", std::io::Error::last_os_error());
}

/// One HTTP/1.1 answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names in lowercase.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether the whole `Content-Length` arrived before the connection closed.
    complete: bool,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A keep-alive HTTP/1.1 client on one TCP connection, reading exactly what each answer's
/// `Content-Length` announces.
struct Client {
    stream: tokio::net::TcpStream,
    /// Bytes read past the previous answer.
    buffer: Vec<u8>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        Client { stream: tokio::net::TcpStream::connect(addr).await.unwrap(), buffer: Vec::new() }
    }

    /// A client whose socket receives into a small buffer, so the server's sends fill up.
    async fn connect_small(addr: SocketAddr) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        Client { stream: socket.connect(addr).await.unwrap(), buffer: Vec::new() }
    }

    async fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) {
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: test\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        self.stream.write_all(request.as_bytes()).await.unwrap();
    }

    /// Reads the status line and headers; the body is left to read.
    async fn head(&mut self) -> (u16, Vec<(String, String)>) {
        let end = loop {
            if let Some(i) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the connection closed before an answer: {:?}", String::from_utf8_lossy(&self.buffer));
            self.buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(self.buffer[..end].to_vec()).unwrap();
        self.buffer.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .map(|l| l.split_once(':').unwrap())
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (status, headers)
    }

    /// Reads up to `len` body bytes, in reads of at most `step` bytes, pausing `pause` between
    /// them; fewer when the connection closes first.
    async fn body(&mut self, len: usize, step: usize, pause: Duration) -> Vec<u8> {
        let mut body: Vec<u8> = self.buffer.drain(..len.min(self.buffer.len())).collect();
        let mut chunk = vec![0u8; step];
        while body.len() < len {
            let want = step.min(len - body.len());
            match self.stream.read(&mut chunk[..want]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        body
    }

    async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.send(method, path, headers).await;
        let (status, headers) = self.head().await;
        let length = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let length = if method == "HEAD" { 0 } else { length };
        let body = self.body(length, 64 * 1024, Duration::ZERO).await;
        Answer { status, headers, complete: body.len() == length, body }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.request("GET", path, &[]).await
    }
}

/// An archived report whose PDF is over a megabyte (a large map of noise), with the PDF's bytes.
async fn large(app: &TestApp) -> (Value, Vec<u8>) {
    let entry = archived(app, "ostersund", "Östersund", "SE", noise_png(700)).await;
    let pdf = app.get(&pdf_path(&entry), None).await.bytes;
    assert!(pdf.len() > 1_000_000, "{} bytes", pdf.len());
    (entry, pdf)
}

/// Over real TCP, on one keep-alive connection: the first whole download of a file hashes it
/// while streaming; from the second on, it is sent with `sendfile`, whole or one range; a JSON
/// request in between, HEAD, multipart ranges and 304s keep the streaming path and the connection.
async fn trusted_files_are_sent_with_sendfile_over_keep_alive(app: TestApp) {
    let (entry, pdf) = large(&app).await;
    let sha = entry["pdf"]["sha256"].as_str().unwrap().to_owned();
    let (path, len) = (pdf_path(&entry), pdf.len() as u64);
    let server = Server::start(&app).await;
    let mut c = Client::connect(server.addr).await;

    let first = c.get(&path).await;
    assert_eq!((first.status, first.complete, sha256(&first.body) == sha), (200, true, true));
    assert_eq!(server.zero_copy(), (0, 0, 0), "the first download is read and hashed");

    let ready = c.get("/readyz").await;
    assert_eq!(ready.json()["zero_copy"], json!({ "responses": 0, "sendfile_calls": 0, "bytes": 0 }));

    for round in 1..=3u64 {
        let r = c.get(&path).await;
        assert_eq!((r.status, r.complete), (200, true), "round {round}");
        assert_eq!(r.body, pdf, "round {round}: the file's bytes");
        assert_eq!(sha256(&r.body), sha);
        assert_eq!(r.header("content-length"), len.to_string());
        assert_eq!(r.header("etag"), format!("\"{sha}\""));
        let (responses, calls, bytes) = server.zero_copy_at(round * len).await;
        assert_eq!((responses, bytes), (round, round * len), "round {round}: all of it by sendfile");
        assert!(calls >= round);
        // A JSON answer between downloads, on the same connection.
        let fields = c.get("/api/v1/fields").await;
        assert_eq!((fields.status, fields.json()["items"].as_array().map(Vec::len).is_some()), (200, true));
    }
    let ready = c.get("/readyz").await.json();
    assert_eq!(ready["zero_copy"]["bytes"], 3 * len);
    assert_eq!(ready["zero_copy"]["responses"], 3);

    // One range: sent from the mapping too, its own bytes only.
    let before = server.zero_copy();
    let range = format!("bytes=1000-{}", len - 2);
    let r = c.request("GET", &path, &[("range", &range)]).await;
    assert_eq!((r.status, r.complete), (206, true));
    assert_eq!(r.header("content-range"), format!("bytes 1000-{}/{len}", len - 2));
    assert_eq!(r.body, pdf[1000..pdf.len() - 1]);
    let after = server.zero_copy_at(before.2 + len - 1001).await;
    assert_eq!((after.0, after.2), (before.0 + 1, before.2 + len - 1001));
    let r = c.request("GET", &path, &[("range", "bytes=-10")]).await;
    assert_eq!((r.status, r.body.as_slice()), (206, &pdf[pdf.len() - 10..]));

    // Not by sendfile: HEAD, several ranges, 304 and 416; the connection carries on.
    let before = server.zero_copy_at(after.2 + 10).await;
    assert_eq!((before.0, before.2), (after.0 + 1, after.2 + 10));
    let r = c.request("HEAD", &path, &[]).await;
    assert_eq!((r.status, r.header("content-length")), (200, len.to_string().as_str()));
    let r = c.request("GET", &path, &[("range", "bytes=0-9,20-29")]).await;
    assert_eq!(r.status, 206);
    assert!(r.header("content-type").starts_with("multipart/byteranges"));
    let r = c.request("GET", &path, &[("if-none-match", &format!("\"{sha}\""))]).await;
    assert_eq!((r.status, r.body.len()), (304, 0));
    let r = c.request("GET", &path, &[("range", &format!("bytes={len}-"))]).await;
    assert_eq!(r.status, 416);
    assert_eq!(server.zero_copy(), before);

    // The source bundle goes the same way: hashed once, then sent.
    let bundle = format!("/api/v1/archive/{}/source.zip", entry["id"]);
    let zip = c.get(&bundle).await;
    assert_eq!(sha256(&zip.body), entry["source_bundle"]["sha256"].as_str().unwrap());
    assert_eq!(server.zero_copy(), before);
    assert_eq!(c.get(&bundle).await.body, zip.body);
    assert_eq!(server.zero_copy_at(before.2 + zip.body.len() as u64).await.2, before.2 + zip.body.len() as u64);

    // The in-process router (no connection to send through) streams as before.
    assert_eq!(app.get(&path, None).await.bytes, pdf);
    assert_eq!(server.zero_copy().0, before.0 + 1);
}

/// A reader slower than the server: `sendfile` fills the socket, waits for room and goes on, in
/// several calls, and the bytes arrive whole. A client that leaves in the middle of a body does
/// not hurt the server: the next download, on a new connection, is whole and by `sendfile`.
async fn slow_and_vanishing_clients_over_tcp(app: TestApp) {
    let (entry, pdf) = large(&app).await;
    let path = pdf_path(&entry);
    let server = Server::start_with(&app, Some(16 * 1024)).await;
    let mut c = Client::connect(server.addr).await;
    assert_eq!(c.get(&path).await.body, pdf, "hashed, then trusted");

    let mut slow = Client::connect_small(server.addr).await;
    slow.send("GET", &path, &[]).await;
    let (status, _) = slow.head().await;
    assert_eq!(status, 200);
    let body = slow.body(pdf.len(), 4096, Duration::from_micros(200)).await;
    assert!(body == pdf, "a slow reader gets the file's bytes ({} of {})", body.len(), pdf.len());
    let (responses, calls, bytes) = server.zero_copy_at(pdf.len() as u64).await;
    assert_eq!((responses, bytes), (1, pdf.len() as u64));
    assert!(calls > 1, "the socket filled up and the send went on later ({calls} call)");

    // Leaves after the head and a few bytes, while the server is still sending.
    for _ in 0..3 {
        let mut leaving = Client::connect_small(server.addr).await;
        leaving.send("GET", &path, &[]).await;
        assert_eq!(leaving.head().await.0, 200);
        assert_eq!(leaving.body(1000, 1000, Duration::ZERO).await.len(), 1000);
        drop(leaving);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (responses, _, sent_before) = server.zero_copy();
    assert_eq!(responses, 4);
    assert!(sent_before < 4 * pdf.len() as u64, "the leaving clients were not sent everything");
    let mut again = Client::connect(server.addr).await;
    let r = again.get(&path).await;
    assert_eq!((r.status, r.complete, r.body == pdf), (200, true, true));
    let (responses, _, sent) = server.zero_copy_at(sent_before + pdf.len() as u64).await;
    assert_eq!(responses, 5, "by sendfile");
    assert!(sent >= sent_before + pdf.len() as u64);
    // The first connection is still good too.
    assert_eq!(c.get(&path).await.body, pdf);
}

/// A file changed on disk after it was trusted has another `FileVersion`: it is not sent with
/// `sendfile` but read and hashed, and cut before its end. Restored, it is hashed once more and
/// then sent again. A file changed while `sendfile` is sending it is cut before the rest is sent.
async fn a_changed_file_is_not_sent_with_sendfile(app: TestApp) {
    let (entry, pdf) = large(&app).await;
    let sha = entry["pdf"]["sha256"].as_str().unwrap();
    let path = pdf_path(&entry);
    let server = Server::start_with(&app, Some(16 * 1024)).await;
    let mut c = Client::connect(server.addr).await;
    c.get(&path).await;
    assert_eq!(c.get(&path).await.body, pdf);
    assert_eq!(server.zero_copy().0, 1, "trusted");

    // Same size, one bit changed.
    let file = writable_object(&app, sha);
    let mut changed = pdf.clone();
    changed[pdf.len() / 2] ^= 0x01;
    std::fs::write(&file, &changed).unwrap();
    let r = Client::connect(server.addr).await.get(&path).await;
    assert_eq!(r.status, 200);
    assert!(!r.complete, "a changed file never arrives whole ({} of {} bytes)", r.body.len(), pdf.len());
    assert_eq!(server.zero_copy().0, 1, "not by sendfile");
    // The hash at the end marked the entry damaged: the next request is refused at once.
    let r = Client::connect(server.addr).await.get(&path).await;
    assert_eq!(r.status, 500);

    // A change at the file's end is found before the headers, on this connection too.
    std::fs::write(&file, &pdf).unwrap();
    assert!(app.fixity(None).problems.is_empty());
    let mut end_changed = pdf.clone();
    *end_changed.last_mut().unwrap() ^= 0x01;
    std::fs::write(&file, &end_changed).unwrap();
    let r = Client::connect(server.addr).await.request("GET", &path, &[("range", "bytes=0-99")]).await;
    assert_eq!(r.status, 500, "not a byte of it is sent");

    // Restored (and checked again): another version again, hashed once, then trusted and sent.
    std::fs::write(&file, &pdf).unwrap();
    assert!(app.fixity(None).problems.is_empty());
    let mut c = Client::connect(server.addr).await;
    assert_eq!(c.get(&path).await.body, pdf);
    assert_eq!(server.zero_copy().0, 1);
    assert_eq!(c.get(&path).await.body, pdf);
    assert_eq!(server.zero_copy().0, 2);

    // Changed while being sent to a slow reader: the rest is not sent.
    let mut slow = Client::connect_small(server.addr).await;
    slow.send("GET", &path, &[]).await;
    assert_eq!(slow.head().await.0, 200);
    let start = slow.body(4096, 4096, Duration::ZERO).await;
    assert_eq!(start, pdf[..4096]);
    assert_eq!(server.zero_copy().0, 3);
    let mut perms = std::fs::metadata(&file).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&file, perms).unwrap();
    let rest = slow.body(pdf.len() - 4096, 64 * 1024, Duration::ZERO).await;
    assert!(4096 + rest.len() < pdf.len(), "cut after a change of the file's status");
}

crate::both_backends!(
    whole_files_match_their_etag_and_record,
    conditional_requests_answer_not_modified,
    head_gives_the_headers_without_the_body,
    single_ranges_give_the_exact_bytes,
    several_ranges_come_as_multipart_byteranges,
    bad_and_conditional_ranges,
    file_names_have_ascii_and_utf8_forms,
    unpublished_files_are_hidden_from_the_public,
    damaged_files_are_not_served,
    the_body_streams_in_chunks,
    trusted_files_are_sent_with_sendfile_over_keep_alive,
    slow_and_vanishing_clients_over_tcp,
    a_changed_file_is_not_sent_with_sendfile,
);
