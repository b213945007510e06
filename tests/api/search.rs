//! Searching, reading, citing and exporting the public archive: `GET /api/v1/archive` (filters,
//! full-text ranking, facets, pages, bad parameters), `GET /api/v1/archive/{id}` (Dublin Core,
//! persistent identifier, citations) and the CSV and JSON exports, over an archive that also
//! holds a withdrawn entry, one published only next year and a draft, each with a word of its
//! own that no public answer may ever contain. The search index of two long-running processes
//! on one database is checked against an index built anew for every request, through
//! withdrawals, renames and publication dates reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use http_body_util::BodyExt;
use mmr::domain::auth::Role;
use mmr::error::Error;
use mmr::http::AppState;
use mmr::workflow::catalog::Filter;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{TestApp, now};
use crate::submissions::{city_with_draft, submit_and_accept};

/// Registers a city, submits a complete report with `extra` in its summary and accepts it;
/// returns the archive id.
async fn archived(app: &TestApp, slug: &str, name: &str, country: &str, field: &str, extra: &str) -> i64 {
    let cycle = city_with_draft(app, slug, name, country, field, "An early draft.").await;
    let city = app.token(Role::City, None, Some(slug));
    submit_and_accept(app, cycle, &city, extra).await
}

async fn publish(app: &TestApp, id: i64, on: Option<&str>) {
    let r = app
        .call(Method::PATCH, &format!("/api/v1/archive/{id}"), Some(&app.admin), Some(json!({ "published_on": on })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// Words that only hidden material holds: the withdrawn report, the one published next year and
/// the draft.
pub(crate) const HIDDEN_WORDS: [&str; 3] = ["zeppelinword", "futureword", "draftonlyword"];

/// The test archive, by publication time: Östersund (gastronomy, SE), Bologna (music, IT),
/// Seville (music, ES), Lyon (literature, FR, in French; published at the pinned now). Ghent is
/// withdrawn, Tartu published only next year, Porto has a draft.
pub(crate) struct Archive {
    pub ostersund: i64,
    pub bologna: i64,
    pub seville: i64,
    pub lyon: i64,
    pub hidden: Vec<i64>,
}

pub(crate) async fn archive(app: &TestApp) -> Archive {
    let ostersund =
        archived(app, "ostersund", "Östersund", "SE", "gastronomy", " A smokehouse and a Smörgåsbord.").await;
    let bologna =
        archived(app, "bologna", "Bologna", "IT", "music", " Accordion workshops, accordion concerts, accordion.")
            .await;
    let seville = archived(app, "seville", "Seville", "ES", "music", " One accordion parade.").await;
    app.city_designated("lyon", "Lyon", "FR", "literature", NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    let r = app.call(Method::PATCH, "/api/v1/cities/lyon", Some(&app.admin), Some(json!({ "language": "fr" }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lyon = archived_registered(app, "lyon", " Une bibliothèque flottante.").await;
    let ghent = archived(app, "ghent", "Ghent", "BE", "music", " Zeppelinword accordion.").await;
    let tartu = archived(app, "tartu", "Tartu", "EE", "literature", " Futureword accordion.").await;
    city_with_draft(app, "porto", "Porto", "PT", "media_arts", "Draftonlyword accordion smokehouse.").await;
    publish(app, ostersund, Some("2026-11-01")).await;
    publish(app, bologna, Some("2026-11-10")).await;
    publish(app, seville, Some("2026-11-20")).await;
    publish(app, ghent, None).await;
    publish(app, tartu, Some("2027-01-01")).await;
    Archive { ostersund, bologna, seville, lyon, hidden: vec![ghent, tartu] }
}

/// Like [`archived`] for a city registered already.
async fn archived_registered(app: &TestApp, slug: &str, extra: &str) -> i64 {
    app.sync_cycles();
    let city = app.token(Role::City, None, Some(slug));
    let cycles = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&city)).await;
    let open = cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle");
    let cycle = open["id"].as_i64().unwrap();
    submit_and_accept(app, cycle, &city, extra).await
}

/// The ids of a search's items, in order, after checking the answer is a public 200.
async fn ids(app: &TestApp, query: &str) -> Vec<i64> {
    let r = app.get(&format!("/api/v1/archive?{query}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    no_hidden(&r.text);
    r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
}

/// Asserts nothing of the hidden material is in a public answer.
fn no_hidden(text: &str) {
    for word in ["Ghent", "Tartu", "Porto", "ghent", "tartu", "porto"].iter().chain(HIDDEN_WORDS.iter()) {
        assert!(!text.contains(word), "`{word}` leaked into {text}");
    }
}

/// `[(code, count)]` of one facet.
fn facet(body: &Value, name: &str) -> Vec<(String, i64)> {
    body["facets"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap().to_owned(), f["count"].as_i64().unwrap()))
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
}

async fn filters_ranking_facets_and_pages(app: TestApp) {
    let a = archive(&app).await;
    let all_newest_first = vec![a.lyon, a.seville, a.bologna, a.ostersund];

    // Without words: newest first, published only.
    assert_eq!(ids(&app, "").await, all_newest_first);
    let r = app.get("/api/v1/archive", None).await;
    assert_eq!(
        (r.body["total"].as_i64(), r.body["page"].as_i64(), r.body["per_page"].as_i64()),
        (Some(4), Some(1), Some(50))
    );
    let item = &r.body["items"][1];
    assert_eq!(item["persistent_id"], format!("mmr:archive/{}", a.seville));
    assert_eq!(item["city"]["slug"], "seville");
    assert_eq!(item["city"]["country_name"], "Spain");
    assert_eq!(item["city"]["field_name"], "Music");
    assert_eq!(item["period_end_year"], 2026);
    assert_eq!(item["published_at"], "2026-11-20T00:00:00Z");
    assert_eq!(item["url"], format!("http://127.0.0.1:8080/api/v1/archive/{}", a.seville));
    assert_eq!(item["page_url"], format!("http://127.0.0.1:8080/reports/{}", a.seville));
    assert_eq!(item["pdf"]["url"], format!("http://127.0.0.1:8080/api/v1/archive/{}/pdf", a.seville));
    assert_eq!(item["pdf"]["sha256"].as_str().unwrap().len(), 64);
    assert!(item["doi"].is_null());

    // Facets of the whole selection: most first, then by code.
    assert_eq!(facet(&r.body, "field"), pairs(&[("music", 2), ("gastronomy", 1), ("literature", 1)]));
    assert_eq!(facet(&r.body, "country"), pairs(&[("ES", 1), ("FR", 1), ("IT", 1), ("SE", 1)]));
    assert_eq!(facet(&r.body, "year"), pairs(&[("2026", 4)]));
    assert_eq!(facet(&r.body, "region"), pairs(&[("europe_north_america", 4)]));
    assert_eq!(r.body["facets"]["region"][0]["name"], "Europe and North America");
    assert_eq!(
        (item["city"]["region"].as_str(), item["city"]["region_name"].as_str()),
        (Some("europe_north_america"), Some("Europe and North America"))
    );
    assert_eq!(r.body["facets"]["field"][0]["name"], "Music");
    assert_eq!(r.body["facets"]["country"][3]["name"], "Sweden");

    // Filters, alone and together.
    assert_eq!(ids(&app, "field=music").await, [a.seville, a.bologna]);
    assert_eq!(ids(&app, "country=se").await, [a.ostersund]);
    assert_eq!(ids(&app, "city=bologna").await, [a.bologna]);
    assert_eq!(ids(&app, "language=fr").await, [a.lyon]);
    assert_eq!(ids(&app, "language=en&field=music&country=IT").await, [a.bologna]);
    assert_eq!(ids(&app, "year=2026").await, all_newest_first);
    assert_eq!(ids(&app, "year=2030").await, Vec::<i64>::new());
    assert_eq!(ids(&app, "region=europe_north_america").await, all_newest_first);
    assert_eq!(ids(&app, "region=europe-north-america&field=music").await, [a.seville, a.bologna]);
    assert_eq!(ids(&app, "region=asia_pacific").await, Vec::<i64>::new());
    assert_eq!(ids(&app, "city=&country=&q=").await, all_newest_first, "empty values filter nothing");
    let r = app.get("/api/v1/archive?field=music", None).await;
    assert_eq!(facet(&r.body, "country"), pairs(&[("ES", 1), ("IT", 1)]));
    assert_eq!(facet(&r.body, "field"), pairs(&[("music", 2)]));
    // A city with no published report is known, not an error: an empty list.
    let r = app.get("/api/v1/archive?city=ghent", None).await;
    assert_eq!((r.status, r.body["total"].as_i64()), (StatusCode::OK, Some(0)), "{}", r.text);
    assert_eq!(facet(&r.body, "field"), pairs(&[]));

    // Full text: a word of one report finds it, case and accents ignored, on both stores.
    assert_eq!(ids(&app, "q=smokehouse").await, [a.ostersund]);
    assert_eq!(ids(&app, "q=SMOKEHOUSE").await, [a.ostersund]);
    assert_eq!(ids(&app, "q=smorgasbord").await, [a.ostersund]);
    assert_eq!(ids(&app, "q=biblioth%C3%A8que").await, [a.lyon]);
    assert_eq!(ids(&app, "q=bibliotheque").await, [a.lyon]);
    // Ranked: three accordions before one, whatever the publication order.
    assert_eq!(ids(&app, "q=accordion").await, [a.bologna, a.seville]);
    assert_eq!(ids(&app, "q=accordion&country=ES").await, [a.seville]);
    // Every word must occur; punctuation is no syntax.
    assert_eq!(ids(&app, "q=accordion%20parade").await, [a.seville]);
    assert_eq!(ids(&app, "q=accordion%20smokehouse").await, Vec::<i64>::new());
    assert_eq!(ids(&app, "q=%22accordion%22%20OR%20(parade*").await, Vec::<i64>::new());
    assert_eq!(ids(&app, "q=parade*").await, [a.seville]);
    // The action plan is searched too; the words of every report give everything.
    assert_eq!(ids(&app, "q=gardens").await.len(), 4);
    let r = app.get("/api/v1/archive?q=food", None).await;
    assert_eq!(r.body["total"], 4);
    assert_eq!(facet(&r.body, "field"), pairs(&[("music", 2), ("gastronomy", 1), ("literature", 1)]));
    // Words only in the withdrawn, the future or the draft report find nothing.
    for word in HIDDEN_WORDS {
        let r = app.get(&format!("/api/v1/archive?q={word}"), None).await;
        assert_eq!((r.status, r.body["total"].as_i64()), (StatusCode::OK, Some(0)), "{word}: {}", r.text);
        assert_eq!(facet(&r.body, "year"), pairs(&[]));
    }
    // A token does not widen the public archive.
    let r = app.get("/api/v1/archive?q=zeppelinword", Some(&app.admin)).await;
    assert_eq!(r.body["total"], 0, "{}", r.text);

    // Pages.
    let r = app.get("/api/v1/archive?per_page=3", None).await;
    assert_eq!((r.body["total"].as_i64(), r.body["items"].as_array().unwrap().len()), (Some(4), 3));
    assert_eq!(ids(&app, "per_page=3&page=2").await, [a.ostersund]);
    assert_eq!(ids(&app, "per_page=3&page=3").await, Vec::<i64>::new());
    assert_eq!(ids(&app, "per_page=1&page=2&q=accordion").await, [a.seville]);
    let r = app.get("/api/v1/archive?per_page=1&page=2&q=accordion", None).await;
    assert_eq!(facet(&r.body, "field"), pairs(&[("music", 2)]), "facets cover the whole search, not the page");
}

async fn bad_parameters(app: TestApp) {
    archive(&app).await;
    let long = "a".repeat(201);
    let many = vec!["w"; 17].join("+");
    for (query, field) in [
        ("city=Not_A_Slug", "city"),
        ("city=nowhere", "city"),
        ("country=XX", "country"),
        ("country=Sweden", "country"),
        ("field=Music!", "field"),
        ("field=sculpture", "field"),
        ("year=abc", "year"),
        ("year=1999", "year"),
        ("year=20260", "year"),
        ("language=de", "language"),
        ("region=europe", "region"),
        (&format!("q={long}") as &str, "q"),
        ("q=%21%21%21", "q"),
        (&format!("q={many}") as &str, "q"),
        ("per_page=201", "per_page"),
        ("page=0", "page"),
    ] {
        for path in ["/api/v1/archive", "/api/v1/archive/export.csv", "/api/v1/archive/export.json"] {
            if path != "/api/v1/archive" && field.contains("page") {
                continue;
            }
            let r = app.get(&format!("{path}?{query}"), None).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}?{query}: {}", r.text);
            assert_eq!(r.body["error"]["field"], field, "{path}?{query}: {}", r.text);
        }
    }
    // A bound query is fine at the limit.
    let r = app.get(&format!("/api/v1/archive?q={}", "a".repeat(200)), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Unknown parameters and malformed numbers are malformed requests.
    for query in ["continent=europe", "page=two"] {
        let r = app.get(&format!("/api/v1/archive?{query}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
    }
    // Exports are not paged.
    for query in ["page=1", "per_page=10"] {
        let r = app.get(&format!("/api/v1/archive/export.json?{query}"), None).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {}", r.text);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("10000"), "{}", r.text);
    }
    // A bad token is refused, even here.
    let r = app.get("/api/v1/archive", Some("mmr_not_a_token")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

/// Checks that braces balance (outside escapes) in a BibTeX entry.
fn balanced(bibtex: &str) -> bool {
    let mut depth = 0i32;
    let mut chars = bibtex.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

async fn metadata_and_citations(app: TestApp) {
    let a = archive(&app).await;
    let r = app.get(&format!("/api/v1/archive/{}", a.bologna), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let e = &r.body;
    // What was there stays.
    assert_eq!(e["id"], a.bologna);
    assert_eq!(e["city"]["slug"], "bologna");
    assert_eq!(e["pdf"]["url"], format!("/api/v1/archive/{}/pdf", a.bologna));
    assert_eq!(e["pdf"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(e["published"], true);
    assert!(e["renderer_version"].is_string() && e["template_version"].is_string());
    // The persistent identifier, room for a DOI, the public address.
    assert_eq!(e["persistent_id"], format!("mmr:archive/{}", a.bologna));
    assert!(e["doi"].is_null(), "{e}");
    let url = format!("http://127.0.0.1:8080/api/v1/archive/{}", a.bologna);
    assert_eq!(e["url"], url);
    // Dublin Core.
    let dc = &e["dublin_core"];
    assert_eq!(dc["title"], "Membership Monitoring Report — Bologna, 2022–2026");
    assert_eq!(dc["creator"], "Bologna");
    assert_eq!(dc["subject"], "Music");
    assert_eq!(dc["date"], "2026-11-10");
    assert_eq!(dc["language"], "en");
    assert_eq!(dc["format"], "application/pdf");
    assert_eq!(dc["type"], "Text");
    assert_eq!(dc["publisher"], "UNESCO Creative Cities Network");
    assert_eq!(dc["identifier"], json!([format!("mmr:archive/{}", a.bologna), url, format!("{url}/pdf")]));
    assert_eq!(dc["coverage"], json!(["Italy", "2022–2026"]));
    assert!(dc["rights"].as_str().unwrap().contains("Bologna"), "{dc}");
    // No other version of this city and cycle is archived.
    assert_eq!(e["versions"], json!([]));

    // Citations.
    let text = e["citation"]["text"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "Bologna (2026). Membership Monitoring Report — Bologna, 2022–2026 (version 1) [Report]. \
             UNESCO Creative Cities Network, Music. mmr:archive/{}. {url}",
            a.bologna
        )
    );
    let bib = e["citation"]["bibtex"].as_str().unwrap();
    assert!(bib.starts_with(&format!("@techreport{{mmr-archive-{},\n", a.bologna)), "{bib}");
    assert!(bib.ends_with("\n}\n"), "{bib}");
    assert!(balanced(bib), "{bib}");
    for line in ["  author = {{Bologna}},", "  year = {2026},", "  month = {11},", "  language = {english},"] {
        assert!(bib.lines().any(|l| l == line), "{line} in {bib}");
    }
    assert!(bib.contains(&format!("  url = {{{url}}},")), "{bib}");
    assert!(bib.contains(&format!("PDF SHA-256 {}", e["pdf"]["sha256"].as_str().unwrap())), "{bib}");
    let csl = &e["citation"]["csl_json"];
    assert_eq!(csl["type"], "report");
    assert_eq!(csl["id"], format!("mmr-archive-{}", a.bologna));
    assert_eq!(csl["title"], dc["title"]);
    assert_eq!(csl["author"], json!([{ "literal": "Bologna" }]));
    assert_eq!(csl["issued"], json!({ "date-parts": [[2026, 11, 10]] }));
    assert_eq!(csl["URL"], url);
    // CSL-JSON survives a round trip through text.
    let reparsed: Value = serde_json::from_str(&csl.to_string()).unwrap();
    assert_eq!(&reparsed, csl);

    // Lyon's report is in French; Östersund's name keeps its letters.
    let r = app.get(&format!("/api/v1/archive/{}", a.lyon), None).await;
    assert_eq!(r.body["dublin_core"]["language"], "fr");
    assert!(r.body["citation"]["bibtex"].as_str().unwrap().contains("  language = {french},"), "{}", r.text);
    assert_eq!(r.body["dublin_core"]["date"], now().date().to_string());
    let r = app.get(&format!("/api/v1/archive/{}", a.ostersund), None).await;
    assert!(r.body["citation"]["bibtex"].as_str().unwrap().contains("author = {{Östersund}}"), "{}", r.text);

    // Hidden entries: 404 to the public; the Secretariat sees the entry, without a catalogue
    // description, since it is not published.
    for id in &a.hidden {
        let r = app.get(&format!("/api/v1/archive/{id}"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        let r = app.get(&format!("/api/v1/archive/{id}"), Some(&app.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["persistent_id"], format!("mmr:archive/{id}"));
        assert!(r.body["dublin_core"].is_null() && r.body["citation"].is_null(), "{}", r.text);
    }
    // Publishing answers with the full view.
    publish(&app, a.hidden[0], Some("2026-11-02")).await;
    let r = app.get(&format!("/api/v1/archive/{}", a.hidden[0]), None).await;
    assert_eq!(r.body["dublin_core"]["creator"], "Ghent", "{}", r.text);
}

/// Parses a CSV export with Python's csv module, to a list of dicts.
fn parse_csv(text: &str) -> Vec<serde_json::Map<String, Value>> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import csv, io, json, sys; print(json.dumps(list(csv.DictReader(io.StringIO(sys.stdin.read())))))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (make test-deps)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter().map(|r| r.as_object().unwrap().clone()).collect()
}

async fn exports(app: TestApp) {
    let a = archive(&app).await;

    let r = app.get("/api/v1/archive/export.csv", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers["content-disposition"].to_str().unwrap().contains("mmr-archive.csv"));
    no_hidden(&r.text);
    let header = r.text.lines().next().unwrap();
    assert!(header.starts_with("id,persistent_id,doi,url,title,city,city_name,country,"), "{header}");
    assert!(header.contains(",pdf_url,pdf_sha256,pdf_bytes,source_bundle_url,source_bundle_sha256,"), "{header}");
    let rows = parse_csv(&r.text);
    let ids: Vec<i64> = rows.iter().map(|row| row["id"].as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(ids, [a.lyon, a.seville, a.bologna, a.ostersund]);
    let ostersund = &rows[3];
    assert_eq!(ostersund["city_name"], "Östersund");
    assert_eq!(ostersund["country_name"], "Sweden");
    assert_eq!(ostersund["region"], "europe_north_america");
    assert_eq!(ostersund["doi"], "");
    assert_eq!(ostersund["title"], "Membership Monitoring Report — Östersund, 2022–2026");
    let shown = app.get(&format!("/api/v1/archive/{}", a.ostersund), None).await;
    assert_eq!(ostersund["pdf_sha256"], shown.body["pdf"]["sha256"]);
    assert_eq!(ostersund["source_bundle_sha256"], shown.body["source_bundle"]["sha256"]);
    assert_eq!(ostersund["pdf_bytes"], shown.body["pdf"]["bytes"].to_string().as_str());
    assert_eq!(ostersund["pdf_url"], format!("http://127.0.0.1:8080/api/v1/archive/{}/pdf", a.ostersund).as_str());
    assert_eq!(ostersund["page_url"], format!("http://127.0.0.1:8080/reports/{}", a.ostersund).as_str());
    // The URL in an export serves the file whose hash it gives.
    let pdf = app.get(&format!("/api/v1/archive/{}/pdf", a.ostersund), None).await;
    assert_eq!(crate::submissions::sha256(&pdf.bytes), ostersund["pdf_sha256"].as_str().unwrap());

    // Filtered like the search, full text included.
    let r = app.get("/api/v1/archive/export.csv?field=music&q=accordion", None).await;
    let rows = parse_csv(&r.text);
    let ids: Vec<&str> = rows.iter().map(|row| row["city"].as_str().unwrap()).collect();
    assert_eq!(ids, ["bologna", "seville"]);
    let r = app.get("/api/v1/archive/export.csv?q=zeppelinword", None).await;
    assert_eq!(r.text.lines().count(), 1, "only the header: {}", r.text);

    let r = app.get("/api/v1/archive/export.json", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    no_hidden(&r.text);
    assert_eq!(r.body["total"], 4);
    let items = r.body["items"].as_array().unwrap();
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [a.lyon, a.seville, a.bologna, a.ostersund]);
    let listed = app.get("/api/v1/archive", None).await;
    assert_eq!(&listed.body["items"].as_array().unwrap()[..], &items[..], "the export's items are the search's");
    assert_eq!(items[3]["pdf"]["sha256"], shown.body["pdf"]["sha256"]);
    assert_eq!(items[3]["page_url"], format!("http://127.0.0.1:8080/reports/{}", a.ostersund));
    let r = app.get("/api/v1/archive/export.json?language=fr", None).await;
    assert_eq!(r.body["items"][0]["id"], a.lyon);
    assert_eq!(r.body["total"], 1);

    // The bound: a selection larger than the limit is refused, naming it and the count.
    let filter = Filter::default();
    let refused =
        app.db.run_blocking(|conn| mmr::workflow::catalog::export(&app.state.catalog, conn, None, now(), &filter, 3));
    match refused {
        Err(Error::TooLarge(message)) => {
            assert!(message.contains("at most 3") && message.contains("holds 4"), "{message}")
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let fits = app
        .db
        .run_blocking(|conn| mmr::workflow::catalog::export(&app.state.catalog, conn, None, now(), &filter, 4))
        .unwrap();
    assert_eq!(fits.len(), 4);
}

/// A server process on the test's database: its own search index and a clock the test moves
/// (seconds since the epoch). A `fresh` process builds its index anew for every request: the
/// reference a long-running index must agree with.
struct Process {
    state: AppState,
    clock: Arc<AtomicI64>,
    fresh: bool,
}

impl Process {
    fn new(app: &TestApp, fresh: bool) -> Self {
        let clock = Arc::new(AtomicI64::new(now().and_utc().timestamp()));
        let mut state = app.state.clone();
        let read = clock.clone();
        state.clock = Arc::new(move || DateTime::from_timestamp(read.load(Ordering::SeqCst), 0).unwrap().naive_utc());
        state.catalog = Arc::default();
        Self { state, clock, fresh }
    }

    fn set_clock(&self, at: &str) {
        let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").unwrap();
        self.clock.store(at.and_utc().timestamp(), Ordering::SeqCst);
    }

    /// The body of a public search.
    async fn search(&self, query: &str) -> String {
        let mut state = self.state.clone();
        if self.fresh {
            state.catalog = Arc::default();
        }
        let request = Request::get(format!("/api/v1/archive?{query}")).body(Body::empty()).unwrap();
        let response = mmr::http::router(state).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The catalogue revision its index reflects and how many texts it holds.
    fn index(&self) -> (i64, usize) {
        let stats = self.state.catalog.stats();
        (stats.revision, stats.documents)
    }
}

fn total(body: &str) -> i64 {
    serde_json::from_str::<Value>(body).unwrap()["total"].as_i64().unwrap()
}

/// Searches a long-running index must answer as a fresh one does.
const QUERIES: [&str; 7] = [
    "",
    "q=accordion",
    "field=music&per_page=1&page=2",
    "field=music&per_page=1",
    "country=se",
    "q=accordion+parade",
    "field=literature",
];

/// Asserts that `process` answers every query of [`QUERIES`] exactly as `fresh` does at the
/// same moment; returns the totals.
async fn same_answers(process: &Process, fresh: &Process) -> Vec<i64> {
    let mut totals = Vec::new();
    for query in QUERIES {
        let answer = process.search(query).await;
        assert_eq!(answer, fresh.search(query).await, "`{query}` from the long-running index");
        no_hidden_unless_public(&answer);
        totals.push(total(&answer));
    }
    totals
}

/// Withdrawn entries' words never appear (Ghent is withdrawn throughout).
fn no_hidden_unless_public(text: &str) {
    assert!(!text.contains("zeppelinword") && !text.contains("Ghent"), "{text}");
}

/// Two server processes, each with its own index, on one database, while entries are withdrawn,
/// republished, a city renamed, and the clock passes a future publication date: every answer is
/// the one an index built at that moment gives, and the texts are indexed once.
async fn index_answers_stay_exact(app: TestApp) {
    let a = archive(&app).await;
    let (one, two) = (Process::new(&app, false), Process::new(&app, false));
    let fresh = Process::new(&app, true);
    for p in [&one, &two, &fresh] {
        p.set_clock("2026-11-24 09:30:00");
    }
    let before = same_answers(&one, &fresh).await;
    assert_eq!(before, [4, 2, 2, 2, 1, 1, 1]);
    assert_eq!(same_answers(&two, &fresh).await, before);
    // Four public entries and Tartu's, scheduled; withdrawn Ghent's text is not indexed.
    let (revision, documents) = one.index();
    assert_eq!(documents, 5);
    assert_eq!(two.index(), (revision, 5));

    // Withdrawn through the API (a third process): both indexes see the new revision.
    publish(&app, a.bologna, None).await;
    assert_eq!(same_answers(&one, &fresh).await, [3, 1, 1, 1, 1, 1, 1]);
    assert_eq!(same_answers(&two, &fresh).await, [3, 1, 1, 1, 1, 1, 1]);
    publish(&app, a.bologna, Some("2026-11-10")).await;
    assert_eq!(same_answers(&one, &fresh).await, before);
    let (later, documents) = one.index();
    assert!(later > revision);
    assert_eq!(documents, 5, "a republished entry's text is not indexed again");

    // A city renamed: answers show the new name.
    let r =
        app.call(Method::PATCH, "/api/v1/cities/seville", Some(&app.admin), Some(json!({ "name": "Sevilla" }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(one.search("q=parade").await.contains("Sevilla"));
    assert_eq!(same_answers(&one, &fresh).await, before);

    // A publication date in the future: public from that instant, with no write.
    publish(&app, a.seville, Some("2026-12-01")).await;
    let waiting = [3, 1, 1, 1, 1, 0, 1];
    assert_eq!(same_answers(&one, &fresh).await, waiting);
    for p in [&one, &fresh] {
        p.set_clock("2026-11-30 23:59:59");
    }
    let unchanged = one.index();
    assert_eq!(same_answers(&one, &fresh).await, waiting);
    for p in [&one, &fresh] {
        p.set_clock("2026-12-01 00:00:00");
    }
    assert_eq!(same_answers(&one, &fresh).await, before, "public at its publication instant");
    // Tartu (2027-01-01) joins the same way.
    for p in [&one, &fresh] {
        p.set_clock("2027-01-01 00:00:00");
    }
    assert_eq!(same_answers(&one, &fresh).await, [5, 3, 2, 2, 1, 1, 2]);
    assert_eq!(one.index(), unchanged, "the clock alone changes nothing in the index");
    // A clock set back: Seville is not public then.
    for p in [&one, &fresh] {
        p.set_clock("2026-11-24 09:30:00");
    }
    assert_eq!(same_answers(&one, &fresh).await, waiting);
}

crate::both_backends!(
    filters_ranking_facets_and_pages,
    bad_parameters,
    metadata_and_citations,
    exports,
    index_answers_stay_exact
);
