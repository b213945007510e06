//! Sample reminder contexts and envelopes shared by the tests.

use chrono::TimeZone;
use mmr::mail::{Envelope, Language, ReminderContext, ReminderKind};

/// Every reminder kind, with two formal reminders.
pub const KINDS: [ReminderKind; 8] = [
    ReminderKind::Upcoming,
    ReminderKind::DueToday,
    ReminderKind::Overdue { formal_number: 1 },
    ReminderKind::Overdue { formal_number: 2 },
    ReminderKind::Escalation,
    ReminderKind::RevisionUpcoming,
    ReminderKind::RevisionDue,
    ReminderKind::RevisionOverdue,
];

/// Östersund (Gastronomy, 2010), cycle 4, due 30 November 2026 at 23:59 in Stockholm.
pub fn context(language: Language, kind: ReminderKind) -> ReminderContext {
    let deadline =
        chrono_tz::Europe::Stockholm.with_ymd_and_hms(2026, 11, 30, 23, 59, 0).single().expect("unambiguous");
    ReminderContext {
        language,
        kind,
        city_name: "Östersund".to_owned(),
        field_name: match language {
            Language::En => "Gastronomy",
            Language::Fr => "gastronomie",
        }
        .to_owned(),
        cycle_number: 4,
        period_start_year: 2022,
        period_end_year: 2026,
        deadline,
        days: 14,
        link: "https://mmr.example.org/cities/ostersund/cycles/4".to_owned(),
        recipient_name: Some("Anna Svensson".to_owned()),
    }
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
