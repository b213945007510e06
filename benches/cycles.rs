//! The board and the reminder sweep at network scale: N synthetic cities (default 100,000, set
//! `MMR_BENCH_CITIES`) with three cycles each, one contact each, and on-time reports for most
//! past cycles. Runs on SQLite (a temporary file) and, when `MMR_BENCH_POSTGRES_URL` is set, on a
//! fresh PostgreSQL database. Prints one line per measurement, and the load average around each
//! store's run (the figures are wall-clock times).
//!
//! The data is written under the schema as it was before the `cycle_board` migration, so the
//! migration's backfill of the cycle rows is measured too.
//!
//!     cargo bench --bench cycles
//!     MMR_BENCH_CITIES=10000 MMR_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1/postgres cargo bench --bench cycles

use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{FileBasedMigrations, MigrationHarness};
use mmr::db::Db;
use mmr::db::cycles::CycleSelection;
use mmr::domain::PageRequest;
use mmr::domain::cycles::{CycleRules, CycleStatus};
use mmr::mail::MemoryTransport;
use mmr::workflow::cycles::{BoardFilter, BoardSort};
use mmr::workflow::reminders::ReminderConfig;

/// The migration whose backfill is measured: the data is seeded just before it.
const BACKFILLED: &str = "cycle_board";

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
    println!("{backend:<8} {n:>7} cities  {label:<52} {:>9.1} ms", start.elapsed().as_secs_f64() * 1000.0);
    out
}

/// Runs `f` once cold, then [`RUNS`] times more; prints the cold time and the median, fastest and
/// slowest of the others (the machine is shared, so one run says little).
fn repeated<T>(label: &str, backend: &str, n: u64, mut f: impl FnMut() -> T) -> T {
    let start = Instant::now();
    let mut out = f();
    let cold = start.elapsed().as_secs_f64() * 1000.0;
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            out = f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{backend:<8} {n:>7} cities  {label:<52} {:>9.1} ms median ({:.1}–{:.1}, cold {cold:.1})",
        times[RUNS / 2],
        times[0],
        times[RUNS - 1]
    );
    out
}

/// Warm runs of each board query.
const RUNS: usize = 10;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(|_| "unknown".into(), |l| l.trim().to_owned())
}

fn bench(backend: &str, url: &str, n: u64) {
    println!("{backend:<8} {n:>7} cities  load average before: {}", load_average());
    timed("seed (SQL, schema before the cycle_board migration)", backend, n, || seed(url, n));
    let db = Db::connect(url).unwrap();
    timed("migration cycle_board (backfill of the cycle rows)", backend, n, || db.migrate().unwrap());
    if backend == "postgres" {
        // What autovacuum does after a bulk change; index-only scans need the visibility map.
        let mut c = PgConnection::establish(url).unwrap();
        timed("VACUUM ANALYZE", backend, n, || c.batch_execute("VACUUM ANALYZE").unwrap());
    }
    let rules = CycleRules::default();
    let now = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(6, 0, 0).unwrap();
    let overdue = BoardFilter { status: Some(CycleStatus::Overdue), ..BoardFilter::default() };
    let expected = unsubmitted_due_before(url, "2026-11-24");
    let total =
        board(backend, n, "board: overdue, first page + count", &db, &rules, now, &CycleSelection::default(), &overdue);
    assert_eq!(total, expected, "the overdue count");
    let music = CycleSelection { field: Some("music".into()), ..CycleSelection::default() };
    let by_days = BoardFilter { sort: BoardSort::DaysOverdue, ..overdue.clone() };
    let open = BoardFilter { status: Some(CycleStatus::Open), ..BoardFilter::default() };
    let submitted = BoardFilter { status: Some(CycleStatus::Submitted), ..BoardFilter::default() };
    let everything = BoardFilter::default();
    let city_sort = BoardFilter { sort: BoardSort::City, ..BoardFilter::default() };
    let all = CycleSelection::default();
    board(backend, n, "board: overdue in one field (a coordinator)", &db, &rules, now, &music, &overdue);
    board(backend, n, "board: overdue, most days overdue first", &db, &rules, now, &all, &by_days);
    board(backend, n, "board: open", &db, &rules, now, &all, &open);
    board(backend, n, "board: submitted", &db, &rules, now, &all, &submitted);
    board(backend, n, "board: everything, by due date", &db, &rules, now, &all, &everything);
    board(backend, n, "board: everything, by city", &db, &rules, now, &all, &city_sort);
    let rows = repeated("board: overdue, whole list (CSV)", backend, n, || {
        db.run_blocking(|conn| mmr::workflow::cycles::board_all(conn, &rules, now.and_utc(), &all, &overdue))
            .unwrap()
            .len()
    });
    assert_eq!(rows as i64, expected);
    // The morning after a quarter of the network's reports fell due: their zones decide.
    let after = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(6, 0, 0).unwrap();
    let expected = unsubmitted_due_before(url, "2026-12-01");
    let total = board(backend, n, "board: overdue, the morning after a deadline", &db, &rules, after, &all, &overdue);
    assert_eq!(total, expected, "the overdue count after the deadline (all zones are Europe/Paris)");
    let cfg = ReminderConfig {
        schedule: Default::default(),
        from: "b <b@bench.test>".into(),
        public_url: "https://bench.test".into(),
        secretariat_email: "s@bench.test".into(),
        max_attempts: 3,
    };
    let mail = MemoryTransport::new();
    for (label, at) in [
        ("sweep: first (plans the ledger, sends)", now),
        ("sweep: the next day", now + TimeDelta::days(1)),
        ("sweep: the day after", now + TimeDelta::days(2)),
    ] {
        let report = timed(label, backend, n, || {
            mmr::workflow::reminders::sweep(&db, &mail, &cfg, &rules, at, "bench", false, &mmr::workflow::Silent)
                .unwrap()
        });
        println!(
            "{backend:<8} {n:>7} cities    planned {} sent {} skipped {} cancelled {}",
            report.planned, report.sent, report.skipped, report.cancelled
        );
    }
    println!("{backend:<8} {n:>7} cities  load average after: {}", load_average());
}

/// Times one board query (first page of 50, with the count); returns the count.
#[allow(clippy::too_many_arguments)]
fn board(
    backend: &str,
    n: u64,
    label: &str,
    db: &Db,
    rules: &CycleRules,
    now: NaiveDateTime,
    sel: &CycleSelection,
    filter: &BoardFilter,
) -> i64 {
    let page = repeated(label, backend, n, || {
        db.run_blocking(|conn| {
            mmr::workflow::cycles::board(conn, rules, now.and_utc(), sel, filter, PageRequest::default())
        })
        .unwrap()
    });
    assert!(page.items.len() as i64 == page.total.min(50), "{label}: {} rows of {}", page.items.len(), page.total);
    page.total
}

/// Cycles without a submission due before `date`, counted in plain SQL: the overdue list when
/// every city is in one zone a day or more past the deadline.
fn unsubmitted_due_before(url: &str, date: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = format!(
        "SELECT count(*) AS n FROM reporting_cycles r WHERE NOT EXISTS \
         (SELECT 1 FROM submissions s WHERE s.cycle_id = r.id) AND r.due_date < '{date}'"
    );
    let counted: Count = if let Some(path) = url.strip_prefix("sqlite://") {
        diesel::sql_query(sql).get_result(&mut SqliteConnection::establish(path).unwrap())
    } else {
        diesel::sql_query(sql).get_result(&mut PgConnection::establish(url).unwrap())
    }
    .unwrap();
    counted.n
}

/// Applies the migrations that come before [`BACKFILLED`].
fn migrate_before<C: MigrationHarness<B>, B: diesel::backend::Backend>(c: &mut C, dir: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dir);
    let source = FileBasedMigrations::from_path(path).unwrap();
    for migration in c.pending_migrations(source).unwrap() {
        if migration.name().to_string().ends_with(BACKFILLED) {
            break;
        }
        c.run_migration(&*migration).unwrap();
    }
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
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut c = SqliteConnection::establish(path).unwrap();
        c.batch_execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;").unwrap();
        migrate_before(&mut c, "sqlite");
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
        migrate_before(&mut c, "postgres");
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
