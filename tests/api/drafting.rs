//! Drafting and submitting a report in the pages, through the router with a signed-in cookie jar
//! on both stores: the skeleton in the city's language, saving with images, the check's
//! findings with their lines, a refused save that keeps the text, the PDF preview, the submit
//! page that blocks while errors remain, and who may read or write a draft.

use axum::http::{StatusCode, header};
use mmr::domain::auth::Role;

use crate::helpers::TestApp;
use crate::sign_in::{Browser, add_contact, field};
use crate::submissions::png;

/// The text of the `<textarea>` with this id, unescaped.
fn textarea(html: &str, id: &str) -> String {
    let start = html.find(&format!("<textarea id=\"{id}\"")).unwrap_or_else(|| panic!("no textarea {id}"));
    let body = &html[start..];
    let body = &body[body.find('>').unwrap() + 1..];
    let text = &body[..body.find("</textarea>").unwrap()];
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// Östersund with a contact signed in, and the path of its open cycle's drafting page.
async fn city_signed_in(app: &TestApp) -> (Browser, String) {
    // Designated in 2010: its 2022–2026 report is due on 30 November 2026, days after the tests' "now".
    let designated = chrono::NaiveDate::from_ymd_opt(2010, 12, 1).unwrap();
    app.city_designated("ostersund", "Östersund", "SE", "gastronomy", designated);
    app.city("parma", "Parma", "IT", "gastronomy");
    app.sync_cycles();
    add_contact(app, "ostersund", "Anna Svensson", "anna@ostersund.example").await;
    let mut city = Browser::new(app);
    let (_, links) = city.ask_link("anna@ostersund.example").await;
    city.use_link(&links[0]).await;
    let portal = city.get("/portal").await;
    // The open cycle (the next one, not yet open, is listed first).
    let open = portal.text.find("status-open").unwrap_or_else(|| panic!("an open cycle: {}", portal.text));
    let start = open + portal.text[open..].find("href=\"/cycles/").expect("a cycle to draft") + "href=\"".len();
    let path = portal.text[start..].split('"').next().unwrap().to_owned();
    assert!(path.ends_with("/draft"), "{path}");
    (city, path)
}

async fn a_city_drafts_and_submits(app: TestApp) {
    let (mut city, path) = city_signed_in(&app).await;
    let id = path.trim_start_matches("/cycles/").trim_end_matches("/draft").to_owned();
    let page = city.get(&path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("Not saved yet"));
    let skeleton = textarea(&page.text, "report");
    let plan = textarea(&page.text, "action_plan");
    assert!(skeleton.starts_with("# 1. Executive Summary"), "{skeleton:.200}");
    assert!(skeleton.contains("# 2. General Information"));

    // A misspelt heading: saved, with the finding at its line and the image listed.
    let misspelt = skeleton.replace("# 2. General Information", "# 2. Generel Informaton");
    let line = misspelt.lines().position(|l| l.starts_with("# 2. Generel")).unwrap() + 1;
    let csrf = field(&page.text, "csrf");
    let image = png(4, 3);
    let saved = city
        .post_multipart(
            &path,
            &[
                ("csrf", None, None, csrf.as_bytes()),
                ("report", None, None, misspelt.as_bytes()),
                ("action_plan", None, None, plan.as_bytes()),
                ("attachment", Some("map.png"), Some("image/png"), &image),
                ("action", None, None, b"save"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(saved.headers[header::LOCATION], format!("{path}?done=saved"));
    let page = city.get(&format!("{path}?done=saved")).await;
    assert!(page.text.contains("The draft is saved.") && page.text.contains("Saved on "));
    assert!(page.text.contains(&format!("data-part=\"report\" data-line=\"{line}\"")), "the finding links its line");
    assert!(page.text.contains(&format!("Report, line {line}")));
    assert!(page.text.contains("<code>map.png</code>"));
    // Its thumbnail: the stored bytes, to whoever may read the draft, not kept by shared caches.
    let src = format!("/cycles/{id}/draft/images/map.png");
    assert!(page.text.contains(&format!("<img src=\"{src}\" alt=\"\"")), "a thumbnail");
    let thumbnail = city.get(&src).await;
    assert_eq!((thumbnail.status, thumbnail.bytes.as_slice()), (StatusCode::OK, image.as_slice()));
    assert_eq!(thumbnail.headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(thumbnail.headers[header::CACHE_CONTROL], "private, no-cache");
    assert_eq!(city.get(&format!("/cycles/{id}/draft/images/nothing.png")).await.status, StatusCode::NOT_FOUND);
    let mut stranger = city.another();
    stranger.sign_in_with_token(&app.token(Role::City, None, Some("parma"))).await;
    assert_eq!(stranger.get(&src).await.status, StatusCode::FORBIDDEN, "another city's draft");
    assert_eq!(city.another().get(&src).await.status, StatusCode::SEE_OTHER, "signed out: to the sign-in page");
    assert_eq!(textarea(&page.text, "report"), misspelt);

    // Submitting is refused while a section is missing; the page says why.
    let blocked = city.get(&format!("/cycles/{id}/submit")).await;
    assert!(blocked.text.contains("must be fixed before the report can be submitted"), "{}", blocked.text);
    assert!(!blocked.text.contains(&format!("action=\"/cycles/{id}/submit\"")), "no submit button while errors remain");

    // A refused save keeps the text: an "image" that is not one.
    let csrf = field(&page.text, "csrf");
    let fixed = misspelt.replace("# 2. Generel Informaton", "# 2. General Information");
    let refused = city
        .post_multipart(
            &path,
            &[
                ("csrf", None, None, csrf.as_bytes()),
                ("report", None, None, fixed.as_bytes()),
                ("action_plan", None, None, plan.as_bytes()),
                ("attachment", Some("notes.png"), Some("image/png"), b"not an image at all"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    assert!(refused.text.contains("Not saved."));
    assert_eq!(textarea(&refused.text, "report"), fixed, "nothing typed is lost");

    // Fixed, and the image removed: nothing blocks; the preview is the draft's PDF.
    let saved = city
        .post_multipart(
            &path,
            &[
                ("csrf", None, None, csrf.as_bytes()),
                ("report", None, None, fixed.as_bytes()),
                ("action_plan", None, None, plan.as_bytes()),
                ("remove", None, None, b"map.png"),
                ("action", None, None, b"preview"),
            ],
        )
        .await;
    assert_eq!(saved.headers[header::LOCATION], format!("{path}?done=saved&preview=1#preview"));
    let page = city.get(&format!("{path}?done=saved&preview=1")).await;
    assert!(page.text.contains(&format!("<iframe class=\"pdf\" src=\"/cycles/{id}/draft.pdf\"")));
    assert!(!page.text.contains("<code>map.png</code>"));
    let pdf = city.get(&format!("/cycles/{id}/draft.pdf")).await;
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(pdf.headers[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    assert_eq!(pdf.headers[header::CONTENT_DISPOSITION], "inline; filename=\"ostersund-draft.pdf\"");
    assert!(pdf.bytes.starts_with(b"%PDF-"));

    let confirm = city.get(&format!("/cycles/{id}/submit")).await;
    assert!(confirm.text.contains("Submitting sends the saved draft"), "{}", confirm.text);
    let csrf = field(&confirm.text[confirm.text.find("action=\"/cycles/").unwrap()..], "csrf");
    let done = city.post(&format!("/cycles/{id}/submit"), &[("csrf", "wrong")]).await;
    assert_eq!(done.status, StatusCode::FORBIDDEN, "a submit without the form's token changes nothing");
    let done = city.post(&format!("/cycles/{id}/submit"), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(done.headers[header::LOCATION], format!("/portal?done=submitted#cycle-{id}"));
    let portal = city.get("/portal?done=submitted").await;
    assert!(portal.text.contains("The report is submitted."));
    assert!(portal.text.contains("Version 1, submitted") && portal.text.contains("awaiting review"), "{}", portal.text);
    let versions = app.get(&format!("/api/v1/cycles/{id}/submissions"), Some(&app.admin)).await;
    assert_eq!(versions.body["items"].as_array().map(Vec::len), Some(1), "{}", versions.text);
}

/// A drafting form's fields: the form token and the two texts.
fn draft_form(csrf: &str, report: &str, plan: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("csrf", csrf.as_bytes().to_vec()),
        ("report", report.as_bytes().to_vec()),
        ("action_plan", plan.as_bytes().to_vec()),
    ]
}

fn parts<'a>(form: &'a [(&'static str, Vec<u8>)]) -> Vec<crate::helpers::Part<'a>> {
    form.iter().map(|(name, bytes)| (*name, None, None, bytes.as_slice())).collect()
}

/// Another city cannot open the draft; the field's coordinator reads it but cannot save; a form
/// without its token saves nothing; the Secretariat may draft on the city's behalf.
async fn who_may_draft(app: TestApp) {
    let (mut city, path) = city_signed_in(&app).await;
    let page = city.get(&path).await;
    let (report, plan) = (textarea(&page.text, "report"), textarea(&page.text, "action_plan"));

    let other = app.token(Role::City, None, Some("parma"));
    let mut parma = city.another();
    parma.sign_in_with_token(&other).await;
    assert_eq!(parma.get(&path).await.status, StatusCode::FORBIDDEN);

    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let mut reader = city.another();
    reader.sign_in_with_token(&coordinator).await;
    let read = reader.get(&path).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.text.contains(" readonly>") && !read.text.contains("value=\"save\""), "read-only for a coordinator");
    let theirs = draft_form(&field(&read.text, "csrf"), &report, &plan);
    assert_eq!(reader.post_multipart(&path, &parts(&theirs)).await.status, StatusCode::FORBIDDEN);

    let forged = draft_form("0000", &report, &plan);
    assert_eq!(city.post_multipart(&path, &parts(&forged)).await.status, StatusCode::FORBIDDEN);
    assert!(city.get(&path).await.text.contains("Not saved yet"), "nothing was saved");
    let mine = draft_form(&field(&page.text, "csrf"), &report, &plan);
    assert_eq!(city.post_multipart(&path, &parts(&mine)).await.status, StatusCode::SEE_OTHER);

    let mut desk = city.another();
    desk.sign_in_with_token(&app.admin).await;
    let page = desk.get(&path).await;
    assert!(page.text.contains("value=\"save\"") && page.text.contains("href=\"/desk/cities/ostersund\""));
    let mut signed_out = city.another();
    assert_eq!(signed_out.get(&path).await.status, StatusCode::SEE_OTHER);
}

/// The review in the pages: the field's coordinator comments on a section, the city replies, the
/// Secretariat asks for a revision; the city revises and submits again; the Secretariat reads
/// what changed and accepts, which archives the version.
async fn reviewed_revised_accepted(app: TestApp) {
    let (mut city, path) = city_signed_in(&app).await;
    let id = path.trim_start_matches("/cycles/").trim_end_matches("/draft").to_owned();
    let page = city.get(&path).await;
    let (report, plan) = (textarea(&page.text, "report"), textarea(&page.text, "action_plan"));
    let filled = report.replace("*In about a page", "Östersund cooked for the Network.\n\n*In about a page");
    let plan = plan.replace("# 6.", "Keep cooking.\n\n# 6.");
    let form = draft_form(&field(&page.text, "csrf"), &filled, &plan);
    assert_eq!(city.post_multipart(&path, &parts(&form)).await.status, StatusCode::SEE_OTHER);
    let confirm = city.get(&format!("/cycles/{id}/submit")).await;
    let at =
        confirm.text.find(&format!("action=\"/cycles/{id}/submit\"")).unwrap_or_else(|| panic!("{}", confirm.text));
    let csrf = field(&confirm.text[at..], "csrf");
    assert_eq!(city.post(&format!("/cycles/{id}/submit"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    let portal = city.get("/portal").await;
    let start = portal.text.find("href=\"/submissions/").unwrap() + "href=\"".len();
    let version = portal.text[start..].split('"').next().unwrap().to_owned();

    // The coordinator comments on the executive summary.
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let mut reviewer = city.another();
    reviewer.sign_in_with_token(&coordinator).await;
    let page = reviewer.get(&version).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(&format!("<iframe class=\"pdf\" src=\"{version}/pdf\"")));
    assert!(!page.text.contains("name=\"decision\""), "a coordinator comments but does not decide");
    let csrf = field(&page.text, "csrf");
    let comment = [("csrf", csrf.as_str()), ("section", "1. Executive Summary"), ("body", "Name the partner cities.")];
    let r = reviewer.post(&format!("{version}/comments"), &comment).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = reviewer.post(&format!("{version}/decision"), &[("csrf", &csrf), ("decision", "accept")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a coordinator cannot decide");

    // The city reads it under its section and replies; it may not comment on its own.
    let page = city.get(&version).await;
    assert!(page.text.contains("Name the partner cities.") && page.text.contains("(field coordinator)"));
    let comment_id = page.text.split("id=\"comment-").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let csrf = field(&page.text, "csrf");
    let r = city
        .post(
            &format!("{version}/comments"),
            &[("csrf", &csrf), ("body", "Lyon and Parma."), ("parent_id", &comment_id)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let r = city.post(&format!("{version}/comments"), &[("csrf", &csrf), ("body", "A new thread.")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a city only replies");

    // The Secretariat asks for a revision, with a deadline.
    let mut desk = city.another();
    desk.sign_in_with_token(&app.admin).await;
    let page = desk.get(&version).await;
    assert!(page.text.contains("Lyon and Parma."));
    let csrf = field(&page.text, "csrf");
    let bad = desk
        .post(
            &format!("{version}/decision"),
            &[("csrf", &csrf), ("decision", "request_revision"), ("comments", "Add partners.")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "a revision request needs a deadline");
    assert!(bad.text.contains("revision_due"));
    let r = desk
        .post(
            &format!("{version}/decision"),
            &[
                ("csrf", &csrf),
                ("decision", "request_revision"),
                ("comments", "Add partners."),
                ("revision_due", "2027-01-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let portal = city.get("/portal").await;
    assert!(portal.text.contains("Revision requested") && portal.text.contains("31 January 2027"), "{}", portal.text);
    // The city is told by mail, with the comments, the deadline and the pages to act on.
    let told = city.mail_to("anna@ostersund.example", "Revision requested").await;
    assert_eq!(told.subject(), "Revision requested: the monitoring report of Östersund (2022–2026)");
    assert!(told.body().contains("by 31 January 2027.") && told.body().contains("> Add partners."), "{}", told.body());
    assert!(told.body().contains(&format!("https://mmr.example.org{version}\n")), "{}", told.body());
    assert!(told.body().contains(&format!("https://mmr.example.org{path}\n")), "{}", told.body());
    // Its link leads a signed-out person to sign in and back to the review page.
    let mut elsewhere = city.another();
    let asked = elsewhere.get(&version).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let (_, links) =
        elsewhere.ask_link_from(asked.headers[header::LOCATION].to_str().unwrap(), "anna@ostersund.example").await;
    let landed = elsewhere.use_link(&links[0]).await;
    assert_eq!(landed.headers[header::LOCATION], version.as_str(), "back on the page the message named");

    // The city revises and submits version 2; the Secretariat sees what changed and accepts.
    let page = city.get(&path).await;
    let revised = filled.replace("cooked for the Network.", "cooked for the Network with Lyon and Parma.");
    let form = draft_form(&field(&page.text, "csrf"), &revised, &plan);
    assert_eq!(city.post_multipart(&path, &parts(&form)).await.status, StatusCode::SEE_OTHER);
    let confirm = city.get(&format!("/cycles/{id}/submit")).await;
    let at =
        confirm.text.find(&format!("action=\"/cycles/{id}/submit\"")).unwrap_or_else(|| panic!("{}", confirm.text));
    let csrf = field(&confirm.text[at..], "csrf");
    assert_eq!(city.post(&format!("/cycles/{id}/submit"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    let portal = city.get("/portal").await;
    let second = portal.text.rsplit("href=\"/submissions/").next().unwrap().split('"').next().unwrap();
    let second = format!("/submissions/{second}");
    assert_ne!(second, version);
    let page = desk.get(&second).await;
    assert!(page.text.contains("What changed from version 1 to version 2"), "{}", page.text);
    assert!(page.text.contains("<span class=\"add\">+Östersund cooked for the Network with Lyon and Parma.</span>"));
    assert!(page.text.contains("<span class=\"del\">-Östersund cooked for the Network.</span>"));
    let csrf = field(&page.text, "csrf");
    let r = desk.post(&format!("{second}/decision"), &[("csrf", &csrf), ("decision", "accept")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = desk.get(&format!("{second}?done=decided")).await;
    assert!(page.text.contains("The decision is recorded.") && page.text.contains("Accepted on"));
    let told = city.mail_to("anna@ostersund.example", "Accepted").await;
    assert!(told.body().contains("accepted version 2"), "{}", told.body());
    let pdf = desk.get(&format!("{second}/pdf")).await;
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    let entries = app.get("/api/v1/cities/ostersund/cycles", Some(&app.admin)).await;
    assert!(entries.text.contains("\"status\":\"accepted\""), "{}", entries.text);
}

crate::both_backends!(a_city_drafts_and_submits, who_may_draft, reviewed_revised_accepted);
