//! A report's whole path through the API: draft → check with findings → submit → comment →
//! revision request → resubmit → accept → an archived PDF whose hash verifies.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use mmr::domain::auth::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, multipart};

/// A report with every required section of the template, referencing `map.png`.
pub fn full_report(extra: &str) -> String {
    format!(
        "# Executive Summary\n\nÖstersund kept food at the heart of its plans.{extra}\n\n\
         # General Information\n\nFocal point: the culture office.\n\n\
         # Contribution to the Network's Global Management\n\nWe hosted the 2025 field meeting.\n\n\
         # Major Initiatives Implemented at the Local Level\n\n![Map of the food trail](map.png)\n\n\
         # Major Initiatives Implemented through Inter-City Cooperation\n\nExchanges with Parma and Tucson.\n"
    )
}

/// An action plan with every required section.
pub fn full_plan() -> String {
    "# Proposed Action Plan for the Forthcoming Four-Year Period\n\n\
     ## Local Initiatives\n\nA school garden programme.\n\n\
     ## International and Inter-City Initiatives\n\nA chefs' exchange.\n\n\
     ## Budget\n\n| item | EUR |\n|---|---|\n| gardens | 120000 |\n\n\
     ## Communication and Awareness Plan\n\nA yearly food festival.\n"
        .to_owned()
}

/// A small valid PNG.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
        writer.write_image_data(&data).unwrap();
    }
    out
}

/// Registers Östersund (gastronomy, designated 2010, so its 2022–2026 cycle is open on the pinned
/// date), syncs cycles, and returns the open cycle's id and a city token.
pub async fn open_cycle(app: &TestApp) -> (i64, String) {
    app.city_designated("ostersund", "Östersund", "SE", "gastronomy", NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    app.sync_cycles();
    let city = app.token(Role::City, None, Some("ostersund"));
    let cycles = app.get("/api/v1/cities/ostersund/cycles", Some(&city)).await;
    assert_eq!(cycles.status, StatusCode::OK, "{}", cycles.text);
    let open = cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle");
    (open["id"].as_i64().unwrap(), city)
}

/// Registers a city (designated 2010, so its 2022–2026 cycle is open), saves a draft holding
/// `draft_words` and returns the cycle id.
pub async fn city_with_draft(
    app: &TestApp,
    slug: &str,
    name: &str,
    country: &str,
    field: &str,
    draft_words: &str,
) -> i64 {
    app.city_designated(slug, name, country, field, NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    app.sync_cycles();
    let city = app.token(Role::City, None, Some(slug));
    let cycles = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&city)).await;
    let open = cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle");
    let cycle = open["id"].as_i64().unwrap();
    let draft =
        json!({ "report_markdown": format!("# Executive Summary\n\n{draft_words}\n"), "action_plan_markdown": "" });
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(draft)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    cycle
}

/// Submits a complete report (with `extra` in its summary) for `cycle` as `city`, accepts it, and
/// returns the archive entry's id.
pub async fn submit_and_accept(app: &TestApp, cycle: i64, city: &str, extra: &str) -> i64 {
    let body = json!({ "report_markdown": full_report(extra), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(6, 6)) }] });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(city), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let submission = r.body["id"].as_i64().unwrap();
    let decision = json!({ "decision": "accept" });
    let r = app
        .call(Method::POST, &format!("/api/v1/submissions/{submission}/decision"), Some(&app.admin), Some(decision))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["archive_id"].as_i64().unwrap()
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn codes(findings: &Value) -> Vec<String> {
    findings.as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_owned()).collect()
}

async fn full_walk(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);

    // A first draft, missing a section and its image: saved, with line-numbered findings.
    let draft =
        json!({ "report_markdown": "# Executive Summary\n\nDraft.\n\n![map](map.png)\n", "action_plan_markdown": "" });
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(draft)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["check"]["ok"], false);
    let found = codes(&r.body["check"]["findings"]);
    assert!(found.iter().any(|c| c == "missing_section"), "{found:?}");
    assert!(found.iter().any(|c| c == "missing_attachment"), "{found:?}");
    assert!(found.iter().any(|c| c == "action_plan_missing"), "{found:?}");
    let missing_image =
        r.body["check"]["findings"].as_array().unwrap().iter().find(|f| f["code"] == "missing_attachment").unwrap();
    assert_eq!(missing_image["line"], 5);
    assert_eq!(missing_image["severity"], "error");

    // Submitting it is refused with the same findings.
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "check_failed"), "{}", r.text);
    assert!(codes(&r.body["error"]["findings"]).iter().any(|c| c == "missing_section"));

    // The complete draft, as multipart with its image.
    let map = png(40, 30);
    let (report, plan) = (full_report(""), full_plan());
    let (ct, body) = multipart(&[
        ("report", None, Some("text/markdown"), report.as_bytes()),
        ("action_plan", None, Some("text/markdown"), plan.as_bytes()),
        ("attachment", Some("map.png"), Some("image/png"), &map),
    ]);
    let r = app.raw(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), &ct, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["check"]["ok"], true, "{}", r.text);
    assert_eq!(r.body["attachments"][0]["name"], "map.png");
    assert_eq!(r.body["attachments"][0]["sha256"], sha256(&map));

    // The draft's preview is a PDF, and nothing is stored by it.
    let r = app.get(&format!("/api/v1/cycles/{cycle}/draft/pdf"), Some(&city)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/pdf");

    // Submit: version 1. The same bundle again: the same version, not a second one.
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v1 = r.body["id"].as_i64().unwrap();
    assert_eq!((r.body["version"].as_i64(), r.body["late"].as_bool()), (Some(1), Some(false)));
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), None).await;
    assert_eq!((r.status, r.body["id"].as_i64()), (StatusCode::OK, Some(v1)), "{}", r.text);
    // `{}`, what many clients send for "no body", also means "submit the draft".
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(json!({}))).await;
    assert_eq!((r.status, r.body["id"].as_i64()), (StatusCode::OK, Some(v1)), "{}", r.text);
    let partial = json!({ "action_plan_markdown": "# Plan" });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(partial)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{}", r.text);
    assert!(r.text.contains("report_markdown is required"), "{}", r.text);
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "a draft needs a report: {}", r.text);
    let r = app.get(&format!("/api/v1/cycles/{cycle}"), Some(&app.admin)).await;
    assert_eq!(r.body["status"], "submitted");

    // The coordinator comments on a section; the city replies; the city cannot open a thread.
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/submissions/{v1}/comments"),
            Some(&coordinator),
            Some(
                json!({ "body_markdown": "Please give figures for the **school gardens**.", "section": "6.3 budget" }),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let thread = r.body["id"].as_i64().unwrap();
    let reply = json!({ "body_markdown": "Added in the next version.", "parent_id": thread });
    let r = app.call(Method::POST, &format!("/api/v1/submissions/{v1}/comments"), Some(&city), Some(reply)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/submissions/{v1}/comments"),
            Some(&city),
            Some(json!({ "body_markdown": "Hello" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/submissions/{v1}/comments"),
            Some(&coordinator),
            Some(json!({ "body_markdown": "x", "section": "No such heading" })),
        )
        .await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("section")));
    let r = app.get(&format!("/api/v1/submissions/{v1}/comments"), Some(&city)).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);

    // The Secretariat asks for a revision; the cycle reopens against the revision deadline.
    let decision =
        json!({ "decision": "request_revision", "comments": "Add the budget figures.", "revision_due": "2027-01-31" });
    let r =
        app.call(Method::POST, &format!("/api/v1/submissions/{v1}/decision"), Some(&app.admin), Some(decision)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = app.get(&format!("/api/v1/cycles/{cycle}"), Some(&city)).await;
    assert_eq!(r.body["status"], "revision_requested");
    let again = json!({ "decision": "accept" });
    let r = app.call(Method::POST, &format!("/api/v1/submissions/{v1}/decision"), Some(&app.admin), Some(again)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // The revised version, sent with the submission (JSON, image as base64).
    let revised = json!({
        "report_markdown": full_report(" Budget figures are in the plan."),
        "action_plan_markdown": full_plan().replace("| gardens | 120000 |", "| gardens | 120000 |\n| festival | 45000 |"),
        "attachments": [{ "name": "map.png", "content_base64": b64(&map) }],
    });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(revised)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v2 = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["version"], 2);

    // The diff names what changed, section by section.
    let r = app.get(&format!("/api/v1/submissions/{v2}/diff"), Some(&coordinator)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let changed = |part: &str| -> Vec<String> {
        r.body[part]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["change"] == "changed")
            .map(|s| s["key"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert_eq!(changed("report"), ["executive_summary"]);
    assert_eq!(changed("action_plan"), ["action_plan_budget"]);
    let budget = r.body["action_plan"].as_array().unwrap().iter().find(|s| s["key"] == "action_plan_budget").unwrap();
    assert!(budget["hunks"][0].as_str().unwrap().contains("+| festival | 45000 |"), "{}", budget);

    // Accept: the version is archived at once, published from the acceptance on.
    let r = app
        .call(
            Method::POST,
            &format!("/api/v1/submissions/{v2}/decision"),
            Some(&app.admin),
            Some(json!({ "decision": "accept" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let archive = r.body["archive_id"].as_i64().expect("archived on acceptance");
    let version = app.get(&format!("/api/v1/submissions/{v2}"), Some(&city)).await;
    assert_eq!(r.body["accepted_sha256"], version.body["bundle_sha256"]);
    let r = app.get(&format!("/api/v1/cycles/{cycle}"), Some(&city)).await;
    assert_eq!(r.body["status"], "accepted");

    // The public reads the entry, downloads the PDF, whose hash is the one recorded, and the
    // source bundle; re-rendering the bundle gives the same bytes.
    let entry = app.get(&format!("/api/v1/archive/{archive}"), None).await;
    assert_eq!(entry.status, StatusCode::OK, "{}", entry.text);
    assert_eq!(entry.body["published"], true);
    assert_eq!(entry.body["version"], 2);
    let pdf = app.get(&format!("/api/v1/archive/{archive}/pdf"), None).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(sha256(pdf.text_bytes()), entry.body["pdf"]["sha256"].as_str().unwrap());
    assert_eq!(
        pdf.headers["content-disposition"],
        "attachment; filename=\"ostersund-gastronomy-mmr-2026.pdf\"; filename*=UTF-8''%C3%B6stersund-gastronomy-mmr-2026.pdf"
    );
    let zip = app.get(&format!("/api/v1/archive/{archive}/source"), None).await;
    assert_eq!(sha256(zip.text_bytes()), entry.body["source_bundle"]["sha256"].as_str().unwrap());
    let v = app.get(&format!("/api/v1/archive/{archive}/verify"), None).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    assert_eq!(
        (v.body["matches"].as_bool(), v.body["stored_pdf"].as_str()),
        (Some(true), Some("intact")),
        "{}",
        v.text
    );

    // The archived PDF says it is accepted, and which version it is.
    let text = crate::helpers::pdftotext(pdf.text_bytes());
    assert!(text.contains("Östersund"), "{text}");
    assert!(text.to_lowercase().contains("accepted"), "{text}");

    // Every state change left an audit event.
    let audit = app.get("/api/v1/audit?per_page=200", Some(&app.admin)).await;
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["draft.save", "submission.create", "comment.create", "submission.decide", "archive.create"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

/// A French-speaking city's French report: the preview's cover is in French, its field named in
/// French (the registry's French name), not in the template's English.
async fn a_french_citys_preview_speaks_french(app: TestApp) {
    app.city_designated("dakar", "Dakar", "SN", "gastronomy", NaiveDate::from_ymd_opt(2010, 12, 1).unwrap());
    let patch = json!({ "language": "fr" });
    let r = app.call(Method::PATCH, "/api/v1/cities/dakar", Some(&app.admin), Some(patch)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    app.sync_cycles();
    let city = app.token(Role::City, None, Some("dakar"));
    let cycles = app.get("/api/v1/cities/dakar/cycles", Some(&city)).await;
    let open = cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").expect("an open cycle");
    let cycle = open["id"].as_i64().unwrap();
    let draft = json!({
        "report_markdown": "# Résumé analytique\n\nLa ville a organisé des ateliers.\n\n# Informations générales\n\nTexte.\n",
        "action_plan_markdown": ""
    });
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(draft)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get(&format!("/api/v1/cycles/{cycle}/draft/pdf"), Some(&city)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = crate::helpers::pdftotext(r.text_bytes());
    for words in
        ["Rapport de suivi des membres", "Ville créative de l’UNESCO — Gastronomie", "Domaine créatif", "Brouillon"]
    {
        assert!(text.contains(words), "{words:?} missing from the French cover:\n{text}");
    }
    assert!(!text.contains("Gastronomy"), "the field is named in English:\n{text}");
}

/// Standard base64, as JSON bodies carry attachments.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

crate::both_backends!(full_walk, a_french_citys_preview_speaks_french);
