//! Seeds an archive of N accepted reports (default 10,000, set `MMR_BENCH_REPORTS`) for the
//! archive search benchmark (`benches/search.sh`), and writes the query mix the load tool cycles
//! through and the totals a few queries must answer.
//!
//! The data goes through the project's write paths: the founding cities of `demo/cities.csv` by
//! the CSV import, synthetic cities in every country and creative field by
//! `workflow::cities::create`, their cycles by `workflow::cycles::sync` (tracked from 2010, so
//! most cities have several past cycles), each report by `workflow::submissions::submit` (the
//! template check included) and `workflow::review::decide` (one cycle in twenty first gets a
//! revision request and a second version). Rendering every PDF would take hours, so only the first
//! accepted version is archived by `workflow::archive::archive_accepted` (its time is printed);
//! the others get their archive row from `db::archive::insert` with a stored placeholder PDF and
//! bundle (search reads the texts from the database, never the files). One entry in a
//! hundred is then withdrawn and one in two hundred given a publication date next month, through
//! `workflow::archive::publish`.
//!
//! Report texts are drawn from a vocabulary of 30,000 words with Zipf frequencies (a few words in
//! nearly every report, most words rare) and run from one to twenty pages.
//!
//! The seeded database is kept: a run on a database that already holds N entries only rewrites
//! the query mix and the checks.
//!
//!     MMR_BENCH_DATABASE_URL=sqlite://target/bench-search/archive.sqlite3 cargo bench --bench archive_search
//!
//! Variables: `MMR_BENCH_DATABASE_URL` (a `sqlite://` file or an existing PostgreSQL database;
//! default a SQLite file in the output directory), `MMR_BENCH_OUT` (default
//! `target/bench-search`: `queries.txt`, `checks.tsv` and the placeholder archive store),
//! `MMR_BENCH_REPORTS`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use mmr::db::archive::NewArchivedDocument;
use mmr::db::{self, Conn, Db};
use mmr::domain::cities::{CityInput, NewCity};
use mmr::domain::countries::COUNTRIES;
use mmr::domain::cycles::CycleRules;
use mmr::domain::submissions::DecisionInput;
use mmr::storage::{self, BlobStore};
use mmr::workflow::render::Reporting;
use mmr::workflow::submissions::Upload;
use mmr::workflow::{self, Actor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The moment the archive is seeded as of.
fn seeded_at() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap().and_hms_opt(6, 0, 0).unwrap()
}

/// Cycles are tracked from this due year on, so a city designated in 2004 has four past cycles.
const RULES: CycleRules = CycleRules { due_month: 11, due_day: 30, window_days: 180, first_due_year: 2010 };

const FIELDS: [&str; 7] = ["crafts_folk_art", "design", "film", "gastronomy", "literature", "media_arts", "music"];

/// Words of the network's reports, most frequent first; the vocabulary continues with invented
/// words.
const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "city",
    "culture",
    "creative",
    "with",
    "for",
    "network",
    "cultural",
    "programme",
    "local",
    "international",
    "festival",
    "young",
    "people",
    "development",
    "sustainable",
    "cooperation",
    "heritage",
    "artists",
    "public",
    "partners",
    "project",
    "training",
    "community",
    "economy",
    "education",
    "industries",
    "workshops",
    "residents",
    "tourism",
    "museum",
    "schools",
    "policy",
    "cities",
    "participation",
    "inclusion",
    "exchange",
    "strategy",
    "digital",
    "children",
    "women",
    "university",
    "creativity",
    "events",
    "audiences",
    "municipality",
    "platform",
    "markets",
    "craftspeople",
    "designers",
    "musicians",
    "writers",
    "chefs",
    "filmmakers",
    "libraries",
    "theatre",
    "festivals",
    "innovation",
    "skills",
    "employment",
    "infrastructure",
    "funding",
    "budget",
    "volunteers",
    "neighbourhoods",
    "climate",
    "environment",
    "recovery",
    "pandemic",
    "agenda",
    "goals",
    "indicators",
    "monitoring",
    "evaluation",
    "awareness",
    "communication",
    "media",
    "visitors",
    "exhibitions",
    "residencies",
    "mobility",
    "networking",
    "unesco",
    "mayor",
    "council",
    "stakeholders",
    "associations",
    "fête",
    "bibliothèque",
    "théâtre",
    "café",
    "médiathèque",
    "création",
    "île",
    "façade",
    "gastronomie",
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vi", "do", "ga", "pe", "zo", "ba", "ri", "fu", "la", "mo", "ni", "que",
    "tor", "van", "bel", "sin", "dra",
];

/// How many distinct words the reports draw from.
const VOCABULARY: usize = 30_000;

/// The vocabulary with cumulative Zipf weights (the word of rank r weighs 1 / r).
struct Words {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Words {
    fn new() -> Self {
        let mut words: Vec<String> = COMMON.iter().map(|w| (*w).to_owned()).collect();
        let mut seen: HashSet<String> = words.iter().cloned().collect();
        let mut i = 0usize;
        while words.len() < VOCABULARY {
            let (mut k, mut word) = (i, String::new());
            for _ in 0..2 + i % 3 {
                word.push_str(SYLLABLES[k % SYLLABLES.len()]);
                k /= SYLLABLES.len();
            }
            i += 1;
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn draw(&self, rng: &mut StdRng) -> &str {
        let x = rng.random::<f64>() * self.cumulative[self.cumulative.len() - 1];
        &self.words[self.cumulative.partition_point(|&c| c < x).min(self.words.len() - 1)]
    }

    /// A paragraph of three to seven sentences.
    fn paragraph(&self, rng: &mut StdRng, out: &mut String) -> usize {
        let mut count = 0;
        for _ in 0..rng.random_range(3..8) {
            let n = rng.random_range(8..21);
            for i in 0..n {
                let word = self.draw(rng);
                if i == 0 {
                    let mut chars = word.chars();
                    if let Some(first) = chars.next() {
                        out.extend(first.to_uppercase());
                        out.push_str(chars.as_str());
                    }
                } else {
                    out.push(' ');
                    out.push_str(word);
                }
            }
            out.push_str(". ");
            count += n;
        }
        out.push_str("\n\n");
        count
    }

    /// About `words` words of sections under `headings`, some paragraphs as lists.
    fn sections(&self, rng: &mut StdRng, headings: &[&str], words: usize, lead: &str) -> String {
        let mut out = String::new();
        let per_section = words / headings.len();
        for heading in headings {
            let _ = write!(out, "{heading}\n\n{lead}\n\n");
            let mut written = 0;
            while written < per_section.max(10) {
                if rng.random_range(0..6) == 0 {
                    for _ in 0..rng.random_range(2..6) {
                        out.push_str("- ");
                        written += self.paragraph(rng, &mut out);
                    }
                } else {
                    written += self.paragraph(rng, &mut out);
                }
            }
        }
        out
    }
}

const REPORT_SECTIONS: [&str; 5] = [
    "# Executive Summary",
    "# General Information",
    "# Contribution to the Network's Global Management",
    "# Major Initiatives Implemented at the Local Level",
    "# Major Initiatives Implemented through Inter-City Cooperation",
];

const PLAN_SECTIONS: [&str; 3] =
    ["## Local Initiatives", "## International and Inter-City Initiatives", "## Communication and Awareness Plan"];

/// Words on a page of a report.
const WORDS_PER_PAGE: usize = 350;

/// A report and action plan of one to twenty pages (most short), naming the city.
fn report(words: &Words, rng: &mut StdRng, city: &str, field: &str) -> Upload {
    let pages = 1 + (rng.random::<f64>().powi(3) * 19.0) as usize;
    let total = pages * WORDS_PER_PAGE;
    let lead = format!("{city}, UNESCO Creative City of {}.", field.replace('_', " "));
    let report = words.sections(rng, &REPORT_SECTIONS, total * 3 / 4, &lead);
    let mut plan = String::from("# Proposed Action Plan for the Forthcoming Four-Year Period\n\n");
    plan.push_str(&words.sections(rng, &PLAN_SECTIONS, total / 4, &lead));
    let _ = write!(
        plan,
        "## Budget\n\n| item | EUR |\n|---|---|\n| {} | {} |\n| {} | {} |\n",
        words.draw(rng),
        rng.random_range(1_000..500_000),
        words.draw(rng),
        rng.random_range(1_000..500_000)
    );
    Upload { report_markdown: report.into_bytes(), action_plan_markdown: Some(plan.into_bytes()), attachments: None }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let n: usize = env_or("MMR_BENCH_REPORTS", 10_000);
    let out = PathBuf::from(env_or(
        "MMR_BENCH_OUT",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-search").display().to_string(),
    ));
    std::fs::create_dir_all(&out).unwrap();
    let url =
        env_or("MMR_BENCH_DATABASE_URL", format!("sqlite://{}", out.join(format!("archive-{n}.sqlite3")).display()));
    let db = Db::connect(&url).unwrap();
    db.migrate().unwrap();
    let backend = db.backend().as_str();
    let words = Words::new();
    let existing = db.run_blocking(entries).unwrap();
    if existing == 0 {
        let store = storage::open_store(&out.join(format!("archive-{backend}")).display().to_string()).unwrap();
        let start = Instant::now();
        seed(&db, store.as_ref(), &words, n);
        println!("{backend}: seeded {n} archived reports in {:.0} s", start.elapsed().as_secs_f64());
    } else {
        assert_eq!(existing, n as i64, "{url} holds {existing} archive entries, not {n}: remove it to seed again");
        println!("{backend}: {url} holds the {n} archived reports already");
    }
    let queries = query_mix(&db, &words);
    std::fs::write(out.join("queries.txt"), queries.join("\n") + "\n").unwrap();
    let distinct: HashSet<&String> = queries.iter().collect();
    println!("{backend}: {} queries written ({} distinct) to {}", queries.len(), distinct.len(), out.display());
    let checks = checks(&db, &words);
    std::fs::write(out.join("checks.tsv"), checks).unwrap();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn entries(conn: &mut Conn<'_>) -> Result<i64, db::DbError> {
    let query = diesel::sql_query("SELECT COUNT(*) AS n FROM archived_documents");
    let row: Count = match conn {
        Conn::Sqlite(c) => query.get_result(&mut **c)?,
        Conn::Postgres(c) => query.get_result(&mut **c)?,
    };
    Ok(row.n)
}

/// The cities, cycles, versions, decisions and archive entries of an archive of `n` reports.
fn seed(db: &Db, store: &dyn BlobStore, words: &Words, n: usize) {
    let now = seeded_at();
    let actor = Actor::cli();
    let kit = Reporting::default();
    let mut rng = StdRng::seed_from_u64(6);
    let demo = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/demo/cities.csv")).unwrap();
    let rows = workflow::import::parse_csv(&demo, now.date()).unwrap();
    db.run_blocking(|conn| workflow::import::import(conn, &actor, &rows, false, &workflow::Silent, now)).unwrap();
    // Synthetic cities until their past cycles reach `n`: founding members' countries weigh more.
    let mut planned: usize = rows.iter().map(|r| past_cycles(r.city.designation_date, now.date())).sum::<usize>();
    let mut i = 0;
    while planned < n + n / 20 {
        i += 1;
        let country = if rng.random_range(0..3) == 0 {
            rows[rng.random_range(0..rows.len())].city.country.as_str().to_owned()
        } else {
            COUNTRIES[rng.random_range(0..COUNTRIES.len())].code.to_owned()
        };
        let designated = NaiveDate::from_ymd_opt(rng.random_range(2004..2022), 10, 31).unwrap();
        let name = format!("{} {i}", words.words[rng.random_range(100..2000)]);
        let slug = format!("city-{i}");
        let language = if rng.random_range(0..5) == 0 { "fr" } else { "en" };
        let input = CityInput {
            slug: Some(&slug),
            name: &name,
            country: &country,
            field: FIELDS[rng.random_range(0..FIELDS.len())],
            designation_date: Some(designated),
            language: Some(language),
            ..CityInput::default()
        };
        let city = NewCity::parse(&input, now.date()).unwrap();
        db.run_blocking(|conn| workflow::cities::create(conn, &actor, &city, now)).unwrap();
        planned += past_cycles(designated, now.date());
    }
    db.run_blocking(|conn| workflow::cycles::sync(conn, &actor, &RULES, now)).unwrap();
    let cycles = db.run_blocking(past_due).unwrap();
    let started = Instant::now();
    let mut archived = Vec::with_capacity(n);
    for (k, cycle) in cycles.iter().take(n).enumerate() {
        let upload = report(words, &mut rng, &cycle.city_name, &cycle.field);
        let submitted_at = cycle.due.and_hms_opt(10, 0, 0).unwrap() - TimeDelta::days(rng.random_range(1..60));
        let mut submission = db
            .run_blocking(|conn| {
                workflow::submissions::submit(conn, &actor, &RULES, &kit, cycle.id, Some(&upload), submitted_at)
            })
            .unwrap()
            .submission;
        let mut decided_at = submitted_at + TimeDelta::days(rng.random_range(5..40));
        if k % 20 == 7 {
            let revision = DecisionInput::RequestRevision {
                comments: "Please complete the budget.".into(),
                revision_due: (decided_at + TimeDelta::days(60)).date(),
            };
            db.run_blocking(|conn| {
                workflow::review::decide(conn, &actor, &RULES, submission.id, &revision, decided_at)
            })
            .unwrap();
            let resubmitted = decided_at + TimeDelta::days(20);
            let upload = report(words, &mut rng, &cycle.city_name, &cycle.field);
            submission = db
                .run_blocking(|conn| {
                    workflow::submissions::submit(conn, &actor, &RULES, &kit, cycle.id, Some(&upload), resubmitted)
                })
                .unwrap()
                .submission;
            decided_at = resubmitted + TimeDelta::days(10);
        }
        db.run_blocking(|conn| {
            workflow::review::decide(conn, &actor, &RULES, submission.id, &DecisionInput::Accept, decided_at)
        })
        .unwrap();
        let entry = if k == 0 {
            let start = Instant::now();
            let entry = workflow::archive::archive_accepted(db, store, &kit, &RULES, &actor, submission.id, decided_at)
                .unwrap();
            println!(
                "archive_accepted (render the PDF, write PDF and bundle): {:.0} ms for a {}-byte report",
                start.elapsed().as_secs_f64() * 1000.0,
                upload.report_markdown.len()
            );
            entry
        } else {
            // Stored placeholders, one of each per entry (an entry's files are unique).
            let pdf_bytes = format!("placeholder PDF of version {}", submission.id).into_bytes();
            let bundle_bytes = format!("placeholder bundle of version {}", submission.id).into_bytes();
            let pdf = store.put(&pdf_bytes).unwrap();
            let bundle = store.put(&bundle_bytes).unwrap();
            let edges = (mmr::storage::edges_sha256(&pdf_bytes), mmr::storage::edges_sha256(&bundle_bytes));
            db.run_blocking(|conn| {
                conn.transaction(|conn| {
                    let entry = db::archive::insert(
                        conn,
                        &NewArchivedDocument {
                            submission_id: submission.id,
                            pdf_sha256: &pdf.sha256,
                            pdf_bytes: pdf.bytes as i64,
                            bundle: Some(db::archive::NewBundle {
                                sha256: &bundle.sha256,
                                bytes: bundle.bytes as i64,
                                edges_sha256: &edges.1,
                            }),
                            renderer_version: mmr::render::RENDERER,
                            template_version: kit.template.version(),
                            archived_at: decided_at,
                            published_at: Some(decided_at),
                            public_since: Some(decided_at),
                            pdf_edges_sha256: &edges.0,
                        },
                    )?;
                    Ok::<_, mmr::error::Error>(entry)
                })
            })
            .unwrap()
        };
        archived.push(entry.id);
        if (k + 1) % 1000 == 0 {
            println!("  {} reports archived, {:.0} s", k + 1, started.elapsed().as_secs_f64());
        }
    }
    assert_eq!(archived.len(), n, "the cities' past cycles hold {} reports only", archived.len());
    let next_month = NaiveDate::from_ymd_opt(2026, 12, 15);
    for (k, id) in archived.iter().enumerate() {
        let on = match k % 200 {
            13 | 113 => None,
            57 => next_month,
            _ => continue,
        };
        db.run_blocking(|conn| workflow::archive::publish(conn, &actor, *id, on, now)).unwrap();
    }
}

/// How many cycles of a city designated on `designated` are due before `today`.
fn past_cycles(designated: NaiveDate, today: NaiveDate) -> usize {
    RULES.cycles_started(designated, today).iter().filter(|p| p.due_date < today).count()
}

#[derive(QueryableByName)]
struct PastCycle {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    city_name: String,
    #[diesel(sql_type = Text)]
    field: String,
    #[diesel(sql_type = diesel::sql_types::Date)]
    due: NaiveDate,
}

/// The cycles due before the seeding moment, oldest first.
fn past_due(conn: &mut Conn<'_>) -> Result<Vec<PastCycle>, db::DbError> {
    let query = diesel::sql_query(
        "SELECT y.id AS id, c.name AS city_name, c.field AS field, y.due_date AS due \
         FROM reporting_cycles y JOIN cities c ON c.id = y.city_id \
         WHERE y.due_date < '2026-11-24' ORDER BY y.due_date, y.id",
    );
    Ok(match conn {
        Conn::Sqlite(c) => query.load(&mut **c)?,
        Conn::Postgres(c) => query.load(&mut **c)?,
    })
}

#[derive(QueryableByName)]
struct Code {
    #[diesel(sql_type = Text)]
    code: String,
}

/// The published cities' country codes, one per city (so a country weighs by its cities).
fn city_countries(db: &Db) -> Vec<String> {
    db.run_blocking(|conn| {
        let query = diesel::sql_query("SELECT country AS code FROM cities ORDER BY id");
        Ok::<_, db::DbError>(match conn {
            Conn::Sqlite(c) => query.load::<Code>(&mut **c)?,
            Conn::Postgres(c) => query.load::<Code>(&mut **c)?,
        })
    })
    .unwrap()
    .into_iter()
    .map(|c| c.code)
    .collect()
}

/// How many requests the mix holds.
const MIX: usize = 20_000;

/// The requests of the load test, in a random order: no filter, a field, a field and a year, a
/// country, a common word, a rare word, two words; pages 1 to 5, 20 or 50 a page.
fn query_mix(db: &Db, words: &Words) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(66);
    let countries = city_countries(db);
    (0..MIX)
        .map(|_| {
            let filter = match rng.random_range(0..100) {
                0..15 => String::new(),
                15..35 => format!("field={}&", FIELDS[rng.random_range(0..FIELDS.len())]),
                35..50 => format!(
                    "field={}&year={}&",
                    FIELDS[rng.random_range(0..FIELDS.len())],
                    rng.random_range(2012..2026)
                ),
                50..65 => format!("country={}&", countries[rng.random_range(0..countries.len())]),
                65..80 => format!("q={}&", encoded(&words.words[rng.random_range(5..40)])),
                80..90 => format!("q={}&", encoded(&words.words[rng.random_range(1_000..VOCABULARY)])),
                _ => format!(
                    "q={}+{}&",
                    encoded(&words.words[rng.random_range(5..40)]),
                    encoded(&words.words[rng.random_range(40..1_000)])
                ),
            };
            let page = match rng.random_range(0..10) {
                0..6 => 1,
                6..8 => 2,
                _ => rng.random_range(3..6),
            };
            let per_page = if rng.random_bool(0.5) { 20 } else { 50 };
            format!("/api/v1/archive?{filter}page={page}&per_page={per_page}")
        })
        .collect()
}

/// A word as a query-string value.
fn encoded(word: &str) -> String {
    url::form_urlencoded::byte_serialize(word.as_bytes()).collect()
}

#[derive(QueryableByName)]
struct Texts {
    #[diesel(sql_type = Text)]
    report: String,
    #[diesel(sql_type = Text)]
    plan: String,
}

/// `query<TAB>total` for a few queries, counted without the catalogue's SQL: published entries
/// by plain SQL, words by splitting the published texts in Rust.
fn checks(db: &Db, words: &Words) -> String {
    let now = Utc::now().naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    let count = |sql: String| {
        db.run_blocking(|conn| {
            let query = diesel::sql_query(sql);
            Ok::<_, db::DbError>(match conn {
                Conn::Sqlite(c) => query.get_result::<Count>(&mut **c)?,
                Conn::Postgres(c) => query.get_result::<Count>(&mut **c)?,
            })
        })
        .unwrap()
        .n
    };
    let published = format!(
        "FROM archived_documents d JOIN submissions s ON s.id = d.submission_id \
         JOIN reporting_cycles y ON y.id = s.cycle_id JOIN cities c ON c.id = y.city_id \
         WHERE d.published_at IS NOT NULL AND d.published_at <= '{now}'"
    );
    let mut out = String::new();
    let _ = writeln!(out, "/api/v1/archive\t{}", count(format!("SELECT COUNT(*) AS n {published}")));
    let _ = writeln!(
        out,
        "/api/v1/archive?field=music&year=2020\t{}",
        count(format!("SELECT COUNT(*) AS n {published} AND c.field = 'music' AND y.period_end_year = 2020"))
    );
    let texts: Vec<Texts> = db
        .run_blocking(|conn| {
            let query = diesel::sql_query(format!(
                "SELECT s.report_markdown AS report, s.action_plan_markdown AS plan {published}"
            ));
            Ok::<_, db::DbError>(match conn {
                Conn::Sqlite(c) => query.load(&mut **c)?,
                Conn::Postgres(c) => query.load(&mut **c)?,
            })
        })
        .unwrap();
    for word in [&words.words[12], &words.words[3_000], &words.words[25_000]] {
        let holding = texts
            .iter()
            .filter(|t| {
                [&t.report, &t.plan].iter().any(|text| {
                    text.split(|c: char| !c.is_alphanumeric()).any(|w| w.to_lowercase() == word.to_lowercase())
                })
            })
            .count();
        let _ = writeln!(out, "/api/v1/archive?q={word}\t{holding}");
    }
    out
}
