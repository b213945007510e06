//! Downloading archived files: the whole file against its ETag, conditional requests, HEAD, single
//! and multipart ranges, file names, visibility of unpublished entries, damaged files, and the
//! body arriving in chunks.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, NaiveDate};
use http_body_util::BodyExt;
use mmr::domain::auth::Role;
use serde_json::{Value, json};
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
    let open = cycles.body.as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle");
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

async fn damaged_files_are_not_served(app: TestApp) {
    let entry = ostersund(&app).await;
    let path = pdf_path(&entry);
    let pdf = writable_object(&app, entry["pdf"]["sha256"].as_str().unwrap());
    let original = std::fs::read(&pdf).unwrap();

    // Same size, changed content, no fixity run yet: the body is cut before its last chunk.
    let mut changed = original.clone();
    changed[10] ^= 0x01;
    std::fs::write(&pdf, &changed).unwrap();
    let router = mmr::http::router(app.state.clone());
    let response = router.oneshot(Request::get(&path).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.into_body().collect().await.is_err(), "a changed file never arrives complete");

    // A different size: refused before any byte is sent.
    let mut longer = original.clone();
    longer.push(b'\n');
    std::fs::write(&pdf, &longer).unwrap();
    for headers in [vec![], vec![("range", "bytes=0-9")]] {
        let r = get_with(&app, &path, &headers).await;
        assert_eq!((r.status, r.code()), (StatusCode::INTERNAL_SERVER_ERROR, "archive_damaged"), "{headers:?}");
    }
    let r = request(&app, Method::HEAD, &path, &[]).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);

    // Missing.
    let bundle = writable_object(&app, entry["source_bundle"]["sha256"].as_str().unwrap());
    std::fs::remove_file(bundle).unwrap();
    let r = app.get(&format!("/api/v1/archive/{}/source.zip", entry["id"]), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::INTERNAL_SERVER_ERROR, "archive_damaged"));

    // Restored, the PDF is served again until a fixity run finds the entry damaged (the bundle is
    // still missing); from then on neither file is served.
    std::fs::write(&pdf, &original).unwrap();
    assert_eq!(app.get(&path, None).await.status, StatusCode::OK);
    let s = &app.state;
    let report = mmr::workflow::archive::fixity(&s.db, s.store.as_ref(), None, crate::helpers::now()).unwrap();
    assert_eq!(report.problems.len(), 1);
    let r = app.get(&path, None).await;
    assert_eq!((r.status, r.code()), (StatusCode::INTERNAL_SERVER_ERROR, "archive_damaged"));
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
);
