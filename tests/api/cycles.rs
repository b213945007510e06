use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use mmr::domain::auth::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Reply, TestApp};

/// Designation years of the founding cities, from the shipped demo file.
fn designation_years() -> Vec<(String, i32)> {
    let data = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/cities.csv")).unwrap();
    data.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[0].to_owned(), cols[6].parse().unwrap())
        })
        .collect()
}

async fn cycle_id(app: &TestApp, slug: &str) -> i64 {
    let r = app.get(&format!("/api/v1/cities/{slug}/cycles"), Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["items"].as_array().unwrap().last().unwrap()["id"].as_i64().unwrap()
}

async fn sync_creates_the_current_cycles_once(app: TestApp) {
    app.seed_demo();
    // Every founding city is in exactly one cycle due in 2026 or later on 24 November 2026.
    assert_eq!(app.sync_cycles(), 116);
    assert_eq!(app.sync_cycles(), 0);
    let r = app.get("/api/v1/cycles?per_page=200", Some(&app.admin)).await;
    assert_eq!(r.body["total"], 116);
    // Östersund, designated 2010: cycle 4 covers 2022–2026, due 30 November 2026 at 23:59 in Stockholm.
    let r = app.get("/api/v1/cities/ostersund/cycles", Some(&app.admin)).await;
    let c = &r.body["items"][0];
    assert_eq!(
        (c["number"].as_i64(), c["period_start_year"].as_i64(), c["period_end_year"].as_i64()),
        (Some(4), Some(2022), Some(2026))
    );
    assert_eq!(
        (c["due_date"].as_str(), c["deadline"].as_str()),
        (Some("2026-11-30"), Some("2026-11-30T23:59:00+01:00"))
    );
    assert_eq!(
        (c["status"].as_str(), c["days_left"].as_i64(), c["window_opens"].as_str()),
        (Some("open"), Some(6), Some("2026-06-03"))
    );
}

async fn the_board_filters_sorts_and_pages(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let years = designation_years();
    let due_2026 = years.iter().filter(|(_, y)| (2026 - y) % 4 == 0).count() as i64;
    let r = app.get("/api/v1/cycles?status=open&per_page=200", Some(&app.admin)).await;
    assert_eq!(r.body["total"].as_i64(), Some(due_2026), "{}", r.text);
    assert!(r.body["items"].as_array().unwrap().iter().all(|c| c["due_date"] == "2026-11-30"));
    let upcoming = app.get("/api/v1/cycles?status=upcoming", Some(&app.admin)).await;
    assert_eq!(upcoming.body["total"].as_i64(), Some(116 - due_2026));
    let r = app.get("/api/v1/cycles?field=music&country=IT", Some(&app.admin)).await;
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["city"]["field"] == "music" && c["city"]["country"] == "IT")
    );
    let r = app.get("/api/v1/cycles?due_from=2027-01-01&due_to=2027-12-31&per_page=200", Some(&app.admin)).await;
    let due_2027 = years.iter().filter(|(_, y)| (2027 - y) % 4 == 0).count() as i64;
    assert_eq!(r.body["total"].as_i64(), Some(due_2027));
    // Sorted by due date, then city; the latest first with -due_date.
    let r = app.get("/api/v1/cycles?per_page=200&sort=-due_date", Some(&app.admin)).await;
    let dates: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|c| c["due_date"].as_str().unwrap()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]));
    let r = app.get("/api/v1/cycles?per_page=10&page=12", Some(&app.admin)).await;
    assert_eq!((r.body["items"].as_array().unwrap().len(), r.body["total"].as_i64()), (6, Some(116)));
}

async fn overdue_cycles_count_their_days(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let id = cycle_id(&app, "ostersund").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/cycles/{id}/due-date"),
            Some(&app.admin),
            Some(json!({ "due_date": "2026-10-01" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["status"].as_str(), r.body["days_overdue"].as_i64(), r.body["due_date_overridden"].as_bool()),
        (Some("overdue"), Some(54), Some(true))
    );
    let r = app.get("/api/v1/cycles?status=overdue&min_days_overdue=30", Some(&app.admin)).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["city"]["slug"], "ostersund");
    assert_eq!(app.get("/api/v1/cycles?min_days_overdue=55", Some(&app.admin)).await.body["total"], 0);
    let r = app.get("/api/v1/cycles?sort=days_overdue&per_page=1", Some(&app.admin)).await;
    assert_eq!(r.body["items"][0]["city"]["slug"], "ostersund");
}

async fn extensions_move_the_deadline_and_are_kept(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let id = cycle_id(&app, "ostersund").await;
    let path = format!("/api/v1/cycles/{id}/extension");
    let admin = Some(app.admin.as_str());
    // Not earlier, not the same day, and a reason is required.
    for (body, field) in [
        (json!({ "due_date": "2026-11-30", "reason": "x" }), "due_date"),
        (json!({ "due_date": "2026-11-01", "reason": "x" }), "due_date"),
        (json!({ "due_date": "2027-01-15", "reason": "  " }), "reason"),
        (json!({ "due_date": "15/01/2027", "reason": "x" }), "due_date"),
    ] {
        let r = app.call(Method::POST, &path, admin, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", r.text);
        assert_eq!(r.body["error"]["field"], field);
    }
    // Across the year end.
    let r = app
        .call(Method::POST, &path, admin, Some(json!({ "due_date": "2027-01-15", "reason": "Municipal elections" })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["due_date"].as_str(), r.body["scheduled_due_date"].as_str(), r.body["extended"].as_bool()),
        (Some("2027-01-15"), Some("2026-11-30"), Some(true))
    );
    assert_eq!(r.body["days_left"], 52);
    let r =
        app.call(Method::POST, &path, admin, Some(json!({ "due_date": "2027-02-01", "reason": "Translation" }))).await;
    let history = &r.body["extensions"];
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(
        (history[0]["from"].as_str(), history[0]["to"].as_str(), history[0]["reason"].as_str()),
        (Some("2026-11-30"), Some("2027-01-15"), Some("Municipal elections"))
    );
    assert_eq!(
        (history[1]["from"].as_str(), history[1]["granted_by"].as_str()),
        (Some("2027-01-15"), Some("test secretariat"))
    );
    let audit = app.get("/api/v1/audit?action=cycle.extend", admin).await;
    assert_eq!(audit.body["total"], 2);
    // Only the Secretariat extends; unknown cycles are 404.
    let city = app.token(Role::City, None, Some("ostersund"));
    let r =
        app.call(Method::POST, &path, Some(&city), Some(json!({ "due_date": "2027-03-01", "reason": "please" }))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::POST,
            "/api/v1/cycles/999999/extension",
            admin,
            Some(json!({ "due_date": "2027-03-01", "reason": "x" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/cycles/abc", admin).await.status, StatusCode::BAD_REQUEST);
}

async fn cycles_are_read_within_scope(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let ostersund = app.token(Role::City, None, Some("ostersund"));
    let gastronomy = app.token(Role::Coordinator, Some("gastronomy"), None);
    let music = app.token(Role::Coordinator, Some("music"), None);
    assert_eq!(app.get("/api/v1/cycles", None).await.status, StatusCode::UNAUTHORIZED);
    // A city's board is its own cycles.
    let r = app.get("/api/v1/cycles", Some(&ostersund)).await;
    assert_eq!((r.status, r.body["total"].as_i64()), (StatusCode::OK, Some(1)));
    assert_eq!(r.body["items"][0]["city"]["slug"], "ostersund");
    // A coordinator's board is their field; asking for another is refused, not emptied.
    let r = app.get("/api/v1/cycles?per_page=200", Some(&gastronomy)).await;
    assert_eq!(r.body["total"], 18);
    assert!(r.body["items"].as_array().unwrap().iter().all(|c| c["city"]["field"] == "gastronomy"));
    assert_eq!(app.get("/api/v1/cycles?field=music", Some(&gastronomy)).await.status, StatusCode::FORBIDDEN);
    let id = cycle_id(&app, "ostersund").await;
    for (token, status) in
        [(&ostersund, StatusCode::OK), (&gastronomy, StatusCode::OK), (&music, StatusCode::FORBIDDEN)]
    {
        assert_eq!(app.get(&format!("/api/v1/cycles/{id}"), Some(token)).await.status, status);
        assert_eq!(app.get("/api/v1/cities/ostersund/cycles", Some(token)).await.status, status);
        assert_eq!(app.get("/api/v1/cities/ostersund/deadlines.ics", Some(token)).await.status, status);
    }
    assert_eq!(app.get("/api/v1/cities/parma/cycles", Some(&ostersund)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/dashboard", Some(&ostersund)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/dashboard", Some(&gastronomy)).await.body["total"], 18);
}

async fn bad_board_queries_are_refused_by_name(app: TestApp) {
    for (query, status) in [
        ("status=late", StatusCode::UNPROCESSABLE_ENTITY),
        ("field=sculpture", StatusCode::UNPROCESSABLE_ENTITY),
        ("country=XX", StatusCode::UNPROCESSABLE_ENTITY),
        ("due_from=2026-02-30", StatusCode::UNPROCESSABLE_ENTITY),
        ("sort=random", StatusCode::UNPROCESSABLE_ENTITY),
        ("format=xml", StatusCode::UNPROCESSABLE_ENTITY),
        ("min_days_overdue=many", StatusCode::BAD_REQUEST),
    ] {
        let r = app.get(&format!("/api/v1/cycles?{query}"), Some(&app.admin)).await;
        assert_eq!(r.status, status, "{query}: {}", r.text);
    }
}

fn csv_rows(r: &Reply) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(r.text.as_bytes());
    let mut rows = vec![reader.headers().unwrap().iter().map(str::to_owned).collect()];
    rows.extend(reader.records().map(|rec| rec.unwrap().iter().map(str::to_owned).collect()));
    rows
}

async fn the_board_comes_as_csv(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let r = app.get("/api/v1/cycles?format=csv&status=open", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "text/csv; charset=utf-8");
    let rows = csv_rows(&r);
    assert_eq!(rows[0][..4], ["city", "name", "country", "field"]);
    let json = app.get("/api/v1/cycles?status=open&per_page=200", Some(&app.admin)).await;
    assert_eq!(rows.len() as i64 - 1, json.body["total"].as_i64().unwrap());
    assert!(rows[1..].iter().all(|row| row[9] == "open"));
    // Accept: text/csv works too, and names with diacritics survive.
    let req = Request::get("/api/v1/cycles?country=SE")
        .header(header::AUTHORIZATION, format!("Bearer {}", app.admin))
        .header(header::ACCEPT, "text/csv")
        .body(Body::empty())
        .unwrap();
    let rows = csv_rows(&app.send(req).await);
    assert!(rows.iter().any(|row| row[1] == "Östersund"), "{rows:?}");
}

async fn deadlines_come_as_a_calendar(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let r = app.get("/api/v1/cities/ostersund/deadlines.ics", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get(header::CONTENT_TYPE).unwrap(), "text/calendar; charset=utf-8");
    assert!(r.text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && r.text.ends_with("END:VCALENDAR\r\n"));
    assert_eq!(r.text.matches("BEGIN:VEVENT").count(), 1);
    // 23:59 in Stockholm (UTC+1 in November).
    assert!(r.text.contains("DTSTART:20261130T225900Z\r\n"), "{}", r.text);
    assert!(r.text.lines().all(|l| l.len() <= 75));
    let all = app.get("/api/v1/deadlines.ics", Some(&app.admin)).await;
    assert_eq!(all.text.matches("BEGIN:VEVENT").count(), 116);
}

async fn the_dashboard_counts_by_field_country_and_year(app: TestApp) {
    app.seed_demo();
    app.sync_cycles();
    let r = app.get("/api/v1/dashboard", Some(&app.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["total"], 116);
    assert_eq!(r.body["as_of"], "2026-11-24T09:30:00Z");
    let sum = |v: &Value| v.as_object().unwrap().values().map(|n| n.as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum(&r.body["by_status"]), 116);
    assert_eq!(sum(&r.body["by_field"]["design"]), 22);
    assert_eq!(r.body["by_due_year"]["2026"]["open"], r.body["by_status"]["open"]);
    assert_eq!(sum(&r.body["by_country"]["SE"]), 1);
    // No deadline has passed yet, so no on-time rates.
    assert_eq!(r.body["on_time_by_field"], json!({}));
}

both_backends!(
    sync_creates_the_current_cycles_once,
    the_board_filters_sorts_and_pages,
    overdue_cycles_count_their_days,
    extensions_move_the_deadline_and_are_kept,
    cycles_are_read_within_scope,
    bad_board_queries_are_refused_by_name,
    the_board_comes_as_csv,
    deadlines_come_as_a_calendar,
    the_dashboard_counts_by_field_country_and_year,
);
