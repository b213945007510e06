use axum::http::{Method, StatusCode};
use mmr::domain::auth::Role;
use mmr::mail::{MemoryTransport, SimulatedFailure};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, at, now};

/// Demo cities with cycles, and a focal point for Östersund (due 30 November 2026).
async fn setup(app: &TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let body = json!({ "name": "Anna Focal", "email": "anna@ostersund.se", "primary": true });
    let r = app.call(Method::POST, "/api/v1/cities/ostersund/contacts", Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

async fn ledger(app: &TestApp, query: &str) -> Vec<serde_json::Value> {
    let r = app.get(&format!("/api/v1/reminders?per_page=200&{query}"), Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().clone()
}

async fn the_sweep_sends_the_latest_due_stage_once(app: TestApp) {
    setup(&app).await;
    let mail = MemoryTransport::new();
    let report = app.sweep(&mail, now(), "a");
    // Due today: before_180 (3 June), before_90, before_30 and before_7 (23 November): only the
    // latest goes out, the others are skipped, not sent in a burst.
    assert_eq!((report.sent, report.skipped, report.failed), (1, 3, 0), "{report:?}");
    let sent = mail.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to(), ["anna@ostersund.se"]);
    // Sent on 24 November (the stage's day was the 23rd): the message counts from the day it goes.
    assert_eq!(sent[0].subject(), "Membership Monitoring Report of Östersund due in 6 days");
    assert!(sent[0].body().contains("is due in 6 days, on 30 November 2026 at 23:59 (Europe/Stockholm)."));
    assert!(sent[0].body().contains("(creative field: Gastronomy)"), "{}", sent[0].body());
    // No link to an API URL that answers 401 in a browser: the report's page, which sends a
    // person who is not signed in to sign in and back; and the Secretariat's address.
    assert!(!sent[0].body().contains("/api/"), "{}", sent[0].body());
    assert!(sent[0].body().contains("secretariat@uccn.test"), "{}", sent[0].body());
    let link = sent[0].body().split_whitespace().find(|w| w.starts_with("https://mmr.uccn.test/")).expect("a link");
    let page = link.trim_start_matches("https://mmr.uccn.test");
    assert!(page.starts_with("/cycles/") && page.ends_with("/draft"), "{link}");
    let opened = app.get(page, None).await;
    assert_eq!(opened.status, axum::http::StatusCode::SEE_OTHER);
    let next = url::form_urlencoded::byte_serialize(page.as_bytes()).collect::<String>();
    assert_eq!(opened.headers[axum::http::header::LOCATION], format!("/sign-in?next={next}"));
    // Running it again sends nothing twice.
    let again = app.sweep(&mail, now(), "a");
    assert_eq!((again.planned, again.sent, again.skipped), (0, 0, 0), "{again:?}");
    assert_eq!(mail.messages().len(), 1);
    let rows = ledger(&app, "city=ostersund").await;
    let states: Vec<(&str, &str)> =
        rows.iter().map(|r| (r["stage"].as_str().unwrap(), r["state"].as_str().unwrap())).collect();
    assert_eq!(
        states[..5],
        [
            ("before_180@2026-11-30", "skipped"),
            ("before_90@2026-11-30", "skipped"),
            ("before_30@2026-11-30", "skipped"),
            ("before_7@2026-11-30", "sent"),
            ("due@2026-11-30", "planned"),
        ]
    );
    assert_eq!(rows[0]["last_error"], "superseded by a later stage");
    assert_eq!(rows[3]["sent_at"], "2026-11-24T09:30:00Z");
    // The ledger is planned 30 days ahead: the due-day message is there, the escalation (29
    // January) is not yet; it is planned, for the Secretariat, once it comes within range.
    assert!(rows.iter().all(|r| r["stage"] != "escalation@2026-11-30"));
    app.sweep(&mail, at(2027, 1, 1, 6, 0), "a");
    let rows = ledger(&app, "city=ostersund&state=planned").await;
    assert!(
        rows.iter().any(|r| r["stage"] == "escalation@2026-11-30" && r["recipient"] == "secretariat@uccn.test"),
        "{rows:?}"
    );
}

async fn after_downtime_only_the_latest_stage_goes_out(app: TestApp) {
    setup(&app).await;
    let r = app
        .call(
            Method::PATCH,
            "/api/v1/fields/gastronomy",
            Some(&app.admin),
            Some(json!({ "coordinator_email": "coord@gastronomy.test" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mail = MemoryTransport::new();
    // Nothing ran until 20 January 2027, 51 days after the deadline: only the latest stage
    // (the second formal reminder) is sent, copied to the coordinator, and it is the first formal
    // reminder Östersund receives, so it says so.
    let report = app.sweep(&mail, at(2027, 1, 20, 6, 0), "a");
    assert_eq!((report.sent, report.skipped), (1, 6), "{report:?}");
    let m = &mail.messages()[0];
    assert_eq!((m.to(), m.cc()), (&["anna@ostersund.se".to_owned()][..], &["coord@gastronomy.test".to_owned()][..]));
    assert_eq!(m.subject(), "Formal reminder 1 of 2: Membership Monitoring Report of Östersund overdue by 51 days");
    assert!(m.body().contains("This is the first formal written reminder."), "{}", m.body());
    // The 38 other cities due that day have no contact: listed to the Secretariat in one digest.
    let digest = &mail.messages()[1];
    assert_eq!(digest.to(), ["secretariat@uccn.test"]);
    assert_eq!(digest.subject(), "MMR daily digest, 20 January 2027: 38 cities cannot be reminded");
    assert_eq!(mail.messages().len(), 2);
    // On the escalation day (60 days) Östersund has received one formal reminder of two: it is
    // not put on notice; the second is planned 14 days after the first, the escalation after it.
    let report = app.sweep(&mail, at(2027, 1, 29, 6, 0), "a");
    assert_eq!((report.sent, report.on_notice.len(), report.cannot_remind.len()), (0, 0, 38), "{report:?}");
    assert_eq!(app.get("/api/v1/cities?status=on_notice", None).await.body["total"], 0);
    // The dashboard counts them (its API clock is pinned to 24 November: asked of that day here).
    let rules = mmr::domain::cycles::CycleRules::default();
    let sel = mmr::db::cycles::CycleSelection::default();
    let dashboard = app
        .db
        .run_blocking(|conn| mmr::workflow::cycles::dashboard(conn, &rules, at(2027, 1, 29, 6, 0).and_utc(), &sel))
        .unwrap();
    assert_eq!(dashboard.cannot_be_reminded, 38);
    assert_eq!(app.get("/api/v1/dashboard", Some(&app.admin)).await.body["cannot_be_reminded"], 0);
    let planned = ledger(&app, "city=ostersund&state=planned").await;
    let planned: Vec<(&str, &str)> =
        planned.iter().map(|r| (r["stage"].as_str().unwrap(), r["send_on"].as_str().unwrap())).collect();
    assert_eq!(planned, [("formal_catchup_2@2026-11-30", "2027-02-03"), ("escalation@2026-11-30", "2027-02-17")]);
    let report = app.sweep(&mail, at(2027, 2, 3, 6, 0), "a");
    assert_eq!(report.sent, 1, "{report:?}");
    let m = mail.messages().into_iter().rev().find(|m| m.to() == ["anna@ostersund.se"]).unwrap();
    assert_eq!(m.subject(), "Formal reminder 2 of 2: Membership Monitoring Report of Östersund overdue by 65 days");
    assert!(m.body().contains("This is the second formal written reminder."), "{}", m.body());
    assert_eq!(m.cc(), ["coord@gastronomy.test"]);
    // 14 days after the second: on notice, told in that day's digest with the dates.
    let before = mail.messages().len();
    let report = app.sweep(&mail, at(2027, 2, 17, 6, 0), "a");
    assert_eq!((report.sent, report.on_notice.clone()), (0, vec!["ostersund".to_owned()]), "{report:?}");
    let digests: Vec<_> = mail.messages().into_iter().skip(before).collect();
    assert_eq!(digests.len(), 1, "one message, the digest");
    assert_eq!(
        digests[0].subject(),
        "MMR daily digest, 17 February 2027: 1 city put on notice, 38 cities cannot be reminded"
    );
    assert!(
        digests[0].body().contains("- Östersund (Gastronomy), cycle 4: due 30 November 2026, overdue by 79 days. Formal reminders delivered on 20 January 2027 and 3 February 2027."),
        "{}",
        digests[0].body()
    );
    assert_eq!(app.get("/api/v1/cities/ostersund", None).await.body["status"], "on_notice");
    let audit = app.get("/api/v1/audit?action=city.on_notice", Some(&app.admin)).await;
    assert_eq!(
        (audit.body["total"].as_i64(), audit.body["items"][0]["actor"].as_str()),
        (Some(1), Some("reminder sweep"))
    );
    assert_eq!(audit.body["items"][0]["details"]["formal_reminders_delivered"], json!(["2027-01-20", "2027-02-03"]));
    // A rerun the same day sends nothing, not even a second digest.
    let again = app.sweep(&mail, at(2027, 2, 17, 9, 0), "b");
    assert_eq!((again.sent, again.digest.as_deref()), (0, None), "{again:?}");
    assert_eq!(mail.messages().len(), before + 1);
}

async fn failures_are_retried_with_backoff_and_never_lost(app: TestApp) {
    setup(&app).await;
    let mail = MemoryTransport::new();
    mail.fail_next(1, SimulatedFailure::Transient);
    let report = app.sweep(&mail, now(), "a");
    assert_eq!((report.sent, report.failed), (0, 1));
    let failed = ledger(&app, "state=failed").await;
    assert_eq!(
        (failed[0]["attempts"].as_i64(), failed[0]["next_attempt_at"].as_str()),
        (Some(1), Some("2026-11-24T09:35:00Z"))
    );
    assert!(failed[0]["last_error"].as_str().is_some_and(|e| !e.is_empty()));
    // Not before its time, then sent.
    assert_eq!(app.sweep(&mail, at(2026, 11, 24, 9, 31), "a").sent, 0);
    assert_eq!(app.sweep(&mail, at(2026, 11, 24, 9, 36), "a").sent, 1);
    assert_eq!(mail.messages().len(), 1);
    let sent = ledger(&app, "state=sent").await;
    assert_eq!((sent[0]["attempts"].as_i64(), sent[0]["last_error"].as_str()), (Some(2), None));
    // A permanent refusal stays failed with no retry.
    mail.fail_next(1, SimulatedFailure::Permanent);
    let report = app.sweep(&mail, at(2026, 11, 30, 8, 0), "a");
    assert_eq!(report.failed, 1);
    let failed = ledger(&app, "state=failed").await;
    assert_eq!(failed[0]["next_attempt_at"], json!(null));
    assert_eq!(app.sweep(&mail, at(2026, 11, 30, 20, 0), "a").sent, 0);
}

async fn extensions_cancel_and_replan(app: TestApp) {
    setup(&app).await;
    let mail = MemoryTransport::new();
    app.sweep(&mail, now(), "a");
    let cycle =
        app.get("/api/v1/cities/ostersund/cycles", Some(&app.admin)).await.body["items"][0]["id"].as_i64().unwrap();
    let body = json!({ "due_date": "2027-01-15", "reason": "New municipal council" });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{cycle}/extension"), Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK);
    let rows = ledger(&app, "city=ostersund&state=planned").await;
    assert!(rows.is_empty(), "pending rows of the old deadline are cancelled: {rows:?}");
    let cancelled = ledger(&app, "city=ostersund&state=cancelled").await;
    assert!(cancelled.iter().all(|r| r["stage"].as_str().unwrap().ends_with("@2026-11-30")));
    assert!(!cancelled.is_empty());
    // The next sweep plans against the new date; the 30 November due-day message never goes.
    let report = app.sweep(&mail, at(2026, 11, 30, 8, 0), "a");
    assert!(report.planned > 0);
    assert!(mail.messages().iter().all(|m| !m.subject().contains("due today")));
    let planned = ledger(&app, "city=ostersund&state=planned").await;
    assert!(planned.iter().all(|r| r["stage"].as_str().unwrap().ends_with("@2027-01-15")), "{planned:?}");
}

async fn suppressed_cities_are_skipped_with_the_reason(app: TestApp) {
    setup(&app).await;
    let path = "/api/v1/cities/ostersund/reminder-suppressions";
    let r = app
        .call(
            Method::POST,
            path,
            Some(&app.admin),
            Some(json!({ "until": "2026-12-31", "reason": "Mayor's office in transition" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    for (body, field) in
        [(json!({ "reason": "" }), "reason"), (json!({ "until": "2020-01-01", "reason": "x" }), "until")]
    {
        let r = app.call(Method::POST, path, Some(&app.admin), Some(body)).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)));
    }
    let mail = MemoryTransport::new();
    let report = app.sweep(&mail, now(), "a");
    assert_eq!(report.sent, 0);
    let skipped = ledger(&app, "city=ostersund&state=skipped").await;
    assert!(skipped.iter().any(|r| r["last_error"].as_str().unwrap().contains("Mayor's office in transition")));
    assert_eq!(
        app.call(Method::DELETE, &format!("{path}/{id}"), Some(&app.admin), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(Method::DELETE, &format!("{path}/{id}"), Some(&app.admin), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.sweep(&mail, at(2026, 11, 30, 8, 0), "a").sent, 1);
}

async fn two_sweeps_at_once_send_each_reminder_once(app: TestApp) {
    setup(&app).await;
    for slug in ["montreal", "krakow", "bologna", "glasgow", "sevilla", "lyon", "kobe"] {
        let body = json!({ "name": "Focal", "email": format!("focal@{slug}.test") });
        let r = app.call(Method::POST, &format!("/api/v1/cities/{slug}/contacts"), Some(&app.admin), Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let mail = std::sync::Arc::new(MemoryTransport::new());
    let later = at(2027, 1, 29, 6, 0);
    let (a, b) = std::thread::scope(|s| {
        let one = s.spawn(|| app.sweep(mail.as_ref(), later, "process-a"));
        let two = s.spawn(|| app.sweep(mail.as_ref(), later, "process-b"));
        (one.join().unwrap(), two.join().unwrap())
    });
    let ids: Vec<String> = mail.messages().iter().map(|m| m.message_id().to_owned()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "a message went out twice: {ids:?}");
    // The reminders, and one digest (31 cities that cannot be reminded) from one of the two.
    assert_eq!(usize::from(a.digest.is_some()) + usize::from(b.digest.is_some()), 1, "{a:?} {b:?}");
    assert_eq!(a.sent + b.sent + 1, ids.len());
    assert_eq!(ledger(&app, "state=sent").await.len(), ids.len() - 1);
    assert!(ids.len() >= 2, "{a:?} {b:?}");
}

async fn reminders_are_read_within_scope(app: TestApp) {
    setup(&app).await;
    app.sweep(&MemoryTransport::new(), now(), "a");
    let own = app.token(Role::City, None, Some("ostersund"));
    let other = app.token(Role::City, None, Some("parma"));
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let path = "/api/v1/cities/ostersund/reminders?state=planned";
    let r = app.get(path, Some(&own)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["items"][0]["recipient"], "anna@ostersund.se");
    let r = app.get(path, Some(&coordinator)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["items"][0].get("recipient").is_none(), "coordinators do not read contacts");
    assert_eq!(app.get(path, Some(&other)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(path, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/reminders", Some(&own)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v1/reminders?state=lost", Some(&app.admin)).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    for city in ["atlantis", ""] {
        let r = app.get(&format!("/api/v1/reminders?city={city}"), Some(&app.admin)).await;
        assert_eq!(
            (r.status, r.body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("city")),
            "{city}"
        );
    }
    let r = app
        .call(
            Method::PATCH,
            "/api/v1/fields/gastronomy",
            Some(&coordinator),
            Some(json!({ "coordinator_email": "x@y.z" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::PATCH,
            "/api/v1/fields/sculpture",
            Some(&app.admin),
            Some(json!({ "coordinator_email": "x@y.zz" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(Method::PATCH, "/api/v1/fields/music", Some(&app.admin), Some(json!({ "coordinator_email": "nope" })))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_dry_run_shows_who_gets_what_and_leaves_nothing(app: TestApp) {
    setup(&app).await;
    let mail = MemoryTransport::new();
    let rules = mmr::domain::cycles::CycleRules::default();
    let report = mmr::workflow::reminders::sweep(
        &app.db,
        &mail,
        &crate::helpers::reminder_config(),
        &rules,
        now(),
        "a",
        true,
        &mmr::workflow::Silent,
    )
    .unwrap();
    assert_eq!(report.lines, ["would send before_7@2026-11-30 ostersund -> anna@ostersund.se"]);
    assert_eq!(report.skipped, 3);
    assert!(report.planned > 0);
    assert!(mail.messages().is_empty());
    assert!(ledger(&app, "").await.is_empty(), "a dry run writes nothing");
    // The real sweep then does what the dry run said.
    let real = app.sweep(&mail, now(), "a");
    assert_eq!((real.sent, real.skipped, real.planned), (1, 3, report.planned));
}

async fn a_city_whose_messages_all_fail_is_never_put_on_notice(app: TestApp) {
    setup(&app).await;
    let mail = MemoryTransport::new();
    // 15 December: the first formal reminder is refused for good by the mail server.
    mail.fail_next(1, SimulatedFailure::Permanent);
    let report = app.sweep(&mail, at(2026, 12, 15, 6, 0), "a");
    assert_eq!((report.sent, report.failed), (0, 1), "{report:?}");
    let digest = mail.messages().pop().expect("a digest");
    assert_eq!(digest.subject(), "MMR daily digest, 15 December 2026: 39 cities cannot be reminded, 1 message failed");
    assert!(digest.body().contains("- Östersund (Gastronomy), cycle 4: due 30 November 2026, overdue by 15 days. Every message of the last reminder failed for good."), "{}", digest.body());
    assert!(digest.body().contains("MESSAGES FAILED FOR GOOD (1)"), "{}", digest.body());
    assert!(
        digest.body().contains("- Östersund (ostersund), formal_1@2026-11-30 to anna@ostersund.se: permanent:"),
        "{}",
        digest.body()
    );
    // The address keeps refusing: the second formal reminder fails too, and is reported.
    mail.fail_next(1, SimulatedFailure::Permanent);
    let report = app.sweep(&mail, at(2027, 1, 16, 6, 0), "a");
    assert_eq!((report.sent, report.failed), (0, 1), "{report:?}");
    let digest = mail.messages().pop().expect("a digest");
    assert!(digest.subject().ends_with("1 message failed"), "{}", digest.subject());
    assert!(digest.body().contains("formal_2@2026-11-30 to anna@ostersund.se"), "{}", digest.body());
    // Past the escalation day nothing more is tried and nobody is put on notice; the city is
    // listed every day, a failure only in the digest after it happened.
    let report = app.sweep(&mail, at(2027, 1, 31, 6, 0), "a");
    assert!(report.on_notice.is_empty() && report.sent == 0 && report.failed == 0, "{report:?}");
    let report = app.sweep(&mail, at(2027, 3, 1, 6, 0), "a");
    assert!(report.on_notice.is_empty() && report.cannot_remind.iter().any(|c| c.slug == "ostersund"), "{report:?}");
    assert_eq!(app.get("/api/v1/cities/ostersund", None).await.body["status"], "active");
    let last = mail.messages().pop().expect("a digest");
    assert_eq!(last.subject(), "MMR daily digest, 1 March 2027: 39 cities cannot be reminded");
    // A new, working contact: the next formal reminder goes to it, numbered as the first received.
    let body = json!({ "name": "Nils Focal", "email": "nils@ostersund.se" });
    let r = app.call(Method::POST, "/api/v1/cities/ostersund/contacts", Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let before = mail.messages().len();
    app.sweep(&mail, at(2027, 3, 2, 6, 0), "a");
    let new: Vec<_> = mail.messages().into_iter().skip(before).filter(|m| m.to() == ["nils@ostersund.se"]).collect();
    assert_eq!(new.len(), 1, "{:?}", new.iter().map(|m| m.subject().to_owned()).collect::<Vec<_>>());
    assert!(new[0].subject().starts_with("Formal reminder 1 of 2:"), "{}", new[0].subject());
}

both_backends!(
    a_city_whose_messages_all_fail_is_never_put_on_notice,
    a_dry_run_shows_who_gets_what_and_leaves_nothing,
    the_sweep_sends_the_latest_due_stage_once,
    after_downtime_only_the_latest_stage_goes_out,
    failures_are_retried_with_backoff_and_never_lost,
    extensions_cancel_and_replan,
    suppressed_cities_are_skipped_with_the_reason,
    two_sweeps_at_once_send_each_reminder_once,
    reminders_are_read_within_scope,
);
