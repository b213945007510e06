//! The board against a full derivation: every cycle's state from `domain::cycles`, filtered and
//! sorted in Rust (as the board did before it selected in SQL), compared with what the board
//! answers (count, order, pages and the whole list) for many filters and sorts, at moments when
//! cities in zones far from UTC are on either side of a deadline or of a window's opening.

use std::cmp::Reverse;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use mmr::db::cycles::CycleSelection;
use mmr::domain::PageRequest;
use mmr::domain::cities::{CityInput, CityPatch, CityStatus, NewCity};
use mmr::domain::cycles::{CycleRules, CycleStatus, Decision};
use mmr::workflow::cycles::{BoardFilter, BoardSort, CycleOverview};
use mmr::workflow::{self, Actor};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::progress::{Verdict, decide, submit};

const ZONES: [&str; 8] = [
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Europe/Stockholm",
    "Asia/Tokyo",
    "America/Santiago",
    "UTC",
    "Asia/Kathmandu",
    "America/St_Johns",
];

/// Due dates around the base day: long past, around the escalation, around the deadline, and
/// around the window's opening 180 days ahead.
const OFFSETS: [i64; 20] = [-400, -61, -60, -59, -46, -45, -3, -2, -1, 0, 1, 2, 3, 10, 178, 179, 180, 181, 182, 400];

fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 3, 10).unwrap()
}

fn at(day: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    day.and_hms_opt(h, m, 0).unwrap()
}

/// 24 cities in 8 zones, 3 fields and 4 countries, two cycles each with due dates spread around
/// the base day, some extended, some submitted (on time or late), decided, revised, some closed
/// by history (submitted or not, past due or not, on zone-dependent days too), and two cities
/// withdrawn. Returns one city's id.
fn setup(app: &TestApp, rules: &CycleRules) -> i64 {
    let created = at(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(), 0, 0);
    let mut city_ids = Vec::new();
    for i in 0..24 {
        let slug = format!("{}-{i:02}", ["zeta", "alpha", "mid"][i % 3]);
        let input = CityInput {
            slug: Some(&slug),
            name: &slug,
            country: ["FR", "SE", "JP", "CL"][i % 4],
            field: ["music", "design", "film"][i % 3],
            designation_date: NaiveDate::from_ymd_opt(2015, 12, 11),
            time_zone: Some(ZONES[i % ZONES.len()]),
            ..CityInput::default()
        };
        let city = NewCity::parse(&input, created.date()).unwrap();
        city_ids.push(
            app.db.run_blocking(|conn| workflow::cities::create(conn, &Actor::cli(), &city, created)).unwrap().id,
        );
    }
    // Cycles 3 (due 2027) and 4 (due 2031) have started by then.
    let synced = at(NaiveDate::from_ymd_opt(2027, 12, 5).unwrap(), 6, 0);
    let made = app.db.run_blocking(|conn| workflow::cycles::sync(conn, &Actor::cli(), rules, synced)).unwrap();
    assert_eq!(made.created, 48);
    let sel = CycleSelection { include_withdrawn: true, ..CycleSelection::default() };
    let mut cycles: Vec<i64> = app
        .db
        .run_blocking(|conn| workflow::cycles::overview(conn, rules, synced.and_utc(), &sel))
        .unwrap()
        .iter()
        .map(|c| c.record.id)
        .collect();
    cycles.sort_unstable();
    let actor = Actor::cli();
    for (k, id) in cycles.iter().copied().enumerate() {
        let due = base() + TimeDelta::days(OFFSETS[k % OFFSETS.len()]);
        let now = at(base(), 0, 0) - TimeDelta::days(500);
        app.db.run_blocking(|conn| workflow::cycles::set_due_date(conn, &actor, rules, id, due, now)).unwrap();
        let due = if k % 7 == 3 {
            let extended = due + TimeDelta::days(1 + (k % 3) as i64);
            app.db
                .run_blocking(|conn| workflow::cycles::extend(conn, &actor, rules, id, extended, "Elections", now))
                .unwrap();
            extended
        } else {
            due
        };
        match k % 5 {
            0 => {
                submit(app, id, 1, at(due, 12, 0) - TimeDelta::days(3), false);
                if k % 10 == 0 {
                    decide(app, id, 1, Verdict::Accept, at(due, 12, 0));
                }
            }
            1 => {
                submit(app, id, 1, at(due, 12, 0) + TimeDelta::days(2), true);
                decide(app, id, 1, Verdict::Revise(base() + TimeDelta::days(5)), at(due, 12, 0) + TimeDelta::days(3));
                if k % 15 == 1 {
                    submit(app, id, 2, at(due, 12, 0) + TimeDelta::days(4), false);
                }
            }
            _ => {}
        }
    }
    // Closed by the history import: their status is `closed` whatever their dates and versions.
    let closed: Vec<String> =
        cycles.iter().enumerate().filter(|(k, _)| k % 6 == 2).map(|(_, id)| id.to_string()).collect();
    let sql = format!("UPDATE reporting_cycles SET closed_by_history = true WHERE id IN ({})", closed.join(", "));
    app.db.run_blocking(|conn| crate::progress::exec(conn, &sql)).unwrap();
    for i in [5, 11] {
        let slug = format!("{}-{i:02}", ["zeta", "alpha", "mid"][i % 3]);
        let patch = CityPatch { status: Some(CityStatus::Withdrawn), ..CityPatch::default() };
        app.db.run_blocking(|conn| workflow::cities::update(conn, &Actor::cli(), &slug, &patch, created)).unwrap();
    }
    city_ids[7]
}

/// What the board answered before it selected in SQL: every selected cycle's state, then the
/// filters and a stable sort of the cycles as loaded.
fn oracle(all: &[CycleOverview], filter: &BoardFilter) -> Vec<(i64, CycleStatus, i64)> {
    let mut rows: Vec<&CycleOverview> = all
        .iter()
        .filter(|c| filter.status.is_none_or(|s| c.state.status == s))
        .filter(|c| filter.due_from.is_none_or(|d| c.record.due_date() >= d))
        .filter(|c| filter.due_to.is_none_or(|d| c.record.due_date() <= d))
        .filter(|c| filter.min_days_overdue.is_none_or(|n| c.state.days_overdue >= n))
        .collect();
    match filter.sort {
        BoardSort::DueDate => rows.sort_by_key(|c| (c.record.due_date(), c.record.city.slug.clone())),
        BoardSort::DueDateDesc => rows.sort_by_key(|c| (Reverse(c.record.due_date()), c.record.city.slug.clone())),
        BoardSort::DaysOverdue => rows.sort_by_key(|c| (Reverse(c.state.days_overdue), c.record.city.slug.clone())),
        BoardSort::City => rows.sort_by_key(|c| (c.record.city.slug.clone(), c.record.number)),
    }
    rows.iter().map(|c| key(c)).collect()
}

fn key(c: &CycleOverview) -> (i64, CycleStatus, i64) {
    (c.record.id, c.state.status, c.state.days_overdue)
}

/// The submission facts on the cycle row agree with the submissions themselves.
fn check_row_facts(all: &[CycleOverview]) {
    for c in all {
        let r = &c.record;
        assert_eq!(r.first_submitted_at, r.submissions.first().map(|s| s.submitted_at), "cycle {}", r.id);
        let latest =
            r.submissions.last().and_then(|s| s.decision.clone()).map(|(kind, due)| match (kind.as_str(), due) {
                ("request_revision", Some(revision_due)) => Decision::RevisionRequested { revision_due },
                _ => Decision::Accepted,
            });
        assert_eq!(r.latest_decision, latest, "cycle {}", r.id);
    }
}

async fn the_board_answers_as_a_full_derivation_would(app: TestApp) {
    let rules = CycleRules::default();
    let city = setup(&app, &rules);
    let mut filters: Vec<(Option<CycleStatus>, Option<i64>)> = vec![(None, None)];
    filters.extend(CycleStatus::ALL.map(|s| (Some(s), None)));
    filters.extend([(None, Some(1)), (None, Some(2)), (None, Some(46)), (Some(CycleStatus::Overdue), Some(2))]);
    filters.extend([(Some(CycleStatus::Open), Some(1)), (None, Some(0))]);
    let selections = [
        CycleSelection::default(),
        CycleSelection { field: Some("music".into()), ..CycleSelection::default() },
        CycleSelection { country: Some("SE".into()), ..CycleSelection::default() },
        CycleSelection { city_id: Some(city), ..CycleSelection::default() },
        CycleSelection { include_withdrawn: true, ..CycleSelection::default() },
        CycleSelection { field: Some("film".into()), include_withdrawn: true, ..CycleSelection::default() },
    ];
    let windows = [(None, None), (Some(base() - TimeDelta::days(2)), Some(base() + TimeDelta::days(1)))];
    let sorts = [BoardSort::DueDate, BoardSort::DueDateDesc, BoardSort::DaysOverdue, BoardSort::City];
    let mut checked = 0;
    let mut seen = std::collections::BTreeSet::new();
    for now in [at(base(), 0, 30), at(base(), 10, 15), at(base(), 23, 45)] {
        let now: DateTime<Utc> = now.and_utc();
        for sel in &selections {
            let all = app.db.run_blocking(|conn| workflow::cycles::overview(conn, &rules, now, sel)).unwrap();
            check_row_facts(&all);
            for &(status, min_days_overdue) in &filters {
                for &(due_from, due_to) in &windows {
                    for sort in sorts {
                        let filter = BoardFilter { status, due_from, due_to, min_days_overdue, sort };
                        let expected = oracle(&all, &filter);
                        let whole = app
                            .db
                            .run_blocking(|conn| workflow::cycles::board_all(conn, &rules, now, sel, &filter))
                            .unwrap();
                        let what = format!("{filter:?} {sel:?} at {now}");
                        assert_eq!(whole.iter().map(key).collect::<Vec<_>>(), expected, "whole list, {what}");
                        for page in [1, 3] {
                            let request = PageRequest::parse(Some(page), Some(4)).unwrap();
                            let got = app
                                .db
                                .run_blocking(|conn| workflow::cycles::board(conn, &rules, now, sel, &filter, request))
                                .unwrap();
                            assert_eq!(got.total, expected.len() as i64, "total, {what}");
                            let want: Vec<_> =
                                expected.iter().skip(request.offset() as usize).take(4).copied().collect();
                            assert_eq!(got.items.iter().map(key).collect::<Vec<_>>(), want, "page {page}, {what}");
                        }
                        seen.extend(expected.iter().map(|(_, s, d)| (*s, *d > 1)));
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * 6 * 14 * 2 * 4);
    // The data reaches every status, overdue by one day and by more.
    for status in CycleStatus::ALL {
        assert!(seen.iter().any(|(s, _)| *s == status), "no {status:?} cycle: {seen:?}");
    }
    assert!(seen.contains(&(CycleStatus::Overdue, false)) && seen.contains(&(CycleStatus::Overdue, true)));
}

async fn extreme_day_counts_and_pages_are_answered(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    for (query, total, items) in [
        ("min_days_overdue=9223372036854775807", 0, 0),
        ("min_days_overdue=0&sort=days_overdue&per_page=200", 116, 116),
        ("status=overdue&min_days_overdue=1&sort=days_overdue", 0, 0),
        ("due_from=9999-12-31", 0, 0),
        ("due_to=0001-01-01&sort=-due_date", 0, 0),
        ("page=1000000&per_page=200", 116, 0),
        ("page=1000000&per_page=200&sort=days_overdue", 116, 0),
    ] {
        let r = app.get(&format!("/api/v1/cycles?{query}"), Some(&app.admin)).await;
        assert_eq!(r.status, axum::http::StatusCode::OK, "{query}: {}", r.text);
        assert_eq!(
            (r.body["total"].as_i64(), r.body["items"].as_array().map(Vec::len)),
            (Some(total), Some(items)),
            "{query}"
        );
    }
    // A negative number of days is no count of days (found by Schemathesis against the document).
    for query in ["min_days_overdue=-1", "min_days_overdue=-9223372036854775808"] {
        let r = app.get(&format!("/api/v1/cycles?{query}"), Some(&app.admin)).await;
        assert_eq!(r.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(r.body["error"]["field"], "min_days_overdue");
    }
}

both_backends!(the_board_answers_as_a_full_derivation_would, extreme_day_counts_and_pages_are_answered);
