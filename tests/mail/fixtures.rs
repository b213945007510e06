//! Sample reminder contexts and envelopes shared by the tests.

use chrono::{NaiveDate, TimeDelta, TimeZone};
use mmr::mail::{Envelope, Language, ReminderContext, ReminderKind};

/// Every kind of reminder, with the first and the second of two formal reminders.
pub const KINDS: [ReminderKind; 4] = [
    ReminderKind::Deadline,
    ReminderKind::Formal { number: 1, of: 2 },
    ReminderKind::Formal { number: 2, of: 2 },
    ReminderKind::Revision,
];

/// The fixtures' deadline: 30 November 2026 (at 23:59 in Stockholm).
pub fn deadline_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).expect("valid date")
}

/// Östersund (Gastronomy, 2010), cycle 4, due 30 November 2026 at 23:59 in Stockholm, sent 14
/// days before the deadline, or 14 days after it for a formal reminder.
pub fn context(language: Language, kind: ReminderKind) -> ReminderContext {
    let deadline =
        chrono_tz::Europe::Stockholm.with_ymd_and_hms(2026, 11, 30, 23, 59, 0).single().expect("unambiguous");
    let offset = if matches!(kind, ReminderKind::Formal { .. }) { 14 } else { -14 };
    ReminderContext {
        language,
        kind,
        city_name: "Östersund".to_owned(),
        field_name: match language {
            Language::En => "Gastronomy",
            Language::Fr => "Gastronomie",
        }
        .to_owned(),
        cycle_number: 4,
        period_start_year: 2022,
        period_end_year: 2026,
        deadline,
        extended_from: None,
        today: deadline_day() + TimeDelta::days(offset),
        secretariat_email: "ccn@unesco.example".to_owned(),
        report_url: "https://mmr.unesco.example/cycles/7/draft".to_owned(),
        recipient_name: Some("Anna Svensson".to_owned()),
    }
}

/// The same context sent `days` after the deadline (negative: before it).
pub fn sent_on(mut ctx: ReminderContext, days: i64) -> ReminderContext {
    ctx.today = deadline_day() + TimeDelta::days(days);
    ctx
}

/// One recipient, one copy, the id of a ledger row.
pub fn envelope(id: &str) -> Envelope {
    Envelope {
        from: "UNESCO Creative Cities Network <ccn@unesco.example>".to_owned(),
        to: vec!["Anna Svensson <focal@ostersund.example>".to_owned()],
        cc: vec!["coordinator@gastronomy.example".to_owned()],
        message_id: format!("{id}@mmr.example.org"),
    }
}
