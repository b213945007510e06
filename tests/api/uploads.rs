//! Bad input on the report endpoints: oversized bodies, wrong content types, text that is not
//! UTF-8, hostile attachment names, broken images and image bombs, raw HTML and javascript:
//! links, submitting out of turn, and concurrent submits and decisions.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use mmr::domain::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{MAX_BODY, TestApp, multipart, pdftotext};
use crate::submissions::{b64, full_plan, full_report, open_cycle, png};

fn codes(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .map(|a| a.iter().map(|f| f["code"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

/// A PNG whose header claims `width` × `height` pixels, with a valid CRC and no real data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(b"IHDR");
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"IEND");
    out.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

async fn bodies_and_content_types(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let path = format!("/api/v1/cycles/{cycle}/draft");
    // A body over the limit: 413, whatever its form.
    let big = vec![b'a'; MAX_BODY + 1];
    let (ct, body) = multipart(&[("report", None, Some("text/markdown"), &big)]);
    let r = app.raw(Method::PUT, &path, Some(&city), &ct, body).await;
    assert_eq!((r.status, r.code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{}", r.text);
    let r =
        app.call(Method::PUT, &path, Some(&city), Some(json!({ "report_markdown": "x".repeat(MAX_BODY + 1) }))).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.body["error"]["message"], "the request body exceeds this route's limit of 2 MiB");
    // Wrong content types: of the body, of a text part, of an attachment.
    let r = app.raw(Method::PUT, &path, Some(&city), "text/plain", b"# Report".to_vec()).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"));
    let (ct, body) = multipart(&[("report", None, Some("application/pdf"), b"%PDF")]);
    let r = app.raw(Method::PUT, &path, Some(&city), &ct, body).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    let (ct, body) =
        multipart(&[("report", None, None, b"# R"), ("attachment", Some("x.png"), Some("text/html"), b"<p>")]);
    let r = app.raw(Method::PUT, &path, Some(&city), &ct, body).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    // Malformed bodies: bad JSON, unknown parts, a multipart body without a report, bad base64.
    let r = app.raw(Method::PUT, &path, Some(&city), "application/json", b"{\"report_markdown\": ".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let (ct, body) = multipart(&[("report", None, None, b"# R"), ("script", None, None, b"x")]);
    let r = app.raw(Method::PUT, &path, Some(&city), &ct, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let (ct, body) = multipart(&[("action_plan", None, None, b"# P")]);
    let r = app.raw(Method::PUT, &path, Some(&city), &ct, body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let bad64 = json!({ "report_markdown": "# R", "attachments": [{ "name": "a.png", "content_base64": "***" }] });
    let r = app.call(Method::PUT, &path, Some(&city), Some(bad64)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Text that is not UTF-8: refused, naming the line.
    let (ct, body) =
        multipart(&[("report", None, Some("text/markdown"), b"# Executive Summary\n\nok\n\nbad \xff\xfe here\n")]);
    let r = app.raw(Method::PUT, &path, Some(&city), &ct, body).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "check_failed"), "{}", r.text);
    let finding = &r.body["error"]["findings"][0];
    assert_eq!((finding["code"].as_str(), finding["line"].as_i64()), (Some("invalid_utf8"), Some(5)), "{}", r.text);
    // Nothing was saved by any of these.
    let r = app.get(&path, Some(&city)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    // A report over the small limit of other requests is taken: drafts take MMR_MAX_BODY_BYTES.
    let long = format!("# 1. Executive Summary\n\n{}\n", "Word ".repeat(300_000));
    assert!(long.len() > mmr::http::SMALL_BODY_BYTES && long.len() < MAX_BODY);
    let r = app.call(Method::PUT, &path, Some(&city), Some(json!({ "report_markdown": long }))).await;
    assert_ne!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "status {}", r.status);
}

async fn attachment_names_and_images(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let path = format!("/api/v1/cycles/{cycle}/draft");
    let report = full_report("");
    let plan = full_plan();
    for name in ["../../etc/passwd.png", "a/b.png", ".hidden.png", "map.gif", "nul\u{1}.png", "C:\\x.png"] {
        let body = json!({
            "report_markdown": report, "action_plan_markdown": plan,
            "attachments": [{ "name": name, "content_base64": b64(&png(4, 4)) }],
        });
        let r = app.call(Method::PUT, &path, Some(&city), Some(body)).await;
        // A control character is refused at the edge, naming the JSON member (see `edge.rs`).
        let field = if name.contains('\u{1}') { "attachments[0].name" } else { "attachment" };
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{name:?}: {}",
            r.text
        );
    }
    // Not an image at all.
    let gif = json!({ "report_markdown": report, "attachments": [{ "name": "map.png", "content_base64": b64(b"GIF89a...") }] });
    let r = app.call(Method::PUT, &path, Some(&city), Some(gif)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Twice the same name.
    let twice = json!({ "report_markdown": report, "attachments": [
        { "name": "map.png", "content_base64": b64(&png(4, 4)) }, { "name": "map.png", "content_base64": b64(&png(4, 4)) }] });
    let r = app.call(Method::PUT, &path, Some(&city), Some(twice)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // A broken PNG and an image bomb are saved as a draft with error findings, and block a submission.
    let mut broken = png(20, 20);
    broken.truncate(40);
    for (bytes, what) in [(broken, "broken"), (png_claiming(100_000, 100_000), "bomb")] {
        let body = json!({ "report_markdown": report, "action_plan_markdown": plan,
            "attachments": [{ "name": "map.png", "content_base64": b64(&bytes) }] });
        let r = app.call(Method::PUT, &path, Some(&city), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "{what}: {}", r.text);
        let findings = &r.body["check"]["findings"];
        let image = findings.as_array().unwrap().iter().find(|f| f["attachment"] == "map.png").expect(what);
        assert_eq!(image["severity"], "error", "{what}: {findings}");
        let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), None).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "check_failed"), "{what}: {}", r.text);
    }
    // An attachment the report does not use is an error too.
    let body = json!({ "report_markdown": report, "action_plan_markdown": plan, "attachments": [
        { "name": "map.png", "content_base64": b64(&png(4, 4)) }, { "name": "extra.png", "content_base64": b64(&png(4, 4)) }] });
    let r = app.call(Method::PUT, &path, Some(&city), Some(body)).await;
    assert!(codes(&r.body["check"]["findings"]).contains(&"unused_attachment".to_owned()), "{}", r.text);
}

async fn raw_html_and_scripts_are_inert(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let report = full_report("\n\n<script>alert('x')</script>\n\n[click me](javascript:alert(1)) and <b>bold</b>");
    let body = json!({ "report_markdown": report, "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(4, 4)) }] });
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["check"]["ok"], true, "warnings only: {}", r.text);
    let found = codes(&r.body["check"]["findings"]);
    assert!(found.contains(&"raw_html".to_owned()) && found.contains(&"inert_link".to_owned()), "{found:?}");
    let pdf = app.get(&format!("/api/v1/cycles/{cycle}/draft/pdf"), Some(&city)).await;
    assert_eq!(pdf.status, StatusCode::OK);
    let text = pdftotext(pdf.text_bytes());
    // The HTML is shown as text, and the link is not a link.
    assert!(text.contains("<script>alert('x')</script>"), "{text}");
    assert!(!String::from_utf8_lossy(pdf.text_bytes()).contains("javascript:"));
}

async fn submitting_out_of_turn_and_at_once(app: TestApp) {
    // A city designated in 2015: its 2023–2027 cycle is upcoming on the pinned date.
    app.city_designated("lyon", "Lyon", "FR", "media_arts", NaiveDate::from_ymd_opt(2015, 12, 11).unwrap());
    app.sync_cycles();
    let lyon = app.token(Role::City, None, Some("lyon"));
    let cycles = app.get("/api/v1/cities/lyon/cycles", Some(&lyon)).await;
    let upcoming = cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "upcoming").unwrap()["id"]
        .as_i64()
        .unwrap();
    let body = json!({ "report_markdown": full_report(""), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(4, 4)) }] });
    let r = app
        .call(Method::POST, &format!("/api/v1/cycles/{upcoming}/submissions"), Some(&lyon), Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(
        r.body["error"]["message"].as_str().unwrap().contains("window of this cycle opens on 2027-06-03"),
        "{}",
        r.text
    );
    // No draft to submit: 409 saying so.
    let (cycle, city) = open_cycle(&app).await;
    let path = format!("/api/v1/cycles/{cycle}/submissions");
    let r = app.call(Method::POST, &path, Some(&city), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Two identical submits at the same moment: one version.
    let (a, b) = tokio::join!(
        app.call(Method::POST, &path, Some(&city), Some(body.clone())),
        app.call(Method::POST, &path, Some(&city), Some(body.clone()))
    );
    // The README's promise: the retry of an identical submission answers the version (200).
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{} / {}", a.text, b.text);
    let versions = app.get(&path, Some(&city)).await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 1, "{}", versions.text);
    let id = versions.body["items"][0]["id"].as_i64().unwrap();
    // A different report while one awaits review: 409.
    let mut other = body.clone();
    other["report_markdown"] = json!(full_report(" Changed."));
    let r = app.call(Method::POST, &path, Some(&city), Some(other)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Two decisions on the same version at the same moment: exactly one wins.
    let decide = format!("/api/v1/submissions/{id}/decision");
    let revision = json!({ "decision": "request_revision", "comments": "More.", "revision_due": "2027-03-01" });
    let (a, b) = tokio::join!(
        app.call(Method::POST, &decide, Some(&app.admin), Some(json!({ "decision": "accept" }))),
        app.call(Method::POST, &decide, Some(&app.admin), Some(revision))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{} / {}", a.text, b.text);
    // Bad decisions are named.
    let r = app.call(Method::POST, &decide, Some(&app.admin), Some(json!({ "decision": "reject" }))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(
            Method::POST,
            &decide,
            Some(&app.admin),
            Some(json!({ "decision": "request_revision", "revision_due": "2020-01-01", "comments": "x" })),
        )
        .await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("revision_due")));
}

/// Many identical submits at once (a client retrying on a timeout): one version is created and
/// every other call answers it with 200, on both stores.
async fn identical_submissions_at_once_are_one_version(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let path = format!("/api/v1/cycles/{cycle}/submissions");
    let body = json!({ "report_markdown": full_report(""), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(4, 4)) }] });
    let calls = (0..8).map(|_| app.call(Method::POST, &path, Some(&city), Some(body.clone())));
    let replies = futures_join_all(calls).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort_unstable();
    let texts: Vec<&str> = replies.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201], "{texts:#?}");
    let ids: Vec<&Value> = replies.iter().map(|r| &r.body["id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "every call answers the same version: {ids:?}");
    let versions = app.get(&path, Some(&city)).await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 1, "{}", versions.text);
}

/// Runs the futures at once on this task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let set: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    let mut set: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

crate::both_backends!(
    identical_submissions_at_once_are_one_version,
    bodies_and_content_types,
    attachment_names_and_images,
    raw_html_and_scripts_are_inert,
    submitting_out_of_turn_and_at_once
);
