//! The researcher's errand of issue #6: find every Music report of the 2015–2019 period, download
//! them as one ZIP (`GET /api/v1/archive/bulk.zip`), verify each hash with `sha256sum`, cite one,
//! and read the ZIP with Python's zipfile; plus the bounds of a bulk download and what it leaves
//! out (reports of other fields and periods, a withdrawn one, a damaged one).

use std::process::Command;

use axum::http::{StatusCode, header};
use chrono::NaiveDate;
use mmr::domain::auth::Role;
use mmr::domain::cycles::CycleRules;
use mmr::workflow::catalog::BulkLimits;
use mmr::workflow::{self, Actor};
use serde_json::{Value, json};

use crate::helpers::{TestApp, at};
use crate::submissions::{sha256, submit_and_accept};

/// Registers a city designated on 11 December 2015, submits and accepts its (late) report for the
/// period ending in `end_year`; returns the archive id. The cycles are those of a deployment that
/// tracked reports due from 2019 on, as its daily sync created them in `end_year`.
async fn archived(app: &TestApp, slug: &str, name: &str, country: &str, field: &str, end_year: i32) -> i64 {
    app.city_designated(slug, name, country, field, NaiveDate::from_ymd_opt(2015, 12, 11).unwrap());
    let rules = CycleRules { first_due_year: 2019, ..CycleRules::default() };
    let sync_day = at(end_year, 6, 1, 0, 0);
    app.db.run_blocking(|conn| workflow::cycles::sync(conn, &Actor::cli(), &rules, sync_day)).unwrap();
    let city = app.token(Role::City, None, Some(slug));
    let cycles = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&city)).await;
    let cycle = cycles.body["items"].as_array().unwrap().iter().find(|c| c["period_end_year"] == end_year);
    let cycle =
        cycle.unwrap_or_else(|| panic!("a cycle ending in {end_year}: {}", cycles.text))["id"].as_i64().unwrap();
    submit_and_accept(app, cycle, &city, "").await
}

/// Music 2019: Bogotá and Seville (found); Ghent (withdrawn). Also Music 2023 (Hamamatsu) and
/// Gastronomy 2019 (Östersund), which a Music-2019 selection must leave out.
struct Archive {
    bogota: i64,
    seville: i64,
    ghent: i64,
}

async fn archive(app: &TestApp) -> Archive {
    let bogota = archived(app, "bogota", "Bogotá", "CO", "music", 2019).await;
    let seville = archived(app, "seville", "Seville", "ES", "music", 2019).await;
    let ghent = archived(app, "ghent", "Ghent", "BE", "music", 2019).await;
    archived(app, "hamamatsu", "Hamamatsu", "JP", "music", 2023).await;
    archived(app, "ostersund", "Östersund", "SE", "gastronomy", 2019).await;
    let r = app
        .call(
            axum::http::Method::PATCH,
            &format!("/api/v1/archive/{ghent}"),
            Some(&app.admin),
            Some(json!({ "published_on": null })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    Archive { bogota, seville, ghent }
}

/// Unpacks `zip` with Python's zipfile into a new directory, which it returns.
pub fn unzip(zip: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bulk.zip");
    std::fs::write(&path, zip).unwrap();
    let out = Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&path)
        .arg(dir.path().join("out"))
        .output()
        .expect("python3 (make test-deps)");
    assert!(out.status.success(), "python's zipfile: {}", String::from_utf8_lossy(&out.stderr));
    dir
}

async fn a_researcher_downloads_verifies_and_cites_the_music_reports_of_2019(app: TestApp) {
    let a = archive(&app).await;

    // Find them.
    let found = app.get("/api/v1/archive?field=music&year=2019", None).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let mut ids: Vec<i64> = found.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [a.bogota, a.seville]);

    // Download them as one ZIP, without a token.
    let r = app.get("/api/v1/archive/bulk.zip?field=music&year=2019", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/zip");
    assert_eq!(r.headers[header::CONTENT_LENGTH].to_str().unwrap(), r.bytes.len().to_string());
    let disposition = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"mmr-archive-2026-11-24.zip\""), "{disposition}");
    assert_eq!(&r.bytes[..4], b"PK\x03\x04");

    let dir = unzip(&r.bytes);
    let out = dir.path().join("out");
    let mut listing: Vec<String> = walk(&out);
    listing.sort();
    assert_eq!(
        listing,
        [
            "SHA256SUMS",
            "citations.bib",
            "manifest.json",
            "pdf/bogota-music-mmr-2019.pdf",
            "pdf/seville-music-mmr-2019.pdf"
        ]
    );

    // Verify each hash with coreutils, and against the archive's own record and download.
    let check =
        Command::new("sha256sum").args(["--check", "--strict", "SHA256SUMS"]).current_dir(&out).output().unwrap();
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{said}{}", String::from_utf8_lossy(&check.stderr));
    assert_eq!(said.lines().filter(|l| l.ends_with(": OK")).count(), 2, "{said}");
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "mmr-bulk/1");
    assert_eq!(manifest["count"], 2);
    assert_eq!(manifest["request"], "http://127.0.0.1:8080/api/v1/archive/bulk.zip?field=music&year=2019");
    assert_eq!(manifest["unavailable"], json!([]));
    for item in manifest["items"].as_array().unwrap() {
        let id = item["id"].as_i64().unwrap();
        let pdf = std::fs::read(out.join(item["file"].as_str().unwrap())).unwrap();
        assert_eq!(item["pdf"]["sha256"].as_str().unwrap(), sha256(&pdf));
        assert_eq!(item["pdf"]["bytes"].as_u64().unwrap(), pdf.len() as u64);
        let single = app.get(&format!("/api/v1/archive/{id}/pdf"), None).await;
        assert!(single.bytes == pdf, "entry {id}: the ZIP holds the file the single download serves");
        assert_eq!(item["city"]["field"], "music");
        assert_eq!(item["period_end_year"], 2019);
    }
    let total: u64 = manifest["items"].as_array().unwrap().iter().map(|i| i["pdf"]["bytes"].as_u64().unwrap()).sum();
    assert_eq!(manifest["pdf_bytes"].as_u64(), Some(total));

    // Cite one: the BibTeX in the ZIP is the entry's own.
    let bib = std::fs::read_to_string(out.join("citations.bib")).unwrap();
    let entry = app.get(&format!("/api/v1/archive/{}", a.bogota), None).await;
    let bibtex = entry.body["citation"]["bibtex"].as_str().unwrap();
    assert!(bib.contains(bibtex), "{bib}\n---\n{bibtex}");
    assert!(
        bibtex.contains("author = {{Bogotá}}") && bib.contains(&format!("@techreport{{mmr-archive-{},", a.seville))
    );
    assert!(!bib.contains(&format!("mmr-archive-{},", a.ghent)), "the withdrawn report is nowhere");

    // The search's other filters select the same way: a region.
    let r = app.get("/api/v1/archive/bulk.zip?region=latin_america_caribbean", None).await;
    let dir = unzip(&r.bytes);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["items"][0]["id"].as_i64(), Some(a.bogota));
    assert_eq!(
        (manifest["count"].as_i64(), manifest["items"][0]["city"]["region"].as_str()),
        (Some(1), Some("latin_america_caribbean"))
    );

    // A selection of nothing is an empty archive with its manifest.
    let r = app.get("/api/v1/archive/bulk.zip?field=music&year=2031", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let dir = unzip(&r.bytes);
    assert_eq!(walk(&dir.path().join("out")).len(), 3);
}

/// Every file under `dir`, relative to it, `/`-separated.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(walk(&path).into_iter().map(|inner| format!("{name}/{inner}")));
        } else {
            out.push(name);
        }
    }
    out
}

async fn bounds_bad_parameters_and_damaged_files(app: TestApp) {
    let a = archive(&app).await;
    for (query, param) in [
        ("page=2", "page"),
        ("per_page=5", "per_page"),
        ("year=19", "year"),
        ("field=jazz", "field"),
        ("country=Spain", "country"),
        ("city=atlantis", "city"),
    ] {
        let r = app.get(&format!("/api/v1/archive/bulk.zip?{query}"), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {}", r.text);
        assert!(r.text.contains(param), "{query} names {param}: {}", r.text);
    }
    let r = app.get("/api/v1/archive/bulk.zip?format=tar", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("unknown field `format`"), "{}", r.text);

    // The bounds on a selection: a count and a size, each named when passed.
    let limited = |limits: BulkLimits| {
        let mut state = app.state.clone();
        state.bulk_limits = limits;
        mmr::http::router(state)
    };
    let get = |router: axum::Router, path: &'static str| async move {
        use tower::ServiceExt;
        let request = axum::http::Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    let (status, text) =
        get(limited(BulkLimits { reports: 1, bytes: u64::MAX }), "/api/v1/archive/bulk.zip?field=music").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(text.contains("3 entries") && text.contains("at most 1"), "{text}");
    let (status, text) = get(limited(BulkLimits { reports: 10, bytes: 1000 }), "/api/v1/archive/bulk.zip").await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(text.contains("at most 1000 bytes"), "{text}");

    // A report whose files the fixity check found damaged is left out, and said to be.
    app.db.run_blocking(|conn| mmr::db::archive::record_fixity(conn, a.seville, crate::helpers::now(), false)).unwrap();
    let r = app.get("/api/v1/archive/bulk.zip?field=music&year=2019", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let dir = unzip(&r.bytes);
    let out = dir.path().join("out");
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["count"], 1);
    assert_eq!(manifest["items"][0]["id"].as_i64(), Some(a.bogota));
    assert_eq!(manifest["unavailable"][0]["id"].as_i64(), Some(a.seville));
    assert!(manifest["unavailable"][0]["reason"].as_str().unwrap().contains("fixity"));
    assert!(!out.join("pdf/seville-music-mmr-2019.pdf").exists());
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 1, "{sums}");
}

/// A byte flipped in one selected PDF, in its middle, before any fixity run: the ZIP still
/// opens and verifies (Python's `zipfile -t`, `sha256sum`-style sums), the damaged report is left
/// out and listed, and its entry is marked damaged for every later request.
async fn a_file_damaged_before_the_fixity_run_is_left_out_of_a_zip_that_opens(app: TestApp) {
    let a = archive(&app).await;
    let shown = app.get(&format!("/api/v1/archive/{}", a.seville), None).await;
    let sha = shown.body["pdf"]["sha256"].as_str().unwrap().to_owned();
    let path = app.archive_dir.path().join("objects").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&path, &bytes).unwrap();

    let r = app.get("/api/v1/archive/bulk.zip?field=music&year=2019", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let length: usize = r.headers[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
    assert_eq!(r.bytes.len(), length, "the whole ZIP arrived");
    let dir = unzip(&r.bytes);
    let tested = Command::new("python3").args(["-m", "zipfile", "-t"]).arg(dir.path().join("bulk.zip")).output();
    let tested = tested.expect("python3 (make test-deps)");
    assert!(tested.status.success(), "zipfile -t: {}", String::from_utf8_lossy(&tested.stderr));
    let out = dir.path().join("out");
    let manifest: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["count"], 1);
    assert_eq!(manifest["items"][0]["id"].as_i64(), Some(a.bogota));
    assert_eq!(manifest["unavailable"][0]["id"].as_i64(), Some(a.seville), "{manifest}");
    assert!(manifest["unavailable"][0]["reason"].as_str().unwrap().contains("damaged"), "{manifest}");
    assert_eq!(walk(&out.join("pdf")), ["bogota-music-mmr-2019.pdf"]);
    for line in std::fs::read_to_string(out.join("SHA256SUMS")).unwrap().lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(sha256(&std::fs::read(out.join(name)).unwrap()), sum, "{name}");
    }
    // The entry is marked damaged: its own download is refused from now on.
    let r = app.get(&format!("/api/v1/archive/{}/pdf", a.seville), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::INTERNAL_SERVER_ERROR, "archive_damaged"));
    let shown = app.get(&format!("/api/v1/archive/{}", a.seville), None).await;
    assert_eq!(shown.body["last_fixity_ok"], false);
}

crate::both_backends!(
    a_researcher_downloads_verifies_and_cites_the_music_reports_of_2019,
    bounds_bad_parameters_and_damaged_files,
    a_file_damaged_before_the_fixity_run_is_left_out_of_a_zip_that_opens
);
