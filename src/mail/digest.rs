//! The Secretariat's daily digest: one message a day instead of one per event, listing the
//! cities put on notice, the cities that cannot be reminded and the messages that failed for
//! good, each with a count and a link to the city's public record. It is written in English, the
//! Secretariat's working language; the caller supplies the facts and decides whether there is
//! anything to say ([`Digest::is_empty`]).

use chrono::NaiveDate;

/// One city in the digest, with what the Secretariat needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCity {
    pub slug: String,
    pub name: String,
    pub field_name: String,
    pub cycle_number: u32,
    /// The deadline in force.
    pub due: NaiveDate,
    /// Days past the deadline on the digest's day.
    pub days_overdue: i64,
    /// What the Secretariat should know of the city's reminders.
    pub note: DigestNote,
}

/// The facts of a city's reminders that the digest states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestNote {
    /// The days its formal reminders were delivered.
    Delivered(Vec<NaiveDate>),
    /// It has no contact.
    NoContact,
    /// Every message of the last reminder failed for good.
    AllFailed,
}

impl DigestNote {
    fn render(&self) -> String {
        match self {
            Self::Delivered(days) => {
                let days: Vec<String> = days.iter().map(|d| super::wording::day(*d, super::Language::En)).collect();
                format!("Formal reminders delivered on {}.", days.join(" and "))
            }
            Self::NoContact => "No contact is recorded.".to_owned(),
            Self::AllFailed => "Every message of the last reminder failed for good.".to_owned(),
        }
    }
}

/// A message that will not be tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMessage {
    pub city_slug: String,
    pub city_name: String,
    /// The ledger stage, e.g. `formal_1@2026-11-30`.
    pub stage: String,
    pub recipient: String,
    pub error: String,
}

/// The facts of one day's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub day: NaiveDate,
    /// The public base URL (no trailing slash), for links to the cities' records.
    pub public_url: String,
    pub on_notice: Vec<DigestCity>,
    pub cannot_remind: Vec<DigestCity>,
    pub failed: Vec<FailedMessage>,
}

impl Digest {
    /// Nothing to report: no digest is sent.
    pub fn is_empty(&self) -> bool {
        self.on_notice.is_empty() && self.cannot_remind.is_empty() && self.failed.is_empty()
    }

    /// The subject line and the plain-text body.
    pub fn render(&self) -> (String, String) {
        let day = super::wording::day(self.day, super::Language::En);
        let counts = [
            count(self.on_notice.len(), "city put on notice", "cities put on notice"),
            count(self.cannot_remind.len(), "city cannot be reminded", "cities cannot be reminded"),
            count(self.failed.len(), "message failed", "messages failed"),
        ];
        let summary: Vec<&str> = counts.iter().filter_map(|c| c.as_deref()).collect();
        let subject = format!("MMR daily digest, {day}: {}", summary.join(", "));
        let mut body = format!("Dear colleagues,\n\nReminder sweep of {day}: {}.\n", summary.join("; "));
        if !self.on_notice.is_empty() {
            body.push_str(&format!(
                "\nPUT ON NOTICE ({}): each received every formal written reminder and has not reported. \
                 Please decide on the next step: contacting the city directly, granting an extension, or \
                 proposing that UNESCO invite the city to leave the Network.\n\n",
                self.on_notice.len()
            ));
            self.cities(&mut body, &self.on_notice);
        }
        if !self.cannot_remind.is_empty() {
            body.push_str(&format!(
                "\nCANNOT BE REMINDED ({}): an overdue report, and no focal point the system can reach. \
                 These cities are not put on notice until they have received the formal reminders; \
                 please add or correct a contact.\n\n",
                self.cannot_remind.len()
            ));
            self.cities(&mut body, &self.cannot_remind);
        }
        if !self.failed.is_empty() {
            body.push_str(&format!(
                "\nMESSAGES FAILED FOR GOOD ({}): the mail server refused them, or every attempt failed.\n\n",
                self.failed.len()
            ));
            for m in &self.failed {
                body.push_str(&format!(
                    "- {} ({}), {} to {}: {}\n  {}\n",
                    m.city_name,
                    m.city_slug,
                    m.stage,
                    m.recipient,
                    m.error,
                    self.link(&m.city_slug)
                ));
            }
        }
        body.push_str("\nThis message was sent automatically by the MMR system, at most once a day.\n");
        (subject, body)
    }

    fn cities(&self, body: &mut String, cities: &[DigestCity]) {
        for c in cities {
            let due = super::wording::day(c.due, super::Language::En);
            let overdue = super::wording::days(c.days_overdue, super::Language::En);
            body.push_str(&format!(
                "- {} ({}), cycle {}: due {due}, overdue by {overdue}. {}\n  {}\n",
                c.name,
                c.field_name,
                c.cycle_number,
                c.note.render(),
                self.link(&c.slug)
            ));
        }
    }

    fn link(&self, slug: &str) -> String {
        format!("{}/desk/cities/{slug}", self.public_url)
    }
}

/// `3 cities put on notice`, or `None` for zero.
fn count(n: usize, one: &str, many: &str) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn city(slug: &str, note: DigestNote) -> DigestCity {
        DigestCity {
            slug: slug.to_owned(),
            name: slug.to_uppercase(),
            field_name: "Music".to_owned(),
            cycle_number: 4,
            due: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            days_overdue: 67,
            note,
        }
    }

    #[test]
    fn a_digest_counts_and_links_each_section() {
        let day = |m, d| NaiveDate::from_ymd_opt(if m == 12 { 2026 } else { 2027 }, m, d).unwrap();
        let digest = Digest {
            day: day(2, 5),
            public_url: "https://mmr.example.org".to_owned(),
            on_notice: vec![city("ghent", DigestNote::Delivered(vec![day(12, 14), day(1, 14)]))],
            cannot_remind: vec![city("dakar", DigestNote::NoContact), city("bilbao", DigestNote::AllFailed)],
            failed: Vec::new(),
        };
        let (subject, body) = digest.render();
        assert_eq!(subject, "MMR daily digest, 5 February 2027: 1 city put on notice, 2 cities cannot be reminded");
        assert!(
            body.contains("Reminder sweep of 5 February 2027: 1 city put on notice; 2 cities cannot be reminded.\n")
        );
        assert!(body.contains("PUT ON NOTICE (1)") && body.contains("CANNOT BE REMINDED (2)"), "{body}");
        assert!(!body.contains("FAILED"), "{body}");
        assert!(
            body.contains(
                "- GHENT (Music), cycle 4: due 30 November 2026, overdue by 67 days. \
                 Formal reminders delivered on 14 December 2026 and 14 January 2027."
            ),
            "{body}"
        );
        assert!(
            body.contains("DAKAR (Music), cycle 4: due 30 November 2026, overdue by 67 days. No contact is recorded.")
        );
        assert!(body.contains("Every message of the last reminder failed for good."), "{body}");
        assert!(body.contains("https://mmr.example.org/desk/cities/dakar"), "{body}");
        assert!(!digest.is_empty());
        let empty = Digest { on_notice: Vec::new(), cannot_remind: Vec::new(), ..digest };
        assert!(empty.is_empty());
    }
}
