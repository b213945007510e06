//! The public pages through the real router: what they show (published reports only), search
//! with accents, facets and pages, a report page's metadata for people and machines, languages,
//! errors as pages, security headers and page weight. The same pages in a real browser are in
//! `browser`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

use crate::helpers::{Reply, TestApp};
use crate::search::{Archive, HIDDEN_WORDS, archive};

async fn page(app: &TestApp, path: &str) -> Reply {
    let r = app.get(path, None).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "GET {path}");
    r
}

async fn with_headers(app: &TestApp, path: &str, headers: &[(header::HeaderName, &str)]) -> Reply {
    let mut request = Request::builder().method(Method::GET).uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// Every public page of the test archive.
fn public_pages(a: &Archive) -> Vec<String> {
    let mut pages: Vec<String> = [
        "/",
        "/reports",
        "/reports?q=accordion",
        "/reports?field=music",
        "/reports?q=accordion&field=music&per_page=1&page=2",
        "/cities",
        "/cities?field=music",
        "/cities/ostersund",
        "/cities/ghent",
        "/cities/tartu",
        "/cities/porto",
        "/fields",
        "/fields/music",
        "/fields/literature",
        "/fields/media_arts",
        "/about",
        "/sitemap.xml",
    ]
    .map(str::to_owned)
    .to_vec();
    pages.extend([a.ostersund, a.bologna, a.seville, a.lyon].iter().map(|id| format!("/reports/{id}")));
    pages
}

/// The words only unpublished material holds never appear on a page, in either language, and
/// no page links to an unpublished report, whose own page is a 404.
async fn nothing_unpublished_on_any_page(app: TestApp) {
    let a = archive(&app).await;
    for path in public_pages(&a) {
        for lang in ["en", "fr"] {
            let r = with_headers(&app, &path, &[(header::ACCEPT_LANGUAGE, lang)]).await;
            assert_eq!(r.status, StatusCode::OK, "GET {path} ({lang}): {}", r.text);
            for word in HIDDEN_WORDS {
                assert!(!r.text.to_lowercase().contains(word), "`{word}` on {path}");
            }
            for id in &a.hidden {
                assert!(!r.text.contains(&format!("/reports/{id}\"")), "{path} links to unpublished report {id}");
                assert!(!r.text.contains(&format!("/reports/{id}<")), "{path} lists unpublished report {id}");
            }
        }
    }
    for id in &a.hidden {
        let r = app.get(&format!("/reports/{id}"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "/reports/{id}");
        for word in HIDDEN_WORDS {
            assert!(!r.text.to_lowercase().contains(word));
        }
    }
    // Not even the city's own token shows a hidden report as a page: pages are public only.
    let r = app.get(&format!("/reports/{}", a.hidden[0]), Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn search_pages(app: TestApp) {
    let a = archive(&app).await;
    // Accents and case ignored both ways, with the word marked in the snippet.
    for q in ["smorgasbord", "SMÖRGÅSBORD", "Smörgåsbord"] {
        let r = page(&app, &format!("/reports?q={}", urlencode(q))).await;
        assert!(r.text.contains(&format!("href=\"/reports/{}\"", a.ostersund)), "{q}");
        assert!(r.text.contains("<mark>Smörgåsbord</mark>"), "{q}: {}", r.text);
        assert!(r.text.contains(">1 report<"), "{q}");
    }
    // A facet is a link with its count; following it filters, and the active filter has a link
    // that removes it.
    let r = page(&app, "/reports?q=accordion").await;
    assert!(r.text.contains(">2 reports<"), "{}", r.text);
    assert!(r.text.contains("href=\"/reports?q=accordion&#38;country=ES\""), "{}", r.text);
    let r = page(&app, "/reports?q=accordion&country=ES").await;
    assert!(r.text.contains(">1 report<"));
    assert!(r.text.contains(&format!("href=\"/reports/{}\"", a.seville)));
    assert!(r.text.contains("Country: Spain"), "{}", r.text);
    assert!(r.text.contains("href=\"/reports?q=accordion\""), "the remove link keeps the words");
    // Pages: two results per page over four reports.
    let r = page(&app, "/reports?per_page=2").await;
    assert!(r.text.contains("href=\"/reports?per_page=2&#38;page=2\" rel=\"next\""), "{}", r.text);
    assert!(r.text.contains(&format!("href=\"/reports/{}\"", a.lyon)));
    let r = page(&app, "/reports?per_page=2&page=2").await;
    assert!(r.text.contains(&format!("href=\"/reports/{}\"", a.ostersund)));
    assert!(r.text.contains("href=\"/reports?per_page=2\" rel=\"prev\""), "{}", r.text);
    // The exports of the same selection.
    let r = page(&app, "/reports?field=music").await;
    assert!(r.text.contains("href=\"/api/v1/archive/export.csv?field=music\""), "{}", r.text);
    assert!(r.text.contains("href=\"/api/v1/archive/bulk.zip?field=music\""));
    // Nothing found is said, not an error.
    let r = page(&app, "/reports?q=nothingmatchesthis").await;
    assert!(r.text.contains("No published report matches"));
}

/// The snippet a search page shows under report `id`'s link, as HTML (`None` without one).
fn snippet_of(page: &str, id: i64) -> Option<String> {
    let item = page.split(&format!("<a href=\"/reports/{id}\">")).nth(1)?.split("</li>").next()?;
    let snippet = item.split("<p class=\"snippet\">").nth(1)?;
    Some(snippet.split("</p>").next()?.to_owned())
}

/// Snippets pinned whole: the block they come from (the first paragraph holding a query word,
/// else the first block holding one, in the report then the plan), the words marked, the
/// ellipses, and the abstract where nothing matches or no words are asked for.
async fn snippets_show_the_matching_block(app: TestApp) {
    let a = archive(&app).await;
    for (query, id, expected) in [
        (
            "accordion",
            a.bologna,
            "… kept food at the heart of its plans. <mark>Accordion</mark> workshops, <mark>accordion</mark> \
             concerts, <mark>accordion</mark>. …",
        ),
        (
            "parade ACCORDION",
            a.seville,
            "… food at the heart of its plans. One <mark>accordion</mark> <mark>parade</mark>. …",
        ),
        ("smokehouse", a.ostersund, "… food at the heart of its plans. A <mark>smokehouse</mark> and a Smörgåsbord. …"),
        ("hosted", a.lyon, "… We <mark>hosted</mark> the 2025 field meeting. …"),
        ("festival", a.seville, "… A yearly food <mark>festival</mark>."),
        ("gardens", a.bologna, "… <mark>gardens</mark> …"),
        ("", a.ostersund, "Östersund kept food at the heart of its plans. A smokehouse and a Smörgåsbord."),
    ] {
        let r = page(&app, &format!("/reports?q={}", urlencode(query))).await;
        assert_eq!(snippet_of(&r.text, id).as_deref(), Some(expected), "q={query}");
    }
}

async fn bad_search_input_is_a_page_naming_the_problem(app: TestApp) {
    for (path, named) in [
        ("/reports?year=abc", "year"),
        ("/reports?page=0", "page"),
        ("/reports?page=x", "page"),
        ("/reports?per_page=1000", "per_page"),
        ("/reports?field=Not%20A%20Field", "field"),
        ("/reports?field=unknown_field", "field"),
        ("/reports?country=XXX", "country"),
        ("/reports?region=mars", "region"),
        ("/cities?field=BAD!", "field"),
        ("/cities?page=0", "page"),
        ("/cities?page=2", "page"),
        ("/cities?page=x", "page"),
    ] {
        let r = app.get(path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(r.text.contains(named), "{path}: {}", r.text);
        assert!(r.text.contains("<main"), "{path} is a page in the layout");
    }
    let long = "a".repeat(300);
    let r = app.get(&format!("/reports?q={long}"), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// `(name, content)` of each `<meta name=…>` in a page's head.
fn metas(html: &str) -> Vec<(String, String)> {
    html.split("<meta name=\"")
        .skip(1)
        .filter_map(|m| {
            let (name, rest) = m.split_once('"')?;
            let content = rest.split_once("content=\"")?.1.split_once('"')?.0;
            Some((name.to_owned(), unescape(content)))
        })
        .collect()
}

fn meta<'a>(metas: &'a [(String, String)], name: &str) -> &'a str {
    metas.iter().find(|(n, _)| n == name).map(|(_, c)| c.as_str()).unwrap_or_else(|| panic!("no meta {name}"))
}

fn unescape(text: &str) -> String {
    text.replace("&#39;", "'").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#38;", "&")
}

async fn a_report_page_for_people_and_machines(app: TestApp) {
    let a = archive(&app).await;
    let r = page(&app, &format!("/reports/{}", a.ostersund)).await;
    let record = app.get(&format!("/api/v1/archive/{}", a.ostersund), None).await.body;
    let base = &app.state.public_url;
    let m = metas(&r.text);
    assert_eq!(meta(&m, "citation_title"), record["dublin_core"]["title"].as_str().unwrap());
    assert_eq!(meta(&m, "citation_author"), "Östersund");
    assert_eq!(meta(&m, "citation_publication_date"), "2026/11/01");
    assert_eq!(meta(&m, "citation_pdf_url"), format!("{base}/api/v1/archive/{}/pdf", a.ostersund));
    assert_eq!(meta(&m, "citation_language"), "en");
    assert_eq!(meta(&m, "DC.title"), record["dublin_core"]["title"].as_str().unwrap());
    assert_eq!(meta(&m, "DC.identifier"), record["persistent_id"].as_str().unwrap());
    assert_eq!(meta(&m, "DC.date"), "2026-11-01");
    assert_eq!(meta(&m, "DC.language"), "en");
    let ld = r.text.split("<script type=\"application/ld+json\">").nth(1).unwrap().split("</script>").next().unwrap();
    let ld: Value = serde_json::from_str(ld).unwrap();
    assert_eq!(ld["@type"], "Report");
    assert_eq!(ld["name"], record["dublin_core"]["title"]);
    assert_eq!(ld["identifier"], record["persistent_id"]);
    assert_eq!(ld["datePublished"], "2026-11-01");
    assert_eq!(ld["url"], format!("{base}/reports/{}", a.ostersund));
    assert_eq!(ld["encoding"]["sha256"], record["pdf"]["sha256"]);
    // For people: the abstract (the executive summary's start), hashes, sizes, downloads and
    // the citations, whose address is the page.
    assert!(r.text.contains("Östersund kept food at the heart of its plans. A smokehouse and a Smörgåsbord."));
    assert!(r.text.contains(record["pdf"]["sha256"].as_str().unwrap()));
    assert!(r.text.contains(&format!("href=\"/api/v1/archive/{}/pdf\"", a.ostersund)));
    assert!(r.text.contains(&format!("href=\"/api/v1/archive/{}/source.zip\"", a.ostersund)));
    assert!(r.text.contains("@techreport{"), "BibTeX");
    assert!(r.text.contains(&format!("{base}/reports/{}", a.ostersund)));
    assert!(r.text.contains("mmr:archive/"));
    // The readable name redirects to the stable address; an unknown one is a 404.
    let r = app.get("/reports/ostersund-gastronomy-2026", None).await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT, "{}", r.text);
    assert_eq!(r.headers[header::LOCATION], format!("/reports/{}", a.ostersund));
    let r = app.get("/reports/ostersund-music-2026", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/reports/%3Cscript%3E", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.text.contains("<script>"));
}

async fn english_and_french(app: TestApp) {
    let a = archive(&app).await;
    let path = format!("/reports/{}", a.lyon);
    let r = page(&app, &path).await;
    assert!(r.text.contains("<html lang=\"en\">") && r.text.contains("Download"));
    // The header, then the switch, which is remembered in a cookie, then the cookie.
    let r = with_headers(&app, &path, &[(header::ACCEPT_LANGUAGE, "fr-CH, fr;q=0.9, en;q=0.8")]).await;
    assert!(r.text.contains("<html lang=\"fr\">") && r.text.contains("Télécharger"), "{}", r.text);
    assert_eq!(r.headers[header::CONTENT_LANGUAGE], "fr");
    assert!(r.text.contains(&format!("href=\"/reports/{}?lang=en\"", a.lyon)), "the switch to English");
    let r = page(&app, &format!("{path}?lang=fr")).await;
    assert!(r.text.contains("Télécharger"));
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("lang=fr;") && cookie.contains("SameSite=Lax"), "{cookie}");
    let r = with_headers(&app, "/", &[(header::COOKIE, "lang=fr"), (header::ACCEPT_LANGUAGE, "en")]).await;
    assert!(r.text.contains("Derniers rapports"), "the cookie wins over the header");
    // French field names, dates and numbers.
    let r = with_headers(&app, "/reports?field=literature", &[(header::COOKIE, "lang=fr")]).await;
    assert!(r.text.contains("Littérature") || r.text.contains("littérature"), "{}", r.text);
    assert!(r.text.contains("novembre 2026"));
}

async fn errors_are_pages_and_the_api_stays_json(app: TestApp) {
    let r = app.get("/no/such/page", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text.contains("Page not found") && r.text.contains("<nav"), "{}", r.text);
    let r = with_headers(&app, "/no/such/page", &[(header::ACCEPT_LANGUAGE, "fr")]).await;
    assert!(r.text.contains("Page introuvable"));
    let r = app.get("/cities/atlantis", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/fields/cooking", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/api/v1/nothing-here", None).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let r = app.get("/static/site.css", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "only content-hashed names are served");
}

async fn headers_weight_and_assets(app: TestApp) {
    let a = archive(&app).await;
    for path in public_pages(&a).into_iter().filter(|p| p != "/sitemap.xml") {
        let r = page(&app, &path).await;
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(r.headers.contains_key(header::REFERRER_POLICY));
        assert!(r.text.len() < 60 * 1024, "{path} is {} bytes", r.text.len());
        assert!(!r.text.contains(" style="), "{path}: inline style breaks the CSP");
        for script in r.text.split("<script").skip(1) {
            assert!(
                script.starts_with(" src=\"/static/") || script.starts_with(" type=\"application/ld+json\""),
                "{path}: inline script {script:.80}"
            );
        }
        // The style sheet and the script, under hashed names, cached for a year.
        for asset in r.text.split("\"/static/").skip(1).map(|s| s.split('"').next().unwrap()) {
            let a = app.get(&format!("/static/{asset}"), None).await;
            assert_eq!(a.status, StatusCode::OK, "{asset}");
            assert_eq!(a.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        }
    }
    assert!(mmr::web::page_weight() < 50 * 1024);
    let r = app.get("/robots.txt", None).await;
    assert!(r.text.contains("Sitemap: ") && r.text.contains("Disallow: /api/"));
    let r = app.get("/sitemap.xml", None).await;
    assert!(r.text.contains(&format!("/reports/{}</loc>", a.ostersund)));
    assert!(!r.text.contains(&format!("/reports/{}</loc>", a.hidden[0])));
    assert!(r.text.contains("/cities/ostersund</loc>") && r.text.contains("/fields/music</loc>"));
}

/// A form over its page's 1 MiB limit is a 413 page in the site's layout and the visitor's
/// language, naming the limit, not the plain-text answer of the framework underneath.
async fn an_oversized_form_is_a_page(app: TestApp) {
    let body = format!("csrf=x&email={}", "a".repeat(mmr::http::SMALL_BODY_BYTES));
    for (lang, heading) in [("en", "This form is too large"), ("fr", "Ce formulaire est trop volumineux")] {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/sign-in/email")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT_LANGUAGE, lang)
            .body(Body::from(body.clone()))
            .unwrap();
        let r = app.send(request).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{lang}");
        assert_eq!(r.headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{lang}");
        assert!(r.text.contains("<main") && r.text.contains(heading) && r.text.contains("(1 MiB)"), "{lang}");
    }
    // A post that is no form is a page too.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/sign-in/email")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("csrf=x"))
        .unwrap();
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("<main"), "in the layout");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

crate::both_backends!(
    nothing_unpublished_on_any_page,
    search_pages,
    snippets_show_the_matching_block,
    bad_search_input_is_a_page_naming_the_problem,
    a_report_page_for_people_and_machines,
    english_and_french,
    errors_are_pages_and_the_api_stays_json,
    headers_weight_and_assets,
    an_oversized_form_is_a_page
);
