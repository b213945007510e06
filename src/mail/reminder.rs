//! What a reminder says: the kinds of reminder, the facts the caller supplies about the city and
//! its deadline, and the rendering of those facts into a subject line and a plain-text body
//! through the embedded templates.

use chrono::DateTime;
use chrono_tz::Tz;

use crate::mail::MailError;
use crate::mail::templates::{self, Template};
use crate::mail::wording;

/// Language of a message; each has its own set of templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    En,
    /// French.
    Fr,
}

impl Language {
    /// Every supported language, for tests and for callers that list them.
    pub const ALL: [Language; 2] = [Language::En, Language::Fr];

    /// ISO 639-1 code, also the template directory name.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Fr => "fr",
        }
    }
}

/// The stage of the reminder ledger a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// The report is due in `days` days (the submission window is open or about to open).
    Upcoming,
    /// The report is due today.
    DueToday,
    /// A formal written reminder after the deadline, numbered from 1. The second and later ones
    /// say that UNESCO may invite a city that does not report to leave the Network.
    Overdue {
        /// 1 for the first formal reminder, 2 for the second, and so on.
        formal_number: u8,
    },
    /// To the Secretariat: the city has been silent `days` days after its deadline and is now
    /// marked on notice.
    Escalation,
    /// A revision requested by the Secretariat is due in `days` days.
    RevisionUpcoming,
    /// A requested revision is due today.
    RevisionDue,
    /// A requested revision is `days` days late.
    RevisionOverdue,
}

/// The facts a reminder states. Text values are plain text: line breaks and other control
/// characters are replaced by spaces, and braces are never interpreted as placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderContext {
    /// Language of the message (the city's language).
    pub language: Language,
    /// Which reminder this is.
    pub kind: ReminderKind,
    /// The city's display name.
    pub city_name: String,
    /// The creative field's display name, in the message language.
    pub field_name: String,
    /// Reporting cycle number, from 1.
    pub cycle_number: u32,
    /// First year of the period the report covers.
    pub period_start_year: i32,
    /// Last year of the period the report covers.
    pub period_end_year: i32,
    /// The deadline in the city's time zone (report or revision deadline, by kind), formatted per
    /// language by the module.
    pub deadline: DateTime<Tz>,
    /// Days left before the deadline (`Upcoming`, `RevisionUpcoming`) or days since it (`Overdue`,
    /// `Escalation`, `RevisionOverdue`); ignored by the due-today kinds. Never negative.
    pub days: i64,
    /// Absolute `http(s)` URL of the page to act on, built by the caller from `MMR_PUBLIC_URL`.
    pub link: String,
    /// Name of the addressee, if known; otherwise a collective greeting is used.
    pub recipient_name: Option<String>,
}

/// A rendered reminder, before addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RenderedText {
    pub(crate) subject: String,
    pub(crate) body: String,
}

impl ReminderContext {
    /// Fills the template for this kind and language.
    pub(crate) fn render(&self) -> Result<RenderedText, MailError> {
        self.check()?;
        let language = self.language;
        let template = Template::for_kind(self.kind);
        let formal_number = match self.kind {
            ReminderKind::Overdue { formal_number } => formal_number,
            _ => 1,
        };
        let ordinal = wording::ordinal(formal_number, language);
        let city_name = plain(&self.city_name);
        let values: [(&str, String); 12] = [
            ("greeting", wording::greeting(self.recipient_name.as_deref().map(plain).as_deref(), language)),
            ("de_city_name", wording::french_de(&city_name)),
            ("city_name", city_name),
            ("field_name", plain(&self.field_name)),
            ("cycle_number", self.cycle_number.to_string()),
            ("period", wording::period(self.period_start_year, self.period_end_year)),
            ("deadline", wording::deadline(&self.deadline, language)),
            ("deadline_date", wording::date(&self.deadline, language)),
            ("days", wording::days(self.days, language)),
            ("link", plain(&self.link)),
            ("formal_ordinal_title", wording::capitalized(&ordinal)),
            ("formal_ordinal", ordinal),
        ];
        templates::render(template, language, &values)
    }

    fn check(&self) -> Result<(), MailError> {
        if self.days < 0 {
            return Err(MailError::InvalidReminder(format!("days must not be negative (got {})", self.days)));
        }
        if let ReminderKind::Overdue { formal_number: 0 } = self.kind {
            return Err(MailError::InvalidReminder("formal reminders are numbered from 1".to_owned()));
        }
        let link_ok = (self.link.starts_with("https://") || self.link.starts_with("http://"))
            && !self.link.chars().any(|c| c.is_whitespace() || c.is_control());
        if !link_ok {
            return Err(MailError::InvalidReminder("link must be an absolute http(s) URL without spaces".to_owned()));
        }
        if self.city_name.trim().is_empty() {
            return Err(MailError::InvalidReminder("city name is empty".to_owned()));
        }
        Ok(())
    }
}

/// A caller-supplied value as one line of plain text: control characters (CR, LF, tabs…) become
/// spaces, so no value can start a new header line or fake a paragraph of the template.
fn plain(value: &str) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_flattens_control_characters() {
        assert_eq!(plain(" Ghent\r\nBcc: x@example.org\t"), "Ghent  Bcc: x@example.org");
    }
}
