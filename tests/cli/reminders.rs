//! The reminder scenario of a new user, through the binary and a real SMTP server, on SQLite and
//! PostgreSQL: the founding cities loaded on 7 December 2026, a focal point for three of the 39
//! cities whose reports fell due on 30 November, then `mmr remind` on 7 December, 20 January,
//! 5 February and 19 February. Every message must be true on its day, in its language; no city
//! may be put on notice before two formal reminders reached it; the Secretariat gets one digest
//! a day and nothing on a rerun.

use std::path::Path;
use std::process::Command;

use chrono::NaiveDate;
use mmr::db::Db;
use mmr::domain::contacts::NewContact;
use mmr::workflow::{self, Actor};
use serde_json::Value;

use crate::smtp::SmtpServer;
use crate::{DEMO, mmr, postgres_url, run};

/// The focal points added on 7 December: a city writing in English, one in French, and a third.
const FOCAL_POINTS: [(&str, &str); 3] =
    [("bilbao", "focal@bilbao.test"), ("dakar", "focal@dakar.test"), ("ostersund", "focal@ostersund.test")];

/// Runs `mmr remind --as-of DAY` and returns its standard output.
fn remind(dir: &Path, url: &str, server: &SmtpServer, day: &str) -> String {
    let (ok, out, err) = run(mmr(dir)
        .args(["remind", "--as-of", day])
        .env("MMR_DATABASE_URL", url)
        .env("MMR_SMTP_URL", server.url())
        .env("MMR_SECRETARIAT_EMAIL", "secretariat@uccn.test"));
    assert!(ok, "mmr remind --as-of {day}: {err}");
    out
}

fn subject(message: &Value) -> &str {
    message["headers"]["Subject"].as_str().unwrap_or_default()
}

fn to(message: &Value) -> Vec<&str> {
    message["rcpt_tos"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

fn body(message: &Value) -> &str {
    message["body"].as_str().unwrap_or_default()
}

/// The messages received since `from`, by recipient.
fn since(server: &SmtpServer, from: usize) -> Vec<Value> {
    server.received().into_iter().skip(from).collect()
}

fn to_city<'a>(messages: &'a [Value], address: &str) -> &'a Value {
    let found: Vec<&Value> = messages.iter().filter(|m| to(m).contains(&address)).collect();
    assert_eq!(found.len(), 1, "one message to {address}: {:?}", messages.iter().map(subject).collect::<Vec<_>>());
    found[0]
}

fn on_notice(url: &str) -> Vec<String> {
    let db = Db::connect(url).expect("connect");
    let filter = mmr::db::cities::CityFilter { status: Some("on_notice".into()), ..Default::default() };
    let page = mmr::domain::PageRequest::parse(Some(1), Some(200)).expect("page");
    let cities = db.run_blocking(|conn| workflow::cities::list(conn, &filter, page)).expect("list");
    cities.items.into_iter().map(|c| c.slug).collect()
}

fn scenario(dir: &Path, url: &str) {
    let server = SmtpServer::start();
    let (ok, _, err) = run(mmr(dir).args(["cities", "import", DEMO]).env("MMR_DATABASE_URL", url));
    assert!(ok, "{err}");
    let db = Db::connect(url).expect("connect");
    let added = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap().and_hms_opt(8, 0, 0).unwrap();
    for (slug, email) in FOCAL_POINTS {
        let contact = NewContact::parse("Focal Point", email, None, None, true).expect("contact");
        db.run_blocking(|conn| {
            let city = workflow::cities::get(conn, slug)?;
            workflow::contacts::create(conn, &Actor::cli(), &city, &contact, added)
        })
        .expect("contact added");
    }

    // 7 December: a week after the deadline. The due-day stage goes out, saying so.
    let out = remind(dir, url, &server, "2026-12-07");
    let day1 = since(&server, 0);
    assert_eq!(day1.len(), 4, "three reminders and a digest: {out}");
    let bilbao = to_city(&day1, "focal@bilbao.test");
    assert_eq!(subject(bilbao), "Membership Monitoring Report of Bilbao overdue by 7 days");
    assert!(body(bilbao).contains("was due on 30 November 2026 at 23:59 (Europe/Madrid)"), "{}", body(bilbao));
    assert!(body(bilbao).contains("The deadline passed 7 days ago"), "{}", body(bilbao));
    let dakar = to_city(&day1, "focal@dakar.test");
    assert_eq!(subject(dakar), "Rapport de suivi de l’adhésion de Dakar en retard de 7\u{a0}jours");
    assert!(body(dakar).contains("(domaine créatif\u{a0}: Arts numériques)"), "{}", body(dakar));
    assert!(body(dakar).contains("L’échéance est dépassée de 7\u{a0}jours"), "{}", body(dakar));
    for m in &day1 {
        for untrue in
            ["due today", "aujourd’hui", "before that time", "avant cette heure", "/api/v1/cities/bilbao/cycles"]
        {
            assert!(!body(m).contains(untrue) && !subject(m).contains(untrue), "{untrue:?} in {}", subject(m));
        }
    }
    let digest = to_city(&day1, "secretariat@uccn.test");
    assert_eq!(subject(digest), "MMR daily digest, 7 December 2026: 36 cities cannot be reminded");
    assert!(
        body(digest).contains(
            "- Dublin (Literature), cycle 4: due 30 November 2026, overdue by 7 days. No contact is recorded."
        ),
        "{}",
        body(digest)
    );

    // A rerun the same day sends nothing.
    remind(dir, url, &server, "2026-12-07");
    assert_eq!(server.received().len(), 4);

    // 20 January: the second formal stage is the latest due; it is the first formal reminder these
    // cities receive, and it says so.
    let seen = server.received().len();
    remind(dir, url, &server, "2027-01-20");
    let jan20 = since(&server, seen);
    assert_eq!(jan20.len(), 4, "{:?}", jan20.iter().map(subject).collect::<Vec<_>>());
    assert_eq!(
        subject(to_city(&jan20, "focal@bilbao.test")),
        "Formal reminder 1 of 2: Membership Monitoring Report of Bilbao overdue by 51 days"
    );
    assert_eq!(
        subject(to_city(&jan20, "focal@dakar.test")),
        "Rappel officiel 1 sur 2\u{a0}: rapport de suivi de l’adhésion de Dakar en retard de 51\u{a0}jours"
    );
    assert!(body(to_city(&jan20, "focal@dakar.test")).contains("premier rappel écrit officiel"));

    // 5 February, past the escalation day: one formal reminder delivered, so the second goes out
    // instead, and nobody is put on notice.
    let seen = server.received().len();
    remind(dir, url, &server, "2027-02-05");
    let feb5 = since(&server, seen);
    assert_eq!(feb5.len(), 4, "{:?}", feb5.iter().map(subject).collect::<Vec<_>>());
    assert_eq!(
        subject(to_city(&feb5, "focal@bilbao.test")),
        "Formal reminder 2 of 2: Membership Monitoring Report of Bilbao overdue by 67 days"
    );
    assert!(body(to_city(&feb5, "focal@bilbao.test")).contains("UNESCO may invite it to leave the Network"));
    assert_eq!(
        subject(to_city(&feb5, "secretariat@uccn.test")),
        "MMR daily digest, 5 February 2027: 36 cities cannot be reminded"
    );
    assert!(on_notice(url).is_empty(), "nobody is on notice after one formal reminder");

    // 19 February, 14 days after the second: the three are put on notice, the 36 others are not.
    let seen = server.received().len();
    let out = remind(dir, url, &server, "2027-02-19");
    let feb19 = since(&server, seen);
    assert_eq!(feb19.len(), 1, "only the digest: {:?}", feb19.iter().map(subject).collect::<Vec<_>>());
    assert_eq!(
        subject(&feb19[0]),
        "MMR daily digest, 19 February 2027: 3 cities put on notice, 36 cities cannot be reminded"
    );
    assert!(out.contains("escalated escalation@2026-11-30 dakar (on notice)"), "{out}");
    let mut notice = on_notice(url);
    notice.sort();
    assert_eq!(notice, ["bilbao", "dakar", "ostersund"]);
}

#[test]
fn a_new_users_reminders_are_true_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mmr.sqlite3").display());
    scenario(dir.path(), &url);
}

#[test]
fn a_new_users_reminders_are_true_on_postgres() {
    let Some(admin_url) = postgres_url() else { return };
    let name = format!("mmr_remind_{:016x}", rand::random::<u64>());
    let base = &admin_url[..admin_url.rfind('/').unwrap()];
    let psql = |sql: &str| {
        let ok = Command::new("psql").arg(&admin_url).args(["-qc", sql]).status().map(|s| s.success());
        assert!(matches!(ok, Ok(true)), "psql {sql}");
    };
    psql(&format!("CREATE DATABASE {name}"));
    let dir = tempfile::tempdir().unwrap();
    let result = std::panic::catch_unwind(|| scenario(dir.path(), &format!("{base}/{name}")));
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
