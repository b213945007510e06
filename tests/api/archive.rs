//! The archive after acceptance: completing an interrupted archiving, publication dates, and the
//! fixity check finding a changed or missing file (recorded, audited, mailed to the Secretariat).

use axum::http::{Method, StatusCode};
use mmr::domain::submissions::DecisionInput;
use mmr::mail::{Envelope, MemoryTransport};
use mmr::workflow::{self, Actor};
use serde_json::json;

use crate::helpers::{TestApp, now};
use crate::submissions::{b64, full_plan, full_report, open_cycle, png};

/// Submits a complete report for Östersund and returns the version's id.
async fn submitted(app: &TestApp) -> i64 {
    let (cycle, city) = open_cycle(app).await;
    let body = json!({ "report_markdown": full_report(""), "action_plan_markdown": full_plan(),
        "attachments": [{ "name": "map.png", "content_base64": b64(&png(6, 6)) }] });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/submissions"), Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_i64().unwrap()
}

/// Submits and accepts a report; returns its archive entry's id.
pub async fn archived(app: &TestApp) -> i64 {
    let id = submitted(app).await;
    let accept = json!({ "decision": "accept" });
    let r = app.call(Method::POST, &format!("/api/v1/submissions/{id}/decision"), Some(&app.admin), Some(accept)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["archive_id"].as_i64().unwrap()
}

/// The path of a stored object in the local store.
fn object_path(app: &TestApp, sha: &str) -> std::path::PathBuf {
    app.archive_dir.path().join("objects").join(&sha[..2]).join(&sha[2..4]).join(sha)
}

async fn an_interrupted_archiving_is_completed(app: TestApp) {
    let id = submitted(&app).await;
    // The acceptance is recorded but the process stops before archiving (as after a crash).
    let rules = app.state.rules;
    app.db
        .run_blocking(|conn| workflow::review::decide(conn, &Actor::cli(), &rules, id, &DecisionInput::Accept, now()))
        .unwrap();
    let v = app.get(&format!("/api/v1/submissions/{id}"), Some(&app.admin)).await;
    assert!(v.body["archive_id"].is_null(), "{}", v.text);
    let s = &app.state;
    let done = workflow::archive::resume(&s.db, s.store.as_ref(), &s.reporting, &rules, now()).unwrap();
    assert_eq!(done.len(), 1);
    // Running it again finds nothing left to do; the entry verifies.
    assert!(workflow::archive::resume(&s.db, s.store.as_ref(), &s.reporting, &rules, now()).unwrap().is_empty());
    let v = app.get(&format!("/api/v1/archive/{}/verify", done[0].id), None).await;
    assert_eq!(v.body["matches"], true, "{}", v.text);
}

async fn publication_dates_decide_what_the_public_sees(app: TestApp) {
    let archive = archived(&app).await;
    let path = format!("/api/v1/archive/{archive}");
    // Withdrawn from the public (null), then published from a date in the past.
    let r = app.call(Method::PATCH, &path, Some(&app.admin), Some(json!({ "published_on": null }))).await;
    assert_eq!((r.status, r.body["published"].as_bool()), (StatusCode::OK, Some(false)), "{}", r.text);
    assert_eq!(app.get(&path, None).await.status, StatusCode::NOT_FOUND);
    let r = app.call(Method::PATCH, &path, Some(&app.admin), Some(json!({ "published_on": "2026-11-01" }))).await;
    assert_eq!(r.body["published_at"], "2026-11-01T00:00:00Z", "{}", r.text);
    assert_eq!(app.get(&path, None).await.status, StatusCode::OK);
    // Bad input is named.
    let r = app.call(Method::PATCH, &path, Some(&app.admin), Some(json!({ "published_on": "soon" }))).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("published_on")));
    let r = app.call(Method::PATCH, &path, Some(&app.admin), Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(Method::PATCH, "/api/v1/archive/999999", Some(&app.admin), Some(json!({ "published_on": null })))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn fixity_finds_changed_and_missing_files(app: TestApp) {
    let archive = archived(&app).await;
    let entry = app.get(&format!("/api/v1/archive/{archive}"), None).await;
    let (pdf, bundle) = (
        entry.body["pdf"]["sha256"].as_str().unwrap().to_owned(),
        entry.body["source_bundle"]["sha256"].as_str().unwrap().to_owned(),
    );
    let transport = MemoryTransport::new();
    let envelope = Envelope {
        from: "UCCN <mmr@uccn.test>".into(),
        to: vec!["secretariat@uccn.test".into()],
        cc: vec![],
        message_id: "fixity.test@uccn.test".into(),
    };
    let clean = app.fixity(Some((&transport, &envelope)));
    assert_eq!((clean.documents, clean.files, clean.problems.len()), (1, 2, 0));
    assert!(transport.messages().is_empty());

    // Flip a byte of the PDF and remove the bundle.
    let pdf_path = object_path(&app, &pdf);
    let mut bytes = std::fs::read(&pdf_path).unwrap();
    bytes[100] ^= 0x20;
    let mut perms = std::fs::metadata(&pdf_path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pdf_path, perms).unwrap();
    std::fs::write(&pdf_path, &bytes).unwrap();
    std::fs::remove_file(object_path(&app, &bundle)).unwrap();

    let report = app.fixity(Some((&transport, &envelope)));
    let found: Vec<(&str, &str)> =
        report.problems.iter().map(|p| (p.file, workflow::archive::fixity_label(&p.state))).collect();
    assert_eq!(found, [("pdf", "changed"), ("bundle", "missing")]);
    let mail = transport.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to(), ["secretariat@uccn.test"]);
    assert!(mail[0].subject().contains("2 damaged or missing"), "{}", mail[0].subject());
    assert!(mail[0].body().contains(&pdf) && mail[0].body().contains(&bundle), "{}", mail[0].body());
    // The entry says so, the audit log has both runs, and downloads refuse damaged bytes.
    let entry = app.get(&format!("/api/v1/archive/{archive}"), None).await;
    assert_eq!(entry.body["last_fixity_ok"], false);
    let audit = app.get("/api/v1/audit?action=archive.fixity", Some(&app.admin)).await;
    assert_eq!(audit.body["total"], 2, "{}", audit.text);
    let v = app.get(&format!("/api/v1/archive/{archive}/verify"), None).await;
    assert_eq!((v.body["stored_pdf"].as_str(), v.body["stored_bundle"].as_str()), (Some("changed"), Some("missing")));
    assert_eq!(v.body["matches"], false);
    let r = app.get(&format!("/api/v1/archive/{archive}/pdf"), None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "damaged bytes are never served: {}", r.text);
}

/// `/verify` renders once per renderer and template version and answers from the stored verdict
/// afterwards; only the Secretariat can ask for a fresh one.
async fn verify_answers_from_its_stored_verdict_and_fresh_needs_the_secretariat(app: TestApp) {
    let archive = archived(&app).await;
    let path = format!("/api/v1/archive/{archive}/verify");
    let renders = || app.state.reporting.gate.admitted();
    let before = renders();
    let first = app.get(&path, None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!((first.body["matches"].as_bool(), first.body["cached"].as_bool()), (Some(true), Some(false)));
    assert_eq!(renders(), before + 1);
    for _ in 0..3 {
        let again = app.get(&path, None).await;
        assert_eq!((again.body["matches"].as_bool(), again.body["cached"].as_bool()), (Some(true), Some(true)));
        assert_eq!(again.body["rendered_at"], first.body["rendered_at"]);
        assert_eq!(again.body["rerendered_sha256"], first.body["rerendered_sha256"]);
    }
    assert_eq!(renders(), before + 1, "answered without rendering again");

    // A fresh verdict: the Secretariat only (401 without a token, 403 for others).
    let fresh = format!("{path}?fresh=true");
    assert_eq!(app.get(&fresh, None).await.status, StatusCode::UNAUTHORIZED);
    let city = app.token(mmr::domain::auth::Role::City, None, Some("ostersund"));
    let r = app.get(&fresh, Some(&city)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = app.get(&fresh, Some(&app.admin)).await;
    assert_eq!(
        (r.status, r.body["cached"].as_bool(), r.body["matches"].as_bool()),
        (StatusCode::OK, Some(false), Some(true))
    );
    assert_eq!(renders(), before + 2);
    assert_eq!(app.get(&path, None).await.body["cached"], true);
}

/// A byte flipped in the stored PDF before any fixity run: `/verify` never says the PDF matches
/// when it is changed, says it can be restored by re-rendering, and marks the entry damaged.
async fn verify_is_consistent_about_a_damaged_pdf(app: TestApp) {
    let archive = archived(&app).await;
    let entry = app.get(&format!("/api/v1/archive/{archive}"), None).await;
    let pdf_path = object_path(&app, entry.body["pdf"]["sha256"].as_str().unwrap());
    let mut bytes = std::fs::read(&pdf_path).unwrap();
    bytes[100] ^= 0x20;
    std::fs::set_permissions(&pdf_path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(&pdf_path, &bytes).unwrap();

    let v = app.get(&format!("/api/v1/archive/{archive}/verify"), None).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    assert_eq!((v.body["stored_pdf"].as_str(), v.body["stored_bundle"].as_str()), (Some("changed"), Some("intact")));
    assert_eq!(v.body["matches"], false, "a changed PDF never matches: {}", v.text);
    assert_eq!(v.body["rerendered_sha256"], entry.body["pdf"]["sha256"], "{}", v.text);
    assert!(v.body["problem"].as_str().unwrap().contains("can be restored"), "{}", v.text);
    let entry = app.get(&format!("/api/v1/archive/{archive}"), None).await;
    assert_eq!(entry.body["last_fixity_ok"], false, "marked damaged at once");
}

/// Entries archived before edge digests were recorded get them from the backfill (run at the
/// server's start) only when their files hash whole to their names.
async fn edge_digests_are_backfilled_for_intact_entries_only(app: TestApp) {
    let first = archived(&app).await;
    let second = {
        app.city_designated(
            "parma",
            "Parma",
            "IT",
            "gastronomy",
            chrono::NaiveDate::from_ymd_opt(2010, 12, 1).unwrap(),
        );
        app.sync_cycles();
        let city = app.token(mmr::domain::auth::Role::City, None, Some("parma"));
        let cycles = app.get("/api/v1/cities/parma/cycles", Some(&city)).await;
        let open =
            cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == "open").unwrap()["id"].as_i64();
        crate::submissions::submit_and_accept(&app, open.unwrap(), &city, " Parma.").await
    };
    let get = |id: i64| app.db.run_blocking(|conn| mmr::db::archive::get(conn, id)).unwrap().unwrap();
    let recorded = get(first);
    assert_eq!(recorded.pdf_edges_sha256.as_ref().map(String::len), Some(64), "recorded at archiving");
    app.db
        .run_blocking(|conn| {
            crate::progress::exec(
                conn,
                "UPDATE archived_documents SET pdf_edges_sha256 = NULL, bundle_edges_sha256 = NULL",
            )
        })
        .unwrap();
    // The second entry's PDF is damaged: its edges are not learnt from damaged bytes.
    let damaged = object_path(&app, &get(second).pdf_sha256);
    std::fs::set_permissions(&damaged, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[200] ^= 1;
    std::fs::write(&damaged, &bytes).unwrap();

    let s = &app.state;
    assert_eq!(workflow::archive::backfill_edges(&s.db, s.store.as_ref()).unwrap(), 1);
    let backfilled = get(first);
    assert_eq!(
        (backfilled.pdf_edges_sha256, backfilled.bundle_edges_sha256),
        (recorded.pdf_edges_sha256, recorded.bundle_edges_sha256)
    );
    assert_eq!(get(second).pdf_edges_sha256, None);
}

/// A report archived by an earlier renderer version (issue #20): its stored files are checked,
/// it is not re-rendered, and the answer says so instead of `matches: false`.
async fn an_entry_made_by_an_earlier_renderer_verifies_by_its_fixity(app: TestApp) {
    let archive = archived(&app).await;
    app.db
        .run_blocking(|conn| {
            crate::progress::exec(
                conn,
                &format!("UPDATE archived_documents SET renderer_version = 'mmr-render 0.1.0' WHERE id = {archive}"),
            )
        })
        .unwrap();
    let v = app.get(&format!("/api/v1/archive/{archive}/verify"), None).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.text);
    assert_eq!(
        (v.body["intact"].as_bool(), v.body["stored_pdf"].as_str(), v.body["stored_bundle"].as_str()),
        (Some(true), Some("intact"), Some("intact")),
        "{}",
        v.text
    );
    assert_eq!(v.body["matches"], json!(null), "not re-rendered, so no verdict on the bytes: {}", v.text);
    assert_eq!(v.body["made_by"], "mmr-render 0.1.0");
    assert_eq!(v.body["renderer"], mmr::render::RENDERER);
    assert!(v.body.get("problem").is_none(), "{}", v.text);
    let note = v.body["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with(&format!(
            "made by renderer mmr-render 0.1.0, this server runs {}: not re-rendered here",
            mmr::render::RENDERER
        )) && note.contains("mmr-render-0.1.0"),
        "{note}"
    );
    // Fixity still speaks: a changed PDF is reported as such, without a re-rendering.
    let pdf_sha = v.body["pdf_sha256"].as_str().unwrap().to_owned();
    let path = object_path(&app, &pdf_sha);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let v = app.get(&format!("/api/v1/archive/{archive}/verify"), None).await;
    assert_eq!(
        (v.body["intact"].as_bool(), v.body["stored_pdf"].as_str()),
        (Some(false), Some("changed")),
        "{}",
        v.text
    );
    assert_eq!(v.body["problem"], "the stored PDF is changed");
    assert_eq!(v.body["matches"], json!(null));
}

crate::both_backends!(
    an_entry_made_by_an_earlier_renderer_verifies_by_its_fixity,
    edge_digests_are_backfilled_for_intact_entries_only,
    an_interrupted_archiving_is_completed,
    publication_dates_decide_what_the_public_sees,
    fixity_finds_changed_and_missing_files,
    verify_answers_from_its_stored_verdict_and_fresh_needs_the_secretariat,
    verify_is_consistent_about_a_damaged_pdf
);
