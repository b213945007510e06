//! The journey of a report through the signed-in pages, in a real browser (Chromium through
//! WebDriver), with every message caught by a real SMTP server (aiosmtpd):
//!
//! 1. the Secretariat signs in with a token, adds a contact to Braga on the city's desk page and
//!    a staff address on the access page;
//! 2. Braga's contact signs in by e-mail link, starts from the template's skeleton, adds an
//!    image, saves a draft with a misspelt heading and is taken to its line by the finding,
//!    deletes it; leaves the page with the change unsaved, comes back and puts the text back from
//!    the browser; saves, previews, submits;
//! 3. the field's coordinator signs in by e-mail link and comments on a section;
//! 4. the Secretariat signs in by e-mail link at its staff address and asks for a revision with
//!    the decision form, by keyboard;
//! 5. the city follows the link of the message that tells it, reads the comment and the
//!    deadline, revises and submits again;
//! 6. the Secretariat reads what changed, accepts, sets the publication date; the public report
//!    page shows the report.
//!
//! Each page passes axe-core at desktop and phone widths; on SQLite a screenshot of each is kept.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::browser::{Browser, check_pages};
use crate::helpers::TestApp;
use crate::smtp::SmtpServer;

const CONTACT: &str = "ana@braga.example";
const COORDINATOR: &str = "coordinator@media-arts.example";
const STAFF: &str = "desk@uccn.example";

pub(crate) async fn journey(app: &TestApp, b: &Browser, smtp: &SmtpServer, pictures: bool) {
    // Braga, designated in 2010: its 2022–2026 report falls due on 30 November 2026, days after
    // the tests' "now".
    app.city_designated("braga", "Braga", "PT", "media_arts", NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    app.sync_cycles();
    let coordinator = json!({ "coordinator_email": COORDINATOR });
    let r = app.call(Method::PATCH, "/api/v1/fields/media_arts", Some(&app.admin), Some(coordinator)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    the_secretariat_prepares(app, b, pictures).await;
    sign_in_by_mail(b, smtp, CONTACT, "/portal").await;
    b.wait_for_path("/portal").await;
    assert_eq!(b.text("h1").await, "Braga");
    check_pages(b, &[("portal", "/portal?lang=en".to_owned()), ("portal-fr", "/portal?lang=fr".to_owned())], pictures)
        .await;
    let draft = drafting(b, pictures).await;
    submit(b, &draft).await;
    sign_out(b).await;

    let version = the_coordinator_comments(b, smtp).await;
    the_secretariat_asks_for_a_revision(b, smtp, &version, pictures).await;
    the_city_revises(b, smtp, &version, &draft).await;
    the_secretariat_accepts_and_publishes(b, smtp).await;

    // The public page shows the report.
    b.open("/reports?q=braga&lang=en").await;
    assert_eq!(b.text(".results .count").await, "1 report");
    b.css(".report-list a[href^='/reports/']").await.click().await.unwrap();
    b.wait_for_path("/reports/").await;
    assert!(b.text("h1").await.contains("Braga"));
    assert!(b.text("main").await.contains("Braga made films with Lyon."), "the accepted version's summary");
}

/// Types `text` into the element with the focus.
async fn type_in(b: &Browser, text: &str) {
    b.client.active_element().await.unwrap().send_keys(text).await.unwrap();
}

/// Tabs to the button that reads `label` and presses Enter.
async fn press_button(b: &Browser, label: &str) {
    b.tab_to(label, |(tag, _, _, text)| tag == "BUTTON" && text == label).await;
    b.press(Key::Enter).await;
}

/// The last message to `address` whose subject starts with `subject`, waited for (the pages send
/// after they answer).
async fn mail_to(smtp: &SmtpServer, address: &str, subject: &str) -> Value {
    for _ in 0..200 {
        let found = smtp.received().into_iter().rev().find(|m| {
            m["rcpt_tos"].as_array().is_some_and(|to| to.iter().any(|a| a == address))
                && m["headers"]["Subject"].as_str().is_some_and(|s| s.starts_with(subject))
        });
        if let Some(message) = found {
            return message;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subjects: Vec<Value> =
        smtp.received().iter().map(|m| json!([m["rcpt_tos"], m["headers"]["Subject"]])).collect();
    panic!("no message `{subject}…` reached {address}; the server has {subjects:#?}");
}

/// The first link in a message's body that holds `part`.
fn link_in(message: &Value, part: &str) -> String {
    let body = message["body"].as_str().expect("a text body");
    body.split_whitespace().find(|w| w.contains(part)).unwrap_or_else(|| panic!("no {part} link in {body}")).to_owned()
}

/// Asks for a sign-in link on the page open now (the sign-in page, perhaps with where to return),
/// opens it from the message the SMTP server received and confirms it, all by keyboard.
async fn ask_and_use_link(b: &Browser, smtp: &SmtpServer, address: &str) {
    let before = smtp.received().len();
    b.tab_to("the address box", |(_, id, _, _)| id == "email").await;
    type_in(b, address).await;
    b.press(Key::Enter).await;
    assert_eq!(b.text(".notice h2").await, "Check your inbox");
    let mut link = None;
    for _ in 0..200 {
        link = smtp.received().iter().skip(before).rev().find_map(|m| {
            let to_them = m["rcpt_tos"].as_array().is_some_and(|to| to.iter().any(|a| a == address));
            to_them.then(|| link_in(m, "/sign-in/link/"))
        });
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let link = link.unwrap_or_else(|| panic!("no sign-in message reached {address}"));
    b.client.goto(&link).await.unwrap();
    press_button(b, "Sign in").await;
}

/// Signs in by e-mail link from the sign-in page; the person lands on `home`.
async fn sign_in_by_mail(b: &Browser, smtp: &SmtpServer, address: &str, home: &str) {
    b.open("/sign-in?lang=en").await;
    ask_and_use_link(b, smtp, address).await;
    b.wait_for_path(home).await;
}

async fn sign_out(b: &Browser) {
    b.open("/?lang=en").await;
    press_button(b, "Sign out").await;
    // The page already at "/" proves nothing: wait for the signed-out header's sign-in link,
    // or /portal may be asked for while the sign-out is still on its way (seen under load).
    b.css(".account a[href^='/sign-in']").await;
    b.open("/portal").await;
    b.wait_for_path("/sign-in?next=").await;
}

/// The Secretariat's first sign-in, with a token; a contact for Braga and a staff address added
/// through the desk's forms, by mouse; the desk's pages checked.
async fn the_secretariat_prepares(app: &TestApp, b: &Browser, pictures: bool) {
    b.open("/sign-in?lang=en").await;
    b.tab_to("the token box", |(_, id, _, _)| id == "api-token").await;
    type_in(b, &app.admin).await;
    b.press(Key::Enter).await;
    b.wait_for_path("/desk").await;

    b.open("/desk/cities/braga?lang=en").await;
    b.css("#contact-new-name").await.send_keys("Ana Sousa").await.unwrap();
    b.css("#contact-new-email").await.send_keys(CONTACT).await.unwrap();
    b.css("#contact-new-primary").await.click().await.unwrap();
    b.css("form[action$='/contacts'] button[type=submit]").await.click().await.unwrap();
    b.wait_for_path("done=").await;
    assert!(b.text("main").await.contains(CONTACT), "the contact is listed");

    b.open("/desk/access?lang=en").await;
    b.css("#staff-email").await.send_keys(STAFF).await.unwrap();
    b.css("#staff-name").await.send_keys("Desk officer").await.unwrap();
    b.css("form[action='/desk/access/staff'] button[type=submit]").await.click().await.unwrap();
    b.wait_for_path("done=").await;
    assert!(b.text("main").await.contains(STAFF), "the staff address is listed");

    let pages = [
        ("desk", "/desk?lang=en".to_owned()),
        ("desk-overdue", "/desk?status=overdue&sort=days_overdue".to_owned()),
        ("desk-city", "/desk/cities/ostersund".to_owned()),
        ("desk-dashboard", "/desk/dashboard".to_owned()),
        ("desk-access", "/desk/access".to_owned()),
        ("desk-fr", "/desk?lang=fr".to_owned()),
        ("desk-city-fr", "/desk/cities/ostersund".to_owned()),
    ];
    check_pages(b, &pages, pictures).await;
    sign_out(b).await;
}

/// The drafting page, by keyboard: from the portal to the draft, which starts from the template's
/// headings; an image added; a misspelt heading typed and saved; the finding's link puts the
/// cursor on its line and the line is deleted; the page left unsaved and the text put back from
/// the browser; saved and previewed. Returns the draft's path.
async fn drafting(b: &Browser, pictures: bool) -> String {
    b.open("/portal?lang=en").await;
    b.tab_to("the draft link", |(tag, _, href, _)| tag == "A" && href.ends_with("/draft")).await;
    let (_, _, draft, _) = b.focused().await;
    b.press(Key::Enter).await;
    b.wait_for_path(&draft).await;
    assert!(b.text(".facts").await.contains("template's headings"), "a new draft starts from the skeleton");
    let skeleton = b.css("#report").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(skeleton.starts_with("# 1. Executive Summary"), "{skeleton}");

    b.tab_to("the report editor", |(tag, id, _, _)| tag == "TEXTAREA" && id == "report").await;
    // A summary under the first heading; the second heading misspelt (so the section is missing);
    // an image at the end. The caret is moved as a mouse would.
    let caret_at = |script: &str| format!("const e = document.getElementById('report'); {script}");
    b.client
        .execute(&caret_at("const i = e.value.indexOf('\\n') + 1; e.setSelectionRange(i, i);"), vec![])
        .await
        .unwrap();
    type_in(b, "Braga made films.\n\n").await;
    let heading = "# 2. General Information";
    let select_heading = caret_at(&format!(
        "const i = e.value.indexOf('{heading}'); e.setSelectionRange(i, i + {}); return i;",
        heading.len()
    ));
    let at = b.client.execute(&select_heading, vec![]).await.unwrap();
    type_in(b, "# 2. Generel Informaton").await;
    b.client.execute(&caret_at("e.setSelectionRange(e.value.length, e.value.length);"), vec![]).await.unwrap();
    type_in(b, "\n![A map of Braga's film sets](sets.png)\n").await;
    let image = tempfile::tempdir().unwrap();
    let png = image.path().join("sets.png");
    std::fs::write(&png, crate::submissions::png(40, 30)).unwrap();
    b.css("#attachment").await.send_keys(&png.display().to_string()).await.unwrap();
    press_button(b, "Save the draft").await;
    b.wait_for_path("done=saved").await;
    assert_eq!(b.text(".notice[role=status]").await, "The draft is saved.");
    assert!(b.text(".images").await.contains("sets.png"), "the image is listed");

    // The finding names the misspelt heading's line; its link selects that line.
    let saved = b.css("#report").await.prop("value").await.unwrap().unwrap_or_default();
    let start = at.as_u64().unwrap() as usize;
    let line = saved[..start].matches('\n').count() + 1;
    let place = format!("Report, line {line}");
    b.tab_to("the finding", |(tag, _, href, text)| tag == "A" && href == "#report" && *text == place).await;
    b.press(Key::Enter).await;
    let caret = b
        .client
        .execute("const e = document.activeElement; return [e.id, e.selectionStart, e.selectionEnd];", vec![])
        .await
        .unwrap();
    let end = start + "# 2. Generel Informaton".len();
    assert_eq!(caret, json!(["report", start, end]), "the cursor is on the finding's line");
    type_in(b, heading).await;
    let typed = b.css("#report").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(typed.contains(heading) && !typed.contains("Generel"), "{typed}");

    // Leaving asks first (site.js keeps the page's beforeunload answer); the text stays in this
    // browser and is offered back.
    let asks = b
        .client
        .execute(
            "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(asks, json!(true), "leaving with unsaved text asks first");
    tokio::time::sleep(Duration::from_millis(700)).await; // site.js keeps the text after 0.5 s
    b.open("/portal?lang=en").await;
    b.wait_for_path("/portal").await;
    b.open(&format!("{draft}?lang=en")).await;
    let offered = b.css("[data-restore-note]").await;
    assert!(offered.is_displayed().await.unwrap(), "the unsaved text is offered back");
    let reloaded = b.css("#report").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(reloaded.contains("Generel"), "the server has the saved draft");
    b.client.execute("document.querySelector('h1').focus();", vec![]).await.unwrap();
    press_button(b, "Put the unsaved text back").await;
    let restored = b.css("#report").await.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(restored, typed, "the text typed before leaving is back");

    b.tab_to("the preview button", |(tag, _, _, text)| tag == "BUTTON" && text == "Save and preview as PDF").await;
    b.press(Key::Enter).await;
    b.wait_for_path("done=saved").await;
    let findings = b.text("section[aria-labelledby=findings-heading]").await;
    assert!(!findings.contains(&place), "the misspelt heading is gone: {findings}");
    let preview = b.css("iframe.pdf").await.attr("src").await.unwrap().expect("a preview frame");
    assert!(preview.ends_with("/draft.pdf"), "{preview}");
    let pdf = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(arguments[0]).then(r => r.arrayBuffer().then(buf => done([r.status, r.headers.get('content-type'), \
               String.fromCharCode(...new Uint8Array(buf.slice(0, 5)))])));",
            vec![json!(preview)],
        )
        .await
        .unwrap();
    assert_eq!(pdf, json!([200, "application/pdf", "%PDF-"]));
    let mut pages = vec![("draft", format!("{draft}?lang=en")), ("draft-fr", format!("{draft}?lang=fr"))];
    pages.push(("submit", format!("{}?lang=en", draft.replace("/draft", "/submit"))));
    check_pages(b, &pages, pictures).await;
    draft
}

/// Submits the saved draft from its confirmation page.
async fn submit(b: &Browser, draft: &str) {
    b.open(&format!("{}?lang=en", draft.replace("/draft", "/submit"))).await;
    assert!(b.text("main").await.contains("Submitting sends the saved draft"));
    press_button(b, "Submit the report").await;
    b.wait_for_path("/portal").await;
}

/// The field's coordinator signs in by e-mail link, finds Braga's version from the desk and
/// comments on the executive summary by keyboard. Returns the version's path.
async fn the_coordinator_comments(b: &Browser, smtp: &SmtpServer) -> String {
    sign_in_by_mail(b, smtp, COORDINATOR, "/desk").await;
    b.open("/desk/cities/braga?lang=en").await;
    let version = b.css("a[href^='/submissions/']").await.attr("href").await.unwrap().expect("a version link");
    b.open(&format!("{version}?lang=en#section-0")).await;
    assert!(!b.text("main").await.contains("Record the decision"), "a coordinator does not decide");
    b.tab_to("the summary's comment box", |(tag, id, _, _)| tag == "TEXTAREA" && id == "new-section-0").await;
    type_in(b, "Name the partner cities.").await;
    press_button(b, "Add the comment").await;
    b.wait_for_path("done=").await;
    assert!(b.text("#section-0").await.contains("Name the partner cities."));
    sign_out(b).await;
    version
}

/// The Secretariat signs in by e-mail link at its staff address and asks for a revision with the
/// decision form, by keyboard alone.
async fn the_secretariat_asks_for_a_revision(b: &Browser, smtp: &SmtpServer, version: &str, pictures: bool) {
    sign_in_by_mail(b, smtp, STAFF, "/desk").await;
    b.open(&format!("{version}?lang=en")).await;
    check_pages(b, &[("review", format!("{version}?lang=en")), ("review-fr", format!("{version}?lang=fr"))], pictures)
        .await;
    // From the decision's heading (as a link to it would put the focus), by keyboard alone.
    b.open(&format!("{version}?lang=en#decision-heading")).await;
    b.tab_to("the accept choice", |(tag, _, _, _)| tag == "INPUT").await;
    b.press(Key::Down).await; // the arrow keys move between the choices and select
    let chosen = b.client.execute("return document.querySelector('input[name=decision]:checked').value;", vec![]).await;
    assert_eq!(chosen.unwrap(), json!("request_revision"));
    b.tab_to("the comments for the city", |(_, id, _, _)| id == "decision-comments").await;
    type_in(b, "Name the cities you worked with.").await;
    b.tab_to("the revision deadline", |(_, id, _, _)| id == "revision-due").await;
    type_in(b, "01312027").await;
    press_button(b, "Record the decision").await;
    b.wait_for_path("done=decided").await;
    assert!(b.text("main").await.contains("Revision requested on"), "{}", b.text("main").await);
    sign_out(b).await;
}

/// The city is told by mail; following the message's link (signed out) leads through the sign-in
/// back to the review page, with the comment and the deadline; then the revision, submitted.
async fn the_city_revises(b: &Browser, smtp: &SmtpServer, version: &str, draft: &str) {
    let told = mail_to(smtp, CONTACT, "Revision requested").await;
    let body = told["body"].as_str().unwrap();
    assert!(
        body.contains("asks for a revision by 31 January 2027.") && body.contains("> Name the cities you worked with.")
    );
    assert!(told["rcpt_tos"].as_array().unwrap().iter().any(|a| a == COORDINATOR), "the coordinator is copied");
    let review = link_in(&told, "/submissions/");
    assert!(review.ends_with(version), "{review}");
    b.client.goto(&review).await.unwrap();
    b.wait_for_path("/sign-in?next=").await;
    ask_and_use_link(b, smtp, CONTACT).await;
    b.wait_for_path(version).await;
    let page = b.text("main").await;
    assert!(page.contains("Name the partner cities.") && page.contains("31 January 2027"), "{page}");

    b.open(&format!("{draft}?lang=en")).await;
    b.tab_to("the report editor", |(tag, id, _, _)| tag == "TEXTAREA" && id == "report").await;
    let after = "const e = document.getElementById('report'); const i = e.value.indexOf('Braga made films') + 16; \
                 e.setSelectionRange(i, i);";
    b.client.execute(after, vec![]).await.unwrap();
    type_in(b, " with Lyon").await;
    let revised = b.css("#report").await.prop("value").await.unwrap().unwrap_or_default();
    assert!(revised.contains("Braga made films with Lyon.\n"), "{revised}");
    press_button(b, "Save the draft").await;
    b.wait_for_path("done=saved").await;
    submit(b, draft).await;
    sign_out(b).await;
}

/// The Secretariat reads what changed in version 2, accepts it by keyboard, and sets the
/// publication date on the city's desk page.
async fn the_secretariat_accepts_and_publishes(b: &Browser, smtp: &SmtpServer) {
    sign_in_by_mail(b, smtp, STAFF, "/desk").await;
    b.open("/desk/cities/braga?lang=en").await;
    let versions = b.client.find_all(fantoccini::Locator::Css("a[href^='/submissions/']")).await.unwrap();
    let mut hrefs = Vec::new();
    for v in versions {
        hrefs.push(v.attr("href").await.unwrap().unwrap_or_default());
    }
    // The latest version: the highest id (compared as numbers, not as text).
    let id_of = |href: &String| href.trim_start_matches("/submissions/").parse::<i64>().unwrap_or(0);
    let second = hrefs.iter().max_by_key(|h| id_of(h)).expect("versions").clone();
    b.open(&format!("{second}?lang=en")).await;
    assert!(b.text("main").await.contains("What changed from version 1 to version 2"));
    assert_eq!(b.text("pre.diff .add").await, "+Braga made films with Lyon.");
    b.open(&format!("{second}?lang=en#decision-heading")).await;
    b.tab_to("the accept choice", |(tag, _, _, _)| tag == "INPUT").await;
    b.press(Key::Space).await;
    press_button(b, "Record the decision").await;
    b.wait_for_path("done=decided").await;
    assert!(b.text("main").await.contains("Accepted on"));
    let told = mail_to(smtp, CONTACT, "Accepted").await;
    assert!(told["body"].as_str().unwrap().contains("accepted version 2"));

    b.open("/desk/cities/braga?lang=en#publication").await;
    let date = b.css("#publication ~ form input[type=date]").await;
    date.send_keys("11242026").await.unwrap();
    b.css("#publication ~ form button[value=publish]").await.click().await.unwrap();
    b.wait_for_path("done=").await;
    let published = b.css("#publication ~ form").await.text().await.unwrap();
    assert!(published.contains("24 November 2026"), "{published}");
    sign_out(b).await;
}
