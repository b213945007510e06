//! `POST /api/v1/history/import`: past rounds become closed cycles with their real facts (board,
//! dashboard, no reminder ever), legacy PDFs received documents in the public archive (search,
//! download, OAI-PMH, verify, fixity); every bad line named, re-import and dry run change nothing.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use mmr::mail::{Envelope, MemoryTransport};
use mmr::workflow;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{TestApp, at, multipart, now};

fn demo_pdf(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/demo/history/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A one-page PDF with some words and `extra` in its catalogue, its cross-reference table right.
fn pdf_with_catalog(extra: &str) -> Vec<u8> {
    let content = "BT /F1 12 Tf 72 720 Td (A legacy report with a script in it) Tj ET";
    let objects = [
        format!("<< /Type /Catalog /Pages 2 0 R {extra} >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
    }
    let xref = pdf.len();
    pdf.extend(b"xref\n0 6\n0000000000 65535 f \n");
    for o in offsets {
        pdf.extend(format!("{o:010} 00000 n \n").bytes());
    }
    pdf.extend(format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").bytes());
    pdf
}

/// Three cities: alpha (music, 2010, FR), beta (design, 2010, JP), gamma (music, 2014, SE).
fn cities(app: &TestApp) {
    let d = |y| NaiveDate::from_ymd_opt(y, 6, 1).unwrap();
    app.city_designated("alpha", "Alpha", "FR", "music", d(2010));
    app.city_designated("beta", "Beta", "JP", "design", d(2010));
    app.city_designated("gamma", "Gamma", "SE", "music", d(2014));
}

/// Seven past rounds; the outcome of each is in its notes.
const MANIFEST: &str = "\
city,period,due_date,received_on,decision,decided_on,language,file,notes
alpha,2010-2014,2014-11-30,2014-11-20,accepted,2015-01-10,en,edinburgh-2012.pdf,on time
alpha,2014-2018,2018-11-30,2018-12-10,accepted,2019-02-01,en,,late by 10 days
alpha,2018-2022,2022-11-30,,none,,en,,never received
beta,2010-2014,2014-11-30,2014-11-30,revision requested,2015-01-15,en,,on time (the due day)
beta,2014-2018,2019-03-31,2019-03-30,none,,en,,on time (a catch-up date)
gamma,2014-2018,2018-11-30,2019-01-29,accepted,2019-03-01,fr,montreal-2018.pdf,late by 60 days
gamma,2018-2022,2022-11-30,2022-11-01,accepted,2023-01-10,fr,berlin-2021-scan.pdf,on time; a scan
";

async fn import(app: &TestApp, manifest: &str, files: &[(&str, Vec<u8>)], query: &str) -> crate::helpers::Reply {
    let mut parts: Vec<crate::helpers::Part<'_>> =
        vec![("manifest", Some("manifest.csv"), Some("text/csv"), manifest.as_bytes())];
    for (name, bytes) in files {
        parts.push(("file", Some(name), Some("application/pdf"), bytes));
    }
    let (content_type, body) = multipart(&parts);
    app.raw(Method::POST, &format!("/api/v1/history/import{query}"), Some(&app.admin), &content_type, body).await
}

fn demo_files() -> Vec<(&'static str, Vec<u8>)> {
    ["edinburgh-2012.pdf", "montreal-2018.pdf", "berlin-2021-scan.pdf"].into_iter().map(|n| (n, demo_pdf(n))).collect()
}

async fn imported(app: &TestApp) -> Value {
    cities(app);
    let r = import(app, MANIFEST, &demo_files(), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

async fn a_good_manifest_imports_every_round_with_its_facts(app: TestApp) {
    let body = imported(&app).await;
    assert_eq!(body["summary"], "7 rounds imported, 0 unchanged, 3 PDFs archived (1 without extractable text)");
    let facts: Vec<(String, i64, String, Value)> = body["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["city"].as_str().unwrap().to_owned(),
                r["cycle_number"].as_i64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["days_late"].clone(),
            )
        })
        .collect();
    let expected = [
        ("alpha", 1, "on_time", Value::Null),
        ("alpha", 2, "late", json!(10)),
        ("alpha", 3, "never_received", Value::Null),
        ("beta", 1, "on_time", Value::Null),
        ("beta", 2, "on_time", Value::Null),
        ("gamma", 1, "late", json!(60)),
        ("gamma", 2, "on_time", Value::Null),
    ];
    let expected: Vec<(String, i64, String, Value)> =
        expected.into_iter().map(|(c, n, o, d)| (c.to_owned(), n, o.to_owned(), d)).collect();
    assert_eq!(facts, expected);
    assert!(body["rounds"][6]["text_note"].as_str().unwrap().contains("no extractable text"));

    // The city's cycles show them as closed cycles with their real facts.
    let cycles = app.get("/api/v1/cities/alpha/cycles", Some(&app.admin)).await;
    assert_eq!(cycles.status, StatusCode::OK, "{}", cycles.text);
    let shown: Vec<(i64, &str, &str, Value, Value, bool)> = cycles.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["number"].as_i64().unwrap(),
                c["status"].as_str().unwrap(),
                c["outcome"].as_str().unwrap_or("-"),
                c["days_late"].clone(),
                c["decision"].clone(),
                c["closed_by_history"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (1, "closed", "on_time", Value::Null, json!("accepted"), true),
            (2, "closed", "late", json!(10), json!("accepted"), true),
            (3, "closed", "never_received", Value::Null, Value::Null, true),
        ]
    );
    let beta = app.get("/api/v1/cities/beta/cycles", Some(&app.admin)).await;
    assert_eq!(beta.body["items"][1]["due_date"], "2019-03-31");
    assert_eq!(beta.body["items"][1]["due_date_overridden"], true);
    assert_eq!(
        (&beta.body["items"][0]["status"], &beta.body["items"][0]["decision"]),
        (&json!("closed"), &json!("revision_requested"))
    );
    let one = app.get(&format!("/api/v1/cycles/{}", cycles.body["items"][2]["id"]), Some(&app.admin)).await;
    assert_eq!((&one.body["status"], &one.body["outcome"]), (&json!("closed"), &json!("never_received")));

    // An audit event per round, and one for the import.
    let audit = app.get("/api/v1/audit?action=history.import_round&per_page=50", Some(&app.admin)).await;
    assert_eq!(audit.body["total"], 7);
    let audit = app.get("/api/v1/audit?action=history.import", Some(&app.admin)).await;
    assert_eq!(audit.body["total"], 1);
}

async fn the_same_manifest_again_changes_nothing_and_a_dry_run_writes_nothing(app: TestApp) {
    cities(&app);
    let dry = import(&app, MANIFEST, &demo_files(), "?dry_run=true").await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.text);
    assert_eq!(
        dry.body["summary"],
        "dry run, nothing written: 7 rounds imported, 0 unchanged, 3 PDFs archived (1 without extractable text)"
    );
    let cycles = app.get("/api/v1/cycles", Some(&app.admin)).await;
    assert_eq!(cycles.body["total"], 0, "the dry run created no cycle");
    assert_eq!(app.get("/api/v1/archive", None).await.body["total"], 0);
    assert_eq!(app.get("/api/v1/audit?action=history.import_round", Some(&app.admin)).await.body["total"], 0);

    let first = import(&app, MANIFEST, &demo_files(), "").await;
    assert_eq!(first.body["imported"], 7, "{}", first.text);
    let again = import(&app, MANIFEST, &demo_files(), "").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["summary"], "0 rounds imported, 7 unchanged, 0 PDFs archived");
    assert_eq!(app.get("/api/v1/cycles", Some(&app.admin)).await.body["total"], 7);
    assert_eq!(app.get("/api/v1/archive", None).await.body["total"], 3);
    assert_eq!(app.get("/api/v1/audit?action=history.import_round", Some(&app.admin)).await.body["total"], 7);
    assert_eq!(app.get("/api/v1/audit?action=history.import", Some(&app.admin)).await.body["total"], 1);

    // The same round with another fact is named, not applied.
    let changed = MANIFEST.replace("2018-12-10", "2018-12-11");
    let r = import(&app, &changed, &demo_files(), "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("line 3: this round was imported before with other facts (received_on 2018-12-10)"),
        "{}",
        r.text
    );
}

async fn every_bad_line_is_named_and_nothing_is_imported(app: TestApp) {
    cities(&app);
    let encrypted = {
        let mut pdf = demo_pdf("edinburgh-2012.pdf");
        let at = pdf.windows(9).position(|w| w == b"/Size 7 /").unwrap();
        pdf.splice(at..at, b"/Encrypt << /Filter /Standard /V 1 >> ".iter().copied());
        pdf
    };
    let script = pdf_with_catalog("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>");
    let good = demo_pdf("edinburgh-2016.pdf");
    let manifest = "\
city,period,due_date,received_on,decision,decided_on,language,file,notes
nowhere,2010-2014,2014-11-30,2014-11-20,none,,en,,
alpha,2010-2014,2014-11-30,2014-11-20,accepted,2014-11-01,en,,
alpha,2011-2015,2015-11-30,2015-11-20,none,,en,,
alpha,2014-2018,2018-11-30,2018-11-20,accepted,2019-01-01,en,missing.pdf,
alpha,2018-2022,2022-11-30,2022-11-20,accepted,2023-01-01,en,notes.pdf,
beta,2010-2014,2014-11-30,2014-11-20,accepted,2015-01-01,en,truncated.pdf,
beta,2014-2018,2018-11-30,2018-11-20,accepted,2019-01-01,en,encrypted.pdf,
gamma,2014-2018,2018-11-30,2018-11-20,accepted,2019-01-01,en,script.pdf,
gamma,2018-2022,2022-11-30,2022-11-20,accepted,2023-01-01,en,good.pdf,
";
    let files = vec![
        ("notes.pdf", b"just some notes, not a PDF".to_vec()),
        ("truncated.pdf", good[..good.len() - 200].to_vec()),
        ("encrypted.pdf", encrypted),
        ("script.pdf", script),
        ("good.pdf", good.clone()),
    ];
    let r = import(&app, manifest, &files, "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let problems: Vec<&str> =
        r.body["error"]["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let expected = [
        "line 2: city: `nowhere` is not a city of the registry",
        "line 3: decided_on: 2014-11-01 is before the report was received (2014-11-20)",
        "line 4: period: period 2011-2015 is not one of the city's four-year cycles",
        "line 5: file `missing.pdf` is missing",
        "line 6: file `notes.pdf` is not a PDF",
        "line 7: file `truncated.pdf` is truncated",
        "line 8: file `encrypted.pdf` is encrypted",
        "line 9: file `script.pdf` carries JavaScript",
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    for (p, e) in problems.iter().zip(expected) {
        assert!(p.starts_with(e), "{p:?} does not start with {e:?}");
    }
    assert!(r.body["error"]["message"].as_str().unwrap().contains("nothing was imported"), "{}", r.text);
    // Lines checked on their own are named before the registry is asked.
    assert_eq!(app.get("/api/v1/cycles", Some(&app.admin)).await.body["total"], 0);
    assert_eq!(app.get("/api/v1/archive", None).await.body["total"], 0);

    // Only the Secretariat imports.
    let city = app.token(mmr::domain::auth::Role::City, None, Some("alpha"));
    let (ct, body) = multipart(&[("manifest", Some("m.csv"), Some("text/csv"), MANIFEST.as_bytes())]);
    let denied = app.raw(Method::POST, "/api/v1/history/import", Some(&city), &ct, body.clone()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let anonymous = app.raw(Method::POST, "/api/v1/history/import", None, &ct, body).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

/// Hand-computed from MANIFEST, with the cycles due 30 November 2026 synced (open, not past).
async fn the_dashboard_counts_past_rounds(app: TestApp) {
    imported(&app).await;
    assert_eq!(app.sync_cycles(), 3, "alpha's, beta's and gamma's 2026 cycles");
    let d = app.get("/api/v1/dashboard", Some(&app.admin)).await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.text);
    assert_eq!(d.body["total"], 10);
    assert_eq!(
        d.body["by_status"],
        json!({"accepted": 4, "not_received": 1, "open": 3, "revision_requested": 1, "submitted": 1})
    );
    let rate = |v: &Value| (v["past_cycles"].as_i64().unwrap(), v["on_time"].as_i64().unwrap());
    assert_eq!(rate(&d.body["on_time_by_field"]["music"]), (5, 2));
    assert_eq!(rate(&d.body["on_time_by_field"]["design"]), (2, 2));
    let rounds: Vec<(String, (i64, i64))> =
        d.body["on_time_by_round"].as_object().unwrap().iter().map(|(y, v)| (y.clone(), rate(v))).collect();
    let rounds: Vec<(&str, (i64, i64))> = rounds.iter().map(|(y, r)| (y.as_str(), *r)).collect();
    assert_eq!(rounds, [("2014", (2, 2)), ("2018", (2, 0)), ("2019", (1, 1)), ("2022", (2, 1))]);
    assert_eq!(rate(&d.body["on_time_by_field_and_round"]["music"]["2022"]), (2, 1));
    assert_eq!(d.body["on_time_by_field"]["music"]["rate"], 0.4);
    assert_eq!(d.body["cannot_be_reminded"], 0, "a round closed without report is not chased");
    // Beta's 2018-2022 round was neither imported nor created (due before 2026): not tracked.
    assert_eq!(d.body["not_tracked"], json!({"2022": 1}));

    // The board lists them as closed, with their outcome; never among the overdue.
    let board = app.get("/api/v1/cycles?sort=city&per_page=3", Some(&app.admin)).await;
    assert_eq!(board.body["total"], 10);
    assert_eq!(board.body["items"][1]["status"], "closed");
    assert_eq!(board.body["items"][1]["outcome"], "late");
    assert_eq!(board.body["items"][1]["days_late"], 10);
    let closed = app.get("/api/v1/cycles?status=closed&sort=days_overdue&per_page=50", Some(&app.admin)).await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text);
    let outcomes: Vec<(&str, i64, &str)> = closed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["city"]["slug"].as_str().unwrap(), c["number"].as_i64().unwrap(), c["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("alpha", 1, "on_time"),
            ("alpha", 2, "late"),
            ("alpha", 3, "never_received"),
            ("beta", 1, "on_time"),
            ("beta", 2, "on_time"),
            ("gamma", 1, "late"),
            ("gamma", 2, "on_time"),
        ]
    );
    for query in ["status=overdue", "min_days_overdue=1", "sort=days_overdue&min_days_overdue=0&per_page=1"] {
        let r = app.get(&format!("/api/v1/cycles?{query}"), Some(&app.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
        let overdue = if query.contains("per_page=1") { 0 } else { r.body["total"].as_i64().unwrap() };
        assert_eq!(overdue, 0, "{query}: {}", r.text);
        if query.contains("per_page=1") {
            assert_eq!(r.body["total"], 10, "{query}");
            assert_ne!(r.body["items"][0]["status"], "overdue", "{query}");
        }
    }
    let csv = app.get("/api/v1/cycles?format=csv&status=closed", Some(&app.admin)).await;
    assert_eq!(csv.text.lines().count(), 8, "{}", csv.text);
    assert!(
        csv.text.lines().any(|l| l.starts_with("alpha,") && l.contains(",closed,") && l.ends_with(",never_received")),
        "{}",
        csv.text
    );

    // A city's cycles with its past rounds not tracked in their place: beta's 2018-2022 round.
    let beta = app.get("/api/v1/cities/beta/cycles?include=not_tracked", Some(&app.admin)).await;
    assert_eq!(beta.status, StatusCode::OK, "{}", beta.text);
    let rounds: Vec<(i64, &str, Value)> = beta.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["number"].as_i64().unwrap(), c["status"].as_str().unwrap(), c["id"].clone()))
        .collect();
    assert_eq!(
        rounds.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [(1, "closed"), (2, "closed"), (3, "not_tracked"), (4, "open")]
    );
    assert_eq!(rounds[2].2, Value::Null, "a round not tracked has no cycle");
    assert_eq!(
        beta.body["items"][2],
        json!({"number": 3, "period_start_year": 2018, "period_end_year": 2022, "due_date": "2022-11-30", "status": "not_tracked"})
    );
    let plain = app.get("/api/v1/cities/beta/cycles", Some(&app.admin)).await;
    assert_eq!(plain.body["items"].as_array().unwrap().len(), 3, "only the cycles unless asked");
    let bad = app.get("/api/v1/cities/beta/cycles?include=everything", Some(&app.admin)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    assert_eq!(bad.body["error"]["field"], "include", "{}", bad.text);
    // And the calendar feed.
    let ics = app.get("/api/v1/cities/alpha/deadlines.ics", Some(&app.admin)).await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(ics.text.contains("20141130"), "{}", ics.text);
}

/// No reminder for a round closed by the import, on any day of a sweep over months, while the
/// open 2026 cycles of the same cities are reminded.
async fn no_reminder_is_ever_sent_for_an_imported_round(app: TestApp) {
    imported(&app).await;
    app.sync_cycles();
    for (slug, email) in [("alpha", "a@alpha.test"), ("beta", "b@beta.test"), ("gamma", "g@gamma.test")] {
        let r = app
            .call(
                Method::POST,
                &format!("/api/v1/cities/{slug}/contacts"),
                Some(&app.admin),
                Some(json!({"name": "Focal point", "email": email, "primary": true})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    let mail = MemoryTransport::new();
    let mut day = now();
    let end = at(2027, 6, 1, 9, 30);
    while day <= end {
        app.sweep(&mail, day, "a");
        day += chrono::TimeDelta::days(3);
    }
    let closed: Vec<i64> = app.get("/api/v1/cycles?per_page=50", Some(&app.admin)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["closed_by_history"] == true)
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(closed.len(), 7);
    let ledger = app.get("/api/v1/reminders?per_page=200", Some(&app.admin)).await;
    let rows = ledger.body["items"].as_array().unwrap();
    assert!(!rows.is_empty(), "the open cycles are reminded");
    for row in rows {
        assert!(!closed.contains(&row["cycle_id"].as_i64().unwrap()), "reminder for an imported round: {row}");
    }
    for m in mail.messages() {
        assert!(!m.subject().contains("2022") && !m.body().contains("30 November 2022"), "{}", m.subject());
    }
}

/// A legacy PDF is an ordinary published archive entry: found by a word of its text, served
/// byte for byte, harvested; `/verify` says there is nothing to re-render; fixity sees a change.
async fn a_legacy_pdf_is_found_served_harvested_and_checked(app: TestApp) {
    imported(&app).await;
    let found = app.get("/api/v1/archive?q=translation", None).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body["total"], 1, "{}", found.text);
    let item = &found.body["items"][0];
    assert_eq!(item["city"]["slug"], "alpha", "{item}");
    let id = item["id"].as_i64().unwrap();
    let french = app.get("/api/v1/archive?q=placettes", None).await;
    assert_eq!(french.body["items"][0]["city"]["slug"], "gamma", "{}", french.text);
    // Gamma's city language is English; its reports were received in French (the manifest's):
    // the catalogue says so in the record, the language filter and facet, OAI-PMH and the page.
    assert_eq!(french.body["items"][0]["language"], "fr", "{}", french.text);
    let by_language = app.get("/api/v1/archive?language=fr", None).await;
    let slugs: Vec<&str> =
        by_language.body["items"].as_array().unwrap().iter().map(|i| i["city"]["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["gamma", "gamma"], "{}", by_language.text);
    let french_id = french.body["items"][0]["id"].as_i64().unwrap();
    let record = app.get(&format!("/api/v1/archive/{french_id}"), None).await;
    assert_eq!(record.body["dublin_core"]["language"], "fr", "{}", record.text);
    let page = app.get(&format!("/reports/{french_id}"), None).await;
    assert!(page.text.contains(r#"<meta name="citation_language" content="fr">"#), "{}", page.text);

    let pdf = app.get(&format!("/api/v1/archive/{id}/pdf"), None).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.bytes, demo_pdf("edinburgh-2012.pdf"), "byte-identical");

    let oai = app.get("/oai?verb=ListRecords&metadataPrefix=oai_dc", None).await;
    assert_eq!(oai.status, StatusCode::OK);
    assert!(oai.text.contains(&format!(":archive/{id}</identifier>")), "{}", oai.text);
    assert_eq!(oai.text.matches("<record>").count(), 3, "{}", oai.text);
    assert_eq!(oai.text.matches("<dc:language>fr</dc:language>").count(), 2, "{}", oai.text);

    let verify = app.get(&format!("/api/v1/archive/{id}/verify"), None).await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text);
    assert_eq!(verify.body["intact"], true, "{}", verify.text);
    assert_eq!((&verify.body["matches"], &verify.body["stored_bundle"]), (&Value::Null, &Value::Null));
    assert!(verify.body["note"].as_str().unwrap().contains("nothing to re-render"), "{}", verify.text);

    // No source bundle: not in the entry, not served, not in the exports or the bulk ZIP.
    assert_eq!(item["source_bundle"], Value::Null, "{item}");
    let entry = app.get(&format!("/api/v1/archive/{id}"), Some(&app.admin)).await;
    assert_eq!(entry.body["source_bundle"], Value::Null, "{}", entry.text);
    assert_eq!(entry.body["pdf"]["sha256"], item["pdf"]["sha256"]);
    for path in ["source.zip", "source"] {
        for caller in [None, Some(app.admin.as_str())] {
            let r = app.get(&format!("/api/v1/archive/{id}/{path}"), caller).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
            assert_eq!(r.body["error"]["code"], "no_source_bundle", "{}", r.text);
            assert!(r.body["error"]["message"].as_str().unwrap().contains("received as a PDF"), "{}", r.text);
        }
    }
    let json = app.get("/api/v1/archive/export.json?city=alpha", None).await;
    assert_eq!(json.body["items"][0]["source_bundle"], Value::Null, "{}", json.text);
    let csv = app.get("/api/v1/archive/export.csv?city=alpha", None).await;
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let cells = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| &cells[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(
        (cell("source_bundle_url"), cell("source_bundle_sha256"), cell("source_bundle_bytes")),
        ("", "", ""),
        "{}",
        csv.text
    );
    assert_eq!(cell("pdf_sha256"), item["pdf"]["sha256"].as_str().unwrap());
    let bulk = app.get("/api/v1/archive/bulk.zip?city=alpha", None).await;
    assert_eq!(bulk.status, StatusCode::OK);
    let out = crate::bulk::unzip(&bulk.bytes);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["count"], 1, "{manifest}");
    assert_eq!(manifest["items"][0]["source_bundle"], Value::Null, "{manifest}");

    // Fixity: one file per received document; a changed byte is found.
    let transport = MemoryTransport::new();
    let envelope = Envelope {
        from: "UCCN <mmr@uccn.test>".into(),
        to: vec!["secretariat@uccn.test".into()],
        cc: vec![],
        message_id: "fixity.history@uccn.test".into(),
    };
    let clean = app.fixity(Some((&transport, &envelope)));
    assert_eq!((clean.documents, clean.files, clean.problems.len()), (3, 3, 0));
    let sha = item["pdf"]["sha256"].as_str().unwrap_or_else(|| panic!("{item}")).to_owned();
    let path = app.archive_dir.path().join("objects").join(&sha[..2]).join(&sha[2..4]).join(&sha);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[200] ^= 0x20;
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let report = app.fixity(Some((&transport, &envelope)));
    assert_eq!(report.problems.len(), 1, "{report:?}");
    assert_eq!((report.problems[0].archive_id, report.problems[0].file), (id, "pdf"));
    assert_eq!(transport.messages().len(), 1);
}

/// A small PDF that costs much to read, made with lopdf: a thousand pages drawing one content
/// stream of 20,000 text operators.
fn costly_pdf() -> Vec<u8> {
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let content = format!("BT /F1 12 Tf 72 720 Td {} ET", "(legacy) Tj ".repeat(20_000));
    let content = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let kids: Vec<Object> = (0..1_000)
        .map(|_| {
            let page = dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
            };
            doc.add_object(page).into()
        })
        .collect();
    doc.objects.insert(pages_id, dictionary! { "Type" => "Pages", "Count" => 1_000, "Kids" => kids }.into());
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// A PDF whose parsing takes longer than the budget is a bad line naming the line and the file,
/// answered once the budget is spent (not when the parsing would end); nothing is imported.
async fn a_pdf_over_the_time_budget_is_a_bad_line_named_in_bounded_time(app: TestApp) {
    cities(&app);
    let manifest = "city,period,due_date,received_on,decision,decided_on,language,file,notes\n\
                    alpha,2010-2014,2014-11-30,2014-11-20,accepted,2015-01-10,en,costly.pdf,\n";
    let rows = workflow::history::parse_manifest(manifest.as_bytes(), now().date()).unwrap();
    let files = workflow::history::Files::Uploaded([("costly.pdf".to_owned(), costly_pdf())].into());
    let request = workflow::history::ImportRequest {
        manifest: &rows,
        files: &files,
        dry_run: false,
        pdf_budget: std::time::Duration::from_millis(300),
    };
    let started = std::time::Instant::now();
    let s = &app.state;
    let refused = workflow::history::import(
        &s.db,
        s.store.as_ref(),
        &workflow::Actor::cli(),
        &s.rules,
        &request,
        &workflow::Silent,
        now(),
    );
    let took = started.elapsed();
    match refused {
        Err(mmr::error::Error::InvalidMany { problems, .. }) => assert_eq!(
            problems,
            ["line 2: file `costly.pdf` takes more than 0.3 s to parse, the time budget of a received PDF \
              (MMR_RECEIVED_PDF_SECONDS)"]
        ),
        other => panic!("{other:?}"),
    }
    assert!(took < std::time::Duration::from_secs(3), "refused after {took:?}");
    assert_eq!(app.db.run_blocking(workflow::history::imported_rounds).unwrap(), 0);
}

/// A revision requested with its deadline from the manifest, and the reports received but not
/// accepted (sent back, or never decided) kept as received documents of their rounds, never
/// public: not in the search, not found by the public, not publishable.
async fn a_report_received_but_not_accepted_is_archived_unpublished_with_its_revision_deadline(app: TestApp) {
    cities(&app);
    let manifest = "city,period,due_date,received_on,decision,decided_on,revision_due,language,file,notes\n\
                    beta,2010-2014,2014-11-30,2014-11-30,revision requested,2015-01-15,2015-04-30,en,edinburgh-2012.pdf,\n\
                    beta,2014-2018,2018-11-30,2018-11-20,none,,,fr,montreal-2018.pdf,never decided\n\
                    alpha,2010-2014,2014-11-30,2014-11-20,revision requested,2015-01-10,,en,,no deadline known\n";
    let files = demo_files().into_iter().filter(|(n, _)| *n != "berlin-2021-scan.pdf").collect::<Vec<_>>();
    let r = import(&app, manifest, &files, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["summary"], "3 rounds imported, 0 unchanged, 2 PDFs archived");

    // The revision deadline is the manifest's; without one, the decision's date stands in.
    let beta = app.get("/api/v1/cities/beta/cycles", Some(&app.admin)).await;
    assert_eq!(beta.body["items"][0]["submissions"][0]["revision_due"], "2015-04-30", "{}", beta.text);
    let alpha = app.get("/api/v1/cities/alpha/cycles", Some(&app.admin)).await;
    assert_eq!(alpha.body["items"][0]["submissions"][0]["revision_due"], "2015-01-10", "{}", alpha.text);

    // Archived, unpublished: the Secretariat reads them, the public finds nothing.
    let ids: Vec<i64> = r.body["rounds"].as_array().unwrap().iter().filter_map(|r| r["archive_id"].as_i64()).collect();
    assert_eq!(ids.len(), 2);
    for id in &ids {
        let entry = app.get(&format!("/api/v1/archive/{id}"), Some(&app.admin)).await;
        assert_eq!(entry.status, StatusCode::OK, "{}", entry.text);
        assert_eq!((&entry.body["published"], &entry.body["source_bundle"]), (&json!(false), &Value::Null));
        let pdf = app.get(&format!("/api/v1/archive/{id}/pdf"), Some(&app.admin)).await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert_eq!(app.get(&format!("/api/v1/archive/{id}"), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get(&format!("/api/v1/archive/{id}/pdf"), None).await.status, StatusCode::NOT_FOUND);
        let publish = app
            .call(
                Method::PATCH,
                &format!("/api/v1/archive/{id}"),
                Some(&app.admin),
                Some(json!({"published_on": "2020-01-01"})),
            )
            .await;
        assert_eq!(publish.status, StatusCode::CONFLICT, "{}", publish.text);
        assert!(publish.text.contains("never accepted"), "{}", publish.text);
    }
    assert_eq!(app.get("/api/v1/archive?q=translation", None).await.body["total"], 0);
    assert_eq!(app.get("/api/v1/archive", None).await.body["total"], 0);

    // History is not rewritten: another deadline for the same round is a bad line.
    let moved = manifest.replace("2015-04-30", "2015-05-31");
    let again = import(&app, &moved, &files, "").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.text);
    assert!(
        again.text.contains("line 2: this round was imported before with other facts (revision_due 2015-04-30)"),
        "{}",
        again.text
    );
    // A deadline without a revision requested is named with its column.
    let stray = "city,period,due_date,received_on,decision,decided_on,revision_due\n\
                 gamma,2014-2018,2018-11-30,2018-11-20,accepted,2019-01-10,2019-03-01\n";
    let r = import(&app, stray, &[], "").await;
    assert!(
        r.text.contains("line 2: revision_due: a revision deadline only goes with a revision requested"),
        "{}",
        r.text
    );
}

both_backends!(
    a_good_manifest_imports_every_round_with_its_facts,
    the_same_manifest_again_changes_nothing_and_a_dry_run_writes_nothing,
    every_bad_line_is_named_and_nothing_is_imported,
    the_dashboard_counts_past_rounds,
    no_reminder_is_ever_sent_for_an_imported_round,
    a_legacy_pdf_is_found_served_harvested_and_checked,
    a_pdf_over_the_time_budget_is_a_bad_line_named_in_bounded_time,
    a_report_received_but_not_accepted_is_archived_unpublished_with_its_revision_deadline,
);
