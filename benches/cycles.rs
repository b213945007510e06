//! The board and the reminder sweep at network scale: N synthetic cities (default 100,000, set
//! `MMR_BENCH_CITIES`) with three cycles each, one contact each, and on-time reports for most
//! past cycles. Runs on SQLite (a temporary file) and, when `MMR_BENCH_POSTGRES_URL` is set, on a
//! fresh PostgreSQL database. Prints one line per measurement.
//!
//!     cargo bench --bench cycles
//!     MMR_BENCH_CITIES=10000 MMR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench cycles

use std::time::Instant;

use chrono::NaiveDate;
use diesel::{Connection, PgConnection, RunQueryDsl};
use mmr::db::Db;
use mmr::db::cycles::CycleSelection;
use mmr::domain::cycles::{CycleRules, CycleStatus};
use mmr::mail::MemoryTransport;
use mmr::workflow::cycles::BoardFilter;
use mmr::workflow::reminders::ReminderConfig;

fn main() {
    let n: u64 = std::env::var("MMR_BENCH_CITIES").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    bench("sqlite", &format!("sqlite://{}", dir.path().join("bench.sqlite3").display()), n);
    if let Ok(admin) = std::env::var("MMR_BENCH_POSTGRES_URL") {
        let name = format!("mmr_bench_{}", std::process::id());
        let mut c = PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut c).unwrap();
        let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
        bench("postgres", &url, n);
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut c).unwrap();
    }
}

fn timed<T>(label: &str, backend: &str, n: u64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{backend:<8} {n:>7} cities  {label:<40} {:>9.1} ms", start.elapsed().as_secs_f64() * 1000.0);
    out
}

fn bench(backend: &str, url: &str, n: u64) {
    let db = Db::connect(url).unwrap();
    db.migrate().unwrap();
    timed("seed (SQL)", backend, n, || seed(url, n));
    let rules = CycleRules::default();
    let now = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(6, 0, 0).unwrap();
    let filter = BoardFilter { status: Some(CycleStatus::Overdue), ..BoardFilter::default() };
    for run in ["board: overdue, first page + count (cold)", "board: overdue, first page + count"] {
        let (total, page) = timed(run, backend, n, || {
            let rows = db
                .run_blocking(|conn| {
                    mmr::workflow::cycles::board(conn, &rules, now.and_utc(), &CycleSelection::default(), &filter)
                })
                .unwrap();
            (rows.len(), rows.into_iter().take(50).count())
        });
        assert!(total > 0 && page == 50);
    }
    let cfg = ReminderConfig {
        schedule: Default::default(),
        from: "b <b@bench.test>".into(),
        public_url: "https://bench.test".into(),
        secretariat_email: "s@bench.test".into(),
        max_attempts: 3,
    };
    let mail = MemoryTransport::new();
    let report = timed("sweep: first (plans the ledger, sends)", backend, n, || {
        mmr::workflow::reminders::sweep(&db, &mail, &cfg, &rules, now, "bench", false).unwrap()
    });
    println!(
        "{backend:<8} {n:>7} cities    planned {} sent {} skipped {}",
        report.planned, report.sent, report.skipped
    );
    let report = timed("sweep: the next day", backend, n, || {
        mmr::workflow::reminders::sweep(&db, &mail, &cfg, &rules, now + chrono::TimeDelta::days(1), "bench", false)
            .unwrap()
    });
    println!(
        "{backend:<8} {n:>7} cities    planned {} sent {} skipped {}",
        report.planned, report.sent, report.skipped
    );
}

/// N cities designated 2006–2009 (so their cycles are due in 2018–2021, 2022–2025, 2026–2029),
/// one contact each, on-time reports for 70% of the past cycles.
fn seed(url: &str, n: u64) {
    let fields = "CASE i % 7 WHEN 0 THEN 'music' WHEN 1 THEN 'design' WHEN 2 THEN 'film' WHEN 3 THEN 'gastronomy' \
                  WHEN 4 THEN 'literature' WHEN 5 THEN 'media_arts' ELSE 'crafts_folk_art' END";
    let statements = |series: &str, date: &dyn Fn(&str) -> String, now: &str| {
        vec![
            format!(
                "INSERT INTO cities (slug, name, country, field, designation_date, time_zone, language, status, search_text, created_at, updated_at) \
                 SELECT 'city-' || i, 'City ' || i, 'FR', {fields}, {}, 'Europe/Paris', 'en', 'active', 'city ' || i, {now}, {now} FROM {series}",
                date("2006 + i % 4")
            ),
            format!(
                "INSERT INTO contacts (city_id, name, email, is_primary, created_at, updated_at) \
                 SELECT id, 'Focal', slug || '@bench.test', TRUE, {now}, {now} FROM cities"
            ),
        ]
    };
    if url.starts_with("sqlite://") {
        let mut c = diesel::SqliteConnection::establish(url.trim_start_matches("sqlite://")).unwrap();
        let series =
            format!("(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s)");
        let date = |y: &str| format!("printf('%04d-10-31', {y})");
        let mut sql = statements(&series, &date, "datetime('now')");
        sql.push(
            "INSERT INTO reporting_cycles (city_id, number, period_start_year, period_end_year, due_date, due_date_overridden, created_at) \
             SELECT c.id, k.k + 2, CAST(substr(c.designation_date, 1, 4) AS INTEGER) + 4 * (k.k + 1), \
                    CAST(substr(c.designation_date, 1, 4) AS INTEGER) + 4 * (k.k + 2), \
                    printf('%04d-11-30', CAST(substr(c.designation_date, 1, 4) AS INTEGER) + 4 * (k.k + 2)), 0, datetime('now') \
             FROM cities c, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) k"
                .into(),
        );
        sql.push(submissions_sql("datetime(r.due_date, '-10 days')", "lower(hex(randomblob(32)))", "(r.id % 10) < 7"));
        for s in sql {
            c.batch_execute(&s).unwrap();
        }
    } else {
        let mut c = PgConnection::establish(url).unwrap();
        let series = format!("generate_series(1, {n}) AS i");
        let date = |y: &str| format!("make_date({y}, 10, 31)");
        let mut sql = statements(&series, &date, "now()");
        sql.push(
            "INSERT INTO reporting_cycles (city_id, number, period_start_year, period_end_year, due_date, due_date_overridden, created_at) \
             SELECT c.id, k + 2, extract(year FROM c.designation_date)::int + 4 * (k + 1), \
                    extract(year FROM c.designation_date)::int + 4 * (k + 2), \
                    make_date(extract(year FROM c.designation_date)::int + 4 * (k + 2), 11, 30), FALSE, now() \
             FROM cities c CROSS JOIN generate_series(1, 3) AS k"
                .into(),
        );
        sql.push(submissions_sql("r.due_date - 10", "md5(r.id::text) || md5(r.id::text)", "(r.id % 10) < 7"));
        sql.push("ANALYZE".into());
        for s in sql {
            c.batch_execute(&s).unwrap();
        }
    }
}

fn submissions_sql(submitted_at: &str, hash: &str, which: &str) -> String {
    format!(
        "INSERT INTO submissions (cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256, submitted_by, submitted_at, late) \
         SELECT r.id, 1, '# Report', '# Plan', {hash}, 'bench', {submitted_at}, FALSE \
         FROM reporting_cycles r WHERE r.due_date < '2026-01-01' AND {which}"
    )
}

use diesel::connection::SimpleConnection;
