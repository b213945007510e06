//! The public pages as people use them: Debian's Chromium driven through chromedriver
//! (WebDriver, with fantoccini) against the real server over TCP, on both stores. Searching with
//! and without accents, by mouse and by keyboard only, following a facet and removing it,
//! paging, opening a report and downloading its PDF (the bytes the browser gets are the
//! archive's), the language switch and a 404. axe-core runs inside the page on every public
//! page at desktop and phone widths and must find no serious or critical violation; screenshots
//! of each are written under `target/screenshots/` to be looked at.
//!
//! Then the journey of a report through the signed-in pages (`journey.rs`), with the sign-in
//! links and the decisions mailed through a real SMTP server.
//!
//! Needs `chromium`, `chromium-driver`, axe-core and aiosmtpd (`make test-deps` installs them). Without
//! them the test says it was skipped, except under CI, where it fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use mmr::mail::{SmtpOptions, SmtpTransport};
use mmr::workflow::Postman;

use crate::helpers::{Backend, TestApp};
use crate::search::{Archive, archive};
use crate::smtp::SmtpServer;

/// Where axe-core is installed by `make test-deps` (or `MMR_AXE_JS`).
fn axe_path() -> PathBuf {
    std::env::var_os("MMR_AXE_JS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/web-tools/node_modules/axe-core/axe.min.js")
    })
}

/// A browser session on its own chromedriver, which is killed on drop.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    axe: String,
    base: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver and a headless Chromium; `None` (said loudly) when they or axe-core are
/// missing outside CI.
async fn browser(base: String) -> Option<Browser> {
    let missing: Vec<&str> = [
        ("/usr/bin/chromium", "chromium (Debian package chromium)"),
        ("/usr/bin/chromedriver", "chromedriver (Debian package chromium-driver)"),
    ]
    .into_iter()
    .filter(|(path, _)| !std::path::Path::new(path).exists())
    .map(|(_, what)| what)
    .collect();
    let axe = std::fs::read_to_string(axe_path()).ok();
    if !missing.is_empty() || axe.is_none() {
        let mut what = missing.join(", ");
        if axe.is_none() {
            what.push_str(&format!(" axe-core ({}: run `make test-deps`)", axe_path().display()));
        }
        assert!(std::env::var_os("CI").is_none(), "the browser tests need {what}");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "SKIPPED the browser tests: missing {what}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    // A "leave the page?" prompt is answered as a person leaving on purpose would.
    caps.insert("unhandledPromptBehavior".into(), json!("accept"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--lang=en-US", "--hide-scrollbars"],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
            Ok(client) => {
                return Some(Browser { client, driver, axe: axe.unwrap(), base });
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a browser session: {last:?}");
}

impl Browser {
    pub(crate) async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub(crate) async fn css(&self, selector: &str) -> Element {
        match self.client.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(selector)).await {
            Ok(element) => element,
            Err(e) => panic!("no `{selector}` on {}: {e}", self.path().await),
        }
    }

    pub(crate) async fn text(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    /// Presses `key` as a keyboard does, wherever the focus is (also on a file input, which
    /// takes an element's keys as a file name).
    pub(crate) async fn press(&self, key: Key) {
        let value = char::from(key);
        let keys = KeyActions::new("keyboard".into()).then(KeyAction::Down { value }).then(KeyAction::Up { value });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// The focused element's `(tag, id, href, text)`.
    pub(crate) async fn focused(&self) -> (String, String, String, String) {
        let v = self
            .client
            .execute(
                "const e = document.activeElement; \
                 return [e.tagName, e.id || '', e.getAttribute('href') || '', (e.textContent || '').trim()];",
                vec![],
            )
            .await
            .unwrap();
        let s = |i: usize| v[i].as_str().unwrap_or_default().to_owned();
        (s(0), s(1), s(2), s(3))
    }

    /// Tabs forward until `wanted` holds for the focused element; panics after 60 presses.
    pub(crate) async fn tab_to(&self, what: &str, wanted: impl Fn(&(String, String, String, String)) -> bool) {
        for _ in 0..60 {
            self.press(Key::Tab).await;
            if wanted(&self.focused().await) {
                return;
            }
        }
        panic!("the keyboard never reached {what} on {}", self.path().await);
    }

    pub(crate) async fn wait_for_path(&self, part: &str) {
        for _ in 0..100 {
            if self.path().await.contains(part) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never reached a page whose address holds {part}: at {}", self.path().await);
    }

    /// Runs axe-core in the page; every violation of impact serious or critical fails.
    pub(crate) async fn axe(&self, name: &str) {
        self.client.execute(&self.axe, vec![]).await.unwrap();
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => \
                   ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))));",
                vec![],
            )
            .await
            .unwrap();
        let violations = result.as_array().unwrap();
        let serious: Vec<&Value> =
            violations.iter().filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical"))).collect();
        assert!(serious.is_empty(), "axe-core on {name}: {serious:#?}");
        for v in violations {
            eprintln!("axe-core on {name} ({}): {} {}", v["impact"], v["id"], v["help"]);
        }
    }

    /// A screenshot of the page as it is, under `target/screenshots/<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Serves the app over TCP as `mmr serve` does, pages included, its messages sent through SMTP
/// to a real SMTP server process (aiosmtpd); returns its base address and that server.
async fn serve(app: &mut TestApp) -> (String, SmtpServer) {
    let (listener, base) = crate::helpers::listen(app).await;
    let smtp = SmtpServer::start();
    let options = SmtpOptions { timeout: Duration::from_secs(10), ..SmtpOptions::default() };
    let transport = SmtpTransport::with_options(&smtp.url(), &options).expect("an SMTP URL");
    app.state.postman = Some(Arc::new(Postman {
        transport: Arc::new(transport),
        from: "UNESCO Creative Cities <ccn@mmr.example>".into(),
        public_url: base.clone(),
    }));
    crate::helpers::spawn_server(app, listener);
    (base, smtp)
}

async fn in_a_real_browser(mut app: TestApp) {
    let a = archive(&app).await;
    let (base, smtp) = serve(&mut app).await;
    let Some(b) = browser(base).await else { return };
    let result = tokio::time::timeout(Duration::from_secs(420), walk(&app, &a, &b, &smtp)).await;
    let _ = b.client.clone().close().await;
    result.expect("the browser walk took over 7 minutes");
}

async fn walk(app: &TestApp, a: &Archive, b: &Browser, smtp: &SmtpServer) {
    keyboard_only(b, a).await;
    search_facets_and_pages(b, a).await;
    report_and_download(app, b, a).await;
    language_and_errors(b).await;
    let pictures = app.backend_name() == "sqlite";
    if pictures {
        every_page_checked_and_pictured(b, a).await;
    }
    crate::journey::journey(app, b, smtp, pictures).await;
}

/// Checks each page with axe-core at desktop and phone widths and, when `pictures`, keeps a
/// screenshot of each.
pub(crate) async fn check_pages(b: &Browser, pages: &[(&str, String)], pictures: bool) {
    for (width, height, label) in [(1280, 800, "desktop"), (390, 844, "phone")] {
        b.client.set_window_size(width, height).await.unwrap();
        for (name, path) in pages {
            b.open(path).await;
            b.axe(&format!("{name} ({label})")).await;
            if pictures {
                b.screenshot(&format!("{name}-{label}")).await;
            }
        }
    }
    b.client.set_window_size(1280, 800).await.unwrap();
}

/// The search page with the keyboard alone: the skip link, the query box, a result.
async fn keyboard_only(b: &Browser, a: &Archive) {
    b.open("/reports").await;
    b.tab_to("the skip link", |(tag, _, href, _)| tag == "A" && href == "#main").await;
    b.press(Key::Enter).await;
    b.tab_to("the query box", |(_, id, _, _)| id == "q").await;
    b.client.active_element().await.unwrap().send_keys("smorgasbord").await.unwrap();
    b.press(Key::Enter).await;
    b.wait_for_path("q=smorgasbord").await;
    assert_eq!(b.text(".results .count").await, "1 report");
    let href = format!("/reports/{}", a.ostersund);
    b.tab_to("the first result", |(tag, _, h, _)| tag == "A" && *h == href).await;
    b.press(Key::Enter).await;
    b.wait_for_path(&href).await;
    assert!(b.text("h1").await.contains("Östersund"));
}

async fn search_facets_and_pages(b: &Browser, a: &Archive) {
    // With accents and capitals, by mouse.
    b.open("/reports").await;
    b.css("#q").await.send_keys("SMÖRGÅSBORD").await.unwrap();
    b.css("form.search button").await.click().await.unwrap();
    b.wait_for_path("q=SM").await;
    assert_eq!(b.text(".results .count").await, "1 report");
    assert_eq!(b.text(".snippet mark").await, "Smörgåsbord");
    // A facet, then removing it.
    b.open("/reports?q=accordion").await;
    assert_eq!(b.text(".results .count").await, "2 reports");
    b.css(".facets a[href*='country=ES']").await.click().await.unwrap();
    b.wait_for_path("country=ES").await;
    assert_eq!(b.text(".results .count").await, "1 report");
    assert!(b.text(".report-list").await.contains("Seville"));
    b.css(".active-filters a[href='/reports?q=accordion']").await.click().await.unwrap();
    b.wait_for_path("/reports?q=accordion").await;
    assert_eq!(b.text(".results .count").await, "2 reports");
    // Pages.
    b.open("/reports?per_page=3").await;
    b.css("a[rel='next']").await.click().await.unwrap();
    b.wait_for_path("page=2").await;
    let items = b.client.find_all(Locator::Css(".report-list > li")).await.unwrap();
    assert_eq!(items.len(), 1);
    assert!(b.text(".report-list").await.contains("Östersund"), "oldest last");
    let _ = a;
}

/// A report's page, and its PDF fetched by the browser: the bytes hash to the archive's digest
/// and equal the stored file.
async fn report_and_download(app: &TestApp, b: &Browser, a: &Archive) {
    b.open(&format!("/reports/{}", a.bologna)).await;
    assert!(b.text("h1").await.contains("Bologna"));
    assert!(b.css("button.copy").await.is_displayed().await.unwrap(), "the script shows the copy buttons");
    let link = b.css("a.button[type='application/pdf']").await;
    let href = link.attr("href").await.unwrap().unwrap();
    let digest = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(arguments[0]).then(r => r.arrayBuffer()).then(buf => crypto.subtle.digest('SHA-256', buf)) \
               .then(h => done(Array.from(new Uint8Array(h)).map(x => x.toString(16).padStart(2, '0')).join('')));",
            vec![json!(href)],
        )
        .await
        .unwrap();
    let record = app.get(&format!("/api/v1/archive/{}", a.bologna), None).await.body;
    assert_eq!(digest, record["pdf"]["sha256"], "the PDF the browser downloads is the archive's");
    let stored = app.get(&format!("/api/v1/archive/{}/pdf", a.bologna), None).await.bytes;
    assert_eq!(format!("{:x}", Sha256::digest(&stored)), digest.as_str().unwrap());
}

async fn language_and_errors(b: &Browser) {
    b.open("/").await;
    b.css("a.lang-switch").await.click().await.unwrap();
    b.wait_for_path("lang=fr").await;
    let lang = b.client.execute("return document.documentElement.lang", vec![]).await.unwrap();
    assert_eq!(lang, "fr");
    assert!(b.text("h1").await.contains("Rapports de suivi"));
    // The choice stays on the next page, and the 404 page speaks it too.
    b.open("/no/such/page").await;
    assert_eq!(b.text("h1").await, "Page introuvable");
    b.css("a.lang-switch").await.click().await.unwrap();
    b.wait_for_path("lang=en").await;
    assert_eq!(b.text("h1").await, "Page not found");
}

/// axe-core and screenshots on every public page, at desktop and phone widths.
async fn every_page_checked_and_pictured(b: &Browser, a: &Archive) {
    let pages = [
        ("home", "/".to_owned()),
        ("search", "/reports?q=accordion".to_owned()),
        ("search-all", "/reports".to_owned()),
        ("report", format!("/reports/{}", a.ostersund)),
        ("report-fr", format!("/reports/{}?lang=fr", a.lyon)),
        ("cities", "/cities?lang=en".to_owned()),
        ("city", "/cities/bologna".to_owned()),
        ("fields", "/fields".to_owned()),
        ("field", "/fields/music".to_owned()),
        ("about", "/about".to_owned()),
        ("api-docs", "/api/docs".to_owned()),
        ("api-docs-fr", "/api/docs?lang=fr".to_owned()),
        ("not-found", "/no/such/page".to_owned()),
    ];
    check_pages(b, &pages, true).await;
}

crate::both_backends!(in_a_real_browser);

impl TestApp {
    pub(crate) fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}
