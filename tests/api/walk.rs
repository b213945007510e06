//! A whole reporting cycle walked day by day (the daily job at 06:00 UTC), checking every status
//! change and every reminder against a table written out by hand.

use chrono::{Datelike, NaiveDate, TimeDelta};
use mmr::db::cycles::CycleSelection;
use mmr::domain::cities::{CityInput, NewCity};
use mmr::domain::contacts::NewContact;
use mmr::domain::cycles::CycleRules;
use mmr::mail::MemoryTransport;
use mmr::workflow::{self, Actor};

use crate::both_backends;
use crate::helpers::{TestApp, reminder_config};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn add_city(app: &TestApp, slug: &str, tz: &str, language: &str) {
    let input = CityInput {
        slug: Some(slug),
        name: slug,
        country: "FR",
        field: "design",
        designation_date: Some(date(2023, 10, 31)),
        time_zone: Some(tz),
        language: Some(language),
        ..CityInput::default()
    };
    let city = NewCity::parse(&input, date(2023, 10, 31)).unwrap();
    let contact = NewContact::parse("Focal", &format!("{slug}@uccn.test"), None, None, true).unwrap();
    let at = date(2023, 10, 30).and_hms_opt(0, 0, 0).unwrap();
    app.db
        .run_blocking(|conn| {
            let city = workflow::cities::create(conn, &Actor::cli(), &city, at)?;
            workflow::contacts::create(conn, &Actor::cli(), &city, &contact, at)
        })
        .unwrap();
}

/// (sweep day in UTC, city, stage) of every message, in order.
fn expected_messages() -> Vec<(NaiveDate, &'static str, &'static str)> {
    let mut expected = vec![
        // UTC+14: 06:00 UTC is 20:00 the same day, local.
        (date(2027, 6, 3), "kiritimati", "before_180@2027-11-30"),
        (date(2027, 9, 1), "kiritimati", "before_90@2027-11-30"),
        (date(2027, 10, 31), "kiritimati", "before_30@2027-11-30"),
        (date(2027, 11, 23), "kiritimati", "before_7@2027-11-30"),
        (date(2027, 11, 30), "kiritimati", "due@2027-11-30"),
        (date(2027, 12, 14), "kiritimati", "formal_1@2027-11-30"),
        (date(2028, 1, 14), "kiritimati", "formal_2@2027-11-30"),
        (date(2028, 1, 29), "kiritimati", "escalation@2027-11-30"),
        // UTC-11: 06:00 UTC is 19:00 the day before, local: every message a day later.
        (date(2027, 6, 4), "pago-pago", "before_180@2027-11-30"),
        (date(2027, 9, 2), "pago-pago", "before_90@2027-11-30"),
        (date(2027, 11, 1), "pago-pago", "before_30@2027-11-30"),
        (date(2027, 11, 24), "pago-pago", "before_7@2027-11-30"),
        (date(2027, 12, 1), "pago-pago", "due@2027-11-30"),
        (date(2027, 12, 15), "pago-pago", "formal_1@2027-11-30"),
        (date(2028, 1, 15), "pago-pago", "formal_2@2027-11-30"),
        (date(2028, 1, 30), "pago-pago", "escalation@2027-11-30"),
        // Tokyo, extended on 20 November 2027 to 15 January 2028: the reminders of the old date
        // stop, and the latest stage already due for the new date goes out at once.
        (date(2027, 6, 3), "tokyo", "before_180@2027-11-30"),
        (date(2027, 9, 1), "tokyo", "before_90@2027-11-30"),
        (date(2027, 10, 31), "tokyo", "before_30@2027-11-30"),
        (date(2027, 11, 20), "tokyo", "before_90@2028-01-15"),
        (date(2027, 12, 16), "tokyo", "before_30@2028-01-15"),
        (date(2028, 1, 8), "tokyo", "before_7@2028-01-15"),
        (date(2028, 1, 15), "tokyo", "due@2028-01-15"),
        (date(2028, 1, 29), "tokyo", "formal_1@2028-01-15"),
        // 45 days after 15 January 2028 is 29 February (a leap year).
        (date(2028, 2, 29), "tokyo", "formal_2@2028-01-15"),
        (date(2028, 3, 15), "tokyo", "escalation@2028-01-15"),
    ];
    expected.sort();
    expected
}

/// A status expected on a day: (year, month, day) in UTC at 06:00, city, status, days overdue.
type StatusCheck = ((i32, u32, u32), &'static str, &'static str, i64);

/// The statuses checked on the way.
const STATUSES: &[StatusCheck] = &[
    ((2023, 10, 31), "kiritimati", "upcoming", 0),
    ((2027, 6, 2), "kiritimati", "upcoming", 0),
    ((2027, 6, 3), "kiritimati", "open", 0),
    ((2027, 11, 30), "kiritimati", "open", 0),
    ((2027, 12, 1), "kiritimati", "overdue", 1),
    ((2028, 1, 29), "kiritimati", "overdue", 60),
    ((2027, 6, 3), "pago-pago", "upcoming", 0),
    ((2027, 6, 4), "pago-pago", "open", 0),
    ((2027, 12, 1), "pago-pago", "open", 0),
    ((2027, 12, 2), "pago-pago", "overdue", 1),
    ((2027, 12, 31), "tokyo", "open", 0),
    ((2028, 1, 16), "tokyo", "overdue", 1),
];

async fn a_whole_cycle_day_by_day(app: TestApp) {
    add_city(&app, "kiritimati", "Pacific/Kiritimati", "en");
    add_city(&app, "pago-pago", "Pacific/Pago_Pago", "en");
    add_city(&app, "tokyo", "Asia/Tokyo", "fr");
    let rules = CycleRules::default();
    let cfg = reminder_config();
    let mail = MemoryTransport::new();
    let mut sent = Vec::new();
    let mut checked = 0;
    let mut day = date(2023, 10, 31);
    while day <= date(2028, 3, 20) {
        let now = day.and_hms_opt(6, 0, 0).unwrap();
        if day == date(2027, 11, 20) {
            let tokyo = app
                .db
                .run_blocking(|conn| {
                    workflow::cycles::overview(conn, &rules, now.and_utc(), &CycleSelection::default())
                })
                .unwrap();
            let id = tokyo.iter().find(|c| c.record.city.slug == "tokyo").unwrap().record.id;
            app.db
                .run_blocking(|conn| {
                    workflow::cycles::extend(conn, &Actor::cli(), &rules, id, date(2028, 1, 15), "Elections", now)
                })
                .unwrap();
        }
        let (_, report) =
            workflow::reminders::daily(&app.db, &mail, &cfg, &rules, now, "walk", false, &workflow::Silent).unwrap();
        assert_eq!(report.failed, 0, "{day}: {report:?}");
        for line in &report.lines {
            let mut parts = line.split_whitespace().skip(1);
            let (stage, city) = (parts.next().unwrap().to_owned(), parts.next().unwrap().to_owned());
            sent.push((day, city, stage));
        }
        for &((y, m, d), city, status, overdue) in STATUSES.iter().filter(|s| date(s.0.0, s.0.1, s.0.2) == day) {
            let cycles = app
                .db
                .run_blocking(|conn| {
                    workflow::cycles::overview(conn, &rules, now.and_utc(), &CycleSelection::default())
                })
                .unwrap();
            let c = cycles
                .iter()
                .find(|c| c.record.city.slug == city)
                .unwrap_or_else(|| panic!("{city} has no cycle on {y}-{m}-{d}"));
            assert_eq!((c.state.status.as_str(), c.state.days_overdue), (status, overdue), "{city} on {day}");
            checked += 1;
        }
        day += TimeDelta::days(1);
    }
    assert_eq!(checked, STATUSES.len());
    let mut got: Vec<(NaiveDate, &str, &str)> = sent.iter().map(|(d, c, s)| (*d, c.as_str(), s.as_str())).collect();
    got.sort();
    assert_eq!(got, expected_messages());
    // Each escalation is told to the Secretariat in that day's digest; Tokyo's messages are in French.
    let messages = mail.messages();
    let digests: Vec<_> = messages.iter().filter(|m| m.to() == ["secretariat@uccn.test"]).collect();
    assert_eq!(digests.len(), 3);
    assert!(digests.iter().all(|m| m.subject().ends_with(": 1 city put on notice")), "{:?}", digests[0].subject());
    let tokyo_due =
        messages.iter().find(|m| m.to() == ["tokyo@uccn.test"] && m.body().contains("15 janvier 2028")).unwrap();
    assert!(tokyo_due.subject().contains("tokyo"), "{}", tokyo_due.subject());
    // Its deadline moved: every message of the new date names the one it replaced.
    assert!(tokyo_due.body().contains("(prolongé, initialement le 30 novembre 2027)"), "{}", tokyo_due.body());
    assert_eq!(messages.len(), expected_messages().len());
    assert!(got.iter().all(|(d, _, _)| d.year() >= 2027));
}

both_backends!(a_whole_cycle_day_by_day);
