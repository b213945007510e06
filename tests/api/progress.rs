//! The submission facts kept on the cycle row. Submissions and decisions are written here as the
//! review work will write them, rows in `submissions` and `review_decisions` followed by
//! `db::cycles::refresh_progress` in the same transaction; then the cycle's status, the board and
//! the reminder sweep are checked, and the `cycle_board` migration's backfill is run again over
//! rows written under the schema before it.

use axum::http::{Method, StatusCode};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::RunQueryDsl;
use diesel::migration::MigrationSource;
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use mmr::db::{Conn, DbError};
use mmr::domain::auth::Role;
use mmr::mail::MemoryTransport;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{TestApp, at, now};

/// Runs one statement of literal SQL, written to mean the same on both stores.
pub fn exec(conn: &mut Conn<'_>, sql: &str) -> Result<usize, DbError> {
    match conn {
        Conn::Sqlite(c) => diesel::sql_query(sql).execute(&mut **c),
        Conn::Postgres(c) => diesel::sql_query(sql).execute(&mut **c),
    }
    .map_err(DbError::from)
}

/// What a decision on a version says.
#[derive(Debug, Clone, Copy)]
pub enum Verdict {
    Accept,
    Revise(NaiveDate),
}

/// Writes version `version` of a cycle's report, submitted at `at`, and refreshes the cycle row
/// in the same transaction.
pub fn submit(app: &TestApp, cycle: i64, version: i32, at: NaiveDateTime, late: bool) {
    let sql = format!(
        "INSERT INTO submissions (cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256, \
         submitted_by, submitted_at, late) VALUES ({cycle}, {version}, '# Report', '# Plan', '{:064x}', 'test city', \
         '{}', {})",
        cycle * 1000 + i64::from(version),
        at.format("%Y-%m-%d %H:%M:%S"),
        if late { "TRUE" } else { "FALSE" },
    );
    write_then_refresh(app, cycle, &sql);
}

/// Writes the decision on version `version` of a cycle's report and refreshes the cycle row in
/// the same transaction.
pub fn decide(app: &TestApp, cycle: i64, version: i32, verdict: Verdict, at: NaiveDateTime) {
    let (decision, revision_due, sha) = match verdict {
        Verdict::Accept => ("accept", "NULL".to_owned(), format!("'{:064x}'", cycle * 1000 + i64::from(version))),
        Verdict::Revise(due) => ("request_revision", format!("'{due}'"), "NULL".to_owned()),
    };
    let sql = format!(
        "INSERT INTO review_decisions (submission_id, decision, comments, revision_due, accepted_sha256, decided_by, \
         decided_at) SELECT id, '{decision}', 'Comments', {revision_due}, {sha}, 'test secretariat', '{}' \
         FROM submissions WHERE cycle_id = {cycle} AND version = {version}",
        at.format("%Y-%m-%d %H:%M:%S"),
    );
    write_then_refresh(app, cycle, &sql);
}

fn write_then_refresh(app: &TestApp, cycle: i64, sql: &str) {
    app.db
        .run_blocking(|conn| {
            conn.transaction(|conn| {
                assert_eq!(exec(conn, sql)?, 1, "{sql}");
                mmr::db::cycles::refresh_progress(conn, cycle)
            })
        })
        .unwrap();
}

async fn cycle_of(app: &TestApp, slug: &str) -> serde_json::Value {
    let r = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().last().unwrap().clone()
}

async fn board_total(app: &TestApp, query: &str) -> i64 {
    let r = app.get(&format!("/api/v1/cycles?{query}"), Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["total"].as_i64().unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn refresh_progress_keeps_the_status_inputs_on_the_cycle_row(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let open = board_total(&app, "status=open").await;
    let id = cycle_of(&app, "ostersund").await["id"].as_i64().unwrap();
    // Östersund's report is due on 30 November 2026 at 23:59 in Stockholm.
    submit(&app, id, 1, at(2026, 11, 20, 10, 0), false);
    let c = cycle_of(&app, "ostersund").await;
    assert_eq!(
        (c["status"].as_str(), c["late"].as_bool(), c["versions"].as_i64()),
        (Some("submitted"), Some(false), Some(1))
    );
    assert_eq!((board_total(&app, "status=open").await, board_total(&app, "status=submitted").await), (open - 1, 1));
    decide(&app, id, 1, Verdict::Revise(date(2027, 1, 31)), at(2026, 11, 22, 9, 0));
    assert_eq!(cycle_of(&app, "ostersund").await["status"], "revision_requested");
    assert_eq!(board_total(&app, "status=revision_requested").await, 1);
    // A second version: the decision on the first no longer counts.
    submit(&app, id, 2, at(2026, 11, 23, 10, 0), false);
    assert_eq!(cycle_of(&app, "ostersund").await["status"], "submitted");
    assert_eq!(board_total(&app, "status=revision_requested").await, 0);
    decide(&app, id, 2, Verdict::Accept, at(2026, 11, 24, 8, 0));
    let c = cycle_of(&app, "ostersund").await;
    assert_eq!((c["status"].as_str(), c["versions"].as_i64()), (Some("accepted"), Some(2)));
    assert_eq!(c["submissions"][1]["decision"], "accept");
    assert_eq!(board_total(&app, "status=accepted&field=gastronomy").await, 1);
    // The first version came a minute after the deadline (23:59 in Dakar is 23:59 UTC).
    let dakar = cycle_of(&app, "dakar").await;
    assert_eq!((dakar["due_date"].as_str(), dakar["time_zone"].as_str()), (Some("2026-11-30"), Some("Africa/Dakar")));
    submit(&app, dakar["id"].as_i64().unwrap(), 1, at(2026, 12, 1, 0, 0), true);
    assert_eq!(cycle_of(&app, "dakar").await["late"], true);
    // An unknown cycle is named as such; nothing else is touched.
    let missing = app.db.run_blocking(|conn| mmr::db::cycles::refresh_progress(conn, 999_999));
    assert!(matches!(missing, Err(DbError::NotFound)), "{missing:?}");
}

async fn the_cycle_row_refuses_facts_that_contradict_each_other(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let id = cycle_of(&app, "ostersund").await["id"].as_i64().unwrap();
    for sql in [
        // A decision without a submission.
        format!("UPDATE reporting_cycles SET latest_decision = 'accept' WHERE id = {id}"),
        // A revision deadline without a revision request.
        format!("UPDATE reporting_cycles SET revision_due = '2027-01-01' WHERE id = {id}"),
        format!(
            "UPDATE reporting_cycles SET first_submitted_at = '2026-11-01 00:00:00', latest_decision = 'maybe' WHERE id = {id}"
        ),
        // Another city's slug or field.
        format!("UPDATE reporting_cycles SET city_slug = 'parma' WHERE id = {id}"),
        format!("UPDATE reporting_cycles SET city_field = 'music' WHERE id = {id}"),
    ] {
        let r = app.db.run_blocking(|conn| exec(conn, &sql));
        assert!(r.is_err(), "{sql} was accepted");
    }
    // A city's new field follows it onto its cycles, and so onto its coordinators' boards.
    let music = app.token(Role::Coordinator, Some("music"), None);
    let before = app.get("/api/v1/cycles?per_page=200", Some(&music)).await.body["total"].as_i64().unwrap();
    let r =
        app.call(Method::PATCH, "/api/v1/cities/ostersund", Some(&app.admin), Some(json!({ "field": "music" }))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.get("/api/v1/cycles?per_page=200", Some(&music)).await;
    assert_eq!(r.body["total"].as_i64(), Some(before + 1));
    assert!(r.body["items"].as_array().unwrap().iter().any(|c| c["city"]["slug"] == "ostersund"));
}

async fn the_sweep_follows_submissions_and_revision_requests(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let body = json!({ "name": "Anna Focal", "email": "anna@ostersund.se", "primary": true });
    let r = app.call(Method::POST, "/api/v1/cities/ostersund/contacts", Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let mail = MemoryTransport::new();
    assert_eq!(app.sweep(&mail, now(), "a").sent, 1);
    let id = cycle_of(&app, "ostersund").await["id"].as_i64().unwrap();
    // A submission cancels what was planned against the deadline.
    submit(&app, id, 1, at(2026, 11, 25, 9, 0), false);
    let report = app.sweep(&mail, at(2026, 11, 30, 8, 0), "a");
    assert_eq!((report.sent, report.cancelled), (0, 2), "{report:?}");
    // A revision request has its own stages against the revision deadline.
    decide(&app, id, 1, Verdict::Revise(date(2027, 1, 20)), at(2026, 12, 2, 9, 0));
    let mut got = Vec::new();
    for day in 3..=60 {
        let at = date(2026, 12, 1) + chrono::TimeDelta::days(day);
        let lines = app.sweep(&mail, at.and_hms_opt(6, 0, 0).unwrap(), "a").lines;
        got.extend(lines.into_iter().filter(|l| l.contains("ostersund")).map(|l| (at, l)));
    }
    assert_eq!(
        got,
        [
            (date(2027, 1, 13), "sent revision_before_7@2027-01-20 ostersund -> anna@ostersund.se".to_owned()),
            (date(2027, 1, 20), "sent revision_due@2027-01-20 ostersund -> anna@ostersund.se".to_owned()),
        ]
    );
    // The revised version stops the rest.
    submit(&app, id, 2, at(2027, 1, 25, 9, 0), false);
    let report = app.sweep(&mail, at(2027, 2, 3, 6, 0), "a");
    assert_eq!((report.sent, report.cancelled), (0, 1), "{report:?}");
}

async fn deadlines_moved_into_the_past_are_reminded_once(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let mail = MemoryTransport::new();
    // The first sweep sends each cycle's latest due stage; nothing is due yet for the others.
    app.sweep(&mail, now(), "a");
    let sent = mail.messages().len();
    // A catch-up date long past: the escalation is due at once, but Östersund has no contact and
    // received no formal reminder, so it is listed as one that cannot be reminded, not put on
    // notice.
    let ostersund = cycle_of(&app, "ostersund").await["id"].as_i64().unwrap();
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/cycles/{ostersund}/due-date"),
            Some(&app.admin),
            Some(json!({ "due_date": "2026-03-01" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A revision deadline long past: the last revision stage goes to the city.
    let body = json!({ "name": "Focal", "email": "focal@parma.test" });
    let r = app.call(Method::POST, "/api/v1/cities/parma/contacts", Some(&app.admin), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let parma = cycle_of(&app, "parma").await["id"].as_i64().unwrap();
    submit(&app, parma, 1, at(2026, 5, 1, 9, 0), false);
    decide(&app, parma, 1, Verdict::Revise(date(2026, 6, 1)), at(2026, 5, 20, 9, 0));
    let report = app.sweep(&mail, at(2026, 11, 25, 6, 0), "a");
    let mut lines = report.lines.clone();
    lines.sort();
    assert_eq!(lines, ["sent revision_after_14@2026-06-01 parma -> focal@parma.test"], "{report:?}");
    assert!(report.on_notice.is_empty(), "{report:?}");
    let unreachable: Vec<&str> = report.cannot_remind.iter().map(|c| c.slug.as_str()).collect();
    assert_eq!(unreachable, ["ostersund"]);
    assert_eq!(report.cannot_remind[0].days_overdue, 269);
    // The revision reminder and the Secretariat's digest.
    assert_eq!(mail.messages().len(), sent + 2);
    assert!(mail.messages()[sent + 1].subject().ends_with("1 city cannot be reminded"));
    let report = app.sweep(&mail, at(2026, 11, 26, 6, 0), "a");
    assert_eq!((report.planned, report.sent, report.skipped), (0, 0, 0), "{report:?}");
    assert_eq!(app.get("/api/v1/cities/ostersund", None).await.body["status"], "active");
}

/// The `cycle_board` migration of this store.
fn cycle_board<M: MigrationSource<DB>, DB: diesel::backend::Backend>(
    source: &M,
) -> Box<dyn diesel::migration::Migration<DB>> {
    source.migrations().unwrap().into_iter().find(|m| m.name().to_string().ends_with("_cycle_board")).unwrap()
}

/// Reverts the `cycle_board` migration, runs `before` on the schema without it, and applies it
/// again.
fn around_cycle_board(app: &TestApp, before: impl FnOnce(&mut Conn<'_>)) {
    let dir = |store: &str| format!("{}/migrations/{store}", env!("CARGO_MANIFEST_DIR"));
    app.db
        .run_blocking(|conn| {
            match &mut *conn {
                Conn::Sqlite(c) => {
                    let m = cycle_board(&FileBasedMigrations::from_path(dir("sqlite")).unwrap());
                    c.revert_migration(&*m).unwrap();
                }
                Conn::Postgres(c) => {
                    let m = cycle_board(&FileBasedMigrations::from_path(dir("postgres")).unwrap());
                    c.revert_migration(&*m).unwrap();
                }
            }
            before(conn);
            match conn {
                Conn::Sqlite(c) => {
                    let m = cycle_board(&FileBasedMigrations::from_path(dir("sqlite")).unwrap());
                    c.run_migration(&*m).map(drop)
                }
                Conn::Postgres(c) => {
                    let m = cycle_board(&FileBasedMigrations::from_path(dir("postgres")).unwrap());
                    c.run_migration(&*m).map(drop)
                }
            }
        })
        .unwrap();
}

async fn the_migration_backfills_the_cycle_rows(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let mut ids = Vec::new();
    for slug in ["ostersund", "parma", "lyon", "kobe"] {
        ids.push(cycle_of(&app, slug).await["id"].as_i64().unwrap());
    }
    let [ostersund, parma, lyon, kobe] = ids[..] else { unreachable!("four cities") };
    around_cycle_board(&app, |conn| {
        let sha = |n: i64| format!("'{n:064x}'");
        for sql in [
            // Two extensions: the latest is the date in force.
            format!(
                "INSERT INTO cycle_extensions (cycle_id, previous_due, new_due, reason, granted_by, granted_at) VALUES \
                 ({ostersund}, '2026-11-30', '2027-01-15', 'Elections', 's', '2026-11-20 10:00:00'), \
                 ({ostersund}, '2027-01-15', '2027-02-01', 'Translation', 's', '2026-11-21 10:00:00')"
            ),
            // Parma: a revision request on its only version.
            format!(
                "INSERT INTO submissions (cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256, \
                 submitted_by, submitted_at, late) VALUES ({parma}, 1, 'r', 'p', {}, 'c', '2026-11-10 08:00:00', FALSE)",
                sha(1)
            ),
            format!(
                "INSERT INTO review_decisions (submission_id, decision, revision_due, decided_by, decided_at) \
                 SELECT id, 'request_revision', '2027-02-15', 's', '2026-11-12 08:00:00' FROM submissions WHERE cycle_id = {parma}"
            ),
            // Lyon: a decided first version and an undecided second one.
            format!(
                "INSERT INTO submissions (cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256, \
                 submitted_by, submitted_at, late) VALUES ({lyon}, 1, 'r', 'p', {}, 'c', '2026-11-01 08:00:00', FALSE), \
                 ({lyon}, 2, 'r', 'p', {}, 'c', '2026-11-15 08:00:00', FALSE)",
                sha(2),
                sha(3)
            ),
            format!(
                "INSERT INTO review_decisions (submission_id, decision, revision_due, decided_by, decided_at) \
                 SELECT id, 'request_revision', '2027-01-01', 's', '2026-11-05 08:00:00' FROM submissions \
                 WHERE cycle_id = {lyon} AND version = 1"
            ),
            // Kobe: accepted.
            format!(
                "INSERT INTO submissions (cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256, \
                 submitted_by, submitted_at, late) VALUES ({kobe}, 1, 'r', 'p', {}, 'c', '2026-11-02 08:00:00', FALSE)",
                sha(4)
            ),
            format!(
                "INSERT INTO review_decisions (submission_id, decision, accepted_sha256, decided_by, decided_at) \
                 SELECT id, 'accept', {}, 's', '2026-11-03 08:00:00' FROM submissions WHERE cycle_id = {kobe}",
                sha(4)
            ),
        ] {
            exec(conn, &sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    });
    let c = cycle_of(&app, "ostersund").await;
    assert_eq!(
        (c["due_date"].as_str(), c["scheduled_due_date"].as_str(), c["extended"].as_bool()),
        (Some("2027-02-01"), Some("2026-11-30"), Some(true))
    );
    let statuses =
        [("parma", "revision_requested"), ("lyon", "submitted"), ("kobe", "accepted"), ("ostersund", "open")];
    for (slug, status) in statuses {
        assert_eq!(cycle_of(&app, slug).await["status"], status, "{slug}");
    }
    assert_eq!(board_total(&app, "status=revision_requested").await, 1);
    assert_eq!(board_total(&app, "due_from=2027-02-01&due_to=2027-02-01").await, 1);
    // The slugs and fields came along: the city's board and the coordinators' boards.
    let city = app.token(Role::City, None, Some("kobe"));
    let r = app.get("/api/v1/cycles", Some(&city)).await;
    assert_eq!((r.body["total"].as_i64(), r.body["items"][0]["status"].as_str()), (Some(1), Some("accepted")));
    let design = app.token(Role::Coordinator, Some("design"), None);
    let r = app.get("/api/v1/cycles?status=accepted", Some(&design)).await;
    assert_eq!(r.body["total"], 1, "{}", r.text);
}

both_backends!(
    refresh_progress_keeps_the_status_inputs_on_the_cycle_row,
    the_cycle_row_refuses_facts_that_contradict_each_other,
    the_sweep_follows_submissions_and_revision_requests,
    deadlines_moved_into_the_past_are_reminded_once,
    the_migration_backfills_the_cycle_rows,
);
