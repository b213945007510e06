//! What a reminder says: the kinds of reminder, the facts the caller supplies about the city and
//! its deadline, and the rendering of those facts into a subject line and a plain-text body
//! through the embedded templates.

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use crate::domain::reminders::Relation;

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

impl From<crate::domain::cities::Language> for Language {
    /// A city's language, which its messages are written in.
    fn from(language: crate::domain::cities::Language) -> Self {
        match language {
            crate::domain::cities::Language::En => Language::En,
            crate::domain::cities::Language::Fr => Language::Fr,
        }
    }
}

/// What a reminder is about. Whether it says "due in 7 days", "due today" or "overdue by 7
/// days" is not part of the kind: it follows from the deadline and the day it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    /// A reminder of the report's deadline: ahead of it, on the day, or after it when it goes
    /// out late (a contact added late, an outage).
    Deadline,
    /// A formal written reminder after the deadline, copied to the field coordinator: `number`
    /// of `of`, numbered by the formal reminders the city has actually received. From the second
    /// on it says that UNESCO may invite a city that does not report to leave the Network.
    Formal {
        /// 1 for the first the city receives, 2 for the second, and so on.
        number: u8,
        /// How many the city receives before it may be put on notice.
        of: u8,
    },
    /// A reminder of the deadline of a revision the Secretariat asked for.
    Revision,
}

/// The facts a reminder states, as they are on the day it is sent. Text values are plain text:
/// line breaks and other control characters are replaced by spaces, and braces are never
/// interpreted as placeholders.
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
    /// The deadline in force in the city's time zone (report or revision deadline, by kind).
    pub deadline: DateTime<Tz>,
    /// The deadline before an extension moved it, when one did.
    pub extended_from: Option<NaiveDate>,
    /// The day the message is sent, in the city's time zone: with `deadline` it decides what the
    /// message says and the number of days it states.
    pub today: NaiveDate,
    /// The Secretariat's address, where the city can send the report or ask for more time.
    pub secretariat_email: String,
    /// The page where the report is drafted and submitted (a person signs in there with their
    /// address and is brought back to it).
    pub report_url: String,
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
    /// Where the sending day stands against the deadline.
    pub fn relation(&self) -> Relation {
        Relation::of(self.deadline.date_naive(), self.today)
    }

    /// Fills the template for this kind, this day and this language.
    pub(crate) fn render(&self) -> Result<RenderedText, MailError> {
        self.check()?;
        let language = self.language;
        let relation = self.relation();
        let template = Template::choose(self.kind, relation).ok_or_else(|| {
            MailError::InvalidReminder(format!(
                "a formal reminder is sent only after the deadline ({} is {relation:?})",
                self.today
            ))
        })?;
        let (number, of) = match self.kind {
            ReminderKind::Formal { number, of } => (number, of),
            _ => (1, 1),
        };
        let days = match relation {
            Relation::Before(n) | Relation::After(n) => n,
            Relation::Today => 0,
        };
        let ordinal = wording::ordinal(number, language);
        let city_name = plain(&self.city_name);
        let values: [(&str, String); 16] = [
            ("greeting", wording::greeting(self.recipient_name.as_deref().map(plain).as_deref(), language)),
            ("de_city_name", wording::french_de(&city_name)),
            ("city_name", city_name),
            ("field_name", plain(&self.field_name)),
            ("cycle_number", self.cycle_number.to_string()),
            ("period", wording::period(self.period_start_year, self.period_end_year)),
            ("deadline", wording::deadline(&self.deadline, language)),
            ("deadline_date", wording::date(&self.deadline, language)),
            ("extension_note", self.extended_from.map(|d| wording::extended_from(d, language)).unwrap_or_default()),
            ("days", wording::days(days, language)),
            ("secretariat_email", plain(&self.secretariat_email)),
            ("report_url", plain(&self.report_url)),
            ("formal_number", number.to_string()),
            ("formal_count", of.to_string()),
            ("formal_ordinal_title", wording::capitalized(&ordinal)),
            ("formal_ordinal", ordinal),
        ];
        templates::render(template, language, &values)
    }

    fn check(&self) -> Result<(), MailError> {
        if let ReminderKind::Formal { number, of } = self.kind
            && (number == 0 || number > of)
        {
            return Err(MailError::InvalidReminder(format!(
                "formal reminders are numbered from 1 to their count (got {number} of {of})"
            )));
        }
        let address = self.secretariat_email.trim();
        if address.is_empty() || !address.contains('@') || address.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(MailError::InvalidReminder("the Secretariat's address must be an e-mail address".to_owned()));
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
