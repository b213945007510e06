//! Harvesting and feeds: OAI-PMH 2.0 at `/oai` (every verb, sets, date ranges, resumption across
//! pages, every error code the repository can give) and the Atom feed, over an archive that
//! also holds an unpublished entry, one published in the future and a draft, none of which may
//! ever appear. A real harvester from PyPI (Sickle) harvests everything over HTTP.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use http_body_util::BodyExt;
use mmr::domain::auth::Role;
use serde_json::json;
use tower::ServiceExt;

use crate::helpers::{TestApp, now};
use crate::submissions::{city_with_draft, submit_and_accept};

/// Registers a city with an open cycle, submits a complete report and accepts it; returns the
/// archive id.
async fn archived(app: &TestApp, slug: &str, name: &str, country: &str, field: &str) -> i64 {
    let cycle = drafted(app, slug, name, country, field).await;
    let city = app.token(Role::City, None, Some(slug));
    submit_and_accept(app, cycle, &city, "").await
}

/// Registers a city and saves a draft in its open cycle; returns the cycle id.
async fn drafted(app: &TestApp, slug: &str, name: &str, country: &str, field: &str) -> i64 {
    city_with_draft(app, slug, name, country, field, "A draft & <secret>.").await
}

/// A router over the app's state whose clock reads `at`.
fn router_at(app: &TestApp, at: NaiveDateTime) -> axum::Router {
    let mut state = app.state.clone();
    state.clock = Arc::new(move || at);
    mmr::http::router(state)
}

/// Sets the publication date of entry `id` to `on` (withdraws it with `None`), as the
/// Secretariat does at `at`.
async fn publish_at(app: &TestApp, id: i64, on: Option<&str>, at: NaiveDateTime) {
    let request = Request::builder()
        .method(Method::PATCH)
        .uri(format!("/api/v1/archive/{id}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "published_on": on }).to_string()))
        .unwrap();
    let response = router_at(app, at).oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

/// Publishes entry `id` from the start of day `on`, set on that day (so it is public since then).
async fn publish_on_the_day(app: &TestApp, id: i64, on: &str) {
    let day = NaiveDate::parse_from_str(on, "%Y-%m-%d").unwrap().and_time(NaiveTime::MIN);
    publish_at(app, id, Some(on), day).await;
}

/// The test archive: four published entries (by publication time: Östersund, Bologna, Seville,
/// Kraków), Ghent withdrawn, Tartu published only next year, and a draft for Porto.
struct Archive {
    published: Vec<i64>,
    hidden: Vec<i64>,
}

async fn archive(app: &TestApp) -> Archive {
    let ostersund = archived(app, "ostersund", "Östersund", "SE", "gastronomy").await;
    let bologna = archived(app, "bologna", "Bologna", "IT", "music").await;
    let seville = archived(app, "seville", "Seville", "ES", "music").await;
    let krakow = archived(app, "krakow", "Kraków", "PL", "literature").await;
    let ghent = archived(app, "ghent", "Ghent", "BE", "music").await;
    let tartu = archived(app, "tartu", "Tartu", "EE", "literature").await;
    drafted(app, "porto", "Porto", "PT", "media_arts").await;
    publish_on_the_day(app, ostersund, "2026-11-01").await;
    publish_on_the_day(app, bologna, "2026-11-10").await;
    publish_on_the_day(app, seville, "2026-11-20").await;
    // Kraków keeps its acceptance time (the pinned now) as publication time.
    publish_at(app, ghent, None, now()).await;
    publish_at(app, tartu, Some("2027-01-01"), now()).await;
    Archive { published: vec![ostersund, bologna, seville, krakow], hidden: vec![ghent, tartu] }
}

/// A router over the app's state with `page_size` records per OAI-PMH list.
fn router(app: &TestApp, page_size: usize) -> axum::Router {
    let mut state = app.state.clone();
    state.oai_page_size = page_size;
    state.secretariat_email = "creativecities@unesco.example".to_owned();
    mmr::http::router(state)
}

/// GETs `path` and returns the status, content type and body.
async fn fetch(router: &axum::Router, path: &str) -> (StatusCode, String, String) {
    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let ct = response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

/// An OAI-PMH response, checked to be 200, XML and well-formed.
async fn oai(router: &axum::Router, query: &str) -> String {
    let (status, ct, body) = fetch(router, &format!("/oai?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ct.starts_with("text/xml"), "{ct}");
    well_formed(&body);
    body
}

/// Asserts `xml` is well-formed, with Python's XML parser.
fn well_formed(xml: &str) {
    let mut child = Command::new("python3")
        .args(["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.buffer.read())"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (make test-deps)");
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "not well-formed: {}\n{xml}", String::from_utf8_lossy(&out.stderr));
}

/// Every text between `open` and `close`.
fn all<'a>(xml: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    xml.split(open).skip(1).filter_map(|rest| rest.split(close).next()).collect()
}

fn error_code(xml: &str) -> Option<&str> {
    all(xml, "<error code=\"", "\"").into_iter().next()
}

fn ids(xml: &str) -> Vec<i64> {
    all(xml, "<identifier>oai:127.0.0.1:archive/", "</identifier>").iter().map(|s| s.parse().unwrap()).collect()
}

fn identifier(id: i64) -> String {
    format!("oai:127.0.0.1:archive/{id}")
}

async fn every_verb_sets_and_dates(app: TestApp) {
    let a = archive(&app).await;
    let r = router(&app, 100);
    let [ostersund, bologna, seville, krakow] = a.published[..] else { unreachable!() };

    let x = oai(&r, "verb=Identify").await;
    assert!(x.contains("<request verb=\"Identify\">http://127.0.0.1:8080/oai</request>"), "{x}");
    for part in [
        "<baseURL>http://127.0.0.1:8080/oai</baseURL>",
        "<protocolVersion>2.0</protocolVersion>",
        "<adminEmail>creativecities@unesco.example</adminEmail>",
        "<earliestDatestamp>2026-11-01T00:00:00Z</earliestDatestamp>",
        "<deletedRecord>persistent</deletedRecord>",
        "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>",
        "<responseDate>2026-11-24T09:30:00Z</responseDate>",
    ] {
        assert!(x.contains(part), "{part} in {x}");
    }

    let x = oai(&r, "verb=ListMetadataFormats").await;
    assert!(x.contains("<metadataPrefix>oai_dc</metadataPrefix>"), "{x}");
    let x = oai(&r, &format!("verb=ListMetadataFormats&identifier={}", identifier(bologna))).await;
    assert!(x.contains("<metadataPrefix>oai_dc</metadataPrefix>"), "{x}");

    let x = oai(&r, "verb=ListSets").await;
    let specs = all(&x, "<setSpec>", "</setSpec>");
    assert_eq!(
        specs,
        [
            "field",
            "field:gastronomy",
            "field:literature",
            "field:music",
            "country",
            "country:ES",
            "country:IT",
            "country:PL",
            "country:SE"
        ],
        "{x}"
    );
    assert!(x.contains("<setName>Music</setName>") && x.contains("<setName>Sweden</setName>"), "{x}");

    // Everything published, oldest first; the hidden entries and the draft never.
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc").await;
    assert_eq!(ids(&x), a.published, "{x}");
    assert!(!x.contains("resumptionToken"), "one page needs no token: {x}");
    assert!(x.contains("<datestamp>2026-11-10T00:00:00Z</datestamp>"), "{x}");
    assert!(x.contains("<datestamp>2026-11-24T09:30:00Z</datestamp>"), "{x}");
    assert!(x.contains("<setSpec>field:music</setSpec><setSpec>country:IT</setSpec>"), "{x}");
    let x = oai(&r, "verb=ListRecords&metadataPrefix=oai_dc").await;
    assert_eq!(ids(&x), a.published, "{x}");
    for hidden in &a.hidden {
        assert!(!x.contains(&format!("archive/{hidden}<")), "{x}");
    }
    assert!(!x.contains("Ghent") && !x.contains("Tartu") && !x.contains("Porto") && !x.contains("secret"), "{x}");

    // Sets.
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=field:music").await;
    assert_eq!(ids(&x), [bologna, seville]);
    let x = oai(&r, "verb=ListRecords&metadataPrefix=oai_dc&set=country:PL").await;
    assert_eq!(ids(&x), [krakow]);
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=field").await;
    assert_eq!(ids(&x), a.published);
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=country:BE").await;
    assert_eq!(error_code(&x), Some("noRecordsMatch"), "the withdrawn Ghent entry is no set member: {x}");

    // Date ranges on the publication time: days (until inclusive) and seconds.
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-10&until=2026-11-20").await;
    assert_eq!(ids(&x), [bologna, seville]);
    assert!(x.contains("from=\"2026-11-10\" metadataPrefix=\"oai_dc\" until=\"2026-11-20\""), "{x}");
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2026-11-01").await;
    assert_eq!(ids(&x), [ostersund]);
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-24T09:30:00Z").await;
    assert_eq!(ids(&x), [krakow]);
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2026-11-24T09:29:59Z").await;
    assert_eq!(ids(&x), [ostersund, bologna, seville]);
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-25").await;
    assert_eq!(error_code(&x), Some("noRecordsMatch"), "Tartu's future publication stays hidden: {x}");
    let x = oai(&r, "verb=ListRecords&metadataPrefix=oai_dc&from=2026-11-10&set=field:music&until=2026-11-15").await;
    assert_eq!(ids(&x), [bologna]);

    // GetRecord: Dublin Core, escaped, with absolute links.
    let x = oai(&r, &format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={}", identifier(ostersund))).await;
    for part in [
        "<dc:title>Membership Monitoring Report — Östersund, 2022–2026</dc:title>",
        "<dc:creator>Östersund</dc:creator>",
        "<dc:subject>Gastronomy</dc:subject>",
        "<dc:date>2026-11-01</dc:date>",
        "<dc:type>Text</dc:type>",
        "<dc:format>application/pdf</dc:format>",
        &format!("<dc:identifier>http://127.0.0.1:8080/api/v1/archive/{ostersund}/pdf</dc:identifier>"),
        &format!("<dc:identifier>http://127.0.0.1:8080/reports/{ostersund}</dc:identifier>"),
        &format!("<dc:relation>http://127.0.0.1:8080/api/v1/archive/{ostersund}</dc:relation>"),
        "<dc:language>en</dc:language>",
        "<dc:coverage>Sweden</dc:coverage>",
        "<dc:coverage>2022–2026</dc:coverage>",
        "<dc:rights>© Östersund.",
        "<dc:description>Membership Monitoring Report of Östersund (Sweden), UNESCO Creative City of Gastronomy",
    ] {
        assert!(x.contains(part), "{part} in {x}");
    }
    // The links work and name the same entry.
    let (status, _, _) = fetch(&r, &format!("/api/v1/archive/{ostersund}")).await;
    assert_eq!(status, StatusCode::OK);

    // POST, form-encoded, answers the same; another body type is refused.
    let post = |body: &'static str, ct: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/oai")
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap()
    };
    let resp = r
        .clone()
        .oneshot(post("verb=ListIdentifiers&metadataPrefix=oai_dc", "application/x-www-form-urlencoded"))
        .await;
    let bytes = resp.unwrap().into_body().collect().await.unwrap().to_bytes();
    assert_eq!(ids(std::str::from_utf8(&bytes).unwrap()), a.published);
    let resp = r.clone().oneshot(post("{\"verb\":\"Identify\"}", "application/json")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

async fn resumption_pages_and_every_error(app: TestApp) {
    let a = archive(&app).await;
    let r = router(&app, 2);
    let [ostersund, bologna, seville, krakow] = a.published[..] else { unreachable!() };

    // Two records a page: a token with the list size and cursor, then an empty token at the end.
    for verb in ["ListIdentifiers", "ListRecords"] {
        let x = oai(&r, &format!("verb={verb}&metadataPrefix=oai_dc")).await;
        assert_eq!(ids(&x), [ostersund, bologna], "{x}");
        assert!(x.contains("<resumptionToken completeListSize=\"4\" cursor=\"0\">"), "{x}");
        let token = all(&x, "cursor=\"0\">", "</resumptionToken>")[0].to_owned();
        let x = oai(&r, &format!("verb={verb}&resumptionToken={token}")).await;
        assert_eq!(ids(&x), [seville, krakow], "{x}");
        assert!(x.contains(&format!("<request verb=\"{verb}\" resumptionToken=\"{token}\">")), "{x}");
        assert!(x.contains("<resumptionToken completeListSize=\"4\" cursor=\"2\"/>"), "{x}");
        // A token stays valid: asking again gives the same page.
        let again = oai(&r, &format!("verb={verb}&resumptionToken={token}")).await;
        assert_eq!(ids(&again), [seville, krakow]);
        // A token of one verb is not taken by another.
        let other = if verb == "ListRecords" { "ListIdentifiers" } else { "ListRecords" };
        let x = oai(&r, &format!("verb={other}&resumptionToken={token}")).await;
        assert_eq!(error_code(&x), Some("badResumptionToken"), "{x}");
    }
    // A set and a date range travel in the token; three music-or-later entries over two pages.
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-10").await;
    assert_eq!(ids(&x), [bologna, seville]);
    assert!(x.contains("completeListSize=\"3\""), "{x}");
    let token = all(&x, "cursor=\"0\">", "</resumptionToken>")[0].to_owned();
    let x = oai(&r, &format!("verb=ListIdentifiers&resumptionToken={token}")).await;
    assert_eq!(ids(&x), [krakow]);
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=field:music").await;
    assert_eq!(ids(&x), [bologna, seville]);
    assert!(!x.contains("<resumptionToken"), "exactly one full page needs no token: {x}");

    // Every error code the repository can give, with an error element and HTTP 200.
    let cases: &[(&str, &str)] = &[
        ("", "badVerb"),
        ("verb=Explode", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&set=music", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=yesterday", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-11-01&until=2026-11-24T00:00:00Z", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2026-11-20&until=2026-11-10", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc", "badArgument"),
        ("verb=GetRecord&identifier=oai:127.0.0.1:archive/1", "badArgument"),
        ("verb=ListIdentifiers&resumptionToken=not-a-token", "badResumptionToken"),
        ("verb=ListRecords&resumptionToken=eyJ2IjoiTGlzdFJlY29yZHMifQ", "badResumptionToken"),
        ("verb=ListSets&resumptionToken=x", "badResumptionToken"),
        ("verb=ListRecords&metadataPrefix=marc21", "cannotDisseminateFormat"),
        ("verb=GetRecord&metadataPrefix=mods&identifier=oai:127.0.0.1:archive/1", "cannotDisseminateFormat"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:archive/999", "idDoesNotExist"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:elsewhere.org:archive/1", "idDoesNotExist"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:archive/-1", "idDoesNotExist"),
        ("verb=ListMetadataFormats&identifier=nonsense", "idDoesNotExist"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=field:architecture", "noRecordsMatch"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=region:europe", "noRecordsMatch"),
        ("verb=ListRecords&metadataPrefix=oai_dc&until=2020-01-01", "noRecordsMatch"),
    ];
    for (query, code) in cases {
        let x = oai(&r, query).await;
        assert_eq!(error_code(&x), Some(*code), "{query}: {x}");
        if ["badVerb", "badArgument"].contains(code) {
            assert!(x.contains("<request>http://127.0.0.1:8080/oai</request>"), "no attributes after {code}: {x}");
        }
    }
    // Hidden entries do not exist for GetRecord or ListMetadataFormats.
    for hidden in &a.hidden {
        let x = oai(&r, &format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={}", identifier(*hidden))).await;
        assert_eq!(error_code(&x), Some("idDoesNotExist"), "{x}");
        let x = oai(&r, &format!("verb=ListMetadataFormats&identifier={}", identifier(*hidden))).await;
        assert_eq!(error_code(&x), Some("idDoesNotExist"), "{x}");
    }
    // Markup in arguments comes back escaped.
    let x = oai(&r, "verb=ListRecords&metadataPrefix=%3Cb%3E%26").await;
    assert!(x.contains("metadataPrefix=\"&lt;b&gt;&amp;\"") && x.contains("`&lt;b&gt;&amp;`"), "{x}");
}

async fn an_empty_repository(app: TestApp) {
    drafted(&app, "porto", "Porto", "PT", "media_arts").await;
    let r = router(&app, 2);
    let x = oai(&r, "verb=ListSets").await;
    assert_eq!(error_code(&x), Some("noSetHierarchy"), "{x}");
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=field:media_arts").await;
    assert_eq!(error_code(&x), Some("noSetHierarchy"), "{x}");
    let x = oai(&r, "verb=ListRecords&metadataPrefix=oai_dc").await;
    assert_eq!(error_code(&x), Some("noRecordsMatch"), "{x}");
    let x = oai(&r, "verb=Identify").await;
    assert!(x.contains("<earliestDatestamp>1970-01-01T00:00:00Z</earliestDatestamp>"), "{x}");
    let (status, ct, feed) = fetch(&r, "/feeds/archive.atom").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/atom+xml; charset=utf-8"));
    well_formed(&feed);
    assert!(!feed.contains("<entry>") && feed.contains("<updated>2026-11-24T09:30:00Z</updated>"), "{feed}");
}

async fn the_atom_feed(app: TestApp) {
    let a = archive(&app).await;
    let r = router(&app, 100);
    let (status, ct, feed) = fetch(&r, "/feeds/archive.atom").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/atom+xml; charset=utf-8");
    well_formed(&feed);
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"), "{feed}");
    for part in [
        "<id>tag:127.0.0.1,2026:archive</id>",
        "<title>",
        "<updated>2026-11-24T09:30:00Z</updated>",
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"http://127.0.0.1:8080/feeds/archive.atom\"/>",
        "<author><name>UNESCO Creative Cities Network Secretariat</name></author>",
    ] {
        assert!(feed.contains(part), "{part} in {feed}");
    }
    // Newest first; nothing hidden; each entry complete.
    let entries = all(&feed, "<entry>", "</entry>");
    let ids: Vec<i64> =
        entries.iter().map(|e| all(e, "<id>tag:127.0.0.1,2026:archive/", "</id>")[0].parse().unwrap()).collect();
    let mut newest_first = a.published.clone();
    newest_first.reverse();
    assert_eq!(ids, newest_first, "{feed}");
    let published: Vec<&str> = entries.iter().map(|e| all(e, "<published>", "</published>")[0]).collect();
    assert_eq!(
        published,
        ["2026-11-24T09:30:00Z", "2026-11-20T00:00:00Z", "2026-11-10T00:00:00Z", "2026-11-01T00:00:00Z"]
    );
    for (entry, id) in entries.iter().zip(&ids) {
        for part in [
            "<title>Membership Monitoring Report — ".to_owned(),
            "<updated>".to_owned(),
            "<author><name>".to_owned(),
            "<summary>".to_owned(),
            "type=\"application/pdf\" length=\"".to_owned(),
            format!("href=\"http://127.0.0.1:8080/api/v1/archive/{id}/pdf\"/>"),
            format!(
                "<link rel=\"alternate\" type=\"application/json\" href=\"http://127.0.0.1:8080/api/v1/archive/{id}\"/>"
            ),
            format!("<link rel=\"alternate\" type=\"text/html\" href=\"http://127.0.0.1:8080/reports/{id}\"/>"),
        ] {
            assert!(entry.contains(&part), "{part} in {entry}");
        }
    }
    assert!(entries[0].contains("<name>Kraków</name>"), "{}", entries[0]);
    assert!(!feed.contains("Ghent") && !feed.contains("Tartu") && !feed.contains("Porto"), "{feed}");
    // A selection has a feed of its own, with the search's filters: music only, newest first,
    // named by its query; a withdrawn music report is not in it.
    let (status, _, feed) = fetch(&r, "/feeds/archive.atom?field=music").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    well_formed(&feed);
    let ids: Vec<i64> = all(&feed, "<entry>", "</entry>")
        .iter()
        .map(|e| all(e, "<id>tag:127.0.0.1,2026:archive/", "</id>")[0].parse().unwrap())
        .collect();
    assert_eq!(ids, [a.published[2], a.published[1]], "{feed}");
    assert!(feed.contains("<id>tag:127.0.0.1,2026:archive?field=music</id>"), "{feed}");
    assert!(feed.contains("href=\"http://127.0.0.1:8080/feeds/archive.atom?field=music\"/>"), "{feed}");
    let (_, _, feed) = fetch(&r, "/feeds/archive.atom?q=nothingatall&country=PL").await;
    assert!(!feed.contains("<entry>"), "{feed}");
    for (bad, named, status) in [
        ("field=Music!", "field", StatusCode::UNPROCESSABLE_ENTITY),
        ("year=abc", "year", StatusCode::UNPROCESSABLE_ENTITY),
        ("page=2", "page", StatusCode::UNPROCESSABLE_ENTITY),
        ("colour=red", "colour", StatusCode::BAD_REQUEST),
    ] {
        let (got, _, body) = fetch(&r, &format!("/feeds/archive.atom?{bad}")).await;
        assert_eq!(got, status, "{bad}: {body}");
        assert!(body.contains(named), "{bad}: {body}");
    }
}

/// Sickle, a harvester from PyPI, harvests the whole archive from a listening server, following
/// resumption tokens (two records a page), and finds exactly the published entries.
async fn sickle_harvests_everything(app: TestApp) {
    let a = archive(&app).await;
    let script = "assert s.Identify().granularity == 'YYYY-MM-DDThh:mm:ssZ'\n\
         ids = [h.identifier for h in s.ListIdentifiers(metadataPrefix='oai_dc')]\n\
         recs = list(s.ListRecords(metadataPrefix='oai_dc'))\n\
         assert [r.header.identifier for r in recs] == ids, (ids, recs)\n\
         assert all(r.metadata['format'] == ['application/pdf'] for r in recs)\n\
         music = [h.identifier for h in s.ListIdentifiers(metadataPrefix='oai_dc', set='field:music')]\n\
         sets = [x.setSpec for x in s.ListSets()]\n\
         one = s.GetRecord(identifier=ids[0], metadataPrefix='oai_dc').metadata['creator']\n\
         print('\\n'.join(ids)); print('music', ' '.join(music)); print('sets', ' '.join(sets)); print('creator', one[0])\n";
    let stdout = sickle(router(&app, 2), script).await;
    let lines: Vec<&str> = stdout.lines().collect();
    let expected: Vec<String> = a.published.iter().map(|id| identifier(*id)).collect();
    assert_eq!(lines[..4], expected[..], "{stdout}");
    assert_eq!(lines[4], format!("music {} {}", identifier(a.published[1]), identifier(a.published[2])));
    assert!(lines[5].starts_with("sets field field:gastronomy"), "{stdout}");
    assert_eq!(lines[6], "creator Östersund");
}

/// A publication date set in the past (Ghent's, an hour after a harvester's last visit) does not
/// hide the entry below the harvester's watermark: its datestamp is the moment it became public,
/// while its Dublin Core date and the feed's `published` keep the publication date. A list begun
/// before stays as it was.
async fn a_backdated_publication_reaches_incremental_harvesters(app: TestApp) {
    let a = archive(&app).await;
    let ghent = a.hidden[0];
    // The harvester's visit at the pinned now: a first page of two, and the time it left.
    let x = oai(&router(&app, 2), "verb=ListIdentifiers&metadataPrefix=oai_dc").await;
    let token = all(&x, "cursor=\"0\">", "</resumptionToken>")[0].to_owned();

    let later = now() + TimeDelta::hours(1);
    publish_at(&app, ghent, Some("2026-10-15"), later).await;
    let r = router_at(&app, later + TimeDelta::minutes(5));

    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-24T09:30:01Z").await;
    assert_eq!(ids(&x), [ghent], "{x}");
    assert!(x.contains("<datestamp>2026-11-24T10:30:00Z</datestamp>"), "{x}");
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2026-11-24T09:30:00Z").await;
    assert_eq!(ids(&x), a.published, "{x}");
    let x = oai(&r, &format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={}", identifier(ghent))).await;
    assert!(x.contains("<dc:date>2026-10-15</dc:date>") && x.contains("<datestamp>2026-11-24T10:30:00Z"), "{x}");
    let x = oai(&r, "verb=Identify").await;
    assert!(x.contains("<earliestDatestamp>2026-11-01T00:00:00Z</earliestDatestamp>"), "{x}");

    // The list begun before Ghent appeared goes on without it.
    let x = oai(&r, &format!("verb=ListIdentifiers&resumptionToken={token}")).await;
    assert_eq!(ids(&x), a.published[2..], "{x}");

    // The feed puts it first: published on its date, updated when it appeared.
    let (_, _, feed) = fetch(&r, "/feeds/archive.atom").await;
    let first = all(&feed, "<entry>", "</entry>")[0];
    assert!(first.contains(&format!("archive/{ghent}</id>")), "{first}");
    assert!(first.contains("<published>2026-10-15T00:00:00Z</published>"), "{first}");
    assert!(first.contains("<updated>2026-11-24T10:30:00Z</updated>"), "{first}");
    assert!(feed.contains("<updated>2026-11-24T10:30:00Z</updated><link rel=\"self\""), "{feed}");

    // Moving an already public entry's date is a change harvesters see too.
    publish_at(&app, a.published[0], Some("2026-10-01"), later + TimeDelta::minutes(10)).await;
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-24T10:35:00Z").await;
    assert_eq!(error_code(&x), Some("noRecordsMatch"), "the router's clock is before the change: {x}");
    let r = router_at(&app, later + TimeDelta::minutes(15));
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-24T10:35:00Z").await;
    assert_eq!(ids(&x), [a.published[0]], "{x}");
}

/// Runs `script` (Python, with Sickle imported as `Sickle` and `s` a harvester of the OAI-PMH
/// endpoint of `router`, served on a listening socket) and returns its standard output.
async fn sickle(router: axum::Router, script: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, router).into_future());
    let script = format!("from sickle import Sickle\ns = Sickle('http://{addr}/oai', max_retries=0)\n{script}");
    let out = tokio::task::spawn_blocking(move || Command::new("python3").args(["-c", &script]).output())
        .await
        .unwrap()
        .expect("python3 with Sickle (make test-deps)");
    server.abort();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "sickle failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// A report that was public and is withdrawn stays in the lists as a deleted header dated by its
/// withdrawal: Sickle, which copied it on a first visit, finds it deleted on an incremental
/// harvest `from` that visit, by ListIdentifiers, ListRecords and GetRecord. Published again, it
/// is an ordinary record once more.
async fn a_withdrawal_reaches_harvesters_as_a_deleted_record(app: TestApp) {
    let a = archive(&app).await;
    let bologna = a.published[1];
    let first = sickle(
        router(&app, 2),
        "print('\\n'.join(h.identifier for h in s.ListIdentifiers(metadataPrefix='oai_dc')))\n",
    )
    .await;
    assert!(first.lines().any(|l| l == identifier(bologna)), "{first}");

    let later = now() + TimeDelta::days(1);
    publish_at(&app, bologna, None, later).await;
    let r = router_at(&app, later + TimeDelta::hours(1));
    let script = format!(
        "for h in s.ListIdentifiers(metadataPrefix='oai_dc', **{{'from': '2026-11-24T09:30:01Z'}}):\n    \
             print('id', h.identifier, h.deleted, h.datestamp)\n\
         for r in s.ListRecords(metadataPrefix='oai_dc', **{{'from': '2026-11-25'}}):\n    \
             print('rec', r.header.identifier, r.deleted, getattr(r, 'metadata', None))\n\
         one = s.GetRecord(identifier='{}', metadataPrefix='oai_dc')\n\
         print('get', one.header.deleted, one.header.datestamp)\n",
        identifier(bologna)
    );
    let out = sickle(r.clone(), &script).await;
    let lines: Vec<&str> = out.lines().collect();
    let id = identifier(bologna);
    assert_eq!(
        lines,
        [
            format!("id {id} True 2026-11-25T09:30:00Z"),
            format!("rec {id} True None"),
            "get True 2026-11-25T09:30:00Z".to_owned()
        ],
        "{out}"
    );
    // The repository says deletions are kept; the earliest datestamp is unchanged; the withdrawn
    // entry is in no ordinary list, page or feed.
    let x = oai(&r, "verb=Identify").await;
    assert!(x.contains("<deletedRecord>persistent</deletedRecord>"), "{x}");
    assert!(x.contains("<earliestDatestamp>2026-11-01T00:00:00Z</earliestDatestamp>"), "{x}");
    let x = oai(&r, "verb=ListRecords&metadataPrefix=oai_dc&set=field:music").await;
    assert!(x.contains("<header status=\"deleted\"><identifier>") && !x.contains("Bologna"), "{x}");
    assert_eq!(ids(&x), [a.published[2], bologna], "by datestamp: {x}");
    let (_, _, feed) = fetch(&r, "/feeds/archive.atom").await;
    assert!(!feed.contains("Bologna"), "{feed}");
    // Hidden entries never public stay unnamed.
    for hidden in &a.hidden {
        let x = oai(&r, &format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={}", identifier(*hidden))).await;
        assert_eq!(error_code(&x), Some("idDoesNotExist"), "{x}");
    }

    // Published again: an ordinary record, dated by its return.
    let back = later + TimeDelta::days(1);
    publish_at(&app, bologna, Some("2026-11-10"), back).await;
    let r = router_at(&app, back + TimeDelta::hours(1));
    let x = oai(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2026-11-25").await;
    assert_eq!(ids(&x), [bologna], "{x}");
    assert!(!x.contains("deleted") && x.contains("<datestamp>2026-11-26T09:30:00Z</datestamp>"), "{x}");
}

crate::both_backends!(
    a_backdated_publication_reaches_incremental_harvesters,
    a_withdrawal_reaches_harvesters_as_a_deleted_record,
    every_verb_sets_and_dates,
    resumption_pages_and_every_error,
    an_empty_repository,
    the_atom_feed,
    sickle_harvests_everything
);
